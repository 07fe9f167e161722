// RUN: sparse-opt %s --sparse-opt-dense-loops="vector-length=8" --canonicalize | FileCheck %s
// RUN: sparse-opt %s --sparse-opt-dense-loops="vector-length=8 parallel=false" --canonicalize | FileCheck %s --check-prefix=SERIAL
// RUN: sparse-opt %s --sparse-opt-dense-loops="vector-length=0" --canonicalize | FileCheck %s --check-prefix=SCALAR

#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>

// 51200 iterations: rows in parallel, each row in vectors of 8 with a
// masked last one (100 = 12 x 8 + 4); exp as a polynomial on vectors.
// CHECK-LABEL: func.func @bias_exp(
// CHECK:         scf.parallel (%[[ROW:.*]]) = (%c0) to (%c512) step (%c1)
// CHECK:           scf.for %{{.*}} = %c0 to %c100 step %c8
// CHECK:             %[[MASK:.*]] = vector.create_mask %{{.*}} : vector<8xi1>
// CHECK:             vector.maskedload %{{.*}}, %[[MASK]]
// CHECK:             arith.addf %{{.*}} : vector<8xf32>
// CHECK-NOT:         math.exp
// CHECK:             math.floor %{{.*}} : vector<8xf32>
// CHECK:             vector.maskedstore
// CHECK:           scf.reduce
// SERIAL-LABEL: func.func @bias_exp(
// SERIAL-NOT:     scf.parallel
// SERIAL:         vector.maskedload
// SCALAR-LABEL: func.func @bias_exp(
// SCALAR:         scf.parallel
// SCALAR-NOT:     vector.
// SCALAR:         linalg.generic
func.func @bias_exp(%x: memref<512x100xf32>, %b: memref<100xf32>, %y: memref<512x100xf32>) {
  linalg.generic {indexing_maps = [#id2, #col, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x, %b : memref<512x100xf32>, memref<100xf32>) outs(%y : memref<512x100xf32>) {
  ^bb0(%a: f32, %c: f32, %o: f32):
    %s = arith.addf %a, %c : f32
    %e = math.exp %s : f32
    linalg.yield %e : f32
  }
  return
}

// Below parallel-min-iterations: serial loops, still vectors.
// CHECK-LABEL: func.func @small(
// CHECK-NOT:     scf.parallel
// CHECK:         scf.for
// CHECK:           scf.for
// CHECK:             arith.negf %{{.*}} : vector<8xf32>
func.func @small(%x: memref<4x100xf32>, %y: memref<4x100xf32>) {
  linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%x : memref<4x100xf32>) outs(%y : memref<4x100xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = arith.negf %a : f32
    linalg.yield %s : f32
  }
  return
}

// An inner reduction in whole vectors: one vector reduction per vector.
// CHECK-LABEL: func.func @row_sums(
// CHECK:         scf.parallel
// CHECK:           scf.for %{{.*}} = %c0 to %c64 step %c8
// CHECK:             vector.load %{{.*}} : memref<1x8xf32, strided<[64, 1], offset: ?>>, vector<8xf32>
// CHECK:             vector.reduction <add>, %{{.*}}, %{{.*}} : vector<8xf32> into f32
func.func @row_sums(%x: memref<512x64xf32>, %s: memref<512xf32>) {
  linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<512x64xf32>) outs(%s : memref<512xf32>) {
  ^bb0(%a: f32, %o: f32):
    %y = arith.addf %a, %o : f32
    linalg.yield %y : f32
  }
  return
}

// 2048 x 21: no power of two >= 2 divides 21, so the reduction stays
// scalar (a partial vector would need a masked reduction), in parallel.
// CHECK-LABEL: func.func @odd_row_sums(
// CHECK:         scf.parallel
// CHECK-NOT:     vector.
// CHECK:         linalg.generic
func.func @odd_row_sums(%x: memref<2048x21xf32>, %s: memref<2048xf32>) {
  linalg.generic {indexing_maps = [#id2, #row], iterator_types = ["parallel", "reduction"]}
      ins(%x : memref<2048x21xf32>) outs(%s : memref<2048xf32>) {
  ^bb0(%a: f32, %o: f32):
    %y = arith.addf %a, %o : f32
    linalg.yield %y : f32
  }
  return
}

// A transpose reads its input across the innermost loop: scalar, parallel
// over the output's rows.
// CHECK-LABEL: func.func @transpose(
// CHECK:         scf.parallel
// CHECK-NOT:     vector.
// CHECK:         linalg.transpose
func.func @transpose(%x: memref<300x200xf32>, %y: memref<200x300xf32>) {
  linalg.transpose ins(%x : memref<300x200xf32>) outs(%y : memref<200x300xf32>) permutation = [1, 0]
  return
}

// One loop: parallel chunks of 4096, vectors inside.
// CHECK-LABEL: func.func @flat(
// CHECK:         scf.parallel (%{{.*}}) = (%c0) to (%c100000) step (%c4096)
// CHECK:           vector.maskedload
func.func @flat(%x: memref<100000xf32>, %y: memref<100000xf32>) {
  linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>], iterator_types = ["parallel"]}
      ins(%x : memref<100000xf32>) outs(%y : memref<100000xf32>) {
  ^bb0(%a: f32, %o: f32):
    %s = math.tanh %a : f32
    linalg.yield %s : f32
  }
  return
}
