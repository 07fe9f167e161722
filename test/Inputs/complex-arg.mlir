// Input for Errors/compile-errors.test: complex numbers have no C type here.

func.func @f(%x: tensor<4xcomplex<f32>>) -> tensor<4xcomplex<f32>>
    attributes { llvm.emit_c_interface } {
  return %x : tensor<4xcomplex<f32>>
}
