//===- Passes.td - sparse-opt transformation passes --------*- tablegen -*-===//
//
// Passes owned by sparse-opt. Each pass lives in its own file under
// lib/Transforms and has a FileCheck test under test/Transforms.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSE_OPT_TRANSFORMS_PASSES
#define SPARSE_OPT_TRANSFORMS_PASSES

include "mlir/Pass/PassBase.td"

def SparseOptSerialTwins : Pass<"sparse-opt-serial-twins", "ModuleOp"> {
  let summary = "Give every parallel loop a serial twin for one-thread calls";
  let description = [{
    A library called on one thread should run as fast as one compiled
    without OpenMP. The kernels' parallel loops already carry a serial twin
    (`sparse-opt-csr-kernels`); every other `scf.parallel` (the dense
    kernels, the dense loops, pooling, im2col, depthwise convolutions)
    becomes an OpenMP region that a one-thread call still enters, and whose
    body is outlined into a function of its own. Measured on MobileNetV2
    pruned to 0.9, CSR weights, one thread: 42.7 ms with OpenMP against
    25.0 ms for the same library built with `openmp=false`
    (docs/performance.md).

    This pass wraps each outermost `scf.parallel` that is not already a
    kernel's (the then-branch of an `scf.if` marked
    `sparse_opt.serial_fallback`) into such an `scf.if`: the then-branch is
    the loop, the else-branch the same loop nest as `scf.for` loops (nested
    `scf.parallel` included). Its condition is `true`;
    `sparse-opt-thread-control` adds "more than one thread", so a one-thread
    call runs the twin and never enters the OpenMP runtime. Loops with
    reductions (`scf.parallel` with results, anywhere in the nest) are left
    as they are.

    Run it before `convert-scf-to-openmp`.

    Example:

    ```mlir
    scf.parallel (%i) = (%c0) to (%n) step (%c1) { ... }
    ```

    becomes

    ```mlir
    scf.if %true {
      scf.parallel (%i) = (%c0) to (%n) step (%c1) { ... }
    } else {
      scf.for %i = %c0 to %n step %c1 { ... }
    } {sparse_opt.serial_fallback}
    ```
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::scf::SCFDialect",
  ];
}

def SparseOptFreeLoopAllocas : Pass<"sparse-opt-free-loop-allocas"> {
  let summary = "Free the stack buffers of each loop iteration when it ends";
  let description = [{
    Kernels keep small scratch buffers on the stack (`memref.alloca`: a
    dense product's packed B panel per block, a CSR or BSR row block's
    cursors, an attention row's scores), allocated in the body of a
    parallel loop. `scf.parallel` is an allocation scope, and
    `convert-scf-to-openmp` gives each parallel body its own; but the loops
    that run serially (the serial twins of `sparse-opt-serial-twins`, a
    kernel's serial fallback, every loop with `openmp=false`) are `scf.for`
    loops, where LLVM frees a stack allocation only when the function
    returns. A model's layers all run in one function, so every iteration
    of every such loop kept its buffer: ResNet-50's dense build at batch 1,
    on one thread, overflowed the 8 MB stack with the B panels of its
    products on AVX-512 (32 KB each).

    This pass saves the stack pointer at the start of each loop body that
    allocates on the stack (an `scf.for`, an `scf.while` region, and an
    `scf.parallel` with `parallel-loops-serial`, for pipelines without
    OpenMP, where `scf.parallel` becomes loops) and restores it before the
    body's terminator (`llvm.intr.stacksave` / `llvm.intr.stackrestore`,
    what a `memref.alloca_scope` lowers to; a scope itself would be lowered
    by splitting the loop's single block). An allocation counts for the
    innermost loop or allocation scope around it. A body whose buffer is
    yielded to the next iteration or out of the loop is left alone.

    Example:

    ```mlir
    scf.for %i = %c0 to %n step %c1 {
      %panel = memref.alloca() : memref<8192xf32>
      ...
    }
    ```

    becomes

    ```mlir
    scf.for %i = %c0 to %n step %c1 {
      %sp = llvm.intr.stacksave : !llvm.ptr
      %panel = memref.alloca() : memref<8192xf32>
      ...
      llvm.intr.stackrestore %sp : !llvm.ptr
    }
    ```
  }];
  let options = [
    Option<"parallelLoopsSerial", "parallel-loops-serial", "bool",
           /*default=*/"false",
           "scf.parallel loops run serially (a pipeline without OpenMP): "
           "their bodies are freed per iteration too">,
  ];
  let dependentDialects = ["mlir::LLVM::LLVMDialect"];
}

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
      count a parallel region entered now would use);
    * where such an `omp.parallel` is the then-branch of an `scf.if` marked
      `sparse_opt.serial_fallback` (a parallel loop whose else-branch runs
      the same loop serially: a kernel's, see `sparse-opt-csr-kernels`, or
      any other, see `sparse-opt-serial-twins`), the count is read before
      the `scf.if` and a count of 1 takes the else-branch too: a one-thread call then never
      enters the OpenMP runtime, whose serialized path (a region of one
      thread) costs about a microsecond per call in libomp 22.

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

    and a kernel's `scf.if %worth { omp.parallel { ... } } else { ... }`
    marked `sparse_opt.serial_fallback` becomes `%n = call ...;
    %many = arith.cmpi sgt, %n, 1; %both = arith.andi %worth, %many;
    scf.if %both { omp.parallel num_threads(%n : i32) { ... } } else { ... }`.
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
  let summary = "Compute the sparse storage (CSR, BSR, N:M) of constant weights "
                "at compile time";
  let description = [{
    Inference weights are constants. A constant sparse weight reaches the
    compiler as `sparse_tensor.convert` of an `arith.constant` (dense or
    `sparse<...>` elements), or as an `arith.constant` of a sparse tensor
    type; left alone, the sparsifier would rebuild its sparse storage on
    every call. For 2-D static float weights in CSR (levels
    `dense, compressed`, identity map), BSR (R x C blocks, as matched by
    `sparse-opt-bsr-kernels`) or N:M (`structured[N, M]`, as matched by
    `sparse-opt-nm-kernels`) this pass computes the storage once, at compile
    time, and replaces the weight with `sparse_tensor.assemble` of
    constants, e.g. for CSR

    ```mlir
    %pos = arith.constant dense<[...]> : tensor<(M+1) x posType>
    %crd = arith.constant dense<[...]> : tensor<nnz x crdType>
    %val = arith.constant dense<[...]> : tensor<nnz x f32>
    %w = sparse_tensor.assemble (%pos, %crd), %val : ... to tensor<MxKxf32, #CSR>
    ```

    which bufferization turns into read-only globals in the library: no
    conversion work at run time, and the kernels see a pattern fixed at
    compile time. CSR stores the non-zeros; BSR stores every block holding
    a non-zero, whole (zeros included, block-row-major), assembled in level
    space and reinterpreted (the sparsifier mis-inverts some block maps);
    N:M stores exactly N values per group of M columns with their in-group
    positions, padding groups with fewer non-zeros with zeros. A constant
    with a group of more than N non-zeros is an error naming the row and
    columns: the compiler does not prune behind the user's back. A weight
    whose stored entries or coordinates do not fit the encoding's
    `posWidth` / `crdWidth` is an error naming both. Other encodings are
    left to the sparsifier.
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
    `scf.parallel` loop (OpenMP threads later);
    calls with less work than `min-parallel-work` vector steps (stored
    values x ceil(N / vector-length); for SDDMM x ceil(D / vector-length);
    one per stored value for a row dot product) run the same loop serially instead, behind a run-time test (an
    `scf.if` marked `sparse_opt.serial_fallback`, which
    `sparse-opt-thread-control` also sends to the serial loop when the
    thread count is 1): entering an OpenMP region costs microseconds, and
    libomp's serialized path for one thread about as much, more than a
    short call computes.

    `linalg.matmul`, `C[M,N] = init + A[M,K] * B[K,N]` (SpMM): for each row,
    N is covered by register tiles of `n-tile` vectors of `vector-length`
    lanes, then by one tile each of n-tile/2, ..., 1 vectors and a final
    masked vector, so that every column of C is produced in a single pass
    over the row's non-zeros and narrow N wastes no pass. The accumulators
    of a tile live in vector registers across the row's non-zeros: each
    non-zero's value is broadcast once and multiplied (`vector.fma`) with
    the tile's vectors of its B row. A tile narrower than `n-tile` takes
    the non-zeros n-tile / vectors at a time (at most 4), each into its own
    set of accumulators, summed before the last non-zeros: with fewer
    accumulators than n-tile the FMA latency, not the loads, would bound
    it. B rows are visited in the order of the
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
    one vector register per row. Rows go in groups of min(dot-vector-length,
    8): the group's lane sums are reduced together (even/odd lane shuffles,
    one tree for the group) and stored as one (masked) vector, instead of a
    horizontal reduction and a scalar store per row.
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

    A product's `sparse_opt.schedule` dictionary (docs/pipelines.md, "Per-op
    schedules") overrides these options for it; a malformed one is an
    error.
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
    Option<"minParallelWork", "min-parallel-work", "unsigned",
           /*default=*/"16384",
           "Vector steps per call from which the parallel loop runs on "
           "OpenMP threads; smaller calls run serially (0: always parallel)">,
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

def SparseOptSparseAttention
    : Pass<"sparse-opt-sparse-attention", "func::FuncOp"> {
  let summary = "Compute attention with a static sparse mask over the mask's "
                "pattern only (SDDMM, masked softmax, SpMM)";
  let description = [{
    Attention whose scores carry a constant mask (a local window, global
    tokens, random keys: BigBird / Longformer style) computes the dense
    Q K^T, the softmax over every key, and P V, although the mask leaves
    only a fraction of the scores. This pass finds such attention on linalg
    tensors and computes, for each query, only its allowed keys: the
    scores of those keys (SDDMM over the mask's CSR pattern, which is a
    compile-time constant), the softmax over them (max, exp, sum) and their
    probabilities times V's rows (SpMM), fused per query row. No dense
    score matrix remains.

    What is matched, walking back from the context product:

    ```
    context = P V       linalg.batch_matmul (3-D) or linalg.matmul (2-D)
    P = softmax(X)      over the last dimension: linalg.softmax, or the
                        importer's max / sub / exp / sum / div generics
    X = terms(S)        elementwise linalg.generic ops, in any order but
                        no scale after a mask:
                          S * c, S / c       (c a scalar constant)
                          S + bias           bias: a sum of a constant
                                             [.., q, k] mask, run-time key
                                             masks, scalar constants
                          select(cond, S, c) cond: a conjunction of a
                                             constant i1 mask and run-time
                                             key masks; c <= masked-bias
    S = Q K^T           batch_matmul / matmul of Q and K^T, or with the
                        maps of Q (K^T)^T (K given as [.., keys, depth])
    ```

    with batch reshapes (`tensor.collapse_shape` / `expand_shape` of the
    leading dimensions) anywhere between. Exactly one operand of the terms
    is a (non-splat) constant: the mask. Its allowed entries are those
    above `masked-bias` (additive) or true (select); it must be the same
    for every batch and head (a broadcast). Q, K and V are found through
    the importer's head transposes (`linalg.transpose` of
    [batch, seq, heads, depth] to [batch, heads, seq, depth]), Q's rows
    read in place (K and V packed, see below; K given as K^T by a user
    transposed). This is what `sparse-import-onnx` emits for the BERT
    builder's `attention_pattern` (python/sparse_opt/models) and what a
    user can write in MLIR with `linalg.softmax`; the scores product may
    carry `sparse_opt.attention = "sparse"` (rewrite whatever the density)
    or `"dense"` (never).

    Run-time key masks (the padding mask, [batch, 1, 1, keys], added or
    selected, alone or combined with the constant mask once for all layers
    as exporters build the extended mask) are applied to the stored scores
    inside the masked softmax. A query whose stored keys the run-time masks
    all hide (a query in the padding whose window covers only padding), or
    whose mask row is empty, has a softmax over every key in the dense
    graph: such rows are detected at run time (their largest score is at
    or below masked-bias / 2) and computed densely, so results match the
    dense graph for every input. This assumes, like the dense graph's mask
    itself, that scores and unmasked biases stay within +-|masked-bias| / 2.

    Left dense (with `remarks`, a remark says why): masks allowing more
    than `max-density` of the scores (a sparse row costs more per score
    than a dense product; with the default, 0.5, the kernel still beats
    both the dense pipeline and onnxruntime's dense attention at sequence
    512-1024, whose crossover lies at 0.6-0.7; docs/performance.md),
    probabilities or scores used elsewhere, run-time terms that depend on
    the query, masks that differ per head, more than one constant mask,
    scales after a mask, other element types or dynamic shapes, and, with
    run-time masks, an additive mask whose hidden entries differ (the dense
    fallback row needs their value).

    The kernel: rows (batch x heads x queries) run as an `scf.parallel`
    loop (serially below `min-parallel-work` vector steps, as in
    `sparse-opt-csr-kernels`). Per row, Q's row is held in registers (head
    depths up to 16 vectors) and the stored keys' dot products are reduced
    in groups of 8 (`RowDots`, shared with the CSR SDDMM kernel); the terms
    are applied to each group as vectors (run-time masks gathered at the
    keys); the scores go to a stack buffer of the longest mask row; exp is
    a polynomial on vectors; the probabilities times V accumulate in
    register tiles of `n-tile` vectors along V's depth, scaled by
    1 / sum once when stored. K and V are packed head by head once per
    call when a head's rows are not adjacent (the importer's layout puts
    them heads x depth apart, which maps them to a fraction of the L2
    sets); the next row's Q row and leading key are prefetched; the
    context goes straight into the heads' merge (the transpose after P V)
    when one follows. The mask's positions and coordinates are i32
    constants (read-only globals in the library).
  }];
  let options = [
    Option<"maxDensity", "max-density", "double", /*default=*/"0.5",
           "Masks allowing more than this share of the scores stay dense "
           "(0..1)">,
    Option<"maskedBias", "masked-bias", "double", /*default=*/"-10000.0",
           "Added mask values at or below this hide a key; selects must "
           "replace scores by such a value (negative)">,
    Option<"vectorLength", "vector-length", "unsigned", /*default=*/"16",
           "Lanes per vector for 32-bit elements (scaled for other widths); "
           "0 disables the rewrite">,
    Option<"nTile", "n-tile", "unsigned", /*default=*/"8",
           "Vectors per register tile along V's depth (a power of two)">,
    Option<"minParallelWork", "min-parallel-work", "unsigned",
           /*default=*/"16384",
           "Vector steps per call from which the rows run on OpenMP "
           "threads; smaller calls run serially (0: always parallel)">,
    Option<"remarks", "remarks", "bool", /*default=*/"false",
           "Emit a remark for each attention rewritten, and for each "
           "attention left dense with the reason">,
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::bufferization::BufferizationDialect",
    "mlir::linalg::LinalgDialect",
    "mlir::math::MathDialect",
    "mlir::memref::MemRefDialect",
    "mlir::scf::SCFDialect",
    "mlir::tensor::TensorDialect",
    "mlir::vector::VectorDialect",
  ];
}

def SparseOptBsrKernels : Pass<"sparse-opt-bsr-kernels", "func::FuncOp"> {
  let summary = "Generate vector loops for BSR x dense products (SpMM, SpMV)";
  let description = [{
    Rewrites `linalg.matmul` and `linalg.matvec` whose left operand is a
    block-sparse (BSR) matrix with R x C blocks, i.e. the encoding

    ```mlir
    map = (i, j) -> (i floordiv R : dense, j floordiv C : compressed,
                     i mod R : dense, j mod C : dense)
    ```

    (any static R, C; any position / coordinate width; each block's R x C
    values stored row-major), and whose other operand and result are dense
    floats, into explicit loops. Block rows run as an `scf.parallel` loop
    (OpenMP threads later); as in `sparse-opt-csr-kernels`,
    calls with less work than `min-parallel-work` vector steps (stored
    values, block zeros included, x ceil(N / vector-length); one per stored value for a row dot
    product) run the same loop serially instead, behind a run-time test (an
    `scf.if` marked `sparse_opt.serial_fallback`, which
    `sparse-opt-thread-control` also sends to the serial loop when the
    thread count is 1): entering an OpenMP region costs microseconds, and
    libomp's serialized path for one thread about as much, more than a
    short call computes.

    SpMM, `C[M,N] = init + A[M,K] * B[K,N]`: for each block row, N is
    covered by register tiles of V vectors of `vector-length` lanes (full
    tiles, then halves, then a masked vector, as in the CSR kernel), where
    V = min(`n-tile`, the largest power of two with R x V <=
    `accumulator-registers`). The R x V accumulators stay in registers
    across the block row's blocks; for each of a block's C columns the
    tile's V vectors of the matching B row are loaded once and used by all
    R rows (one broadcast value and one `vector.fma` per row and vector).
    This reuse of B loads across the rows of a block is what CSR cannot
    do. With `prefetch-distance` D > 0 each block prefetches the tile's B
    lines of the block D ahead. When N is 1 at run time, the block dot
    products below run instead. When K is static and above `k-block`, N
    holds a full tile and the block rows average at least
    `k-block-min-nonzeros` / C blocks per K block, SpMM blocks over K:
    groups of block rows run in parallel, and for each full tile the block
    columns are taken `k-block` columns at a time, each block row
    accumulating its blocks of them into its C tile from a cursor (block
    columns ascend), so the B panel stays in L1 across the block rows.

    SpMV, `y[M] = init + A[M,K] * x[K]`, and SpMM with N = 1: each block
    row accumulates one vector of R x C lanes: a block's values (one
    contiguous vector load) times its C entries of x repeated R times, one
    `vector.fma` per block; R horizontal sums per block row end it (with
    C = 1 the accumulator is the R results, stored as one vector).

    When `init` is a zero `linalg.fill` the result goes to a fresh buffer
    and is never read; otherwise `init` is accumulated into. Products the
    pass does not match (other encodings, a shape that is not a multiple of
    the block, integers, transposed maps) are left to other passes and the
    sparsifier. A `vector-length` of 0 disables it.

    A product's `sparse_opt.schedule` dictionary (docs/pipelines.md, "Per-op
    schedules") overrides these options for it; a malformed one is an
    error.
  }];
  let options = [
    Option<"vectorLength", "vector-length", "unsigned", /*default=*/"16",
           "Lanes per vector for 32-bit elements (scaled for other widths); "
           "0 disables the rewrite">,
    Option<"nTile", "n-tile", "unsigned", /*default=*/"8",
           "Most vectors per SpMM register tile along N (a power of two)">,
    Option<"accumulatorRegisters", "accumulator-registers", "unsigned",
           /*default=*/"16",
           "Vector registers an SpMM tile's R x V accumulators may take">,
    Option<"prefetchDistance", "prefetch-distance", "unsigned",
           /*default=*/"2",
           "Prefetch the B rows of the block this many ahead in SpMM "
           "(0: none)">,
    Option<"kBlock", "k-block", "unsigned", /*default=*/"64",
           "Columns of A (B rows) per K block of the K-blocked SpMM, rounded "
           "down to whole blocks (0: never block over K)">,
    Option<"rowBlock", "row-block", "unsigned", /*default=*/"64",
           "Rows per parallel iteration of the K-blocked SpMM (whole block "
           "rows)">,
    Option<"kBlockMinNonZeros", "k-block-min-nonzeros", "unsigned",
           /*default=*/"10",
           "Average B rows used per block row and K block (blocks x C) from "
           "which SpMM blocks over K">,
    Option<"minParallelWork", "min-parallel-work", "unsigned",
           /*default=*/"16384",
           "Vector steps per call from which the parallel loop runs on "
           "OpenMP threads; smaller calls run serially (0: always parallel)">,
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

def SparseOptNmKernels : Pass<"sparse-opt-nm-kernels", "func::FuncOp"> {
  let summary = "Generate vector loops for N:M x dense products (SpMM, SpMV)";
  let description = [{
    Rewrites `linalg.matmul` and `linalg.matvec` whose left operand is an
    N:M structured sparse matrix (at most N non-zeros in each group of M
    consecutive columns of a row, e.g. 2:4), i.e. the encoding

    ```mlir
    map = (i, j) -> (i : dense, j floordiv M : dense,
                     j mod M : structured[N, M])
    ```

    (storage: exactly N values per group and, as coordinates, their
    positions 0 .. M-1 within the group; no positions buffer), and whose
    other operand and result are dense floats, into explicit loops. Rows
    run as an `scf.parallel` loop (OpenMP threads later); as in
    `sparse-opt-csr-kernels`,
    calls with less work than `min-parallel-work` vector steps (stored
    values x ceil(N / vector-length); one per stored value for a row dot
    product) run the same loop serially instead, behind a run-time test (an
    `scf.if` marked `sparse_opt.serial_fallback`, which
    `sparse-opt-thread-control` also sends to the serial loop when the
    thread count is 1): entering an OpenMP region costs microseconds, and
    libomp's serialized path for one thread about as much, more than a
    short call computes.
    K must be a multiple of M.

    SpMM, `C[M,N] = init + A[M,K] * B[K,N]`: like the CSR kernel (register
    tiles of `n-tile` vectors along N, then halves, then a masked vector;
    one broadcast and `vector.fma` per kept value and vector), but a row is
    a loop of K/M groups with a static trip count (when K is static) and no
    row-pointer loads, and the N kept values of a group are unrolled: value
    t of group g multiplies B row g * M + offset (a narrower tile adds it
    into accumulator set t mod min(N, n-tile / vectors, 4), as the CSR
    kernel's sets). With `prefetch-distance`
    D > 0 each group prefetches the tile's lines of the B row of the kept
    value D ahead. When K is static and above `k-block`, and a K block
    holds at least `k-block-min-nonzeros` kept values per row, SpMM with N
    of at least one full tile blocks over K instead: blocks of `row-block`
    rows run in parallel, and for each full tile the groups are taken
    `k-block` columns at a time, every row of the block accumulating them
    into its C tile (loaded and stored once per K block), so the B panel
    stays in L1 across the rows. Every row has the same groups in a K
    block: no per-row cursor, unlike CSR.

    SpMV, `y[M] = init + A[M,K] * x[K]`, and SpMM with N = 1: each row is a
    dot product over its K/M * N kept values with `dot-vector-length`
    lanes: vector loads of offsets and values, the columns computed as
    (kept index / N) * M + offset, a gather of x, one FMA, a masked tail
    and one horizontal reduction.

    When `init` is a zero `linalg.fill` the result goes to a fresh buffer
    and is never read; otherwise `init` is accumulated into. Products the
    pass does not match are left to other passes and the sparsifier (which
    also handles this encoding, with scalar loops). A `vector-length` of 0
    disables it.

    A product's `sparse_opt.schedule` dictionary (docs/pipelines.md, "Per-op
    schedules") overrides these options for it; a malformed one is an
    error.
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
           /*default=*/"2",
           "Prefetch the B row of the kept value this many ahead in SpMM "
           "(0: none)">,
    Option<"kBlock", "k-block", "unsigned", /*default=*/"64",
           "Columns of A (B rows) per K block of the K-blocked SpMM, rounded "
           "down to whole groups (0: never block over K)">,
    Option<"rowBlock", "row-block", "unsigned", /*default=*/"64",
           "Rows per parallel iteration of the K-blocked SpMM">,
    Option<"kBlockMinNonZeros", "k-block-min-nonzeros", "unsigned",
           /*default=*/"10",
           "Kept values per row and K block from which SpMM blocks over K">,
    Option<"minParallelWork", "min-parallel-work", "unsigned",
           /*default=*/"16384",
           "Vector steps per call from which the parallel loop runs on "
           "OpenMP threads; smaller calls run serially (0: always parallel)">,
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

def SparseOptAnalyzeWeights : Pass<"sparse-opt-analyze-weights", "ModuleOp"> {
  let summary = "Measure the sparsity structure of every constant weight";
  let description = [{
    For every layer with a constant weight, records what choosing its storage
    format needs to know, and optionally writes a per-layer report. Layers:
    `linalg.matmul` with a constant right operand W (K x N, as in X W: the
    output features are W's columns) or, failing that, a constant left
    operand (M x K); `linalg.matvec` with a constant matrix; 2-D convolutions
    whose filter is constant (`conv_2d_nchw_fchw`, `conv_2d_nhwc_fhwc`,
    `conv_2d_nhwc_hwcf`). The weight is seen as a matrix of output features
    (rows) x reduction (columns: K, or C x KH x KW in the filter's order).

    Measured: non-zeros, density, empty rows, row lengths (min, mean, max,
    and std / mean, the load-balance risk of splitting rows evenly over
    threads), conformance to each N:M pattern of `nm-patterns` (at most N
    non-zeros in every group of M consecutive columns; the column count
    must be a multiple of M), and for each block shape of `block-shapes` the
    share of blocks with a non-zero and the fill (non-zeros over the values
    those blocks store). The formats that store the weight without loss
    follow: dense, CSR and every BSR shape always, the N:M patterns it
    conforms to.

    The op gets a `sparse_opt.weight` dictionary (operand, rows, cols,
    nonzeros, density, empty_rows, max_row_nonzeros, row_variation, nm,
    exact_formats). With `report` (a file, or `-` for stdout) one row per
    layer is written as text or JSON (`report-format`); layers are named by
    their location's name (the ONNX node name from the importer) or the
    location itself. Ops and IR are otherwise unchanged. A float weight
    whose values are not available (an elided resource) gets a warning.
  }];
  let options = [
    Option<"report", "report", "std::string", /*default=*/"\"\"",
           "Write the per-layer report to this file ('-': stdout)">,
    Option<"reportFormat", "report-format", "std::string",
           /*default=*/"\"text\"", "Report format: text or json">,
    Option<"nmPatterns", "nm-patterns", "std::string",
           /*default=*/"\"2:4,1:4,2:8,4:8\"",
           "N:M patterns to check conformance to">,
    Option<"blockShapes", "block-shapes", "std::string",
           /*default=*/"\"1x4,4x1,4x4,8x1,16x1,8x8\"",
           "RxC block shapes to measure">,
  ];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def SparseOptSelectWeightFormats
    : Pass<"sparse-opt-select-weight-formats", "ModuleOp"> {
  let summary = "Choose each constant weight's storage format (dense, CSR, "
                "BSR, N:M) with a calibrated cost model";
  let description = [{
    For every `linalg.matmul` with a constant f32 weight (right operand W,
    K x N, as in X W; or left operand) and every `linalg.matvec` with a
    constant f32 matrix, predicts the time of the product with the weight
    dense, as CSR, as BSR for every block shape the cost model has a fit
    for and that tiles the weight (with the fill the weight analysis
    measures), and in every N:M pattern of the model it conforms to, and
    rewrites the op to the fastest (docs/cost-model.md). A BSR shape is
    passed over where a block of its rows and a multiple of its columns
    stores the same values (a 4x4-block weight is not stored as 4x1): that
    kernel does the same work over fewer blocks, which the fits, measured
    on random blocks of each shape, do not rank reliably. N, the activation
    count, is X's row count (B's column count for a left weight, 1 for
    matvec); when dynamic, `dynamic-n`.

    A sparse weight becomes a `sparse<...>` constant (its non-zeros)
    converted to the format's encoding, which
    `sparse-opt-materialize-sparse-constants` lays out at compile time for
    the CSR, BSR and N:M kernels. Those take the sparse operand on the left,
    so X W is computed transposed, `(X W)^T = W^T X^T`: X, a non-zero init
    and the result go through `linalg.transpose` (the model predicts those
    transposes too). A left weight or a matvec matrix is replaced in place.
    CSR positions have `index-bits`; with `narrow-coordinates` column
    indices are 16-bit when they fit (BSR: block columns), N:M in-group
    offsets 8-bit.

    What decides, first match first:
    1. a `sparse_opt.format` string attribute on the op (`"dense"`,
       `"csr"`, `"bsr:4x4"`, `"nm:2:4"`);
    2. `overrides`, `PATTERN=FORMAT` pairs separated by commas, PATTERN a
       glob on the layer name (the location name the ONNX importer gives,
       as in the weight report), e.g. `*attention*=dense,*ffn*=bsr:4x4`;
    3. a weight less sparse than `min-sparsity` stays dense;
    4. `formats`: `auto` (the cost model's choice), or one format for every
       layer that format can store (the others stay dense).
    A format asked for by 1 or 2 that cannot store the weight exactly (a
    block shape that does not tile it, an N:M pattern it breaks) is an
    error naming the layer: the compiler does not prune.

    The cost model is `cost-model` (JSON, written by scripts/calibrate.py)
    or, when empty, the one shipped for the target's vector width; it is
    read when `formats` is `auto` or `cost-model` is given. Its target must
    have the vector width of `target-cpu` / `target-features` (an error
    otherwise); another CPU name is a warning. With `report` (a file, `-`
    for stdout) each layer gets a row: the weight analysis' statistics, N,
    the format chosen, the reason and the predicted time of each candidate,
    as text or JSON (`report-format`). Convolutions are reported and left
    dense: `sparse-opt-convolution-to-matmul` makes them products first
    (the CPU pipeline and `sparse-opt-report` run it before this pass).
    With `rewrite=false` the IR is left as it is (the `sparse-opt-report`
    pipeline: decide and explain only).

    With a cost model and `schedules` (default true), each rewritten
    product (and each dense matmul with a static N) also gets the kernel
    schedule the model decides, `sparse_opt.schedule` (parallel or serial
    from the predicted one-thread time against twice the model's fork/join
    cost, `n_tile`, `k_block`, `nnz_balanced`; docs/cost-model.md,
    "Schedules"), which the kernel passes honour; an op's own
    `sparse_opt.schedule` is kept. The report shows it and why.
  }];
  let options = [
    Option<"formats", "formats", "std::string", /*default=*/"\"auto\"",
           "auto (cost model), dense, csr, bsr:RxC or nm:N:M">,
    Option<"costModel", "cost-model", "std::string", /*default=*/"\"\"",
           "Cost model file (JSON); empty: the shipped one for the target">,
    Option<"targetCpu", "target-cpu", "std::string", /*default=*/"\"host\"",
           "LLVM CPU the code is for, checked against the cost model's">,
    Option<"targetFeatures", "target-features", "std::string",
           /*default=*/"\"\"", "Extra LLVM target features">,
    Option<"overrides", "overrides", "std::string", /*default=*/"\"\"",
           "PATTERN=FORMAT,...: formats by layer-name glob">,
    Option<"minSparsity", "min-sparsity", "double", /*default=*/"0.0",
           "Keep weights less sparse than this dense (0..1)">,
    Option<"dynamicN", "dynamic-n", "int64_t", /*default=*/"1",
           "Activation count assumed where it is dynamic">,
    Option<"report", "report", "std::string", /*default=*/"\"\"",
           "Write the per-layer report to this file ('-': stdout)">,
    Option<"reportFormat", "report-format", "std::string",
           /*default=*/"\"text\"", "Report format: text or json">,
    Option<"indexBits", "index-bits", "unsigned", /*default=*/"32",
           "Position (and wide coordinate) width of sparse weights: 32 or 64">,
    Option<"narrowCoordinates", "narrow-coordinates", "bool",
           /*default=*/"true",
           "16-bit column (block column) indices where they fit, 8-bit N:M "
           "offsets">,
    Option<"rewrite", "rewrite", "bool", /*default=*/"true",
           "Rewrite the products (false: decide and report only)">,
    Option<"schedules", "schedules", "bool", /*default=*/"true",
           "With a cost model, also decide each product's kernel schedule "
           "(parallel or serial, column tile, K block) and record it as "
           "sparse_opt.schedule; false: the kernel passes' options decide">,
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::linalg::LinalgDialect",
    "mlir::sparse_tensor::SparseTensorDialect",
    "mlir::tensor::TensorDialect",
  ];
}

def SparseOptDenseKernels : Pass<"sparse-opt-dense-kernels", "func::FuncOp"> {
  let summary = "Generate register-blocked vector loops for dense products "
                "(matmul, batch_matmul)";
  let description = [{
    Rewrites `linalg.matmul` (also with A transposed, `(k, m)`) and
    `linalg.batch_matmul` whose operands and result are dense float tensors
    into explicit loops, instead of leaving them to
    `convert-linalg-to-loops`' scalar loop nest. C = init + A x B, per batch:

    - The output is cut into blocks of `row-block` rows x `column-block`
      columns; the (batch, row block, column block) triples run as one
      `scf.parallel` loop (OpenMP threads later), unless `parallel` is
      off or the product is static and smaller than `parallel-min-flops`
      (2 M N K x batches), which would not pay for a fork / join.
    - Within a block, K runs in blocks of `k-block`; for each K block the
      block's columns are covered by register tiles of `tile-vectors`
      vectors of `vector-length` lanes, then one tile each of
      tile-vectors/2, ..., 1 vectors and a final masked vector, and for
      each column tile the rows run in groups of `tile-rows`, then
      tile-rows/2, ..., 1: the tile's B panel (k-block x tile width) stays
      in L1 across the row groups.
    - A register tile keeps its tile-rows x tile-vectors accumulators in
      vector registers across the K block: per k it loads the tile's B
      vectors once, broadcasts one A element per row and does one
      `vector.fma` per accumulator.

    When `init` is a zero `linalg.fill` the result goes to a fresh buffer
    (the first K block starts from zero); otherwise `init` is accumulated
    into. Products with B transposed or broadcast, integer products and
    mixed element types are left alone. A `vector-length` of 0 disables the
    pass.

    A product's `sparse_opt.schedule` dictionary (docs/pipelines.md, "Per-op
    schedules") overrides these options for it; a malformed one is an
    error.
  }];
  let options = [
    Option<"vectorLength", "vector-length", "unsigned", /*default=*/"16",
           "Lanes per vector for 32-bit elements (scaled for other widths); "
           "0 disables the rewrite">,
    Option<"tileRows", "tile-rows", "unsigned", /*default=*/"6",
           "Rows of C per register tile">,
    Option<"tileVectors", "tile-vectors", "unsigned", /*default=*/"4",
           "Vectors of C per register tile row (a power of two)">,
    Option<"rowBlock", "row-block", "unsigned", /*default=*/"144",
           "Rows of C per parallel block">,
    Option<"columnBlock", "column-block", "unsigned", /*default=*/"128",
           "Columns of C per parallel block">,
    Option<"kBlock", "k-block", "unsigned", /*default=*/"128",
           "Depth (K) per block: the B rows a register tile's panel holds">,
    Option<"parallel", "parallel", "bool", /*default=*/"true",
           "Run the blocks as an scf.parallel loop (else serial loops)">,
    Option<"parallelMinFlops", "parallel-min-flops", "uint64_t",
           /*default=*/"262144",
           "Static products with fewer flops (2 M N K x batches) run "
           "serially">,
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::bufferization::BufferizationDialect",
    "mlir::memref::MemRefDialect",
    "mlir::scf::SCFDialect",
    "mlir::vector::VectorDialect",
  ];
}

def SparseOptDepthwiseKernels
    : Pass<"sparse-opt-depthwise-kernels", "func::FuncOp"> {
  let summary = "Compile depthwise convolutions on tensors to vector loops";
  let description = [{
    Replaces every `linalg.depthwise_conv_2d_nchw_chw` on float tensors
    (MobileNetV2's 3x3 convolutions; the importer pads the input before
    them) whose filter is static with at most 49 taps, and whose sizes other
    than the batch are static, by vector loops on the buffers of its
    operands (the result zero-filled or accumulated onto its init):

    - Threads: the (image, channel) pairs in one `scf.parallel` when
      `parallel` is set and the convolution has at least
      `parallel-min-flops` flops (or a dynamic batch).
    - Per pair, the KH x KW filter taps are broadcast once; tiles of 4
      output rows x one vector of output columns (the last vector masked,
      the rows after the last whole tile one at a time) add each tap times
      the input vector under it. Four rows are four independent
      accumulator chains (one output vector's taps are a chain).
    - The input vector: a (masked) load at column stride 1; at stride 2,
      two loads (the second stops one element short, which is never used)
      and a shuffle of the even lanes; otherwise, and for a masked vector
      at stride 2, a gather.

    Without it, the generic path could vectorize nothing (the innermost loop
    is the filter width): after the pipeline's elementwise fusion folded
    the padding into the convolution, `sparse-opt-dense-loops` ran each
    output point as a scalar loop of its own. Run it before
    `linalg-generalize-named-ops`.
  }];
  let options = [
    Option<"vectorLength", "vector-length", "unsigned", /*default=*/"16",
           "Lanes per vector for 32-bit elements; 0 leaves the "
           "convolutions as they are">,
    Option<"parallel", "parallel", "bool", /*default=*/"true",
           "Run the (image, channel) pairs on OpenMP threads">,
    Option<"parallelMinFlops", "parallel-min-flops", "uint64_t",
           /*default=*/"262144",
           "Convolutions with fewer flops (static) stay serial">,
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::bufferization::BufferizationDialect",
    "mlir::memref::MemRefDialect",
    "mlir::scf::SCFDialect",
    "mlir::vector::VectorDialect",
  ];
}

def SparseOptDenseLoops : Pass<"sparse-opt-dense-loops", "func::FuncOp"> {
  let summary = "Tile dense linalg ops on buffers into parallel loops over "
                "vectors and vectorize them";
  let description = [{
    For every linalg op on buffers (after bufferization: elementwise ops,
    reductions, transposes, pooling, convolutions; products are handled by
    `sparse-opt-dense-kernels` before):

    - Threads: when `parallel` is set and the op has at least
      `parallel-min-iterations` iterations (or a dynamic size) and at least
      one leading parallel dimension, its leading parallel dimensions except
      the innermost loop are tiled by 1 into one `scf.parallel` loop
      (OpenMP threads later); an op of a single loop is cut into chunks of
      `parallel-chunk` iterations.
    - Vectors: the innermost loop is tiled by a vector of `vector-length`
      32-bit lanes (scaled by the op's widest element type) and every other
      loop by 1, and the tile is vectorized with the linalg vectorizer, the
      last partial vector masked. Ops the vectorizer does not take
      (convolution and pooling windows, gathers; depthwise convolutions
      come as vector loops from `sparse-opt-depthwise-kernels`) keep scalar
      tile loops, lowered by `convert-linalg-to-loops` later.

    The vector forms left (masks, unit dimensions, multi-reductions,
    permuted transfers) are then lowered to 1-D loads, stores and
    reductions, and `exp`, `log`, `tanh` and `erf` are replaced by
    polynomial approximations so that vectors of them do not become one
    libm call per lane.
  }];
  let options = [
    Option<"vectorLength", "vector-length", "unsigned", /*default=*/"16",
           "Lanes per vector for 32-bit elements; 0 leaves the ops scalar">,
    Option<"parallel", "parallel", "bool", /*default=*/"true",
           "Tile the leading parallel dimensions into scf.parallel loops">,
    Option<"parallelMinIterations", "parallel-min-iterations", "uint64_t",
           /*default=*/"32768",
           "Ops with fewer iterations (static) stay serial">,
    Option<"parallelChunk", "parallel-chunk", "int64_t", /*default=*/"4096",
           "Iterations per parallel tile of a single-loop op">,
  ];
  let dependentDialects = [
    "mlir::affine::AffineDialect",
    "mlir::arith::ArithDialect",
    "mlir::math::MathDialect",
    "mlir::memref::MemRefDialect",
    "mlir::scf::SCFDialect",
    "mlir::vector::VectorDialect",
  ];
}

def SparseOptConvolutionToMatmul
    : Pass<"sparse-opt-convolution-to-matmul", "func::FuncOp"> {
  let summary = "Rewrite 2-D convolutions with a constant filter into "
                "linalg.matmul on the filter as a matrix (im2col)";
  let description = [{
    Convolutions with sparse weights run as sparse matrix products: the
    filter, seen as a matrix of output features x reduction, times the
    patches of the input (im2col), so that `sparse-opt-select-weight-formats`
    stores the filter sparse and the SpMM kernels run it. On tensors, before
    the format choice. Rewritten, with a constant filter of static shape
    (dense elements or a resource blob), one float element type, and static
    sizes except the batch N:

    - `linalg.conv_2d_nchw_fchw`: W (F x C KH KW, the filter reshaped) times
      patches (C KH KW x N Ho Wo) into F x N Ho Wo: the weight on the left,
      as the CSR / BSR / N:M kernels take it.
    - `linalg.conv_2d_ngchw_gfchw` (grouped; what the ONNX importer emits
      for 1 < group < channels): one such product per group, each group's
      filter its own constant, the results inserted into G x F/G x N Ho Wo.
    - `linalg.conv_2d_nhwc_hwcf` and `linalg.conv_2d_nhwc_fhwc`: patches
      (N Ho Wo x KH KW C) times W^T (KH KW C x F: the HWCF filter reshaped,
      the FHWC one transposed at compile time) into N Ho Wo x F: the weight
      on the right, as in a linear layer (select-weight-formats then
      computes a sparse product transposed).

    The patches are one `linalg.generic` copy whose input map is affine
    (`h = oh * stride + kh * dilation`), so strides and dilations cost no
    index arithmetic; padding is whatever produced the input (the ONNX
    importer pads with a `linalg.generic`). A 1x1 convolution with stride 1 needs
    no patches: the input reshaped (NHWC, or NCHW with N = 1), or for NCHW
    with N > 1 transposed to C x N H W. NCHW results with N > 1, and a
    non-zero-fill init (the bias), are transposed between N x F x Ho Wo and
    F x N Ho Wo; a zero-fill init stays a fill, which the kernels never
    read.

    `convert=sparse` (the default) rewrites only convolutions whose filter
    select-weight-formats may store sparse: f32 with at least `min-sparsity`
    of its elements zero (the pipeline passes its `weight-min-sparsity`);
    `convert=all` rewrites every one it can (e.g. to compare dense im2col).

    NCHW patches larger than `panel-bytes` (default 256 KiB, half of a
    512 KiB L2; 0: never) are built in panels of output rows of one image,
    the most rows that divide Ho, fit `panel-bytes` and make at least
    `panel-min-columns` (64) columns: an `scf.for` over images and panels
    builds each panel's patches just before its product, so both stay in
    cache (the SpMM kernels run rows outermost, and a row sweeping all of
    a wide B streams it from L3 once per row), into an accumulator
    [N, panels, F, rows Wo] whose blocks are contiguous; one generic then
    puts F before the panels and adds a non-zero init. Without such a row
    count (a panel of `panel-min-columns` over the budget, as at 14 x 14
    with 256 channels) the patches are built whole.
    Depthwise, 1-D (imported as 2-D over a unit height, so rewritten too),
    3-D convolutions, non-constant filters and dynamic spatial sizes are
    left alone.
  }];
  let options = [
    Option<"convert", "convert", "std::string", /*default=*/"\"sparse\"",
           "Which convolutions to rewrite: 'sparse' (filters that will be "
           "stored sparse) or 'all'">,
    Option<"minSparsity", "min-sparsity", "double", /*default=*/"0.7",
           "With convert=sparse: the sparsity (zeros / elements, 0..1) from "
           "which a filter is stored sparse">,
    Option<"panelBytes", "panel-bytes", "uint64_t", /*default=*/"262144",
           "NCHW: build the patches in panels of output rows of at most "
           "this many bytes, each just before its product (0: whole)">,
    Option<"panelMinColumns", "panel-min-columns", "int64_t",
           /*default=*/"64",
           "The fewest columns (output pixels) of a panel">,
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::linalg::LinalgDialect",
    "mlir::scf::SCFDialect",
    "mlir::tensor::TensorDialect",
  ];
}

#endif // SPARSE_OPT_TRANSFORMS_PASSES
