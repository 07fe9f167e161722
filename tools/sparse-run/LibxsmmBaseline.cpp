//===- LibxsmmBaseline.cpp - LIBXSMM's sparse x dense product -------------===//
//
// Compiled with OpenMP (see CMakeLists.txt). LIBXSMM splits C into
// bm x bn blocks and leaves it to the caller to spread them over threads,
// each with its own id into LIBXSMM's per-thread scratch; this follows its
// spmdm sample (an `omp for` over the compute blocks), except that A's
// slices are built once, not in every call: the weights are constant.
//
//===----------------------------------------------------------------------===//

#include "LibxsmmBaseline.h"

#include <libxsmm.h>
#include <omp.h>

#include <climits>
#include <cstdio>
#include <vector>

namespace sparse_run {

struct LibxsmmProduct::Impl {
  int64_t rows, cols, nnz;
  const int64_t *rowPtr, *colIdx;
  const float *values;
  const float *b;
  float *c;
  int n;
  int threads = 0;
  bool prepared = false;
  libxsmm_spmdm_handle handle{};
  libxsmm_CSR_sparseslice *slices = nullptr;
  char blockText[64] = "";

  void release() {
    if (prepared)
      libxsmm_spmdm_destroy(&handle);
    prepared = false;
    slices = nullptr;
  }
};

LibxsmmProduct *LibxsmmProduct::create(int64_t rows, int64_t cols, int64_t nnz,
                                       const int64_t *rowPtr,
                                       const int64_t *colIdx,
                                       const float *values, const float *b,
                                       int64_t n, float *c) {
  // libxsmm_spmdm_init takes int dimensions; its dense copy of A (the only
  // input its slices are made from) has rows x cols elements.
  if (rows > INT_MAX || cols > INT_MAX || n > INT_MAX || rows < 1 || cols < 1 ||
      n < 1 || double(rows) * double(cols) > double(INT_MAX))
    return nullptr;
  auto *impl = new Impl{rows, cols, nnz, rowPtr, colIdx, values, b, c, int(n)};
  return new LibxsmmProduct(impl);
}

LibxsmmProduct::~LibxsmmProduct() {
  impl->release();
  delete impl;
}

bool LibxsmmProduct::setThreads(int threads) {
  if (threads <= 0)
    threads = omp_get_max_threads();
  if (impl->prepared && impl->threads == threads)
    return true;
  impl->release();
  int m = int(impl->rows), k = int(impl->cols);
  libxsmm_spmdm_init(m, impl->n, k, threads, &impl->handle, &impl->slices);
  impl->prepared = true;
  impl->threads = threads;
  if (!impl->slices || !impl->handle.base_ptr_scratch_B_scratch_C)
    return false;
  // LIBXSMM reads A as a dense row-major matrix ('N') and keeps its
  // non-zeros, so the dense copy lives only while the slices are made.
  std::vector<float> dense(size_t(m) * size_t(k), 0.0f);
  for (int64_t i = 0; i < impl->rows; ++i)
    for (int64_t p = impl->rowPtr[i]; p < impl->rowPtr[i + 1]; ++p)
      dense[size_t(i) * size_t(k) + size_t(impl->colIdx[p])] = impl->values[p];
  int sliceBlocks =
      libxsmm_spmdm_get_num_createSparseSlice_blocks(&impl->handle);
  for (int block = 0; block < sliceBlocks; ++block)
    libxsmm_spmdm_createSparseSlice_fp32_thread(
        &impl->handle, 'N', dense.data(), impl->slices, block, 0, 1);
  std::snprintf(impl->blockText, sizeof(impl->blockText), "%d x %d x %d",
                impl->handle.bm, impl->handle.bn, impl->handle.bk);
  return true;
}

void LibxsmmProduct::run() {
  libxsmm_spmdm_handle *handle = &impl->handle;
  libxsmm_CSR_sparseslice *slices = impl->slices;
  const float *b = impl->b;
  float *c = impl->c;
  // spmdm ignores alpha (its header says so); beta = 0 overwrites C.
  const float alpha = 1.0f, beta = 0.0f;
  int blocks = libxsmm_spmdm_get_num_compute_blocks(handle);
#pragma omp parallel num_threads(impl->threads)
  {
    int tid = omp_get_thread_num(), threads = omp_get_num_threads();
#pragma omp for
    for (int block = 0; block < blocks; ++block)
      libxsmm_spmdm_compute_fp32_thread(handle, 'N', 'N', &alpha, slices, b,
                                        'N', &beta, c, block, tid, threads);
  }
}

const char *LibxsmmProduct::version() { return LIBXSMM_CONFIG_VERSION; }

const char *LibxsmmProduct::codePath() const {
  switch (impl->handle.bn) {
  case 96:
    return "AVX-512";
  case 48:
    return "AVX2";
  default:
    return "scalar";
  }
}

const char *LibxsmmProduct::blocks() const { return impl->blockText; }

} // namespace sparse_run
