//===- Structured.cpp - BSR and N:M matrices, structured pruning ----------===//
//
// Conversions from CSR into the storage of the BSR and N:M encodings (the
// buffers their kernels take through the library ABI), and the derivation
// of structured weights from unstructured ones (block and N:M pruning)
// that the benchmark and the tests use.
//
//===----------------------------------------------------------------------===//

#include "Error.h"

#include "sparse-opt-c/Runtime.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <numeric>
#include <string>
#include <vector>

using sparse_opt::runtime::fail;

namespace {

/// malloc'ed storage for `count` elements (one at least, so that an empty
/// array is still a valid pointer to free), or null.
template <typename T> T *allocate(int64_t count) {
  return static_cast<T *>(std::malloc(
      static_cast<size_t>(std::max<int64_t>(count, 1)) * sizeof(T)));
}

std::string shapeText(int64_t rows, int64_t cols) {
  return std::to_string(rows) + " x " + std::to_string(cols);
}

/// Checks that `a` is a well-formed CSR matrix whose column indices are in
/// range; `caller` prefixes the message.
int checkCsr(const char *caller, const SoCsr *a) {
  if (!a)
    return fail(std::string(caller) + ": NULL matrix");
  if (a->rows < 0 || a->cols < 0 || a->nnz < 0 || !a->row_ptr ||
      (a->nnz > 0 && (!a->col_idx || !a->values)) || a->row_ptr[0] != 0 ||
      a->row_ptr[a->rows] != a->nnz)
    return fail(std::string(caller) + ": malformed matrix (" +
                shapeText(a->rows, a->cols) + ", " + std::to_string(a->nnz) +
                " entries)");
  for (int64_t i = 0; i < a->rows; ++i) {
    if (a->row_ptr[i + 1] < a->row_ptr[i])
      return fail(std::string(caller) + ": row_ptr decreases at row " +
                  std::to_string(i));
    for (int64_t k = a->row_ptr[i]; k < a->row_ptr[i + 1]; ++k)
      if (a->col_idx[k] < 0 || a->col_idx[k] >= a->cols)
        return fail(std::string(caller) + ": column " +
                    std::to_string(a->col_idx[k]) + " of row " +
                    std::to_string(i) + " is outside " +
                    shapeText(a->rows, a->cols));
  }
  return 0;
}

/// The common start of a conversion of `a` into `*out`: checks both,
/// zeroes `*out` (so that it is safe to free whatever happens next).
template <typename Out>
int startConversion(const char *caller, const SoCsr *a, Out *out) {
  if (!out)
    return fail(std::string(caller) + ": NULL output");
  *out = Out{};
  return checkCsr(caller, a);
}

/// Checks that R x C blocks tile `a`.
int checkBlocks(const char *caller, const SoCsr *a, int64_t blockRows,
                int64_t blockCols) {
  if (blockRows <= 0 || blockCols <= 0)
    return fail(std::string(caller) + ": block shape must be positive, got " +
                shapeText(blockRows, blockCols));
  if (a->rows % blockRows || a->cols % blockCols)
    return fail(std::string(caller) + ": " + shapeText(blockRows, blockCols) +
                " blocks do not tile a " + shapeText(a->rows, a->cols) +
                " matrix");
  return 0;
}

/// Checks 0 < n <= m and that m divides the columns of `a`.
int checkGroups(const char *caller, const SoCsr *a, int64_t n, int64_t m) {
  if (n <= 0 || m <= 0 || n > m)
    return fail(std::string(caller) + ": expected 0 < n <= m, got " +
                std::to_string(n) + ":" + std::to_string(m));
  if (a->cols % m)
    return fail(std::string(caller) + ": groups of " + std::to_string(m) +
                " columns do not tile " + std::to_string(a->cols) + " columns");
  return 0;
}

/// Builds a CSR matrix in `out` from rows of (column, value) entries,
/// each row sorted by column.
int buildCsr(const char *caller, int64_t rows, int64_t cols,
             const std::vector<std::vector<std::pair<int64_t, float>>> &entries,
             SoCsr *out) {
  int64_t nnz = 0;
  for (const auto &row : entries)
    nnz += static_cast<int64_t>(row.size());
  SoCsr m{};
  m.rows = rows;
  m.cols = cols;
  m.nnz = nnz;
  m.row_ptr = allocate<int64_t>(rows + 1);
  m.col_idx = allocate<int64_t>(nnz);
  m.values = allocate<float>(nnz);
  if (!m.row_ptr || !m.col_idx || !m.values) {
    so_csr_free(&m);
    return fail(std::string(caller) + ": out of memory");
  }
  int64_t k = 0;
  m.row_ptr[0] = 0;
  for (int64_t i = 0; i < rows; ++i) {
    for (auto [column, value] : entries[i]) {
      m.col_idx[k] = column;
      m.values[k++] = value;
    }
    m.row_ptr[i + 1] = k;
  }
  *out = m;
  return 0;
}

} // namespace

void so_bsr_free(SoBsr *m) {
  if (!m)
    return;
  std::free(m->block_ptr);
  std::free(m->block_col);
  std::free(m->values);
  *m = SoBsr{};
}

int so_csr_to_bsr(const SoCsr *a, int64_t block_rows, int64_t block_cols,
                  SoBsr *out) {
  const char *caller = "so_csr_to_bsr";
  if (startConversion(caller, a, out) ||
      checkBlocks(caller, a, block_rows, block_cols))
    return -1;
  int64_t rowBlocks = a->rows / block_rows;
  int64_t colBlocks = a->cols / block_cols;
  int64_t blockSize = block_rows * block_cols;

  // Block columns of each block row: marks per block column, reset after
  // each block row through the list of the ones set.
  std::vector<int64_t> blockIndex(colBlocks, -1);
  std::vector<std::vector<int64_t>> blocksOfRow(rowBlocks);
  int64_t nnzb = 0;
  for (int64_t I = 0; I < rowBlocks; ++I) {
    std::vector<int64_t> &blocks = blocksOfRow[I];
    for (int64_t i = I * block_rows; i < (I + 1) * block_rows; ++i)
      for (int64_t k = a->row_ptr[i]; k < a->row_ptr[i + 1]; ++k) {
        int64_t J = a->col_idx[k] / block_cols;
        if (blockIndex[J] < 0) {
          blockIndex[J] = 0;
          blocks.push_back(J);
        }
      }
    for (int64_t J : blocks)
      blockIndex[J] = -1;
    std::sort(blocks.begin(), blocks.end());
    nnzb += static_cast<int64_t>(blocks.size());
  }

  SoBsr m{};
  m.rows = a->rows;
  m.cols = a->cols;
  m.block_rows = block_rows;
  m.block_cols = block_cols;
  m.nnzb = nnzb;
  m.block_ptr = allocate<int64_t>(rowBlocks + 1);
  m.block_col = allocate<int64_t>(nnzb);
  m.values = static_cast<float *>(
      std::calloc(static_cast<size_t>(std::max<int64_t>(nnzb * blockSize, 1)),
                  sizeof(float)));
  if (!m.block_ptr || !m.block_col || !m.values) {
    so_bsr_free(&m);
    return fail(std::string(caller) + ": out of memory");
  }
  int64_t b = 0;
  m.block_ptr[0] = 0;
  for (int64_t I = 0; I < rowBlocks; ++I) {
    const std::vector<int64_t> &blocks = blocksOfRow[I];
    for (size_t t = 0; t < blocks.size(); ++t) {
      m.block_col[b + t] = blocks[t];
      blockIndex[blocks[t]] = b + static_cast<int64_t>(t);
    }
    for (int64_t i = I * block_rows; i < (I + 1) * block_rows; ++i)
      for (int64_t k = a->row_ptr[i]; k < a->row_ptr[i + 1]; ++k) {
        int64_t j = a->col_idx[k];
        int64_t stored = blockIndex[j / block_cols];
        m.values[stored * blockSize + (i % block_rows) * block_cols +
                 j % block_cols] += a->values[k];
      }
    b += static_cast<int64_t>(blocks.size());
    m.block_ptr[I + 1] = b;
  }
  *out = m;
  return 0;
}

int so_bsr_operand_init(const SoBsr *a, int index_bits, SoCsrOperand *out) {
  if (!out)
    return fail("so_bsr_operand_init: NULL output");
  *out = SoCsrOperand{};
  if (!a || a->block_rows <= 0 || a->block_cols <= 0 ||
      a->rows % a->block_rows || a->cols % a->block_cols || a->nnzb < 0)
    return fail("so_bsr_operand_init: malformed matrix");
  // The block arrays are a CSR matrix of blocks: reuse its descriptors
  // (and its narrowing to 32-bit indices), then widen the view to values.
  SoCsr blocks{};
  blocks.rows = a->rows / a->block_rows;
  blocks.cols = a->cols / a->block_cols;
  blocks.nnz = a->nnzb;
  blocks.row_ptr = a->block_ptr;
  blocks.col_idx = a->block_col;
  blocks.values = a->values;
  if (so_csr_operand_init(&blocks, index_bits, out)) {
    std::string message = so_last_error();
    return fail("so_bsr_operand_init: " + message);
  }
  int64_t stored = a->nnzb * a->block_rows * a->block_cols;
  out->rows = a->rows;
  out->cols = a->cols;
  out->nnz = stored;
  out->val = so_memref_1d(a->values, stored);
  return 0;
}

void so_nm_free(SoNm *m) {
  if (!m)
    return;
  std::free(m->offsets);
  std::free(m->values);
  *m = SoNm{};
}

int so_csr_to_nm(const SoCsr *a, int64_t n, int64_t m, SoNm *out) {
  const char *caller = "so_csr_to_nm";
  if (startConversion(caller, a, out) || checkGroups(caller, a, n, m))
    return -1;
  int64_t groups = a->cols / m;
  int64_t count = a->rows * groups * n;
  SoNm result{};
  result.rows = a->rows;
  result.cols = a->cols;
  result.n = n;
  result.m = m;
  result.offsets = allocate<int64_t>(count);
  result.values = allocate<float>(count);
  if (!result.offsets || !result.values) {
    so_nm_free(&result);
    return fail(std::string(caller) + ": out of memory");
  }
  // One group at a time: its values by in-group position (0 where absent),
  // then the stored positions, padded with the lowest free ones.
  std::vector<float> group(m);
  std::vector<char> present(m);
  for (int64_t i = 0; i < a->rows; ++i) {
    int64_t k = a->row_ptr[i], end = a->row_ptr[i + 1];
    for (int64_t g = 0; g < groups; ++g) {
      std::fill(group.begin(), group.end(), 0.0f);
      std::fill(present.begin(), present.end(), 0);
      int64_t stored = 0;
      // Rows need not be sorted: scan the row for the group's columns.
      for (int64_t t = k; t < end; ++t) {
        int64_t j = a->col_idx[t];
        if (j / m != g)
          continue;
        if (!present[j % m])
          ++stored;
        present[j % m] = 1;
        group[j % m] += a->values[t];
      }
      if (stored > n) {
        so_nm_free(&result);
        return fail(std::string(caller) + ": row " + std::to_string(i) +
                    ", columns " + std::to_string(g * m) + ".." +
                    std::to_string(g * m + m - 1) + " hold " +
                    std::to_string(stored) + " entries, more than " +
                    std::to_string(n) + ":" + std::to_string(m) +
                    " allows (prune with so_csr_prune_nm)");
      }
      for (int64_t p = 0; p < m && stored < n; ++p)
        if (!present[p]) {
          present[p] = 1;
          ++stored;
        }
      int64_t at = (i * groups + g) * n;
      for (int64_t p = 0; p < m; ++p)
        if (present[p]) {
          result.offsets[at] = p;
          result.values[at++] = group[p];
        }
    }
  }
  *out = result;
  return 0;
}

int so_nm_operand_init(const SoNm *a, int index_bits, SoNmOperand *out) {
  if (!out)
    return fail("so_nm_operand_init: NULL output");
  *out = SoNmOperand{};
  if (!a || a->n <= 0 || a->m < a->n || a->rows < 0 || a->cols < 0 ||
      a->cols % a->m || !a->offsets || !a->values)
    return fail("so_nm_operand_init: malformed matrix");
  if (index_bits != 32 && index_bits != 64)
    return fail("so_nm_operand_init: index_bits must be 32 or 64, got " +
                std::to_string(index_bits));
  int64_t count = a->rows * (a->cols / a->m) * a->n;
  SoNmOperand op{};
  op.rows = a->rows;
  op.cols = a->cols;
  op.n = a->n;
  op.m = a->m;
  op.index_bits = index_bits;
  void *crd = a->offsets;
  if (index_bits == 32) {
    // In-group positions are below m, which fits 32 bits for any real m.
    if (a->m > std::numeric_limits<int32_t>::max())
      return fail("so_nm_operand_init: m does not fit 32-bit indices");
    auto *narrow = allocate<int32_t>(count);
    if (!narrow)
      return fail("so_nm_operand_init: out of memory");
    for (int64_t t = 0; t < count; ++t)
      narrow[t] = static_cast<int32_t>(a->offsets[t]);
    crd = narrow;
  }
  op.crd = so_memref_1d(crd, count);
  op.val = so_memref_1d(a->values, count);
  *out = op;
  return 0;
}

void so_nm_operand_release(SoNmOperand *op) {
  if (!op)
    return;
  if (op->index_bits == 32)
    std::free(op->crd.allocated);
  *op = SoNmOperand{};
}

int so_csr_prune_blocks(const SoCsr *a, int64_t block_rows, int64_t block_cols,
                        int64_t blocks, SoCsr *out) {
  const char *caller = "so_csr_prune_blocks";
  if (startConversion(caller, a, out) ||
      checkBlocks(caller, a, block_rows, block_cols))
    return -1;
  int64_t rowBlocks = a->rows / block_rows;
  int64_t colBlocks = a->cols / block_cols;
  if (blocks < 0 || blocks > rowBlocks * colBlocks)
    return fail(std::string(caller) + ": cannot keep " +
                std::to_string(blocks) + " of " +
                std::to_string(rowBlocks * colBlocks) + " blocks");
  // Squared norms in double, summed in row-major element order.
  std::vector<double> norms(static_cast<size_t>(rowBlocks * colBlocks), 0.0);
  for (int64_t i = 0; i < a->rows; ++i)
    for (int64_t k = a->row_ptr[i]; k < a->row_ptr[i + 1]; ++k) {
      double value = a->values[k];
      norms[(i / block_rows) * colBlocks + a->col_idx[k] / block_cols] +=
          value * value;
    }
  std::vector<int64_t> order(norms.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t x, int64_t y) { return norms[x] > norms[y]; });
  std::vector<char> kept(norms.size(), 0);
  for (int64_t t = 0; t < blocks; ++t)
    kept[order[t]] = 1;

  // Dense values of each kept block row by row, then the rows' entries.
  std::vector<std::vector<std::pair<int64_t, float>>> entries(a->rows);
  std::vector<float> row(a->cols);
  for (int64_t i = 0; i < a->rows; ++i) {
    std::fill(row.begin(), row.end(), 0.0f);
    for (int64_t k = a->row_ptr[i]; k < a->row_ptr[i + 1]; ++k)
      row[a->col_idx[k]] += a->values[k];
    for (int64_t J = 0; J < colBlocks; ++J)
      if (kept[(i / block_rows) * colBlocks + J])
        for (int64_t j = J * block_cols; j < (J + 1) * block_cols; ++j)
          entries[i].push_back({j, row[j]});
  }
  return buildCsr(caller, a->rows, a->cols, entries, out);
}

int so_csr_prune_nm(const SoCsr *a, int64_t n, int64_t m, SoCsr *out) {
  const char *caller = "so_csr_prune_nm";
  if (startConversion(caller, a, out) || checkGroups(caller, a, n, m))
    return -1;
  std::vector<std::vector<std::pair<int64_t, float>>> entries(a->rows);
  for (int64_t i = 0; i < a->rows; ++i) {
    std::vector<std::pair<int64_t, float>> row;
    for (int64_t k = a->row_ptr[i]; k < a->row_ptr[i + 1]; ++k)
      row.push_back({a->col_idx[k], a->values[k]});
    std::sort(row.begin(), row.end(),
              [](const auto &x, const auto &y) { return x.first < y.first; });
    // Each group: the n largest magnitudes, ties to the lower column.
    for (size_t begin = 0; begin < row.size();) {
      size_t end = begin;
      while (end < row.size() && row[end].first / m == row[begin].first / m)
        ++end;
      std::vector<std::pair<int64_t, float>> group(row.begin() + begin,
                                                   row.begin() + end);
      std::stable_sort(group.begin(), group.end(),
                       [](const auto &x, const auto &y) {
                         return std::fabs(x.second) > std::fabs(y.second);
                       });
      if (static_cast<int64_t>(group.size()) > n)
        group.resize(static_cast<size_t>(n));
      std::sort(group.begin(), group.end(),
                [](const auto &x, const auto &y) { return x.first < y.first; });
      entries[i].insert(entries[i].end(), group.begin(), group.end());
      begin = end;
    }
  }
  return buildCsr(caller, a->rows, a->cols, entries, out);
}

int so_csr_from_dense(const float *dense, int64_t rows, int64_t cols,
                      SoCsr *out) {
  const char *caller = "so_csr_from_dense";
  if (!out)
    return fail(std::string(caller) + ": NULL output");
  *out = SoCsr{};
  if (rows < 0 || cols < 0 || (!dense && rows * cols > 0))
    return fail(std::string(caller) + ": expected a " + shapeText(rows, cols) +
                " array");
  std::vector<std::vector<std::pair<int64_t, float>>> entries(rows);
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j)
      if (dense[i * cols + j] != 0.0f)
        entries[i].push_back({j, dense[i * cols + j]});
  return buildCsr(caller, rows, cols, entries, out);
}
