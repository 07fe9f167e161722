// RUN: sparse-opt --sparse-opt-csr-kernels="vector-length=16 dot-vector-length=16 n-tile=4 prefetch-distance=0 k-block=0" %s | FileCheck %s
// RUN: sparse-opt --sparse-opt-csr-kernels="vector-length=16 n-tile=4 k-block=4 row-block=3 k-block-min-nonzeros=2" %s | FileCheck %s --check-prefix=KBLOCK
// RUN: sparse-opt --sparse-opt-csr-kernels="vector-length=16 dot-vector-length=8 n-tile=4 prefetch-distance=0" %s | FileCheck %s --check-prefix=DOT8
// RUN: sparse-opt --sparse-opt-csr-kernels="vector-length=16 n-tile=4 prefetch-distance=3 k-block=0" %s | FileCheck %s --check-prefix=PREFETCH
// RUN: sparse-opt --sparse-opt-csr-kernels="vector-length=4 n-tile=4 prefetch-distance=3 k-block=0" %s | FileCheck %s --check-prefix=NARROW
// RUN: sparse-opt --sparse-opt-csr-kernels="vector-length=0" %s | FileCheck %s --check-prefix=OFF
// RUN: sparse-opt --sparse-opt-csr-kernels="vector-length=16 k-block=0 min-parallel-work=100" %s | FileCheck %s --check-prefix=SERIAL
// RUN: sparse-opt --sparse-opt-csr-kernels="vector-length=16 k-block=4 row-block=3 k-block-min-nonzeros=2 min-parallel-work=0" %s | FileCheck %s --check-prefix=ALWAYS
// RUN: sparse-opt --sparse-opt-csr-kernels="vector-length=16 n-tile=4 k-block=4 row-block=3 k-block-min-nonzeros=2 min-parallel-work=100" %s | FileCheck %s --check-prefix=KSERIAL

#CSR = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed), posWidth = 32, crdWidth = 32 }>
#CSR64 = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
#CSC = #sparse_tensor.encoding<{ map = (d0, d1) -> (d1 : dense, d0 : compressed) }>

// A zero-filled init: C is a fresh buffer, accumulators start at zero, and
// the fill disappears. Tiles: a loop of 4 vectors, then 2, then 1, then a
// masked one.
// CHECK-LABEL: func.func @zero_init(
// CHECK-SAME:      %[[A:.*]]: tensor<8x8xf32, #{{.*}}>, %[[B:.*]]: tensor<8x?xf32>
// CHECK-NOT:     linalg.fill
// CHECK-DAG:     %[[POS:.*]] = sparse_tensor.positions %[[A]] {level = 1 : index} : {{.*}} to memref<?xi32>
// CHECK-DAG:     %[[CRD:.*]] = sparse_tensor.coordinates %[[A]] {level = 1 : index} : {{.*}} to memref<?xi32>
// CHECK-DAG:     %[[VAL:.*]] = sparse_tensor.values %[[A]] : {{.*}} to memref<?xf32>
// CHECK-DAG:     %[[BBUF:.*]] = bufferization.to_buffer %[[B]] read_only : tensor<8x?xf32> to memref<8x?xf32>
// CHECK:         %[[N:.*]] = tensor.dim %[[B]], %{{.*}} : tensor<8x?xf32>
// CHECK:         %[[C:.*]] = memref.alloc(%[[N]]) {alignment = 64 : i64} : memref<8x?xf32>
// CHECK:         %[[LD:.*]] = tensor.dim %[[B]], %{{.*}} : tensor<8x?xf32>
// CHECK:         %[[BFLAT:.*]] = memref.collapse_shape %[[BBUF]] {{\[\[}}0, 1]] : memref<8x?xf32> into memref<?xf32>
// CHECK:         scf.parallel (%[[I:.*]]) =
// CHECK:           %[[LO32:.*]] = memref.load %[[POS]][%[[I]]] : memref<?xi32>
// CHECK:           %[[LO:.*]] = arith.index_castui %[[LO32]] : i32 to index
// CHECK:           %[[HI:.*]] = arith.index_castui %{{.*}} : i32 to index
// CHECK:           scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %c64 {
// CHECK:             %[[ACC:.*]]:4 = scf.for %[[K:.*]] = %[[LO]] to %[[HI]] step %{{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// CHECK:               %[[COL32:.*]] = memref.load %[[CRD]][%[[K]]] : memref<?xi32>
// CHECK:               %[[COL:.*]] = arith.index_castui %[[COL32]] : i32 to index
// CHECK:               %[[ROWSTART:.*]] = arith.muli %[[COL]], %[[LD]] : index
// CHECK:               %[[BASE:.*]] = arith.addi %[[ROWSTART]], %[[J]] : index
// CHECK:               %[[V:.*]] = memref.load %[[VAL]][%[[K]]] : memref<?xf32>
// CHECK:               %[[VB:.*]] = vector.broadcast %[[V]] : f32 to vector<16xf32>
// CHECK:               %[[B0:.*]] = vector.load %[[BFLAT]][%[[BASE]]] : memref<?xf32>, vector<16xf32>
// CHECK:               vector.fma %[[VB]], %[[B0]], %{{.*}} : vector<16xf32>
// CHECK:               %[[AT1:.*]] = arith.addi %[[BASE]], %c16{{.*}} : index
// CHECK:               vector.load %[[BFLAT]][%[[AT1]]] : memref<?xf32>, vector<16xf32>
// CHECK-COUNT-3:       vector.fma
// CHECK:               scf.yield
// CHECK:             vector.store %[[ACC]]#0, %[[C]][%[[I]], %[[J]]]
// CHECK-COUNT-3:     vector.store
// The narrower tail tiles (2 vectors, 1, one masked) take the row's
// non-zeros two (n-tile / 2) or four (n-tile / 1, at most 4) at a time,
// each into its own accumulators, then sum them and add the rest one by
// one.
// CHECK:           arith.cmpi uge, %{{.*}}, %c32
// CHECK:           scf.if
// CHECK:             %[[PAIRS:.*]]:4 = scf.for {{.*}} step %c2{{[_0-9]*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK-COUNT-4:       vector.fma
// CHECK:             %[[SUM0:.*]] = arith.addf %[[PAIRS]]#0, %[[PAIRS]]#2 : vector<16xf32>
// CHECK:             %[[SUM1:.*]] = arith.addf %[[PAIRS]]#1, %[[PAIRS]]#3 : vector<16xf32>
// CHECK:             scf.for {{.*}} step %c1{{[_0-9]*}} iter_args(%{{.*}} = %[[SUM0]], %{{.*}} = %[[SUM1]]) -> (vector<16xf32>, vector<16xf32>)
// CHECK:           arith.cmpi uge, %{{.*}}, %c16
// CHECK:           scf.if
// CHECK:             scf.for {{.*}} step %c4{{[_0-9]*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK-COUNT-3:     arith.addf
// CHECK:             scf.for {{.*}} step %c1{{[_0-9]*}} iter_args({{.*}}) -> (vector<16xf32>)
// CHECK:           arith.cmpi ugt
// CHECK:           scf.if
// CHECK:             %[[MASK:.*]] = vector.create_mask %{{.*}} : vector<16xi1>
// CHECK:             scf.for {{.*}} step %c4{{[_0-9]*}}
// CHECK:             scf.for
// CHECK:               vector.maskedload %[[BFLAT]][%{{.*}}], %[[MASK]], %{{.*}}
// CHECK:             vector.maskedstore %[[C]][%[[I]], %{{.*}}], %[[MASK]]
// CHECK:         %[[R:.*]] = bufferization.to_tensor %[[C]] restrict writable : memref<8x?xf32> to tensor<8x?xf32>
// CHECK:         return %[[R]]

// K blocking, chosen at run time: nnz x k-block >= min x M x K, nnz > 0,
// a full tile of columns (N >= 64) and K > k-block; rows in parallel blocks
// of row-block, a cursor per row; per full tile and K block, each row adds
// its non-zeros with columns below the block's end, starting from zero in
// the first block and from C after it.
// The K-blocked loop over row blocks and the row loop both have serial
// twins.
// KSERIAL-LABEL: func.func @zero_init(
// KSERIAL:         scf.parallel
// KSERIAL:         } {sparse_opt.serial_fallback}
// KSERIAL:         scf.parallel
// KSERIAL:         } {sparse_opt.serial_fallback}
// KSERIAL-LABEL: func.func @accumulate(
// KBLOCK-LABEL: func.func @zero_init(
// KBLOCK-DAG:     %[[POS:.*]] = sparse_tensor.positions
// KBLOCK-DAG:     %[[CRD:.*]] = sparse_tensor.coordinates
// KBLOCK-DAG:     %[[VAL:.*]] = sparse_tensor.values
// KBLOCK:         %[[C:.*]] = memref.alloc(%{{.*}}) {alignment = 64 : i64} : memref<8x?xf32>
// KBLOCK:         %[[NNZ32:.*]] = memref.load %[[POS]][%c8] : memref<?xi32>
// KBLOCK:         %[[NNZ:.*]] = arith.index_castui %[[NNZ32]] : i32 to index
// KBLOCK:         %[[PERBLOCK:.*]] = arith.muli %[[NNZ]], %c4 : index
// KBLOCK:         %[[MK:.*]] = arith.muli %c8, %c8{{.*}} : index
// KBLOCK:         %[[NEEDED:.*]] = arith.muli %[[MK]], %c2 : index
// KBLOCK:         arith.cmpi uge, %[[PERBLOCK]], %[[NEEDED]] : index
// KBLOCK:         arith.cmpi ugt, %[[NNZ]], %{{.*}} : index
// KBLOCK:         arith.cmpi uge, %{{.*}}, %c64 : index
// KBLOCK:         arith.andi
// KBLOCK:         %[[USE:.*]] = arith.andi
// KBLOCK:         scf.if %[[USE]] {
// Rows per block: min(row-block, ceil(M / 8)), at least 1.
// KBLOCK:           %[[EIGHTH:.*]] = arith.ceildivui %c8, %c8{{.*}} : index
// KBLOCK:           %[[CAPPED:.*]] = arith.minui %c3, %[[EIGHTH]] : index
// KBLOCK:           %[[ROWS:.*]] = arith.maxui %c1{{.*}}, %[[CAPPED]] : index
// KBLOCK:           %[[BLOCKS:.*]] = arith.ceildivui %c8, %[[ROWS]] : index
// KBLOCK:           scf.parallel (%[[RB:.*]]) = (%{{.*}}) to (%[[BLOCKS]])
// KBLOCK:             %[[FIRST:.*]] = arith.muli %[[RB]], %[[ROWS]] : index
// KBLOCK:             %[[CURSORS:.*]] = memref.alloca() : memref<3xindex>
// KBLOCK:             scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %c64
// KBLOCK:               scf.for
// KBLOCK:                 memref.store %{{.*}}, %[[CURSORS]]
// KBLOCK:               scf.for %[[K0:.*]] = %{{.*}} to %c8{{.*}} step %c4
// KBLOCK:                 %[[KEND:.*]] = arith.addi %[[K0]], %c4
// KBLOCK:                 %[[ISFIRST:.*]] = arith.cmpi eq, %[[K0]], %{{.*}} : index
// KBLOCK:                 scf.for %[[I:.*]] = %[[FIRST]] to
// Where the row two ahead (at most the block's last) resumes: two lines of
// its values and one of its coordinates prefetched.
// KBLOCK:                   %[[SLOT:.*]] = arith.subi %[[I]], %[[FIRST]]
// KBLOCK:                   %[[AHEAD:.*]] = arith.addi %[[SLOT]], %c2
// KBLOCK:                   %[[CLAMPED:.*]] = arith.minui %[[AHEAD]],
// KBLOCK:                   %[[RESUME:.*]] = memref.load %[[CURSORS]][%[[CLAMPED]]]
// KBLOCK:                   memref.prefetch %[[VAL]][%[[RESUME]]], read, locality<3>, data
// KBLOCK:                   %[[NEXTLINE:.*]] = arith.addi %[[RESUME]], %c16
// KBLOCK:                   memref.prefetch %[[VAL]][%[[NEXTLINE]]], read, locality<3>, data
// KBLOCK:                   memref.prefetch %[[CRD]][%[[RESUME]]], read, locality<3>, data
// KBLOCK:                   %[[BEGIN:.*]] = memref.load %[[CURSORS]]
// KBLOCK:                   %[[START:.*]]:4 = scf.if %[[ISFIRST]] -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>) {
// KBLOCK:                   } else {
// KBLOCK:                     vector.load %[[C]][%[[I]], %[[J]]]
// KBLOCK:                   %[[LOOP:.*]]:6 = scf.while ({{.*}} = %[[BEGIN]], {{.*}} = %[[START]]#0,
// KBLOCK:                     memref.load %[[CRD]]
// KBLOCK:                     arith.cmpi ult, %{{.*}}, %[[KEND]] : index
// KBLOCK:                     scf.condition
// KBLOCK:                   } do {
// KBLOCK-COUNT-4:             vector.fma
// KBLOCK:                   vector.store %[[LOOP]]#2, %[[C]][%[[I]], %[[J]]]
// KBLOCK:                   memref.store %[[LOOP]]#0, %[[CURSORS]]
// Tail columns after the full tiles, per row; the cursors are on the
// stack (the pipeline's buffer deallocation takes no deallocs in its input).
// KBLOCK:             scf.for
// KBLOCK:               vector.create_mask
// KBLOCK-NOT:         memref.dealloc
// KBLOCK:         } else {
// KBLOCK:           scf.parallel

// Each non-zero prefetches the tile's lines of the B row three non-zeros
// ahead, clamped to the last coordinate: one line per 16-float vector...
// PREFETCH-LABEL: func.func @zero_init(
// PREFETCH-DAG:     %[[CRD:.*]] = sparse_tensor.coordinates
// PREFETCH-DAG:     %[[BFLAT:.*]] = memref.collapse_shape
// PREFETCH:         scf.parallel
// PREFETCH:           %[[COUNT:.*]] = memref.dim %[[CRD]], %{{.*}} : memref<?xi32>
// PREFETCH:           %[[LAST:.*]] = arith.subi %[[COUNT]], %{{.*}} : index
// PREFETCH:           scf.for %[[K:[^ ]*]] = {{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// PREFETCH:             memref.load %[[CRD]][%[[K]]]
// PREFETCH:             %[[AHEAD:.*]] = arith.addi %[[K]], %c3 : index
// PREFETCH:             %[[POS:.*]] = arith.minui %[[AHEAD]], %[[LAST]] : index
// PREFETCH:             %[[ROW32:.*]] = memref.load %[[CRD]][%[[POS]]] : memref<?xi32>
// PREFETCH:             %[[ROW:.*]] = arith.index_castui %[[ROW32]] : i32 to index
// PREFETCH:             %[[ROWSTART:.*]] = arith.muli %[[ROW]], %{{.*}} : index
// PREFETCH:             %[[AT:.*]] = arith.addi %[[ROWSTART]], %{{.*}} : index
// PREFETCH:             memref.prefetch %[[BFLAT]][%[[AT]]], read, locality<3>, data : memref<?xf32>
// PREFETCH-COUNT-3:     memref.prefetch %[[BFLAT]][%{{.*}}], read, locality<3>, data : memref<?xf32>
// PREFETCH-NOT:         memref.prefetch
// PREFETCH:             scf.yield

// ...and one per four 4-float vectors.
// NARROW-LABEL: func.func @zero_init(
// NARROW:         scf.for {{.*}} -> (vector<4xf32>, vector<4xf32>, vector<4xf32>, vector<4xf32>)
// NARROW-COUNT-1:   memref.prefetch
// NARROW-NOT:       memref.prefetch
// NARROW:           vector.fma

// Dot products have their own width; SpMM tiles keep theirs.
// DOT8-LABEL: func.func @zero_init(
// DOT8:         vector.gather {{.*}} : memref<?xf32>, vector<8xi32>, vector<8xi1>, vector<8xf32> into vector<8xf32>
// DOT8:         vector.shuffle {{.*}} [0, 2, 4, 6, 8, 10, 12, 14] : vector<8xf32>, vector<8xf32>
// DOT8:         vector.maskedstore {{.*}} : memref<?xf32>, vector<8xi1>, vector<8xf32>
// DOT8:       } else {
// DOT8:         vector.fma {{.*}} : vector<16xf32>

// OFF-LABEL: func.func @zero_init(
// OFF:         linalg.matmul
func.func @zero_init(%a: tensor<8x8xf32, #CSR>, %b: tensor<8x?xf32>) -> tensor<8x?xf32> {
  %c1 = arith.constant 1 : index
  %n = tensor.dim %b, %c1 : tensor<8x?xf32>
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty(%n) : tensor<8x?xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<8x?xf32>) -> tensor<8x?xf32>
  %c = linalg.matmul ins(%a, %b : tensor<8x8xf32, #CSR>, tensor<8x?xf32>)
      outs(%init : tensor<8x?xf32>) -> tensor<8x?xf32>
  return %c : tensor<8x?xf32>
}

// Any other init is accumulated into: C starts as its buffer and the
// accumulators are loaded from it. 64-bit and f64: 8 lanes.
// CHECK-LABEL: func.func @accumulate(
// CHECK-SAME:      %{{.*}}: tensor<8x8xf64, #{{.*}}>, %{{.*}}: tensor<8x32xf64>, %[[INIT:.*]]: tensor<8x32xf64>
// CHECK:         sparse_tensor.positions {{.*}} to memref<?xindex>
// CHECK:         %[[C:.*]] = bufferization.to_buffer %[[INIT]] : tensor<8x32xf64> to memref<8x32xf64>
// A static N > 1 needs no dot-product path.
// CHECK:         scf.parallel (%[[I:.*]]) =
// CHECK-NOT:       vector.gather
// CHECK:           scf.for %[[J:.*]] =
// CHECK:             %[[C0:.*]] = vector.load %[[C]][%[[I]], %[[J]]] : memref<8x32xf64>, vector<8xf64>
// CHECK:             scf.for {{.*}} iter_args(%{{.*}} = %[[C0]],
// CHECK:               vector.fma {{.*}} : vector<8xf64>
// SpMM: stored values x ceil(N / lanes) steps (f64: 8 lanes, N = 32).
// SERIAL-LABEL: func.func @accumulate(
// SERIAL:         %[[NNZ:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<?xf64>
// SERIAL:         %[[VECTORS:.*]] = arith.ceildivui %{{.*}}, %{{.*}} : index
// SERIAL:         %[[STEPS:.*]] = arith.muli %[[NNZ]], %[[VECTORS]] : index
// SERIAL:         %[[WORTH:.*]] = arith.cmpi uge, %[[STEPS]], %{{.*}} : index
// SERIAL:         scf.if %[[WORTH]] {
// SERIAL-NEXT:      scf.parallel
// SERIAL:             vector.fma {{.*}} : vector<8xf64>
// SERIAL:         } else {
// SERIAL-NEXT:      scf.for
// SERIAL:             vector.fma {{.*}} : vector<8xf64>
// SERIAL:         } {sparse_opt.serial_fallback}
func.func @accumulate(%a: tensor<8x8xf64, #CSR64>, %b: tensor<8x32xf64>,
                      %init: tensor<8x32xf64>) -> tensor<8x32xf64> {
  %c = linalg.matmul ins(%a, %b : tensor<8x8xf64, #CSR64>, tensor<8x32xf64>)
      outs(%init : tensor<8x32xf64>) -> tensor<8x32xf64>
  return %c : tensor<8x32xf64>
}

// SpMV: a dot product per row, rows in groups of 8: each row's products
// add up in a vector of its own, the group's 8 lane sums are reduced
// together with even/odd lane shuffles (7 pairs for 8 rows of 16 lanes,
// then one to fold 16 lanes to 8) and stored as one vector, here added to
// the non-zero init; the mask covers the rows of a last partial group.
// CHECK-LABEL: func.func @spmv(
// CHECK-SAME:      %{{.*}}: tensor<8x300xf32, #{{.*}}>, %[[X:.*]]: tensor<300xf32>, %[[INIT:.*]]: tensor<8xf32>
// CHECK-DAG:     %[[XBUF:.*]] = bufferization.to_buffer %[[X]] read_only : tensor<300xf32> to memref<300xf32>
// CHECK-DAG:     %[[Y:.*]] = bufferization.to_buffer %[[INIT]] : tensor<8xf32> to memref<8xf32>
// CHECK:         %[[GROUPS:.*]] = arith.ceildivui %c8, %c8{{.*}} : index
// CHECK:         scf.parallel (%[[G:.*]]) = (%{{.*}}) to (%[[GROUPS]])
// CHECK:           %[[FIRST:.*]] = arith.muli %[[G]], %c8{{.*}} : index
// CHECK-COUNT-8:   vector.gather %[[XBUF]]
// CHECK-COUNT-7:   vector.shuffle %{{.*}}, %{{.*}} [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30] : vector<16xf32>, vector<16xf32>
// CHECK:           vector.shuffle %{{.*}}, %{{.*}} [0, 2, 4, 6, 8, 10, 12, 14] : vector<16xf32>, vector<16xf32>
// CHECK:           %[[SUMS:.*]] = arith.addf %{{.*}}, %{{.*}} : vector<8xf32>
// CHECK:           %[[MASK:.*]] = vector.create_mask %{{.*}} : vector<8xi1>
// CHECK:           %[[OLD:.*]] = vector.maskedload %[[Y]][%[[FIRST]]], %[[MASK]]
// CHECK:           %[[SUM:.*]] = arith.addf %[[OLD]], %[[SUMS]] : vector<8xf32>
// CHECK:           vector.maskedstore %[[Y]][%[[FIRST]]], %[[MASK]], %[[SUM]]
// The serial twin (min-parallel-work): the row loop runs in parallel only
// when the call has at least that many vector steps (stored values, one
// gathered lane each, for SpMV), else the same body in an scf.for.
// SERIAL-LABEL: func.func @spmv(
// SERIAL:         %[[VAL:.*]] = sparse_tensor.values
// SERIAL:         %[[NNZ:.*]] = memref.dim %[[VAL]], %{{.*}} : memref<?xf32>
// SERIAL:         %[[MIN:.*]] = arith.constant 100 : index
// SERIAL:         %[[WORTH:.*]] = arith.cmpi uge, %[[NNZ]], %[[MIN]] : index
// SERIAL:         scf.if %[[WORTH]] {
// SERIAL-NEXT:      scf.parallel (%{{.*}}) =
// SERIAL:             vector.gather
// SERIAL:             vector.maskedstore
// SERIAL:             scf.reduce
// SERIAL:         } else {
// SERIAL-NEXT:      scf.for %{{.*}} = %{{.*}} to %{{.*}} step %{{.*}} {
// SERIAL:             vector.gather
// SERIAL:             vector.maskedstore
// SERIAL:         } {sparse_opt.serial_fallback}
// ALWAYS-LABEL: func.func @spmv(
// ALWAYS-NOT:     sparse_opt.serial_fallback
// ALWAYS:         scf.parallel
// ALWAYS-NOT:     sparse_opt.serial_fallback
// ALWAYS-LABEL: func.func @single_column(
func.func @spmv(%a: tensor<8x300xf32, #CSR>, %x: tensor<300xf32>,
                %init: tensor<8xf32>) -> tensor<8xf32> {
  %y = linalg.matvec ins(%a, %x : tensor<8x300xf32, #CSR>, tensor<300xf32>)
      outs(%init : tensor<8xf32>) -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// Narrow coordinates are zero-extended before gathering when a column
// index may not fit their signed range (300 columns, 8-bit coordinates).
// CHECK-LABEL: func.func @spmv_narrow_coordinates(
// CHECK:         %[[COLS:.*]] = vector.load %{{.*}} : memref<?xi8>, vector<16xi8>
// CHECK:         %[[WIDE:.*]] = arith.extui %[[COLS]] : vector<16xi8> to vector<16xi64>
// CHECK:         vector.gather %{{.*}} [%[[WIDE]]]
#CSR8 = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed), crdWidth = 8 }>
func.func @spmv_narrow_coordinates(%a: tensor<8x300xf32, #CSR8>, %x: tensor<300xf32>,
                                   %init: tensor<8xf32>) -> tensor<8xf32> {
  %y = linalg.matvec ins(%a, %x : tensor<8x300xf32, #CSR8>, tensor<300xf32>)
      outs(%init : tensor<8xf32>) -> tensor<8xf32>
  return %y : tensor<8xf32>
}

// A static N = 1 only has the dot-product path, into C's only column.
// CHECK-LABEL: func.func @single_column(
// CHECK:         %[[CFLAT:.*]] = memref.collapse_shape %{{.*}} {{\[\[}}0, 1]] : memref<8x1xf32> into memref<8xf32>
// CHECK:         scf.parallel
// CHECK-NOT:       scf.if %{{.*}} {
// CHECK:           vector.gather
// CHECK:           vector.maskedstore %[[CFLAT]]
// CHECK-NOT:       vector.broadcast
// CHECK:         bufferization.to_tensor
func.func @single_column(%a: tensor<8x8xf32, #CSR>, %b: tensor<8x1xf32>)
    -> tensor<8x1xf32> {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<8x1xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<8x1xf32>) -> tensor<8x1xf32>
  %c = linalg.matmul ins(%a, %b : tensor<8x8xf32, #CSR>, tensor<8x1xf32>)
      outs(%init : tensor<8x1xf32>) -> tensor<8x1xf32>
  return %c : tensor<8x1xf32>
}

// Not CSR x dense: left to the sparsifier.
// CHECK-LABEL: func.func @csc(
// CHECK:         linalg.matmul
func.func @csc(%a: tensor<8x8xf32, #CSC>, %b: tensor<8x4xf32>,
               %init: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %c = linalg.matmul ins(%a, %b : tensor<8x8xf32, #CSC>, tensor<8x4xf32>)
      outs(%init : tensor<8x4xf32>) -> tensor<8x4xf32>
  return %c : tensor<8x4xf32>
}

// CHECK-LABEL: func.func @dense(
// CHECK:         linalg.matmul
func.func @dense(%a: tensor<8x8xf32>, %b: tensor<8x4xf32>,
                 %init: tensor<8x4xf32>) -> tensor<8x4xf32> {
  %c = linalg.matmul ins(%a, %b : tensor<8x8xf32>, tensor<8x4xf32>)
      outs(%init : tensor<8x4xf32>) -> tensor<8x4xf32>
  return %c : tensor<8x4xf32>
}

// CHECK-LABEL: func.func @integer(
// CHECK:         linalg.matmul
func.func @integer(%a: tensor<8x8xi32, #CSR>, %b: tensor<8x4xi32>,
                   %init: tensor<8x4xi32>) -> tensor<8x4xi32> {
  %c = linalg.matmul ins(%a, %b : tensor<8x8xi32, #CSR>, tensor<8x4xi32>)
      outs(%init : tensor<8x4xi32>) -> tensor<8x4xi32>
  return %c : tensor<8x4xi32>
}

// SDDMM in the sparsifier's form: each stored (i, j) of S becomes a dot
// product of row i of Q and row j of K, written over S's values.
#SDDMM = {
  indexing_maps = [
    affine_map<(i,j,k) -> (i,k)>,
    affine_map<(i,j,k) -> (j,k)>,
    affine_map<(i,j,k) -> (i,j)>
  ],
  iterator_types = ["parallel", "parallel", "reduction"]
}
// CHECK-LABEL: func.func @sddmm(
// CHECK-SAME:      %[[Q:.*]]: tensor<8x40xf32>, %[[K:.*]]: tensor<6x40xf32>, %[[S:.*]]: tensor<8x6xf32, #{{.*}}>
// CHECK-DAG:     %[[POS:.*]] = sparse_tensor.positions %[[S]] {level = 1 : index}
// CHECK-DAG:     %[[CRD:.*]] = sparse_tensor.coordinates %[[S]] {level = 1 : index}
// CHECK-DAG:     %[[QB:.*]] = bufferization.to_buffer %[[Q]] read_only
// CHECK-DAG:     %[[KB:.*]] = bufferization.to_buffer %[[K]] read_only
// CHECK-DAG:     %[[VALS:.*]] = sparse_tensor.values %[[S]]
// CHECK-NOT:     memref.alloc
// With a static depth (40 = 16 + 16 + 8), row i of Q is loaded once per row,
// the last vector masked, and kept in registers across the row's entries.
// CHECK:         scf.parallel (%[[I:.*]]) =
// CHECK:           %[[Q0:.*]] = vector.load %[[QB]][%[[I]], %{{.*}}] : memref<8x40xf32>, vector<16xf32>
// CHECK:           %[[Q1:.*]] = vector.load %[[QB]][%[[I]], %{{.*}}] : memref<8x40xf32>, vector<16xf32>
// CHECK:           %[[TAIL:.*]] = vector.constant_mask [8] : vector<16xi1>
// CHECK:           %[[Q2:.*]] = vector.maskedload %[[QB]][%[[I]], %{{.*}}], %[[TAIL]]
// Entries in groups of 8: eight lane-wise products, their lanes summed
// together by even/odd shuffles (7 pair folds of 16 lanes, then 16 -> 8),
// one vector store of the 8 scores.
// CHECK:           scf.for %[[G:[^ ]*]] = %{{.*}} to %[[GEND:[^ ]*]] step %c8
// CHECK-COUNT-8:     vector.maskedload %[[KB]]
// CHECK-COUNT-7:     vector.shuffle %{{.*}}, %{{.*}} [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30] : vector<16xf32>, vector<16xf32>
// CHECK:             %[[S:.*]] = vector.shuffle %[[SUM:.*]], %[[SUM]] [0, 2, 4, 6, 8, 10, 12, 14] : vector<16xf32>, vector<16xf32>
// CHECK:             %[[SUMS:.*]] = arith.addf %[[S]], %{{.*}} : vector<8xf32>
// CHECK:             vector.store %[[SUMS]], %[[VALS]][%[[G]]] : memref<?xf32>, vector<8xf32>
// The rest one entry at a time.
// CHECK:           scf.for %[[P:[^ ]*]] = %[[GEND]] to
// CHECK:             %[[J32:.*]] = memref.load %[[CRD]][%[[P]]]
// CHECK:             %[[J:.*]] = arith.index_castui %[[J32]]
// CHECK:             %[[K0:.*]] = vector.load %[[KB]][%[[J]], %{{.*}}] : memref<6x40xf32>, vector<16xf32>
// CHECK:             %[[A0:.*]] = vector.fma %[[Q0]], %[[K0]], %{{.*}} : vector<16xf32>
// CHECK:             %[[K1:.*]] = vector.load %[[KB]][%[[J]], %{{.*}}]
// CHECK:             %[[A1:.*]] = vector.fma %[[Q1]], %[[K1]], %[[A0]]
// CHECK:             %[[K2:.*]] = vector.maskedload %[[KB]][%[[J]], %{{.*}}], %[[TAIL]]
// CHECK:             %[[A2:.*]] = vector.fma %[[Q2]], %[[K2]], %[[A1]]
// CHECK:             %[[DOT:.*]] = vector.reduction <add>, %[[A2]]
// CHECK:             memref.store %[[DOT]], %[[VALS]][%[[P]]] : memref<?xf32>
// CHECK-DAG:     %[[POST:.*]] = bufferization.to_tensor %[[POS]] restrict
// CHECK-DAG:     %[[CRDT:.*]] = bufferization.to_tensor %[[CRD]] restrict
// CHECK-DAG:     %[[VALT:.*]] = bufferization.to_tensor %[[VALS]] restrict
// CHECK:         %[[R:.*]] = sparse_tensor.assemble (%[[POST]], %[[CRDT]]), %[[VALT]]
// CHECK:         return %[[R]]
// SDDMM: stored entries x ceil(D / lanes) steps (D = 40: 3 vectors).
// SERIAL-LABEL: func.func @sddmm(
// SERIAL:         %[[NNZ:.*]] = memref.dim %{{.*}}, %{{.*}} : memref<?xf32>
// SERIAL:         %[[STEPS:.*]] = arith.muli %[[NNZ]], %{{.*}} : index
// SERIAL:         %[[WORTH:.*]] = arith.cmpi uge, %[[STEPS]], %{{.*}} : index
// SERIAL:         scf.if %[[WORTH]] {
// SERIAL-NEXT:      scf.parallel
// SERIAL:         } else {
// SERIAL-NEXT:      scf.for
// SERIAL:         } {sparse_opt.serial_fallback}
func.func @sddmm(%q: tensor<8x40xf32>, %k: tensor<6x40xf32>,
                 %s: tensor<8x6xf32, #CSR>) -> tensor<8x6xf32, #CSR> {
  %r = linalg.generic #SDDMM ins(%q, %k : tensor<8x40xf32>, tensor<6x40xf32>)
      outs(%s : tensor<8x6xf32, #CSR>) {
    ^bb0(%a: f32, %b: f32, %x: f32):
      %f0 = arith.constant 0.0 : f32
      %u = sparse_tensor.unary %x : f32 to f32
        present={
          ^bb0(%p: f32):
            %m = arith.mulf %a, %b : f32
            sparse_tensor.yield %m : f32
        }
        absent={}
      %sum = sparse_tensor.reduce %x, %u, %f0 : f32 {
        ^bb0(%p: f32, %t: f32):
          %add = arith.addf %p, %t : f32
          sparse_tensor.yield %add : f32
      }
      linalg.yield %sum : f32
  } -> tensor<8x6xf32, #CSR>
  return %r : tensor<8x6xf32, #CSR>
}

// A dynamic depth loops over it: full vectors, a masked tail, a reduction.
// CHECK-LABEL: func.func @sddmm_dynamic_depth(
// CHECK:         scf.parallel (%[[I:.*]]) =
// CHECK:           scf.for
// CHECK:             scf.for {{.*}} -> (vector<16xf32>)
// CHECK:               vector.load
// CHECK:               vector.load
// CHECK:               vector.fma
// CHECK:             scf.if
// CHECK:               vector.maskedload
// CHECK:               vector.maskedload
// CHECK:             vector.reduction <add>
// CHECK:         sparse_tensor.assemble
func.func @sddmm_dynamic_depth(%q: tensor<8x?xf32>, %k: tensor<6x?xf32>,
                               %s: tensor<8x6xf32, #CSR>) -> tensor<8x6xf32, #CSR> {
  %r = linalg.generic #SDDMM ins(%q, %k : tensor<8x?xf32>, tensor<6x?xf32>)
      outs(%s : tensor<8x6xf32, #CSR>) {
    ^bb0(%a: f32, %b: f32, %x: f32):
      %f0 = arith.constant 0.0 : f32
      %u = sparse_tensor.unary %x : f32 to f32
        present={
          ^bb0(%p: f32):
            %m = arith.mulf %b, %a : f32
            sparse_tensor.yield %m : f32
        }
        absent={}
      %sum = sparse_tensor.reduce %x, %u, %f0 : f32 {
        ^bb0(%p: f32, %t: f32):
          %add = arith.addf %t, %p : f32
          sparse_tensor.yield %add : f32
      }
      linalg.yield %sum : f32
  } -> tensor<8x6xf32, #CSR>
  return %r : tensor<8x6xf32, #CSR>
}

// A different body (here the product is subtracted) is left alone.
// CHECK-LABEL: func.func @sddmm_other_body(
// CHECK:         linalg.generic
// CHECK-NOT:     sparse_tensor.assemble
func.func @sddmm_other_body(%q: tensor<8x40xf32>, %k: tensor<6x40xf32>,
                            %s: tensor<8x6xf32, #CSR>) -> tensor<8x6xf32, #CSR> {
  %r = linalg.generic #SDDMM ins(%q, %k : tensor<8x40xf32>, tensor<6x40xf32>)
      outs(%s : tensor<8x6xf32, #CSR>) {
    ^bb0(%a: f32, %b: f32, %x: f32):
      %f0 = arith.constant 0.0 : f32
      %u = sparse_tensor.unary %x : f32 to f32
        present={
          ^bb0(%p: f32):
            %m = arith.mulf %a, %b : f32
            sparse_tensor.yield %m : f32
        }
        absent={}
      %sum = sparse_tensor.reduce %x, %u, %f0 : f32 {
        ^bb0(%p: f32, %t: f32):
          %sub = arith.subf %p, %t : f32
          sparse_tensor.yield %sub : f32
      }
      linalg.yield %sum : f32
  } -> tensor<8x6xf32, #CSR>
  return %r : tensor<8x6xf32, #CSR>
}
