//===- ReadersTest.cpp - .smtx and .mtx readers ---------------------------===//

#include "sparse-opt-c/Runtime.h"

#include "gtest/gtest.h"

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

/// Writes `content` to a fresh file named `name` in the test temp directory.
std::string writeFile(const std::string &name, const std::string &content) {
  std::string path = testing::TempDir() + "so_readers_" + name;
  std::FILE *file = std::fopen(path.c_str(), "wb");
  EXPECT_NE(file, nullptr) << path;
  if (file) {
    std::fwrite(content.data(), 1, content.size(), file);
    std::fclose(file);
  }
  return path;
}

/// A read that must succeed; the returned matrix is freed by the fixture.
class ReaderTest : public testing::Test {
protected:
  void TearDown() override { so_csr_free(&m); }

  void read(const std::string &name, const std::string &content) {
    std::string path = writeFile(name, content);
    ASSERT_EQ(so_csr_read(path.c_str(), &m), 0) << so_last_error();
  }

  std::vector<int64_t> rowPtr() const {
    return {m.row_ptr, m.row_ptr + m.rows + 1};
  }
  std::vector<int64_t> colIdx() const { return {m.col_idx, m.col_idx + m.nnz}; }
  std::vector<float> values() const { return {m.values, m.values + m.nnz}; }

  SoCsr m{};
};

/// Reads a file that must be rejected and returns the error message with
/// the path replaced by "FILE", checking that the output stays zeroed.
std::string readError(const std::string &name, const std::string &content) {
  std::string path = writeFile(name, content);
  SoCsr m;
  m.nnz = 42; // Must be overwritten.
  EXPECT_NE(so_csr_read(path.c_str(), &m), 0);
  EXPECT_EQ(m.rows, 0);
  EXPECT_EQ(m.nnz, 0);
  EXPECT_EQ(m.row_ptr, nullptr);
  EXPECT_EQ(m.col_idx, nullptr);
  EXPECT_EQ(m.values, nullptr);
  std::string message = so_last_error();
  if (message.compare(0, path.size(), path) == 0)
    message.replace(0, path.size(), "FILE");
  return message;
}

//===----------------------------------------------------------------------===//
// .smtx
//===----------------------------------------------------------------------===//

TEST_F(ReaderTest, SmtxSmall) {
  // Row 1 is empty; trailing blanks and CRLF line ends are accepted.
  read("small.smtx", "3, 4, 4\r\n0 2 2 4 \r\n1 3 0 2\r\n");
  EXPECT_EQ(m.rows, 3);
  EXPECT_EQ(m.cols, 4);
  EXPECT_EQ(m.nnz, 4);
  EXPECT_EQ(rowPtr(), (std::vector<int64_t>{0, 2, 2, 4}));
  EXPECT_EQ(colIdx(), (std::vector<int64_t>{1, 3, 0, 2}));
  EXPECT_EQ(values(), (std::vector<float>{1, 1, 1, 1}));
}

TEST_F(ReaderTest, SmtxEmptyMatrixWithoutIndexLine) {
  read("empty.smtx", "2, 3, 0\n0 0 0\n");
  EXPECT_EQ(m.rows, 2);
  EXPECT_EQ(m.nnz, 0);
  EXPECT_EQ(rowPtr(), (std::vector<int64_t>{0, 0, 0}));
}

TEST_F(ReaderTest, SmtxNoTrailingNewline) {
  read("nonewline.smtx", "1, 2, 1\n0 1\n1");
  EXPECT_EQ(colIdx(), (std::vector<int64_t>{1}));
}

TEST(SmtxErrors, Header) {
  EXPECT_EQ(readError("e1.smtx", ""),
            "FILE:1: expected the number of rows, found end of file");
  EXPECT_EQ(readError("e2.smtx", "x, 2, 3\n"),
            "FILE:1: expected the number of rows, found 'x,'");
  EXPECT_EQ(readError("e3.smtx", "-2, 2, 0\n"),
            "FILE:1: expected the number of rows, found '-2,'");
  EXPECT_EQ(readError("e4.smtx", "2 2 1\n"),
            "FILE:1: expected ',' after the number of rows, found '2'");
  EXPECT_EQ(readError("e5.smtx", "2, 2\n"),
            "FILE:1: expected ',' after the number of columns, found end of "
            "line");
  EXPECT_EQ(readError("e6.smtx", "2, 2, 1 7\n"),
            "FILE:1: expected end of line, found '7'");
  EXPECT_EQ(readError("e7.smtx", "2, 2, 1.5\n"),
            "FILE:1: expected the number of nonzeros, found '1.5'");
}

TEST(SmtxErrors, Sizes) {
  EXPECT_EQ(readError("s1.smtx", "99999999999999999999, 2, 0\n"),
            "FILE:1: expected the number of rows, found "
            "'99999999999999999999' (out of range)");
  EXPECT_EQ(readError("s2.smtx", "2, 2, 5\n0 1 5\n0 1 0 1 0\n"),
            "FILE:1: expected at most nrows * ncols nonzeros, found 5 for "
            "2 x 2");
  EXPECT_EQ(readError("s3.smtx", "9223372036854775807, 1, 0\n0\n"),
            "FILE:1: expected fewer than 9223372036854775807 rows, found "
            "9223372036854775807");
  // A header far larger than the file is caught without allocating.
  EXPECT_EQ(readError("s4.smtx", "1000000000000, 1, 0\n0\n"),
            "FILE:2: expected 1000000000001 row offsets, found 1");
}

TEST(SmtxErrors, RowOffsets) {
  EXPECT_EQ(readError("r1.smtx", "2, 2, 1\n"),
            "FILE:2: expected 3 row offsets, found end of file");
  EXPECT_EQ(readError("r2.smtx", "2, 2, 1\n0 1\n0\n"),
            "FILE:2: expected 3 row offsets, found 2");
  EXPECT_EQ(readError("r3.smtx", "2, 2, 1\n0 1 1 1\n0\n"),
            "FILE:2: expected 3 row offsets, found 4");
  EXPECT_EQ(readError("r4.smtx", "2, 2, 1\n0 x 1\n0\n"),
            "FILE:2: expected a row offset, found 'x'");
  EXPECT_EQ(readError("r5.smtx", "2, 2, 1\n1 1 1\n0\n"),
            "FILE:2: expected the first row offset to be 0, found 1");
  EXPECT_EQ(readError("r6.smtx", "3, 2, 2\n0 2 1 2\n0 1\n"),
            "FILE:2: expected non-decreasing row offsets, found 1 after 2 "
            "(offset 2)");
  EXPECT_EQ(readError("r7.smtx", "2, 2, 1\n0 3 1\n0\n"),
            "FILE:2: expected row offsets at most nnz = 1, found 3 (offset 1)");
  EXPECT_EQ(readError("r8.smtx", "2, 2, 2\n0 1 1\n0 1\n"),
            "FILE:2: expected the last row offset to equal nnz = 2, found 1");
}

TEST(SmtxErrors, ColumnIndices) {
  EXPECT_EQ(readError("c1.smtx", "2, 2, 2\n0 1 2\n"),
            "FILE:3: expected 2 column indices, found end of file");
  EXPECT_EQ(readError("c2.smtx", "2, 2, 2\n0 1 2\n0\n"),
            "FILE:3: expected 2 column indices, found 1");
  EXPECT_EQ(readError("c3.smtx", "2, 2, 2\n0 1 2\n0 2\n"),
            "FILE:3: expected a column index below ncols = 2, found 2 "
            "(entry 1, row 1)");
  EXPECT_EQ(readError("c4.smtx", "1, 3, 2\n0 2\n2 1\n"),
            "FILE:3: expected ascending distinct column indices within a row, "
            "found 1 after 2 (entry 1, row 0)");
  EXPECT_EQ(readError("c5.smtx", "1, 3, 2\n0 2\n1 1\n"),
            "FILE:3: expected ascending distinct column indices within a row, "
            "found 1 after 1 (entry 1, row 0)");
  EXPECT_EQ(readError("c6.smtx", "1, 3, 2\n0 2\n1 -1\n"),
            "FILE:3: expected a column index, found '-1'");
  EXPECT_EQ(readError("c7.smtx", "1, 3, 1\n0 1\n1\n5\n"),
            "FILE:4: expected end of file, found '5'");
  EXPECT_EQ(readError("c8.smtx", std::string("1, 3, 1\n0 1\n1\0\n", 15)),
            "FILE:3: expected a column index, found '1\\x00'");
}

TEST(SmtxErrors, MissingFile) {
  SoCsr m;
  std::string path = testing::TempDir() + "so_readers_does_not_exist.smtx";
  EXPECT_NE(so_csr_read_smtx(path.c_str(), &m), 0);
  EXPECT_EQ(std::string(so_last_error()),
            path + ": cannot open: No such file or directory");
}

/// The directory of DLMC matrices, or "" if there is none.
std::string dlmcDir() {
  if (const char *env = std::getenv("SPARSE_OPT_DLMC_DIR"))
    return env;
  return SPARSE_OPT_DLMC_DIR;
}

TEST_F(ReaderTest, DlmcMatrix) {
  std::string dir = dlmcDir();
  if (dir.empty())
    GTEST_SKIP() << "no DLMC matrices: set SPARSE_OPT_DLMC_DIR";
  std::string path = dir +
                     "/transformer/magnitude_pruning/0.9/"
                     "body_encoder_layer_0_ffn_conv1_fully_connected.smtx";
  if (std::FILE *probe = std::fopen(path.c_str(), "rb"))
    std::fclose(probe);
  else
    GTEST_SKIP() << "missing " << path;
  ASSERT_EQ(so_csr_read(path.c_str(), &m), 0) << so_last_error();
  // The FFN input projection: 2048 x 512 at 90% sparsity.
  EXPECT_EQ(m.rows, 2048);
  EXPECT_EQ(m.cols, 512);
  EXPECT_NEAR(double(m.nnz) / (m.rows * m.cols), 0.1, 0.001);
  EXPECT_EQ(m.row_ptr[m.rows], m.nnz);
  for (int64_t i = 0; i < m.rows; ++i)
    for (int64_t k = m.row_ptr[i] + 1; k < m.row_ptr[i + 1]; ++k)
      ASSERT_LT(m.col_idx[k - 1], m.col_idx[k]);
}

//===----------------------------------------------------------------------===//
// .mtx
//===----------------------------------------------------------------------===//

TEST_F(ReaderTest, MtxGeneralUnorderedWithDuplicates) {
  read("general.mtx", "%%MatrixMarket matrix coordinate real general\n"
                      "% a comment\n"
                      "%\n"
                      "\n"
                      "3 4 5\n"
                      "3 1 -2.5e0\n"
                      "1 4 +1\n"
                      "1 2 .5\n"
                      "3 1 1.0\n"
                      "\n"
                      "1 2 0.25\n");
  EXPECT_EQ(m.rows, 3);
  EXPECT_EQ(m.cols, 4);
  EXPECT_EQ(rowPtr(), (std::vector<int64_t>{0, 2, 2, 3}));
  EXPECT_EQ(colIdx(), (std::vector<int64_t>{1, 3, 0}));
  EXPECT_EQ(values(), (std::vector<float>{0.75f, 1.0f, -1.5f}));
}

TEST_F(ReaderTest, MtxDuplicatesSumInAscendingOrderOfValue) {
  // In file order the float sum would be (1e8 - 1e8) + 1 = 1; in ascending
  // order (-1e8 + 1) + 1e8 = 0, whatever order the file and the sort give.
  read("order.mtx", "%%MatrixMarket matrix coordinate real general\n"
                    "2 2 3\n"
                    "1 1 1e8\n"
                    "1 1 -1e8\n"
                    "1 1 1\n");
  EXPECT_EQ(values(), (std::vector<float>{0.0f}));
}

TEST_F(ReaderTest, MtxSymmetricExpansion) {
  read("sym.mtx", "%%MatrixMarket matrix coordinate integer symmetric\n"
                  "3 3 3\n"
                  "1 1 5\n"
                  "3 1 -2\n"
                  "3 2 7\n");
  EXPECT_EQ(rowPtr(), (std::vector<int64_t>{0, 2, 3, 5}));
  EXPECT_EQ(colIdx(), (std::vector<int64_t>{0, 2, 2, 0, 1}));
  EXPECT_EQ(values(), (std::vector<float>{5, -2, 7, -2, 7}));
}

TEST_F(ReaderTest, MtxSkewSymmetricExpansion) {
  read("skew.mtx", "%%matrixmarket MATRIX Coordinate real skew-symmetric\n"
                   "2 2 1\n"
                   "2 1 3.5\n");
  EXPECT_EQ(rowPtr(), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(colIdx(), (std::vector<int64_t>{1, 0}));
  EXPECT_EQ(values(), (std::vector<float>{-3.5f, 3.5f}));
}

TEST_F(ReaderTest, MtxPatternDuplicatesStayOne) {
  read("pattern.mtx", "%%MatrixMarket matrix coordinate pattern general\n"
                      "2 2 3\n"
                      "2 2\n"
                      "1 1\n"
                      "2 2\n");
  EXPECT_EQ(rowPtr(), (std::vector<int64_t>{0, 1, 2}));
  EXPECT_EQ(colIdx(), (std::vector<int64_t>{0, 1}));
  EXPECT_EQ(values(), (std::vector<float>{1, 1}));
}

TEST_F(ReaderTest, MtxEmpty) {
  read("empty.mtx", "%%MatrixMarket matrix coordinate real general\n0 0 0\n");
  EXPECT_EQ(m.rows, 0);
  EXPECT_EQ(m.nnz, 0);
  EXPECT_EQ(rowPtr(), (std::vector<int64_t>{0}));
}

TEST(MtxErrors, Banner) {
  EXPECT_EQ(readError("b1.mtx", ""),
            "FILE:1: expected the banner '%%MatrixMarket matrix coordinate "
            "...', found end of file");
  EXPECT_EQ(readError("b2.mtx", "3 3 1\n1 1 1\n"),
            "FILE:1: expected the banner '%%MatrixMarket matrix coordinate "
            "...', found '3 3 1'");
  EXPECT_EQ(readError("b3.mtx", "%%MatrixMarket matrix array real general\n"),
            "FILE:1: expected format 'coordinate', found 'array'");
  EXPECT_EQ(
      readError("b4.mtx", "%%MatrixMarket matrix coordinate complex general\n"),
      "FILE:1: expected field 'real', 'integer' or 'pattern', found "
      "'complex'");
  EXPECT_EQ(
      readError("b5.mtx", "%%MatrixMarket matrix coordinate real hermitian\n"),
      "FILE:1: expected symmetry 'general', 'symmetric' or 'skew-symmetric', "
      "found 'hermitian'");
  EXPECT_EQ(readError("b6.mtx", "%%MatrixMarket vector coordinate real\n"),
            "FILE:1: expected object 'matrix', found 'vector'");
  EXPECT_EQ(
      readError("b7.mtx", "%%MatrixMarket matrix coordinate real general x\n"),
      "FILE:1: expected end of line, found 'x'");
}

const char *kGeneralBanner = "%%MatrixMarket matrix coordinate real general\n";

TEST(MtxErrors, SizeLine) {
  std::string b = kGeneralBanner;
  EXPECT_EQ(readError("z1.mtx", b),
            "FILE:2: expected the number of rows, found end of file");
  EXPECT_EQ(readError("z2.mtx", b + "% only comments\n"),
            "FILE:3: expected the number of rows, found end of file");
  EXPECT_EQ(readError("z3.mtx", b + "-1 2 0\n"),
            "FILE:2: expected the number of rows, found '-1'");
  EXPECT_EQ(readError("z4.mtx", b + "2 2\n"),
            "FILE:2: expected the number of entries, found end of line");
  EXPECT_EQ(readError("z5.mtx", b + "2 2 5\n"),
            "FILE:2: expected at most rows * columns entries, found 5 for "
            "2 x 2");
  EXPECT_EQ(readError("z6.mtx", b + "2 2 99999999999999999999\n"),
            "FILE:2: expected the number of entries, found "
            "'99999999999999999999' (out of range)");
  EXPECT_EQ(readError("z7.mtx",
                      "%%MatrixMarket matrix coordinate real symmetric\n"
                      "2 3 1\n"),
            "FILE:2: expected a square matrix for a symmetric file, found "
            "2 x 3");
}

TEST(MtxErrors, Entries) {
  std::string b = std::string(kGeneralBanner) + "2 3 2\n";
  EXPECT_EQ(readError("n1.mtx", b + "1 1 1\n"),
            "FILE:4: expected 2 entries, found 1");
  EXPECT_EQ(readError("n2.mtx", b + "1 1 1\n2 2 2\n1 3 3\n"),
            "FILE:5: expected end of file after 2 entries, found '1'");
  EXPECT_EQ(readError("n3.mtx", b + "0 1 1\n"),
            "FILE:3: expected a row index in [1, 2], found 0");
  EXPECT_EQ(readError("n4.mtx", b + "1 4 1\n"),
            "FILE:3: expected a column index in [1, 3], found 4");
  EXPECT_EQ(readError("n5.mtx", b + "1 1\n"),
            "FILE:3: expected a real value, found end of line");
  EXPECT_EQ(readError("n6.mtx", b + "1 1 abc\n"),
            "FILE:3: expected a real value, found 'abc'");
  EXPECT_EQ(readError("n7.mtx", b + "1 1 1 1\n"),
            "FILE:3: expected end of line, found '1'");
  EXPECT_EQ(readError("n8.mtx", b + "1 1 1e300\n"),
            "FILE:3: expected a finite value in float range, found '1e300'");
  EXPECT_EQ(readError("n9.mtx", b + "1 1 1e999\n"),
            "FILE:3: expected a finite value in float range, found '1e999' "
            "(out of range)");
  EXPECT_EQ(readError("n10.mtx", b + "1 1 nan\n"),
            "FILE:3: expected a finite value in float range, found 'nan'");
  EXPECT_EQ(readError("n11.mtx", b + "1 x 1\n"),
            "FILE:3: expected a column index, found 'x'");
  EXPECT_EQ(
      readError("n12.mtx",
                "%%MatrixMarket matrix coordinate integer general\n1 1 1\n"
                "1 1 2.5\n"),
      "FILE:3: expected an integer value, found '2.5'");
}

TEST(MtxErrors, Triangles) {
  EXPECT_EQ(readError("t1.mtx",
                      "%%MatrixMarket matrix coordinate real symmetric\n"
                      "2 2 1\n1 2 1\n"),
            "FILE:3: expected an entry on or below the diagonal of a "
            "symmetric matrix, found (1, 2)");
  EXPECT_EQ(readError("t2.mtx",
                      "%%MatrixMarket matrix coordinate real skew-symmetric\n"
                      "2 2 1\n2 2 1\n"),
            "FILE:3: expected an entry below the diagonal of a "
            "skew-symmetric matrix, found (2, 2)");
}

/// Reads every prefix of `content`, and `content` with each byte replaced by
/// a few troublesome ones: each read must either succeed with a consistent
/// matrix or fail with a message (run under ASan to catch bad accesses).
void expectRobust(const std::string &name, const std::string &content) {
  auto check = [&](const std::string &text) {
    std::string path = writeFile(name, text);
    SoCsr m;
    if (so_csr_read(path.c_str(), &m) == 0) {
      ASSERT_EQ(m.row_ptr[0], 0);
      ASSERT_EQ(m.row_ptr[m.rows], m.nnz);
      for (int64_t k = 0; k < m.nnz; ++k)
        ASSERT_TRUE(m.col_idx[k] >= 0 && m.col_idx[k] < m.cols);
      so_csr_free(&m);
    } else {
      ASSERT_NE(std::string(so_last_error()), "");
    }
  };
  for (size_t length = 0; length < content.size(); ++length)
    check(content.substr(0, length));
  for (size_t i = 0; i < content.size(); ++i)
    for (char replacement : {'\0', '\n', ' ', '-', '9', 'x', ','}) {
      std::string mutated = content;
      mutated[i] = replacement;
      check(mutated);
    }
}

TEST(ReaderRobustness, SmtxPrefixesAndMutations) {
  expectRobust("robust.smtx", "3, 4, 4\n0 2 2 4\n1 3 0 2\n");
}

TEST(ReaderRobustness, MtxPrefixesAndMutations) {
  expectRobust("robust.mtx", "%%MatrixMarket matrix coordinate real symmetric\n"
                             "% comment\n"
                             "3 3 3\n"
                             "1 1 1.5\n"
                             "3 1 -2e1\n"
                             "3 2 7\n");
}

TEST(ReadDispatch, UnknownExtension) {
  EXPECT_EQ(readError("matrix.txt", "1, 1, 0\n0\n"),
            "FILE: unknown matrix file extension '.txt', expected .smtx or "
            ".mtx");
  EXPECT_EQ(readError("noextension", "1, 1, 0\n0\n"),
            "FILE: unknown matrix file extension (none), expected .smtx or "
            ".mtx");
}

TEST(ReadDispatch, NullArguments) {
  SoCsr m;
  EXPECT_NE(so_csr_read(nullptr, &m), 0);
  EXPECT_NE(so_csr_read("x.smtx", nullptr), 0);
  EXPECT_NE(so_csr_read_mtx(nullptr, &m), 0);
}

} // namespace
