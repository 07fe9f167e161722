// The N:M K-blocking boundary below a full tile that
// sparse-opt-select-weight-formats records in the schedule, with the
// made-up model of select-weight-formats-schedule.mlir (8 lanes, 8-vector
// tiles, K block 64): a 1 x 256 2:4 weight (32 kept per row and K block)
// K-blocks at N below 64 only when N is at least 2 vectors and B (256 x N)
// is more than two K-block panels (2 x 64 x 64 = 8192): N = 32 is exactly
// two (off), N = 33 beyond (on). CSR keeps its per-row loops there.
//
// RUN: sparse-opt %s --sparse-opt-select-weight-formats="formats=nm:2:4 cost-model=%inputs/cost-model-schedule.json target-cpu=haswell report=%t.txt" | FileCheck %s
// RUN: FileCheck %s --check-prefix=TEXT --input-file=%t.txt
// RUN: sparse-opt %s --sparse-opt-select-weight-formats="formats=csr cost-model=%inputs/cost-model-schedule.json target-cpu=haswell" | FileCheck %s --check-prefix=CSR

// CHECK-LABEL: func.func @within_two_panels(
// CHECK:         sparse_opt.schedule = {k_block = 0 : i64, n_tile = 8 : i64, parallel = false}
// TEXT: within_two_panels {{.*}} k_block 0 (off: N = 32 below one full tile, and below two vectors or B within two K-block panels)
// CSR-LABEL: func.func @within_two_panels(
// CSR:         k_block = 0 : i64
func.func @within_two_panels(%b: tensor<256x32xf32>) -> tensor<1x32xf32> {
  %w = arith.constant dense<[[1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0]]> : tensor<1x256xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x32xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<1x32xf32>) -> tensor<1x32xf32>
  %c = linalg.matmul ins(%w, %b : tensor<1x256xf32>, tensor<256x32xf32>) outs(%i : tensor<1x32xf32>) -> tensor<1x32xf32> loc("within_two_panels")
  return %c : tensor<1x32xf32>
}

// CHECK-LABEL: func.func @beyond_two_panels(
// CHECK:         sparse_opt.schedule = {k_block = 64 : i64, n_tile = 8 : i64, parallel = false}
// TEXT: beyond_two_panels {{.*}} k_block 64 (64 rows: 32.0 stored per row and K block >= 10)
// CSR-LABEL: func.func @beyond_two_panels(
// CSR:         k_block = 0 : i64
func.func @beyond_two_panels(%b: tensor<256x33xf32>) -> tensor<1x33xf32> {
  %w = arith.constant dense<[[1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 0.0]]> : tensor<1x256xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<1x33xf32>
  %i = linalg.fill ins(%zero : f32) outs(%e : tensor<1x33xf32>) -> tensor<1x33xf32>
  %c = linalg.matmul ins(%w, %b : tensor<1x256xf32>, tensor<256x33xf32>) outs(%i : tensor<1x33xf32>) -> tensor<1x33xf32> loc("beyond_two_panels")
  return %c : tensor<1x33xf32>
}
