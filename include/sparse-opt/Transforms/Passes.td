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

def SparseOptExportSignatures : Pass<"sparse-opt-export-signatures",
                                     "ModuleOp"> {
  let summary = "Record each entry point's tensor signature in the module";
  let description = [{
    The stable sparse ABI passes a sparse tensor as bare positions,
    coordinates and values buffers and erases its static shape, so a caller
    holding only the compiled library cannot tell which matrix shape, index
    width or format an entry point was compiled for, and a mismatch reads out
    of bounds. This pass keeps that information: for every public function
    marked `llvm.emit_c_interface` it adds an exported constant C string
    `@<symbol-prefix>_signature_<name>` holding the function's type as
    written before the sparse ABI rewrite, e.g.

    ```
    (tensor<64x32xf32, #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : compressed) }>>, tensor<32x?xf32>) -> tensor<64x?xf32>
    ```

    which the runtime (`so_library_signature`) and `sparse-run` read to
    validate operands before calling. Run it before `sparse-assembler`.
  }];
  let options = [
    Option<"symbolPrefix", "symbol-prefix", "std::string",
           /*default=*/"\"sparse_opt\"",
           "Prefix of the generated signature strings">,
  ];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

def SparseOptMaterializeSparseConstants
    : Pass<"sparse-opt-materialize-sparse-constants", "func::FuncOp"> {
  let summary = "Compute the CSR storage of constant weights at compile time";
  let description = [{
    Inference weights are constants. A constant sparse weight reaches the
    compiler as `sparse_tensor.convert` of an `arith.constant` (dense or
    `sparse<...>` elements), or as an `arith.constant` of a sparse tensor
    type; left alone, the sparsifier would rebuild its sparse storage on
    every call. For CSR results (levels `dense, compressed`, identity map,
    2-D, float elements) this pass computes the positions, coordinates and
    values once, at compile time, and replaces the weight with

    ```mlir
    %pos = arith.constant dense<[...]> : tensor<(M+1) x posType>
    %crd = arith.constant dense<[...]> : tensor<nnz x crdType>
    %val = arith.constant dense<[...]> : tensor<nnz x f32>
    %w = sparse_tensor.assemble (%pos, %crd), %val : ... to tensor<MxKxf32, #CSR>
    ```

    which bufferization turns into read-only globals in the library: no
    conversion work at run time, and the kernels see a pattern fixed at
    compile time. Zeros in the constant are not stored. A weight with more
    non-zeros or columns than the encoding's `posWidth` / `crdWidth` can
    address is an error naming both. Other encodings are left to the
    sparsifier.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::sparse_tensor::SparseTensorDialect",
  ];
}

def SparseOptCsrKernels : Pass<"sparse-opt-csr-kernels", "func::FuncOp"> {
  let summary = "Generate vector loops for CSR x dense products (SpMM, SpMV) "
                "and dense x dense products sampled at a CSR pattern (SDDMM)";
  let description = [{
    Rewrites products whose left operand is a CSR matrix (levels
    `dense, compressed`, identity map, any position / coordinate width) and
    whose other operand and result are dense floats into explicit loops,
    instead of leaving them to the sparsifier. Rows of A run as an
    `scf.parallel` loop (OpenMP threads later).

    `linalg.matmul`, `C[M,N] = init + A[M,K] * B[K,N]` (SpMM): for each row,
    N is covered by register tiles of `n-tile` vectors of `vector-length`
    lanes, then by one tile each of n-tile/2, ..., 1 vectors and a final
    masked vector, so that every column of C is produced in a single pass
    over the row's non-zeros and narrow N wastes no pass. The accumulators
    of a tile live in vector registers across the row's non-zeros: each
    non-zero's value is broadcast once and multiplied (`vector.fma`) with
    the tile's vectors of its B row. B rows are visited in the order of the
    row's column indices, which hardware prefetchers cannot predict; with
    `prefetch-distance` D > 0 each non-zero prefetches the tile's cache
    lines of the B row of the non-zero D positions ahead. When N is 1 at run
    time, the row-dot kernel below is used instead.

    K blocking: when, at run time, there is at least one full tile of
    columns, K exceeds `k-block` and the rows average at least
    `k-block-min-nonzeros` non-zeros per K block (nnz x k-block >= min x M x
    K), the full tiles run K-blocked instead: rows in blocks of `row-block`
    run in parallel, and for each tile of columns and each block of
    `k-block` B rows every row of the block adds its non-zeros in those B
    rows to its C tile, so that the B panel stays in L1 across rows instead
    of each non-zero fetching its B row from L2 (a cursor per row keeps its
    position). Sparser matrices keep the row-at-a-time loops: the C tile's
    load and store per K block would cost more than it saves.

    `linalg.matvec`, `y[M] = init + A[M,K] * x[K]` (SpMV, batch-1
    inference), and SpMM with N = 1: each row is a dot product vectorized
    over its non-zeros with `dot-vector-length` lanes: vectors of
    coordinates and values are loaded, x is gathered, products accumulate in
    one vector register, and one horizontal reduction per row ends it.
    Gathers have their own width because wide ones are slow on current x86
    cores (on the AVX-512 development machine 8-lane dot products beat
    16-lane ones by 10-15%).

    SDDMM, written as the sparsifier takes it: a `linalg.generic` with
    maps Q (i,k), K (j,k) and a CSR S (i,j) as output, iterators
    (parallel, parallel, reduction), and the body
    `reduce(s, unary(s){present: a * b}{absent: none}, 0)` with addition
    (sparse attention's scores Q K^T at a mask): each stored (i, j) becomes
    a vector dot product of row i of Q and row j of K (`vector-length`
    lanes, masked tail, one reduction; with a static depth of up to 16
    vectors, row i of Q stays in registers across the row's entries); the
    scores overwrite S's values (S is the operation's destination; the
    sparsifier's loops do the same), so a call allocates nothing. S must have
    no other use.

    When `init` is a zero `linalg.fill` the result goes to a fresh buffer
    and is never read; otherwise `init` is accumulated into. Products the
    pass does not match are left to the sparsifier. A `vector-length` of 0
    disables it.
  }];
  let options = [
    Option<"vectorLength", "vector-length", "unsigned", /*default=*/"16",
           "Lanes per vector for 32-bit elements (scaled for other widths); "
           "0 disables the rewrite">,
    Option<"dotVectorLength", "dot-vector-length", "unsigned",
           /*default=*/"8",
           "Lanes per vector for 32-bit elements in row dot products (SpMV, "
           "N = 1); 0 disables the rewrite">,
    Option<"nTile", "n-tile", "unsigned", /*default=*/"8",
           "Vectors per SpMM register tile along N (a power of two)">,
    Option<"prefetchDistance", "prefetch-distance", "unsigned",
           /*default=*/"0",
           "Prefetch the B row of the non-zero this many ahead in SpMM "
           "(0: none)">,
    Option<"kBlock", "k-block", "unsigned", /*default=*/"64",
           "B rows per K block of the K-blocked SpMM (0: never K-block)">,
    Option<"rowBlock", "row-block", "unsigned", /*default=*/"64",
           "Rows of A per parallel iteration of the K-blocked SpMM">,
    Option<"kBlockMinNonZeros", "k-block-min-nonzeros", "unsigned",
           /*default=*/"10",
           "Average non-zeros per row and K block from which SpMM runs "
           "K-blocked">,
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::bufferization::BufferizationDialect",
    "mlir::memref::MemRefDialect",
    "mlir::scf::SCFDialect",
    "mlir::sparse_tensor::SparseTensorDialect",
    "mlir::vector::VectorDialect",
  ];
}

#endif // SPARSE_OPT_TRANSFORMS_PASSES
