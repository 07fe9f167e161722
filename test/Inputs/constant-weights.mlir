// Input for Execution/constant-weights.test: the same 3 x 4 weight as a
// converted dense constant and as a sparse constant.
#CSR = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed), posWidth = 32, crdWidth = 32 }>
module {
  func.func @spmm(%b: tensor<4x?xf32>) -> tensor<3x?xf32> attributes { llvm.emit_c_interface } {
    %w = arith.constant dense<[[1.0, 0.0, 0.0, 2.0], [0.0, 0.0, 0.0, 0.0], [0.0, 3.0, 0.0, 4.0]]> : tensor<3x4xf32>
    %a = sparse_tensor.convert %w : tensor<3x4xf32> to tensor<3x4xf32, #CSR>
    %c1 = arith.constant 1 : index
    %n = tensor.dim %b, %c1 : tensor<4x?xf32>
    %zero = arith.constant 0.0 : f32
    %empty = tensor.empty(%n) : tensor<3x?xf32>
    %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<3x?xf32>) -> tensor<3x?xf32>
    %c = linalg.matmul ins(%a, %b : tensor<3x4xf32, #CSR>, tensor<4x?xf32>) outs(%init : tensor<3x?xf32>) -> tensor<3x?xf32>
    return %c : tensor<3x?xf32>
  }
  func.func @spmm_sparse_const(%b: tensor<4x?xf32>) -> tensor<3x?xf32> attributes { llvm.emit_c_interface } {
    %a = arith.constant sparse<[[0, 0], [0, 3], [2, 1], [2, 3]], [1.0, 2.0, 3.0, 4.0]> : tensor<3x4xf32, #CSR>
    %c1 = arith.constant 1 : index
    %n = tensor.dim %b, %c1 : tensor<4x?xf32>
    %zero = arith.constant 0.0 : f32
    %empty = tensor.empty(%n) : tensor<3x?xf32>
    %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<3x?xf32>) -> tensor<3x?xf32>
    %c = linalg.matmul ins(%a, %b : tensor<3x4xf32, #CSR>, tensor<4x?xf32>) outs(%init : tensor<3x?xf32>) -> tensor<3x?xf32>
    return %c : tensor<3x?xf32>
  }
}
