//===- Csr.cpp - Memref descriptors, CSR matrices, random values ----------===//

#include "Error.h"
#include "Random.h"

#include "sparse-opt-c/Runtime.h"

#include <algorithm>
#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <limits>
#include <string>
#include <vector>

using sparse_opt::runtime::fail;
using sparse_opt::runtime::SplitMix64;
using sparse_opt::runtime::uniformBelow;

namespace {

/// Separates the pattern stream of so_csr_random from its value stream.
constexpr uint64_t kPatternSeedMix = 0x5851F42D4C957F2Dull;

/// `count` distinct integers drawn uniformly from [0, universe), ascending.
/// Draws with replacement, drops duplicates and draws again for the missing
/// ones: the process treats all values alike, so every subset of `count`
/// values is equally likely. Meant for count <= universe / 2, where few
/// rounds are needed.
std::vector<uint64_t> randomSubset(uint64_t universe, uint64_t count,
                                   uint64_t seed) {
  SplitMix64 rng(seed);
  std::vector<uint64_t> subset, drawn, merged;
  subset.reserve(count);
  while (subset.size() < count) {
    drawn.clear();
    for (uint64_t missing = count - subset.size(); missing > 0; --missing)
      drawn.push_back(uniformBelow(rng, universe));
    std::sort(drawn.begin(), drawn.end());
    merged.resize(subset.size() + drawn.size());
    std::merge(subset.begin(), subset.end(), drawn.begin(), drawn.end(),
               merged.begin());
    merged.erase(std::unique(merged.begin(), merged.end()), merged.end());
    subset.swap(merged);
  }
  return subset;
}

} // namespace

SoMemRef1D so_memref_1d(void *data, int64_t size) {
  SoMemRef1D m;
  m.allocated = data;
  m.aligned = data;
  m.offset = 0;
  m.sizes[0] = size;
  m.strides[0] = 1;
  return m;
}

SoMemRef2D so_memref_2d(void *data, int64_t rows, int64_t cols) {
  SoMemRef2D m;
  m.allocated = data;
  m.aligned = data;
  m.offset = 0;
  m.sizes[0] = rows;
  m.sizes[1] = cols;
  m.strides[0] = cols;
  m.strides[1] = 1;
  return m;
}

void so_memref_release(void *allocated) { std::free(allocated); }

void so_csr_free(SoCsr *m) {
  if (!m)
    return;
  std::free(m->row_ptr);
  std::free(m->col_idx);
  std::free(m->values);
  *m = SoCsr{};
}

int so_fill_random(float *data, int64_t count, uint64_t seed) {
  if (count < 0)
    return fail("so_fill_random: negative count " + std::to_string(count));
  if (count > 0 && !data)
    return fail("so_fill_random: NULL data");
  SplitMix64 rng(seed);
  for (int64_t i = 0; i < count; ++i) {
    // 24 random bits give k * 2^-23 - 1 exactly in float: uniform in [-1, 1).
    int64_t k = static_cast<int64_t>(rng.next() >> 40);
    data[i] = static_cast<float>(k - (int64_t{1} << 23)) * 0x1p-23f;
  }
  return 0;
}

int so_csr_fill_random(SoCsr *m, uint64_t seed) {
  if (!m)
    return fail("so_csr_fill_random: NULL matrix");
  if (m->nnz > 0 && !m->values)
    return fail("so_csr_fill_random: matrix has no values array");
  return so_fill_random(m->values, m->nnz, seed);
}

int so_csr_random(int64_t rows, int64_t cols, double density, uint64_t seed,
                  SoCsr *out) {
  if (!out)
    return fail("so_csr_random: NULL output");
  *out = SoCsr{};
  int64_t cells;
  if (rows < 0 || cols < 0 || rows == std::numeric_limits<int64_t>::max() ||
      __builtin_mul_overflow(rows, cols, &cells))
    return fail("so_csr_random: invalid size " + std::to_string(rows) + " x " +
                std::to_string(cols));
  if (!(density >= 0.0 && density <= 1.0))
    return fail("so_csr_random: density must be in [0, 1], got " +
                std::to_string(density));
  // Compared in double first: double(cells) may round up past INT64_MAX.
  double target = density * double(cells) + 0.5;
  int64_t nnz = target >= double(cells) ? cells : static_cast<int64_t>(target);

  std::vector<uint64_t> linear; // row * cols + col of every entry, ascending
  try {
    // Pick the smaller of the entry set and its complement.
    bool pickEntries = nnz <= cells / 2;
    std::vector<uint64_t> picked =
        randomSubset(uint64_t(cells), uint64_t(pickEntries ? nnz : cells - nnz),
                     seed ^ kPatternSeedMix);
    if (pickEntries) {
      linear = std::move(picked);
    } else {
      linear.reserve(static_cast<size_t>(nnz));
      auto excluded = picked.begin();
      for (uint64_t cell = 0; cell < uint64_t(cells); ++cell) {
        if (excluded != picked.end() && *excluded == cell)
          ++excluded;
        else
          linear.push_back(cell);
      }
    }
  } catch (const std::exception &) { // bad_alloc or length_error
    return fail("so_csr_random: out of memory for " + std::to_string(nnz) +
                " entries");
  }

  SoCsr m{};
  m.rows = rows;
  m.cols = cols;
  m.nnz = nnz;
  m.row_ptr = static_cast<int64_t *>(std::malloc((rows + 1) * 8));
  m.col_idx = static_cast<int64_t *>(std::malloc(nnz ? nnz * 8 : 1));
  m.values = static_cast<float *>(std::malloc(nnz ? nnz * 4 : 1));
  if (!m.row_ptr || !m.col_idx || !m.values) {
    so_csr_free(&m);
    return fail("so_csr_random: out of memory for " + std::to_string(nnz) +
                " entries");
  }
  // Row-major cell order is CSR order: count per row, then split.
  std::fill(m.row_ptr, m.row_ptr + rows + 1, 0);
  for (int64_t k = 0; k < nnz; ++k) {
    ++m.row_ptr[linear[k] / cols + 1];
    m.col_idx[k] = static_cast<int64_t>(linear[k] % cols);
  }
  for (int64_t i = 0; i < rows; ++i)
    m.row_ptr[i + 1] += m.row_ptr[i];
  so_csr_fill_random(&m, seed);
  *out = m;
  return 0;
}

int so_csr_to_index32(const SoCsr *m, int32_t **row_ptr32,
                      int32_t **col_idx32) {
  if (!m || !row_ptr32 || !col_idx32)
    return fail("so_csr_to_index32: NULL argument");
  *row_ptr32 = nullptr;
  *col_idx32 = nullptr;
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  constexpr int64_t kMin = std::numeric_limits<int32_t>::min();
  if (m->rows < 0 || m->rows >= kMax || m->nnz < 0 || m->nnz > kMax)
    return fail(
        "so_csr_to_index32: expected sizes that fit in 32 bits, found " +
        std::to_string(m->rows) + " rows and " + std::to_string(m->nnz) +
        " entries");
  if (!m->row_ptr || (m->nnz > 0 && !m->col_idx))
    return fail("so_csr_to_index32: matrix has no index arrays");

  // Checks and narrows one array; `name` only serves the error message.
  auto narrow = [&](const int64_t *src, int64_t count, const char *name,
                    int32_t **dst) -> int {
    auto *result = static_cast<int32_t *>(std::malloc(count ? count * 4 : 1));
    if (!result)
      return fail("so_csr_to_index32: out of memory");
    for (int64_t i = 0; i < count; ++i) {
      if (src[i] < kMin || src[i] > kMax) {
        std::free(result);
        return fail(std::string("so_csr_to_index32: expected 32-bit indices, "
                                "found ") +
                    name + "[" + std::to_string(i) +
                    "] = " + std::to_string(src[i]));
      }
      result[i] = static_cast<int32_t>(src[i]);
    }
    *dst = result;
    return 0;
  };
  if (narrow(m->row_ptr, m->rows + 1, "row_ptr", row_ptr32))
    return -1;
  if (narrow(m->col_idx, m->nnz, "col_idx", col_idx32)) {
    std::free(*row_ptr32);
    *row_ptr32 = nullptr;
    return -1;
  }
  return 0;
}
