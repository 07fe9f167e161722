//===- Call.cpp - Calling compiled SpMM / SpMV / SDDMM entry points -------===//

#include "Error.h"

#include "sparse-opt-c/Runtime.h"

#include <cstddef>
#include <cstdlib>
#include <cstring>
#include <string>

using sparse_opt::runtime::fail;

namespace {

/// A rank-1 descriptor with room behind it for a rank-2 one. An SpMM entry
/// point called through the SpMV helper by mistake then reads and writes
/// within bounds, and a rank-2 result reveals itself by overwriting the tail.
struct PaddedMemRef1D {
  SoMemRef1D memref;
  int64_t tail[2];
};
static_assert(offsetof(PaddedMemRef1D, tail) == sizeof(SoMemRef1D) &&
                  sizeof(PaddedMemRef1D) >= sizeof(SoMemRef2D),
              "the padding must cover a rank-2 descriptor");
constexpr int64_t kTailSentinel = 0x5EB7A11D5EB7A11Dll;

std::string shapeText(int64_t rows, int64_t cols) {
  return std::to_string(rows) + " x " + std::to_string(cols);
}

/// Checks the operand (`operand`, of `indexBits`-wide indices) handed to a
/// call.
int checkOperand(const char *caller, void *fn, const void *operand,
                 int indexBits) {
  if (!fn || !operand)
    return fail(std::string(caller) + ": NULL entry point or operand");
  if (indexBits != 32 && indexBits != 64)
    return fail(std::string(caller) +
                ": operand is not initialized (index_bits = " +
                std::to_string(indexBits) + ")");
  return 0;
}

/// Copies the kernel's result into `dst` (row-major rows x cols, or NULL),
/// honoring the descriptor's offset and strides, then frees the result.
/// Fails, still freeing it, if its shape is not rows x cols.
int takeResult(const char *caller, void *allocated, const float *aligned,
               int64_t offset, const int64_t *sizes, const int64_t *strides,
               int rank, int64_t rows, int64_t cols, float *dst) {
  int64_t gotRows = sizes[0];
  int64_t gotCols = rank == 2 ? sizes[1] : 1;
  if (gotRows != rows || gotCols != cols) {
    std::free(allocated);
    return fail(
        std::string(caller) + ": the kernel returned a " +
        (rank == 2 ? shapeText(gotRows, gotCols) : std::to_string(gotRows)) +
        " result, expected " +
        (rank == 2 ? shapeText(rows, cols) : std::to_string(rows)));
  }
  if (!aligned && rows * cols > 0) {
    std::free(allocated);
    return fail(std::string(caller) + ": the kernel returned no data");
  }
  if (dst) {
    int64_t rowStride = strides[0];
    int64_t colStride = rank == 2 ? strides[1] : 1;
    const float *base = aligned + offset;
    if (colStride == 1 && (rowStride == cols || rows <= 1)) {
      if (rows * cols > 0)
        std::memcpy(dst, base, static_cast<size_t>(rows * cols) * 4);
    } else {
      for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j)
          dst[i * cols + j] = base[i * rowStride + j * colStride];
    }
  }
  std::free(allocated);
  return 0;
}

/// Calls an entry point returning a rank-1 result through `invoke`, which
/// passes it the padded result descriptor: an entry that writes a rank-2
/// descriptor (an SpMM one called by mistake) overwrites the sentinel
/// padding instead of the stack, and is reported. Copies `rows` values to
/// `y` (which may be NULL).
template <typename Invoke>
int callVectorEntry(const char *caller, Invoke invoke, int64_t rows,
                    float *y) {
  PaddedMemRef1D result{SoMemRef1D{}, {kTailSentinel, kTailSentinel}};
  invoke(&result.memref);
  if (result.tail[0] != kTailSentinel || result.tail[1] != kTailSentinel) {
    std::free(result.memref.allocated);
    return fail(std::string(caller) + ": the kernel returned a rank-2 "
                                      "result; is it an SpMM entry point?");
  }
  return takeResult(caller, result.memref.allocated,
                    static_cast<const float *>(result.memref.aligned),
                    result.memref.offset, result.memref.sizes,
                    result.memref.strides, 1, rows, 1, y);
}

} // namespace

int so_csr_operand_init(const SoCsr *a, int index_bits, SoCsrOperand *out) {
  if (!out)
    return fail("so_csr_operand_init: NULL output");
  *out = SoCsrOperand{};
  if (!a)
    return fail("so_csr_operand_init: NULL matrix");
  if (index_bits != 32 && index_bits != 64)
    return fail("so_csr_operand_init: index_bits must be 32 or 64, got " +
                std::to_string(index_bits));
  if (a->rows < 0 || a->cols < 0 || a->nnz < 0 || !a->row_ptr ||
      (a->nnz > 0 && (!a->col_idx || !a->values)))
    return fail("so_csr_operand_init: malformed matrix (" +
                shapeText(a->rows, a->cols) + ", " + std::to_string(a->nnz) +
                " entries)");
  SoCsrOperand op{};
  op.rows = a->rows;
  op.cols = a->cols;
  op.nnz = a->nnz;
  op.index_bits = index_bits;
  void *pos = a->row_ptr;
  void *crd = a->col_idx;
  if (index_bits == 32) {
    int32_t *pos32, *crd32;
    if (so_csr_to_index32(a, &pos32, &crd32))
      return -1;
    pos = pos32;
    crd = crd32;
  }
  op.pos = so_memref_1d(pos, a->rows + 1);
  op.crd = so_memref_1d(crd, a->nnz);
  op.val = so_memref_1d(a->values, a->nnz);
  *out = op;
  return 0;
}

void so_csr_operand_release(SoCsrOperand *op) {
  if (!op)
    return;
  // Only the 32-bit index copies are owned; everything else is borrowed.
  if (op->index_bits == 32) {
    std::free(op->pos.allocated);
    std::free(op->crd.allocated);
  }
  *op = SoCsrOperand{};
}

namespace {

/// Calls an SpMM entry through `invoke(result, dense)` on the rows x cols
/// sparse operand it closes over and row-major B (cols x n), and copies C
/// (rows x n) to `c`.
template <typename Invoke>
int callSpmm(const char *caller, Invoke invoke, int64_t rows, int64_t cols,
             const float *b, int64_t n, float *c) {
  if (n <= 0 || (!b && cols > 0))
    return fail(std::string(caller) +
                ": expected a K x N operand with N > 0, "
                "found N = " +
                std::to_string(n) + (b ? "" : " and NULL data"));
  SoMemRef2D dense = so_memref_2d(const_cast<float *>(b), cols, n);
  SoMemRef2D result{};
  invoke(&result, &dense);
  return takeResult(caller, result.allocated,
                    static_cast<const float *>(result.aligned), result.offset,
                    result.sizes, result.strides, 2, rows, n, c);
}

/// Calls an SpMV entry through `invoke(result, x)` and copies y (rows).
template <typename Invoke>
int callSpmv(const char *caller, Invoke invoke, int64_t rows, int64_t cols,
             const float *x, float *y) {
  if (!x && cols > 0)
    return fail(std::string(caller) + ": NULL x");
  PaddedMemRef1D vector{so_memref_1d(const_cast<float *>(x), cols), {0, 0}};
  return callVectorEntry(
      caller, [&](SoMemRef1D *result) { invoke(result, &vector.memref); },
      rows, y);
}

} // namespace

int so_call_spmm_prepared(void *fn, const SoCsrOperand *a, const float *b,
                          int64_t n, float *c) {
  const char *caller = "so_call_spmm";
  if (checkOperand(caller, fn, a, a ? a->index_bits : 0))
    return -1;
  // Kernels take their descriptors by pointer: pass copies so that the
  // operand stays untouched whatever the callee does with them.
  SoMemRef1D pos = a->pos, crd = a->crd, val = a->val;
  return callSpmm(
      caller,
      [&](SoMemRef2D *result, SoMemRef2D *dense) {
        reinterpret_cast<SoSpmmFn>(fn)(result, &pos, &crd, &val, dense);
      },
      a->rows, a->cols, b, n, c);
}

int so_call_spmv_prepared(void *fn, const SoCsrOperand *a, const float *x,
                          float *y) {
  const char *caller = "so_call_spmv";
  if (checkOperand(caller, fn, a, a ? a->index_bits : 0))
    return -1;
  SoMemRef1D pos = a->pos, crd = a->crd, val = a->val;
  return callSpmv(
      caller,
      [&](SoMemRef1D *result, SoMemRef1D *x) {
        reinterpret_cast<SoSpmvFn>(fn)(result, &pos, &crd, &val, x);
      },
      a->rows, a->cols, x, y);
}

int so_call_nm_spmm_prepared(void *fn, const SoNmOperand *a, const float *b,
                             int64_t n, float *c) {
  const char *caller = "so_call_nm_spmm";
  if (checkOperand(caller, fn, a, a ? a->index_bits : 0))
    return -1;
  SoMemRef1D crd = a->crd, val = a->val;
  return callSpmm(
      caller,
      [&](SoMemRef2D *result, SoMemRef2D *dense) {
        reinterpret_cast<SoNmSpmmFn>(fn)(result, &crd, &val, dense);
      },
      a->rows, a->cols, b, n, c);
}

int so_call_nm_spmv_prepared(void *fn, const SoNmOperand *a, const float *x,
                             float *y) {
  const char *caller = "so_call_nm_spmv";
  if (checkOperand(caller, fn, a, a ? a->index_bits : 0))
    return -1;
  SoMemRef1D crd = a->crd, val = a->val;
  return callSpmv(
      caller,
      [&](SoMemRef1D *result, SoMemRef1D *vector) {
        reinterpret_cast<SoNmSpmvFn>(fn)(result, &crd, &val, vector);
      },
      a->rows, a->cols, x, y);
}

int so_call_dense_spmm(void *fn, const float *b, int64_t k, int64_t n,
                       int64_t m, float *c) {
  const char *caller = "so_call_dense_spmm";
  if (!fn)
    return fail(std::string(caller) + ": NULL entry point");
  if (k < 0 || m < 0)
    return fail(std::string(caller) + ": negative shape M = " +
                std::to_string(m) + ", K = " + std::to_string(k));
  return callSpmm(
      caller,
      [&](SoMemRef2D *result, SoMemRef2D *dense) {
        reinterpret_cast<SoDenseSpmmFn>(fn)(result, dense);
      },
      m, k, b, n, c);
}

int so_call_dense_spmv(void *fn, const float *x, int64_t k, int64_t m,
                       float *y) {
  const char *caller = "so_call_dense_spmv";
  if (!fn)
    return fail(std::string(caller) + ": NULL entry point");
  if (k < 0 || m < 0)
    return fail(std::string(caller) + ": negative shape M = " +
                std::to_string(m) + ", K = " + std::to_string(k));
  return callSpmv(
      caller,
      [&](SoMemRef1D *result, SoMemRef1D *vector) {
        reinterpret_cast<SoDenseSpmvFn>(fn)(result, vector);
      },
      m, k, x, y);
}

int so_call_spmm(void *fn, const SoCsr *a, int index_bits, const float *b,
                 int64_t n, float *c) {
  SoCsrOperand op;
  if (so_csr_operand_init(a, index_bits, &op))
    return -1;
  int status = so_call_spmm_prepared(fn, &op, b, n, c);
  so_csr_operand_release(&op);
  return status;
}

int so_call_spmv(void *fn, const SoCsr *a, int index_bits, const float *x,
                 float *y) {
  SoCsrOperand op;
  if (so_csr_operand_init(a, index_bits, &op))
    return -1;
  int status = so_call_spmv_prepared(fn, &op, x, y);
  so_csr_operand_release(&op);
  return status;
}

//===----------------------------------------------------------------------===//
// SDDMM
//===----------------------------------------------------------------------===//

namespace {

/// Bytes of each workspace part rounded up to a cache line, so that every
/// part starts 64-byte aligned.
size_t alignedBytes(int64_t count, int elementBytes) {
  return (static_cast<size_t>(count) * elementBytes + 63) & ~size_t(63);
}

/// Index `i` of a descriptor of `indexBits`-bit integers.
int64_t indexAt(const SoMemRef1D &m, int indexBits, int64_t i) {
  int64_t at = m.offset + i * m.strides[0];
  return indexBits == 32 ? static_cast<const int32_t *>(m.aligned)[at]
                         : static_cast<const int64_t *>(m.aligned)[at];
}

/// Whether descriptors `got` and `want` (contiguous) hold the same `count`
/// indices.
bool sameIndices(const SoMemRef1D &got, const SoMemRef1D &want, int indexBits,
                 int64_t count) {
  if (count == 0)
    return true;
  if (got.strides[0] == 1)
    return std::memcmp(static_cast<const char *>(got.aligned) +
                           got.offset * (indexBits / 8),
                       static_cast<const char *>(want.aligned) +
                           want.offset * (indexBits / 8),
                       static_cast<size_t>(count) * (indexBits / 8)) == 0;
  for (int64_t i = 0; i < count; ++i)
    if (indexAt(got, indexBits, i) != indexAt(want, indexBits, i))
      return false;
  return true;
}

} // namespace

int so_sddmm_workspace_init(const SoCsrOperand *s, SoSddmmWorkspace *out) {
  const char *caller = "so_sddmm_workspace_init";
  if (!out)
    return fail(std::string(caller) + ": NULL output");
  *out = SoSddmmWorkspace{};
  if (!s)
    return fail(std::string(caller) + ": NULL operand");
  if (s->index_bits != 32 && s->index_bits != 64)
    return fail(std::string(caller) +
                ": operand is not initialized (index_bits = " +
                std::to_string(s->index_bits) + ")");
  if (s->rows < 0 || s->nnz < 0)
    return fail(std::string(caller) + ": malformed operand");
  int indexBytes = s->index_bits / 8;
  size_t values = alignedBytes(s->nnz, 4);
  size_t pos = alignedBytes(s->rows + 1, indexBytes);
  size_t crd = alignedBytes(s->nnz, indexBytes);
  void *block = std::aligned_alloc(64, 2 * values + pos + crd + 64);
  if (!block)
    return fail(std::string(caller) + ": out of memory for " +
                std::to_string(s->nnz) + " entries");
  SoSddmmWorkspace w{};
  w.rows = s->rows;
  w.nnz = s->nnz;
  w.index_bits = s->index_bits;
  w.block = block;
  char *at = static_cast<char *>(block);
  w.values = reinterpret_cast<float *>(at);
  w.out_val = reinterpret_cast<float *>(at + values);
  w.out_pos = at + 2 * values;
  w.out_crd = at + 2 * values + pos;
  if (s->nnz > 0)
    std::memcpy(w.values,
                static_cast<const float *>(s->val.aligned) + s->val.offset,
                static_cast<size_t>(s->nnz) * 4);
  *out = w;
  return 0;
}

void so_sddmm_workspace_release(SoSddmmWorkspace *w) {
  if (!w)
    return;
  std::free(w->block);
  *w = SoSddmmWorkspace{};
}

int so_call_sddmm_workspace(void *fn, const SoCsrOperand *s, const float *q,
                            const float *k, int64_t depth, SoSddmmWorkspace *w,
                            float *out_values) {
  const char *caller = "so_call_sddmm";
  if (checkOperand(caller, fn, s, s ? s->index_bits : 0))
    return -1;
  if (!w || !w->block || w->rows != s->rows || w->nnz != s->nnz ||
      w->index_bits != s->index_bits)
    return fail(std::string(caller) +
                ": the workspace was not made for this operand");
  if (depth <= 0 || (!q && s->rows > 0) || (!k && s->cols > 0))
    return fail(std::string(caller) + ": expected Q (M x D) and K (N x D) " +
                "with D > 0, found D = " + std::to_string(depth) +
                (q && k ? "" : " and NULL data"));
  // The kernel gets copies of every descriptor and a scratch copy of S's
  // values: neither the operand nor the caller's matrix can change. Calls
  // that discard the result (timing loops) skip refreshing the copy: S's
  // values do not enter the result.
  if (out_values && s->nnz > 0)
    std::memcpy(w->values,
                static_cast<const float *>(s->val.aligned) + s->val.offset,
                static_cast<size_t>(s->nnz) * 4);
  SoMemRef1D pos = s->pos, crd = s->crd;
  SoMemRef1D val = so_memref_1d(w->values, s->nnz);
  SoMemRef1D outPos = so_memref_1d(w->out_pos, s->rows + 1);
  SoMemRef1D outCrd = so_memref_1d(w->out_crd, s->nnz);
  SoMemRef1D outVal = so_memref_1d(w->out_val, s->nnz);
  SoMemRef2D qd = so_memref_2d(const_cast<float *>(q), s->rows, depth);
  SoMemRef2D kd = so_memref_2d(const_cast<float *>(k), s->cols, depth);
  SoCsrResult result{};
  reinterpret_cast<SoSddmmFn>(fn)(&result, &qd, &kd, &pos, &crd, &val, &outPos,
                                  &outCrd, &outVal);
  // The result descriptors are views of the workspace (or of buffers the
  // kernel owns): nothing here is freed.
  if (result.pos.sizes[0] != s->rows + 1 || result.crd.sizes[0] != s->nnz ||
      result.val.sizes[0] != s->nnz)
    return fail(std::string(caller) + ": the kernel returned " +
                std::to_string(result.pos.sizes[0]) + " positions, " +
                std::to_string(result.crd.sizes[0]) + " coordinates and " +
                std::to_string(result.val.sizes[0]) + " values, expected " +
                std::to_string(s->rows + 1) + ", " + std::to_string(s->nnz) +
                " and " + std::to_string(s->nnz));
  if (!result.pos.aligned ||
      (s->nnz > 0 && (!result.crd.aligned || !result.val.aligned)))
    return fail(std::string(caller) + ": the kernel returned no data");
  if (!out_values)
    return 0;
  if (!sameIndices(result.pos, s->pos, s->index_bits, s->rows + 1) ||
      !sameIndices(result.crd, s->crd, s->index_bits, s->nnz))
    return fail(std::string(caller) +
                ": the kernel returned another pattern than S's");
  const float *values =
      static_cast<const float *>(result.val.aligned) + result.val.offset;
  int64_t stride = result.val.strides[0];
  if (stride == 1) {
    if (s->nnz > 0)
      std::memcpy(out_values, values, static_cast<size_t>(s->nnz) * 4);
  } else {
    for (int64_t p = 0; p < s->nnz; ++p)
      out_values[p] = values[p * stride];
  }
  return 0;
}

int so_call_sddmm(void *fn, const SoCsrOperand *s, const float *q,
                  const float *k, int64_t depth, float *out_values) {
  SoSddmmWorkspace w;
  if (checkOperand("so_call_sddmm", fn, s, s ? s->index_bits : 0) ||
      so_sddmm_workspace_init(s, &w))
    return -1;
  int status = so_call_sddmm_workspace(fn, s, q, k, depth, &w, out_values);
  so_sddmm_workspace_release(&w);
  return status;
}
