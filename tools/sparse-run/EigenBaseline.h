//===- EigenBaseline.h - Eigen's sparse x dense product for sparse-run ----===//
//
// The --eigen-baseline of sparse-run: Eigen's own CSR x dense product on the
// same A, B and C. It lives in a translation unit of its own, compiled with
// OpenMP (Eigen parallelizes row-major sparse x dense products with it) and
// for the host CPU (the kernels it is compared with are), so its interface
// uses plain arrays only.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSE_RUN_EIGENBASELINE_H
#define SPARSE_RUN_EIGENBASELINE_H

#include <cstdint>

namespace sparse_run {

/// C = A * B with Eigen, A an M x K CSR matrix (int64 arrays, as in SoCsr),
/// B row-major K x N, C row-major M x N. The arrays are borrowed and must
/// outlive the object; A's indices are copied once to Eigen's default 32-bit
/// StorageIndex, its values are mapped. N = 1 is computed as a matrix-vector
/// product (Eigen's SpMV path).
class EigenProduct {
public:
  /// Null (and nothing allocated) if A does not fit 32-bit indices.
  static EigenProduct *create(int64_t rows, int64_t cols, int64_t nnz,
                              const int64_t *rowPtr, const int64_t *colIdx,
                              const float *values, const float *b, int64_t n,
                              float *c);
  ~EigenProduct();
  EigenProduct(const EigenProduct &) = delete;
  EigenProduct &operator=(const EigenProduct &) = delete;

  /// Eigen::setNbThreads(threads): the most threads Eigen's product may use
  /// (0: OpenMP's default).
  static void setThreads(int threads);
  /// Computes C = A * B once.
  void run();
  /// Whether Eigen 3.4 runs this product on more than one thread when
  /// allowed to: its sparse x dense product goes parallel only above
  /// nnz x N > 20000 (nnz > 20000 for N = 1), a threshold in its source.
  bool parallelAbove1Thread() const;

  /// "3.4.0".
  static const char *version();
  /// The SIMD instruction sets Eigen was compiled for, e.g. "AVX512, FMA, ...".
  static const char *simd();
  /// Whether Eigen was compiled with OpenMP (EIGEN_HAS_OPENMP).
  static bool openmp();

private:
  struct Impl;
  explicit EigenProduct(Impl *impl) : impl(impl) {}
  Impl *impl;
};

} // namespace sparse_run

#endif // SPARSE_RUN_EIGENBASELINE_H
