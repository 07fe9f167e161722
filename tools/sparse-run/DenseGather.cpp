//===- DenseGather.cpp - The gather step of sparse-run's SDDMM baseline ---===//

#include "DenseGather.h"

#include <omp.h>

namespace sparse_run {

void gatherPattern(int64_t rows, int64_t cols, const int64_t *rowPtr,
                   const int64_t *colIdx, const float *dense, float *values,
                   int threads) {
  int count = threads > 0 ? threads : omp_get_max_threads();
#pragma omp parallel for schedule(static) num_threads(count)
  for (int64_t i = 0; i < rows; ++i) {
    const float *row = dense + i * cols;
    for (int64_t p = rowPtr[i]; p < rowPtr[i + 1]; ++p)
      values[p] = row[colIdx[p]];
  }
}

} // namespace sparse_run
