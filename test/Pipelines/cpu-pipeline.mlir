// The whole pipeline: OpenMP threads, run-time thread control, vectors,
// the C interface of the stable ABI, all in the LLVM dialect.
// RUN: sparse-opt --sparse-opt-cpu-pipeline="target-cpu=skylake-avx512 num-threads=2" %s | FileCheck %s
// RUN: sparse-opt --sparse-opt-cpu-pipeline="target-cpu=haswell openmp=false" %s | FileCheck %s --check-prefix=SERIAL
// 64-bit positions and coordinates go through the same pipeline.
// RUN: sed 's/Width = 32/Width = 64/g' %s | sparse-opt --sparse-opt-cpu-pipeline="target-cpu=skylake-avx512" | FileCheck %s --check-prefix=INDEX64

#CSR = #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed), posWidth = 32, crdWidth = 32 }>

// CHECK-NOT:   func.func
// CHECK-LABEL: llvm.func @spmv(
// CHECK-LABEL: llvm.func @_mlir_ciface_spmv(
// CHECK-SAME:      %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// CHECK-LABEL: llvm.func @_internal_spmv(
// The kernel's serial twin: OpenMP only for calls of at least
// min-parallel-work steps on more than one thread.
// CHECK:         %[[MIN:.*]] = llvm.mlir.constant(16384 : index) : i64
// CHECK:         %[[WORTH:.*]] = llvm.icmp "uge" %{{.*}}, %[[MIN]] : i64
// CHECK:         %[[N:.*]] = llvm.call @sparse_opt_get_num_threads() : () -> i32
// CHECK:         %[[MANY:.*]] = llvm.icmp "sgt" %[[N]], %{{.*}} : i32
// CHECK:         %[[BOTH:.*]] = llvm.and %[[WORTH]], %[[MANY]] : i1
// CHECK:         llvm.cond_br %[[BOTH]], ^{{.*}}, ^{{.*}}
// CHECK:         omp.parallel num_threads(%[[N]] : i32)
// CHECK:           omp.wsloop
// Dot products (SpMV) gather 8 lanes even with AVX-512 (dot-vector-length).
// CHECK:             llvm.intr.masked.gather {{.*}} -> vector<8xf32>
// Rows in groups of 8: their lane sums reduced together, one store.
// CHECK:             llvm.shufflevector {{.*}} [0, 2, 4, 6, 8, 10, 12, 14] : vector<8xf32>
// CHECK:             llvm.intr.masked.store {{.*}} : vector<8xf32>, vector<8xi1> into !llvm.ptr
// CHECK-DAG:   llvm.mlir.global internal @sparse_opt_num_threads(2 : i32)
// CHECK-DAG:   llvm.mlir.global external constant @sparse_opt_signature_spmv(
// CHECK:       llvm.func @sparse_opt_set_num_threads(

// SERIAL-NOT:  omp.
// SERIAL:      llvm.func @_mlir_ciface_spmv(
// SERIAL:      vector<8xf32>
// SERIAL-NOT:  omp.
// SERIAL-NOT:  sparse_opt_set_num_threads

// INDEX64:     llvm.func @_internal_spmv(
// INDEX64:       omp.parallel
// INDEX64:       llvm.load {{.*}} -> vector<8xi64>
func.func @spmv(%a: tensor<64x32xf32, #CSR>, %x: tensor<32xf32>)
    -> tensor<64xf32> attributes { llvm.emit_c_interface } {
  %zero = arith.constant 0.0 : f32
  %empty = tensor.empty() : tensor<64xf32>
  %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<64xf32>)
      -> tensor<64xf32>
  %y = linalg.matvec ins(%a, %x : tensor<64x32xf32, #CSR>, tensor<32xf32>)
      outs(%init : tensor<64xf32>) -> tensor<64xf32>
  return %y : tensor<64xf32>
}
