// RUN: sparse-opt --sparse-opt-depthwise-kernels="vector-length=8" --canonicalize --cse %s | FileCheck %s
// RUN: sparse-opt --sparse-opt-depthwise-kernels="vector-length=0" %s | FileCheck %s --check-prefix=OFF

// Stride 2 onto an init: per channel the 9 taps broadcast once; 4-row
// tiles of one vector, each tap's input vector two loads (the second one
// masked short of its last lane) and a shuffle of the even lanes; the
// 2-column rest of each row masked (the test on the rest folds away:
// the sizes are static), its input gathered (column offsets
// 0, 2, ..., 14); 10 rows = two 4-row tiles and two single rows. Small
// enough to stay serial.
// CHECK-LABEL: func.func @stride2(
// CHECK-DAG:     %[[EVENS:.*]] = arith.constant dense<[0, 2, 4, 6, 8, 10, 12, 14]> : vector<8xi32>
// CHECK-DAG:     %[[SHORT:.*]] = arith.constant dense<[true, true, true, true, true, true, true, false]> : vector<8xi1>
// CHECK:         %[[OUT:.*]] = bufferization.to_buffer %{{.*}} : tensor<1x8x10x18xf32> to memref<1x8x10x18xf32>
// CHECK:         %[[IN:.*]] = bufferization.to_buffer %{{.*}} read_only : tensor<1x8x21x37xf32> to memref<1x8x21x37xf32>
// CHECK-NOT:     scf.parallel
// CHECK:         scf.for %[[C:.*]] = %c0 to %c8 step %c1 {
// CHECK-COUNT-9:   vector.broadcast
// CHECK:           scf.for %[[ROW:.*]] = %c0 to %c8 step %c4 {
// CHECK:             scf.for %[[COL:.*]] = %c0 to %c16 step %c8 {
// CHECK-COUNT-4:       vector.load %[[OUT]][%c0, %[[C]], %{{.*}}, %[[COL]]]
// CHECK:               %[[LOW:.*]] = vector.load %[[IN]]
// CHECK:               %[[HIGH:.*]] = vector.maskedload %[[IN]][{{.*}}], %[[SHORT]]
// CHECK:               %[[EVEN:.*]] = vector.shuffle %[[LOW]], %[[HIGH]] [0, 2, 4, 6, 8, 10, 12, 14]
// CHECK:               vector.fma %[[EVEN]]
// CHECK-COUNT-35:      vector.fma
// CHECK-COUNT-4:       vector.store %{{.*}}, %[[OUT]]
// CHECK:             %[[MASK:.*]] = vector.constant_mask [2] : vector<8xi1>
// CHECK:             vector.maskedload %[[OUT]]
// CHECK:             vector.gather %[[IN]][{{.*}}] [%[[EVENS]]], %[[MASK]]
// CHECK:           scf.for %{{.*}} = %c8 to %c10 step %c1 {
// CHECK:         bufferization.to_tensor %[[OUT]] restrict writable
func.func @stride2(%x: tensor<1x8x21x37xf32>, %f: tensor<8x3x3xf32>, %init: tensor<1x8x10x18xf32>) -> tensor<1x8x10x18xf32> {
  %r = linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : tensor<2xi64>, strides = dense<2> : tensor<2xi64>}
    ins(%x, %f : tensor<1x8x21x37xf32>, tensor<8x3x3xf32>) outs(%init : tensor<1x8x10x18xf32>) -> tensor<1x8x10x18xf32>
  return %r : tensor<1x8x10x18xf32>
}

// Stride 1, dilation 2, zero-filled, a dynamic batch: a fresh result sized
// by the input's batch, accumulators from zero (the result never read),
// input vectors plain loads two columns apart, and the (image, channel)
// pairs in parallel (the work is not known).
// CHECK-LABEL: func.func @stride1_zero_filled(
// CHECK-SAME:      %[[X:.*]]: tensor<?x16x60x60xf32>
// CHECK:         %[[N:.*]] = tensor.dim %[[X]], %c0
// CHECK:         %[[OUT:.*]] = memref.alloc(%[[N]]) {alignment = 64 : i64} : memref<?x16x56x56xf32>
// CHECK:         scf.parallel (%{{.*}}, %{{.*}}) = (%c0, %c0) to (%{{.*}}, %c16) step (%c1, %c1) {
// CHECK:           scf.for
// CHECK:             scf.for
// CHECK-NOT:           vector.load %[[OUT]]
// CHECK:               vector.load %{{.*}} : memref<?x16x60x60xf32>, vector<8xf32>
// CHECK-NOT:           vector.gather
// CHECK:               vector.store %{{.*}}, %[[OUT]]
// CHECK-NOT:     linalg.fill
// CHECK:         bufferization.to_tensor %[[OUT]]
func.func @stride1_zero_filled(%x: tensor<?x16x60x60xf32>, %f: tensor<16x3x3xf32>) -> tensor<?x16x56x56xf32> {
  %c0 = arith.constant 0 : index
  %zero = arith.constant 0.0 : f32
  %n = tensor.dim %x, %c0 : tensor<?x16x60x60xf32>
  %e = tensor.empty(%n) : tensor<?x16x56x56xf32>
  %init = linalg.fill ins(%zero : f32) outs(%e : tensor<?x16x56x56xf32>) -> tensor<?x16x56x56xf32>
  %r = linalg.depthwise_conv_2d_nchw_chw {dilations = dense<2> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%x, %f : tensor<?x16x60x60xf32>, tensor<16x3x3xf32>) outs(%init : tensor<?x16x56x56xf32>) -> tensor<?x16x56x56xf32>
  return %r : tensor<?x16x56x56xf32>
}

// Stride 3: every input vector a gather, column offsets 0, 3, ..., 21.
// CHECK-LABEL: func.func @stride3(
// CHECK:         arith.constant dense<[0, 3, 6, 9, 12, 15, 18, 21]> : vector<8xi32>
// CHECK:         vector.gather
// CHECK-NOT:     vector.shuffle
func.func @stride3(%x: tensor<1x2x17x30xf32>, %f: tensor<2x3x5xf32>, %init: tensor<1x2x5x9xf32>) -> tensor<1x2x5x9xf32> {
  %r = linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : tensor<2xi64>, strides = dense<3> : tensor<2xi64>}
    ins(%x, %f : tensor<1x2x17x30xf32>, tensor<2x3x5xf32>) outs(%init : tensor<1x2x5x9xf32>) -> tensor<1x2x5x9xf32>
  return %r : tensor<1x2x5x9xf32>
}

// Dynamic spatial sizes are left to the generic path, as is everything
// with vector-length=0.
// CHECK-LABEL: func.func @dynamic_width(
// CHECK:         linalg.depthwise_conv_2d_nchw_chw
// OFF-LABEL: func.func @stride2(
// OFF:         linalg.depthwise_conv_2d_nchw_chw
func.func @dynamic_width(%x: tensor<1x8x9x?xf32>, %f: tensor<8x3x3xf32>, %init: tensor<1x8x7x?xf32>) -> tensor<1x8x7x?xf32> {
  %r = linalg.depthwise_conv_2d_nchw_chw {dilations = dense<1> : tensor<2xi64>, strides = dense<1> : tensor<2xi64>}
    ins(%x, %f : tensor<1x8x9x?xf32>, tensor<8x3x3xf32>) outs(%init : tensor<1x8x7x?xf32>) -> tensor<1x8x7x?xf32>
  return %r : tensor<1x8x7x?xf32>
}
