// A malformed sparse_opt.schedule is an error of the kernel pass that
// meets it, naming the attribute and what is wrong.
// RUN: sparse-opt %s -split-input-file -verify-diagnostics --sparse-opt-csr-kernels
// RUN: sparse-opt %s -split-input-file -verify-diagnostics --sparse-opt-bsr-kernels
// RUN: sparse-opt %s -split-input-file -verify-diagnostics --sparse-opt-nm-kernels
// RUN: sparse-opt %s -split-input-file -verify-diagnostics --sparse-opt-dense-kernels

func.func @not_a_dictionary(%a: tensor<8x8xf32>, %b: tensor<8x8xf32>, %c: tensor<8x8xf32>) -> tensor<8x8xf32> {
  // expected-error @+1 {{sparse_opt.schedule must be a dictionary}}
  %r = linalg.matmul {sparse_opt.schedule = "parallel"} ins(%a, %b : tensor<8x8xf32>, tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
  return %r : tensor<8x8xf32>
}

// -----

func.func @unknown_key(%a: tensor<8x8xf32>, %b: tensor<8x8xf32>, %c: tensor<8x8xf32>) -> tensor<8x8xf32> {
  // expected-error @+1 {{sparse_opt.schedule has unknown key 'threads' (expected parallel, min_parallel_work, n_tile, k_block, row_block, tile_rows, tile_vectors, nnz_balanced)}}
  %r = linalg.matmul {sparse_opt.schedule = {threads = 2 : i64}} ins(%a, %b : tensor<8x8xf32>, tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
  return %r : tensor<8x8xf32>
}

// -----

func.func @parallel_not_bool(%a: tensor<8x8xf32>, %b: tensor<8x8xf32>, %c: tensor<8x8xf32>) -> tensor<8x8xf32> {
  // expected-error @+1 {{sparse_opt.schedule key 'parallel' must be a bool}}
  %r = linalg.matmul {sparse_opt.schedule = {parallel = 1 : i64}} ins(%a, %b : tensor<8x8xf32>, tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
  return %r : tensor<8x8xf32>
}

// -----

func.func @tile_not_power_of_two(%a: tensor<8x8xf32>, %b: tensor<8x8xf32>, %c: tensor<8x8xf32>) -> tensor<8x8xf32> {
  // expected-error @+1 {{sparse_opt.schedule key 'n_tile' must be a power of two}}
  %r = linalg.matmul {sparse_opt.schedule = {n_tile = 3 : i64}} ins(%a, %b : tensor<8x8xf32>, tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
  return %r : tensor<8x8xf32>
}

// -----

func.func @negative(%a: tensor<8x8xf32>, %b: tensor<8x8xf32>, %c: tensor<8x8xf32>) -> tensor<8x8xf32> {
  // expected-error @+1 {{sparse_opt.schedule key 'k_block' must be a non-negative integer}}
  %r = linalg.matmul {sparse_opt.schedule = {k_block = -1 : i64}} ins(%a, %b : tensor<8x8xf32>, tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
  return %r : tensor<8x8xf32>
}

// -----

func.func @not_an_integer(%a: tensor<8x8xf32>, %b: tensor<8x8xf32>, %c: tensor<8x8xf32>) -> tensor<8x8xf32> {
  // expected-error @+1 {{sparse_opt.schedule key 'tile_rows' must be a non-negative integer}}
  %r = linalg.matmul {sparse_opt.schedule = {tile_rows = 4.0 : f32}} ins(%a, %b : tensor<8x8xf32>, tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
  return %r : tensor<8x8xf32>
}

// -----

func.func @zero_row_block(%a: tensor<8x8xf32>, %b: tensor<8x8xf32>, %c: tensor<8x8xf32>) -> tensor<8x8xf32> {
  // expected-error @+1 {{sparse_opt.schedule key 'row_block' must be positive}}
  %r = linalg.matmul {sparse_opt.schedule = {row_block = 0 : i64}} ins(%a, %b : tensor<8x8xf32>, tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
  return %r : tensor<8x8xf32>
}

// -----

func.func @threshold_without_parallel(%a: tensor<8x8xf32>, %b: tensor<8x8xf32>, %c: tensor<8x8xf32>) -> tensor<8x8xf32> {
  // expected-error @+1 {{sparse_opt.schedule has min_parallel_work without parallel = true}}
  %r = linalg.matmul {sparse_opt.schedule = {parallel = false, min_parallel_work = 100 : i64}} ins(%a, %b : tensor<8x8xf32>, tensor<8x8xf32>) outs(%c : tensor<8x8xf32>) -> tensor<8x8xf32>
  return %r : tensor<8x8xf32>
}
