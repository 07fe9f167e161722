// RUN: sparse-opt --sparse-opt-thread-control %s | FileCheck %s
// RUN: sparse-opt --sparse-opt-thread-control="default-num-threads=3 symbol-prefix=mylib" %s \
// RUN:   | FileCheck %s --check-prefix=OPTS

// CHECK-LABEL: func.func @outer_region
// CHECK:         %[[N:.*]] = call @sparse_opt_get_num_threads() : () -> i32
// CHECK:         omp.parallel num_threads(%[[N]] : i32) {
// Nested regions inherit the count from their parent's call.
// CHECK:           omp.parallel {
func.func @outer_region() {
  omp.parallel {
    omp.parallel {
      omp.terminator
    }
    omp.terminator
  }
  return
}

// An explicit clause is the user's choice and stays.
// CHECK-LABEL: func.func @explicit_count
// CHECK-NOT:     call @sparse_opt_get_num_threads
// CHECK:         omp.parallel num_threads(%{{.*}} : i32) {
func.func @explicit_count(%n: i32) {
  omp.parallel num_threads(%n : i32) {
    omp.terminator
  }
  return
}

// A kernel's parallel loop with a serial twin (an scf.if marked
// sparse_opt.serial_fallback, see sparse-opt-csr-kernels): the count is read
// before the branch, and one thread takes the serial else-branch.
// CHECK-LABEL: func.func @serial_fallback(
// CHECK-SAME:      %[[WORTH:.*]]: i1
// CHECK:         %[[N:.*]] = call @sparse_opt_get_num_threads() : () -> i32
// CHECK:         %[[ONE:.*]] = arith.constant 1 : i32
// CHECK:         %[[MANY:.*]] = arith.cmpi sgt, %[[N]], %[[ONE]] : i32
// CHECK:         %[[BOTH:.*]] = arith.andi %[[WORTH]], %[[MANY]] : i1
// CHECK:         scf.if %[[BOTH]] {
// CHECK-NEXT:      omp.parallel num_threads(%[[N]] : i32) {
// CHECK:         } else {
// CHECK-NEXT:      func.call @serial_loop()
// CHECK:         } {sparse_opt.serial_fallback}
func.func private @serial_loop()
func.func @serial_fallback(%worth: i1) {
  scf.if %worth {
    omp.parallel {
      omp.terminator
    }
  } else {
    func.call @serial_loop() : () -> ()
  } {sparse_opt.serial_fallback}
  return
}

// Without the mark, or with the region in the else-branch, an scf.if is
// left alone: only the region gets its count.
// CHECK-LABEL: func.func @plain_branch(
// CHECK-SAME:      %[[C:.*]]: i1
// CHECK-NOT:     arith.andi
// CHECK:         scf.if %[[C]] {
// CHECK-NEXT:      %[[N1:.*]] = func.call @sparse_opt_get_num_threads()
// CHECK-NEXT:      omp.parallel num_threads(%[[N1]] : i32) {
// CHECK:         scf.if %[[C]] {
// CHECK-NEXT:      func.call @serial_loop()
// CHECK-NEXT:    } else {
// CHECK-NEXT:      %[[N2:.*]] = func.call @sparse_opt_get_num_threads()
// CHECK-NEXT:      omp.parallel num_threads(%[[N2]] : i32) {
func.func @plain_branch(%c: i1) {
  scf.if %c {
    omp.parallel {
      omp.terminator
    }
  }
  scf.if %c {
    func.call @serial_loop() : () -> ()
  } else {
    omp.parallel {
      omp.terminator
    }
  } {sparse_opt.serial_fallback}
  return
}

// CHECK:       llvm.mlir.global internal @sparse_opt_num_threads(0 : i32)
// CHECK:       llvm.func @omp_get_max_threads() -> i32
// CHECK-LABEL: func.func @sparse_opt_get_num_threads() -> i32
// CHECK:         %[[ADDR:.*]] = llvm.mlir.addressof @sparse_opt_num_threads
// CHECK:         %[[STORED:.*]] = llvm.load %[[ADDR]] : !llvm.ptr -> i32
// CHECK:         %[[SET:.*]] = arith.cmpi sgt, %[[STORED]], %{{.*}} : i32
// CHECK:         %[[DEFAULT:.*]] = llvm.call @omp_get_max_threads()
// CHECK:         %[[COUNT:.*]] = arith.select %[[SET]], %[[STORED]], %[[DEFAULT]]
// CHECK:         return %[[COUNT]]
// CHECK-LABEL: func.func @sparse_opt_set_num_threads(
// CHECK-SAME:      %[[ARG:.*]]: i32)
// CHECK:         llvm.store %[[ARG]], %{{.*}} : i32, !llvm.ptr

// OPTS: call @mylib_get_num_threads()
// OPTS: llvm.mlir.global internal @mylib_num_threads(3 : i32)
// OPTS: func.func @mylib_get_num_threads()
// OPTS: func.func @mylib_set_num_threads(
