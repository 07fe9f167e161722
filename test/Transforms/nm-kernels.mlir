// RUN: sparse-opt --sparse-opt-nm-kernels="vector-length=16 dot-vector-length=8 n-tile=4 prefetch-distance=0" --canonicalize --cse %s | FileCheck %s
// RUN: sparse-opt --sparse-opt-nm-kernels="vector-length=16 n-tile=4 prefetch-distance=3" %s | FileCheck %s --check-prefix=PREFETCH
// RUN: sparse-opt --sparse-opt-nm-kernels="vector-length=0" %s | FileCheck %s --check-prefix=OFF
// RUN: sparse-opt --sparse-opt-nm-kernels="vector-length=16 n-tile=4 prefetch-distance=0 k-block=64 row-block=16" --canonicalize --cse %s | FileCheck %s --check-prefix=KBLOCK
// RUN: sparse-opt --sparse-opt-nm-kernels="vector-length=16 n-tile=4 prefetch-distance=0 k-block=0" --canonicalize --cse %s | FileCheck %s --check-prefix=NOKBLOCK
// RUN: sparse-opt --sparse-opt-nm-kernels="vector-length=16 n-tile=4 k-block=64 row-block=16 min-parallel-work=100" %s | FileCheck %s --check-prefix=SERIAL

#NV24 = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 floordiv 4 : dense, d1 mod 4 : structured[2, 4]), posWidth = 32, crdWidth = 32 }>
#NV38 = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 floordiv 8 : dense, d1 mod 8 : structured[3, 8]) }>
#CSR = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>

// 2:4, a zero-filled init, rows in parallel. N = 1 at run time: one 8-lane
// dot product per row over its 8 kept values, columns (kept / 2) * 4 +
// offset gathered from B. Otherwise tiles of 4 vectors over a loop of the
// row's 4 groups (static trip count, no row pointers) with the group's 2
// kept values unrolled.
// CHECK-LABEL: func.func @spmm(
// CHECK-SAME:      %[[A:.*]]: tensor<8x16xf32, #{{.*}}>, %[[B:.*]]: tensor<16x?xf32>
// CHECK-NOT:     linalg.fill
// CHECK:         %[[LVL:.*]] = sparse_tensor.reinterpret_map %[[A]] : tensor<8x16xf32, #{{.*}}> to tensor<8x4x4xf32, #{{.*}}>
// CHECK:         %[[OFFSETS:.*]] = sparse_tensor.coordinates %[[LVL]] {level = 2 : index} : {{.*}} to memref<?xi32>
// CHECK:         %[[VAL:.*]] = sparse_tensor.values %[[LVL]]
// CHECK-NOT:     sparse_tensor.positions
// CHECK:         %[[C:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<8x?xf32>
// CHECK:         %[[BFLAT:.*]] = memref.collapse_shape
// CHECK:         scf.parallel (%[[I:.*]]) = (%c0) to (%c8) step (%c1) {
// CHECK:           scf.if
// CHECK:             scf.for {{.*}} -> (vector<8xf32>) {
// CHECK:               arith.divui %{{.*}}, %{{.*}} : vector<8xindex>
// CHECK:               %[[O:.*]] = vector.load %[[OFFSETS]][%{{.*}}] : memref<?xi32>, vector<8xi32>
// CHECK:               vector.gather %[[BFLAT]]
// CHECK:               vector.fma {{.*}} : vector<8xf32>
// CHECK:             vector.reduction <add>
// CHECK:           } else {
// CHECK:             scf.for %[[J:.*]] = %c0 to %{{.*}} step %c64 {
// CHECK:               scf.for %{{.*}} = %c0 to %c4 step %c1 iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// CHECK:                 memref.load %[[OFFSETS]]
// CHECK:                 memref.load %[[VAL]]
// CHECK:                 vector.broadcast
// CHECK-COUNT-4:         vector.fma
// CHECK:                 memref.load %[[OFFSETS]]
// CHECK:                 memref.load %[[VAL]]
// CHECK:                 vector.broadcast
// CHECK-COUNT-4:         vector.fma
// CHECK-NOT:             memref.load
// CHECK:                 scf.yield
// CHECK-COUNT-4:       vector.store {{.*}}, %[[C]]
// The 2-vector tail tile: each group's first kept value into one pair of
// accumulators, the second into another (two sets: n-tile / 2 vectors,
// at most N = 2), the pairs summed before the store.
// CHECK:             scf.for %{{.*}} = %c0 to %c4 step %c1 iter_args(%[[S0:[^ ]*]] = {{.*}}, %[[S1:[^ ]*]] = {{.*}}, %[[T0:[^ ]*]] = {{.*}}, %[[T1:[^ ]*]] = {{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// CHECK:               vector.fma {{.*}}, %[[S0]] : vector<16xf32>
// CHECK:               vector.fma {{.*}}, %[[S1]] : vector<16xf32>
// CHECK:               vector.fma {{.*}}, %[[T0]] : vector<16xf32>
// CHECK:               vector.fma {{.*}}, %[[T1]] : vector<16xf32>
// CHECK:               scf.yield
// CHECK:             %[[SUM0:.*]] = arith.addf %[[TAIL:.*]]#0, %[[TAIL]]#2 : vector<16xf32>
// CHECK:             vector.store %[[SUM0]], %[[C]]
// CHECK:             %[[SUM1:.*]] = arith.addf %[[TAIL]]#1, %[[TAIL]]#3 : vector<16xf32>
// CHECK:             vector.store %[[SUM1]], %[[C]]
// CHECK:             vector.create_mask %{{.*}} : vector<16xi1>
// CHECK:             vector.maskedload %[[BFLAT]]
// CHECK:             vector.maskedstore %[[C]]

// Each group prefetches the tile's line of the B row of the kept value three
// ahead, clamped to the last one: one per 16-float vector.
// PREFETCH-LABEL: func.func @spmm(
// PREFETCH:         scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// PREFETCH:           arith.minui
// PREFETCH-COUNT-4:   memref.prefetch
// PREFETCH-NOT:       memref.prefetch
// PREFETCH:           vector.fma

// OFF-LABEL: func.func @spmm(
// OFF:         linalg.matmul
// SERIAL-LABEL: func.func @spmm(
// SERIAL:         %[[NNZ:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<?x{{.*}}>
// SERIAL:         arith.cmpi uge, %{{.*}}, %{{.*}} : index
// SERIAL:         scf.parallel
// SERIAL:         } else {
// SERIAL:         } {sparse_opt.serial_fallback}
func.func @spmm(%a: tensor<8x16xf32, #NV24>, %b: tensor<16x?xf32>) -> tensor<8x?xf32> {
  %c1 = arith.constant 1 : index
  %n = tensor.dim %b, %c1 : tensor<16x?xf32>
  %e = tensor.empty(%n) : tensor<8x?xf32>
  %z = arith.constant 0.0 : f32
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<8x?xf32>) -> tensor<8x?xf32>
  %r = linalg.matmul ins(%a, %b : tensor<8x16xf32, #NV24>, tensor<16x?xf32>) outs(%f : tensor<8x?xf32>) -> tensor<8x?xf32>
  return %r : tensor<8x?xf32>
}


// 3:8 with 16 columns: 6 kept values per row, one masked 8-lane vector with
// static lanes; the init is accumulated into.
// CHECK-LABEL: func.func @spmv(
// CHECK:         scf.parallel (%[[I:.*]]) =
// CHECK:           %[[MASK:.*]] = vector.constant_mask [6] : vector<8xi1>
// CHECK:           vector.maskedload %{{.*}}, %[[MASK]]
// CHECK:           vector.gather {{.*}}, %[[MASK]]
// CHECK:           vector.fma
// CHECK:           vector.reduction <add>
// CHECK:           arith.addf
// CHECK:           memref.store
// SERIAL-LABEL: func.func @spmv(
// SERIAL:         %[[NNZ:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<?x{{.*}}>
// SERIAL:         arith.cmpi uge, %{{.*}}, %{{.*}} : index
// SERIAL:         scf.parallel
// SERIAL:         } else {
// SERIAL:         } {sparse_opt.serial_fallback}
func.func @spmv(%a: tensor<8x16xf32, #NV38>, %x: tensor<16xf32>, %y: tensor<8xf32>) -> tensor<8xf32> {
  %r = linalg.matvec ins(%a, %x : tensor<8x16xf32, #NV38>, tensor<16xf32>) outs(%y : tensor<8xf32>) -> tensor<8xf32>
  return %r : tensor<8xf32>
}


// Not N:M, or not the plain product: left alone.
// CHECK-LABEL: func.func @csr_untouched(
// CHECK:         linalg.matvec
func.func @csr_untouched(%a: tensor<8x16xf32, #CSR>, %x: tensor<16xf32>, %y: tensor<8xf32>) -> tensor<8xf32> {
  %r = linalg.matvec ins(%a, %x : tensor<8x16xf32, #CSR>, tensor<16xf32>) outs(%y : tensor<8xf32>) -> tensor<8xf32>
  return %r : tensor<8xf32>
}

// CHECK-LABEL: func.func @transposed_untouched(
// CHECK:         linalg.matmul
func.func @transposed_untouched(%a: tensor<16x8xf32, #NV24>, %b: tensor<16x4xf32>, %c: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %r = linalg.matmul indexing_maps = [affine_map<(i, j, k) -> (k, i)>, affine_map<(i, j, k) -> (k, j)>, affine_map<(i, j, k) -> (i, j)>]
      ins(%a, %b : tensor<16x8xf32, #NV24>, tensor<16x4xf32>) outs(%c : tensor<8x4xf32>) -> tensor<8x4xf32>
  return %r : tensor<8x4xf32>
}

// K = 256 with 64-column K blocks (16 groups, 32 kept values per row and
// block): when N holds a full tile (64 columns), or two vectors (32) and B
// (256 x N) is more than two K-block panels (2 x 64 x 64), blocks of rows
// (16, or 8 here to leave 8 blocks for the threads) run in parallel; for
// each column tile and K block every row of the block accumulates its 16
// groups into its C tile, which starts at zero in the first K block and
// from C after. Otherwise, the per-row kernel.
// KBLOCK-LABEL: func.func @spmm_k_blocked(
// KBLOCK:         %[[C:.*]] = memref.alloc(%[[N:.*]]) {alignment = 64 : i64} : memref<64x?xf32>
// KBLOCK:         %[[B:.*]] = arith.muli %[[N]], %c256 : index
// KBLOCK:         %[[BEYOND:.*]] = arith.cmpi ugt, %[[B]], %c8192 : index
// KBLOCK:         %[[TWO:.*]] = arith.cmpi uge, %[[N]], %c32 : index
// KBLOCK:         %[[NARROW:.*]] = arith.andi %[[TWO]], %[[BEYOND]] : i1
// KBLOCK:         %[[FULL:.*]] = arith.cmpi uge, %[[N]], %c64 : index
// KBLOCK:         %[[WIDE:.*]] = arith.ori %[[FULL]], %[[NARROW]] : i1
// KBLOCK:         scf.if %[[WIDE]] {
// KBLOCK:           scf.parallel (%{{.*}}) = (%c0) to (%c8) step (%c1) {
// KBLOCK:             scf.for %[[J:.*]] = %c0 to %{{.*}} step %c64 {
// KBLOCK:               scf.for %[[G:.*]] = %c0 to %c64 step %c16 {
// KBLOCK:                 %[[FIRST:.*]] = arith.cmpi eq, %[[G]], %c0 : index
// KBLOCK:                 scf.for %[[ROW:.*]] = %{{.*}} to %[[LAST:.*]] step %c1 {
// The part of this K block the row two ahead (at most the block's last)
// keeps: 32 values and 32 offsets (i32 here), two cache lines each.
// KBLOCK:                   %[[AHEAD:.*]] = arith.addi %[[ROW]], %c2
// KBLOCK:                   %[[BLOCKLAST:.*]] = arith.subi %[[LAST]], %c1
// KBLOCK:                   %[[CLAMPED:.*]] = arith.minui %[[AHEAD]], %[[BLOCKLAST]]
// KBLOCK:                   %[[GROUPS:.*]] = arith.muli %[[CLAMPED]], %c64
// KBLOCK:                   %[[GROUP:.*]] = arith.addi %[[GROUPS]], %[[G]]
// KBLOCK:                   %[[KEPT:.*]] = arith.muli %[[GROUP]], %c2
// KBLOCK:                   memref.prefetch %[[VALS:.*]][%[[KEPT]]], read, locality<3>, data : memref<?xf32>
// KBLOCK:                   %[[LINE:.*]] = arith.addi %[[KEPT]], %c16
// KBLOCK:                   memref.prefetch %[[VALS]][%[[LINE]]], read, locality<3>, data : memref<?xf32>
// KBLOCK:                   memref.prefetch %[[OFFS:.*]][%[[KEPT]]], read, locality<3>, data : memref<?xi32>
// KBLOCK:                   memref.prefetch %[[OFFS]][%[[LINE]]], read, locality<3>, data : memref<?xi32>
// KBLOCK:                   %[[INIT:.*]]:4 = scf.if %[[FIRST]] -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// KBLOCK:                   } else {
// KBLOCK-COUNT-4:             vector.load %[[C]][%[[ROW]], %{{.*}}]
// KBLOCK:                   scf.for %{{.*}} = %[[G]] to %{{.*}} step %c1 iter_args(%{{.*}} = %[[INIT]]#0, {{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// KBLOCK-COUNT-8:             vector.fma
// KBLOCK:                   vector.store %{{.*}}, %[[C]][%[[ROW]], %[[J]]]
// The tail tiles run K-blocked too: here 2 vectors in 2 accumulator sets.
// KBLOCK:           scf.if %{{.*}} {
// KBLOCK:             scf.for %{{.*}} = %c0 to %c64 step %c16 {
// KBLOCK:               scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1 {
// KBLOCK-COUNT-4:         memref.prefetch
// KBLOCK:                 scf.for %{{.*}} = %{{.*}} to %{{.*}} step %c1 iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// KBLOCK:         } else {
// KBLOCK:           scf.parallel (%{{.*}}) = (%c0) to (%c64) step (%c1) {
// NOKBLOCK-LABEL: func.func @spmm_k_blocked(
// NOKBLOCK-NOT:     step %c16
// NOKBLOCK:         scf.parallel (%{{.*}}) = (%c0) to (%c64) step (%c1) {
// SERIAL-LABEL: func.func @spmm_k_blocked(
// SERIAL:         %[[NNZ:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<?x{{.*}}>
// SERIAL:         arith.cmpi uge, %{{.*}}, %{{.*}} : index
// SERIAL:         scf.parallel
// SERIAL:         } else {
// SERIAL:         } {sparse_opt.serial_fallback}
func.func @spmm_k_blocked(%a: tensor<64x256xf32, #NV24>, %b: tensor<256x?xf32>) -> tensor<64x?xf32> {
  %c1 = arith.constant 1 : index
  %n = tensor.dim %b, %c1 : tensor<256x?xf32>
  %e = tensor.empty(%n) : tensor<64x?xf32>
  %z = arith.constant 0.0 : f32
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<64x?xf32>) -> tensor<64x?xf32>
  %r = linalg.matmul ins(%a, %b : tensor<64x256xf32, #NV24>, tensor<256x?xf32>) outs(%f : tensor<64x?xf32>) -> tensor<64x?xf32>
  return %r : tensor<64x?xf32>
}
