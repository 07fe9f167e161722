// RUN: sparse-opt --sparse-opt-sparsify-weights="min-sparsity=0.7" %s | FileCheck %s
// RUN: sparse-opt --sparse-opt-sparsify-weights="min-sparsity=0.8 index-bits=64" %s | FileCheck %s --check-prefix=HIGH
// RUN: sparse-opt --sparse-opt-sparsify-weights="narrow-coordinates=false" %s | FileCheck %s --check-prefix=WIDE
// RUN: not sparse-opt --sparse-opt-sparsify-weights="min-sparsity=1.5" %s 2>&1 | FileCheck %s --check-prefix=BADSPARSITY
// RUN: not sparse-opt --sparse-opt-sparsify-weights="index-bits=16" %s 2>&1 | FileCheck %s --check-prefix=BADBITS

// Column indices of 16 bits (K <= 65536), positions of index-bits.
// CHECK: #[[$CSR32:.*]] = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed), posWidth = 32, crdWidth = 16 }>
// HIGH: #[[$CSR64:.*]] = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed), posWidth = 64, crdWidth = 16 }>
// WIDE: #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed), posWidth = 32, crdWidth = 32 }>

// W (K x N = 4 x 3) with 3 non-zeros of 12 (sparsity 0.75): X W becomes
// (W^T X^T)^T with W^T (3 x 4) a CSR constant holding only the non-zeros,
// in row order of W^T: (0, 0) = 1, (1, 2) = 2, (2, 3) = 3.
// CHECK-LABEL: func.func @zero_init(
// CHECK-SAME:      %[[X:.*]]: tensor<?x4xf32>
// CHECK:         %[[W:.*]] = arith.constant sparse<{{\[}}[0, 0], [1, 2], [2, 3]], [1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<3x4xf32>
// CHECK:         %[[CSR:.*]] = sparse_tensor.convert %[[W]] : tensor<3x4xf32> to tensor<3x4xf32, #[[$CSR32]]>
// CHECK:         %[[XT:.*]] = linalg.transpose ins(%[[X]] : tensor<?x4xf32>) outs(%{{.*}} : tensor<4x?xf32>) permutation = [1, 0]
// CHECK:         %[[INIT:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<3x?xf32>)
// CHECK:         %[[PT:.*]] = linalg.matmul ins(%[[CSR]], %[[XT]] : tensor<3x4xf32, #[[$CSR32]]>, tensor<4x?xf32>) outs(%[[INIT]] : tensor<3x?xf32>)
// CHECK:         %[[P:.*]] = linalg.transpose ins(%[[PT]] : tensor<3x?xf32>) outs(%{{.*}} : tensor<?x3xf32>) permutation = [1, 0]
// CHECK:         return %[[P]]
// HIGH-LABEL: func.func @zero_init(
// HIGH-NOT:      sparse_tensor.convert
// HIGH:          linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<4x3xf32>)
func.func @zero_init(%x: tensor<?x4xf32>) -> tensor<?x3xf32> {
  %c0 = arith.constant 0 : index
  %m = tensor.dim %x, %c0 : tensor<?x4xf32>
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<[[1.0, 0.0, 0.0],
                             [0.0, 0.0, 0.0],
                             [0.0, 2.0, 0.0],
                             [0.0, 0.0, 3.0]]> : tensor<4x3xf32>
  %e = tensor.empty(%m) : tensor<?x3xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<?x3xf32>) -> tensor<?x3xf32>
  %y = linalg.matmul ins(%x, %w : tensor<?x4xf32>, tensor<4x3xf32>)
      outs(%i : tensor<?x3xf32>) -> tensor<?x3xf32>
  return %y : tensor<?x3xf32>
}

// Any other init is transposed too and accumulated into. 64-bit indices on
// request; 7 of 8 zero (0.875) passes 0.8 too.
// CHECK-LABEL: func.func @accumulate(
// CHECK-SAME:      %[[X:.*]]: tensor<2x4xf32>, %[[B:.*]]: tensor<2x2xf32>
// CHECK:         sparse_tensor.convert
// CHECK:         %[[BT:.*]] = linalg.transpose ins(%[[B]] : tensor<2x2xf32>)
// CHECK:         linalg.matmul ins({{.*}}) outs(%[[BT]] : tensor<2x2xf32>)
// HIGH-LABEL: func.func @accumulate(
// HIGH:          sparse_tensor.convert {{.*}} to tensor<2x4xf32, #[[$CSR64]]>
func.func @accumulate(%x: tensor<2x4xf32>, %b: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense<[[0.0, 0.0], [0.0, 5.0], [0.0, 0.0], [0.0, 0.0]]> : tensor<4x2xf32>
  %y = linalg.matmul ins(%x, %w : tensor<2x4xf32>, tensor<4x2xf32>)
      outs(%b : tensor<2x2xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// A constant on the left (W X, as sparse-opt-convolution-to-matmul makes
// of NCHW convolutions) is stored as CSR as it is: rows are W's rows, no
// transposes, the init accumulated into.
// CHECK-LABEL: func.func @left_weight(
// CHECK-SAME:      %[[X:.*]]: tensor<4x?xf32>, %[[B:.*]]: tensor<3x?xf32>
// CHECK:         %[[W:.*]] = arith.constant sparse<{{\[}}[0, 1], [2, 3]], [1.000000e+00, 2.000000e+00]> : tensor<3x4xf32>
// CHECK:         %[[CSR:.*]] = sparse_tensor.convert %[[W]] : tensor<3x4xf32> to tensor<3x4xf32, #[[$CSR32]]>
// CHECK-NEXT:    %[[P:.*]] = linalg.matmul ins(%[[CSR]], %[[X]] : tensor<3x4xf32, #[[$CSR32]]>, tensor<4x?xf32>) outs(%[[B]] : tensor<3x?xf32>)
// CHECK-NEXT:    return %[[P]]
// HIGH-LABEL: func.func @left_weight(
// HIGH:          sparse_tensor.convert {{.*}} to tensor<3x4xf32, #[[$CSR64]]>
func.func @left_weight(%x: tensor<4x?xf32>, %b: tensor<3x?xf32>) -> tensor<3x?xf32> {
  %w = arith.constant dense<[[0.0, 1.0, 0.0, 0.0],
                             [0.0, 0.0, 0.0, 0.0],
                             [0.0, 0.0, 0.0, 2.0]]> : tensor<3x4xf32>
  %y = linalg.matmul ins(%w, %x : tensor<3x4xf32>, tensor<4x?xf32>)
      outs(%b : tensor<3x?xf32>) -> tensor<3x?xf32>
  return %y : tensor<3x?xf32>
}

// Too dense (sparsity 0.5), not constant, or not f32: unchanged.
// CHECK-LABEL: func.func @unchanged(
// CHECK-NOT:     sparse_tensor.convert
// CHECK-NOT:     linalg.transpose
func.func @unchanged(%x: tensor<2x2xf32>, %v: tensor<2x2xf32>, %xi: tensor<2x2xi32>)
    -> (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xi32>) {
  %w = arith.constant dense<[[1.0, 0.0], [0.0, 1.0]]> : tensor<2x2xf32>
  %a = linalg.matmul ins(%x, %w : tensor<2x2xf32>, tensor<2x2xf32>)
      outs(%x : tensor<2x2xf32>) -> tensor<2x2xf32>
  %b = linalg.matmul ins(%x, %v : tensor<2x2xf32>, tensor<2x2xf32>)
      outs(%x : tensor<2x2xf32>) -> tensor<2x2xf32>
  %wi = arith.constant dense<[[0, 0], [0, 1]]> : tensor<2x2xi32>
  %c = linalg.matmul ins(%xi, %wi : tensor<2x2xi32>, tensor<2x2xi32>)
      outs(%xi : tensor<2x2xi32>) -> tensor<2x2xi32>
  return %a, %b, %c : tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xi32>
}

// BADSPARSITY: error: sparse-opt-sparsify-weights: min-sparsity must be in [0, 1], got 1.5
// BADBITS: error: sparse-opt-sparsify-weights: index-bits must be 32 or 64, got 16
