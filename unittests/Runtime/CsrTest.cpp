//===- CsrTest.cpp - Descriptors, random values, CSR utilities ------------===//

#include "sparse-opt-c/Runtime.h"

#include "gtest/gtest.h"

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

namespace {

TEST(MemRef, OneDimensional) {
  float data[5];
  SoMemRef1D m = so_memref_1d(data, 5);
  EXPECT_EQ(m.allocated, data);
  EXPECT_EQ(m.aligned, data);
  EXPECT_EQ(m.offset, 0);
  EXPECT_EQ(m.sizes[0], 5);
  EXPECT_EQ(m.strides[0], 1);
}

TEST(MemRef, TwoDimensionalRowMajor) {
  float data[12];
  SoMemRef2D m = so_memref_2d(data, 3, 4);
  EXPECT_EQ(m.allocated, data);
  EXPECT_EQ(m.aligned, data);
  EXPECT_EQ(m.offset, 0);
  EXPECT_EQ(m.sizes[0], 3);
  EXPECT_EQ(m.sizes[1], 4);
  EXPECT_EQ(m.strides[0], 4);
  EXPECT_EQ(m.strides[1], 1);
}

TEST(MemRef, LayoutMatchesMlirDescriptor) {
  // {T *allocated; T *aligned; int64_t offset, sizes[R], strides[R];}
  EXPECT_EQ(sizeof(SoMemRef1D), 2 * sizeof(void *) + 3 * sizeof(int64_t));
  EXPECT_EQ(sizeof(SoMemRef2D), 2 * sizeof(void *) + 5 * sizeof(int64_t));
  so_memref_release(nullptr);
}

TEST(Random, PinnedSplitMix64Values) {
  // splitmix64 seeded with 0 first yields 0xE220A8397B1DCDAF; value = top 24
  // bits * 2^-23 - 1. Pinning it guards the cross-platform sequence.
  float value;
  ASSERT_EQ(so_fill_random(&value, 1, 0), 0);
  EXPECT_EQ(value, float(0xE220A8 - (1 << 23)) / float(1 << 23));
}

TEST(Random, ReproducibleAndInRange) {
  std::vector<float> a(1000), b(1000), c(1000);
  ASSERT_EQ(so_fill_random(a.data(), 1000, 42), 0);
  ASSERT_EQ(so_fill_random(b.data(), 1000, 42), 0);
  ASSERT_EQ(so_fill_random(c.data(), 1000, 43), 0);
  EXPECT_EQ(a, b);
  EXPECT_NE(a, c);
  double sum = 0;
  for (float v : a) {
    EXPECT_GE(v, -1.0f);
    EXPECT_LT(v, 1.0f);
    sum += v;
  }
  EXPECT_NEAR(sum / 1000, 0.0, 0.1);
}

TEST(Random, BadArguments) {
  EXPECT_NE(so_fill_random(nullptr, 3, 0), 0);
  float v;
  EXPECT_NE(so_fill_random(&v, -1, 0), 0);
  EXPECT_EQ(so_fill_random(nullptr, 0, 0), 0);
}

TEST(Csr, FillRandomMatchesFillRandomOfValues) {
  SoCsr m;
  ASSERT_EQ(so_csr_random(20, 30, 0.3, 7, &m), 0) << so_last_error();
  std::vector<float> expected(m.nnz);
  so_fill_random(expected.data(), m.nnz, 99);
  ASSERT_EQ(so_csr_fill_random(&m, 99), 0);
  EXPECT_EQ(std::vector<float>(m.values, m.values + m.nnz), expected);
  so_csr_free(&m);
  EXPECT_EQ(m.row_ptr, nullptr);
  EXPECT_EQ(m.nnz, 0);
  so_csr_free(&m); // Freeing twice is harmless.
  so_csr_free(nullptr);
  EXPECT_NE(so_csr_fill_random(nullptr, 1), 0);
}

TEST(Csr, RandomPattern) {
  SoCsr m;
  ASSERT_EQ(so_csr_random(200, 300, 0.1, 5, &m), 0) << so_last_error();
  EXPECT_EQ(m.rows, 200);
  EXPECT_EQ(m.cols, 300);
  EXPECT_EQ(m.row_ptr[0], 0);
  EXPECT_EQ(m.row_ptr[m.rows], m.nnz);
  EXPECT_EQ(m.nnz, 6000);
  for (int64_t i = 0; i < m.rows; ++i) {
    for (int64_t k = m.row_ptr[i]; k < m.row_ptr[i + 1]; ++k) {
      EXPECT_GE(m.col_idx[k], 0);
      EXPECT_LT(m.col_idx[k], m.cols);
      if (k > m.row_ptr[i])
        EXPECT_LT(m.col_idx[k - 1], m.col_idx[k]);
      EXPECT_GE(m.values[k], -1.0f);
      EXPECT_LT(m.values[k], 1.0f);
    }
  }

  SoCsr again;
  ASSERT_EQ(so_csr_random(200, 300, 0.1, 5, &again), 0);
  ASSERT_EQ(again.nnz, m.nnz);
  EXPECT_EQ(std::vector<int64_t>(again.col_idx, again.col_idx + again.nnz),
            std::vector<int64_t>(m.col_idx, m.col_idx + m.nnz));
  EXPECT_EQ(std::vector<float>(again.values, again.values + again.nnz),
            std::vector<float>(m.values, m.values + m.nnz));
  so_csr_free(&again);
  so_csr_free(&m);
}

TEST(Csr, RandomDenseUsesComplement) {
  SoCsr m;
  ASSERT_EQ(so_csr_random(30, 40, 0.75, 3, &m), 0) << so_last_error();
  EXPECT_EQ(m.nnz, 900);
  EXPECT_EQ(m.row_ptr[30], 900);
  for (int64_t i = 0; i < m.rows; ++i)
    for (int64_t k = m.row_ptr[i] + 1; k < m.row_ptr[i + 1]; ++k)
      ASSERT_LT(m.col_idx[k - 1], m.col_idx[k]);
  so_csr_free(&m);
}

TEST(Csr, RandomHugeAndVerySparseIsFast) {
  // Time and memory follow nnz, not rows * cols.
  SoCsr m;
  ASSERT_EQ(so_csr_random(int64_t{1} << 20, int64_t{1} << 40, 1e-12, 3, &m), 0)
      << so_last_error();
  EXPECT_EQ(m.nnz, 1152922);
  so_csr_free(&m);
  EXPECT_NE(so_csr_random(int64_t{1} << 31, int64_t{1} << 31, 0.5, 3, &m), 0);
  EXPECT_EQ(std::string(so_last_error()),
            "so_csr_random: out of memory for 2305843009213693952 entries");
}

TEST(Csr, RandomExtremes) {
  SoCsr m;
  ASSERT_EQ(so_csr_random(4, 5, 1.0, 1, &m), 0);
  EXPECT_EQ(m.nnz, 20);
  so_csr_free(&m);
  ASSERT_EQ(so_csr_random(4, 5, 0.0, 1, &m), 0);
  EXPECT_EQ(m.nnz, 0);
  so_csr_free(&m);
  ASSERT_EQ(so_csr_random(0, 0, 0.5, 1, &m), 0);
  EXPECT_EQ(m.rows, 0);
  so_csr_free(&m);
}

TEST(Csr, RandomBadArguments) {
  SoCsr m;
  EXPECT_NE(so_csr_random(-1, 5, 0.5, 1, &m), 0);
  EXPECT_NE(so_csr_random(5, 5, 1.5, 1, &m), 0);
  EXPECT_NE(so_csr_random(5, 5, -0.1, 1, &m), 0);
  EXPECT_NE(
      so_csr_random(5, 5, std::numeric_limits<double>::quiet_NaN(), 1, &m), 0);
  EXPECT_NE(so_csr_random(INT64_MAX / 2, 3, 0.5, 1, &m), 0);
  EXPECT_EQ(std::string(so_last_error()),
            "so_csr_random: invalid size 4611686018427387903 x 3");
  EXPECT_EQ(m.row_ptr, nullptr);
  EXPECT_NE(so_csr_random(5, 5, 0.5, 1, nullptr), 0);
}

TEST(Csr, ToIndex32) {
  int64_t rowPtr[] = {0, 2, 3};
  int64_t colIdx[] = {1, 4, 2};
  float values[] = {1, 2, 3};
  SoCsr m{2, 5, 3, rowPtr, colIdx, values};
  int32_t *rowPtr32, *colIdx32;
  ASSERT_EQ(so_csr_to_index32(&m, &rowPtr32, &colIdx32), 0) << so_last_error();
  EXPECT_EQ(std::vector<int32_t>(rowPtr32, rowPtr32 + 3),
            (std::vector<int32_t>{0, 2, 3}));
  EXPECT_EQ(std::vector<int32_t>(colIdx32, colIdx32 + 3),
            (std::vector<int32_t>{1, 4, 2}));
  so_memref_release(rowPtr32);
  so_memref_release(colIdx32);
}

TEST(Csr, ToIndex32Overflow) {
  int64_t rowPtr[] = {0, 1, 2};
  int64_t colIdx[] = {0, int64_t{1} << 31};
  float values[] = {1, 2};
  SoCsr m{2, int64_t{1} << 32, 2, rowPtr, colIdx, values};
  int32_t *rowPtr32 = nullptr, *colIdx32 = nullptr;
  EXPECT_NE(so_csr_to_index32(&m, &rowPtr32, &colIdx32), 0);
  EXPECT_EQ(std::string(so_last_error()),
            "so_csr_to_index32: expected 32-bit indices, found col_idx[1] = "
            "2147483648");
  EXPECT_EQ(rowPtr32, nullptr);
  EXPECT_EQ(colIdx32, nullptr);

  SoCsr tooMany{2, 2, int64_t{1} << 31, rowPtr, colIdx, values};
  EXPECT_NE(so_csr_to_index32(&tooMany, &rowPtr32, &colIdx32), 0);
  EXPECT_EQ(std::string(so_last_error()),
            "so_csr_to_index32: expected sizes that fit in 32 bits, found 2 "
            "rows and 2147483648 entries");
  EXPECT_NE(so_csr_to_index32(nullptr, &rowPtr32, &colIdx32), 0);
}

} // namespace
