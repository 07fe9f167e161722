//===- StructuredTest.cpp - BSR and N:M conversions, structured pruning ---===//

#include "sparse-opt-c/Runtime.h"

#include "gtest/gtest.h"

#include <cstdint>
#include <string>
#include <vector>

namespace {

/// A CSR matrix owning its arrays, built from a row-major dense array.
struct Matrix {
  SoCsr csr{};
  Matrix(const std::vector<float> &dense, int64_t rows, int64_t cols) {
    EXPECT_EQ(so_csr_from_dense(dense.data(), rows, cols, &csr), 0)
        << so_last_error();
  }
  ~Matrix() { so_csr_free(&csr); }
};

std::vector<float> toDense(const SoCsr &m) {
  std::vector<float> dense(static_cast<size_t>(m.rows * m.cols), 0.0f);
  for (int64_t i = 0; i < m.rows; ++i)
    for (int64_t k = m.row_ptr[i]; k < m.row_ptr[i + 1]; ++k)
      dense[i * m.cols + m.col_idx[k]] += m.values[k];
  return dense;
}

// A 4 x 6 matrix: with 2 x 3 blocks, block (0, 0) holds 1 and 2, block
// (1, 1) holds 3; blocks (0, 1) and (1, 0) are empty.
const std::vector<float> kDense = {
    1, 0, 0, 0, 0, 0, //
    0, 0, 2, 0, 0, 0, //
    0, 0, 0, 0, 0, 0, //
    0, 0, 0, 0, 3, 0, //
};

TEST(Structured, CsrFromDenseKeepsNonZeros) {
  Matrix a(kDense, 4, 6);
  EXPECT_EQ(a.csr.nnz, 3);
  EXPECT_EQ(toDense(a.csr), kDense);
}

TEST(Structured, BsrZeroFillsPartialBlocks) {
  Matrix a(kDense, 4, 6);
  SoBsr b{};
  ASSERT_EQ(so_csr_to_bsr(&a.csr, 2, 3, &b), 0) << so_last_error();
  EXPECT_EQ(b.nnzb, 2);
  EXPECT_EQ(std::vector<int64_t>(b.block_ptr, b.block_ptr + 3),
            (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(std::vector<int64_t>(b.block_col, b.block_col + 2),
            (std::vector<int64_t>{0, 1}));
  // Each block row-major: block (0,0) rows {1 0 0} {0 0 2}; block (1,1)
  // rows {0 0 0} {0 3 0}.
  EXPECT_EQ(std::vector<float>(b.values, b.values + 12),
            (std::vector<float>{1, 0, 0, 0, 0, 2, 0, 0, 0, 0, 3, 0}));

  SoCsrOperand op{};
  ASSERT_EQ(so_bsr_operand_init(&b, 32, &op), 0) << so_last_error();
  EXPECT_EQ(op.rows, 4);
  EXPECT_EQ(op.cols, 6);
  EXPECT_EQ(op.nnz, 12);
  EXPECT_EQ(op.pos.sizes[0], 3);
  EXPECT_EQ(op.crd.sizes[0], 2);
  EXPECT_EQ(op.val.sizes[0], 12);
  EXPECT_EQ(static_cast<int32_t *>(op.crd.aligned)[1], 1);
  so_csr_operand_release(&op);
  so_bsr_free(&b);
  so_bsr_free(&b); // Zeroed: freeing again is fine.
}

TEST(Structured, BsrEmptyAndDense) {
  Matrix empty(std::vector<float>(24, 0.0f), 4, 6);
  SoBsr b{};
  ASSERT_EQ(so_csr_to_bsr(&empty.csr, 4, 1, &b), 0) << so_last_error();
  EXPECT_EQ(b.nnzb, 0);
  EXPECT_EQ(b.block_ptr[1], 0);
  so_bsr_free(&b);

  Matrix dense(std::vector<float>(24, 1.5f), 4, 6);
  ASSERT_EQ(so_csr_to_bsr(&dense.csr, 1, 6, &b), 0) << so_last_error();
  EXPECT_EQ(b.nnzb, 4);
  for (int64_t t = 0; t < 24; ++t)
    EXPECT_EQ(b.values[t], 1.5f);
  so_bsr_free(&b);
}

TEST(Structured, BsrRejectsBlocksThatDoNotTile) {
  Matrix a(kDense, 4, 6);
  SoBsr b{};
  EXPECT_NE(so_csr_to_bsr(&a.csr, 3, 3, &b), 0);
  EXPECT_EQ(std::string(so_last_error()),
            "so_csr_to_bsr: 3 x 3 blocks do not tile a 4 x 6 matrix");
  EXPECT_NE(so_csr_to_bsr(&a.csr, 0, 3, &b), 0);
}

TEST(Structured, NmPadsGroupsAndKeepsOffsets) {
  // 2:4 on a 2 x 8 matrix: row 0 groups {5 at 1}, {6 at 0, 7 at 3};
  // row 1 empty.
  std::vector<float> dense = {0, 5, 0, 0, 6, 0, 0, 7, //
                              0, 0, 0, 0, 0, 0, 0, 0};
  Matrix a(dense, 2, 8);
  SoNm nm{};
  ASSERT_EQ(so_csr_to_nm(&a.csr, 2, 4, &nm), 0) << so_last_error();
  // Group (0,0): 5 at 1, padded with a zero at 0 (the lowest free position).
  EXPECT_EQ(std::vector<int64_t>(nm.offsets, nm.offsets + 8),
            (std::vector<int64_t>{0, 1, 0, 3, 0, 1, 0, 1}));
  EXPECT_EQ(std::vector<float>(nm.values, nm.values + 8),
            (std::vector<float>{0, 5, 6, 7, 0, 0, 0, 0}));

  SoNmOperand op{};
  ASSERT_EQ(so_nm_operand_init(&nm, 32, &op), 0) << so_last_error();
  EXPECT_EQ(op.crd.sizes[0], 8);
  EXPECT_EQ(static_cast<int32_t *>(op.crd.aligned)[3], 3);
  so_nm_operand_release(&op);
  so_nm_free(&nm);
}

TEST(Structured, NmRejectsNonConformingGroup) {
  std::vector<float> dense = {1, 0, 0, 0, 1, 1, 1, 0};
  Matrix a(dense, 1, 8);
  SoNm nm{};
  EXPECT_NE(so_csr_to_nm(&a.csr, 2, 4, &nm), 0);
  EXPECT_EQ(std::string(so_last_error()),
            "so_csr_to_nm: row 0, columns 4..7 hold 3 entries, more than "
            "2:4 allows (prune with so_csr_prune_nm)");
  EXPECT_NE(so_csr_to_nm(&a.csr, 2, 3, &nm), 0); // 3 does not divide 8
  EXPECT_NE(so_csr_to_nm(&a.csr, 5, 4, &nm), 0); // n > m
}

TEST(Structured, PruneNmKeepsLargestMagnitudes) {
  // Ties go to the lower column.
  std::vector<float> dense = {1, -4, 2, 3, 2, 2, 2, 0};
  Matrix a(dense, 1, 8);
  SoCsr pruned{};
  ASSERT_EQ(so_csr_prune_nm(&a.csr, 2, 4, &pruned), 0) << so_last_error();
  EXPECT_EQ(toDense(pruned), (std::vector<float>{0, -4, 0, 3, 2, 2, 0, 0}));
  SoNm nm{};
  EXPECT_EQ(so_csr_to_nm(&pruned, 2, 4, &nm), 0) << so_last_error();
  so_nm_free(&nm);
  so_csr_free(&pruned);
}

TEST(Structured, PruneBlocksKeepsWholeBlocksOfLargestNorm) {
  // 2 x 2 blocks of a 4 x 4 matrix; norms: (0,0) 1, (0,1) 25, (1,0) 4,
  // (1,1) 0.
  std::vector<float> dense = {1, 0, 0, 5, //
                              0, 0, 0, 0, //
                              2, 0, 0, 0, //
                              0, 0, 0, 0};
  Matrix a(dense, 4, 4);
  SoCsr pruned{};
  ASSERT_EQ(so_csr_prune_blocks(&a.csr, 2, 2, 2, &pruned), 0)
      << so_last_error();
  // Blocks (0,1) and (1,0) whole: 8 entries, a's values where it has them.
  EXPECT_EQ(pruned.nnz, 8);
  EXPECT_EQ(toDense(pruned), (std::vector<float>{0, 0, 0, 5, //
                                                 0, 0, 0, 0, //
                                                 2, 0, 0, 0, //
                                                 0, 0, 0, 0}));
  SoBsr b{};
  ASSERT_EQ(so_csr_to_bsr(&pruned, 2, 2, &b), 0);
  EXPECT_EQ(b.nnzb, 2);
  so_bsr_free(&b);
  so_csr_free(&pruned);
  EXPECT_NE(so_csr_prune_blocks(&a.csr, 2, 2, 5, &pruned), 0);
}

} // namespace
