// RUN: sparse-opt --sparse-opt-analyze-weights="report=- nm-patterns=2:4,1:4 block-shapes=2x2,1x4" %s | FileCheck %s
// RUN: sparse-opt --sparse-opt-analyze-weights %s 2>&1 >/dev/null | FileCheck %s --check-prefix=WARN
// RUN: sparse-opt --sparse-opt-analyze-weights="report=%t.json report-format=json nm-patterns=2:4 block-shapes=2x2" %s -o /dev/null
// RUN: FileCheck %s --check-prefix=JSON < %t.json
// RUN: not sparse-opt --sparse-opt-analyze-weights="nm-patterns=4:2" %s 2>&1 | FileCheck %s --check-prefix=BADNM
// RUN: not sparse-opt --sparse-opt-analyze-weights="block-shapes=4by4" %s 2>&1 | FileCheck %s --check-prefix=BADBLOCK
// RUN: not sparse-opt --sparse-opt-analyze-weights="report-format=xml" %s 2>&1 | FileCheck %s --check-prefix=BADFORMAT
// RUN: not sparse-opt --sparse-opt-analyze-weights="report=%t/no/such/dir/r.txt" %s 2>&1 | FileCheck %s --check-prefix=BADFILE

// The text report: a header, then one row per layer in IR order.
// CHECK: # sparse-opt weight report
// W (K x N = 8 x 4) of X W: output features are W's 4 columns, reduction 8.
// Column 0 of W has rows 0 and 1 set, column 1 rows 0 and 4, column 2
// nothing, column 3 rows 2, 3, 5, 6: 8 non-zeros of 32. In groups of 4
// along the reduction every group has at most 2 (2:4 yes), feature 3's
// groups have 2 (1:4 no). 2x2 blocks: 5 of 8 hold a non-zero, storing 20
// values for 8 non-zeros; 1x4 the same.
// CHECK: fc1  linalg.matmul operand 1  4x8  sparsity 0.7500  nnz 8  row nnz 0/2.0/4 (cv 0.71, 1 empty)  N:M 2:4  blocks 2x2:0.62/0.40 1x4:0.62/0.40
// A left constant (M x K): rows are its rows. Dense 2 x 4.
// CHECK: {{.*}}  linalg.matmul operand 0  2x4  sparsity 0.0000  nnz 8  row nnz 4/4.0/4 (cv 0.00, 0 empty)  N:M none  blocks 2x2:1.00/1.00 1x4:1.00/1.00
// A conv filter F x C x KH x KW = 2 x 1 x 2 x 2: rows 2, reduction 4; one
// non-zero per filter (reduction index 1 and 2).
// CHECK: conv  linalg.conv_2d_nchw_fchw operand 1  2x4  sparsity 0.7500  nnz 2  row nnz 1/1.0/1 (cv 0.00, 0 empty)  N:M 2:4 1:4  blocks 2x2:1.00/0.25 1x4:1.00/0.25
// HWCF: features last.
// CHECK: conv_hwcf  linalg.conv_2d_nhwc_hwcf operand 1  2x4  sparsity 0.7500  nnz 2  row nnz 1/1.0/1
// A weight in a resource blob (as sparse-import-onnx --resource-weights
// writes them): K x N = 2 x 4 holding 1.0 at (0, 0) and 2.0 at (1, 2).
// CHECK: blob  linalg.matmul operand 1  4x2  sparsity 0.7500  nnz 2  row nnz 0/0.5/1 (cv 1.00, 2 empty)

// The op carries the statistics.
// CHECK-LABEL: func.func @layers(
// CHECK: linalg.matmul {sparse_opt.weight = {cols = 8 : i64, density = 2.500000e-01 : f64, empty_rows = 1 : i64, exact_formats = ["dense", "csr", "bsr:2x2", "bsr:1x4", "nm:2:4"], max_row_nonzeros = 4 : i64, nm = ["2:4"], nonzeros = 8 : i64, operand = 1 : i64, row_variation = {{.*}} : f64, rows = 4 : i64}}
// No constant operand: no attribute.
// CHECK: linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<2x8xf32>, tensor<8x4xf32>)

// The JSON report: {"layers": [...]} with the same numbers.
// JSON: "layers": [
// JSON: "blocks": [
// JSON: "fill": 0.4{{[0-9]*}}
// JSON: "shape": "2x2"
// JSON: "cols": 8
// JSON: "density": 0.25
// JSON: "exact_formats": [
// JSON-NEXT: "dense",
// JSON-NEXT: "csr",
// JSON-NEXT: "bsr:2x2",
// JSON-NEXT: "nm:2:4"
// JSON: "layer": "fc1"
// JSON: "nm": [
// JSON: "applicable": true,
// JSON-NEXT: "conforms": true,
// JSON-NEXT: "pattern": "2:4",
// JSON-NEXT: "violating_groups": 0
// JSON: "op": "linalg.matmul",
// JSON: "row_nonzeros": {
// JSON-NEXT: "max": 4,
// JSON-NEXT: "mean": 2,
// JSON-NEXT: "min": 0,

// A resource whose data was elided cannot be read: a warning, no row.
// WARN: warning: sparse-opt-analyze-weights: the weight's values are not available; not analyzed

// BADNM: error: sparse-opt-analyze-weights: nm-patterns: expected N:M with N <= M, found '4:2'
// BADBLOCK: error: sparse-opt-analyze-weights: block-shapes: expected RxC block shapes, found '4by4'
// BADFORMAT: error: sparse-opt-analyze-weights: report-format must be 'text' or 'json', got 'xml'
// BADFILE: error: sparse-opt-analyze-weights: cannot write the report:

func.func @layers(%x: tensor<2x8xf32>, %w2: tensor<8x4xf32>,
                  %img: tensor<1x1x3x3xf32>, %nhwc: tensor<1x3x3x1xf32>)
    -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x8xf32>,
        tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) {
  %zero = arith.constant 0.0 : f32
  %w = arith.constant dense<[[1.0, 1.0, 0.0, 0.0],
                             [1.0, 0.0, 0.0, 0.0],
                             [0.0, 0.0, 0.0, 1.0],
                             [0.0, 0.0, 0.0, 1.0],
                             [0.0, 1.0, 0.0, 0.0],
                             [0.0, 0.0, 0.0, 1.0],
                             [0.0, 0.0, 0.0, 1.0],
                             [0.0, 0.0, 0.0, 0.0]]> : tensor<8x4xf32>
  %e0 = tensor.empty() : tensor<2x4xf32>
  %i0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<2x4xf32>) -> tensor<2x4xf32>
  %y = linalg.matmul ins(%x, %w : tensor<2x8xf32>, tensor<8x4xf32>)
      outs(%i0 : tensor<2x4xf32>) -> tensor<2x4xf32> loc("fc1")
  %y2 = linalg.matmul ins(%x, %w2 : tensor<2x8xf32>, tensor<8x4xf32>)
      outs(%i0 : tensor<2x4xf32>) -> tensor<2x4xf32>
  %a = arith.constant dense<1.0> : tensor<2x4xf32>
  %e1 = tensor.empty() : tensor<2x8xf32>
  %i1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<2x8xf32>) -> tensor<2x8xf32>
  %wt = tensor.empty() : tensor<4x8xf32>
  %bt = linalg.transpose ins(%w2 : tensor<8x4xf32>) outs(%wt : tensor<4x8xf32>) permutation = [1, 0]
  %z = linalg.matmul ins(%a, %bt : tensor<2x4xf32>, tensor<4x8xf32>)
      outs(%i1 : tensor<2x8xf32>) -> tensor<2x8xf32>
  %f = arith.constant dense<[[[[0.0, 2.0], [0.0, 0.0]]], [[[0.0, 0.0], [3.0, 0.0]]]]> : tensor<2x1x2x2xf32>
  %e2 = tensor.empty() : tensor<1x2x2x2xf32>
  %i2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %c = linalg.conv_2d_nchw_fchw ins(%img, %f : tensor<1x1x3x3xf32>, tensor<2x1x2x2xf32>)
      outs(%i2 : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32> loc("conv")
  %g = arith.constant dense<[[[[1.0, 0.0]], [[0.0, 0.0]]], [[[0.0, 0.0]], [[0.0, 1.0]]]]> : tensor<2x2x1x2xf32>
  %c2 = linalg.conv_2d_nhwc_hwcf ins(%nhwc, %g : tensor<1x3x3x1xf32>, tensor<2x2x1x2xf32>)
      outs(%i2 : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32> loc("conv_hwcf")
  return %y, %y2, %z, %c, %c2 : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x8xf32>, tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>
}

func.func @resources(%x: tensor<2x2xf32>) -> (tensor<2x4xf32>, tensor<2x4xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x4xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<2x4xf32>) -> tensor<2x4xf32>
  %w = arith.constant dense_resource<weight> : tensor<2x4xf32>
  %y = linalg.matmul ins(%x, %w : tensor<2x2xf32>, tensor<2x4xf32>)
      outs(%i : tensor<2x4xf32>) -> tensor<2x4xf32> loc("blob")
  %u = arith.constant dense_resource<__elided__> : tensor<2x4xf32>
  %z = linalg.matmul ins(%x, %u : tensor<2x2xf32>, tensor<2x4xf32>)
      outs(%i : tensor<2x4xf32>) -> tensor<2x4xf32>
  return %y, %z : tensor<2x4xf32>, tensor<2x4xf32>
}

{-#
  dialect_resources: {
    builtin: {
      weight: "0x040000000000803F00000000000000000000000000000000000000000000004000000000"
    }
  }
#-}
