// RUN: sparse-opt --split-input-file --pass-pipeline="builtin.module(func.func(sparse-opt-sparse-attention{vector-length=4 min-parallel-work=0 remarks=true},cse))" -verify-diagnostics %s | FileCheck %s
// RUN: sparse-opt --split-input-file --sparse-opt-sparse-attention="vector-length=4" %s | FileCheck %s --check-prefix=SERIAL
// RUN: sparse-opt --split-input-file --sparse-opt-sparse-attention="vector-length=0" %s | FileCheck %s --check-prefix=OFF

// Attention as sparse-import-onnx emits it for one layer of
// sparse_opt.models.build_attention(seq_len=8, heads=2, head_dim=4,
// attention_pattern="window:1"): heads split by expand_shape + transpose,
// batch_matmul of Q and K^T, the scale, the constant mask [8, 8] added
// (0 where allowed, -10000 elsewhere), the softmax as max / sub / exp /
// sum / div generics, batch_matmul with V, heads merged.
// CHECK-LABEL: func.func @importer_t(
// CHECK-SAME:      %[[Q:[^:]+]]: tensor<1x8x8xf32> {onnx.name = "query"}, %[[K:[^:]+]]: tensor<1x8x8xf32> {onnx.name = "key"}, %[[V:[^:]+]]: tensor<1x8x8xf32> {onnx.name = "value"}
// The mask's CSR pattern, compile-time constants: 22 of 64 scores.
// CHECK-DAG:     %[[POS:.*]] = arith.constant dense<[0, 2, 5, 8, 11, 14, 17, 20, 22]> : tensor<9xi32>
// CHECK-DAG:     %[[CRD:.*]] = arith.constant dense<[0, 1, 0, 1, 2, 1, 2, 3, 2, 3, 4, 3, 4, 5, 4, 5, 6, 5, 6, 7, 6, 7]> : tensor<22xi32>
// Q is read in place, through the heads' reshape (its transpose is gone);
// K and V, whose rows every query allowing them reads again, are packed
// head by head ([1, 2, 8, 4]: a head's rows adjacent).
// CHECK-DAG:     %[[QH:.*]] = tensor.expand_shape %[[Q]] {{.*}} into tensor<1x8x2x4xf32>
// CHECK-DAG:     %[[KH:.*]] = tensor.expand_shape %[[K]] {{.*}} into tensor<1x8x2x4xf32>
// CHECK-DAG:     %[[VH:.*]] = tensor.expand_shape %[[V]] {{.*}} into tensor<1x8x2x4xf32>
// CHECK-DAG:     %[[QB:.*]] = bufferization.to_buffer %[[QH]] read_only
// CHECK-DAG:     %[[QF:.*]] = memref.collapse_shape %[[QB]] {{.*}} into memref<64xf32>
// CHECK-DAG:     %[[KP:.*]] = linalg.transpose ins(%[[KH]] : tensor<1x8x2x4xf32>) outs(%{{.*}} : tensor<1x2x8x4xf32>) permutation = [0, 2, 1, 3]
// CHECK-DAG:     %[[KB:.*]] = bufferization.to_buffer %[[KP]] read_only
// CHECK-DAG:     %[[KF:.*]] = memref.collapse_shape %[[KB]] {{.*}} into memref<64xf32>
// CHECK-DAG:     %[[VP:.*]] = linalg.transpose ins(%[[VH]] : tensor<1x8x2x4xf32>) outs(%{{.*}} : tensor<1x2x8x4xf32>) permutation = [0, 2, 1, 3]
// CHECK-DAG:     %[[VB:.*]] = bufferization.to_buffer %[[VP]] read_only
// CHECK-DAG:     %[[VF:.*]] = memref.collapse_shape %[[VB]] {{.*}} into memref<64xf32>
// CHECK-DAG:     %[[POSB:.*]] = bufferization.to_buffer %[[POS]] read_only
// CHECK-DAG:     %[[CRDB:.*]] = bufferization.to_buffer %[[CRD]] read_only
// The context goes straight to the heads' merge [1, 8, 2, 4] (the
// transpose after the product is not computed).
// CHECK-DAG:     %[[OUT:.*]] = memref.alloc() {alignment = 64 : i64} : memref<1x8x2x4xf32>
// CHECK-DAG:     %[[OUTF:.*]] = memref.collapse_shape %[[OUT]] {{.*}} into memref<64xf32>
// One parallel loop over the rows: 2 heads x 8 queries.
// CHECK:         scf.parallel (%[[ROW:.*]]) = (%{{.*}}) to (%c16)
// CHECK:           %[[HEAD:.*]] = arith.divui %[[ROW]], %c8
// CHECK:           %[[QUERY:.*]] = arith.remui %[[ROW]], %c8
// The row's allowed keys, their scores in a stack buffer of the longest
// mask row (3, in whole vectors).
// CHECK:           memref.load %[[POSB]][%[[QUERY]]]
// CHECK:           %[[SCORES:.*]] = memref.alloca() : memref<4xf32>
// SDDMM: Q's row (one vector of 4) in registers, groups of 4 keys whose
// rows of K are dot products reduced together, then the scale.
// CHECK:           %[[QROW:.*]] = vector.load %[[QF]][%{{.*}}] : memref<64xf32>, vector<4xf32>
// CHECK:           scf.for {{.*}} -> (vector<4xf32>) {
// CHECK-COUNT-4:     memref.load %[[CRDB]]
// CHECK-COUNT-4:     vector.fma %[[QROW]], %{{.*}}, %{{.*}} : vector<4xf32>
// CHECK-COUNT-2:     vector.shuffle
// CHECK:             %[[SCALED:.*]] = arith.divf %{{.*}}, %{{.*}} : vector<4xf32>
// CHECK:             vector.store %[[SCALED]], %[[SCORES]]
// CHECK:             arith.maximumf
// The last group masked.
// CHECK:           vector.create_mask
// CHECK:           vector.maskedstore %[[SCORES]]
// CHECK:           vector.reduction <maximumf>
// The masked softmax over the stored scores: exp as a polynomial, its sum.
// CHECK-NOT:       math.exp
// CHECK:           vector.reduction <add>
// CHECK:           arith.divf %{{.*}}, %{{.*}} : f32
// SpMM: the probabilities times V's rows (the key's coordinate times the
// row stride of the packed V: 4) in a register tile, scaled once by
// 1 / sum and stored at the query's row of the merged heads.
// CHECK:           scf.for
// CHECK:             memref.load %[[SCORES]]
// CHECK:             memref.load %[[CRDB]]
// CHECK:             arith.muli %{{.*}}, %c4
// CHECK:             vector.broadcast
// CHECK:             vector.load %[[VF]]
// CHECK:             vector.fma
// CHECK:           arith.mulf
// CHECK:           vector.store %{{.*}}, %[[OUTF]]
// The context replaces the merged heads; no dense scores remain.
// CHECK:         %[[CONTEXT:.*]] = bufferization.to_tensor %[[OUT]] restrict writable : memref<1x8x2x4xf32> to tensor<1x8x2x4xf32>
// CHECK-NOT:     tensor<1x2x8x8xf32>
// CHECK:         %[[MERGED:.*]] = tensor.collapse_shape %[[CONTEXT]] {{.*}} into tensor<1x8x8xf32>
// CHECK-NOT:     linalg.
// CHECK:         return %[[MERGED]]

// Calls this small (88 vector steps) run their rows serially, behind the
// run-time test of forEachParallel.
// SERIAL-LABEL: func.func @importer_t(
// SERIAL:         scf.if
// SERIAL:           scf.parallel
// SERIAL:         } else {
// SERIAL:           scf.for
// SERIAL:         } {sparse_opt.serial_fallback}

// OFF-LABEL: func.func @importer_t(
// OFF-COUNT-2:   linalg.batch_matmul
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map1 = affine_map<(d0, d1, d2, d3) -> ()>
#map2 = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
#map3 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#map4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>
module {
  func.func @importer_t(%arg0: tensor<1x8x8xf32> {onnx.name = "query"}, %arg1: tensor<1x8x8xf32> {onnx.name = "key"}, %arg2: tensor<1x8x8xf32> {onnx.name = "value"}) -> tensor<1x8x8xf32> attributes {llvm.emit_c_interface} {
    %cst = arith.constant dense<[[0.000000e+00, 0.000000e+00, -1.000000e+04, -1.000000e+04, -1.000000e+04, -1.000000e+04, -1.000000e+04, -1.000000e+04], [0.000000e+00, 0.000000e+00, 0.000000e+00, -1.000000e+04, -1.000000e+04, -1.000000e+04, -1.000000e+04, -1.000000e+04], [-1.000000e+04, 0.000000e+00, 0.000000e+00, 0.000000e+00, -1.000000e+04, -1.000000e+04, -1.000000e+04, -1.000000e+04], [-1.000000e+04, -1.000000e+04, 0.000000e+00, 0.000000e+00, 0.000000e+00, -1.000000e+04, -1.000000e+04, -1.000000e+04], [-1.000000e+04, -1.000000e+04, -1.000000e+04, 0.000000e+00, 0.000000e+00, 0.000000e+00, -1.000000e+04, -1.000000e+04], [-1.000000e+04, -1.000000e+04, -1.000000e+04, -1.000000e+04, 0.000000e+00, 0.000000e+00, 0.000000e+00, -1.000000e+04], [-1.000000e+04, -1.000000e+04, -1.000000e+04, -1.000000e+04, -1.000000e+04, 0.000000e+00, 0.000000e+00, 0.000000e+00], [-1.000000e+04, -1.000000e+04, -1.000000e+04, -1.000000e+04, -1.000000e+04, -1.000000e+04, 0.000000e+00, 0.000000e+00]]> : tensor<8x8xf32>
    %cst_0 = arith.constant dense<2.000000e+00> : tensor<f32>
    %expanded = tensor.expand_shape %arg0 [[0], [1], [2, 3]] output_shape [1, 8, 2, 4] : tensor<1x8x8xf32> into tensor<1x8x2x4xf32>
    %0 = tensor.empty() : tensor<1x2x8x4xf32>
    %transposed = linalg.transpose ins(%expanded : tensor<1x8x2x4xf32>) outs(%0 : tensor<1x2x8x4xf32>) permutation = [0, 2, 1, 3] 
    %expanded_1 = tensor.expand_shape %arg1 [[0], [1], [2, 3]] output_shape [1, 8, 2, 4] : tensor<1x8x8xf32> into tensor<1x8x2x4xf32>
    %1 = tensor.empty() : tensor<1x2x4x8xf32>
    %transposed_2 = linalg.transpose ins(%expanded_1 : tensor<1x8x2x4xf32>) outs(%1 : tensor<1x2x4x8xf32>) permutation = [0, 2, 3, 1] 
    %expanded_3 = tensor.expand_shape %arg2 [[0], [1], [2, 3]] output_shape [1, 8, 2, 4] : tensor<1x8x8xf32> into tensor<1x8x2x4xf32>
    %2 = tensor.empty() : tensor<1x2x8x4xf32>
    %transposed_4 = linalg.transpose ins(%expanded_3 : tensor<1x8x2x4xf32>) outs(%2 : tensor<1x2x8x4xf32>) permutation = [0, 2, 1, 3] 
    %collapsed = tensor.collapse_shape %transposed [[0, 1], [2], [3]] : tensor<1x2x8x4xf32> into tensor<2x8x4xf32>
    %collapsed_5 = tensor.collapse_shape %transposed_2 [[0, 1], [2], [3]] : tensor<1x2x4x8xf32> into tensor<2x4x8xf32>
    %cst_6 = arith.constant 0.000000e+00 : f32
    %3 = tensor.empty() : tensor<2x8x8xf32>
    %4 = linalg.fill ins(%cst_6 : f32) outs(%3 : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
    %5 = linalg.batch_matmul ins(%collapsed, %collapsed_5 : tensor<2x8x4xf32>, tensor<2x4x8xf32>) outs(%4 : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
    %expanded_7 = tensor.expand_shape %5 [[0, 1], [2], [3]] output_shape [1, 2, 8, 8] : tensor<2x8x8xf32> into tensor<1x2x8x8xf32>
    %6 = tensor.empty() : tensor<1x2x8x8xf32>
    %7 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded_7, %cst_0 : tensor<1x2x8x8xf32>, tensor<f32>) outs(%6 : tensor<1x2x8x8xf32>) {
    ^bb0(%in: f32, %in_18: f32, %out: f32):
      %26 = arith.divf %in, %in_18 : f32
      linalg.yield %26 : f32
    } -> tensor<1x2x8x8xf32>
    %8 = tensor.empty() : tensor<1x2x8x8xf32>
    %9 = linalg.generic {indexing_maps = [#map, #map2, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%7, %cst : tensor<1x2x8x8xf32>, tensor<8x8xf32>) outs(%8 : tensor<1x2x8x8xf32>) {
    ^bb0(%in: f32, %in_18: f32, %out: f32):
      %26 = arith.addf %in, %in_18 : f32
      linalg.yield %26 : f32
    } -> tensor<1x2x8x8xf32>
    %cst_8 = arith.constant 0xFF800000 : f32
    %10 = tensor.empty() : tensor<1x2x8xf32>
    %11 = linalg.fill ins(%cst_8 : f32) outs(%10 : tensor<1x2x8xf32>) -> tensor<1x2x8xf32>
    %12 = linalg.generic {indexing_maps = [#map, #map3], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%9 : tensor<1x2x8x8xf32>) outs(%11 : tensor<1x2x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %26 = arith.maximumf %out, %in : f32
      linalg.yield %26 : f32
    } -> tensor<1x2x8xf32>
    %expanded_9 = tensor.expand_shape %12 [[0], [1], [2, 3]] output_shape [1, 2, 8, 1] : tensor<1x2x8xf32> into tensor<1x2x8x1xf32>
    %13 = tensor.empty() : tensor<1x2x8x8xf32>
    %14 = linalg.generic {indexing_maps = [#map, #map4, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%9, %expanded_9 : tensor<1x2x8x8xf32>, tensor<1x2x8x1xf32>) outs(%13 : tensor<1x2x8x8xf32>) {
    ^bb0(%in: f32, %in_18: f32, %out: f32):
      %26 = arith.subf %in, %in_18 : f32
      linalg.yield %26 : f32
    } -> tensor<1x2x8x8xf32>
    %15 = tensor.empty() : tensor<1x2x8x8xf32>
    %16 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%14 : tensor<1x2x8x8xf32>) outs(%15 : tensor<1x2x8x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %26 = math.exp %in : f32
      linalg.yield %26 : f32
    } -> tensor<1x2x8x8xf32>
    %cst_10 = arith.constant 0.000000e+00 : f32
    %17 = tensor.empty() : tensor<1x2x8xf32>
    %18 = linalg.fill ins(%cst_10 : f32) outs(%17 : tensor<1x2x8xf32>) -> tensor<1x2x8xf32>
    %19 = linalg.generic {indexing_maps = [#map, #map3], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%16 : tensor<1x2x8x8xf32>) outs(%18 : tensor<1x2x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %26 = arith.addf %out, %in : f32
      linalg.yield %26 : f32
    } -> tensor<1x2x8xf32>
    %expanded_11 = tensor.expand_shape %19 [[0], [1], [2, 3]] output_shape [1, 2, 8, 1] : tensor<1x2x8xf32> into tensor<1x2x8x1xf32>
    %20 = tensor.empty() : tensor<1x2x8x8xf32>
    %21 = linalg.generic {indexing_maps = [#map, #map4, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%16, %expanded_11 : tensor<1x2x8x8xf32>, tensor<1x2x8x1xf32>) outs(%20 : tensor<1x2x8x8xf32>) {
    ^bb0(%in: f32, %in_18: f32, %out: f32):
      %26 = arith.divf %in, %in_18 : f32
      linalg.yield %26 : f32
    } -> tensor<1x2x8x8xf32>
    %collapsed_12 = tensor.collapse_shape %21 [[0, 1], [2], [3]] : tensor<1x2x8x8xf32> into tensor<2x8x8xf32>
    %collapsed_13 = tensor.collapse_shape %transposed_4 [[0, 1], [2], [3]] : tensor<1x2x8x4xf32> into tensor<2x8x4xf32>
    %cst_14 = arith.constant 0.000000e+00 : f32
    %22 = tensor.empty() : tensor<2x8x4xf32>
    %23 = linalg.fill ins(%cst_14 : f32) outs(%22 : tensor<2x8x4xf32>) -> tensor<2x8x4xf32>
    // expected-remark @below {{sparse attention: 2 x 8 queries x 8 keys, the mask allows 22 of 64 scores per head (0.344), up to 3 per query}}
    %24 = linalg.batch_matmul ins(%collapsed_12, %collapsed_13 : tensor<2x8x8xf32>, tensor<2x8x4xf32>) outs(%23 : tensor<2x8x4xf32>) -> tensor<2x8x4xf32>
    %expanded_15 = tensor.expand_shape %24 [[0, 1], [2], [3]] output_shape [1, 2, 8, 4] : tensor<2x8x4xf32> into tensor<1x2x8x4xf32>
    %25 = tensor.empty() : tensor<1x8x2x4xf32>
    %transposed_16 = linalg.transpose ins(%expanded_15 : tensor<1x2x8x4xf32>) outs(%25 : tensor<1x8x2x4xf32>) permutation = [0, 2, 1, 3] 
    %collapsed_17 = tensor.collapse_shape %transposed_16 [[0], [1], [2, 3]] : tensor<1x8x2x4xf32> into tensor<1x8x8xf32>
    return %collapsed_17 : tensor<1x8x8xf32>
  }
}

// -----

// With the padding mask: the builder combines (1 - mask) * -10000
// [1, 1, 1, 8] with the pattern once ([1, 1, 8, 8]) as exporters build the
// extended mask. The padding term stays a run-time operand of the kernel,
// read at the stored keys; the combined term is not computed any more.
// CHECK-LABEL: func.func @importer_tp(
// CHECK-SAME:      %{{.*}}: tensor<1x8xi64> {onnx.name = "attention_mask"}
// CHECK-NOT:     tensor<1x1x8x8xf32>
// CHECK:         %[[PAD:.*]] = linalg.generic {{.*}} ins(%{{.*}}, %{{.*}} : tensor<1x1x1x8xf32>, tensor<f32>)
// CHECK-NOT:     tensor<1x1x8x8xf32>
// CHECK:         %[[PADB:.*]] = bufferization.to_buffer %[[PAD]] read_only
// CHECK:         %[[PADF:.*]] = memref.collapse_shape %[[PADB]] {{.*}} into memref<8xf32>
// CHECK:         scf.parallel
// The stored keys' coordinates as a vector, the padding gathered there and
// added after the scale.
// CHECK:           scf.for
// CHECK:             %[[KEYS:.*]] = vector.load %{{.*}} : memref<22xi32>, vector<4xi32>
// CHECK:             %[[PADS:.*]] = vector.gather %[[PADF]][%c0] [%[[KEYS]]]
// CHECK:             %[[X:.*]] = arith.addf %{{.*}}, %[[PADS]] : vector<4xf32>
// A row whose stored keys are all padding (largest score <= -10000 / 2)
// is the dense graph's row: every key's score, -10000 where the mask hides
// it, plus the padding.
// CHECK:           %[[REGULAR:.*]] = arith.cmpf ogt, %{{.*}}, %{{.*}} : f32
// CHECK:           scf.if %[[REGULAR]] {
// CHECK:           } else {
// CHECK:             %[[ALL:.*]] = memref.alloca() : memref<8xf32>
// CHECK:             scf.for
// CHECK:               vector.gather %[[PADF]]
// CHECK:               vector.store %{{.*}}, %[[ALL]]
// The stored entries' scores put in their places.
// CHECK:             scf.for
// CHECK:               memref.store %{{.*}}, %[[ALL]]
// CHECK:           }
// CHECK-NOT:     linalg.batch_matmul
// CHECK:         return
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map1 = affine_map<(d0, d1, d2, d3) -> ()>
#map2 = affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, d3)>
#map3 = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
#map4 = affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, d3)>
#map5 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#map6 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>
module {
  func.func @importer_tp(%arg0: tensor<1x8x8xf32> {onnx.name = "query"}, %arg1: tensor<1x8x8xf32> {onnx.name = "key"}, %arg2: tensor<1x8x8xf32> {onnx.name = "value"}, %arg3: tensor<1x8xi64> {onnx.name = "attention_mask"}) -> tensor<1x8x8xf32> attributes {llvm.emit_c_interface} {
    %cst = arith.constant dense<2.000000e+00> : tensor<f32>
    %cst_0 = arith.constant dense<[[0.000000e+00, 0.000000e+00, -1.000000e+04, -1.000000e+04, -1.000000e+04, -1.000000e+04, -1.000000e+04, -1.000000e+04], [0.000000e+00, 0.000000e+00, 0.000000e+00, -1.000000e+04, -1.000000e+04, -1.000000e+04, -1.000000e+04, -1.000000e+04], [-1.000000e+04, 0.000000e+00, 0.000000e+00, 0.000000e+00, -1.000000e+04, -1.000000e+04, -1.000000e+04, -1.000000e+04], [-1.000000e+04, -1.000000e+04, 0.000000e+00, 0.000000e+00, 0.000000e+00, -1.000000e+04, -1.000000e+04, -1.000000e+04], [-1.000000e+04, -1.000000e+04, -1.000000e+04, 0.000000e+00, 0.000000e+00, 0.000000e+00, -1.000000e+04, -1.000000e+04], [-1.000000e+04, -1.000000e+04, -1.000000e+04, -1.000000e+04, 0.000000e+00, 0.000000e+00, 0.000000e+00, -1.000000e+04], [-1.000000e+04, -1.000000e+04, -1.000000e+04, -1.000000e+04, -1.000000e+04, 0.000000e+00, 0.000000e+00, 0.000000e+00], [-1.000000e+04, -1.000000e+04, -1.000000e+04, -1.000000e+04, -1.000000e+04, -1.000000e+04, 0.000000e+00, 0.000000e+00]]> : tensor<8x8xf32>
    %cst_1 = arith.constant dense<-1.000000e+04> : tensor<f32>
    %cst_2 = arith.constant dense<1.000000e+00> : tensor<f32>
    %expanded = tensor.expand_shape %arg3 [[0], [1, 2, 3]] output_shape [1, 1, 1, 8] : tensor<1x8xi64> into tensor<1x1x1x8xi64>
    %0 = tensor.empty() : tensor<1x1x1x8xf32>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded : tensor<1x1x1x8xi64>) outs(%0 : tensor<1x1x1x8xf32>) {
    ^bb0(%in: i64, %out: f32):
      %34 = arith.sitofp %in : i64 to f32
      linalg.yield %34 : f32
    } -> tensor<1x1x1x8xf32>
    %2 = tensor.empty() : tensor<1x1x1x8xf32>
    %3 = linalg.generic {indexing_maps = [#map1, #map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%cst_2, %1 : tensor<f32>, tensor<1x1x1x8xf32>) outs(%2 : tensor<1x1x1x8xf32>) {
    ^bb0(%in: f32, %in_21: f32, %out: f32):
      %34 = arith.subf %in, %in_21 : f32
      linalg.yield %34 : f32
    } -> tensor<1x1x1x8xf32>
    %4 = tensor.empty() : tensor<1x1x1x8xf32>
    %5 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%3, %cst_1 : tensor<1x1x1x8xf32>, tensor<f32>) outs(%4 : tensor<1x1x1x8xf32>) {
    ^bb0(%in: f32, %in_21: f32, %out: f32):
      %34 = arith.mulf %in, %in_21 : f32
      linalg.yield %34 : f32
    } -> tensor<1x1x1x8xf32>
    %6 = tensor.empty() : tensor<1x1x8x8xf32>
    %7 = linalg.generic {indexing_maps = [#map2, #map3, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%5, %cst_0 : tensor<1x1x1x8xf32>, tensor<8x8xf32>) outs(%6 : tensor<1x1x8x8xf32>) {
    ^bb0(%in: f32, %in_21: f32, %out: f32):
      %34 = arith.addf %in, %in_21 : f32
      linalg.yield %34 : f32
    } -> tensor<1x1x8x8xf32>
    %expanded_3 = tensor.expand_shape %arg0 [[0], [1], [2, 3]] output_shape [1, 8, 2, 4] : tensor<1x8x8xf32> into tensor<1x8x2x4xf32>
    %8 = tensor.empty() : tensor<1x2x8x4xf32>
    %transposed = linalg.transpose ins(%expanded_3 : tensor<1x8x2x4xf32>) outs(%8 : tensor<1x2x8x4xf32>) permutation = [0, 2, 1, 3] 
    %expanded_4 = tensor.expand_shape %arg1 [[0], [1], [2, 3]] output_shape [1, 8, 2, 4] : tensor<1x8x8xf32> into tensor<1x8x2x4xf32>
    %9 = tensor.empty() : tensor<1x2x4x8xf32>
    %transposed_5 = linalg.transpose ins(%expanded_4 : tensor<1x8x2x4xf32>) outs(%9 : tensor<1x2x4x8xf32>) permutation = [0, 2, 3, 1] 
    %expanded_6 = tensor.expand_shape %arg2 [[0], [1], [2, 3]] output_shape [1, 8, 2, 4] : tensor<1x8x8xf32> into tensor<1x8x2x4xf32>
    %10 = tensor.empty() : tensor<1x2x8x4xf32>
    %transposed_7 = linalg.transpose ins(%expanded_6 : tensor<1x8x2x4xf32>) outs(%10 : tensor<1x2x8x4xf32>) permutation = [0, 2, 1, 3] 
    %collapsed = tensor.collapse_shape %transposed [[0, 1], [2], [3]] : tensor<1x2x8x4xf32> into tensor<2x8x4xf32>
    %collapsed_8 = tensor.collapse_shape %transposed_5 [[0, 1], [2], [3]] : tensor<1x2x4x8xf32> into tensor<2x4x8xf32>
    %cst_9 = arith.constant 0.000000e+00 : f32
    %11 = tensor.empty() : tensor<2x8x8xf32>
    %12 = linalg.fill ins(%cst_9 : f32) outs(%11 : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
    %13 = linalg.batch_matmul ins(%collapsed, %collapsed_8 : tensor<2x8x4xf32>, tensor<2x4x8xf32>) outs(%12 : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
    %expanded_10 = tensor.expand_shape %13 [[0, 1], [2], [3]] output_shape [1, 2, 8, 8] : tensor<2x8x8xf32> into tensor<1x2x8x8xf32>
    %14 = tensor.empty() : tensor<1x2x8x8xf32>
    %15 = linalg.generic {indexing_maps = [#map, #map1, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded_10, %cst : tensor<1x2x8x8xf32>, tensor<f32>) outs(%14 : tensor<1x2x8x8xf32>) {
    ^bb0(%in: f32, %in_21: f32, %out: f32):
      %34 = arith.divf %in, %in_21 : f32
      linalg.yield %34 : f32
    } -> tensor<1x2x8x8xf32>
    %16 = tensor.empty() : tensor<1x2x8x8xf32>
    %17 = linalg.generic {indexing_maps = [#map, #map4, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%15, %7 : tensor<1x2x8x8xf32>, tensor<1x1x8x8xf32>) outs(%16 : tensor<1x2x8x8xf32>) {
    ^bb0(%in: f32, %in_21: f32, %out: f32):
      %34 = arith.addf %in, %in_21 : f32
      linalg.yield %34 : f32
    } -> tensor<1x2x8x8xf32>
    %cst_11 = arith.constant 0xFF800000 : f32
    %18 = tensor.empty() : tensor<1x2x8xf32>
    %19 = linalg.fill ins(%cst_11 : f32) outs(%18 : tensor<1x2x8xf32>) -> tensor<1x2x8xf32>
    %20 = linalg.generic {indexing_maps = [#map, #map5], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%17 : tensor<1x2x8x8xf32>) outs(%19 : tensor<1x2x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %34 = arith.maximumf %out, %in : f32
      linalg.yield %34 : f32
    } -> tensor<1x2x8xf32>
    %expanded_12 = tensor.expand_shape %20 [[0], [1], [2, 3]] output_shape [1, 2, 8, 1] : tensor<1x2x8xf32> into tensor<1x2x8x1xf32>
    %21 = tensor.empty() : tensor<1x2x8x8xf32>
    %22 = linalg.generic {indexing_maps = [#map, #map6, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%17, %expanded_12 : tensor<1x2x8x8xf32>, tensor<1x2x8x1xf32>) outs(%21 : tensor<1x2x8x8xf32>) {
    ^bb0(%in: f32, %in_21: f32, %out: f32):
      %34 = arith.subf %in, %in_21 : f32
      linalg.yield %34 : f32
    } -> tensor<1x2x8x8xf32>
    %23 = tensor.empty() : tensor<1x2x8x8xf32>
    %24 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%22 : tensor<1x2x8x8xf32>) outs(%23 : tensor<1x2x8x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %34 = math.exp %in : f32
      linalg.yield %34 : f32
    } -> tensor<1x2x8x8xf32>
    %cst_13 = arith.constant 0.000000e+00 : f32
    %25 = tensor.empty() : tensor<1x2x8xf32>
    %26 = linalg.fill ins(%cst_13 : f32) outs(%25 : tensor<1x2x8xf32>) -> tensor<1x2x8xf32>
    %27 = linalg.generic {indexing_maps = [#map, #map5], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%24 : tensor<1x2x8x8xf32>) outs(%26 : tensor<1x2x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %34 = arith.addf %out, %in : f32
      linalg.yield %34 : f32
    } -> tensor<1x2x8xf32>
    %expanded_14 = tensor.expand_shape %27 [[0], [1], [2, 3]] output_shape [1, 2, 8, 1] : tensor<1x2x8xf32> into tensor<1x2x8x1xf32>
    %28 = tensor.empty() : tensor<1x2x8x8xf32>
    %29 = linalg.generic {indexing_maps = [#map, #map6, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%24, %expanded_14 : tensor<1x2x8x8xf32>, tensor<1x2x8x1xf32>) outs(%28 : tensor<1x2x8x8xf32>) {
    ^bb0(%in: f32, %in_21: f32, %out: f32):
      %34 = arith.divf %in, %in_21 : f32
      linalg.yield %34 : f32
    } -> tensor<1x2x8x8xf32>
    %collapsed_15 = tensor.collapse_shape %29 [[0, 1], [2], [3]] : tensor<1x2x8x8xf32> into tensor<2x8x8xf32>
    %collapsed_16 = tensor.collapse_shape %transposed_7 [[0, 1], [2], [3]] : tensor<1x2x8x4xf32> into tensor<2x8x4xf32>
    %cst_17 = arith.constant 0.000000e+00 : f32
    %30 = tensor.empty() : tensor<2x8x4xf32>
    %31 = linalg.fill ins(%cst_17 : f32) outs(%30 : tensor<2x8x4xf32>) -> tensor<2x8x4xf32>
    // expected-remark @below {{sparse attention: 2 x 8 queries x 8 keys, the mask allows 22 of 64 scores per head (0.344), up to 3 per query, 1 run-time mask(s)}}
    %32 = linalg.batch_matmul ins(%collapsed_15, %collapsed_16 : tensor<2x8x8xf32>, tensor<2x8x4xf32>) outs(%31 : tensor<2x8x4xf32>) -> tensor<2x8x4xf32>
    %expanded_18 = tensor.expand_shape %32 [[0, 1], [2], [3]] output_shape [1, 2, 8, 4] : tensor<2x8x4xf32> into tensor<1x2x8x4xf32>
    %33 = tensor.empty() : tensor<1x8x2x4xf32>
    %transposed_19 = linalg.transpose ins(%expanded_18 : tensor<1x2x8x4xf32>) outs(%33 : tensor<1x8x2x4xf32>) permutation = [0, 2, 1, 3] 
    %collapsed_20 = tensor.collapse_shape %transposed_19 [[0], [1], [2, 3]] : tensor<1x8x2x4xf32> into tensor<1x8x8xf32>
    return %collapsed_20 : tensor<1x8x8xf32>
  }
}

// -----

// The Where form: the bool padding mask And the bool pattern, then
// Where(combined, scores, float min). The padding condition is gathered
// as bytes (memrefs keep a byte per i1, vectors of i1 are bits).
// CHECK-LABEL: func.func @importer_tw(
// CHECK:         %[[BYTES:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<1x1x1x8xi1>) outs(%{{.*}} : tensor<1x1x1x8xi8>)
// CHECK:           arith.extui
// CHECK:         %[[BB:.*]] = bufferization.to_buffer %[[BYTES]] read_only
// CHECK:         %[[BF:.*]] = memref.collapse_shape %[[BB]] {{.*}} into memref<8xi8>
// CHECK:         scf.parallel
// CHECK:           scf.for
// CHECK:             %[[KEPT:.*]] = vector.gather %[[BF]][%c0] [%{{.*}}], %{{.*}}, %{{.*}} : memref<8xi8>, vector<4xi32>, vector<4xi1>, vector<4xi8> into vector<4xi8>
// CHECK:             %[[COND:.*]] = arith.cmpi ne, %[[KEPT]], %{{.*}} : vector<4xi8>
// CHECK:             arith.select %[[COND]], %{{.*}}, %{{.*}} : vector<4xi1>, vector<4xf32>
// CHECK-NOT:     linalg.batch_matmul
// CHECK:         return
#map = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#map1 = affine_map<(d0, d1, d2, d3) -> (d0, d1, 0, d3)>
#map2 = affine_map<(d0, d1, d2, d3) -> (d2, d3)>
#map3 = affine_map<(d0, d1, d2, d3) -> ()>
#map4 = affine_map<(d0, d1, d2, d3) -> (d0, 0, d2, d3)>
#map5 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#map6 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>
module {
  func.func @importer_tw(%arg0: tensor<1x8x8xf32> {onnx.name = "query"}, %arg1: tensor<1x8x8xf32> {onnx.name = "key"}, %arg2: tensor<1x8x8xf32> {onnx.name = "value"}, %arg3: tensor<1x8xi64> {onnx.name = "attention_mask"}) -> tensor<1x8x8xf32> attributes {llvm.emit_c_interface} {
    %cst = arith.constant dense<-3.40282347E+38> : tensor<f32>
    %cst_0 = arith.constant dense<2.000000e+00> : tensor<f32>
    %cst_1 = arith.constant dense<[[true, true, false, false, false, false, false, false], [true, true, true, false, false, false, false, false], [false, true, true, true, false, false, false, false], [false, false, true, true, true, false, false, false], [false, false, false, true, true, true, false, false], [false, false, false, false, true, true, true, false], [false, false, false, false, false, true, true, true], [false, false, false, false, false, false, true, true]]> : tensor<8x8xi1>
    %expanded = tensor.expand_shape %arg3 [[0], [1, 2, 3]] output_shape [1, 1, 1, 8] : tensor<1x8xi64> into tensor<1x1x1x8xi64>
    %0 = tensor.empty() : tensor<1x1x1x8xi1>
    %1 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded : tensor<1x1x1x8xi64>) outs(%0 : tensor<1x1x1x8xi1>) {
    ^bb0(%in: i64, %out: i1):
      %c0_i64 = arith.constant 0 : i64
      %30 = arith.cmpi ne, %in, %c0_i64 : i64
      linalg.yield %30 : i1
    } -> tensor<1x1x1x8xi1>
    %2 = tensor.empty() : tensor<1x1x8x8xi1>
    %3 = linalg.generic {indexing_maps = [#map1, #map2, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%1, %cst_1 : tensor<1x1x1x8xi1>, tensor<8x8xi1>) outs(%2 : tensor<1x1x8x8xi1>) {
    ^bb0(%in: i1, %in_20: i1, %out: i1):
      %30 = arith.andi %in, %in_20 : i1
      linalg.yield %30 : i1
    } -> tensor<1x1x8x8xi1>
    %expanded_2 = tensor.expand_shape %arg0 [[0], [1], [2, 3]] output_shape [1, 8, 2, 4] : tensor<1x8x8xf32> into tensor<1x8x2x4xf32>
    %4 = tensor.empty() : tensor<1x2x8x4xf32>
    %transposed = linalg.transpose ins(%expanded_2 : tensor<1x8x2x4xf32>) outs(%4 : tensor<1x2x8x4xf32>) permutation = [0, 2, 1, 3] 
    %expanded_3 = tensor.expand_shape %arg1 [[0], [1], [2, 3]] output_shape [1, 8, 2, 4] : tensor<1x8x8xf32> into tensor<1x8x2x4xf32>
    %5 = tensor.empty() : tensor<1x2x4x8xf32>
    %transposed_4 = linalg.transpose ins(%expanded_3 : tensor<1x8x2x4xf32>) outs(%5 : tensor<1x2x4x8xf32>) permutation = [0, 2, 3, 1] 
    %expanded_5 = tensor.expand_shape %arg2 [[0], [1], [2, 3]] output_shape [1, 8, 2, 4] : tensor<1x8x8xf32> into tensor<1x8x2x4xf32>
    %6 = tensor.empty() : tensor<1x2x8x4xf32>
    %transposed_6 = linalg.transpose ins(%expanded_5 : tensor<1x8x2x4xf32>) outs(%6 : tensor<1x2x8x4xf32>) permutation = [0, 2, 1, 3] 
    %collapsed = tensor.collapse_shape %transposed [[0, 1], [2], [3]] : tensor<1x2x8x4xf32> into tensor<2x8x4xf32>
    %collapsed_7 = tensor.collapse_shape %transposed_4 [[0, 1], [2], [3]] : tensor<1x2x4x8xf32> into tensor<2x4x8xf32>
    %cst_8 = arith.constant 0.000000e+00 : f32
    %7 = tensor.empty() : tensor<2x8x8xf32>
    %8 = linalg.fill ins(%cst_8 : f32) outs(%7 : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
    %9 = linalg.batch_matmul ins(%collapsed, %collapsed_7 : tensor<2x8x4xf32>, tensor<2x4x8xf32>) outs(%8 : tensor<2x8x8xf32>) -> tensor<2x8x8xf32>
    %expanded_9 = tensor.expand_shape %9 [[0, 1], [2], [3]] output_shape [1, 2, 8, 8] : tensor<2x8x8xf32> into tensor<1x2x8x8xf32>
    %10 = tensor.empty() : tensor<1x2x8x8xf32>
    %11 = linalg.generic {indexing_maps = [#map, #map3, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%expanded_9, %cst_0 : tensor<1x2x8x8xf32>, tensor<f32>) outs(%10 : tensor<1x2x8x8xf32>) {
    ^bb0(%in: f32, %in_20: f32, %out: f32):
      %30 = arith.divf %in, %in_20 : f32
      linalg.yield %30 : f32
    } -> tensor<1x2x8x8xf32>
    %12 = tensor.empty() : tensor<1x2x8x8xf32>
    %13 = linalg.generic {indexing_maps = [#map4, #map, #map3, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%3, %11, %cst : tensor<1x1x8x8xi1>, tensor<1x2x8x8xf32>, tensor<f32>) outs(%12 : tensor<1x2x8x8xf32>) {
    ^bb0(%in: i1, %in_20: f32, %in_21: f32, %out: f32):
      %30 = arith.select %in, %in_20, %in_21 : f32
      linalg.yield %30 : f32
    } -> tensor<1x2x8x8xf32>
    %cst_10 = arith.constant 0xFF800000 : f32
    %14 = tensor.empty() : tensor<1x2x8xf32>
    %15 = linalg.fill ins(%cst_10 : f32) outs(%14 : tensor<1x2x8xf32>) -> tensor<1x2x8xf32>
    %16 = linalg.generic {indexing_maps = [#map, #map5], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%13 : tensor<1x2x8x8xf32>) outs(%15 : tensor<1x2x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %30 = arith.maximumf %out, %in : f32
      linalg.yield %30 : f32
    } -> tensor<1x2x8xf32>
    %expanded_11 = tensor.expand_shape %16 [[0], [1], [2, 3]] output_shape [1, 2, 8, 1] : tensor<1x2x8xf32> into tensor<1x2x8x1xf32>
    %17 = tensor.empty() : tensor<1x2x8x8xf32>
    %18 = linalg.generic {indexing_maps = [#map, #map6, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%13, %expanded_11 : tensor<1x2x8x8xf32>, tensor<1x2x8x1xf32>) outs(%17 : tensor<1x2x8x8xf32>) {
    ^bb0(%in: f32, %in_20: f32, %out: f32):
      %30 = arith.subf %in, %in_20 : f32
      linalg.yield %30 : f32
    } -> tensor<1x2x8x8xf32>
    %19 = tensor.empty() : tensor<1x2x8x8xf32>
    %20 = linalg.generic {indexing_maps = [#map, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%18 : tensor<1x2x8x8xf32>) outs(%19 : tensor<1x2x8x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %30 = math.exp %in : f32
      linalg.yield %30 : f32
    } -> tensor<1x2x8x8xf32>
    %cst_12 = arith.constant 0.000000e+00 : f32
    %21 = tensor.empty() : tensor<1x2x8xf32>
    %22 = linalg.fill ins(%cst_12 : f32) outs(%21 : tensor<1x2x8xf32>) -> tensor<1x2x8xf32>
    %23 = linalg.generic {indexing_maps = [#map, #map5], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%20 : tensor<1x2x8x8xf32>) outs(%22 : tensor<1x2x8xf32>) {
    ^bb0(%in: f32, %out: f32):
      %30 = arith.addf %out, %in : f32
      linalg.yield %30 : f32
    } -> tensor<1x2x8xf32>
    %expanded_13 = tensor.expand_shape %23 [[0], [1], [2, 3]] output_shape [1, 2, 8, 1] : tensor<1x2x8xf32> into tensor<1x2x8x1xf32>
    %24 = tensor.empty() : tensor<1x2x8x8xf32>
    %25 = linalg.generic {indexing_maps = [#map, #map6, #map], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%20, %expanded_13 : tensor<1x2x8x8xf32>, tensor<1x2x8x1xf32>) outs(%24 : tensor<1x2x8x8xf32>) {
    ^bb0(%in: f32, %in_20: f32, %out: f32):
      %30 = arith.divf %in, %in_20 : f32
      linalg.yield %30 : f32
    } -> tensor<1x2x8x8xf32>
    %collapsed_14 = tensor.collapse_shape %25 [[0, 1], [2], [3]] : tensor<1x2x8x8xf32> into tensor<2x8x8xf32>
    %collapsed_15 = tensor.collapse_shape %transposed_6 [[0, 1], [2], [3]] : tensor<1x2x8x4xf32> into tensor<2x8x4xf32>
    %cst_16 = arith.constant 0.000000e+00 : f32
    %26 = tensor.empty() : tensor<2x8x4xf32>
    %27 = linalg.fill ins(%cst_16 : f32) outs(%26 : tensor<2x8x4xf32>) -> tensor<2x8x4xf32>
    // expected-remark @below {{sparse attention: 2 x 8 queries x 8 keys, the mask allows 22 of 64 scores per head (0.344), up to 3 per query, 1 run-time mask(s)}}
    %28 = linalg.batch_matmul ins(%collapsed_14, %collapsed_15 : tensor<2x8x8xf32>, tensor<2x8x4xf32>) outs(%27 : tensor<2x8x4xf32>) -> tensor<2x8x4xf32>
    %expanded_17 = tensor.expand_shape %28 [[0, 1], [2], [3]] output_shape [1, 2, 8, 4] : tensor<2x8x4xf32> into tensor<1x2x8x4xf32>
    %29 = tensor.empty() : tensor<1x8x2x4xf32>
    %transposed_18 = linalg.transpose ins(%expanded_17 : tensor<1x2x8x4xf32>) outs(%29 : tensor<1x8x2x4xf32>) permutation = [0, 2, 1, 3] 
    %collapsed_19 = tensor.collapse_shape %transposed_18 [[0], [1], [2, 3]] : tensor<1x8x2x4xf32> into tensor<1x8x8xf32>
    return %collapsed_19 : tensor<1x8x8xf32>
  }
}
// -----

// A user's single head: linalg.matmul with the maps of Q K^T for K given
// as rows ([keys, depth], read in place), the scale a captured constant,
// the mask a sparse bool constant applied by select, linalg.softmax.
#q = affine_map<(m, n, k) -> (m, k)>
#k = affine_map<(m, n, k) -> (n, k)>
#s = affine_map<(m, n, k) -> (m, n)>
#id = affine_map<(i, j) -> (i, j)>
// CHECK-LABEL: func.func @single_head(
// CHECK-SAME:      %[[Q:[^:]+]]: tensor<8x4xf32>, %[[K:[^:]+]]: tensor<8x4xf32>, %[[V:[^:]+]]: tensor<8x4xf32>
// CHECK-DAG:     arith.constant dense<[0, 1, 3, 4, 6, 7, 8, 9, 11]> : tensor<9xi32>
// CHECK-DAG:     arith.constant dense<[0, 0, 1, 2, 0, 3, 4, 5, 6, 0, 7]> : tensor<11xi32>
// CHECK-DAG:     %[[KB:.*]] = bufferization.to_buffer %[[K]] read_only
// CHECK-NOT:     linalg.transpose
// CHECK:         scf.parallel
// K's rows are 4 apart.
// CHECK:           scf.for
// CHECK:             arith.muli %{{.*}}, %c4
// CHECK:             arith.mulf %{{.*}}, %{{.*}} : vector<4xf32>
// CHECK-NOT:     linalg.softmax
// CHECK-NOT:     linalg.matmul
// CHECK:         return
func.func @single_head(%q: tensor<8x4xf32>, %k: tensor<8x4xf32>,
                       %v: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %zero = arith.constant 0.0 : f32
  %lowest = arith.constant -3.40282347E+38 : f32
  %scale = arith.constant 0.5 : f32
  %allowed = arith.constant sparse<[[0, 0], [1, 0], [1, 1], [2, 2], [3, 0],
      [3, 3], [4, 4], [5, 5], [6, 6], [7, 0], [7, 7]], true> : tensor<8x8xi1>
  %empty = tensor.empty() : tensor<8x8xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<8x8xf32>) -> tensor<8x8xf32>
  %scores = linalg.matmul indexing_maps = [#q, #k, #s]
      ins(%q, %k : tensor<8x4xf32>, tensor<8x4xf32>)
      outs(%init : tensor<8x8xf32>) -> tensor<8x8xf32>
  %scaled = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%scores : tensor<8x8xf32>) outs(%empty : tensor<8x8xf32>) {
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %scale : f32
    linalg.yield %m : f32
  } -> tensor<8x8xf32>
  %masked = linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%allowed, %scaled : tensor<8x8xi1>, tensor<8x8xf32>) outs(%empty : tensor<8x8xf32>) {
  ^bb0(%c: i1, %a: f32, %o: f32):
    %m = arith.select %c, %a, %lowest : f32
    linalg.yield %m : f32
  } -> tensor<8x8xf32>
  %probs = linalg.softmax dimension(1) ins(%masked : tensor<8x8xf32>)
      outs(%empty : tensor<8x8xf32>) -> tensor<8x8xf32>
  %ce = tensor.empty() : tensor<8x4xf32>
  %cinit = linalg.fill ins(%zero : f32) outs(%ce : tensor<8x4xf32>) -> tensor<8x4xf32>
  // expected-remark @below {{sparse attention: 1 x 8 queries x 8 keys, the mask allows 11 of 64 scores per head (0.172), up to 2 per query}}
  %context = linalg.matmul ins(%probs, %v : tensor<8x8xf32>, tensor<8x4xf32>)
      outs(%cinit : tensor<8x4xf32>) -> tensor<8x4xf32>
  return %context : tensor<8x4xf32>
}

// -----

// K given transposed ([batch, depth, keys], default batch_matmul maps):
// its rows are not contiguous, so it is transposed once. The additive mask
// holds biases besides -10000 where it allows a key (here 0.25 on the
// diagonal): they are kept per stored entry and added.
#id = affine_map<(b, i, j) -> (b, i, j)>
#mask = affine_map<(b, i, j) -> (i, j)>
// CHECK-LABEL: func.func @transposed_keys_with_biases(
// CHECK-SAME:      %[[Q:[^:]+]]: tensor<2x4x4xf32>, %[[KT:[^:]+]]: tensor<2x4x4xf32>
// CHECK-DAG:     %[[K:.*]] = linalg.transpose ins(%[[KT]] : tensor<2x4x4xf32>) outs(%{{.*}} : tensor<2x4x4xf32>) permutation = [0, 2, 1]
// CHECK-DAG:     bufferization.to_buffer %[[K]] read_only
// CHECK-DAG:     %[[BIASES:.*]] = arith.constant dense<[2.500000e-01, 0.000000e+00, 0.000000e+00, 2.500000e-01, 2.500000e-01, 2.500000e-01]> : tensor<6xf32>
// CHECK-DAG:     %[[BB:.*]] = bufferization.to_buffer %[[BIASES]] read_only
// CHECK:         scf.parallel
// CHECK:           vector.maskedload %[[BB]]
// CHECK:           arith.addf %{{.*}}, %{{.*}} : vector<4xf32>
// CHECK-NOT:     linalg.batch_matmul
// CHECK:         return
func.func @transposed_keys_with_biases(%q: tensor<2x4x4xf32>, %kt: tensor<2x4x4xf32>,
                                       %v: tensor<2x4x4xf32>) -> tensor<2x4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %mask = arith.constant dense<[[0.25, 0.0, -1.0e4, -1.0e4], [0.0, 0.25, -1.0e4, -1.0e4],
                                [-1.0e4, -1.0e4, 0.25, -1.0e4], [-1.0e4, -1.0e4, -1.0e4, 0.25]]> : tensor<4x4xf32>
  %empty = tensor.empty() : tensor<2x4x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %scores = linalg.batch_matmul ins(%q, %kt : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %masked = linalg.generic {indexing_maps = [#id, #mask, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%scores, %mask : tensor<2x4x4xf32>, tensor<4x4xf32>) outs(%empty : tensor<2x4x4xf32>) {
  ^bb0(%a: f32, %m: f32, %o: f32):
    %x = arith.addf %a, %m : f32
    linalg.yield %x : f32
  } -> tensor<2x4x4xf32>
  %probs = linalg.softmax dimension(2) ins(%masked : tensor<2x4x4xf32>)
      outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  // expected-remark @below {{sparse attention: 2 x 4 queries x 4 keys, the mask allows 6 of 16 scores per head (0.375), up to 2 per query}}
  %context = linalg.batch_matmul ins(%probs, %v : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %context : tensor<2x4x4xf32>
}

// -----

// A mask too dense for max-density (0.5) is rewritten when the scores
// product asks for it; a mask row without any key (row 2) has a softmax
// over every key in the dense graph (select by false everywhere: all
// float min), so such rows run densely.
#id = affine_map<(b, i, j) -> (b, i, j)>
#mask = affine_map<(b, i, j) -> (i, j)>
// CHECK-LABEL: func.func @forced_with_empty_row(
// CHECK:         arith.constant dense<[0, 4, 8, 8, 12]> : tensor<5xi32>
// CHECK:         scf.parallel
// CHECK:           %[[REGULAR:.*]] = arith.cmpf ogt, %{{.*}}, %{{.*}} : f32
// CHECK:           scf.if %[[REGULAR]] {
// CHECK:           } else {
// CHECK:             memref.alloca() : memref<4xf32>
// CHECK:           }
// CHECK-NOT:     linalg.batch_matmul
// CHECK:         return
func.func @forced_with_empty_row(%q: tensor<2x4x4xf32>, %kt: tensor<2x4x4xf32>,
                                 %v: tensor<2x4x4xf32>) -> tensor<2x4x4xf32> {
  %zero = arith.constant 0.0 : f32
  %lowest = arith.constant -3.40282347E+38 : f32
  %allowed = arith.constant dense<[[true, true, true, true], [true, true, true, true],
                                   [false, false, false, false], [true, true, true, true]]> : tensor<4x4xi1>
  %empty = tensor.empty() : tensor<2x4x4xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %scores = linalg.batch_matmul {sparse_opt.attention = "sparse"}
      ins(%q, %kt : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  %masked = linalg.generic {indexing_maps = [#mask, #id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%allowed, %scores : tensor<4x4xi1>, tensor<2x4x4xf32>) outs(%empty : tensor<2x4x4xf32>) {
  ^bb0(%c: i1, %a: f32, %o: f32):
    %x = arith.select %c, %a, %lowest : f32
    linalg.yield %x : f32
  } -> tensor<2x4x4xf32>
  %probs = linalg.softmax dimension(2) ins(%masked : tensor<2x4x4xf32>)
      outs(%empty : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  // expected-remark @below {{sparse attention: 2 x 4 queries x 4 keys, the mask allows 12 of 16 scores per head (0.750), up to 4 per query}}
  %context = linalg.batch_matmul ins(%probs, %v : tensor<2x4x4xf32>, tensor<2x4x4xf32>)
      outs(%init : tensor<2x4x4xf32>) -> tensor<2x4x4xf32>
  return %context : tensor<2x4x4xf32>
}
