// Fixed formats, the per-layer attribute, name overrides and the sparsity
// floor of sparse-opt-select-weight-formats; no cost model is read.
//
// RUN: sparse-opt --sparse-opt-select-weight-formats="formats=csr min-sparsity=0.7" %s | FileCheck %s
// RUN: sparse-opt --sparse-opt-select-weight-formats="formats=csr min-sparsity=0.8 index-bits=64" %s | FileCheck %s --check-prefix=HIGH
// RUN: sparse-opt --sparse-opt-select-weight-formats="formats=csr narrow-coordinates=false" %s | FileCheck %s --check-prefix=WIDE
// RUN: sparse-opt --sparse-opt-select-weight-formats="formats=csr min-sparsity=0.7 report=-" %s -o /dev/null | FileCheck %s --check-prefix=REPORT
// RUN: sparse-opt --sparse-opt-select-weight-formats="formats=dense min-sparsity=0.9 overrides=fc_nm*=nm:2:4,fc_o*=bsr:4x4 report=%t.txt" %s | FileCheck %s --check-prefix=OVERRIDE
// RUN: FileCheck %s --check-prefix=OVERRIDE-REPORT --input-file=%t.txt
// RUN: sparse-opt --sparse-opt-select-weight-formats="formats=nm:2:4 report=-" %s -o /dev/null | FileCheck %s --check-prefix=GLOBALNM
// Through the pipeline (weight-formats, weight-min-sparsity, weight-overrides).
// RUN: sparse-opt --sparse-opt-cpu-bufferize="weight-formats=csr weight-min-sparsity=0.7 weight-report=-" %s -o /dev/null | FileCheck %s --check-prefix=REPORT
// RUN: sparse-opt --sparse-opt-cpu-bufferize="weight-overrides=fc_nm*=nm:2:4,fc_o*=bsr:4x4 weight-min-sparsity=0.9 weight-report=-" %s -o /dev/null | FileCheck %s --check-prefix=OVERRIDE-REPORT

// Column indices of 16 bits (K <= 65536), positions of index-bits.
// CHECK-DAG: #[[$CSR32:.*]] = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed), posWidth = 32, crdWidth = 16 }>
// HIGH-DAG: #[[$CSR64:.*]] = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed), posWidth = 64, crdWidth = 16 }>
// WIDE-DAG: #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed), posWidth = 32, crdWidth = 32 }>
// OVERRIDE-DAG: #[[$BSR2:.*]] = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 floordiv 2 : dense, d1 floordiv 2 : compressed, d0 mod 2 : dense, d1 mod 2 : dense), posWidth = 32, crdWidth = 16 }>
// OVERRIDE-DAG: #[[$BSR4:.*]] = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 floordiv 4 : dense, d1 floordiv 4 : compressed, d0 mod 4 : dense, d1 mod 4 : dense), posWidth = 32, crdWidth = 16 }>
// OVERRIDE-DAG: #[[$NM:.*]] = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 floordiv 4 : dense, d1 mod 4 : structured[2, 4]), posWidth = 32, crdWidth = 8 }>

// W (K x N = 4 x 3) with 3 non-zeros of 12 (sparsity 0.75): X W becomes
// (W^T X^T)^T with W^T (3 x 4) a CSR constant holding only the non-zeros,
// in row order of W^T: (0, 0) = 1, (1, 2) = 2, (2, 3) = 3.
// CHECK-LABEL: func.func @zero_init(
// CHECK-SAME:      %[[X:.*]]: tensor<?x4xf32>
// CHECK:         %[[W:.*]] = arith.constant sparse<{{\[}}[0, 0], [1, 2], [2, 3]], [1.000000e+00, 2.000000e+00, 3.000000e+00]> : tensor<3x4xf32>
// CHECK:         %[[CSR:.*]] = sparse_tensor.convert %[[W]] : tensor<3x4xf32> to tensor<3x4xf32, #[[$CSR32]]>
// CHECK:         %[[XT:.*]] = linalg.transpose ins(%[[X]] : tensor<?x4xf32>) outs(%{{.*}} : tensor<4x?xf32>) permutation = [1, 0]
// CHECK:         %[[INIT:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<3x?xf32>)
// CHECK:         %[[PT:.*]] = linalg.matmul {sparse_opt.format = "csr"} ins(%[[CSR]], %[[XT]] : tensor<3x4xf32, #[[$CSR32]]>, tensor<4x?xf32>) outs(%[[INIT]] : tensor<3x?xf32>)
// CHECK:         %[[P:.*]] = linalg.transpose ins(%[[PT]] : tensor<3x?xf32>) outs(%{{.*}} : tensor<?x3xf32>) permutation = [1, 0]
// CHECK:         return %[[P]]
// HIGH-LABEL: func.func @zero_init(
// HIGH-NOT:      sparse_tensor.convert
// HIGH:          linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<?x4xf32>, tensor<4x3xf32>)
// REPORT: zero_init_fc  linalg.matmul operand 1  3x4  sparsity 0.7500 {{.*}} N 1*  -> csr (formats=csr){{$}}
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
      outs(%i : tensor<?x3xf32>) -> tensor<?x3xf32> loc("zero_init_fc")
  return %y : tensor<?x3xf32>
}

// Any other init is transposed too and accumulated into. 64-bit indices on
// request; 7 of 8 zero (0.875) passes 0.8 too.
// CHECK-LABEL: func.func @accumulate(
// CHECK-SAME:      %[[X:.*]]: tensor<2x4xf32>, %[[B:.*]]: tensor<2x2xf32>
// CHECK:         sparse_tensor.convert
// CHECK:         %[[BT:.*]] = linalg.transpose ins(%[[B]] : tensor<2x2xf32>)
// CHECK:         linalg.matmul {sparse_opt.format = "csr"} ins({{.*}}) outs(%[[BT]] : tensor<2x2xf32>)
// HIGH-LABEL: func.func @accumulate(
// HIGH:          sparse_tensor.convert {{.*}} to tensor<2x4xf32, #[[$CSR64]]>
func.func @accumulate(%x: tensor<2x4xf32>, %b: tensor<2x2xf32>) -> tensor<2x2xf32> {
  %w = arith.constant dense<[[0.0, 0.0], [0.0, 5.0], [0.0, 0.0], [0.0, 0.0]]> : tensor<4x2xf32>
  %y = linalg.matmul ins(%x, %w : tensor<2x4xf32>, tensor<4x2xf32>)
      outs(%b : tensor<2x2xf32>) -> tensor<2x2xf32>
  return %y : tensor<2x2xf32>
}

// Too dense (sparsity 0.5), not constant, or not f32: unchanged.
// CHECK-LABEL: func.func @unchanged(
// CHECK-NOT:     sparse_tensor.convert
// CHECK-NOT:     linalg.transpose
// REPORT: dense_fc  linalg.matmul operand 1  2x2  sparsity 0.5000 {{.*}} N 2  -> dense (sparsity 0.5000 < min-sparsity 0.7000){{$}}
func.func @unchanged(%x: tensor<2x2xf32>, %v: tensor<2x2xf32>, %xi: tensor<2x2xi32>)
    -> (tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xi32>) {
  %w = arith.constant dense<[[1.0, 0.0], [0.0, 1.0]]> : tensor<2x2xf32>
  %a = linalg.matmul ins(%x, %w : tensor<2x2xf32>, tensor<2x2xf32>)
      outs(%x : tensor<2x2xf32>) -> tensor<2x2xf32> loc("dense_fc")
  %b = linalg.matmul ins(%x, %v : tensor<2x2xf32>, tensor<2x2xf32>)
      outs(%x : tensor<2x2xf32>) -> tensor<2x2xf32>
  %wi = arith.constant dense<[[0, 0], [0, 1]]> : tensor<2x2xi32>
  %c = linalg.matmul ins(%xi, %wi : tensor<2x2xi32>, tensor<2x2xi32>)
      outs(%xi : tensor<2x2xi32>) -> tensor<2x2xi32>
  return %a, %b, %c : tensor<2x2xf32>, tensor<2x2xf32>, tensor<2x2xi32>
}

// Layers named by their locations, W (8 x 8) on the left. With formats=csr
// the attribute "dense" wins; the other attribute asks for 2x2 blocks
// (storable in any format: no cost model is needed for a fixed choice).
// With overrides, the first matching pattern decides, before min-sparsity
// (0.9 would keep every one of these weights dense); with formats=nm:2:4
// the weights that break 2:4 stay dense.
// CHECK-LABEL: func.func @named(
// CHECK:         linalg.matmul {sparse_opt.format = "dense"} ins(%{{.*}}, %{{.*}} : tensor<8x8xf32>, tensor<8x8xf32>)
// CHECK:         linalg.matmul {sparse_opt.format = "bsr:2x2"} ins(%{{.*}}, %{{.*}} : tensor<8x8xf32, #{{.*}}>, tensor<8x8xf32>)
// CHECK:         linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<8x8xf32>, tensor<8x8xf32>)
// CHECK:         linalg.matmul {sparse_opt.format = "csr"} ins(%{{.*}}, %{{.*}} : tensor<8x8xf32, #[[$CSR32]]>, tensor<8x8xf32>)
// REPORT: fc_attr_dense  {{.*}} -> dense (sparse_opt.format attribute){{$}}
// REPORT: fc_attr_bsr  {{.*}} -> bsr:2x2 (sparse_opt.format attribute){{$}}
// REPORT: fc_nm  {{.*}} sparsity 0.5000 {{.*}} -> dense (sparsity 0.5000 < min-sparsity 0.7000){{$}}
// REPORT: fc_other  {{.*}} -> csr (formats=csr){{$}}
// OVERRIDE-LABEL: func.func @named(
// OVERRIDE:         linalg.matmul {sparse_opt.format = "dense"} ins(%{{.*}}, %{{.*}} : tensor<8x8xf32>, tensor<8x8xf32>)
// OVERRIDE:         linalg.matmul {sparse_opt.format = "bsr:2x2"} ins(%{{.*}}, %{{.*}} : tensor<8x8xf32, #[[$BSR2]]>, tensor<8x8xf32>)
// OVERRIDE:         linalg.matmul {sparse_opt.format = "nm:2:4"} ins(%{{.*}}, %{{.*}} : tensor<8x8xf32, #[[$NM]]>, tensor<8x8xf32>)
// OVERRIDE:         linalg.matmul {sparse_opt.format = "bsr:4x4"} ins(%{{.*}}, %{{.*}} : tensor<8x8xf32, #[[$BSR4]]>, tensor<8x8xf32>)
// OVERRIDE-REPORT: fc_attr_dense  {{.*}} -> dense (sparse_opt.format attribute){{$}}
// OVERRIDE-REPORT: fc_attr_bsr  {{.*}} -> bsr:2x2 (sparse_opt.format attribute){{$}}
// OVERRIDE-REPORT: fc_nm  {{.*}} -> nm:2:4 (override 'fc_nm*'){{$}}
// OVERRIDE-REPORT: fc_other  {{.*}} -> bsr:4x4 (override 'fc_o*'){{$}}
// GLOBALNM: fc_attr_dense  {{.*}} -> dense (sparse_opt.format attribute){{$}}
// GLOBALNM: fc_attr_bsr  {{.*}} -> bsr:2x2 (sparse_opt.format attribute){{$}}
// GLOBALNM: fc_nm  {{.*}} -> nm:2:4 (formats=nm:2:4){{$}}
// GLOBALNM: fc_other  {{.*}} -> dense (formats=nm:2:4 cannot store it: 1 groups of 4 columns hold more than 2 non-zeros){{$}}
func.func @named(%b: tensor<8x8xf32>) -> (tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>) {
  %w_attr_dense = arith.constant dense<[[-1.6, 0.0, 0.0, 0.0, -1.9, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.1],
      [0.0, 1.8, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, -0.8, -1.8, -0.8, 0.0],
      [1.4, -1.4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.8, 0.0, 0.7, 0.0, 0.0, 0.0, 1.9],
      [0.0, 0.8, 0.0, 1.6, 0.0, 0.0, 1.1, 0.0]]> : tensor<8x8xf32>
  %w_attr_bsr = arith.constant dense<[[-1.6, 0.0, 0.0, 0.0, -1.9, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.1],
      [0.0, 1.8, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, -0.8, -1.8, -0.8, 0.0],
      [1.4, -1.4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.8, 0.0, 0.7, 0.0, 0.0, 0.0, 1.9],
      [0.0, 0.8, 0.0, 1.6, 0.0, 0.0, 1.1, 0.0]]> : tensor<8x8xf32>
  %w_nm = arith.constant dense<[[0.0, 1.0, 0.0, 0.5, 0.0, 0.0, -0.6, 1.3],
      [-1.9, 0.0, 0.9, 0.0, -0.7, 1.2, 0.0, 0.0],
      [1.8, -1.6, 0.0, 0.0, 2.0, 0.0, 1.3, 0.0],
      [0.0, 1.6, -0.6, 0.0, 0.7, 0.0, 0.0, -1.9],
      [-1.1, -1.1, 0.0, 0.0, 0.0, 0.7, 0.0, 0.6],
      [0.9, 0.0, 0.0, 2.0, 0.0, 1.1, 0.0, 1.3],
      [-1.0, 0.0, 0.0, -0.7, 1.3, 0.0, 0.8, 0.0],
      [0.0, -1.7, -1.0, 0.0, 1.4, 0.0, -0.6, 0.0]]> : tensor<8x8xf32>
  %w_other = arith.constant dense<[[-1.6, 0.0, 0.0, 0.0, -1.9, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, -1.1],
      [0.0, 1.8, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.0, 0.0, 0.0, -0.8, -1.8, -0.8, 0.0],
      [1.4, -1.4, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0],
      [0.0, 0.8, 0.0, 0.7, 0.0, 0.0, 0.0, 1.9],
      [0.0, 0.8, 0.0, 1.6, 0.0, 0.0, 1.1, 0.0]]> : tensor<8x8xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<8x8xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<8x8xf32>) -> tensor<8x8xf32>
  %attr_dense = linalg.matmul {sparse_opt.format = "dense"} ins(%w_attr_dense, %b : tensor<8x8xf32>, tensor<8x8xf32>)
      outs(%i : tensor<8x8xf32>) -> tensor<8x8xf32> loc("fc_attr_dense")
  %attr_bsr = linalg.matmul {sparse_opt.format = "bsr:2x2"} ins(%w_attr_bsr, %b : tensor<8x8xf32>, tensor<8x8xf32>)
      outs(%i : tensor<8x8xf32>) -> tensor<8x8xf32> loc("fc_attr_bsr")
  %nm = linalg.matmul ins(%w_nm, %b : tensor<8x8xf32>, tensor<8x8xf32>)
      outs(%i : tensor<8x8xf32>) -> tensor<8x8xf32> loc("fc_nm")
  %other = linalg.matmul ins(%w_other, %b : tensor<8x8xf32>, tensor<8x8xf32>)
      outs(%i : tensor<8x8xf32>) -> tensor<8x8xf32> loc("fc_other")
  return %attr_dense, %attr_bsr, %nm, %other : tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>, tensor<8x8xf32>
}
