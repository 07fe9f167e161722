// RUN: sparse-opt --sparse-opt-convolution-to-matmul="convert=all" %s | FileCheck %s
// RUN: sparse-opt --sparse-opt-convolution-to-matmul %s | FileCheck %s --check-prefix=SPARSE
// RUN: sparse-opt --sparse-opt-convolution-to-matmul="min-sparsity=0.9" %s | FileCheck %s --check-prefix=HIGH
// RUN: sparse-opt --sparse-opt-convolution-to-matmul="convert=all" --sparse-opt-select-weight-formats="formats=csr min-sparsity=0.6" %s | FileCheck %s --check-prefix=CSR
// RUN: sparse-opt --sparse-opt-convolution-to-matmul="convert=all panel-bytes=900 panel-min-columns=8" %s | FileCheck %s --check-prefix=PANEL
// RUN: not sparse-opt --sparse-opt-convolution-to-matmul="convert=some" %s 2>&1 | FileCheck %s --check-prefix=BADCONVERT
// RUN: not sparse-opt --sparse-opt-convolution-to-matmul="min-sparsity=-0.5" %s 2>&1 | FileCheck %s --check-prefix=BADSPARSITY

// CHECK-DAG: #[[$NCHW:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d3, d0, d1 + d4, d2 + d5)>
// CHECK-DAG: #[[$NCHW_S2D2:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d3, d0, d4 * 2 + d1 * 2, d5 * 3 + d2)>
// CHECK-DAG: #[[$NHWC:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1 + d3, d2 + d4, d5)>
// CHECK-DAG: #[[$GROUPED:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d4, d0, d1, d2 + d5, d3 + d6)>
// CHECK-DAG: #[[$ID6:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4, d5)>

// NCHW 2x2 kernel, N = 1, zero-filled init: the filter (F x C KH KW =
// 2 x 4, 6 of 8 zero) is the left operand, the patches (C KH KW x Ho Wo)
// come from one copy with an affine input map, the init stays a fill.
// CHECK-LABEL: func.func @nchw(
// CHECK-SAME:      %[[X:.*]]: tensor<1x1x3x3xf32>
// CHECK:         %[[W:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00, 0.000000e+00, 2.000000e+00]]> : tensor<2x4xf32>
// CHECK:         %[[E:.*]] = tensor.empty() : tensor<1x2x2x1x2x2xf32>
// CHECK:         %[[G:.*]] = linalg.generic {indexing_maps = [#[[$NCHW]], #[[$ID6]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%[[X]] : tensor<1x1x3x3xf32>) outs(%[[E]] : tensor<1x2x2x1x2x2xf32>)
// CHECK-NEXT:    ^bb0(%[[IN:.*]]: f32, %{{.*}}: f32):
// CHECK-NEXT:      linalg.yield %[[IN]] : f32
// CHECK:         %[[P:.*]] = tensor.collapse_shape %[[G]] {{\[}}[0, 1, 2], [3, 4, 5]] : tensor<1x2x2x1x2x2xf32> into tensor<4x4xf32>
// CHECK:         %[[I:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<2x4xf32>) -> tensor<2x4xf32>
// CHECK:         %[[M:.*]] = linalg.matmul ins(%[[W]], %[[P]] : tensor<2x4xf32>, tensor<4x4xf32>) outs(%[[I]] : tensor<2x4xf32>)
// CHECK:         %[[R:.*]] = tensor.expand_shape %[[M]] {{\[}}[0, 1], [2, 3]] output_shape [1, 2, 2, 2] : tensor<2x4xf32> into tensor<1x2x2x2xf32>
// CHECK:         return %[[R]]
// 0.75 sparse: converted by convert=sparse (min-sparsity 0.7), not with 0.9.
// SPARSE-LABEL: func.func @nchw(
// SPARSE:         linalg.matmul
// SPARSE-NOT:     linalg.conv_2d
// HIGH-LABEL:   func.func @nchw(
// HIGH:           linalg.conv_2d_nchw_fchw
// HIGH-NOT:       linalg.matmul
// Then select-weight-formats stores the left weight as CSR as it is (no
// transposes): rows = output features.
// CSR-LABEL:    func.func @nchw(
// CSR:            %[[W:.*]] = arith.constant sparse<{{\[}}[0, 0], [1, 3]], [1.000000e+00, 2.000000e+00]> : tensor<2x4xf32>
// CSR:            %[[S:.*]] = sparse_tensor.convert %[[W]]
// CSR-NOT:        linalg.transpose
// CSR:            linalg.matmul {sparse_opt.format = "csr"} ins(%[[S]], %{{.*}} : tensor<2x4xf32, #sparse{{[0-9]*}}>, tensor<4x4xf32>)
func.func @nchw(%x: tensor<1x1x3x3xf32>) -> tensor<1x2x2x2xf32> {
  %w = arith.constant dense<[[[[1.0, 0.0], [0.0, 0.0]]], [[[0.0, 0.0], [0.0, 2.0]]]]> : tensor<2x1x2x2xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2x2x2xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<1x1x3x3xf32>, tensor<2x1x2x2xf32>) outs(%i : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  return %y : tensor<1x2x2x2xf32>
}

// Padded by tensor.pad (the ONNX importer pads with a linalg.generic
// instead; either is just the input here), strides (2, 3) and
// dilations (2, 1), N = 2 and an init that is no fill (the bias): the
// patches hold both images (C KH KW x N Ho Wo), the init and the result
// are transposed between N x F x Ho x Wo and F x N x Ho x Wo.
// CHECK-LABEL: func.func @nchw_strided_dilated_padded(
// CHECK-SAME:      %[[X:.*]]: tensor<2x3x5x7xf32>, %[[B:.*]]: tensor<2x4x2x2xf32>
// CHECK:         %[[PAD:.*]] = tensor.pad %[[X]]
// CHECK:         %[[W:.*]] = arith.constant dense<1.000000e+00> : tensor<4x12xf32>
// CHECK:         %[[G:.*]] = linalg.generic {indexing_maps = [#[[$NCHW_S2D2]], #[[$ID6]]], {{.*}}} ins(%[[PAD]] : tensor<2x3x7x7xf32>) outs(%{{.*}} : tensor<3x2x2x2x2x2xf32>)
// CHECK:         %[[P:.*]] = tensor.collapse_shape %[[G]] {{\[}}[0, 1, 2], [3, 4, 5]] : tensor<3x2x2x2x2x2xf32> into tensor<12x8xf32>
// CHECK:         %[[BT:.*]] = linalg.transpose ins(%[[B]] : tensor<2x4x2x2xf32>) outs(%{{.*}} : tensor<4x2x2x2xf32>) permutation = [1, 0, 2, 3]
// CHECK:         %[[I:.*]] = tensor.collapse_shape %[[BT]] {{\[}}[0], [1, 2, 3]] : tensor<4x2x2x2xf32> into tensor<4x8xf32>
// CHECK:         %[[M:.*]] = linalg.matmul ins(%[[W]], %[[P]] : tensor<4x12xf32>, tensor<12x8xf32>) outs(%[[I]] : tensor<4x8xf32>)
// CHECK:         %[[RE:.*]] = tensor.expand_shape %[[M]] {{\[}}[0], [1, 2, 3]] output_shape [4, 2, 2, 2] : tensor<4x8xf32> into tensor<4x2x2x2xf32>
// CHECK:         %[[R:.*]] = linalg.transpose ins(%[[RE]] : tensor<4x2x2x2xf32>) outs(%{{.*}} : tensor<2x4x2x2xf32>) permutation = [1, 0, 2, 3]
// CHECK:         return %[[R]]
// A dense filter: left alone by convert=sparse.
// SPARSE-LABEL: func.func @nchw_strided_dilated_padded(
// SPARSE:         linalg.conv_2d_nchw_fchw
func.func @nchw_strided_dilated_padded(%x: tensor<2x3x5x7xf32>, %b: tensor<2x4x2x2xf32>) -> tensor<2x4x2x2xf32> {
  %zero = arith.constant 0.0 : f32
  %p = tensor.pad %x low[0, 0, 1, 0] high[0, 0, 1, 0] {
  ^bb0(%i0: index, %i1: index, %i2: index, %i3: index):
    tensor.yield %zero : f32
  } : tensor<2x3x5x7xf32> to tensor<2x3x7x7xf32>
  %w = arith.constant dense<1.0> : tensor<4x3x2x2xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<[2, 1]> : tensor<2xi64>, strides = dense<[2, 3]> : tensor<2xi64>}
      ins(%p, %w : tensor<2x3x7x7xf32>, tensor<4x3x2x2xf32>) outs(%b : tensor<2x4x2x2xf32>) -> tensor<2x4x2x2xf32>
  return %y : tensor<2x4x2x2xf32>
}

// 1x1, stride 1: no patches. N = 1: the input reshaped to C x H W; N = 2:
// transposed to C x N x H x W first.
// CHECK-LABEL: func.func @pointwise(
// CHECK-SAME:      %[[X1:.*]]: tensor<1x3x4x4xf32>, %[[X2:.*]]: tensor<2x3x4x4xf32>
// CHECK-NOT:     linalg.generic
// CHECK:         %[[P1:.*]] = tensor.collapse_shape %[[X1]] {{\[}}[0, 1], [2, 3]] : tensor<1x3x4x4xf32> into tensor<3x16xf32>
// CHECK:         linalg.matmul ins(%{{.*}}, %[[P1]] : tensor<5x3xf32>, tensor<3x16xf32>)
// CHECK:         %[[T:.*]] = linalg.transpose ins(%[[X2]] : tensor<2x3x4x4xf32>) outs(%{{.*}} : tensor<3x2x4x4xf32>) permutation = [1, 0, 2, 3]
// CHECK:         %[[P2:.*]] = tensor.collapse_shape %[[T]] {{\[}}[0], [1, 2, 3]] : tensor<3x2x4x4xf32> into tensor<3x32xf32>
// CHECK:         linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<5x32xf32>)
// CHECK:         linalg.matmul ins(%{{.*}}, %[[P2]] : tensor<5x3xf32>, tensor<3x32xf32>)
func.func @pointwise(%x1: tensor<1x3x4x4xf32>, %x2: tensor<2x3x4x4xf32>) -> (tensor<1x5x4x4xf32>, tensor<2x5x4x4xf32>) {
  %w = arith.constant dense<0.5> : tensor<5x3x1x1xf32>
  %zero = arith.constant 0.0 : f32
  %e1 = tensor.empty() : tensor<1x5x4x4xf32>
  %i1 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<1x5x4x4xf32>) -> tensor<1x5x4x4xf32>
  %y1 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x1, %w : tensor<1x3x4x4xf32>, tensor<5x3x1x1xf32>) outs(%i1 : tensor<1x5x4x4xf32>) -> tensor<1x5x4x4xf32>
  %e2 = tensor.empty() : tensor<2x5x4x4xf32>
  %i2 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<2x5x4x4xf32>) -> tensor<2x5x4x4xf32>
  %y2 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x2, %w : tensor<2x3x4x4xf32>, tensor<5x3x1x1xf32>) outs(%i2 : tensor<2x5x4x4xf32>) -> tensor<2x5x4x4xf32>
  return %y1, %y2 : tensor<1x5x4x4xf32>, tensor<2x5x4x4xf32>
}

// 1x1 with stride 2 (a ResNet shortcut): patches subsample the input.
// CHECK-LABEL: func.func @pointwise_strided(
// CHECK:         linalg.generic {indexing_maps = [#[[$NCHW_S2:.*]], #[[$ID6]]]{{.*}} outs(%{{.*}} : tensor<3x1x1x1x2x2xf32>)
// CHECK:         tensor.collapse_shape %{{.*}} {{\[}}[0, 1, 2], [3, 4, 5]] : tensor<3x1x1x1x2x2xf32> into tensor<3x4xf32>
// CHECK:         linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<5x3xf32>, tensor<3x4xf32>)
func.func @pointwise_strided(%x: tensor<1x3x4x4xf32>) -> tensor<1x5x2x2xf32> {
  %w = arith.constant dense<0.5> : tensor<5x3x1x1xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x5x2x2xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<1x5x2x2xf32>) -> tensor<1x5x2x2xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
      ins(%x, %w : tensor<1x3x4x4xf32>, tensor<5x3x1x1xf32>) outs(%i : tensor<1x5x2x2xf32>) -> tensor<1x5x2x2xf32>
  return %y : tensor<1x5x2x2xf32>
}

// NHWC, HWCF filter: W^T (KH KW C x F) is the filter reshaped, on the
// right; patches N Ho Wo x KH KW C; the init (no fill) and the result are
// reshapes. The batch may be dynamic.
// CHECK-LABEL: func.func @nhwc_hwcf(
// CHECK-SAME:      %[[X:.*]]: tensor<?x4x4x2xf32>, %[[B:.*]]: tensor<?x3x3x3xf32>
// CHECK:         %[[W:.*]] = arith.constant dense<2.000000e+00> : tensor<8x3xf32>
// CHECK:         %[[C0:.*]] = arith.constant 0 : index
// CHECK:         %[[N:.*]] = tensor.dim %[[X]], %[[C0]]
// CHECK:         %[[E:.*]] = tensor.empty(%[[N]]) : tensor<?x3x3x2x2x2xf32>
// CHECK:         %[[G:.*]] = linalg.generic {indexing_maps = [#[[$NHWC]], #[[$ID6]]], {{.*}}} ins(%[[X]] : tensor<?x4x4x2xf32>) outs(%[[E]] : tensor<?x3x3x2x2x2xf32>)
// CHECK:         %[[P:.*]] = tensor.collapse_shape %[[G]] {{\[}}[0, 1, 2], [3, 4, 5]] : tensor<?x3x3x2x2x2xf32> into tensor<?x8xf32>
// CHECK:         %[[I:.*]] = tensor.collapse_shape %[[B]] {{\[}}[0, 1, 2], [3]] : tensor<?x3x3x3xf32> into tensor<?x3xf32>
// CHECK:         %[[M:.*]] = linalg.matmul ins(%[[P]], %[[W]] : tensor<?x8xf32>, tensor<8x3xf32>) outs(%[[I]] : tensor<?x3xf32>)
// CHECK:         tensor.expand_shape %[[M]] {{\[}}[0, 1, 2], [3]] output_shape [%{{.*}}, 3, 3, 3] : tensor<?x3xf32> into tensor<?x3x3x3xf32>
func.func @nhwc_hwcf(%x: tensor<?x4x4x2xf32>, %b: tensor<?x3x3x3xf32>) -> tensor<?x3x3x3xf32> {
  %w = arith.constant dense<2.0> : tensor<2x2x2x3xf32>
  %y = linalg.conv_2d_nhwc_hwcf {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<?x4x4x2xf32>, tensor<2x2x2x3xf32>) outs(%b : tensor<?x3x3x3xf32>) -> tensor<?x3x3x3xf32>
  return %y : tensor<?x3x3x3xf32>
}

// NHWC, FHWC filter (F = 2, KH = KW = 1, C = 3): W^T (C x F) is the filter
// transposed at compile time; 1x1 stride 1: the input reshaped. With
// select-weight-formats the right weight W^T goes back to the stored F x C as
// CSR, the product computed transposed.
// CHECK-LABEL: func.func @nhwc_fhwc(
// CHECK-SAME:      %[[X:.*]]: tensor<1x2x2x3xf32>
// CHECK:         %[[W:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00], [0.000000e+00, 4.000000e+00]]> : tensor<3x2xf32>
// CHECK:         %[[P:.*]] = tensor.collapse_shape %[[X]] {{\[}}[0, 1, 2], [3]] : tensor<1x2x2x3xf32> into tensor<4x3xf32>
// CHECK:         %[[I:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<4x2xf32>)
// CHECK:         %[[M:.*]] = linalg.matmul ins(%[[P]], %[[W]] : tensor<4x3xf32>, tensor<3x2xf32>) outs(%[[I]] : tensor<4x2xf32>)
// CHECK:         tensor.expand_shape %[[M]] {{\[}}[0, 1, 2], [3]] output_shape [1, 2, 2, 2] : tensor<4x2xf32> into tensor<1x2x2x2xf32>
// CSR-LABEL:    func.func @nhwc_fhwc(
// CSR:            arith.constant sparse<{{\[}}[0, 0], [1, 2]], [1.000000e+00, 4.000000e+00]> : tensor<2x3xf32>
// CSR:            linalg.transpose
// CSR:            linalg.matmul {sparse_opt.format = "csr"} ins(%{{.*}}, %{{.*}} : tensor<2x3xf32, #sparse{{[0-9]*}}>, tensor<3x4xf32>)
func.func @nhwc_fhwc(%x: tensor<1x2x2x3xf32>) -> tensor<1x2x2x2xf32> {
  %w = arith.constant dense<[[[[1.0, 0.0, 0.0]]], [[[0.0, 0.0, 4.0]]]]> : tensor<2x1x1x3xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2x2x2xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %y = linalg.conv_2d_nhwc_fhwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<1x2x2x3xf32>, tensor<2x1x1x3xf32>) outs(%i : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  return %y : tensor<1x2x2x2xf32>
}

// Grouped (G = 2, 2 channels and 1 feature per group), the filter a
// reshaped constant as the ONNX importer writes it: patches
// G x C KH KW x N Ho Wo, one product per group with its own filter
// constant, inserted into G x F x N Ho Wo.
// CHECK-LABEL: func.func @grouped(
// CHECK-SAME:      %[[X:.*]]: tensor<1x2x2x3x3xf32>
// CHECK:         %[[G:.*]] = linalg.generic {indexing_maps = [#[[$GROUPED]], #{{.*}}]{{.*}} outs(%{{.*}} : tensor<2x2x2x2x1x2x2xf32>)
// CHECK:         %[[P:.*]] = tensor.collapse_shape %[[G]] {{\[}}[0], [1, 2, 3], [4, 5, 6]] : tensor<2x2x2x2x1x2x2xf32> into tensor<2x8x4xf32>
// CHECK:         %[[R0:.*]] = tensor.empty() : tensor<2x1x4xf32>
// CHECK:         %[[W0:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 2.000000e+00]]> : tensor<1x8xf32>
// CHECK:         %[[P0:.*]] = tensor.extract_slice %[[P]][0, 0, 0] [1, 8, 4] [1, 1, 1] : tensor<2x8x4xf32> to tensor<8x4xf32>
// CHECK:         %[[M0:.*]] = linalg.matmul ins(%[[W0]], %[[P0]] : tensor<1x8xf32>, tensor<8x4xf32>)
// CHECK:         %[[R1:.*]] = tensor.insert_slice %[[M0]] into %[[R0]][0, 0, 0] [1, 1, 4] [1, 1, 1] : tensor<1x4xf32> into tensor<2x1x4xf32>
// CHECK:         %[[W1:.*]] = arith.constant dense<{{\[}}[0.000000e+00, 3.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00, 0.000000e+00]]> : tensor<1x8xf32>
// CHECK:         %[[P1:.*]] = tensor.extract_slice %[[P]][1, 0, 0] [1, 8, 4] [1, 1, 1] : tensor<2x8x4xf32> to tensor<8x4xf32>
// CHECK:         %[[M1:.*]] = linalg.matmul ins(%[[W1]], %[[P1]] : tensor<1x8xf32>, tensor<8x4xf32>)
// CHECK:         %[[R2:.*]] = tensor.insert_slice %[[M1]] into %[[R1]][1, 0, 0] [1, 1, 4] [1, 1, 1] : tensor<1x4xf32> into tensor<2x1x4xf32>
// CHECK:         tensor.expand_shape %[[R2]] {{\[}}[0, 1], [2], [3, 4]] output_shape [1, 2, 1, 2, 2] : tensor<2x1x4xf32> into tensor<1x2x1x2x2xf32>
// The sparsity (0.8125) is the whole filter's; each group's weight is its
// own CSR constant.
// CSR-LABEL:    func.func @grouped(
// CSR-COUNT-2:    sparse_tensor.convert
func.func @grouped(%x: tensor<1x2x2x3x3xf32>) -> tensor<1x2x1x2x2xf32> {
  %w4 = arith.constant dense<[[[[1.0, 0.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 2.0]]],
                              [[[0.0, 3.0], [0.0, 0.0]], [[0.0, 0.0], [0.0, 0.0]]]]> : tensor<2x2x2x2xf32>
  %w = tensor.expand_shape %w4 [[0, 1], [2], [3], [4]] output_shape [2, 1, 2, 2, 2] : tensor<2x2x2x2xf32> into tensor<2x1x2x2x2xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x2x1x2x2xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<1x2x1x2x2xf32>) -> tensor<1x2x1x2x2xf32>
  %y = linalg.conv_2d_ngchw_gfchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<1x2x2x3x3xf32>, tensor<2x1x2x2x2xf32>) outs(%i : tensor<1x2x1x2x2xf32>) -> tensor<1x2x1x2x2xf32>
  return %y : tensor<1x2x1x2x2xf32>
}

// A filter in a resource blob: its matrix shares the blob when it is the
// filter reshaped (NCHW); transposed (FHWC) it is read into a new constant.
// CHECK-LABEL: func.func @resource_filters(
// CHECK:         arith.constant dense_resource<filter> : tensor<2x4xf32>
// CHECK:         linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<2x4xf32>, tensor<4x4xf32>)
// CHECK:         arith.constant dense<{{\[}}[1.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00], [0.000000e+00, 0.000000e+00], [0.000000e+00, 2.000000e+00]]> : tensor<4x2xf32>
// CHECK:         linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<4x4xf32>, tensor<4x2xf32>)
// SPARSE-LABEL: func.func @resource_filters(
// SPARSE-NOT:     linalg.conv_2d
// SPARSE:         return
func.func @resource_filters(%x: tensor<1x1x3x3xf32>, %i: tensor<1x2x2x2xf32>,
                            %xn: tensor<1x2x2x4xf32>, %in: tensor<1x2x2x2xf32>)
    -> (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>) {
  %w = arith.constant dense_resource<filter> : tensor<2x1x2x2xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<1x1x3x3xf32>, tensor<2x1x2x2xf32>) outs(%i : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %wn = arith.constant dense_resource<filter> : tensor<2x1x1x4xf32>
  %yn = linalg.conv_2d_nhwc_fhwc {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%xn, %wn : tensor<1x2x2x4xf32>, tensor<2x1x1x4xf32>) outs(%in : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  return %y, %yn : tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>
}

// Patches of 27 x 24 x 2 images (5 KiB) over panel-bytes=900: panels of
// output rows. Each row of the patches is 27 x 4 floats = 432 bytes, so 2
// rows (8 columns, panel-min-columns=8) per panel, 3 panels per image: the
// loops slice the input rows a panel reads (2 + 3 - 1 = 4), build its
// patches, multiply into a zero fill and insert the product as block
// [image, panel] of [N, panels, F, 2 x Wo]; then one generic reads the
// blocks as [N, F, panels, 2, Wo] and adds the init (the bias).
// Smaller patches (the functions above) are built whole, as are NHWC ones.
// PANEL-NOT:     scf.for
// PANEL-LABEL: func.func @panels(
// PANEL-SAME:      %[[X:.*]]: tensor<2x3x8x6xf32>, %[[B:.*]]: tensor<2x4x6x4xf32>
// PANEL:         %[[W:.*]] = arith.constant dense<1.000000e+00> : tensor<4x27xf32>
// PANEL:         %[[ACC:.*]] = tensor.empty() : tensor<2x3x4x8xf32>
// PANEL:         %[[IMAGES:.*]] = scf.for %[[N:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[A:.*]] = %[[ACC]])
// PANEL:           scf.for %[[P:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[A2:.*]] = %[[A]])
// PANEL:             %[[ROW:.*]] = arith.muli %[[P]], %{{.*}} : index
// PANEL:             %[[STRIP:.*]] = tensor.extract_slice %[[X]][%[[N]], 0, %[[ROW]], 0] [1, 3, 4, 6] [1, 1, 1, 1] : tensor<2x3x8x6xf32> to tensor<1x3x4x6xf32>
// PANEL:             %[[G:.*]] = linalg.generic {{.*}} ins(%[[STRIP]] : tensor<1x3x4x6xf32>) outs(%{{.*}} : tensor<3x3x3x1x2x4xf32>)
// PANEL:             %[[PATCHES:.*]] = tensor.collapse_shape %[[G]] {{\[}}[0, 1, 2], [3, 4, 5]] : tensor<3x3x3x1x2x4xf32> into tensor<27x8xf32>
// PANEL:             %[[Z:.*]] = linalg.fill ins(%{{.*}} : f32) outs(%{{.*}} : tensor<4x8xf32>)
// PANEL:             %[[M:.*]] = linalg.matmul ins(%[[W]], %[[PATCHES]] : tensor<4x27xf32>, tensor<27x8xf32>) outs(%[[Z]] : tensor<4x8xf32>)
// PANEL:             %[[NEXT:.*]] = tensor.insert_slice %[[M]] into %[[A2]][%[[N]], %[[P]], 0, 0] [1, 1, 4, 8] [1, 1, 1, 1] : tensor<4x8xf32> into tensor<2x3x4x8xf32>
// PANEL:             scf.yield %[[NEXT]]
// PANEL:         %[[BLOCKS:.*]] = tensor.expand_shape %[[IMAGES]] {{\[}}[0], [1], [2], [3, 4]] output_shape [2, 3, 4, 2, 4]
// PANEL:         %[[BIAS:.*]] = tensor.expand_shape %[[B]] {{\[}}[0], [1], [2, 3], [4]] output_shape [2, 4, 3, 2, 4]
// PANEL:         %[[SUM:.*]] = linalg.generic {indexing_maps = [#[[$PANELS:.*]], #{{.*}}], {{.*}}} ins(%[[BLOCKS]] : tensor<2x3x4x2x4xf32>) outs(%[[BIAS]] : tensor<2x4x3x2x4xf32>)
// PANEL:           arith.addf
// PANEL:         tensor.collapse_shape %[[SUM]] {{\[}}[0], [1], [2, 3], [4]] : tensor<2x4x3x2x4xf32> into tensor<2x4x6x4xf32>
// PANEL-LABEL: func.func @unchanged(
// PANEL-NOT:     scf.for
func.func @panels(%x: tensor<2x3x8x6xf32>, %b: tensor<2x4x6x4xf32>) -> tensor<2x4x6x4xf32> {
  %w = arith.constant dense<1.0> : tensor<4x3x3x3xf32>
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<2x3x8x6xf32>, tensor<4x3x3x3xf32>) outs(%b : tensor<2x4x6x4xf32>) -> tensor<2x4x6x4xf32>
  return %y : tensor<2x4x6x4xf32>
}

// Left alone: a filter that is no constant; depthwise convolutions; in
// convert=sparse, a sparse filter that is not f32 (select-weight-formats stores
// f32 only), which convert=all rewrites.
// CHECK-LABEL: func.func @unchanged(
// CHECK:         linalg.conv_2d_nchw_fchw
// CHECK:         linalg.depthwise_conv_2d_nchw_chw
// CHECK-NOT:     linalg.conv_2d
// CHECK:         linalg.matmul ins(%{{.*}}, %{{.*}} : tensor<2x4xf64>, tensor<4x4xf64>)
// SPARSE-LABEL: func.func @unchanged(
// SPARSE:         linalg.conv_2d_nchw_fchw
// SPARSE:         linalg.depthwise_conv_2d_nchw_chw
// SPARSE:         linalg.conv_2d_nchw_fchw {{.*}} tensor<2x1x2x2xf64>
func.func @unchanged(%x: tensor<1x1x3x3xf32>, %w: tensor<2x1x2x2xf32>, %i: tensor<1x2x2x2xf32>,
                     %xd: tensor<1x2x3x3xf32>, %id: tensor<1x2x2x2xf32>,
                     %x64: tensor<1x1x3x3xf64>, %i64: tensor<1x2x2x2xf64>)
    -> (tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>, tensor<1x2x2x2xf64>) {
  %y = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x, %w : tensor<1x1x3x3xf32>, tensor<2x1x2x2xf32>) outs(%i : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %wd = arith.constant dense<0.0> : tensor<2x2x2xf32>
  %yd = linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%xd, %wd : tensor<1x2x3x3xf32>, tensor<2x2x2xf32>) outs(%id : tensor<1x2x2x2xf32>) -> tensor<1x2x2x2xf32>
  %w64 = arith.constant dense<[[[[1.0, 0.0], [0.0, 0.0]]], [[[0.0, 0.0], [0.0, 0.0]]]]> : tensor<2x1x2x2xf64>
  %y64 = linalg.conv_2d_nchw_fchw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
      ins(%x64, %w64 : tensor<1x1x3x3xf64>, tensor<2x1x2x2xf64>) outs(%i64 : tensor<1x2x2x2xf64>) -> tensor<1x2x2x2xf64>
  return %y, %yd, %y64 : tensor<1x2x2x2xf32>, tensor<1x2x2x2xf32>, tensor<1x2x2x2xf64>
}

// BADCONVERT: error: sparse-opt-convolution-to-matmul: convert must be 'sparse' or 'all', got 'some'
// BADSPARSITY: error: sparse-opt-convolution-to-matmul: min-sparsity must be in [0, 1], got -5.000000e-01

{-#
  dialect_resources: {
    builtin: {
      filter: "0x040000000000803F00000000000000000000000000000000000000000000000000000040"
    }
  }
#-}
