//===- MasksTest.cpp - Attention masks: window, random, BigBird -----------===//

#include "sparse-opt-c/Runtime.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cstdint>
#include <set>
#include <string>
#include <vector>

namespace {

/// Owns a mask for the length of a test.
struct Mask {
  SoCsr m{};
  ~Mask() { so_csr_free(&m); }
  bool has(int64_t i, int64_t j) const {
    return std::binary_search(m.col_idx + m.row_ptr[i],
                              m.col_idx + m.row_ptr[i + 1], j);
  }
};

/// The invariants every mask has: n x n, offsets from 0 to nnz, columns
/// ascending, distinct and in range, values 1.0.
void expectWellFormed(const SoCsr &m, int64_t n) {
  ASSERT_EQ(m.rows, n);
  ASSERT_EQ(m.cols, n);
  ASSERT_NE(m.row_ptr, nullptr);
  ASSERT_EQ(m.row_ptr[0], 0);
  ASSERT_EQ(m.row_ptr[n], m.nnz);
  for (int64_t i = 0; i < n; ++i) {
    ASSERT_LE(m.row_ptr[i], m.row_ptr[i + 1]);
    for (int64_t p = m.row_ptr[i]; p < m.row_ptr[i + 1]; ++p) {
      ASSERT_GE(m.col_idx[p], 0);
      ASSERT_LT(m.col_idx[p], n);
      if (p > m.row_ptr[i])
        ASSERT_LT(m.col_idx[p - 1], m.col_idx[p]) << "row " << i;
    }
  }
  for (int64_t p = 0; p < m.nnz; ++p)
    ASSERT_EQ(m.values[p], 1.0f);
}

bool isSymmetric(const Mask &mask) {
  for (int64_t i = 0; i < mask.m.rows; ++i)
    for (int64_t p = mask.m.row_ptr[i]; p < mask.m.row_ptr[i + 1]; ++p)
      if (!mask.has(mask.m.col_idx[p], i))
        return false;
  return true;
}

TEST(MaskWindow, Band) {
  for (int64_t n : {1, 2, 7, 64, 100})
    for (int64_t w : {0, 1, 3, 50, 1000}) {
      Mask mask;
      ASSERT_EQ(so_mask_window(n, w, &mask.m), 0) << so_last_error();
      expectWellFormed(mask.m, n);
      int64_t expected = 0;
      for (int64_t i = 0; i < n; ++i)
        for (int64_t j = 0; j < n; ++j) {
          bool inBand = std::abs(i - j) <= w;
          expected += inBand;
          ASSERT_EQ(mask.has(i, j), inBand)
              << n << " " << w << " " << i << " " << j;
        }
      EXPECT_EQ(mask.m.nnz, expected);
      EXPECT_TRUE(isSymmetric(mask));
    }
  // n = 1024, w = 64: (2w + 1) n - w (w + 1) entries.
  Mask mask;
  ASSERT_EQ(so_mask_window(1024, 64, &mask.m), 0);
  EXPECT_EQ(mask.m.nnz, 129 * 1024 - 64 * 65);
}

TEST(MaskWindow, Errors) {
  Mask mask;
  EXPECT_NE(so_mask_window(8, -1, &mask.m), 0);
  EXPECT_EQ(std::string(so_last_error()),
            "so_mask_window: half_width must be >= 0, got -1");
  EXPECT_NE(so_mask_window(-1, 1, &mask.m), 0);
  EXPECT_NE(so_mask_window(int64_t(1) << 32, 1, &mask.m), 0);
  EXPECT_EQ(std::string(so_last_error()),
            "so_mask_window: invalid size 4294967296");
  EXPECT_EQ(mask.m.row_ptr, nullptr);
  EXPECT_NE(so_mask_window(8, 1, nullptr), 0);
  ASSERT_EQ(so_mask_window(0, 3, &mask.m), 0);
  EXPECT_EQ(mask.m.nnz, 0);
}

TEST(MaskRandom, IsSoCsrRandomWithOnes) {
  for (double density : {0.0, 0.02, 0.3, 0.75, 1.0}) {
    Mask mask, random;
    ASSERT_EQ(so_mask_random(50, density, 7, &mask.m), 0) << so_last_error();
    expectWellFormed(mask.m, 50);
    EXPECT_EQ(mask.m.nnz, int64_t(density * 2500 + 0.5));
    ASSERT_EQ(so_csr_random(50, 50, density, 7, &random.m), 0);
    ASSERT_EQ(mask.m.nnz, random.m.nnz);
    EXPECT_TRUE(
        std::equal(mask.m.row_ptr, mask.m.row_ptr + 51, random.m.row_ptr));
    EXPECT_TRUE(std::equal(mask.m.col_idx, mask.m.col_idx + mask.m.nnz,
                           random.m.col_idx));
  }
  Mask other;
  ASSERT_EQ(so_mask_random(50, 0.3, 8, &other.m), 0);
  Mask same;
  ASSERT_EQ(so_mask_random(50, 0.3, 7, &same.m), 0);
  EXPECT_FALSE(std::equal(other.m.col_idx, other.m.col_idx + other.m.nnz,
                          same.m.col_idx));
}

TEST(MaskRandom, Errors) {
  Mask mask;
  EXPECT_NE(so_mask_random(8, 1.5, 1, &mask.m), 0);
  EXPECT_EQ(std::string(so_last_error())
                .rfind("so_mask_random: density must be in [0, 1], got 1.5", 0),
            0u)
      << so_last_error();
  EXPECT_NE(so_mask_random(-2, 0.5, 1, &mask.m), 0);
  EXPECT_EQ(std::string(so_last_error()), "so_mask_random: invalid size -2");
  EXPECT_NE(so_mask_random(8, 0.5, 1, nullptr), 0);
}

/// The blocks (I, J) the definition in Runtime.h keeps without the random
/// ones.
bool fixedBlock(int64_t bi, int64_t bj, int64_t window, int64_t global) {
  return std::abs(bi - bj) <= window || bi < global || bj < global;
}

struct BigBirdCase {
  int64_t n, block, window, global, random;
};

TEST(MaskBigBird, MatchesDefinition) {
  for (BigBirdCase c : std::vector<BigBirdCase>{{100, 8, 1, 2, 2},
                                                {64, 16, 1, 1, 1},
                                                {37, 5, 0, 0, 3},
                                                {512, 64, 1, 2, 3},
                                                {20, 4, 0, 1, 100},
                                                {9, 10, 0, 0, 0},
                                                {30, 1, 2, 1, 4}}) {
    SCOPED_TRACE(testing::Message() << c.n << " " << c.block << " " << c.window
                                    << " " << c.global << " " << c.random);
    Mask mask;
    ASSERT_EQ(
        so_mask_bigbird(c.n, c.block, c.window, c.global, c.random, 5, &mask.m),
        0)
        << so_last_error();
    expectWellFormed(mask.m, c.n);
    int64_t blocks = (c.n + c.block - 1) / c.block;
    int64_t expectedNnz = 0;
    for (int64_t bi = 0; bi < blocks; ++bi) {
      int64_t first = bi * c.block;
      int64_t height = std::min(c.block, c.n - first);
      // Every row of a block row has the same columns.
      for (int64_t i = first + 1; i < first + height; ++i) {
        ASSERT_EQ(mask.m.row_ptr[i + 1] - mask.m.row_ptr[i],
                  mask.m.row_ptr[first + 1] - mask.m.row_ptr[first]);
        ASSERT_TRUE(std::equal(mask.m.col_idx + mask.m.row_ptr[i],
                               mask.m.col_idx + mask.m.row_ptr[i + 1],
                               mask.m.col_idx + mask.m.row_ptr[first]));
      }
      int64_t fixed = 0, kept = 0, width = 0;
      for (int64_t bj = 0; bj < blocks; ++bj) {
        int64_t left = bj * c.block;
        int64_t blockWidth = std::min(c.block, c.n - left);
        // A block is kept whole or not at all.
        bool in = mask.has(first, left);
        for (int64_t j = left; j < left + blockWidth; ++j)
          ASSERT_EQ(mask.has(first, j), in);
        bool isFixed = fixedBlock(bi, bj, c.window, c.global);
        if (isFixed)
          ASSERT_TRUE(in) << "block " << bi << ", " << bj;
        fixed += isFixed;
        kept += in;
        width += in ? blockWidth : 0;
      }
      EXPECT_EQ(kept,
                bi < c.global ? blocks : std::min(blocks, fixed + c.random));
      expectedNnz += width * height;
    }
    EXPECT_EQ(mask.m.nnz, expectedNnz);
  }
}

TEST(MaskBigBird, SeedsAndSymmetry) {
  Mask a, b, c;
  ASSERT_EQ(so_mask_bigbird(256, 16, 1, 1, 2, 1, &a.m), 0);
  ASSERT_EQ(so_mask_bigbird(256, 16, 1, 1, 2, 1, &b.m), 0);
  ASSERT_EQ(so_mask_bigbird(256, 16, 1, 1, 2, 2, &c.m), 0);
  ASSERT_EQ(a.m.nnz, b.m.nnz);
  EXPECT_TRUE(std::equal(a.m.col_idx, a.m.col_idx + a.m.nnz, b.m.col_idx));
  // Another seed picks other random blocks, as many of them.
  ASSERT_EQ(a.m.nnz, c.m.nnz);
  EXPECT_FALSE(std::equal(a.m.col_idx, a.m.col_idx + a.m.nnz, c.m.col_idx));
  EXPECT_FALSE(isSymmetric(a));
  // Window and global blocks only: symmetric.
  Mask d;
  ASSERT_EQ(so_mask_bigbird(250, 16, 2, 1, 0, 1, &d.m), 0);
  EXPECT_TRUE(isSymmetric(d));
  // Random blocks are spread over the candidates: over 16 block rows with
  // 11+ candidates each, two picks each, more than half the block columns
  // are hit.
  std::set<int64_t> hit;
  for (int64_t i = 16; i < 256; i += 16)
    for (int64_t p = a.m.row_ptr[i]; p < a.m.row_ptr[i + 1]; ++p)
      if (!fixedBlock(i / 16, a.m.col_idx[p] / 16, 1, 1))
        hit.insert(a.m.col_idx[p] / 16);
  EXPECT_GT(hit.size(), 8u);
}

TEST(MaskBigBird, DenseWhenEverythingIsGlobal) {
  Mask mask;
  ASSERT_EQ(so_mask_bigbird(40, 8, 0, 5, 0, 1, &mask.m), 0);
  EXPECT_EQ(mask.m.nnz, 1600);
  // Counts beyond the number of blocks are clamped (no overflow).
  Mask huge;
  ASSERT_EQ(so_mask_bigbird(40, 8, INT64_MAX, INT64_MAX, INT64_MAX, 1, &huge.m),
            0);
  EXPECT_EQ(huge.m.nnz, 1600);
}

TEST(MaskBigBird, Errors) {
  Mask mask;
  EXPECT_NE(so_mask_bigbird(64, 0, 1, 1, 1, 1, &mask.m), 0);
  EXPECT_EQ(std::string(so_last_error()),
            "so_mask_bigbird: expected block >= 1 and block counts >= 0, got "
            "block 0, window 1, global 1, random 1");
  EXPECT_NE(so_mask_bigbird(64, 8, -1, 1, 1, 1, &mask.m), 0);
  EXPECT_NE(so_mask_bigbird(64, 8, 1, 1, -1, 1, &mask.m), 0);
  EXPECT_NE(so_mask_bigbird(-64, 8, 1, 1, 1, 1, &mask.m), 0);
  EXPECT_NE(so_mask_bigbird(64, 8, 1, 1, 1, 1, nullptr), 0);
  EXPECT_EQ(mask.m.row_ptr, nullptr);
  ASSERT_EQ(so_mask_bigbird(0, 8, 1, 1, 1, 1, &mask.m), 0);
  EXPECT_EQ(mask.m.nnz, 0);
}

} // namespace
