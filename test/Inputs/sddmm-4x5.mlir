// Input for Execution/sddmm-run.test: SDDMM as the sparsifier takes it,
// Q (4 x 3) times K^T (K is 5 x 3) sampled at a CSR pattern.
#CSR = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed), posWidth = 32, crdWidth = 32 }>
#trait = {
  indexing_maps = [
    affine_map<(i,j,k) -> (i,k)>,  // Q
    affine_map<(i,j,k) -> (j,k)>,  // K (row-major, as attention keeps it)
    affine_map<(i,j,k) -> (i,j)>   // S (mask pattern, in/out)
  ],
  iterator_types = ["parallel", "parallel", "reduction"]
}
module {
  func.func @sddmm(%q: tensor<4x3xf32>, %k: tensor<5x3xf32>, %s: tensor<4x5xf32, #CSR>) -> tensor<4x5xf32, #CSR> attributes { llvm.emit_c_interface } {
    %r = linalg.generic #trait ins(%q, %k : tensor<4x3xf32>, tensor<5x3xf32>) outs(%s : tensor<4x5xf32, #CSR>) {
      ^bb0(%a: f32, %b: f32, %x: f32):
        %f0 = arith.constant 0.0 : f32
        %u = sparse_tensor.unary %x : f32 to f32
          present={
            ^bb0(%p: f32):
              %m = arith.mulf %a, %b : f32
              sparse_tensor.yield %m : f32
          }
          absent={}
        %sum = sparse_tensor.reduce %x, %u, %f0 : f32 {
          ^bb0(%p: f32, %t: f32):
            %add = arith.addf %p, %t : f32
            sparse_tensor.yield %add : f32
        }
        linalg.yield %sum : f32
    } -> tensor<4x5xf32, #CSR>
    return %r : tensor<4x5xf32, #CSR>
  }
}
