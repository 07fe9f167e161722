// RUN: sparse-opt %s --sparse-opt-free-loop-allocas --split-input-file | FileCheck %s
// RUN: sparse-opt %s --sparse-opt-free-loop-allocas="parallel-loops-serial=true" --split-input-file | FileCheck %s --check-prefix=SERIAL

// A serial loop's stack buffer is freed at the end of each iteration, also
// where it is allocated in a nested scf.if; the innermost loop owns it.
// CHECK-LABEL: func.func @serial_loops
// CHECK:       scf.for
// CHECK-NEXT:    %[[OUTER:.*]] = llvm.intr.stacksave : !llvm.ptr
// CHECK-NEXT:    scf.if
// CHECK-NEXT:      memref.alloca() : memref<64xf32>
// CHECK:         scf.for
// CHECK-NEXT:      %[[INNER:.*]] = llvm.intr.stacksave : !llvm.ptr
// CHECK-NEXT:      memref.alloca() : memref<16xindex>
// CHECK:           llvm.intr.stackrestore %[[INNER]] : !llvm.ptr
// CHECK-NEXT:    }
// CHECK:         llvm.intr.stackrestore %[[OUTER]] : !llvm.ptr
// CHECK-NEXT:  }
func.func @serial_loops(%n: index, %c: i1, %out: memref<?xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %f = arith.constant 1.0 : f32
  scf.for %i = %c0 to %n step %c1 {
    scf.if %c {
      %panel = memref.alloca() : memref<64xf32>
      memref.store %f, %panel[%c0] : memref<64xf32>
      %v = memref.load %panel[%c0] : memref<64xf32>
      memref.store %v, %out[%i] : memref<?xf32>
    }
    scf.for %j = %c0 to %n step %c1 {
      %cursors = memref.alloca() : memref<16xindex>
      memref.store %j, %cursors[%c0] : memref<16xindex>
    }
  }
  return
}

// -----

// scf.while: the region that allocates.
// CHECK-LABEL: func.func @while_loop
// CHECK:       do {
// CHECK-NEXT:  ^bb0(
// CHECK-NEXT:    %[[SP:.*]] = llvm.intr.stacksave : !llvm.ptr
// CHECK-NEXT:    memref.alloca() : memref<8xf32>
// CHECK:         llvm.intr.stackrestore %[[SP]] : !llvm.ptr
// CHECK-NEXT:    scf.yield
func.func @while_loop(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %r = scf.while (%i = %c0) : (index) -> index {
    %more = arith.cmpi ult, %i, %n : index
    scf.condition(%more) %i : index
  } do {
  ^bb0(%i: index):
    %scratch = memref.alloca() : memref<8xf32>
    %next = arith.addi %i, %c1 : index
    scf.yield %next : index
  }
  return
}

// -----

// Left alone: an alloca in the function's own scope, in an alloca_scope
// inside a loop, and a buffer the loop yields to its next iteration.
// CHECK-LABEL: func.func @scoped
// CHECK-NOT:   llvm.intr.stacksave
// CHECK:       return
func.func @scoped(%n: index, %init: memref<4xf32>) -> memref<4xf32> {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %top = memref.alloca() : memref<4xf32>
  scf.for %i = %c0 to %n step %c1 {
    memref.alloca_scope {
      %inner = memref.alloca() : memref<4xf32>
    }
  }
  %last = scf.for %i = %c0 to %n step %c1 iter_args(%prev = %init) -> memref<4xf32> {
    %fresh = memref.alloca() : memref<4xf32>
    memref.copy %prev, %fresh : memref<4xf32> to memref<4xf32>
    scf.yield %fresh : memref<4xf32>
  }
  return %last : memref<4xf32>
}

// -----

// scf.parallel is an allocation scope (convert-scf-to-openmp scopes its
// body); without OpenMP (parallel-loops-serial) it becomes loops, and its
// body frees its buffers per iteration.
// CHECK-LABEL: func.func @parallel_loop
// CHECK:       scf.parallel
// CHECK-NOT:   llvm.intr.stacksave
// SERIAL-LABEL: func.func @parallel_loop
// SERIAL:       scf.parallel
// SERIAL-NEXT:    %[[SP:.*]] = llvm.intr.stacksave : !llvm.ptr
// SERIAL-NEXT:    memref.alloca() : memref<32xf32>
// SERIAL:         llvm.intr.stackrestore %[[SP]] : !llvm.ptr
// SERIAL-NEXT:    scf.reduce
func.func @parallel_loop(%n: index) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  scf.parallel (%i) = (%c0) to (%n) step (%c1) {
    %panel = memref.alloca() : memref<32xf32>
    scf.reduce
  }
  return
}
