// RUN: sparse-opt --sparse-opt-bsr-kernels="vector-length=16 n-tile=8 accumulator-registers=8 prefetch-distance=0" --canonicalize --cse %s | FileCheck %s
// RUN: sparse-opt --sparse-opt-bsr-kernels="vector-length=16 n-tile=8 accumulator-registers=8 prefetch-distance=2" %s | FileCheck %s --check-prefix=PREFETCH
// RUN: sparse-opt --sparse-opt-bsr-kernels="vector-length=0" %s | FileCheck %s --check-prefix=OFF
// RUN: not sparse-opt --sparse-opt-bsr-kernels="n-tile=3" %s 2>&1 | FileCheck %s --check-prefix=BADTILE
// RUN: sparse-opt --sparse-opt-bsr-kernels="vector-length=16 n-tile=8 accumulator-registers=8 prefetch-distance=0 k-block=64 row-block=16" --canonicalize --cse %s | FileCheck %s --check-prefix=KBLOCK
// RUN: sparse-opt --sparse-opt-bsr-kernels="vector-length=16 n-tile=8 accumulator-registers=8 k-block=64 row-block=16 min-parallel-work=100" %s | FileCheck %s --check-prefix=SERIAL

#BSR24 = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 floordiv 2 : dense, d1 floordiv 4 : compressed, d0 mod 2 : dense, d1 mod 4 : dense), posWidth = 32, crdWidth = 32 }>
#BSR41 = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 floordiv 4 : dense, d1 : compressed, d0 mod 4 : dense) }>
#BSR14 = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 floordiv 4 : compressed, d1 mod 4 : dense) }>
#CSR = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>

// 2 x 4 blocks, a zero-filled init: block rows run in parallel. With N = 1
// at run time, one 8-lane vector per block (its values times x[4 columns]
// repeated for both rows) and two 4-lane sums. Otherwise tiles of 4 vectors
// (2 rows x 4 vectors = the 8 accumulator registers): for each of the
// block's 4 columns, the tile's 4 B vectors are loaded once and used by both
// rows, each row broadcasting its value.
// CHECK-LABEL: func.func @spmm(
// CHECK-SAME:      %[[A:.*]]: tensor<8x16xf32, #{{.*}}>, %[[B:.*]]: tensor<16x?xf32>
// CHECK-NOT:     linalg.fill
// CHECK:         %[[LVL:.*]] = sparse_tensor.reinterpret_map %[[A]] : tensor<8x16xf32, #{{.*}}> to tensor<4x4x2x4xf32, #{{.*}}>
// CHECK-DAG:     %[[POS:.*]] = sparse_tensor.positions %[[LVL]] {level = 1 : index}
// CHECK-DAG:     %[[CRD:.*]] = sparse_tensor.coordinates %[[LVL]] {level = 1 : index}
// CHECK-DAG:     %[[VAL:.*]] = sparse_tensor.values %[[LVL]]
// CHECK:         %[[C:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<8x?xf32>
// CHECK:         %[[BFLAT:.*]] = memref.collapse_shape
// CHECK:         scf.parallel (%[[I:.*]]) = (%c0) to (%c4) step (%c1) {
// CHECK:           scf.if
// CHECK:             scf.for {{.*}} -> (vector<8xf32>) {
// CHECK:               vector.load %[[VAL]][%{{.*}}] : memref<?xf32>, vector<8xf32>
// CHECK:               %[[X:.*]] = vector.load %[[BFLAT]][%{{.*}}] : memref<?xf32>, vector<4xf32>
// CHECK:               vector.shuffle %[[X]], %[[X]] [0, 1, 2, 3, 0, 1, 2, 3]
// CHECK:               vector.fma {{.*}} : vector<8xf32>
// CHECK-COUNT-2:     vector.reduction <add>, %{{.*}} : vector<4xf32> into f32
// CHECK:           } else {
// CHECK:             scf.for %[[J:.*]] = %c0 to %{{.*}} step %c64 {
// CHECK:               scf.for %[[K:[^ ]*]] = {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// CHECK:                 memref.load %[[CRD]][%[[K]]] : memref<?xi32>
// CHECK-COUNT-4:         vector.load %[[BFLAT]]
// CHECK-NOT:             vector.load
// CHECK:                 vector.broadcast
// CHECK-COUNT-4:         vector.fma
// CHECK:                 vector.broadcast
// CHECK-COUNT-4:         vector.fma
// CHECK-COUNT-4:         vector.load %[[BFLAT]]
// CHECK-NOT:             vector.load
// CHECK:                 vector.broadcast
// CHECK-COUNT-4:         vector.fma
// CHECK:                 scf.yield
// CHECK-COUNT-8:       vector.store {{.*}}, %[[C]]
// Then tiles of 2 and 1 vectors, and a masked one.
// CHECK:             scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK:             scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>)
// CHECK:             vector.create_mask %{{.*}} : vector<16xi1>
// CHECK:             vector.maskedload %[[BFLAT]]
// CHECK:             vector.maskedstore %[[C]]

// Each block prefetches the tile's lines of the 4 B rows of the block two
// ahead: 4 rows x 4 vectors.
// PREFETCH-LABEL: func.func @spmm(
// PREFETCH:         scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// PREFETCH:           arith.minui
// PREFETCH-COUNT-16:  memref.prefetch
// PREFETCH-NOT:       memref.prefetch
// PREFETCH:           vector.load

// OFF-LABEL: func.func @spmm(
// OFF:         linalg.matmul
// SERIAL-LABEL: func.func @spmm(
// SERIAL:         %[[NNZ:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<?x{{.*}}>
// SERIAL:         arith.cmpi uge, %{{.*}}, %{{.*}} : index
// SERIAL:         scf.parallel
// SERIAL:         } else {
// SERIAL:         } {sparse_opt.serial_fallback}
func.func @spmm(%a: tensor<8x16xf32, #BSR24>, %b: tensor<16x?xf32>) -> tensor<8x?xf32> {
  %c1 = arith.constant 1 : index
  %n = tensor.dim %b, %c1 : tensor<16x?xf32>
  %e = tensor.empty(%n) : tensor<8x?xf32>
  %z = arith.constant 0.0 : f32
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<8x?xf32>) -> tensor<8x?xf32>
  %r = linalg.matmul ins(%a, %b : tensor<8x16xf32, #BSR24>, tensor<16x?xf32>) outs(%f : tensor<8x?xf32>) -> tensor<8x?xf32>
  return %r : tensor<8x?xf32>
}


// 4 x 1 blocks (no level for the single column) and an init accumulated
// into: 4 rows x 2 vectors of accumulators start from C and go back to it.
// CHECK-LABEL: func.func @spmm_accumulate(
// CHECK-SAME:      %{{.*}}: tensor<16x8xf32, #{{.*}}>, %{{.*}}: tensor<8x32xf32>, %[[INIT:.*]]: tensor<16x32xf32>
// CHECK:         %[[C:.*]] = bufferization.to_buffer %[[INIT]] : tensor<16x32xf32> to memref<16x32xf32>
// CHECK:         scf.parallel
// CHECK-COUNT-8:   vector.load %[[C]]
// CHECK:           scf.for {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK-COUNT-8:   vector.store %{{.*}}, %[[C]]
func.func @spmm_accumulate(%a: tensor<16x8xf32, #BSR41>, %b: tensor<8x32xf32>, %c: tensor<16x32xf32>) -> tensor<16x32xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<16x8xf32, #BSR41>, tensor<8x32xf32>) outs(%c : tensor<16x32xf32>) -> tensor<16x32xf32>
  return %r : tensor<16x32xf32>
}


// SpMV with 4 x 1 blocks: the accumulator is the 4 results, one vector store.
// CHECK-LABEL: func.func @spmv_rows(
// CHECK:         %[[Y:.*]] = memref.alloc() {alignment = 64 : i64} : memref<16xf32>
// CHECK:         scf.parallel (%[[I:.*]]) =
// CHECK:           %[[SUM:.*]] = scf.for {{.*}} -> (vector<4xf32>) {
// CHECK:             vector.load %{{.*}} : memref<?xf32>, vector<4xf32>
// CHECK:             vector.broadcast %{{.*}} : f32 to vector<4xf32>
// CHECK:             vector.fma
// CHECK:           vector.store %[[SUM]], %[[Y]][%{{.*}}] : memref<16xf32>, vector<4xf32>
// SERIAL-LABEL: func.func @spmv_rows(
// SERIAL:         %[[NNZ:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<?x{{.*}}>
// SERIAL:         arith.cmpi uge, %{{.*}}, %{{.*}} : index
// SERIAL:         scf.parallel
// SERIAL:         } else {
// SERIAL:         } {sparse_opt.serial_fallback}
func.func @spmv_rows(%a: tensor<16x8xf32, #BSR41>, %x: tensor<8xf32>) -> tensor<16xf32> {
  %e = tensor.empty() : tensor<16xf32>
  %z = arith.constant 0.0 : f32
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<16xf32>) -> tensor<16xf32>
  %r = linalg.matvec ins(%a, %x : tensor<16x8xf32, #BSR41>, tensor<8xf32>) outs(%f : tensor<16xf32>) -> tensor<16xf32>
  return %r : tensor<16xf32>
}


// SpMV with 1 x 4 blocks: 4 lanes per block, one sum per block row.
// CHECK-LABEL: func.func @spmv_cols(
// CHECK:         scf.parallel
// CHECK:           scf.for {{.*}} -> (vector<4xf32>)
// CHECK:             vector.fma
// CHECK:           vector.reduction <add>, %{{.*}} : vector<4xf32> into f32
// CHECK-NOT:       vector.reduction
// CHECK:           memref.store
func.func @spmv_cols(%a: tensor<16x8xf32, #BSR14>, %x: tensor<8xf32>) -> tensor<16xf32> {
  %e = tensor.empty() : tensor<16xf32>
  %z = arith.constant 0.0 : f32
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<16xf32>) -> tensor<16xf32>
  %r = linalg.matvec ins(%a, %x : tensor<16x8xf32, #BSR14>, tensor<8xf32>) outs(%f : tensor<16xf32>) -> tensor<16xf32>
  return %r : tensor<16xf32>
}


// The sparse ABI's assemble is done in level space, then reinterpreted.
// CHECK-LABEL: func.func @assemble(
// CHECK:         %[[L:.*]] = sparse_tensor.assemble {{.*}} to tensor<4x8x4xf32, #{{.*}}>
// CHECK:         %[[T:.*]] = sparse_tensor.reinterpret_map %[[L]] : tensor<4x8x4xf32, #{{.*}}> to tensor<16x8xf32, #{{.*}}>
// CHECK:         return %[[T]]
func.func @assemble(%pos: tensor<?xindex>, %crd: tensor<?xindex>, %val: tensor<?xf32>) -> tensor<16x8xf32, #BSR41> {
  %t = sparse_tensor.assemble (%pos, %crd), %val : (tensor<?xindex>, tensor<?xindex>), tensor<?xf32> to tensor<16x8xf32, #BSR41>
  return %t : tensor<16x8xf32, #BSR41>
}


// Not BSR, or not floats: left alone.
// CHECK-LABEL: func.func @csr_untouched(
// CHECK:         linalg.matmul
func.func @csr_untouched(%a: tensor<8x16xf32, #CSR>, %b: tensor<16x4xf32>, %c: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %r = linalg.matmul ins(%a, %b : tensor<8x16xf32, #CSR>, tensor<16x4xf32>) outs(%c : tensor<8x4xf32>) -> tensor<8x4xf32>
  return %r : tensor<8x4xf32>
}

// CHECK-LABEL: func.func @integer_untouched(
// CHECK:         linalg.matmul

// BADTILE: sparse-opt-bsr-kernels: n-tile must be a power of two, got 3
func.func @integer_untouched(%a: tensor<8x16xi32, #BSR24>, %b: tensor<16x4xi32>, %c: tensor<8x4xi32>) -> tensor<8x4xi32> {
  %r = linalg.matmul ins(%a, %b : tensor<8x16xi32, #BSR24>, tensor<16x4xi32>) outs(%c : tensor<8x4xi32>) -> tensor<8x4xi32>
  return %r : tensor<8x4xi32>
}

// K = 256 in 2 x 4 blocks (64 block columns, 16 per 64-column K block):
// when N holds a full tile (4 vectors) and the block rows average enough
// blocks per K block (stored blocks x 16 >= 32 block rows x 64 x 3), groups
// of block rows (8 of 8 here) run in parallel; for each full tile a cursor
// per block row starts at its first block, and for each K block every block
// row accumulates its blocks below the K block's end (a while loop on the
// cursor) into its 2 x 4 C tile, zero in the first K block and loaded from C
// after. The tail tiles then run per block row.
// KBLOCK-LABEL: func.func @spmm_k_blocked(
// KBLOCK:         %[[POS:.*]] = sparse_tensor.positions
// KBLOCK:         %[[C:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<64x?xf32>
// KBLOCK:         %[[STORED:.*]] = memref.load %[[POS]][%c32]
// KBLOCK:         arith.cmpi ugt, %{{.*}}, %c0
// KBLOCK:         arith.cmpi uge, %{{.*}}, %c64 : index
// KBLOCK:         scf.if %{{.*}} {
// KBLOCK:           scf.parallel (%{{.*}}) = (%c0) to (%c8) step (%c1) {
// KBLOCK:             %[[CURSORS:.*]] = memref.alloca() : memref<8xindex>
// KBLOCK:             scf.for %[[J:.*]] = %c0 to %{{.*}} step %c64 {
// KBLOCK:               memref.store %{{.*}}, %[[CURSORS]]
// KBLOCK:               scf.for %[[KB:.*]] = %c0 to %c64 step %c16 {
// KBLOCK:                 %[[FIRST:.*]] = arith.cmpi eq, %[[KB]], %c0 : index
// KBLOCK:                 scf.for
// KBLOCK:                   memref.load %[[CURSORS]]
// KBLOCK:                   scf.if %[[FIRST]] -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// KBLOCK:                   %[[END:.*]]:9 = scf.while ({{.*}}) : (index, vector<16xf32>, {{.*}}) -> (index, vector<16xf32>, {{.*}}) {
// KBLOCK:                     scf.condition
// KBLOCK:                   } do {
// KBLOCK-COUNT-32:            vector.fma
// KBLOCK:                   }
// KBLOCK-COUNT-8:           vector.store %{{.*}}, %[[C]]
// KBLOCK:                   memref.store %[[END]]#0, %[[CURSORS]]
// KBLOCK:         } else {
// KBLOCK:           scf.parallel (%{{.*}}) = (%c0) to (%c32) step (%c1) {
// SERIAL-LABEL: func.func @spmm_k_blocked(
// SERIAL:         %[[NNZ:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<?x{{.*}}>
// SERIAL:         arith.cmpi uge, %{{.*}}, %{{.*}} : index
// SERIAL:         scf.parallel
// SERIAL:         } else {
// SERIAL:         } {sparse_opt.serial_fallback}
func.func @spmm_k_blocked(%a: tensor<64x256xf32, #BSR24>, %b: tensor<256x?xf32>) -> tensor<64x?xf32> {
  %c1 = arith.constant 1 : index
  %n = tensor.dim %b, %c1 : tensor<256x?xf32>
  %e = tensor.empty(%n) : tensor<64x?xf32>
  %z = arith.constant 0.0 : f32
  %f = linalg.fill ins(%z : f32) outs(%e : tensor<64x?xf32>) -> tensor<64x?xf32>
  %r = linalg.matmul ins(%a, %b : tensor<64x256xf32, #BSR24>, tensor<256x?xf32>) outs(%f : tensor<64x?xf32>) -> tensor<64x?xf32>
  return %r : tensor<64x?xf32>
}
