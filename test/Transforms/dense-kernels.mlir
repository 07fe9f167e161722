// RUN: sparse-opt %s --sparse-opt-dense-kernels="vector-length=8 tile-rows=6 tile-vectors=2" --canonicalize | FileCheck %s
// RUN: sparse-opt %s --sparse-opt-dense-kernels="vector-length=16 tile-rows=4 tile-vectors=4 parallel-min-flops=0" --canonicalize | FileCheck %s --check-prefix=WIDE
// RUN: sparse-opt %s --sparse-opt-dense-kernels="vector-length=8 parallel=false" --canonicalize | FileCheck %s --check-prefix=SERIAL
// RUN: sparse-opt %s --sparse-opt-dense-kernels="vector-length=0" | FileCheck %s --check-prefix=OFF
// RUN: not sparse-opt %s --sparse-opt-dense-kernels="tile-vectors=3" 2>&1 | FileCheck %s --check-prefix=BAD

// A zero-filled product goes to a fresh buffer; each column tile's B panel
// is packed (rows of 2 x 8 lanes) and the 6 x 2 accumulators stay in
// registers across K: per k two loads from the panel, one broadcast of A
// per row, 12 FMAs. 2 x 64 x 96 x 80 flops is under the parallel threshold.
// CHECK-LABEL: func.func @matmul(
// CHECK:         %[[C:.*]] = memref.alloc() {alignment = 64 : i64} : memref<64x80xf32>
// CHECK:         %[[PANEL:.*]] = memref.alloca() {alignment = 64 : i64} : memref<2048xf32>
// CHECK-NOT:     scf.parallel
// CHECK:         scf.for
// CHECK:           vector.store %{{.*}}, %[[PANEL]]
// CHECK:           scf.for {{.*}} step %c6
// CHECK:             scf.for {{.*}} iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// CHECK-COUNT-2:       vector.load %[[PANEL]]
// CHECK:               memref.load
// CHECK-NEXT:          vector.broadcast %{{.*}} : f32 to vector<8xf32>
// CHECK-NEXT:          vector.fma
// CHECK-NEXT:          vector.fma
// CHECK:         bufferization.to_tensor %[[C]]
// With 16 lanes and 4 x 4 tiles, in parallel at any size.
// WIDE-LABEL: func.func @matmul(
// WIDE:         scf.parallel
// WIDE:           vector.fma %{{.*}} : vector<16xf32>
// OFF-LABEL:  func.func @matmul(
// OFF:          linalg.matmul
func.func @matmul(%a: tensor<64x96xf32>, %b: tensor<96x80xf32>) -> tensor<64x80xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x80xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<64x80xf32>) -> tensor<64x80xf32>
  %r = linalg.matmul ins(%a, %b : tensor<64x96xf32>, tensor<96x80xf32>)
                     outs(%z : tensor<64x80xf32>) -> tensor<64x80xf32>
  return %r : tensor<64x80xf32>
}

// Large enough for threads: (batch, row block, column block) in parallel
// (one row block and one column block here, folded away); K = 300 runs in
// blocks of 128, the first one starting from zero, the others from C.
// N = 50 ends with a masked vector (50 = 3 x 16 + 2).
// CHECK-LABEL: func.func @batched(
// CHECK:         scf.parallel (%{{.*}}) = (%c0) to (%c4)
// CHECK:           scf.for %[[K:.*]] = %c0 to %c300 step %c128
// CHECK:             arith.cmpi eq, %[[K]], %c0
// CHECK:             scf.if
// CHECK:             %[[MASK:.*]] = vector.constant_mask [2] : vector<8xi1>
// CHECK:             vector.maskedload %{{.*}}, %[[MASK]]
// CHECK:             vector.maskedstore %{{.*}}, %[[MASK]]
// SERIAL-LABEL: func.func @batched(
// SERIAL-NOT:     scf.parallel
// SERIAL:         return
func.func @batched(%a: tensor<4x100x300xf32>, %b: tensor<4x300x50xf32>) -> tensor<4x100x50xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<4x100x50xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<4x100x50xf32>) -> tensor<4x100x50xf32>
  %r = linalg.batch_matmul ins(%a, %b : tensor<4x100x300xf32>, tensor<4x300x50xf32>)
                           outs(%z : tensor<4x100x50xf32>) -> tensor<4x100x50xf32>
  return %r : tensor<4x100x50xf32>
}

// An init that is not a zero fill is accumulated into, in its own buffer;
// a single row group (M <= tile-rows) reads B in place, unpacked.
// CHECK-LABEL: func.func @accumulate(
// CHECK:         %[[C:.*]] = bufferization.to_buffer %arg2 : tensor<4x32xf32> to memref<4x32xf32>
// CHECK-NOT:     memref.alloca
// CHECK-NOT:     memref.alloc(
// CHECK:         vector.load %{{.*}} : memref<128xf32>, vector<8xf32>
// CHECK:         bufferization.to_tensor %[[C]]
func.func @accumulate(%a: tensor<4x20xf32>, %b: tensor<20x32xf32>, %c: tensor<4x32xf32>) -> tensor<4x32xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<4x20xf32>, tensor<20x32xf32>)
                     outs(%c : tensor<4x32xf32>) -> tensor<4x32xf32>
  return %r : tensor<4x32xf32>
}

// Dynamic sizes: parallel (the size is unknown), sizes from the operands.
// CHECK-LABEL: func.func @dynamic(
// CHECK:         memref.alloc(%{{.*}}, %{{.*}}) {alignment = 64 : i64} : memref<?x?xf32>
// CHECK:         scf.parallel
func.func @dynamic(%a: tensor<?x?xf32>, %b: tensor<?x?xf32>) -> tensor<?x?xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = tensor.dim %a, %c0 : tensor<?x?xf32>
  %n = tensor.dim %b, %c1 : tensor<?x?xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m, %n) : tensor<?x?xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<?x?xf32>) -> tensor<?x?xf32>
  %r = linalg.matmul ins(%a, %b : tensor<?x?xf32>, tensor<?x?xf32>)
                     outs(%z : tensor<?x?xf32>) -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}

// A stored transposed (K x M): its element (m, k) at k x M + m.
// CHECK-LABEL: func.func @transposed_a(
// CHECK-NOT:     linalg.matmul
// CHECK:         vector.fma
func.func @transposed_a(%a: tensor<20x12xf32>, %b: tensor<20x16xf32>) -> tensor<12x16xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<12x16xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<12x16xf32>) -> tensor<12x16xf32>
  %r = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (k, m)>,
                                      affine_map<(m, n, k) -> (k, n)>,
                                      affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : tensor<20x12xf32>, tensor<20x16xf32>)
      outs(%z : tensor<12x16xf32>) -> tensor<12x16xf32>
  return %r : tensor<12x16xf32>
}

// Left alone: B transposed, integers, mixed element types.
// CHECK-LABEL: func.func @left_alone(
// CHECK:         linalg.matmul indexing_maps
// CHECK:         linalg.matmul ins({{.*}} : tensor<8x8xi32>, tensor<8x8xi32>)
// CHECK:         linalg.matmul ins({{.*}} : tensor<8x8xf16>, tensor<8x8xf16>) outs({{.*}} : tensor<8x8xf32>)
func.func @left_alone(%a: tensor<8x8xf32>, %b: tensor<8x8xf32>, %i: tensor<8x8xi32>,
                      %h: tensor<8x8xf16>, %c: tensor<8x8xf32>, %ci: tensor<8x8xi32>)
    -> (tensor<8x8xf32>, tensor<8x8xi32>, tensor<8x8xf32>) {
  %t = linalg.matmul indexing_maps = [affine_map<(m, n, k) -> (m, k)>,
                                      affine_map<(m, n, k) -> (n, k)>,
                                      affine_map<(m, n, k) -> (m, n)>]
      ins(%a, %b : tensor<8x8xf32>, tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
  %n = linalg.matmul ins(%i, %i : tensor<8x8xi32>, tensor<8x8xi32>) outs(%ci : tensor<8x8xi32>) -> tensor<8x8xi32>
  %m = linalg.matmul ins(%h, %h : tensor<8x8xf16>, tensor<8x8xf16>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
  return %t, %n, %m : tensor<8x8xf32>, tensor<8x8xi32>, tensor<8x8xf32>
}

// BAD: sparse-opt-dense-kernels: tile-vectors must be a power of two and tile-rows, row-block, column-block, k-block positive
