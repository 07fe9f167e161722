// RUN: sparse-opt --sparse-opt-thread-control %s -verify-diagnostics -split-input-file

// expected-error @+1 {{symbol 'sparse_opt_get_num_threads' is already defined; pick another symbol-prefix for sparse-opt-thread-control}}
module {
  func.func @sparse_opt_get_num_threads() -> i32 {
    %c = arith.constant 1 : i32
    return %c : i32
  }
}

// -----

module {
  // expected-error @+1 {{'omp_get_max_threads' must be the OpenMP runtime function 'llvm.func @omp_get_max_threads() -> i32'}}
  func.func private @omp_get_max_threads() -> i64
}
