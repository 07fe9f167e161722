//===- Readers.cpp - DLMC .smtx and Matrix Market .mtx readers ------------===//
//
// Both readers load the whole file into memory and scan it with a small
// hand-written tokenizer: the DLMC files hold about a million indices on one
// line, which iostreams parse an order of magnitude slower. Every read is
// bounds-checked against the buffer, every count is checked against the file
// before anything proportional to a header value is allocated, and every
// error names the file, the line, what was expected and what was found.
//
//===----------------------------------------------------------------------===//

#include "Error.h"

#include "sparse-opt-c/Runtime.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <limits>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using sparse_opt::runtime::fail;

namespace {

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();

bool isBlank(char c) { return c == ' ' || c == '\t' || c == '\r'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

/// Reads the whole file at `path` into `text`.
int readFile(const char *path, std::string &text) {
  std::FILE *file = std::fopen(path, "rb");
  if (!file)
    return fail(std::string(path) + ": cannot open: " + std::strerror(errno));
  char chunk[1 << 16];
  size_t got;
  try {
    while ((got = std::fread(chunk, 1, sizeof chunk, file)) > 0)
      text.append(chunk, got);
  } catch (const std::bad_alloc &) {
    std::fclose(file);
    return fail(std::string(path) + ": out of memory reading the file");
  }
  bool readError = std::ferror(file);
  int savedErrno = errno;
  std::fclose(file);
  if (readError)
    return fail(std::string(path) +
                ": cannot read: " + std::strerror(savedErrno));
  return 0;
}

/// Quotes a token for an error message, escaping unprintable bytes and
/// shortening long ones.
std::string quote(std::string_view token) {
  constexpr size_t kMaxShown = 40;
  std::string result = "'";
  for (size_t i = 0; i < token.size() && i < kMaxShown; ++i) {
    unsigned char c = static_cast<unsigned char>(token[i]);
    if (c >= 0x20 && c < 0x7f) {
      result += static_cast<char>(c);
    } else {
      char escaped[8];
      std::snprintf(escaped, sizeof escaped, "\\x%02x", c);
      result += escaped;
    }
  }
  if (token.size() > kMaxShown)
    result += "...";
  return result + "'";
}

/// Fails with `PATH:LINE: expected <expected>, found <found>`.
int errorAt(const char *path, int64_t line, const std::string &expected,
            const std::string &found) {
  return fail(std::string(path) + ":" + std::to_string(line) + ": expected " +
              expected + ", found " + found);
}

/// A cursor over the text of one file that knows the current line number.
/// Tokens are maximal runs of non-blank characters within a line.
class Scanner {
public:
  Scanner(const char *path, std::string_view text)
      : path(path), pos(text.data()), end(text.data() + text.size()) {}

  int64_t lineNumber() const { return line; }
  bool atEndOfFile() const { return pos == end; }

  void skipBlanks() {
    while (pos != end && isBlank(*pos))
      ++pos;
  }

  /// Skips blanks; true if nothing but a line break or the end of the file
  /// follows on this line.
  bool atEndOfLine() {
    skipBlanks();
    return pos == end || *pos == '\n';
  }

  /// Moves to the start of the next line (call when atEndOfLine()).
  void nextLine() {
    if (pos != end) {
      ++pos;
      ++line;
    }
  }

  /// Skips lines holding only blanks.
  void skipBlankLines() {
    while (atEndOfLine() && !atEndOfFile())
      nextLine();
  }

  /// The token at the cursor (after blanks), not consumed.
  std::string_view peekToken() {
    skipBlanks();
    const char *tokenEnd = pos;
    while (tokenEnd != end && *tokenEnd != '\n' && !isBlank(*tokenEnd))
      ++tokenEnd;
    return {pos, static_cast<size_t>(tokenEnd - pos)};
  }

  std::string_view takeToken() {
    std::string_view token = peekToken();
    pos += token.size();
    return token;
  }

  /// The rest of the current line, consumed up to (not including) the break.
  std::string_view takeRestOfLine() {
    const char *lineEnd = pos;
    while (lineEnd != end && *lineEnd != '\n')
      ++lineEnd;
    std::string_view rest(pos, static_cast<size_t>(lineEnd - pos));
    pos = lineEnd;
    return rest;
  }

  /// Number of tokens from the cursor to the end of the line, not consumed.
  int64_t countTokensOnLine() const {
    int64_t count = 0;
    bool inToken = false;
    for (const char *p = pos; p != end && *p != '\n'; ++p) {
      bool blank = isBlank(*p);
      count += !blank && !inToken;
      inToken = !blank;
    }
    return count;
  }

  /// What the cursor is at, for "found ..." in error messages.
  std::string describeNext() {
    std::string_view token = peekToken();
    if (!token.empty())
      return quote(token);
    return pos == end ? "end of file" : "end of line";
  }

  /// Fails with `PATH:LINE: expected <expected>, found <found>`.
  int error(const std::string &expected, const std::string &found) const {
    return errorAt(path, line, expected, found);
  }
  int errorAtNext(const std::string &expected) {
    return error(expected, describeNext());
  }

  /// Consumes the end of the current line; fails if anything else is there.
  int expectEndOfLine() {
    if (!atEndOfLine())
      return errorAtNext("end of line");
    nextLine();
    return 0;
  }

  /// Reads a decimal integer token (signed only if `allowSign`) that
  /// ends at a blank, a line break, the end of the file or one of the
  /// characters in `terminators`. `what` names the value in error messages.
  int readInteger(int64_t &value, const char *what, bool allowSign = false,
                  const char *terminators = "") {
    skipBlanks();
    const char *p = pos;
    bool negative = false;
    if (allowSign && p != end && (*p == '-' || *p == '+')) {
      negative = *p == '-';
      ++p;
    }
    const char *digits = p;
    uint64_t magnitude = 0;
    bool overflow = false;
    for (; p != end && isDigit(*p); ++p) {
      overflow |= __builtin_mul_overflow(magnitude, 10u, &magnitude);
      overflow |=
          __builtin_add_overflow(magnitude, unsigned(*p - '0'), &magnitude);
    }
    bool terminated = p == end || *p == '\n' || isBlank(*p) ||
                      (*p != '\0' && std::strchr(terminators, *p));
    if (p == digits || !terminated)
      return errorAtNext(what);
    // The largest magnitude is that of INT64_MIN, one past INT64_MAX.
    uint64_t limit = uint64_t(kInt64Max) + (negative ? 1 : 0);
    if (overflow || magnitude > limit)
      return error(what,
                   quote(std::string_view(pos, p - pos)) + " (out of range)");
    value = negative ? int64_t(0 - magnitude) : int64_t(magnitude);
    pos = p;
    return 0;
  }

  /// Consumes `c` (after blanks) or fails.
  int expectChar(char c, const std::string &expected) {
    skipBlanks();
    if (pos == end || *pos != c)
      return errorAtNext(expected);
    ++pos;
    return 0;
  }

private:
  const char *path;
  const char *pos;
  const char *end;
  int64_t line = 1;
};

/// The arrays of a matrix under construction, freed unless released.
class CsrBuilder {
public:
  CsrBuilder(int64_t rows, int64_t cols) {
    matrix.rows = rows;
    matrix.cols = cols;
  }
  ~CsrBuilder() { so_csr_free(&matrix); }

  /// Allocates the rows + 1 row offsets; false when out of memory.
  bool allocateRowPtr() {
    if (matrix.rows >= kMaxElements)
      return false;
    matrix.row_ptr = static_cast<int64_t *>(std::malloc((matrix.rows + 1) * 8));
    return matrix.row_ptr != nullptr;
  }

  /// Allocates column indices and values for `nnz` entries.
  bool allocateEntries(int64_t nnz) {
    matrix.nnz = nnz;
    if (nnz > kMaxElements)
      return false;
    matrix.col_idx = static_cast<int64_t *>(std::malloc(nnz ? nnz * 8 : 1));
    matrix.values = static_cast<float *>(std::malloc(nnz ? nnz * 4 : 1));
    return matrix.col_idx && matrix.values;
  }

  SoCsr &get() { return matrix; }

  void releaseTo(SoCsr *out) {
    *out = matrix;
    matrix = SoCsr{};
  }

private:
  /// Bounds element counts so that byte counts cannot overflow.
  static constexpr int64_t kMaxElements =
      std::numeric_limits<int64_t>::max() / 8;
  SoCsr matrix{};
};

int outOfMemory(const char *path) {
  return fail(std::string(path) + ": out of memory for the matrix");
}

/// Whether `rows` x `cols` can hold `nnz` entries (without overflowing).
bool fitsEntries(int64_t rows, int64_t cols, int64_t nnz) {
  int64_t cells;
  return __builtin_mul_overflow(rows, cols, &cells) || nnz <= cells;
}

//===----------------------------------------------------------------------===//
// DLMC .smtx
//===----------------------------------------------------------------------===//

/// Checks that the current line holds `expected` tokens. Counting before
/// parsing gives the clearest message, and lets callers allocate only what
/// the file really holds, whatever its header claims.
int expectTokenCount(Scanner &in, int64_t expected, const char *what) {
  std::string expectation = std::to_string(expected) + " " + what;
  if (in.atEndOfFile())
    // A missing last line is fine when it would be empty.
    return expected == 0 ? 0 : in.error(expectation, "end of file");
  int64_t found = in.countTokensOnLine();
  return found == expected ? 0 : in.error(expectation, std::to_string(found));
}

/// Parses the `count` non-negative integers of the current line into `dst`.
int readIndexLine(Scanner &in, int64_t count, const char *element,
                  int64_t *dst) {
  if (in.atEndOfFile())
    return 0;
  for (int64_t i = 0; i < count; ++i)
    if (in.readInteger(dst[i], element))
      return -1;
  return in.expectEndOfLine();
}

int readSmtx(const char *path, std::string_view text, SoCsr *out) {
  Scanner in(path, text);
  int64_t rows, cols, nnz;
  if (in.readInteger(rows, "the number of rows", false, ",") ||
      in.expectChar(',', "',' after the number of rows") ||
      in.readInteger(cols, "the number of columns", false, ",") ||
      in.expectChar(',', "',' after the number of columns") ||
      in.readInteger(nnz, "the number of nonzeros"))
    return -1;
  if (rows == kInt64Max)
    return in.error("fewer than " + std::to_string(kInt64Max) + " rows",
                    std::to_string(rows));
  if (!fitsEntries(rows, cols, nnz))
    return in.error("at most nrows * ncols nonzeros",
                    std::to_string(nnz) + " for " + std::to_string(rows) +
                        " x " + std::to_string(cols));
  if (in.expectEndOfLine())
    return -1;

  CsrBuilder csr(rows, cols);
  SoCsr &m = csr.get();
  int64_t offsetsLine = in.lineNumber();
  if (expectTokenCount(in, rows + 1, "row offsets"))
    return -1;
  if (!csr.allocateRowPtr())
    return outOfMemory(path);
  if (readIndexLine(in, rows + 1, "a row offset", m.row_ptr))
    return -1;
  // The offsets were all read: report their errors on their line.
  auto offsetError = [&](const std::string &expected,
                         const std::string &found) {
    return errorAt(path, offsetsLine, expected, found);
  };
  if (m.row_ptr[0] != 0)
    return offsetError("the first row offset to be 0",
                       std::to_string(m.row_ptr[0]));
  for (int64_t i = 1; i <= rows; ++i) {
    std::string where = " (offset " + std::to_string(i) + ")";
    if (m.row_ptr[i] < m.row_ptr[i - 1])
      return offsetError("non-decreasing row offsets",
                         std::to_string(m.row_ptr[i]) + " after " +
                             std::to_string(m.row_ptr[i - 1]) + where);
    if (m.row_ptr[i] > nnz)
      return offsetError("row offsets at most nnz = " + std::to_string(nnz),
                         std::to_string(m.row_ptr[i]) + where);
  }
  if (m.row_ptr[rows] != nnz)
    return offsetError("the last row offset to equal nnz = " +
                           std::to_string(nnz),
                       std::to_string(m.row_ptr[rows]));

  int64_t indicesLine = in.lineNumber();
  if (expectTokenCount(in, nnz, "column indices"))
    return -1;
  if (!csr.allocateEntries(nnz))
    return outOfMemory(path);
  if (readIndexLine(in, nnz, "a column index", m.col_idx))
    return -1;
  for (int64_t row = 0; row < rows; ++row) {
    for (int64_t k = m.row_ptr[row]; k < m.row_ptr[row + 1]; ++k) {
      int64_t col = m.col_idx[k];
      auto where = [&] {
        return " (entry " + std::to_string(k) + ", row " + std::to_string(row) +
               ")";
      };
      if (col >= cols)
        return errorAt(path, indicesLine,
                       "a column index below ncols = " + std::to_string(cols),
                       std::to_string(col) + where());
      if (k > m.row_ptr[row] && col <= m.col_idx[k - 1])
        return errorAt(path, indicesLine,
                       "ascending distinct column indices within a row",
                       std::to_string(col) + " after " +
                           std::to_string(m.col_idx[k - 1]) + where());
    }
  }
  in.skipBlankLines();
  if (!in.atEndOfFile())
    return in.errorAtNext("end of file");

  std::fill(m.values, m.values + nnz, 1.0f);
  csr.releaseTo(out);
  return 0;
}

//===----------------------------------------------------------------------===//
// Matrix Market .mtx
//===----------------------------------------------------------------------===//

enum class Field { Real, Integer, Pattern };
enum class Symmetry { General, Symmetric, SkewSymmetric };

bool equalsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size())
    return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

/// Parses the banner `%%MatrixMarket matrix coordinate FIELD SYMMETRY`.
int readBanner(Scanner &in, Field &field, Symmetry &symmetry) {
  if (!equalsIgnoreCase(in.peekToken(), "%%MatrixMarket")) {
    const char *banner = "the banner '%%MatrixMarket matrix coordinate ...'";
    if (in.atEndOfFile())
      return in.error(banner, "end of file");
    Scanner lookahead = in;
    return in.error(banner, quote(lookahead.takeRestOfLine()));
  }
  in.takeToken();
  if (!equalsIgnoreCase(in.peekToken(), "matrix"))
    return in.errorAtNext("object 'matrix'");
  in.takeToken();
  if (!equalsIgnoreCase(in.peekToken(), "coordinate"))
    return in.errorAtNext("format 'coordinate'");
  in.takeToken();

  std::string_view token = in.peekToken();
  if (equalsIgnoreCase(token, "real"))
    field = Field::Real;
  else if (equalsIgnoreCase(token, "integer"))
    field = Field::Integer;
  else if (equalsIgnoreCase(token, "pattern"))
    field = Field::Pattern;
  else
    return in.errorAtNext("field 'real', 'integer' or 'pattern'");
  in.takeToken();

  token = in.peekToken();
  if (equalsIgnoreCase(token, "general"))
    symmetry = Symmetry::General;
  else if (equalsIgnoreCase(token, "symmetric"))
    symmetry = Symmetry::Symmetric;
  else if (equalsIgnoreCase(token, "skew-symmetric"))
    symmetry = Symmetry::SkewSymmetric;
  else
    return in.errorAtNext("symmetry 'general', 'symmetric' or "
                          "'skew-symmetric'");
  in.takeToken();
  return in.expectEndOfLine();
}

/// Reads one value token of a real or integer file as a finite float.
int readValue(Scanner &in, Field field, float &value) {
  if (field == Field::Integer) {
    int64_t integer;
    if (in.readInteger(integer, "an integer value", /*allowSign=*/true))
      return -1;
    value = static_cast<float>(integer);
    return 0;
  }
  std::string_view token = in.peekToken();
  std::string_view digits = token;
  if (!digits.empty() && digits.front() == '+')
    digits.remove_prefix(1);
  double parsed = 0;
  auto [rest, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), parsed);
  if (token.empty() || digits.empty() || digits.front() == '+' ||
      rest != digits.data() + digits.size())
    return in.errorAtNext("a real value");
  if (ec != std::errc() || !std::isfinite(parsed) ||
      std::fabs(parsed) > std::numeric_limits<float>::max())
    return in.error("a finite value in float range",
                    quote(token) +
                        (ec == std::errc() ? "" : " (out of range)"));
  value = static_cast<float>(parsed);
  in.takeToken();
  return 0;
}

struct Entry {
  int64_t row, col;
  float value;
};

/// Builds the CSR form of `entries` (0-based, in any order): buckets them by
/// row, then sorts each row by column and merges duplicates, summing their
/// values unless `pattern`. Linear but for the short per-row sorts. Rows are
/// sorted by column, then value, so duplicates are summed in ascending order
/// of value: the float sum does not depend on the sort algorithm (equal
/// values, +0 and -0 included, give the same sum in any order), and
/// scripts/make-kernel.py --embed-weights reproduces it.
int buildCsr(const char *path, int64_t rows, int64_t cols,
             const std::vector<Entry> &entries, bool pattern, SoCsr *out) {
  CsrBuilder csr(rows, cols);
  if (!csr.allocateRowPtr())
    return outOfMemory(path);
  SoCsr &m = csr.get();
  int64_t *rowPtr = m.row_ptr;

  // Counting sort by row; afterwards rowPtr[i] is where row i starts.
  std::fill(rowPtr, rowPtr + rows + 1, 0);
  for (const Entry &e : entries)
    ++rowPtr[e.row + 1];
  for (int64_t i = 0; i < rows; ++i)
    rowPtr[i + 1] += rowPtr[i];
  std::vector<std::pair<int64_t, float>> byRow;
  try {
    byRow.resize(entries.size());
  } catch (const std::bad_alloc &) {
    return outOfMemory(path);
  }
  for (const Entry &e : entries)
    byRow[rowPtr[e.row]++] = {e.col, e.value};
  // Each rowPtr[i] now holds the end of row i: shift back to starts.
  for (int64_t i = rows; i > 0; --i)
    rowPtr[i] = rowPtr[i - 1];
  rowPtr[0] = 0;

  // Sort and merge each row, compacting in place (writes never overtake
  // reads).
  size_t distinct = 0;
  size_t rowBegin = 0;
  for (int64_t i = 0; i < rows; ++i) {
    size_t rowEnd = static_cast<size_t>(rowPtr[i + 1]);
    std::sort(byRow.begin() + rowBegin, byRow.begin() + rowEnd);
    size_t rowStart = distinct;
    for (size_t k = rowBegin; k < rowEnd; ++k) {
      if (distinct > rowStart && byRow[distinct - 1].first == byRow[k].first) {
        if (!pattern)
          byRow[distinct - 1].second += byRow[k].second;
      } else {
        byRow[distinct++] = byRow[k];
      }
    }
    rowBegin = rowEnd;
    rowPtr[i + 1] = static_cast<int64_t>(distinct);
  }

  if (!csr.allocateEntries(static_cast<int64_t>(distinct)))
    return outOfMemory(path);
  for (size_t k = 0; k < distinct; ++k) {
    m.col_idx[k] = byRow[k].first;
    m.values[k] = byRow[k].second;
  }
  csr.releaseTo(out);
  return 0;
}

int readMtx(const char *path, std::string_view text, SoCsr *out) {
  Scanner in(path, text);
  Field field;
  Symmetry symmetry;
  if (readBanner(in, field, symmetry))
    return -1;

  // Comments and blank lines until the size line.
  for (;;) {
    in.skipBlankLines();
    if (in.atEndOfFile() || in.peekToken().substr(0, 1) != "%")
      break;
    in.takeRestOfLine();
    in.nextLine();
  }
  int64_t rows, cols, nnz;
  if (in.readInteger(rows, "the number of rows") ||
      in.readInteger(cols, "the number of columns") ||
      in.readInteger(nnz, "the number of entries"))
    return -1;
  int64_t sizeLine = in.lineNumber();
  auto sizeError = [&](const std::string &expected, const std::string &found) {
    return errorAt(path, sizeLine, expected, found);
  };
  if (in.expectEndOfLine())
    return -1;
  std::string shape = std::to_string(rows) + " x " + std::to_string(cols);
  if (rows == kInt64Max)
    return sizeError("a number of rows below " + std::to_string(kInt64Max),
                     std::to_string(rows));
  if (symmetry != Symmetry::General && rows != cols)
    return sizeError("a square matrix for a symmetric file", shape);
  if (!fitsEntries(rows, cols, nnz))
    return sizeError("at most rows * columns entries",
                     std::to_string(nnz) + " for " + shape);

  std::vector<Entry> entries;
  try {
    // Each entry line takes at least four bytes ("1 1\n"): never reserve
    // more than the file can hold, whatever the header says.
    entries.reserve(static_cast<size_t>(
        std::min<int64_t>(nnz, static_cast<int64_t>(text.size() / 4) + 1)));
    for (int64_t k = 0; k < nnz; ++k) {
      in.skipBlankLines();
      if (in.atEndOfFile())
        return in.error(std::to_string(nnz) + " entries", std::to_string(k));
      Entry e{0, 0, 1.0f};
      if (in.readInteger(e.row, "a row index") ||
          in.readInteger(e.col, "a column index"))
        return -1;
      if (e.row < 1 || e.row > rows)
        return in.error("a row index in [1, " + std::to_string(rows) + "]",
                        std::to_string(e.row));
      if (e.col < 1 || e.col > cols)
        return in.error("a column index in [1, " + std::to_string(cols) + "]",
                        std::to_string(e.col));
      auto position = [&] {
        return "(" + std::to_string(e.row) + ", " + std::to_string(e.col) + ")";
      };
      if (symmetry == Symmetry::Symmetric && e.row < e.col)
        return in.error("an entry on or below the diagonal of a symmetric "
                        "matrix",
                        position());
      if (symmetry == Symmetry::SkewSymmetric && e.row <= e.col)
        return in.error("an entry below the diagonal of a skew-symmetric "
                        "matrix",
                        position());
      if (field != Field::Pattern && readValue(in, field, e.value))
        return -1;
      if (in.expectEndOfLine())
        return -1;
      --e.row;
      --e.col;
      entries.push_back(e);
      if (symmetry != Symmetry::General && e.row != e.col)
        entries.push_back(
            {e.col, e.row,
             symmetry == Symmetry::SkewSymmetric ? -e.value : e.value});
    }
    in.skipBlankLines();
    if (!in.atEndOfFile())
      return in.errorAtNext("end of file after " + std::to_string(nnz) +
                            " entries");

  } catch (const std::bad_alloc &) {
    return outOfMemory(path);
  }
  return buildCsr(path, rows, cols, entries, field == Field::Pattern, out);
}

/// Shared entry checks and file loading of the readers.
template <typename Reader>
int readMatrix(const char *path, SoCsr *out, Reader reader) {
  if (!out)
    return fail("matrix reader: NULL output");
  *out = SoCsr{};
  if (!path)
    return fail("matrix reader: NULL path");
  std::string text;
  if (readFile(path, text))
    return -1;
  return reader(path, text, out);
}

} // namespace

int so_csr_read_smtx(const char *path, SoCsr *out) {
  return readMatrix(path, out, readSmtx);
}

int so_csr_read_mtx(const char *path, SoCsr *out) {
  return readMatrix(path, out, readMtx);
}

int so_csr_read(const char *path, SoCsr *out) {
  if (!out)
    return fail("so_csr_read: NULL output");
  *out = SoCsr{};
  if (!path)
    return fail("so_csr_read: NULL path");
  std::string_view name(path);
  size_t slash = name.find_last_of('/');
  std::string_view base =
      slash == std::string_view::npos ? name : name.substr(slash + 1);
  size_t dot = base.find_last_of('.');
  std::string_view extension =
      dot == std::string_view::npos ? std::string_view() : base.substr(dot);
  if (equalsIgnoreCase(extension, ".smtx"))
    return so_csr_read_smtx(path, out);
  if (equalsIgnoreCase(extension, ".mtx"))
    return so_csr_read_mtx(path, out);
  return fail(std::string(path) + ": unknown matrix file extension " +
              (extension.empty() ? std::string("(none)") : quote(extension)) +
              ", expected .smtx or .mtx");
}
