/*===- TestKernels.c - Stand-ins for libraries built by sparse-compile ----===*
 *
 * Reference SpMM / SpMV / SDDMM entry points with the ABI of compiled kernels
 * (CSR operand as pos/crd/val descriptors, result malloc'ed, or for SDDMM
 * written to caller-provided buffers, and returned through the first
 * argument), plus variants that misbehave, for LibraryTest.cpp.
 *
 *===----------------------------------------------------------------------===*/

#include "sparse-opt-c/Runtime.h"

#include <stdlib.h>

/* The signature sparse-compile records for each entry point. */
const char sparse_opt_signature_spmm[] =
    "(tensor<13x17xf32, #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : "
    "dense, d1 : compressed) }>>, tensor<17x?xf32>) -> tensor<13x?xf32>";

static int32_t numThreads = 1;

void sparse_opt_set_num_threads(int32_t n) { numThreads = n; }
int32_t sparse_opt_get_num_threads(void) { return numThreads; }

/* C = A * B into a fresh buffer laid out with the given strides and offset;
 * A's indices are int64_t or int32_t according to `index32`. */
static void multiply(SoMemRef2D *result, const SoMemRef1D *pos,
                     const SoMemRef1D *crd, const SoMemRef1D *val,
                     const SoMemRef2D *b, int index32, int64_t extraRows,
                     int columnMajor, int64_t offset) {
  int64_t m = pos->sizes[0] - 1, n = b->sizes[1];
  int64_t rows = m + extraRows;
  float *data = calloc((size_t)(rows * n + offset + 1), sizeof(float));
  const float *values = (const float *)val->aligned + val->offset;
  const float *dense = (const float *)b->aligned + b->offset;
  int64_t rowStride = columnMajor ? 1 : n, colStride = columnMajor ? rows : 1;
  for (int64_t i = 0; i < m; ++i) {
    int64_t begin = index32 ? ((const int32_t *)pos->aligned)[i]
                            : ((const int64_t *)pos->aligned)[i];
    int64_t end = index32 ? ((const int32_t *)pos->aligned)[i + 1]
                          : ((const int64_t *)pos->aligned)[i + 1];
    for (int64_t k = begin; k < end; ++k) {
      int64_t col = index32 ? ((const int32_t *)crd->aligned)[k]
                            : ((const int64_t *)crd->aligned)[k];
      for (int64_t j = 0; j < n; ++j)
        data[offset + i * rowStride + j * colStride] +=
            values[k] * dense[col * b->strides[0] + j * b->strides[1]];
    }
  }
  result->allocated = data;
  result->aligned = data;
  result->offset = offset;
  result->sizes[0] = rows;
  result->sizes[1] = n;
  result->strides[0] = rowStride;
  result->strides[1] = colStride;
}

void _mlir_ciface_spmm(SoMemRef2D *r, SoMemRef1D *p, SoMemRef1D *c,
                       SoMemRef1D *v, SoMemRef2D *b) {
  multiply(r, p, c, v, b, 0, 0, 0, 0);
}

/* Shadowed by _mlir_ciface_spmm, which lookups must prefer: returns nothing. */
void spmm(SoMemRef2D *r, SoMemRef1D *p, SoMemRef1D *c, SoMemRef1D *v,
          SoMemRef2D *b) {
  (void)r, (void)p, (void)c, (void)v, (void)b;
}

/* Found under its plain name only. */
void spmm_i32(SoMemRef2D *r, SoMemRef1D *p, SoMemRef1D *c, SoMemRef1D *v,
              SoMemRef2D *b) {
  multiply(r, p, c, v, b, 1, 0, 0, 0);
}

void _mlir_ciface_spmm_strided(SoMemRef2D *r, SoMemRef1D *p, SoMemRef1D *c,
                               SoMemRef1D *v, SoMemRef2D *b) {
  multiply(r, p, c, v, b, 0, 0, 1, 3);
}

void _mlir_ciface_spmm_wrong_shape(SoMemRef2D *r, SoMemRef1D *p, SoMemRef1D *c,
                                   SoMemRef1D *v, SoMemRef2D *b) {
  multiply(r, p, c, v, b, 0, 1, 0, 0);
}

void _mlir_ciface_spmv(SoMemRef1D *result, SoMemRef1D *pos, SoMemRef1D *crd,
                       SoMemRef1D *val, SoMemRef1D *x) {
  int64_t m = pos->sizes[0] - 1;
  float *y = calloc((size_t)m + 1, sizeof(float));
  const int64_t *rowPtr = pos->aligned, *colIdx = crd->aligned;
  const float *values = val->aligned, *dense = x->aligned;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t k = rowPtr[i]; k < rowPtr[i + 1]; ++k)
      y[i] += values[k] * dense[colIdx[k] * x->strides[0]];
  result->allocated = y;
  result->aligned = y;
  result->offset = 0;
  result->sizes[0] = m;
  result->strides[0] = 1;
}

/*===----------------------------------------------------------------------===*
 * Entry points with the weight compiled in (make-kernel.py --embed-weights):
 * they take the dense operand only. The weight is the 13 x 17 matrix of
 * test_embedded_weight, which LibraryTest.cpp computes the same way.
 *===----------------------------------------------------------------------===*/

const char sparse_opt_signature_dense_spmm[] =
    "(tensor<17x?xf32>) -> tensor<13x?xf32>";
const char sparse_opt_signature_dense_spmv[] =
    "(tensor<17xf32>) -> tensor<13xf32>";

enum { kEmbeddedRows = 13, kEmbeddedCols = 17 };

float test_embedded_weight(int64_t i, int64_t j) {
  return (i + 2 * j) % 5 == 0 ? (float)(i - j) * 0.25f : 0.0f;
}

/* C = A * B for the embedded A, as multiply() lays out its result. */
static void multiplyEmbedded(SoMemRef2D *result, const SoMemRef2D *b,
                             int64_t extraRows, int columnMajor,
                             int64_t offset) {
  int64_t m = kEmbeddedRows, n = b->sizes[1];
  int64_t rows = m + extraRows;
  float *data = calloc((size_t)(rows * n + offset + 1), sizeof(float));
  const float *dense = (const float *)b->aligned + b->offset;
  int64_t rowStride = columnMajor ? 1 : n, colStride = columnMajor ? rows : 1;
  for (int64_t i = 0; i < m; ++i)
    for (int64_t k = 0; k < kEmbeddedCols; ++k) {
      float a = test_embedded_weight(i, k);
      if (a == 0.0f)
        continue;
      for (int64_t j = 0; j < n; ++j)
        data[offset + i * rowStride + j * colStride] +=
            a * dense[k * b->strides[0] + j * b->strides[1]];
    }
  result->allocated = data;
  result->aligned = data;
  result->offset = offset;
  result->sizes[0] = rows;
  result->sizes[1] = n;
  result->strides[0] = rowStride;
  result->strides[1] = colStride;
}

void _mlir_ciface_dense_spmm(SoMemRef2D *r, SoMemRef2D *b) {
  multiplyEmbedded(r, b, 0, 0, 0);
}

void _mlir_ciface_dense_spmm_strided(SoMemRef2D *r, SoMemRef2D *b) {
  multiplyEmbedded(r, b, 0, 1, 3);
}

void _mlir_ciface_dense_spmm_wrong_shape(SoMemRef2D *r, SoMemRef2D *b) {
  multiplyEmbedded(r, b, 1, 0, 0);
}

void _mlir_ciface_dense_spmv(SoMemRef1D *result, SoMemRef1D *x) {
  float *y = calloc(kEmbeddedRows + 1, sizeof(float));
  const float *dense = (const float *)x->aligned + x->offset;
  for (int64_t i = 0; i < kEmbeddedRows; ++i)
    for (int64_t k = 0; k < kEmbeddedCols; ++k) {
      float a = test_embedded_weight(i, k);
      if (a != 0.0f)
        y[i] += a * dense[k * x->strides[0]];
    }
  result->allocated = y;
  result->aligned = y;
  result->offset = 0;
  result->sizes[0] = kEmbeddedRows;
  result->strides[0] = 1;
}

/*===----------------------------------------------------------------------===*
 * SDDMM entry points: R = S o (Q K^T) with 32-bit indices, the result in the
 * caller's out buffers. Like the upstream sparsifier's kernels they also
 * overwrite the input values buffer.
 *===----------------------------------------------------------------------===*/

const char sparse_opt_signature_sddmm[] =
    "(tensor<13x4xf32>, tensor<17x4xf32>, tensor<13x17xf32, "
    "#sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : "
    "compressed), posWidth = 32, crdWidth = 32 }>>) -> tensor<13x17xf32, "
    "#sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense, d1 : "
    "compressed), posWidth = 32, crdWidth = 32 }>>";

/* How a variant misbehaves. */
enum SddmmFault {
  kSddmmCorrect,
  kSddmmShortResult,   /* returns one value fewer */
  kSddmmOtherPattern,  /* changes a column index of the result */
  kSddmmStridedValues, /* the values come back at stride 2, offset 1 */
};

static float stridedValues[2 * 4096 + 1];

static void sddmm(SoCsrResult *r, SoMemRef2D *q, SoMemRef2D *k, SoMemRef1D *pos,
                  SoMemRef1D *crd, SoMemRef1D *val, SoMemRef1D *outPos,
                  SoMemRef1D *outCrd, SoMemRef1D *outVal,
                  enum SddmmFault fault) {
  int64_t m = pos->sizes[0] - 1, nnz = crd->sizes[0], d = q->sizes[1];
  const int32_t *p = (const int32_t *)pos->aligned + pos->offset;
  const int32_t *c = (const int32_t *)crd->aligned + crd->offset;
  float *v = (float *)val->aligned + val->offset;
  int32_t *op = (int32_t *)outPos->aligned + outPos->offset;
  int32_t *oc = (int32_t *)outCrd->aligned + outCrd->offset;
  float *ov = (float *)outVal->aligned + outVal->offset;
  const float *qd = (const float *)q->aligned + q->offset;
  const float *kd = (const float *)k->aligned + k->offset;
  for (int64_t i = 0; i <= m; ++i)
    op[i] = p[i];
  for (int64_t i = 0; i < m; ++i)
    for (int64_t e = p[i]; e < p[i + 1]; ++e) {
      float sum = 0;
      for (int64_t x = 0; x < d; ++x)
        sum += qd[i * q->strides[0] + x] * kd[c[e] * k->strides[0] + x];
      v[e] = sum; /* in place, as upstream does */
      oc[e] = c[e];
      ov[e] = sum;
    }
  r->pos = *outPos;
  r->crd = *outCrd;
  r->val = *outVal;
  r->pos.sizes[0] = m + 1;
  r->crd.sizes[0] = nnz;
  r->val.sizes[0] = nnz;
  if (fault == kSddmmShortResult)
    r->val.sizes[0] = nnz - 1;
  if (fault == kSddmmOtherPattern && nnz > 0)
    oc[nnz - 1] += 1;
  if (fault == kSddmmStridedValues && nnz <= 4096) {
    for (int64_t e = 0; e < nnz; ++e)
      stridedValues[1 + 2 * e] = ov[e];
    r->val.allocated = r->val.aligned = stridedValues;
    r->val.offset = 1;
    r->val.strides[0] = 2;
  }
}

#define SDDMM_ENTRY(name, fault)                                               \
  void _mlir_ciface_##name(SoCsrResult *r, SoMemRef2D *q, SoMemRef2D *k,       \
                           SoMemRef1D *pos, SoMemRef1D *crd, SoMemRef1D *val,  \
                           SoMemRef1D *op, SoMemRef1D *oc, SoMemRef1D *ov) {   \
    sddmm(r, q, k, pos, crd, val, op, oc, ov, fault);                          \
  }
SDDMM_ENTRY(sddmm, kSddmmCorrect)
SDDMM_ENTRY(sddmm_short_result, kSddmmShortResult)
SDDMM_ENTRY(sddmm_other_pattern, kSddmmOtherPattern)
SDDMM_ENTRY(sddmm_strided_values, kSddmmStridedValues)
