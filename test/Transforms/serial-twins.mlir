// RUN: sparse-opt --sparse-opt-serial-twins %s | FileCheck %s
// RUN: sparse-opt --sparse-opt-serial-twins --convert-scf-to-openmp --sparse-opt-thread-control %s | FileCheck %s --check-prefix=THREADS

// A parallel loop gets its serial twin: the same nest as scf.for loops,
// outermost dimension first, behind an scf.if marked as a serial fallback.
// CHECK-LABEL: func.func @fill(
// CHECK-SAME:      %[[A:.*]]: memref<?x?xf32>, %[[N:.*]]: index, %[[M:.*]]: index)
// CHECK:         %[[TRUE:.*]] = arith.constant true
// CHECK:         scf.if %[[TRUE]] {
// CHECK:           scf.parallel (%[[I:.*]], %[[J:.*]]) = (%{{.*}}, %{{.*}}) to (%[[N]], %[[M]])
// CHECK:             memref.store %{{.*}}, %[[A]][%[[I]], %[[J]]]
// CHECK:           scf.reduce
// CHECK:         } else {
// CHECK:           scf.for %[[SI:.*]] = %{{.*}} to %[[N]] step
// CHECK:             scf.for %[[SJ:.*]] = %{{.*}} to %[[M]] step
// CHECK:               memref.store %{{.*}}, %[[A]][%[[SI]], %[[SJ]]]
// CHECK-NOT:         scf.parallel
// CHECK:         } {sparse_opt.serial_fallback}
// Thread control sends one-thread calls to the twin.
// THREADS-LABEL: func.func @fill(
// THREADS:         %[[COUNT:.*]] = call @sparse_opt_get_num_threads()
// THREADS:         %[[MANY:.*]] = arith.cmpi sgt, %[[COUNT]], %{{.*}} : i32
// THREADS:         %[[BOTH:.*]] = arith.andi %{{.*}}, %[[MANY]] : i1
// THREADS:         scf.if %[[BOTH]] {
// THREADS:           omp.parallel num_threads(%[[COUNT]] : i32)
// THREADS:         } else {
// THREADS:           scf.for
// THREADS:         } {sparse_opt.serial_fallback}
func.func @fill(%a: memref<?x?xf32>, %n: index, %m: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %one = arith.constant 1.0 : f32
  scf.parallel (%i, %j) = (%c0, %c0) to (%n, %m) step (%c1, %c1) {
    memref.store %one, %a[%i, %j] : memref<?x?xf32>
    scf.reduce
  }
  return
}

// A nested parallel loop is serial in the twin too; only the outermost
// loop gets an scf.if. Inside a serial loop, the parallel loop is wrapped
// where it is.
// CHECK-LABEL: func.func @nested(
// CHECK:         scf.for
// CHECK:           scf.if %{{.*}} {
// CHECK:             scf.parallel
// CHECK:               scf.parallel
// CHECK:           } else {
// CHECK:             scf.for
// CHECK:               scf.for
// CHECK-NOT:             scf.if
// CHECK:                 memref.store
// CHECK:           } {sparse_opt.serial_fallback}
func.func @nested(%a: memref<?x?xf32>, %n: index, %m: index, %t: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %one = arith.constant 1.0 : f32
  scf.for %k = %c0 to %t step %c1 {
    scf.parallel (%i) = (%c0) to (%n) step (%c1) {
      scf.parallel (%j) = (%c0) to (%m) step (%c1) {
        memref.store %one, %a[%i, %j] : memref<?x?xf32>
        scf.reduce
      }
      scf.reduce
    }
  }
  return
}

// A kernel's loop with its own twin, and a loop with a reduction, are left
// as they are.
// CHECK-LABEL: func.func @untouched(
// CHECK:         scf.if %{{.*}} {
// CHECK-NEXT:      scf.parallel
// CHECK:         } else {
// CHECK-NEXT:      scf.for
// CHECK:         } {sparse_opt.serial_fallback}
// CHECK-NOT:     scf.if
// CHECK:         scf.parallel {{.*}} init
// CHECK-NOT:     sparse_opt.serial_fallback
// CHECK:         return
func.func @untouched(%a: memref<?xf32>, %n: index, %worth: i1) -> f32 {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %zero = arith.constant 0.0 : f32
  scf.if %worth {
    scf.parallel (%i) = (%c0) to (%n) step (%c1) {
      memref.store %zero, %a[%i] : memref<?xf32>
      scf.reduce
    }
  } else {
    scf.for %i = %c0 to %n step %c1 {
      memref.store %zero, %a[%i] : memref<?xf32>
    }
  } {sparse_opt.serial_fallback}
  %sum = scf.parallel (%i) = (%c0) to (%n) step (%c1) init (%zero) -> f32 {
    %x = memref.load %a[%i] : memref<?xf32>
    scf.reduce (%x : f32) {
    ^bb0(%l: f32, %r: f32):
      %s = arith.addf %l, %r : f32
      scf.reduce.return %s : f32
    }
  }
  return %sum : f32
}
