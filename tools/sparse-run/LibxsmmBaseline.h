//===- LibxsmmBaseline.h - LIBXSMM's sparse x dense product for sparse-run ===//
//
// The --libxsmm-baseline of sparse-run: LIBXSMM's spmdm (sparse A x dense B
// into dense C, FP32) on the same A, B and C. Built only when CMake finds
// Debian's libxsmm-dev (SPARSE_RUN_HAVE_LIBXSMM); its own translation unit,
// compiled with OpenMP (its compute blocks are spread over OpenMP threads
// here, LIBXSMM itself has none), with an interface of plain arrays.
//
// Of LIBXSMM 1.17's sparse kernels this is the one that runs on our shapes
// (docs/performance.md has the evidence for the JIT ones): A is converted
// once, outside the timed calls, into LIBXSMM's slices of 16-bit local CSR
// (bm x 128 blocks); each call computes C = A * B block by block.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSE_RUN_LIBXSMMBASELINE_H
#define SPARSE_RUN_LIBXSMMBASELINE_H

#include <cstdint>

namespace sparse_run {

/// C = A * B with LIBXSMM's spmdm, A an M x K CSR matrix (int64 arrays, as
/// in SoCsr), B row-major K x N, C row-major M x N. The arrays are borrowed
/// and must outlive the object.
class LibxsmmProduct {
public:
  /// Null (and nothing allocated) if a dimension does not fit LIBXSMM's int.
  static LibxsmmProduct *create(int64_t rows, int64_t cols, int64_t nnz,
                                const int64_t *rowPtr, const int64_t *colIdx,
                                const float *values, const float *b, int64_t n,
                                float *c);
  ~LibxsmmProduct();
  LibxsmmProduct(const LibxsmmProduct &) = delete;
  LibxsmmProduct &operator=(const LibxsmmProduct &) = delete;

  /// Prepares the product for `threads` OpenMP threads (0: OpenMP's
  /// default): LIBXSMM sizes its row blocks for the thread count and keeps
  /// scratch space per thread, so A's slices are rebuilt for each count
  /// (untimed). False if LIBXSMM could not allocate them.
  bool setThreads(int threads);
  /// Computes C = A * B once on the threads of the last setThreads.
  void run();

  /// "1.17".
  static const char *version();
  /// The code path LIBXSMM picked for this CPU from its N block: "AVX-512"
  /// (96 columns), "AVX2" (48) or "scalar" (6).
  const char *codePath() const;
  /// Its block shape, "bm x bn x bk" (rows of A, columns of C, of K).
  const char *blocks() const;

private:
  struct Impl;
  explicit LibxsmmProduct(Impl *impl) : impl(impl) {}
  Impl *impl;
};

} // namespace sparse_run

#endif // SPARSE_RUN_LIBXSMMBASELINE_H
