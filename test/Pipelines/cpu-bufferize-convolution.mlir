// Convolutions in the first stage: every one becomes a product
// (conv-to-matmul=all, the default), dense products for the dense kernel;
// with weight-formats=csr and weight-min-sparsity, a filter that sparse
// becomes a CSR product run by the CSR kernels (with conv-to-matmul=sparse
// only those); conv-to-matmul=none keeps them convolutions.
// RUN: sparse-opt --sparse-opt-cpu-bufferize="target-cpu=skylake-avx512 weight-formats=csr weight-min-sparsity=0.7" %s | FileCheck %s --check-prefix=SPARSE
// RUN: sparse-opt --sparse-opt-cpu-bufferize="target-cpu=skylake-avx512 weight-formats=csr weight-min-sparsity=0.7 conv-to-matmul=sparse" %s | FileCheck %s --check-prefix=SPARSE
// RUN: sparse-opt --sparse-opt-cpu-bufferize="target-cpu=skylake-avx512" %s | FileCheck %s --check-prefix=ALL
// RUN: sparse-opt --sparse-opt-cpu-bufferize="target-cpu=skylake-avx512 conv-to-matmul=sparse" %s | FileCheck %s --check-prefix=DENSE
// RUN: sparse-opt --sparse-opt-cpu-bufferize="target-cpu=skylake-avx512 weight-formats=csr weight-min-sparsity=0.9 conv-to-matmul=sparse" %s | FileCheck %s --check-prefix=DENSE
// RUN: sparse-opt --sparse-opt-cpu-bufferize="target-cpu=skylake-avx512 weight-formats=csr weight-min-sparsity=0.7 conv-to-matmul=none" %s | FileCheck %s --check-prefix=DENSE
// RUN: not sparse-opt --sparse-opt-cpu-bufferize="conv-to-matmul=some" %s 2>&1 | FileCheck %s --check-prefix=BAD

// The 0.875-sparse filter (7 of 8 zero) as CSR storage in read-only
// globals, the product in the CSR kernel's parallel rows and FMAs, no
// convolution loops left.
// SPARSE:        memref.global "private" constant @{{.*}} : memref<3xi32>
// SPARSE-LABEL:  func.func @conv(
// SPARSE-NOT:      "reduction", "reduction", "reduction"
// SPARSE:          scf.parallel
// SPARSE:          vector.fma
// SPARSE-NOT:      "reduction", "reduction", "reduction"
// SPARSE:          return
// The convolution as a generic op (7 loops, 3 reductions).
// DENSE-LABEL:   func.func @conv(
// DENSE-NOT:       sparse_tensor
// DENSE:           linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]
// With conv-to-matmul=all and no sparse weights, the dense product runs in
// sparse-opt-dense-kernels' register tiles (FMAs), after the patches copy;
// no convolution loops left.
// ALL-LABEL:     func.func @conv(
// ALL-NOT:         "reduction", "reduction", "reduction"
// ALL:             linalg.generic
// ALL-NOT:         "reduction", "reduction", "reduction"
// ALL:             vector.fma
// ALL-NOT:         "reduction", "reduction", "reduction"
// ALL:             return
// BAD: for the --conv-to-matmul option: Cannot find option named 'some'
func.func @conv(%x: tensor<1x1x5x5xf32>) -> tensor<1x2x4x4xf32>
    attributes {llvm.emit_c_interface} {
  %w = arith.constant dense<[[[[1.0, 0.0], [0.0, 0.0]]], [[[0.0, 0.0], [0.0, 0.0]]]]> : tensor<2x1x2x2xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2x4x4xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<1x1x5x5xf32>, tensor<2x1x2x2xf32>) outs(%i : tensor<1x2x4x4xf32>) -> tensor<1x2x4x4xf32>
  return %y : tensor<1x2x4x4xf32>
}
