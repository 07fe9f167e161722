// RUN: sparse-opt --sparse-opt-export-signatures %s | FileCheck %s
// RUN: sparse-opt --sparse-opt-export-signatures="symbol-prefix=mylib" %s \
// RUN:   | FileCheck %s --check-prefix=PREFIX

#CSR = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed), posWidth = 32, crdWidth = 32 }>

func.func @spmm(%a: tensor<8x4xf32, #CSR>, %b: tensor<4x?xf32>,
                %c: tensor<8x?xf32>) -> tensor<8x?xf32>
    attributes { llvm.emit_c_interface } {
  return %c : tensor<8x?xf32>
}

// Without the C interface there is no stable entry point to describe.
func.func @no_c_interface(%x: tensor<4xf32>) -> tensor<4xf32> {
  return %x : tensor<4xf32>
}

func.func private @internal(%x: tensor<4xf32>) -> tensor<4xf32>
    attributes { llvm.emit_c_interface }

// CHECK-NOT: signature_no_c_interface
// CHECK-NOT: signature_internal
// CHECK: llvm.mlir.global external constant @sparse_opt_signature_spmm("(tensor<8x4xf32, #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed), posWidth = 32, crdWidth = 32 }>>, tensor<4x?xf32>, tensor<8x?xf32>) -> tensor<8x?xf32>\00")
// CHECK-NOT: signature_no_c_interface
// CHECK-NOT: signature_internal

// PREFIX: llvm.mlir.global external constant @mylib_signature_spmm(
