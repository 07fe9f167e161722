//===- Masks.cpp - Attention masks: window, random, BigBird ---------------===//
//
// Square patterns (values 1.0, sorted distinct columns per row) for SDDMM
// tests and benchmarks. The exact definitions are in Runtime.h.
//
//===----------------------------------------------------------------------===//

#include "Error.h"
#include "Random.h"

#include "sparse-opt-c/Runtime.h"

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <limits>
#include <string>
#include <vector>

using sparse_opt::runtime::fail;
using sparse_opt::runtime::SplitMix64;
using sparse_opt::runtime::uniformBelow;

namespace {

/// Allocates an n x n matrix of `nnz` entries whose values are 1.0; row_ptr
/// and col_idx are left for the caller to fill.
int allocateMask(const char *caller, int64_t n, int64_t nnz, SoCsr &m) {
  m = SoCsr{};
  m.rows = n;
  m.cols = n;
  m.nnz = nnz;
  m.row_ptr = static_cast<int64_t *>(std::malloc((n + 1) * 8));
  m.col_idx = static_cast<int64_t *>(std::malloc(nnz ? nnz * 8 : 1));
  m.values = static_cast<float *>(std::malloc(nnz ? nnz * 4 : 1));
  if (!m.row_ptr || !m.col_idx || !m.values) {
    so_csr_free(&m);
    return fail(std::string(caller) + ": out of memory for " +
                std::to_string(nnz) + " entries");
  }
  std::fill(m.values, m.values + nnz, 1.0f);
  m.row_ptr[0] = 0;
  return 0;
}

/// Checks that an n x n matrix has a size its indices and byte counts can
/// hold.
int checkSize(const char *caller, int64_t n) {
  int64_t cells, bytes;
  if (n < 0 || n == std::numeric_limits<int64_t>::max() ||
      __builtin_mul_overflow(n, n, &cells) ||
      __builtin_mul_overflow(cells, int64_t{8}, &bytes))
    return fail(std::string(caller) + ": invalid size " + std::to_string(n));
  return 0;
}

} // namespace

int so_mask_window(int64_t n, int64_t half_width, SoCsr *out) {
  const char *caller = "so_mask_window";
  if (!out)
    return fail(std::string(caller) + ": NULL output");
  *out = SoCsr{};
  if (checkSize(caller, n))
    return -1;
  if (half_width < 0)
    return fail(std::string(caller) + ": half_width must be >= 0, got " +
                std::to_string(half_width));
  int64_t w = std::min(half_width, n > 0 ? n - 1 : 0);
  // Row i holds [max(0, i - w), min(n - 1, i + w)]; at most n * n entries.
  int64_t nnz = 0;
  for (int64_t i = 0; i < n; ++i)
    nnz += std::min(n - 1, i + w) - std::max<int64_t>(0, i - w) + 1;
  SoCsr m;
  if (allocateMask(caller, n, nnz, m))
    return -1;
  int64_t p = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t j = std::max<int64_t>(0, i - w); j <= std::min(n - 1, i + w);
         ++j)
      m.col_idx[p++] = j;
    m.row_ptr[i + 1] = p;
  }
  *out = m;
  return 0;
}

int so_mask_random(int64_t n, double density, uint64_t seed, SoCsr *out) {
  if (!out)
    return fail("so_mask_random: NULL output");
  *out = SoCsr{};
  if (n < 0)
    return fail("so_mask_random: invalid size " + std::to_string(n));
  if (so_csr_random(n, n, density, seed, out)) {
    std::string message = so_last_error();
    const std::string prefix = "so_csr_random: ";
    if (message.rfind(prefix, 0) == 0)
      message.erase(0, prefix.size());
    return fail("so_mask_random: " + message);
  }
  std::fill(out->values, out->values + out->nnz, 1.0f);
  return 0;
}

int so_mask_bigbird(int64_t n, int64_t block, int64_t window_blocks,
                    int64_t global_blocks, int64_t random_blocks, uint64_t seed,
                    SoCsr *out) {
  const char *caller = "so_mask_bigbird";
  if (!out)
    return fail(std::string(caller) + ": NULL output");
  *out = SoCsr{};
  if (checkSize(caller, n))
    return -1;
  if (block < 1 || window_blocks < 0 || global_blocks < 0 || random_blocks < 0)
    return fail(std::string(caller) +
                ": expected block >= 1 and block counts >= 0, got block " +
                std::to_string(block) + ", window " +
                std::to_string(window_blocks) + ", global " +
                std::to_string(global_blocks) + ", random " +
                std::to_string(random_blocks));
  int64_t blocks = n == 0 ? 0 : (n - 1) / block + 1;
  auto blockSize = [&](int64_t b) { return std::min(block, n - b * block); };
  // Counts beyond the number of blocks change nothing (and cannot overflow).
  window_blocks = std::min(window_blocks, blocks);
  global_blocks = std::min(global_blocks, blocks);
  // The kept block columns of every block row, ascending.
  std::vector<std::vector<int64_t>> kept;
  try {
    kept.resize(static_cast<size_t>(blocks));
    SplitMix64 rng(seed);
    std::vector<int64_t> candidates;
    for (int64_t bi = 0; bi < blocks; ++bi) {
      std::vector<int64_t> &row = kept[bi];
      if (bi < global_blocks) {
        for (int64_t bj = 0; bj < blocks; ++bj)
          row.push_back(bj);
        continue;
      }
      candidates.clear();
      for (int64_t bj = 0; bj < blocks; ++bj) {
        bool fixed = bj < global_blocks ||
                     (bj >= bi - window_blocks && bj <= bi + window_blocks);
        (fixed ? row : candidates).push_back(bj);
      }
      // A partial Fisher-Yates shuffle picks the random blocks.
      int64_t count =
          std::min<int64_t>(random_blocks, int64_t(candidates.size()));
      for (int64_t t = 0; t < count; ++t) {
        int64_t pick =
            t + int64_t(uniformBelow(rng, uint64_t(candidates.size() - t)));
        std::swap(candidates[t], candidates[pick]);
        row.push_back(candidates[t]);
      }
      std::sort(row.begin(), row.end());
    }
  } catch (const std::exception &) {
    return fail(std::string(caller) + ": out of memory for " +
                std::to_string(blocks) + " block rows");
  }
  int64_t nnz = 0;
  for (int64_t bi = 0; bi < blocks; ++bi) {
    int64_t width = 0;
    for (int64_t bj : kept[bi])
      width += blockSize(bj);
    nnz += width * blockSize(bi);
  }
  SoCsr m;
  if (allocateMask(caller, n, nnz, m))
    return -1;
  int64_t p = 0;
  for (int64_t i = 0; i < n; ++i) {
    for (int64_t bj : kept[i / block])
      for (int64_t j = bj * block; j < bj * block + blockSize(bj); ++j)
        m.col_idx[p++] = j;
    m.row_ptr[i + 1] = p;
  }
  *out = m;
  return 0;
}
