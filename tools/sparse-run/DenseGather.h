//===- DenseGather.h - The gather step of sparse-run's SDDMM baseline -----===//
//
// The --dense-baseline of `sparse-run --kind sddmm` is "dense + mask", what
// attention does without a sparse kernel: OpenBLAS sgemm C = Q K^T into a
// dense M x N matrix, then the values of the pattern's entries gathered from
// C. The gather lives in a translation unit of its own, compiled with OpenMP
// (as EigenBaseline.cpp is), so that it runs on the thread count of the
// measurement instead of leaving the second thread idle.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSE_RUN_DENSEGATHER_H
#define SPARSE_RUN_DENSEGATHER_H

#include <cstdint>

namespace sparse_run {

/// values[p] = dense[i * cols + colIdx[p]] for every entry p of row i of the
/// CSR pattern (rows over `threads` OpenMP threads, static schedule; 0: the
/// OpenMP default).
void gatherPattern(int64_t rows, int64_t cols, const int64_t *rowPtr,
                   const int64_t *colIdx, const float *dense, float *values,
                   int threads);

} // namespace sparse_run

#endif // SPARSE_RUN_DENSEGATHER_H
