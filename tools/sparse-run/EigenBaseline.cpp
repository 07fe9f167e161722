//===- EigenBaseline.cpp - Eigen's sparse x dense product for sparse-run --===//
//
// Compiled with OpenMP and for the host CPU (see CMakeLists.txt). Only Eigen
// types and plain arrays are used here: standard-library templates
// instantiated with other code-generation flags than the rest of sparse-run
// could be merged into it by the linker.
//
//===----------------------------------------------------------------------===//

#include "EigenBaseline.h"

#include <Eigen/Core>
#include <Eigen/SparseCore>

#include <climits>

namespace sparse_run {

using SparseRowMajor = Eigen::SparseMatrix<float, Eigen::RowMajor, int>;
using DenseRowMajor =
    Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

struct EigenProduct::Impl {
  Eigen::VectorXi rowPtr, colIdx; // A's indices as Eigen's StorageIndex
  Eigen::Map<const SparseRowMajor> a;
  const float *b;
  float *c;
  int64_t n;

  Impl(int64_t rows, int64_t cols, int64_t nnz, const float *values,
       Eigen::VectorXi &&rowPtrIn, Eigen::VectorXi &&colIdxIn, const float *b,
       int64_t n, float *c)
      : rowPtr(std::move(rowPtrIn)), colIdx(std::move(colIdxIn)),
        a(rows, cols, nnz, rowPtr.data(), colIdx.data(), values), b(b), c(c),
        n(n) {}
};

EigenProduct *EigenProduct::create(int64_t rows, int64_t cols, int64_t nnz,
                                   const int64_t *rowPtr, const int64_t *colIdx,
                                   const float *values, const float *b,
                                   int64_t n, float *c) {
  // Row offsets go up to nnz, column indices below cols.
  if (rows >= INT_MAX || cols > INT_MAX || nnz > INT_MAX)
    return nullptr;
  Eigen::VectorXi outer(rows + 1), inner(nnz > 0 ? nnz : 1);
  for (int64_t i = 0; i <= rows; ++i)
    outer[i] = static_cast<int>(rowPtr[i]);
  for (int64_t p = 0; p < nnz; ++p)
    inner[p] = static_cast<int>(colIdx[p]);
  static const float kNoValue = 0;
  return new EigenProduct(new Impl(rows, cols, nnz, values ? values : &kNoValue,
                                   std::move(outer), std::move(inner), b, n,
                                   c));
}

EigenProduct::~EigenProduct() { delete impl; }

void EigenProduct::setThreads(int threads) { Eigen::setNbThreads(threads); }

void EigenProduct::run() {
  const Eigen::Map<const SparseRowMajor> &a = impl->a;
  if (impl->n == 1) {
    Eigen::Map<const Eigen::VectorXf> x(impl->b, a.cols());
    Eigen::Map<Eigen::VectorXf> y(impl->c, a.rows());
    y.noalias() = a * x;
    return;
  }
  Eigen::Map<const DenseRowMajor> b(impl->b, a.cols(), impl->n);
  Eigen::Map<DenseRowMajor> c(impl->c, a.rows(), impl->n);
  c.noalias() = a * b;
}

bool EigenProduct::parallelAbove1Thread() const {
#ifdef EIGEN_HAS_OPENMP
  // SparseDenseProduct.h, sparse_time_dense_product_impl for a row-major
  // sparse operand: nonZerosEstimate() (x rhs.cols() when B is row-major and
  // not a vector) > 20000.
  return double(impl->a.nonZeros()) * double(impl->n) > 20000;
#else
  return false;
#endif
}

const char *EigenProduct::version() {
#define SPARSE_RUN_STR2(x) #x
#define SPARSE_RUN_STR(x) SPARSE_RUN_STR2(x)
  return SPARSE_RUN_STR(EIGEN_WORLD_VERSION) "." SPARSE_RUN_STR(
      EIGEN_MAJOR_VERSION) "." SPARSE_RUN_STR(EIGEN_MINOR_VERSION);
#undef SPARSE_RUN_STR
#undef SPARSE_RUN_STR2
}

const char *EigenProduct::simd() { return Eigen::SimdInstructionSetsInUse(); }

bool EigenProduct::openmp() {
#ifdef EIGEN_HAS_OPENMP
  return true;
#else
  return false;
#endif
}

} // namespace sparse_run
