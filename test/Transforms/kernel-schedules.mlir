// The kernel passes honour a product's sparse_opt.schedule over their
// pass-wide options (sparse-opt-select-weight-formats writes it from the
// cost model; select-weight-formats-schedule.mlir). Every pass runs with
// its defaults (min-parallel-work 16384, n-tile 8, k-block 64) and 8 lanes;
// a product without the attribute keeps them.
//
// RUN: sparse-opt %s --sparse-opt-csr-kernels="vector-length=8" | FileCheck %s --check-prefix=CSR
// RUN: sparse-opt %s --sparse-opt-bsr-kernels="vector-length=8" | FileCheck %s --check-prefix=BSR
// RUN: sparse-opt %s --sparse-opt-nm-kernels="vector-length=8" | FileCheck %s --check-prefix=NM
// RUN: sparse-opt %s --sparse-opt-dense-kernels="vector-length=8" | FileCheck %s --check-prefix=DENSE
// The whole bufferization stage: the attribute reaches the kernels.
// RUN: sparse-opt %s --sparse-opt-cpu-bufferize="target-cpu=haswell" | FileCheck %s --check-prefix=PIPE

#CSR = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed), posWidth = 32, crdWidth = 32 }>
#BSR = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 floordiv 2 : dense, d1 floordiv 4 : compressed, d0 mod 2 : dense, d1 mod 4 : dense), posWidth = 32, crdWidth = 32 }>
#NM = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 floordiv 4 : dense, d1 mod 4 : structured[2, 4]), posWidth = 32, crdWidth = 32 }>

// No attribute: the pass options (the serial twin at 16384 steps,
// K blocking behind its run-time test with 10 non-zeros per row and block).
// CSR-LABEL: func.func @csr_default(
// CSR:         arith.cmpi uge, %{{.*}}, %c16384 : index
// CSR:         scf.parallel
// CSR:         } {sparse_opt.serial_fallback}
// CSR:         memref.alloca
// PIPE-LABEL: func.func private @_internal_csr_default(
// PIPE:         scf.parallel
func.func @csr_default(%a: tensor<64x256xf32, #CSR>, %b: tensor<256x?xf32>) -> tensor<64x?xf32> {
  %c1 = arith.constant 1 : index
  %n = tensor.dim %b, %c1 : tensor<256x?xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%n) : tensor<64x?xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<64x?xf32>) -> tensor<64x?xf32>
  %r = linalg.matmul ins(%a, %b : tensor<64x256xf32, #CSR>, tensor<256x?xf32>) outs(%f : tensor<64x?xf32>) -> tensor<64x?xf32>
  return %r : tensor<64x?xf32>
}

// parallel = false: the serial loops only, no OpenMP region, no test.
// CSR-LABEL: func.func @csr_serial(
// CSR-NOT:     scf.parallel
// CSR-NOT:     sparse_opt.serial_fallback
// CSR:         return
// PIPE-LABEL: func.func private @_internal_csr_serial(
// PIPE-NOT:     scf.parallel
// PIPE:         return
func.func @csr_serial(%a: tensor<64x256xf32, #CSR>, %b: tensor<256x?xf32>) -> tensor<64x?xf32> {
  %c1 = arith.constant 1 : index
  %n = tensor.dim %b, %c1 : tensor<256x?xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%n) : tensor<64x?xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<64x?xf32>) -> tensor<64x?xf32>
  %r = linalg.matmul {sparse_opt.schedule = {parallel = false}} ins(%a, %b : tensor<64x256xf32, #CSR>, tensor<256x?xf32>) outs(%f : tensor<64x?xf32>) -> tensor<64x?xf32>
  return %r : tensor<64x?xf32>
}

// parallel = true: threads whenever there is more than one (the twin
// stays for one-thread calls: a threshold of 1 step).
// CSR-LABEL: func.func @csr_parallel(
// CSR-NOT:     %c16384
// CSR:         arith.cmpi uge, %{{.*}}, %c1{{(_[0-9]+)?}} : index
// CSR:         scf.parallel
// CSR:         } {sparse_opt.serial_fallback}
func.func @csr_parallel(%a: tensor<64x256xf32, #CSR>, %b: tensor<256x?xf32>) -> tensor<64x?xf32> {
  %c1 = arith.constant 1 : index
  %n = tensor.dim %b, %c1 : tensor<256x?xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%n) : tensor<64x?xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<64x?xf32>) -> tensor<64x?xf32>
  %r = linalg.matmul {sparse_opt.schedule = {parallel = true}} ins(%a, %b : tensor<64x256xf32, #CSR>, tensor<256x?xf32>) outs(%f : tensor<64x?xf32>) -> tensor<64x?xf32>
  return %r : tensor<64x?xf32>
}

// A dynamic N's run-time threshold.
// CSR-LABEL: func.func @csr_threshold(
// CSR:         arith.cmpi uge, %{{.*}}, %c777 : index
func.func @csr_threshold(%a: tensor<64x256xf32, #CSR>, %b: tensor<256x?xf32>) -> tensor<64x?xf32> {
  %c1 = arith.constant 1 : index
  %n = tensor.dim %b, %c1 : tensor<256x?xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%n) : tensor<64x?xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<64x?xf32>) -> tensor<64x?xf32>
  %r = linalg.matmul {sparse_opt.schedule = {parallel = true, min_parallel_work = 777 : i64}} ins(%a, %b : tensor<64x256xf32, #CSR>, tensor<256x?xf32>) outs(%f : tensor<64x?xf32>) -> tensor<64x?xf32>
  return %r : tensor<64x?xf32>
}

// n_tile = 2: full tiles of 2 vectors (16 columns); k_block = 0: never
// K-blocked (no cursors, no run-time test of the depth).
// CSR-LABEL: func.func @csr_tile(
// CSR-NOT:     memref.alloca
// CSR:         scf.for {{.*}} step %c16{{(_[0-9]+)?}} {
// CSR:           scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>) {
// CSR-NOT:     memref.alloca
// CSR:         return
func.func @csr_tile(%a: tensor<64x256xf32, #CSR>, %b: tensor<256x?xf32>) -> tensor<64x?xf32> {
  %c1 = arith.constant 1 : index
  %n = tensor.dim %b, %c1 : tensor<256x?xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%n) : tensor<64x?xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<64x?xf32>) -> tensor<64x?xf32>
  %r = linalg.matmul {sparse_opt.schedule = {n_tile = 2 : i64, k_block = 0 : i64}} ins(%a, %b : tensor<64x256xf32, #CSR>, tensor<256x?xf32>) outs(%f : tensor<64x?xf32>) -> tensor<64x?xf32>
  return %r : tensor<64x?xf32>
}

// k_block = 32: K-blocked by 32 B rows (the depth test against 32) and not
// gated by k-block-min-nonzeros (its factor is 0).
// CSR-LABEL: func.func @csr_kblock(
// CSR:         arith.muli %{{.*}}, %c32{{(_[0-9]+)?}} : index
// CSR:         arith.muli %{{.*}}, %c0{{(_[0-9]+)?}} : index
// CSR:         arith.cmpi ugt, %{{.*}}, %c32{{(_[0-9]+)?}} : index
// CSR:         memref.alloca
func.func @csr_kblock(%a: tensor<64x256xf32, #CSR>, %b: tensor<256x?xf32>) -> tensor<64x?xf32> {
  %c1 = arith.constant 1 : index
  %n = tensor.dim %b, %c1 : tensor<256x?xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%n) : tensor<64x?xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<64x?xf32>) -> tensor<64x?xf32>
  %r = linalg.matmul {sparse_opt.schedule = {k_block = 32 : i64}} ins(%a, %b : tensor<64x256xf32, #CSR>, tensor<256x?xf32>) outs(%f : tensor<64x?xf32>) -> tensor<64x?xf32>
  return %r : tensor<64x?xf32>
}

// SpMV: parallel = false.
// CSR-LABEL: func.func @csr_spmv_serial(
// CSR-NOT:     scf.parallel
// CSR:         return
func.func @csr_spmv_serial(%a: tensor<64x256xf32, #CSR>, %x: tensor<256xf32>) -> tensor<64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<64xf32>) -> tensor<64xf32>
  %r = linalg.matvec {sparse_opt.schedule = {parallel = false}} ins(%a, %x : tensor<64x256xf32, #CSR>, tensor<256xf32>) outs(%f : tensor<64xf32>) -> tensor<64xf32>
  return %r : tensor<64xf32>
}

// BSR 2 x 4: parallel = false; n_tile = 2 (2 rows x 2 vectors).
// BSR-LABEL: func.func @bsr_default(
// BSR:         scf.parallel
// BSR-LABEL: func.func @bsr_serial(
// BSR-NOT:     scf.parallel
// BSR:         scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>) {
// BSR-NOT:     scf.parallel
// BSR:         return
func.func @bsr_default(%a: tensor<64x256xf32, #BSR>, %b: tensor<256x?xf32>) -> tensor<64x?xf32> {
  %c1 = arith.constant 1 : index
  %n = tensor.dim %b, %c1 : tensor<256x?xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%n) : tensor<64x?xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<64x?xf32>) -> tensor<64x?xf32>
  %r = linalg.matmul ins(%a, %b : tensor<64x256xf32, #BSR>, tensor<256x?xf32>) outs(%f : tensor<64x?xf32>) -> tensor<64x?xf32>
  return %r : tensor<64x?xf32>
}
func.func @bsr_serial(%a: tensor<64x256xf32, #BSR>, %b: tensor<256x?xf32>) -> tensor<64x?xf32> {
  %c1 = arith.constant 1 : index
  %n = tensor.dim %b, %c1 : tensor<256x?xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%n) : tensor<64x?xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<64x?xf32>) -> tensor<64x?xf32>
  %r = linalg.matmul {sparse_opt.schedule = {parallel = false, n_tile = 2 : i64}} ins(%a, %b : tensor<64x256xf32, #BSR>, tensor<256x?xf32>) outs(%f : tensor<64x?xf32>) -> tensor<64x?xf32>
  return %r : tensor<64x?xf32>
}

// BSR with a static K above the K block: k_block = 0 turns K blocking
// off (no cursors), the default keeps it.
// BSR-LABEL: func.func @bsr_kblock_default(
// BSR:         memref.alloca
// BSR-LABEL: func.func @bsr_kblock_off(
// BSR-NOT:     memref.alloca
// BSR:         return
func.func @bsr_kblock_default(%a: tensor<64x256xf32, #BSR>, %b: tensor<256x128xf32>) -> tensor<64x128xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x128xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<64x128xf32>) -> tensor<64x128xf32>
  %r = linalg.matmul {sparse_opt.schedule = {parallel = true}} ins(%a, %b : tensor<64x256xf32, #BSR>, tensor<256x128xf32>) outs(%f : tensor<64x128xf32>) -> tensor<64x128xf32>
  return %r : tensor<64x128xf32>
}
func.func @bsr_kblock_off(%a: tensor<64x256xf32, #BSR>, %b: tensor<256x128xf32>) -> tensor<64x128xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x128xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<64x128xf32>) -> tensor<64x128xf32>
  %r = linalg.matmul {sparse_opt.schedule = {k_block = 0 : i64}} ins(%a, %b : tensor<64x256xf32, #BSR>, tensor<256x128xf32>) outs(%f : tensor<64x128xf32>) -> tensor<64x128xf32>
  return %r : tensor<64x128xf32>
}

// N:M: parallel = false; k_block = 0.
// NM-LABEL: func.func @nm_default(
// NM:         scf.parallel
// NM:         %c16384
// NM-LABEL: func.func @nm_serial(
// NM-NOT:     scf.parallel
// NM:         return
// NM-LABEL: func.func @nm_kblock_off(
// NM:         scf.parallel
// NM-NOT:     memref.alloca
// NM:         return
func.func @nm_default(%a: tensor<64x256xf32, #NM>, %b: tensor<256x128xf32>) -> tensor<64x128xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x128xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<64x128xf32>) -> tensor<64x128xf32>
  %r = linalg.matmul ins(%a, %b : tensor<64x256xf32, #NM>, tensor<256x128xf32>) outs(%f : tensor<64x128xf32>) -> tensor<64x128xf32>
  return %r : tensor<64x128xf32>
}
func.func @nm_serial(%a: tensor<64x256xf32, #NM>, %b: tensor<256x128xf32>) -> tensor<64x128xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x128xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<64x128xf32>) -> tensor<64x128xf32>
  %r = linalg.matmul {sparse_opt.schedule = {parallel = false}} ins(%a, %b : tensor<64x256xf32, #NM>, tensor<256x128xf32>) outs(%f : tensor<64x128xf32>) -> tensor<64x128xf32>
  return %r : tensor<64x128xf32>
}
func.func @nm_kblock_off(%a: tensor<64x256xf32, #NM>, %b: tensor<256x128xf32>) -> tensor<64x128xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x128xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<64x128xf32>) -> tensor<64x128xf32>
  %r = linalg.matmul {sparse_opt.schedule = {parallel = true, k_block = 0 : i64}} ins(%a, %b : tensor<64x256xf32, #NM>, tensor<256x128xf32>) outs(%f : tensor<64x128xf32>) -> tensor<64x128xf32>
  return %r : tensor<64x128xf32>
}

// Dense: a 64^3 product (524288 flops) is parallel by parallel-min-flops;
// parallel = false makes it serial; tile_rows / tile_vectors set the
// register tile (4 x 1 accumulators).
// DENSE-LABEL: func.func @dense_default(
// DENSE:         scf.parallel
// DENSE-LABEL: func.func @dense_serial(
// DENSE-NOT:     scf.parallel
// DENSE:         return
// DENSE-LABEL: func.func @dense_tile(
// DENSE:         scf.parallel
// DENSE:         scf.for {{.*}} -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>) {
// DENSE-NOT:     vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>
// DENSE:         return
func.func @dense_default(%a: tensor<64x64xf32>, %b: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x64xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  %r = linalg.matmul ins(%a, %b : tensor<64x64xf32>, tensor<64x64xf32>) outs(%f : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %r : tensor<64x64xf32>
}
func.func @dense_serial(%a: tensor<64x64xf32>, %b: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x64xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  %r = linalg.matmul {sparse_opt.schedule = {parallel = false}} ins(%a, %b : tensor<64x64xf32>, tensor<64x64xf32>) outs(%f : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %r : tensor<64x64xf32>
}
func.func @dense_tile(%a: tensor<64x64xf32>, %b: tensor<64x64xf32>) -> tensor<64x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<64x64xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<64x64xf32>) -> tensor<64x64xf32>
  %r = linalg.matmul {sparse_opt.schedule = {tile_rows = 4 : i64, tile_vectors = 1 : i64}} ins(%a, %b : tensor<64x64xf32>, tensor<64x64xf32>) outs(%f : tensor<64x64xf32>) -> tensor<64x64xf32>
  return %r : tensor<64x64xf32>
}

// nnz_balanced: 64 chunks of equal non-zeros in parallel, each finding its
// first row by a binary search over the row pointers (the last chunk ends
// at the last row), then the rows of the chunk as before.
// CSR-LABEL: func.func @csr_balanced(
// CSR:         scf.parallel (%{{.*}}) = (%{{.*}}) to (%c64{{(_[0-9]+)?}})
// CSR:           scf.while
// CSR:           scf.while
// CSR:           scf.for
func.func @csr_balanced(%a: tensor<64x256xf32, #CSR>, %b: tensor<256x?xf32>) -> tensor<64x?xf32> {
  %c1 = arith.constant 1 : index
  %n = tensor.dim %b, %c1 : tensor<256x?xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%n) : tensor<64x?xf32>
  %f = linalg.fill ins(%zero : f32) outs(%e : tensor<64x?xf32>) -> tensor<64x?xf32>
  %r = linalg.matmul {sparse_opt.schedule = {parallel = true, nnz_balanced = true, k_block = 0 : i64}} ins(%a, %b : tensor<64x256xf32, #CSR>, tensor<256x?xf32>) outs(%f : tensor<64x?xf32>) -> tensor<64x?xf32>
  return %r : tensor<64x?xf32>
}
