//===- LibraryTest.cpp - Loading libraries and calling kernels ------------===//
//
// Runs against TestKernels.c, built as a loadable module with the same entry
// point ABI as the libraries sparse-compile produces.
//
//===----------------------------------------------------------------------===//

#include "sparse-opt-c/Runtime.h"

#include "gtest/gtest.h"

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace {

/// C = A * B computed here, row-major M x N.
std::vector<float> reference(const SoCsr &a, const std::vector<float> &b,
                             int64_t n) {
  std::vector<float> c(a.rows * n, 0.0f);
  for (int64_t i = 0; i < a.rows; ++i)
    for (int64_t k = a.row_ptr[i]; k < a.row_ptr[i + 1]; ++k)
      for (int64_t j = 0; j < n; ++j)
        c[i * n + j] += a.values[k] * b[a.col_idx[k] * n + j];
  return c;
}

class LibraryTest : public testing::Test {
protected:
  void SetUp() override {
    lib = so_library_open(SPARSE_OPT_TEST_KERNELS);
    ASSERT_NE(lib, nullptr) << so_last_error();
    ASSERT_EQ(so_csr_random(M, K, 0.3, 11, &a), 0) << so_last_error();
    b.resize(K * N);
    so_fill_random(b.data(), K * N, 12);
  }
  void TearDown() override {
    so_csr_free(&a);
    so_library_close(lib);
  }

  static constexpr int64_t M = 13, K = 17, N = 5;
  SoLibrary *lib = nullptr;
  SoCsr a{};
  std::vector<float> b;
};

TEST(Library, OpenFailureNamesPathAndReason) {
  const char *path = "/nonexistent/libkernels.so";
  EXPECT_EQ(so_library_open(path), nullptr);
  std::string message = so_last_error();
  EXPECT_EQ(message.rfind(std::string(path) + ": cannot load library: ", 0), 0u)
      << message;
  EXPECT_NE(message.find("No such file or directory"), std::string::npos)
      << message;
  EXPECT_EQ(so_library_open(nullptr), nullptr);
  so_library_close(nullptr);
}

TEST_F(LibraryTest, LookupPrefersCInterface) {
  // The plain `spmm` returns nothing; `_mlir_ciface_spmm` computes.
  void *fn = so_library_lookup(lib, "spmm");
  ASSERT_NE(fn, nullptr);
  std::vector<float> c(M * N);
  ASSERT_EQ(so_call_spmm(fn, &a, 64, b.data(), N, c.data()), 0)
      << so_last_error();
  EXPECT_EQ(c, reference(a, b, N));
}

TEST_F(LibraryTest, LookupFallsBackToPlainName) {
  EXPECT_NE(so_library_lookup(lib, "spmm_i32"), nullptr);
  EXPECT_EQ(so_library_lookup(lib, "missing"), nullptr);
  EXPECT_EQ(std::string(so_last_error()),
            std::string(SPARSE_OPT_TEST_KERNELS) +
                ": no entry point '_mlir_ciface_missing' or 'missing'");
}

TEST_F(LibraryTest, Signature) {
  const char *signature = so_library_signature(lib, "spmm");
  ASSERT_NE(signature, nullptr);
  EXPECT_EQ(std::string(signature).rfind("(tensor<13x17xf32, ", 0), 0u);
  EXPECT_EQ(so_library_signature(lib, "spmv"), nullptr);
  EXPECT_EQ(std::string(so_last_error()),
            std::string(SPARSE_OPT_TEST_KERNELS) +
                ": no signature 'sparse_opt_signature_spmv'");
}

TEST_F(LibraryTest, NumThreads) {
  ASSERT_EQ(so_library_set_num_threads(lib, 3), 0);
  EXPECT_EQ(so_library_get_num_threads(lib), 3);
  // Non-positive counts ask for the OpenMP default, passed on as 0.
  ASSERT_EQ(so_library_set_num_threads(lib, -2), 0);
  EXPECT_EQ(so_library_get_num_threads(lib), 0);
  EXPECT_NE(so_library_set_num_threads(nullptr, 1), 0);
}

TEST_F(LibraryTest, Spmm32BitIndicesPrepared) {
  SoCsrOperand op;
  ASSERT_EQ(so_csr_operand_init(&a, 32, &op), 0) << so_last_error();
  EXPECT_EQ(op.pos.sizes[0], M + 1);
  EXPECT_EQ(op.crd.sizes[0], a.nnz);
  void *fn = so_library_lookup(lib, "spmm_i32");
  std::vector<float> expected = reference(a, b, N);
  for (int repeat = 0; repeat < 2; ++repeat) {
    std::vector<float> c(M * N);
    ASSERT_EQ(so_call_spmm_prepared(fn, &op, b.data(), N, c.data()), 0)
        << so_last_error();
    EXPECT_EQ(c, expected);
  }
  // A NULL destination runs the kernel and discards the result.
  EXPECT_EQ(so_call_spmm_prepared(fn, &op, b.data(), N, nullptr), 0);
  so_csr_operand_release(&op);
  EXPECT_EQ(op.pos.allocated, nullptr);
}

TEST_F(LibraryTest, SpmmStridedResultIsCopiedRowMajor) {
  // The kernel returns a column-major result at a non-zero offset.
  std::vector<float> c(M * N);
  ASSERT_EQ(so_call_spmm(so_library_lookup(lib, "spmm_strided"), &a, 64,
                         b.data(), N, c.data()),
            0)
      << so_last_error();
  EXPECT_EQ(c, reference(a, b, N));
}

TEST_F(LibraryTest, SpmmWrongResultShape) {
  std::vector<float> c(M * N);
  EXPECT_NE(so_call_spmm(so_library_lookup(lib, "spmm_wrong_shape"), &a, 64,
                         b.data(), N, c.data()),
            0);
  EXPECT_EQ(std::string(so_last_error()),
            "so_call_spmm: the kernel returned a 14 x 5 result, expected "
            "13 x 5");
}

TEST_F(LibraryTest, Spmv) {
  std::vector<float> y(M);
  ASSERT_EQ(
      so_call_spmv(so_library_lookup(lib, "spmv"), &a, 64, b.data(), y.data()),
      0)
      << so_last_error();
  EXPECT_EQ(y, reference(a, std::vector<float>(b.begin(), b.begin() + K), 1));
}

TEST_F(LibraryTest, WrongKindIsDetected) {
  std::vector<float> c(M * N);
  EXPECT_NE(
      so_call_spmv(so_library_lookup(lib, "spmm"), &a, 64, b.data(), c.data()),
      0);
  EXPECT_EQ(std::string(so_last_error()),
            "so_call_spmv: the kernel returned a rank-2 result; is it an SpMM "
            "entry point?");
  EXPECT_NE(so_call_spmm(so_library_lookup(lib, "spmv"), &a, 64, b.data(), N,
                         c.data()),
            0);
  EXPECT_EQ(std::string(so_last_error()),
            "so_call_spmm: the kernel returned a 13 x 1 result, expected "
            "13 x 5");
}

TEST_F(LibraryTest, BadArguments) {
  void *fn = so_library_lookup(lib, "spmm");
  std::vector<float> c(M * N);
  EXPECT_NE(so_call_spmm(fn, &a, 16, b.data(), N, c.data()), 0);
  EXPECT_EQ(std::string(so_last_error()),
            "so_csr_operand_init: index_bits must be 32 or 64, got 16");
  EXPECT_NE(so_call_spmm(nullptr, &a, 64, b.data(), N, c.data()), 0);
  EXPECT_NE(so_call_spmm(fn, nullptr, 64, b.data(), N, c.data()), 0);
  EXPECT_NE(so_call_spmm(fn, &a, 64, nullptr, N, c.data()), 0);
  EXPECT_NE(so_call_spmm(fn, &a, 64, b.data(), 0, c.data()), 0);
  EXPECT_NE(so_call_spmv(fn, &a, 64, nullptr, c.data()), 0);
  SoCsrOperand uninitialized{};
  EXPECT_NE(so_call_spmm_prepared(fn, &uninitialized, b.data(), N, c.data()),
            0);
}

/// Entry points with the weight compiled in: TestKernels.c's 13 x 17
/// test_embedded_weight, looked up here to compute the reference.
class EmbeddedTest : public testing::Test {
protected:
  void SetUp() override {
    lib = so_library_open(SPARSE_OPT_TEST_KERNELS);
    ASSERT_NE(lib, nullptr) << so_last_error();
    auto weight = reinterpret_cast<float (*)(int64_t, int64_t)>(
        so_library_lookup(lib, "test_embedded_weight"));
    ASSERT_NE(weight, nullptr) << so_last_error();
    a.assign(M * K, 0.0f);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t k = 0; k < K; ++k)
        a[i * K + k] = weight(i, k);
    b.resize(K * N);
    so_fill_random(b.data(), K * N, 12);
  }
  void TearDown() override { so_library_close(lib); }

  /// C = A * B (n columns), summed in the order the test kernels use.
  std::vector<float> reference(int64_t n) const {
    std::vector<float> c(M * n, 0.0f);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t k = 0; k < K; ++k)
        if (a[i * K + k] != 0.0f)
          for (int64_t j = 0; j < n; ++j)
            c[i * n + j] += a[i * K + k] * b[k * n + j];
    return c;
  }

  static constexpr int64_t M = 13, K = 17, N = 5;
  SoLibrary *lib = nullptr;
  std::vector<float> a, b;
};

TEST_F(EmbeddedTest, Signature) {
  const char *signature = so_library_signature(lib, "dense_spmm");
  ASSERT_NE(signature, nullptr) << so_last_error();
  EXPECT_EQ(std::string(signature), "(tensor<17x?xf32>) -> tensor<13x?xf32>");
}

TEST_F(EmbeddedTest, Spmm) {
  void *fn = so_library_lookup(lib, "dense_spmm");
  ASSERT_NE(fn, nullptr);
  std::vector<float> expected = reference(N);
  ASSERT_NE(std::count(expected.begin(), expected.end(), 0.0f),
            std::ptrdiff_t(expected.size()));
  std::vector<float> c(M * N);
  ASSERT_EQ(so_call_dense_spmm(fn, b.data(), K, N, M, c.data()), 0)
      << so_last_error();
  EXPECT_EQ(c, expected);
  // A NULL destination runs the kernel and discards the result.
  EXPECT_EQ(so_call_dense_spmm(fn, b.data(), K, N, M, nullptr), 0)
      << so_last_error();
  // N = 1 reads the first column of a K x 1 B.
  std::vector<float> column(K), c1(M);
  for (int64_t k = 0; k < K; ++k)
    column[k] = b[k * N];
  b = column;
  ASSERT_EQ(so_call_dense_spmm(fn, b.data(), K, 1, M, c1.data()), 0)
      << so_last_error();
  EXPECT_EQ(c1, reference(1));
}

TEST_F(EmbeddedTest, SpmmStridedResultIsCopiedRowMajor) {
  std::vector<float> c(M * N);
  ASSERT_EQ(so_call_dense_spmm(so_library_lookup(lib, "dense_spmm_strided"),
                               b.data(), K, N, M, c.data()),
            0)
      << so_last_error();
  EXPECT_EQ(c, reference(N));
}

TEST_F(EmbeddedTest, SpmmWrongResultShape) {
  std::vector<float> c(M * N);
  EXPECT_NE(so_call_dense_spmm(so_library_lookup(lib, "dense_spmm_wrong_shape"),
                               b.data(), K, N, M, c.data()),
            0);
  EXPECT_EQ(std::string(so_last_error()),
            "so_call_dense_spmm: the kernel returned a 14 x 5 result, "
            "expected 13 x 5");
  // The caller's M is what the result is checked against.
  EXPECT_NE(so_call_dense_spmm(so_library_lookup(lib, "dense_spmm"), b.data(),
                               K, N, M + 2, nullptr),
            0);
  EXPECT_EQ(std::string(so_last_error()),
            "so_call_dense_spmm: the kernel returned a 13 x 5 result, "
            "expected 15 x 5");
}

TEST_F(EmbeddedTest, Spmv) {
  std::vector<float> x(b.begin(), b.begin() + K), y(M);
  b = x;
  ASSERT_EQ(so_call_dense_spmv(so_library_lookup(lib, "dense_spmv"), x.data(),
                               K, M, y.data()),
            0)
      << so_last_error();
  EXPECT_EQ(y, reference(1));
  EXPECT_EQ(so_call_dense_spmv(so_library_lookup(lib, "dense_spmv"), x.data(),
                               K, M, nullptr),
            0)
      << so_last_error();
  EXPECT_NE(so_call_dense_spmv(so_library_lookup(lib, "dense_spmv"), x.data(),
                               K, M - 1, y.data()),
            0);
  EXPECT_EQ(std::string(so_last_error()),
            "so_call_dense_spmv: the kernel returned a 13 result, expected 12");
}

TEST_F(EmbeddedTest, WrongKindIsDetected) {
  std::vector<float> c(M * N);
  EXPECT_NE(so_call_dense_spmv(so_library_lookup(lib, "dense_spmm"), b.data(),
                               K, M, c.data()),
            0);
  EXPECT_EQ(std::string(so_last_error()),
            "so_call_dense_spmv: the kernel returned a rank-2 result; is it "
            "an SpMM entry point?");
  EXPECT_NE(so_call_dense_spmm(so_library_lookup(lib, "dense_spmv"), b.data(),
                               K, N, M, c.data()),
            0);
  EXPECT_EQ(std::string(so_last_error()),
            "so_call_dense_spmm: the kernel returned a 13 x 1 result, "
            "expected 13 x 5");
}

TEST_F(EmbeddedTest, BadArguments) {
  void *spmm = so_library_lookup(lib, "dense_spmm");
  void *spmv = so_library_lookup(lib, "dense_spmv");
  std::vector<float> c(M * N);
  EXPECT_NE(so_call_dense_spmm(nullptr, b.data(), K, N, M, c.data()), 0);
  EXPECT_EQ(std::string(so_last_error()),
            "so_call_dense_spmm: NULL entry point");
  EXPECT_NE(so_call_dense_spmm(spmm, b.data(), K, 0, M, c.data()), 0);
  EXPECT_EQ(std::string(so_last_error()),
            "so_call_dense_spmm: expected a K x N operand with N > 0, found "
            "N = 0");
  EXPECT_NE(so_call_dense_spmm(spmm, nullptr, K, N, M, c.data()), 0);
  EXPECT_NE(so_call_dense_spmm(spmm, b.data(), -1, N, M, c.data()), 0);
  EXPECT_EQ(std::string(so_last_error()),
            "so_call_dense_spmm: negative shape M = 13, K = -1");
  EXPECT_NE(so_call_dense_spmm(spmm, b.data(), K, N, -1, c.data()), 0);
  EXPECT_NE(so_call_dense_spmv(nullptr, b.data(), K, M, c.data()), 0);
  EXPECT_NE(so_call_dense_spmv(spmv, nullptr, K, M, c.data()), 0);
  EXPECT_EQ(std::string(so_last_error()), "so_call_dense_spmv: NULL x");
  EXPECT_NE(so_call_dense_spmv(spmv, b.data(), K, -1, c.data()), 0);
}

/// SDDMM through TestKernels.c's stand-ins: R = S o (Q K^T) for a random
/// 13 x 17 pattern S, D = 4, 32-bit indices.
class SddmmTest : public testing::Test {
protected:
  void SetUp() override {
    lib = so_library_open(SPARSE_OPT_TEST_KERNELS);
    ASSERT_NE(lib, nullptr) << so_last_error();
    ASSERT_EQ(so_csr_random(M, N, 0.3, 21, &s), 0) << so_last_error();
    ASSERT_EQ(so_csr_operand_init(&s, 32, &op), 0) << so_last_error();
    q.resize(M * D);
    k.resize(N * D);
    so_fill_random(q.data(), M * D, 22);
    so_fill_random(k.data(), N * D, 23);
  }
  void TearDown() override {
    so_csr_operand_release(&op);
    so_csr_free(&s);
    so_library_close(lib);
  }

  /// The dot products, summed in the order the stand-in uses.
  std::vector<float> reference() const {
    std::vector<float> r(s.nnz);
    for (int64_t i = 0; i < M; ++i)
      for (int64_t p = s.row_ptr[i]; p < s.row_ptr[i + 1]; ++p) {
        float sum = 0;
        for (int64_t x = 0; x < D; ++x)
          sum += q[i * D + x] * k[s.col_idx[p] * D + x];
        r[p] = sum;
      }
    return r;
  }

  void *entry(const char *name) { return so_library_lookup(lib, name); }

  static constexpr int64_t M = 13, N = 17, D = 4;
  SoLibrary *lib = nullptr;
  SoCsr s{};
  SoCsrOperand op{};
  std::vector<float> q, k;
};

TEST_F(SddmmTest, ValuesAndCallerMatrixUnchanged) {
  ASSERT_GT(s.nnz, 0);
  std::vector<float> before(s.values, s.values + s.nnz);
  std::vector<float> r(s.nnz, -1.0f);
  ASSERT_EQ(so_call_sddmm(entry("sddmm"), &op, q.data(), k.data(), D, r.data()),
            0)
      << so_last_error();
  EXPECT_EQ(r, reference());
  // The stand-in writes its input values buffer, as upstream kernels do:
  // it got a scratch copy.
  EXPECT_EQ(std::vector<float>(s.values, s.values + s.nnz), before);
}

TEST_F(SddmmTest, WorkspaceIsReusable) {
  SoSddmmWorkspace w;
  ASSERT_EQ(so_sddmm_workspace_init(&op, &w), 0) << so_last_error();
  EXPECT_EQ(w.rows, M);
  EXPECT_EQ(w.nnz, s.nnz);
  EXPECT_EQ(w.index_bits, 32);
  for (void *part : {static_cast<void *>(w.values), w.out_pos, w.out_crd,
                     static_cast<void *>(w.out_val)})
    EXPECT_EQ(reinterpret_cast<uintptr_t>(part) % 64, 0u);
  std::vector<float> expected = reference();
  for (int repeat = 0; repeat < 2; ++repeat) {
    std::vector<float> r(s.nnz);
    ASSERT_EQ(so_call_sddmm_workspace(entry("sddmm"), &op, q.data(), k.data(),
                                      D, &w, r.data()),
              0)
        << so_last_error();
    EXPECT_EQ(r, expected);
    // NULL discards the values (timing loops).
    EXPECT_EQ(so_call_sddmm_workspace(entry("sddmm"), &op, q.data(), k.data(),
                                      D, &w, nullptr),
              0)
        << so_last_error();
  }
  // The result buffers are the workspace's, in S's index width.
  EXPECT_EQ(static_cast<int32_t *>(w.out_pos)[M], s.nnz);
  EXPECT_EQ(static_cast<int32_t *>(w.out_crd)[s.nnz - 1], s.col_idx[s.nnz - 1]);
  so_sddmm_workspace_release(&w);
  EXPECT_EQ(w.block, nullptr);
  so_sddmm_workspace_release(&w);
  so_sddmm_workspace_release(nullptr);
}

TEST_F(SddmmTest, StridedValuesAreCopied) {
  std::vector<float> r(s.nnz);
  ASSERT_EQ(so_call_sddmm(entry("sddmm_strided_values"), &op, q.data(),
                          k.data(), D, r.data()),
            0)
      << so_last_error();
  EXPECT_EQ(r, reference());
}

TEST_F(SddmmTest, EmptyPattern) {
  SoCsr empty{};
  SoCsrOperand emptyOp{};
  ASSERT_EQ(so_csr_random(M, N, 0.0, 1, &empty), 0);
  ASSERT_EQ(so_csr_operand_init(&empty, 32, &emptyOp), 0);
  float unused = 7;
  EXPECT_EQ(
      so_call_sddmm(entry("sddmm"), &emptyOp, q.data(), k.data(), D, &unused),
      0)
      << so_last_error();
  EXPECT_EQ(unused, 7);
  so_csr_operand_release(&emptyOp);
  so_csr_free(&empty);
}

TEST_F(SddmmTest, WrongResultIsDetected) {
  std::vector<float> r(s.nnz);
  EXPECT_NE(so_call_sddmm(entry("sddmm_short_result"), &op, q.data(), k.data(),
                          D, r.data()),
            0);
  std::string nnz = std::to_string(s.nnz);
  EXPECT_EQ(std::string(so_last_error()),
            "so_call_sddmm: the kernel returned 14 positions, " + nnz +
                " coordinates and " + std::to_string(s.nnz - 1) +
                " values, expected 14, " + nnz + " and " + nnz);
  EXPECT_NE(so_call_sddmm(entry("sddmm_other_pattern"), &op, q.data(), k.data(),
                          D, r.data()),
            0);
  EXPECT_EQ(std::string(so_last_error()),
            "so_call_sddmm: the kernel returned another pattern than S's");
  // Without a destination only the sizes are checked.
  EXPECT_EQ(so_call_sddmm(entry("sddmm_other_pattern"), &op, q.data(), k.data(),
                          D, nullptr),
            0);
}

TEST_F(SddmmTest, BadArguments) {
  void *fn = entry("sddmm");
  std::vector<float> r(s.nnz);
  EXPECT_NE(so_call_sddmm(fn, &op, q.data(), k.data(), 0, r.data()), 0);
  EXPECT_EQ(std::string(so_last_error()),
            "so_call_sddmm: expected Q (M x D) and K (N x D) with D > 0, "
            "found D = 0");
  EXPECT_NE(so_call_sddmm(fn, &op, nullptr, k.data(), D, r.data()), 0);
  EXPECT_NE(so_call_sddmm(fn, &op, q.data(), nullptr, D, r.data()), 0);
  EXPECT_NE(so_call_sddmm(nullptr, &op, q.data(), k.data(), D, r.data()), 0);
  EXPECT_NE(so_call_sddmm(fn, nullptr, q.data(), k.data(), D, r.data()), 0);
  SoCsrOperand uninitialized{};
  EXPECT_NE(so_call_sddmm(fn, &uninitialized, q.data(), k.data(), D, r.data()),
            0);
  // A workspace made for another pattern.
  SoCsr other{};
  SoCsrOperand otherOp{};
  SoSddmmWorkspace w;
  ASSERT_EQ(so_csr_random(M, N, 0.5, 2, &other), 0);
  ASSERT_EQ(so_csr_operand_init(&other, 32, &otherOp), 0);
  ASSERT_EQ(so_sddmm_workspace_init(&otherOp, &w), 0);
  EXPECT_NE(
      so_call_sddmm_workspace(fn, &op, q.data(), k.data(), D, &w, r.data()), 0);
  EXPECT_EQ(std::string(so_last_error()),
            "so_call_sddmm: the workspace was not made for this operand");
  EXPECT_NE(so_call_sddmm_workspace(fn, &op, q.data(), k.data(), D, nullptr,
                                    r.data()),
            0);
  so_sddmm_workspace_release(&w);
  so_csr_operand_release(&otherOp);
  so_csr_free(&other);
  EXPECT_NE(so_sddmm_workspace_init(&uninitialized, &w), 0);
  EXPECT_EQ(w.block, nullptr);
  EXPECT_NE(so_sddmm_workspace_init(nullptr, &w), 0);
  EXPECT_NE(so_sddmm_workspace_init(&op, nullptr), 0);
}

TEST_F(SddmmTest, Signature) {
  const char *signature = so_library_signature(lib, "sddmm");
  ASSERT_NE(signature, nullptr) << so_last_error();
  EXPECT_EQ(std::string(signature).rfind("(tensor<13x4xf32>, ", 0), 0u);
}

} // namespace
