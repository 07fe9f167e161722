/*===- sparse-opt-c/Runtime.h - sparse-opt runtime C API ----------*- C -*-===*
 *
 * The small runtime that goes with libraries built by `sparse-compile`:
 * memref descriptors matching MLIR's C interface, a CSR matrix type with
 * readers for DLMC `.smtx` and Matrix Market `.mtx` files, attention masks,
 * loading of compiled libraries, and helpers that call their SpMM / SpMV /
 * SDDMM entry points.
 *
 * Conventions:
 *  - Functions returning `int` return 0 on success and non-zero on failure.
 *    On failure, so_last_error() describes what went wrong; for file readers
 *    the message reads `PATH:LINE: expected ..., found ...`.
 *  - Memory handed to the caller is malloc'ed; release it with the function
 *    named in the documentation of the call that produced it.
 *  - All functions are thread-safe as long as distinct threads do not modify
 *    the same object at the same time.
 *
 *===----------------------------------------------------------------------===*/

#ifndef SPARSE_OPT_C_RUNTIME_H
#define SPARSE_OPT_C_RUNTIME_H

#include <stdint.h>

/* The library is built with hidden visibility; this marks the API. */
#define SO_API __attribute__((visibility("default")))

#ifdef __cplusplus
extern "C" {
#endif

/*===----------------------------------------------------------------------===*
 * Memref descriptors
 *
 * Layout-compatible with MLIR's ranked strided memref descriptors as passed to
 * `_mlir_ciface_*` functions, for any element type. The guards let a header
 * generated for a compiled library define the same structs.
 *===----------------------------------------------------------------------===*/

#ifndef SO_MEMREF_1D_DEFINED
#define SO_MEMREF_1D_DEFINED
typedef struct SoMemRef1D {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[1];
  int64_t strides[1];
} SoMemRef1D;
#endif

#ifndef SO_MEMREF_2D_DEFINED
#define SO_MEMREF_2D_DEFINED
typedef struct SoMemRef2D {
  void *allocated;
  void *aligned;
  int64_t offset;
  int64_t sizes[2];
  int64_t strides[2];
} SoMemRef2D;
#endif

/* A contiguous 1-D view of `data` (not owned). */
SO_API SoMemRef1D so_memref_1d(void *data, int64_t size);

/* A contiguous row-major `rows` x `cols` view of `data` (not owned). */
SO_API SoMemRef2D so_memref_2d(void *data, int64_t rows, int64_t cols);

/* Frees the `allocated` pointer of a memref returned by a compiled kernel
 * (kernels malloc their results), or any other buffer this runtime malloc'ed.
 * NULL is ignored. */
SO_API void so_memref_release(void *allocated);

/*===----------------------------------------------------------------------===*
 * CSR matrices
 *===----------------------------------------------------------------------===*/

/* A rows x cols sparse matrix in compressed sparse row form: the entries of
 * row i are col_idx[row_ptr[i] .. row_ptr[i+1]) with values at the same
 * positions. Matrices produced by this runtime have sorted, distinct column
 * indices within each row and own their arrays (release with so_csr_free). */
typedef struct SoCsr {
  int64_t rows, cols, nnz;
  int64_t *row_ptr; /* rows + 1 entries */
  int64_t *col_idx; /* nnz entries */
  float *values;    /* nnz entries */
} SoCsr;

/* Frees the arrays of `m` and zeroes it. NULL and zeroed matrices are fine. */
SO_API void so_csr_free(SoCsr *m);

/* Fills `count` floats with values uniform in [-1, 1) drawn from splitmix64
 * seeded with `seed`: value k is (top 24 bits of the k-th output) * 2^-23 - 1,
 * so the sequence is identical on every platform. Fails on NULL data with a
 * positive count or a negative count. */
SO_API int so_fill_random(float *data, int64_t count, uint64_t seed);

/* Replaces the values of `m` with so_fill_random(values, nnz, seed). */
SO_API int so_csr_fill_random(SoCsr *m, uint64_t seed);

/* A random rows x cols matrix with exactly round(density * rows * cols)
 * entries (density in [0, 1]), a uniformly random subset of the cells picked
 * with splitmix64 seeded with `seed ^ 0x5851F42D4C957F2D` and integer
 * arithmetic only, so the pattern is identical on every platform; values
 * then come from so_csr_fill_random(seed). Takes O(nnz log nnz) time, or
 * O(rows * cols) above density 0.5. On failure *out is zeroed. */
SO_API int so_csr_random(int64_t rows, int64_t cols, double density,
                         uint64_t seed, SoCsr *out);

/* Copies the index arrays of `m` to malloc'ed 32-bit arrays (release each with
 * so_memref_release). Fails, writing NULL to both, if a size or any index
 * does not fit in int32_t. */
SO_API int so_csr_to_index32(const SoCsr *m, int32_t **row_ptr32,
                             int32_t **col_idx32);

/*===----------------------------------------------------------------------===*
 * Matrix files. On failure *out is zeroed.
 *===----------------------------------------------------------------------===*/

/* Reads a DLMC `.smtx` file: line 1 `nrows, ncols, nnz`, line 2 the nrows+1
 * row offsets, line 3 the nnz 0-based column indices (ascending and distinct
 * within each row). The files hold a pattern only: values are set to 1.0
 * (call so_csr_fill_random to draw values). */
SO_API int so_csr_read_smtx(const char *path, SoCsr *out);

/* Reads a Matrix Market coordinate file (`real`, `integer` or `pattern`;
 * `general`, `symmetric` or `skew-symmetric`). Symmetric files must store the
 * lower triangle (skew-symmetric: strictly lower) and are expanded to both
 * triangles. Entries may come in any order; duplicates are summed (pattern
 * entries are 1.0 however often they occur). */
SO_API int so_csr_read_mtx(const char *path, SoCsr *out);

/* Reads `path` with the reader its extension names (.smtx or .mtx). */
SO_API int so_csr_read(const char *path, SoCsr *out);

/*===----------------------------------------------------------------------===*
 * Compiled libraries
 *===----------------------------------------------------------------------===*/

typedef struct SoLibrary SoLibrary;

/* dlopen()s a library built by sparse-compile (RTLD_NOW | RTLD_LOCAL).
 * `path` names a file: unlike with dlopen, a name without '/' is relative to
 * the working directory. Returns NULL on failure. */
SO_API SoLibrary *so_library_open(const char *path);

/* The address of entry point `name`: `_mlir_ciface_<name>` if the library
 * exports it, else `<name>`. NULL if neither exists. */
SO_API void *so_library_lookup(SoLibrary *lib, const char *name);

/* The signature entry point `name` was compiled from, as MLIR function type
 * text such as "(tensor<64x32xf32, #sparse_tensor.encoding<{...}>>,
 * tensor<32x?xf32>) -> tensor<64x?xf32>" (sparse-compile exports it as
 * `sparse_opt_signature_<name>`), or NULL if the library has none. */
SO_API const char *so_library_signature(SoLibrary *lib, const char *name);

/* Sets the number of OpenMP threads the library's kernels use, through its
 * exported `sparse_opt_set_num_threads(int32_t)`; n <= 0 passes 0, which
 * restores the OpenMP default. Fails if the library does not export it. */
SO_API int so_library_set_num_threads(SoLibrary *lib, int n);

/* The library's thread count (its `sparse_opt_get_num_threads()`), or a
 * negative value if it does not export that function. */
SO_API int so_library_get_num_threads(SoLibrary *lib);

/* dlclose()s the library and frees `lib`. NULL is ignored. */
SO_API void so_library_close(SoLibrary *lib);

/*===----------------------------------------------------------------------===*
 * Calling compiled kernels
 *
 * Entry points follow the sparse-assembler ABI with C-interface descriptors:
 * the CSR operand is passed as its pos (row_ptr), crd (col_idx) and val
 * buffers, and the returned dense tensor comes back, malloc'ed by the kernel,
 * through a descriptor pointed to by the FIRST argument.
 *===----------------------------------------------------------------------===*/

/* C[M,N] = A[M,K] * B[K,N]. */
typedef void (*SoSpmmFn)(SoMemRef2D *result, SoMemRef1D *pos, SoMemRef1D *crd,
                         SoMemRef1D *val, SoMemRef2D *b);
/* y[M] = A[M,K] * x[K]. */
typedef void (*SoSpmvFn)(SoMemRef1D *result, SoMemRef1D *pos, SoMemRef1D *crd,
                         SoMemRef1D *val, SoMemRef1D *x);

/* The descriptors of a CSR operand, built once so that timing loops do not
 * convert indices on every call. It borrows the values of the matrix (and,
 * for 64-bit indices, its index arrays): keep the matrix alive and unchanged
 * while the operand is in use. */
typedef struct SoCsrOperand {
  int64_t rows, cols, nnz;
  int index_bits; /* element width of pos and crd: 32 or 64 */
  SoMemRef1D pos, crd, val;
} SoCsrOperand;

/* Builds the descriptors of `a` for a kernel compiled with `index_bits`-wide
 * (32 or 64) positions and coordinates. On failure *out is zeroed. */
SO_API int so_csr_operand_init(const SoCsr *a, int index_bits,
                               SoCsrOperand *out);

/* Frees what so_csr_operand_init allocated and zeroes `op`. */
SO_API void so_csr_operand_release(SoCsrOperand *op);

/* Calls SpMM entry `fn` (an SoSpmmFn) on A and row-major B (K x n) and copies
 * the M x n result, row-major, into `c`; `c` may be NULL to discard it (timing
 * loops). Fails if the kernel returns a result of another shape. */
SO_API int so_call_spmm_prepared(void *fn, const SoCsrOperand *a,
                                 const float *b, int64_t n, float *c);

/* Calls SpMV entry `fn` (an SoSpmvFn) on A and x (K floats) and copies the
 * result into `y` (M floats, or NULL to discard it). */
SO_API int so_call_spmv_prepared(void *fn, const SoCsrOperand *a,
                                 const float *x, float *y);

/* One-shot forms of the above: build the operand, call, release. */
SO_API int so_call_spmm(void *fn, const SoCsr *a, int index_bits,
                        const float *b, int64_t n, float *c);
SO_API int so_call_spmv(void *fn, const SoCsr *a, int index_bits,
                        const float *x, float *y);

/*===----------------------------------------------------------------------===*
 * Calling kernels with embedded weights
 *
 * A kernel whose sparse weight is a constant in its IR (an `arith.constant
 * sparse<...>` converted to CSR, see `scripts/make-kernel.py
 * --embed-weights`) takes the dense operand only. Nothing in the call tells
 * the kernel K: pass a B (or x) of the K rows it was compiled for (the entry's
 * so_library_signature names it), or it reads out of bounds.
 *===----------------------------------------------------------------------===*/

/* C[M,N] = A[M,K] * B[K,N] with A compiled in. */
typedef void (*SoDenseSpmmFn)(SoMemRef2D *result, SoMemRef2D *b);
/* y[M] = A[M,K] * x[K] with A compiled in. */
typedef void (*SoDenseSpmvFn)(SoMemRef1D *result, SoMemRef1D *x);

/* Calls SpMM entry `fn` (an SoDenseSpmmFn) on row-major B (k x n, n > 0) and
 * copies the m x n result, row-major, into `c`; `c` may be NULL to discard
 * it (timing loops). Fails if the kernel returns a result of another shape. */
SO_API int so_call_dense_spmm(void *fn, const float *b, int64_t k, int64_t n,
                              int64_t m, float *c);

/* Calls SpMV entry `fn` (an SoDenseSpmvFn) on x (k floats) and copies the m
 * results into `y` (or discards them if NULL). Fails if the kernel returns a
 * result of another shape (a rank-2 one: an SpMM entry). */
SO_API int so_call_dense_spmv(void *fn, const float *x, int64_t k, int64_t m,
                              float *y);

/*===----------------------------------------------------------------------===*
 * SDDMM: sampled dense-dense matrix product
 *
 * R = S o (Q K^T) for a CSR pattern S (M x N), Q (M x D) and K (N x D), both
 * row-major: R has S's pattern and, for every entry p of row i with column
 * j = crd[p], R.val[p] = sum_k Q[i,k] * K[j,k]. S's values are ignored.
 * This is the score computation of sparse attention (`make-kernel.py sddmm`).
 *
 * The entry point takes Q, K, S as its pos / crd / val buffers, and three
 * caller-provided buffers that receive the result (sized like S's: M + 1,
 * nnz, nnz); the returned descriptors are views of those buffers and are not
 * freed. The upstream sparsifier's kernels also overwrite the `val` buffer
 * passed for S, so the helpers below pass a scratch copy of S's values: a
 * caller's matrix is never modified, whatever the kernel does with its
 * input.
 *===----------------------------------------------------------------------===*/

/* The CSR result of an SDDMM entry (the `sddmm_results` struct of the
 * header sparse-compile generates, whatever its field names). */
typedef struct SoCsrResult {
  SoMemRef1D pos, crd, val;
} SoCsrResult;

/* R = S o (Q K^T); see above. pos and crd have the index width of S's
 * encoding, out_pos / out_crd / out_val receive the result. */
typedef void (*SoSddmmFn)(SoCsrResult *result, SoMemRef2D *q, SoMemRef2D *k,
                          SoMemRef1D *pos, SoMemRef1D *crd, SoMemRef1D *val,
                          SoMemRef1D *out_pos, SoMemRef1D *out_crd,
                          SoMemRef1D *out_val);

/* The buffers one SDDMM call needs besides its operands: the scratch copy of
 * S's values passed as the kernel's input `val`, and the three result
 * buffers, in one allocation. Reusing one across calls keeps allocation and
 * copies out of timing loops; the fields are for inspection only. */
typedef struct SoSddmmWorkspace {
  int64_t rows, nnz;
  int index_bits;
  void *block;    /* the allocation */
  float *values;  /* nnz: the input `val` (a copy of S's values) */
  void *out_pos;  /* rows + 1 indices of index_bits bits */
  void *out_crd;  /* nnz indices */
  float *out_val; /* nnz */
} SoSddmmWorkspace;

/* Allocates the workspace of SDDMM calls on pattern `s` and copies S's
 * values into it. On failure *out is zeroed. */
SO_API int so_sddmm_workspace_init(const SoCsrOperand *s,
                                   SoSddmmWorkspace *out);

/* Frees the workspace and zeroes it. NULL and zeroed workspaces are fine. */
SO_API void so_sddmm_workspace_release(SoSddmmWorkspace *w);

/* Calls SDDMM entry `fn` (an SoSddmmFn) on pattern `s` (M x N, its index
 * width that of the kernel), row-major Q (M x depth) and K (N x depth),
 * depth > 0, through workspace `w` (made for `s`), and checks that the
 * result has M + 1 positions and nnz coordinates and values. With
 * `out_values` (nnz floats, in S's entry order) it first copies S's values
 * into the workspace, and afterwards checks that the result's pattern is
 * S's and copies its values to `out_values`. NULL discards the result
 * (timing loops): the call then does nothing but the kernel and the size
 * checks, and the kernel's input `val` holds what the previous call left
 * there (S's values do not enter the result). */
SO_API int so_call_sddmm_workspace(void *fn, const SoCsrOperand *s,
                                   const float *q, const float *k,
                                   int64_t depth, SoSddmmWorkspace *w,
                                   float *out_values);

/* One-shot form: so_call_sddmm_workspace with a workspace of its own. */
SO_API int so_call_sddmm(void *fn, const SoCsrOperand *s, const float *q,
                         const float *k, int64_t depth, float *out_values);

/*===----------------------------------------------------------------------===*
 * Attention masks: square n x n patterns with sorted columns and values 1.0,
 * for SDDMM tests and benchmarks. On failure *out is zeroed.
 *===----------------------------------------------------------------------===*/

/* The band |i - j| <= half_width (half_width >= 0): sliding-window
 * attention. Symmetric. */
SO_API int so_mask_window(int64_t n, int64_t half_width, SoCsr *out);

/* so_csr_random(n, n, density, seed) with values 1.0: exactly
 * round(density * n * n) uniformly random entries. */
SO_API int so_mask_random(int64_t n, double density, uint64_t seed, SoCsr *out);

/* BigBird's block-sparse pattern, ITC variant (Zaheer et al. 2020, global
 * tokens taken from the sequence). The n rows and columns are cut into
 * nb = ceil(n / block) blocks (the last one shorter when block does not
 * divide n); element (i, j) is stored iff block (I, J) = (i / block,
 * j / block) is kept, and block (I, J) is kept iff
 *  - |I - J| <= window_blocks (sliding window: 2 * window_blocks + 1 blocks
 *    around the diagonal; BigBird's 3-block window is window_blocks = 1), or
 *  - I < global_blocks or J < global_blocks (the first global_blocks block
 *    rows and block columns are dense), or
 *  - J is one of the random_blocks random blocks of block row I: drawn
 *    uniformly without replacement among the block columns the two rules
 *    above leave out (all of them when fewer remain), for each block row
 *    I >= global_blocks in ascending order, from one splitmix64 stream
 *    seeded with `seed`.
 * So every block row below the global ones keeps exactly
 * min(nb, |window and global blocks| + random_blocks) blocks. Without random
 * blocks the pattern is symmetric. block >= 1, the counts >= 0. */
SO_API int so_mask_bigbird(int64_t n, int64_t block, int64_t window_blocks,
                           int64_t global_blocks, int64_t random_blocks,
                           uint64_t seed, SoCsr *out);

/*===----------------------------------------------------------------------===*
 * Structured sparsity: BSR (R x C blocks) and N:M
 *
 * A BSR kernel (sparse-opt-bsr-kernels) takes its weight in the library ABI
 * exactly as a CSR one does, as positions / coordinates / values buffers,
 * but of blocks: block_ptr, block_col and the blocks' values, so its entry
 * points have the SoSpmmFn / SoSpmvFn types and are called through
 * so_bsr_operand_init and so_call_spmm_prepared / so_call_spmv_prepared.
 * An N:M kernel (sparse-opt-nm-kernels) takes coordinates and values only
 * (its levels are dense but the last), hence the SoNm* types and calls.
 *===----------------------------------------------------------------------===*/

/* A rows x cols matrix of block_rows x block_cols (R x C) blocks, rows a
 * multiple of R and cols of C: the blocks of block row I (rows I*R ..
 * I*R+R-1) are block_ptr[I] .. block_ptr[I+1]-1, at block columns
 * block_col[b] (ascending), each storing its R * C values row-major at
 * values[b*R*C ..], zeros included. The layout of the MLIR encoding
 * (i floordiv R : dense, j floordiv C : compressed, i mod R : dense,
 * j mod C : dense). */
typedef struct SoBsr {
  int64_t rows, cols;
  int64_t block_rows, block_cols; /* R, C */
  int64_t nnzb;                   /* stored blocks */
  int64_t *block_ptr;             /* rows / R + 1 entries */
  int64_t *block_col;             /* nnzb entries */
  float *values;                  /* nnzb * R * C entries */
} SoBsr;

/* Frees the arrays of `m` and zeroes it. NULL and zeroed matrices are fine. */
SO_API void so_bsr_free(SoBsr *m);

/* The BSR form of `a` with R x C blocks: every block holding an entry of `a`
 * is stored, its other elements as zeros. Fails unless R, C > 0 divide the
 * rows and columns of `a`. */
SO_API int so_csr_to_bsr(const SoCsr *a, int64_t block_rows,
                         int64_t block_cols, SoBsr *out);

/* The descriptors of `a` for a BSR kernel compiled with index_bits-wide
 * (32 or 64) positions and coordinates: pos = block_ptr, crd = block_col,
 * val = values; rows and cols are those of the matrix, nnz the stored
 * values (nnzb * R * C). Release with so_csr_operand_release. */
SO_API int so_bsr_operand_init(const SoBsr *a, int index_bits,
                               SoCsrOperand *out);

/* A rows x cols matrix with at most n non-zeros in each group of m
 * consecutive columns of a row (cols a multiple of m), stored as exactly n
 * values per group: group g of row i keeps values[(i * cols / m + g) * n ..]
 * at the in-group positions offsets[...] (0 .. m-1, ascending), groups
 * with fewer non-zeros padded with zeros at their lowest free positions.
 * The layout of the MLIR encoding (i : dense, j floordiv m : dense,
 * j mod m : structured[n, m]): offsets are its coordinates. */
typedef struct SoNm {
  int64_t rows, cols;
  int64_t n, m;
  int64_t *offsets; /* rows * cols / m * n entries */
  float *values;    /* as many */
} SoNm;

/* Frees the arrays of `m` and zeroes it. NULL and zeroed matrices are fine. */
SO_API void so_nm_free(SoNm *m);

/* The N:M form of `a`. Fails unless 0 < n <= m, m divides the columns, and
 * no group of `a` holds more than n entries (the message names the first
 * row and columns that do; so_csr_prune_nm makes a matrix conform). */
SO_API int so_csr_to_nm(const SoCsr *a, int64_t n, int64_t m, SoNm *out);

/* The descriptors of an N:M operand (crd = offsets, val = values), built
 * once so that timing loops do not convert indices. */
typedef struct SoNmOperand {
  int64_t rows, cols, n, m;
  int index_bits; /* element width of crd: 32 or 64 */
  SoMemRef1D crd, val;
} SoNmOperand;

SO_API int so_nm_operand_init(const SoNm *a, int index_bits,
                              SoNmOperand *out);
SO_API void so_nm_operand_release(SoNmOperand *op);

/* C[M,N] = A[M,K] * B[K,N] and y[M] = A[M,K] * x[K] with A in N:M form. */
typedef void (*SoNmSpmmFn)(SoMemRef2D *result, SoMemRef1D *crd,
                           SoMemRef1D *val, SoMemRef2D *b);
typedef void (*SoNmSpmvFn)(SoMemRef1D *result, SoMemRef1D *crd,
                           SoMemRef1D *val, SoMemRef1D *x);

/* As so_call_spmm_prepared / so_call_spmv_prepared, for N:M entries. */
SO_API int so_call_nm_spmm_prepared(void *fn, const SoNmOperand *a,
                                    const float *b, int64_t n, float *c);
SO_API int so_call_nm_spmv_prepared(void *fn, const SoNmOperand *a,
                                    const float *x, float *y);

/* Structured weights derived from an unstructured one, of the same shape
 * (what pruning for BSR or N:M hardware support would give):
 *
 * so_csr_prune_blocks keeps the `blocks` R x C blocks of `a` with the
 * largest Frobenius norm (ties: the first in row-major block order), each
 * whole: the result stores all R * C elements of every kept block, with
 * a's value where a has one and 0 elsewhere (refill the values, e.g. with
 * so_csr_fill_random, for a weight with dense blocks). R and C must divide
 * the shape; 0 <= blocks <= (rows / R) * (cols / C).
 *
 * so_csr_prune_nm keeps, in each group of m consecutive columns of each
 * row, the n entries of `a` of largest magnitude (ties: the lower column),
 * so the result conforms to n:m. m must divide the columns. */
SO_API int so_csr_prune_blocks(const SoCsr *a, int64_t block_rows,
                               int64_t block_cols, int64_t blocks,
                               SoCsr *out);
SO_API int so_csr_prune_nm(const SoCsr *a, int64_t n, int64_t m, SoCsr *out);

/* A CSR matrix of the non-zeros of the row-major rows x cols array `dense`
 * (to build a BSR or N:M operand from a dense weight). */
SO_API int so_csr_from_dense(const float *dense, int64_t rows, int64_t cols,
                             SoCsr *out);

/*===----------------------------------------------------------------------===*
 * Errors
 *===----------------------------------------------------------------------===*/

/* The message of the last failed call on this thread ("" if none). The
 * pointer stays valid until the next failing call on this thread. */
SO_API const char *so_last_error(void);

#ifdef __cplusplus
}
#endif

#endif /* SPARSE_OPT_C_RUNTIME_H */
