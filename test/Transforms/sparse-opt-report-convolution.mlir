// sparse-opt --sparse-opt-report explains convolution filters as the CPU
// pipeline sees them: sparse-opt-convolution-to-matmul first makes the
// convolution a product (conv-to-matmul=all, the default), so its filter
// gets a format like any other weight; with conv-to-matmul=none the pass
// reports the convolution and keeps it dense. The weights are never
// changed.
// RUN: sparse-opt %s --sparse-opt-report="formats=csr" | FileCheck %s --check-prefix=PRODUCT
// RUN: sparse-opt %s --sparse-opt-report="formats=csr min-sparsity=0.9 conv-to-matmul=sparse" | FileCheck %s --check-prefix=KEPT
// RUN: sparse-opt %s --sparse-opt-report="formats=csr conv-to-matmul=none" | FileCheck %s --check-prefix=CONV
// RUN: not sparse-opt %s --sparse-opt-report="conv-to-matmul=some" 2>&1 | FileCheck %s --check-prefix=BAD

// PRODUCT: stem  linalg.matmul operand 0  2x4  sparsity 0.7500  nnz 2 {{.*}} N 9  -> csr (
// PRODUCT-NOT: sparse_tensor.convert
// PRODUCT: linalg.matmul
// PRODUCT-NOT: sparse_tensor.convert
// The 0.75-sparse filter is under min-sparsity: conv-to-matmul=sparse
// leaves the convolution, reported as such.
// KEPT: stem  linalg.conv_2d_nchw_fchw {{.*}} -> dense (convolution: sparse only as a product (sparse-opt-convolution-to-matmul first))
// KEPT: linalg.conv_2d_nchw_fchw
// CONV: stem  linalg.conv_2d_nchw_fchw {{.*}} -> dense (convolution: sparse only as a product (sparse-opt-convolution-to-matmul first))
// CONV: linalg.conv_2d_nchw_fchw
// BAD: sparse-opt-convolution-to-matmul: convert must be 'sparse' or 'all'
func.func @conv(%x: tensor<1x1x4x4xf32>) -> tensor<1x2x3x3xf32> {
  %w = arith.constant dense<[[[[1.0, 0.0], [0.0, 0.0]]], [[[0.0, 0.0], [0.0, 2.0]]]]> : tensor<2x1x2x2xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2x3x3xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<1x1x4x4xf32>, tensor<2x1x2x2xf32>) outs(%i : tensor<1x2x3x3xf32>) -> tensor<1x2x3x3xf32> loc("stem")
  return %y : tensor<1x2x3x3xf32>
}
