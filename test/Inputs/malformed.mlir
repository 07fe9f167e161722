// Input for Errors/compile-errors.test: an unknown op on line 4.
func.func @f(%x: tensor<4xf32>) -> tensor<4xf32>
    attributes { llvm.emit_c_interface } {
  linalg.notanop
  return %x : tensor<4xf32>
}
