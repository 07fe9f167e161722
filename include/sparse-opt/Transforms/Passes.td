//===- Passes.td - sparse-opt transformation passes --------*- tablegen -*-===//
//
// Passes owned by sparse-opt. Each pass lives in its own file under
// lib/Transforms and has a FileCheck test under test/Transforms.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSE_OPT_TRANSFORMS_PASSES
#define SPARSE_OPT_TRANSFORMS_PASSES

include "mlir/Pass/PassBase.td"

def SparseOptThreadControl : Pass<"sparse-opt-thread-control", "ModuleOp"> {
  let summary = "Give a compiled module a run-time settable OpenMP thread count";
  let description = [{
    Compiled kernels are loaded as shared libraries into processes that own
    their OpenMP configuration, so a library must neither change the
    process-wide OpenMP state nor freeze its thread count at compile time.
    This pass gives the module its own thread-count setting:

    * an internal global `@<symbol-prefix>_num_threads` (i32) initialized
      with `default-num-threads`; 0 means "the OpenMP default"
      (`omp_get_max_threads()`, i.e. `OMP_NUM_THREADS` or the core count);
    * every `omp.parallel` without a `num_threads` clause gets one that reads
      the global at the point of entry, falling back to the OpenMP default
      when the global is 0 or negative;
    * two exported functions, `<symbol-prefix>_set_num_threads(i32)` and
      `<symbol-prefix>_get_num_threads() -> i32` (the latter returns the
      count a parallel region entered now would use).

    Run it after `convert-scf-to-openmp` and before the conversion to the
    LLVM dialect.

    Example:

    ```mlir
    omp.parallel { ... }
    ```

    becomes

    ```mlir
    llvm.mlir.global internal @sparse_opt_num_threads(0 : i32) : i32
    %n = call @sparse_opt_get_num_threads() : () -> i32
    omp.parallel num_threads(%n : i32) { ... }
    ```
  }];
  let options = [
    Option<"defaultNumThreads", "default-num-threads", "int32_t",
           /*default=*/"0",
           "Thread count used until the library's set function is called "
           "(0: the OpenMP default)">,
    Option<"symbolPrefix", "symbol-prefix", "std::string",
           /*default=*/"\"sparse_opt\"",
           "Prefix of the generated global and accessor functions">,
  ];
  let dependentDialects = [
    "mlir::LLVM::LLVMDialect",
    "mlir::arith::ArithDialect",
    "mlir::func::FuncDialect",
    "mlir::omp::OpenMPDialect",
  ];
}

#endif // SPARSE_OPT_TRANSFORMS_PASSES
