//===- sparse-run.cpp - Run, check and time compiled sparse kernels -------===//
//
// Loads a library built by sparse-compile, calls one SpMM or SpMV entry point
// on a matrix file or a random matrix, checks the result against a reference
// computed in double precision and times it per thread count, optionally
// next to OpenBLAS on the densified matrix and to Eigen's and LIBXSMM's
// sparse x dense products on the same matrix. An entry whose signature has a
// single dense operand has its weight compiled in: it is called with B (or
// x) only, and the matrix given is what the reference is computed with.
//
// Exit status: 0 if every check passed, 1 if a check failed, 2 on usage or
// input errors.
//
//===----------------------------------------------------------------------===//

#include "DenseGather.h"
#include "EigenBaseline.h"
#ifdef SPARSE_RUN_HAVE_LIBXSMM
#include "LibxsmmBaseline.h"
#endif
#include "sparse-opt-c/Runtime.h"

#include <cblas.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <limits>
#include <memory>
#include <new>
#include <string>
#include <vector>

namespace {

/// Allocates cache-line aligned storage. The kernels' vectors are a cache
/// line wide on AVX-512, and a B that starts mid-line (as a large
/// std::vector from malloc does, 16 bytes past a page) makes every load
/// span two lines: measured at half the SpMM speed. Callers of a compiled
/// library should align their operands the same way; docs/runtime.md says so.
template <typename T> struct CacheLineAllocator {
  using value_type = T;
  static constexpr std::align_val_t kAlignment{64};
  CacheLineAllocator() = default;
  template <typename U> CacheLineAllocator(const CacheLineAllocator<U> &) {}
  T *allocate(size_t count) {
    return static_cast<T *>(::operator new(count * sizeof(T), kAlignment));
  }
  void deallocate(T *pointer, size_t) { ::operator delete(pointer, kAlignment); }
  template <typename U> bool operator==(const CacheLineAllocator<U> &) const {
    return true;
  }
  template <typename U> bool operator!=(const CacheLineAllocator<U> &) const {
    return false;
  }
};
using Floats = std::vector<float, CacheLineAllocator<float>>;

// A small hand-written parser rather than llvm::cl: libLLVM.so registers its
// own global `threads` option, which clashes with ours.
const char *const kUsage =
    R"(usage: sparse-run LIB.so --entry NAME --kind spmm|spmv|sddmm
                  (--matrix FILE.smtx|FILE.mtx | --random MxK:DENSITY |
                   --mask SPEC --n N) [options]

Runs a compiled SpMM (C[M,N] = A[M,K] * B[K,N]), SpMV (y[M] = A[M,K] * x[K])
or SDDMM (R = S o (Q K^T): for every entry (i,j) of the M x N pattern S,
R[i,j] = sum_d Q[i,d] * K[j,d], with Q M x D and K N x D) entry point,
checks it against a double-precision reference and times it.
An entry whose signature takes only B (or x) has A embedded (make-kernel.py
--embed-weights): give the matrix and seed it was built from.

  --entry NAME          entry point (_mlir_ciface_NAME or NAME)
  --kind spmm|spmv|sddmm  kind of the entry point
  --matrix FILE         sparse matrix A, or pattern S (.smtx or .mtx)
  --random MxK:DENSITY  random A (or S) instead, e.g. 2048x512:0.1
  --mask SPEC           sddmm: an N x N attention mask as S (needs --n N):
                        window:W (|i - j| <= W), random:DENSITY, or
                        bigbird:B,W,G,R (blocks of B rows and columns; W
                        window blocks on each side of the diagonal, G global
                        block rows and columns, R random blocks per block
                        row; see so_mask_bigbird)
  --format F            how the kernel takes A: csr, bsr:RxC (R x C blocks)
                        or nm:N:M (at most N non-zeros in each group of M
                        columns); default: what the entry's signature says
                        (csr without one). A is converted to it (BSR fills
                        partial blocks with zeros; N:M requires A to
                        conform, see --structure)
  --structure F         first derive a structured weight of A's shape from
                        A: bsr:RxC keeps round(nnz / (R*C)) whole blocks of
                        largest norm (same density, values then drawn from
                        --seed), nm:N:M keeps the N largest magnitudes of
                        each group of M columns; the kernel, the reference
                        and the baselines all use it
  --n N                 columns of B and C, spmm only (default 256); sddmm:
                        the size of the --mask
  --depth D             sddmm: columns of Q and K (default: from the entry's
                        signature)
  --index-bits 32|64    index width the kernel was compiled for (default:
                        from the library's signature of the entry, else 64;
                        not for entries with embedded weights)
  --threads T1,T2,...   thread counts to run (default: the library's default)
  --seed S              seed of A's values; B uses S + 1 (default 1);
                        sddmm: S's values and random pattern, Q uses S + 1,
                        K S + 2 (S's values do not matter to the result)
  --file-values         keep the values of a real or integer .mtx file (A's
                        values are then not drawn from the seed)
  --warmup W            untimed calls before timing (default 2)
  --repeat R            timed calls (default 10)
  --rtol X              pass iff |c - ref| <= X * sum_k |a_ik * b_kj| (1e-5;
                        sddmm: X * sum_d |q_id * k_jd|)
  --dense-baseline      also time OpenBLAS sgemm/sgemv on the densified A;
                        sddmm: sgemm Q K^T into a dense M x N matrix, then
                        the gather of S's entries from it (timed together,
                        checked like the kernel)
  --eigen-baseline      also time Eigen's sparse x dense product on the same
                        CSR A (SpMV for N = 1), checked like the kernel; not
                        for sddmm
  --libxsmm-baseline    also time LIBXSMM's spmdm (sparse A x dense B, its
                        slices of A built once, untimed) on the same A,
                        checked like the kernel; not for sddmm; only in
                        builds with libxsmm-dev (see --list-baselines)
  --list-baselines      print the baselines this build can time, one per
                        line (dense, eigen, libxsmm), and exit
  --csv FILE|-          append CSV rows to FILE ('-': stdout; the table then
                        goes to stderr)
  --help                show this text

Exit status: 0 if every check passed, 1 if a check failed, 2 on usage or
input errors.
)";

enum class Kind { SpMM, SpMV, SDDMM };

/// A storage format of the weight: CSR, BSR with R x C blocks (a, b) or
/// N:M (a = N, b = M).
struct WeightFormat {
  enum class Kind { Csr, Bsr, Nm } kind = Kind::Csr;
  int64_t a = 0, b = 0;
  bool operator==(const WeightFormat &other) const {
    return kind == other.kind && a == other.a && b == other.b;
  }
  std::string text() const {
    switch (kind) {
    case Kind::Csr:
      return "csr";
    case Kind::Bsr:
      return "bsr:" + std::to_string(a) + "x" + std::to_string(b);
    case Kind::Nm:
      return "nm:" + std::to_string(a) + ":" + std::to_string(b);
    }
    return "";
  }
};

struct Options {
  std::string library, entry, matrix, random, mask, csv;
  Kind kind = Kind::SpMM;
  bool kindGiven = false;
  int64_t n = 256;
  bool nGiven = false;
  int64_t depth = 0; // sddmm; 0: from the signature
  int indexBits = 64;
  bool indexBitsGiven = false;
  std::vector<int> threads;
  uint64_t seed = 1;
  int warmup = 2, repeat = 10;
  double rtol = 1e-5;
  bool denseBaseline = false;
  bool eigenBaseline = false;
  bool libxsmmBaseline = false;
  bool fileValues = false;
  WeightFormat format, structure;
  bool formatGiven = false, structureGiven = false;
};

constexpr int kExitCheckFailed = 1;
constexpr int kExitUsage = 2;

int usageError(const std::string &message) {
  std::fprintf(stderr, "sparse-run: error: %s\n", message.c_str());
  return kExitUsage;
}

/// Parses all of `text` as a base-10 integer in [lo, hi].
bool parseInteger(const std::string &text, int64_t lo, int64_t hi,
                  int64_t &value) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0])))
    return false;
  char *end;
  errno = 0;
  long long parsed = std::strtoll(text.c_str(), &end, 10);
  if (errno || *end || parsed < lo || parsed > hi)
    return false;
  value = parsed;
  return true;
}

bool parseUnsigned(const std::string &text, uint64_t &value) {
  if (text.empty() || !std::isdigit(static_cast<unsigned char>(text[0])))
    return false;
  char *end;
  errno = 0;
  unsigned long long parsed = std::strtoull(text.c_str(), &end, 10);
  if (errno || *end)
    return false;
  value = parsed;
  return true;
}

/// Parses all of `text` as a finite number.
bool parseReal(const std::string &text, double &value) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0])))
    return false;
  char *end;
  errno = 0;
  value = std::strtod(text.c_str(), &end);
  return !errno && !*end && std::isfinite(value);
}

/// Parses "MxK:DENSITY" with M, K >= 1 and DENSITY in [0, 1].
bool parseRandomSpec(const std::string &spec, int64_t &rows, int64_t &cols,
                     double &density) {
  size_t colon = spec.find(':');
  size_t times = spec.find('x');
  if (colon == std::string::npos || times == std::string::npos || times > colon)
    return false;
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  return parseInteger(spec.substr(0, times), 1, kMax, rows) &&
         parseInteger(spec.substr(times + 1, colon - times - 1), 1, kMax,
                      cols) &&
         parseReal(spec.substr(colon + 1), density) && density >= 0.0 &&
         density <= 1.0;
}

/// Parses "csr", "bsr:RxC" (R, C >= 1) or "nm:N:M" (1 <= N <= M).
bool parseWeightFormat(const std::string &text, WeightFormat &format) {
  constexpr int64_t kMax = std::numeric_limits<int>::max();
  if (text == "csr") {
    format = WeightFormat{};
    return true;
  }
  size_t separator;
  if (text.rfind("bsr:", 0) == 0) {
    separator = text.find('x', 4);
    format.kind = WeightFormat::Kind::Bsr;
  } else if (text.rfind("nm:", 0) == 0) {
    separator = text.find(':', 3);
    format.kind = WeightFormat::Kind::Nm;
  } else {
    return false;
  }
  size_t start = format.kind == WeightFormat::Kind::Bsr ? 4 : 3;
  if (separator == std::string::npos ||
      !parseInteger(text.substr(start, separator - start), 1, kMax,
                    format.a) ||
      !parseInteger(text.substr(separator + 1), 1, kMax, format.b))
    return false;
  return format.kind == WeightFormat::Kind::Bsr || format.a <= format.b;
}

enum class ParseResult { Run, Help, ListBaselines, Error };

/// Parses the command line into `options`; on errors prints the message.
ParseResult parseCommandLine(int argc, char **argv, Options &options) {
  constexpr int64_t kIntMax = std::numeric_limits<int>::max();
  auto error = [](const std::string &message) {
    usageError(message + " (see --help)");
    return ParseResult::Error;
  };
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--help" || arg == "-h")
      return ParseResult::Help;
    if (arg == "--list-baselines")
      return ParseResult::ListBaselines;
    if (arg.rfind("--", 0) != 0) {
      if (!options.library.empty())
        return error("unexpected argument '" + arg + "'");
      options.library = arg;
      continue;
    }
    // --name=value or --name value.
    std::string name = arg, value;
    bool hasValue = false;
    if (size_t eq = arg.find('='); eq != std::string::npos) {
      name = arg.substr(0, eq);
      value = arg.substr(eq + 1);
      hasValue = true;
    }
    if (name == "--dense-baseline" || name == "--eigen-baseline" ||
        name == "--libxsmm-baseline" || name == "--file-values") {
      if (hasValue)
        return error(name + " takes no value");
      if (name == "--dense-baseline")
        options.denseBaseline = true;
      else if (name == "--eigen-baseline")
        options.eigenBaseline = true;
      else if (name == "--libxsmm-baseline")
        options.libxsmmBaseline = true;
      else
        options.fileValues = true;
      continue;
    }
    static const char *const kValued[] = {
        "--entry",  "--kind",   "--matrix",     "--random",  "--mask",
        "--n",      "--depth",  "--index-bits", "--threads", "--seed",
        "--warmup", "--repeat", "--rtol",       "--csv",     "--format",
        "--structure"};
    if (std::find_if(std::begin(kValued), std::end(kValued),
                     [&](const char *known) { return name == known; }) ==
        std::end(kValued))
      return error("unknown option '" + name + "'");
    if (!hasValue) {
      if (i + 1 == argc)
        return error(name + " needs a value");
      value = argv[++i];
    }

    int64_t integer;
    auto badValue = [&](const char *expected) {
      return error(name + " expects " + expected + ", got '" + value + "'");
    };
    if (name == "--entry") {
      options.entry = value;
    } else if (name == "--kind") {
      if (value != "spmm" && value != "spmv" && value != "sddmm")
        return badValue("spmm, spmv or sddmm");
      options.kind = value == "spmm"   ? Kind::SpMM
                     : value == "spmv" ? Kind::SpMV
                                       : Kind::SDDMM;
      options.kindGiven = true;
    } else if (name == "--matrix") {
      options.matrix = value;
    } else if (name == "--random") {
      options.random = value;
    } else if (name == "--mask") {
      options.mask = value;
    } else if (name == "--depth") {
      if (!parseInteger(value, 1, kIntMax, options.depth))
        return badValue("a positive integer");
    } else if (name == "--n") {
      if (!parseInteger(value, 1, kIntMax, options.n))
        return badValue("a positive integer");
      options.nGiven = true;
    } else if (name == "--index-bits") {
      if (!parseInteger(value, 32, 64, integer) ||
          (integer != 32 && integer != 64))
        return badValue("32 or 64");
      options.indexBits = static_cast<int>(integer);
      options.indexBitsGiven = true;
    } else if (name == "--threads") {
      options.threads.clear();
      size_t start = 0;
      for (;;) {
        size_t comma = value.find(',', start);
        if (!parseInteger(value.substr(start, comma - start), 1, kIntMax,
                          integer))
          return badValue("a comma-separated list of positive integers");
        options.threads.push_back(static_cast<int>(integer));
        if (comma == std::string::npos)
          break;
        start = comma + 1;
      }
    } else if (name == "--seed") {
      if (!parseUnsigned(value, options.seed))
        return badValue("an unsigned 64-bit integer");
    } else if (name == "--warmup") {
      if (!parseInteger(value, 0, kIntMax, integer))
        return badValue("a non-negative integer");
      options.warmup = static_cast<int>(integer);
    } else if (name == "--repeat") {
      if (!parseInteger(value, 1, kIntMax, integer))
        return badValue("a positive integer");
      options.repeat = static_cast<int>(integer);
    } else if (name == "--rtol") {
      if (!parseReal(value, options.rtol) || !(options.rtol > 0))
        return badValue("a positive number");
    } else if (name == "--csv") {
      options.csv = value;
    } else if (name == "--format" || name == "--structure") {
      WeightFormat &format =
          name == "--format" ? options.format : options.structure;
      if (!parseWeightFormat(value, format) ||
          (name == "--structure" && format.kind == WeightFormat::Kind::Csr))
        return badValue(name == "--format" ? "csr, bsr:RxC or nm:N:M"
                                           : "bsr:RxC or nm:N:M");
      (name == "--format" ? options.formatGiven : options.structureGiven) =
          true;
    }
  }
  if (options.library.empty())
    return error("missing the library to load");
  if (options.entry.empty())
    return error("missing --entry");
  if (!options.kindGiven)
    return error("missing --kind");
  if (options.kind == Kind::SDDMM) {
    if (options.matrix.empty() + options.random.empty() +
            options.mask.empty() !=
        2)
      return error("give exactly one of --matrix, --random and --mask");
    if (!options.mask.empty() && !options.nGiven)
      return error("--mask needs --n, the size of the mask");
    if (options.mask.empty() && options.nGiven)
      return error("--n with --kind sddmm is the size of a --mask; the "
                   "pattern gives M and N");
    if (options.eigenBaseline || options.libxsmmBaseline)
      return error(std::string(options.eigenBaseline ? "--eigen-baseline"
                                                     : "--libxsmm-baseline") +
                   " does not apply to --kind sddmm");
    if (options.fileValues)
      return error("--file-values does not apply to --kind sddmm (S's values "
                   "do not enter the result)");
    if (options.formatGiven || options.structureGiven)
      return error("--format and --structure apply to spmm and spmv");
    return ParseResult::Run;
  }
  if (!options.mask.empty())
    return error("--mask applies to --kind sddmm only");
  if (options.depth)
    return error("--depth applies to --kind sddmm only");
  if (options.matrix.empty() == options.random.empty())
    return error("give exactly one of --matrix and --random");
  if (options.kind == Kind::SpMV && options.nGiven)
    return error("--n applies to --kind spmm only");
  if (options.fileValues && options.matrix.empty())
    return error("--file-values needs --matrix");
#ifndef SPARSE_RUN_HAVE_LIBXSMM
  if (options.libxsmmBaseline)
    return error("--libxsmm-baseline: this sparse-run was built without "
                 "LIBXSMM (install libxsmm-dev and reconfigure)");
#endif
  return ParseResult::Run;
}

/// Times of the calls of one measurement.
struct Timing {
  double best = 0, median = 0;
};

/// Calls `call` `warmup` times, then `repeat` times on the clock; false as
/// soon as a call fails.
bool measure(int warmup, int repeat, const std::function<bool()> &call,
             Timing &timing) {
  for (int i = 0; i < warmup; ++i)
    if (!call())
      return false;
  std::vector<double> seconds;
  for (int i = 0; i < repeat; ++i) {
    auto start = std::chrono::steady_clock::now();
    if (!call())
      return false;
    auto stop = std::chrono::steady_clock::now();
    seconds.push_back(std::chrono::duration<double>(stop - start).count());
  }
  std::sort(seconds.begin(), seconds.end());
  size_t mid = seconds.size() / 2;
  timing.best = seconds.front();
  timing.median =
      seconds.size() % 2 ? seconds[mid] : (seconds[mid - 1] + seconds[mid]) / 2;
  return true;
}

/// The product A * B in double precision, and for each element the bound
/// sum_k |a_ik * b_kj| that scales its acceptable rounding error.
struct Reference {
  std::vector<double> value, bound;
};

Reference computeReference(const SoCsr &a, const Floats &b,
                           int64_t n) {
  Reference ref;
  ref.value.assign(a.rows * n, 0.0);
  ref.bound.assign(a.rows * n, 0.0);
  for (int64_t i = 0; i < a.rows; ++i) {
    for (int64_t k = a.row_ptr[i]; k < a.row_ptr[i + 1]; ++k) {
      double aik = a.values[k];
      const float *bRow = &b[a.col_idx[k] * n];
      for (int64_t j = 0; j < n; ++j) {
        double product = aik * bRow[j];
        ref.value[i * n + j] += product;
        ref.bound[i * n + j] += std::fabs(product);
      }
    }
  }
  return ref;
}

/// The largest |c - ref| / bound over all elements (infinite for NaN). The
/// smallest normal float in the denominator keeps exact zeros (empty rows)
/// from dividing by zero while still requiring them to come out as zero.
double maxScaledError(const Floats &c, const Reference &ref) {
  double worst = 0;
  for (size_t i = 0; i < c.size(); ++i) {
    double error = std::fabs(c[i] - ref.value[i]) /
                   (ref.bound[i] + std::numeric_limits<float>::min());
    if (std::isnan(error))
      return std::numeric_limits<double>::infinity();
    worst = std::max(worst, error);
  }
  return worst;
}

/// Quotes a CSV field when it needs it.
std::string csvField(const std::string &text) {
  if (text.find_first_of(",\"\n") == std::string::npos)
    return text;
  std::string quoted = "\"";
  for (char c : text)
    quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

/// Whether OpenBLAS chose pre-AVX kernels on a CPU with AVX2. Its CPU
/// detection fails on some virtual machines (0.3.21 picks "Prescott" on
/// AVX-512 Xeons here), which makes the dense baseline several times slower
/// than it should be.
bool openblasMissesAvx2() {
  static const char *const kPreAvxCores[] = {
      "katmai",  "coppermine",   "northwood", "prescott",   "banias",
      "atom",    "core2",        "penryn",    "dunnington", "nehalem",
      "opteron", "opteron_sse3", "barcelona", "nano"};
  std::string core = openblas_get_corename();
  std::transform(core.begin(), core.end(), core.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  return __builtin_cpu_supports("avx2") &&
         std::find(std::begin(kPreAvxCores), std::end(kPreAvxCores), core) !=
             std::end(kPreAvxCores);
}

/// What the signature an entry point was compiled from says about calling
/// it; see so_library_signature. Unknown fields stay at their defaults.
struct EntrySignature {
  int resultRank = 0;               // 2 for SpMM, 1 for SpMV
  int64_t rows = -1, cols = -1;     // static shape of the sparse operand
  int posWidth = -1, crdWidth = -1; // bits; `index` is 64
  WeightFormat format;              // of the sparse operand
  /// The weight is compiled in: the entry's one operand is a dense tensor.
  bool embedded = false;
  /// Shapes (-1 for '?') of the operand and result of an embedded entry.
  std::vector<int64_t> operandShape, resultShape;
  std::string operandType;
  /// The operand and result types, when the text is a function type.
  std::vector<std::string> operands, results;
};

/// Parses the dimensions of the `tensor<` type at `text` (-1 for '?').
std::vector<int64_t> parseTensorShape(const std::string &text, size_t at) {
  std::vector<int64_t> shape;
  size_t p = at + std::strlen("tensor<");
  for (;;) {
    size_t end = text.find_first_not_of("0123456789?", p);
    if (end == std::string::npos || end == p || text[end] != 'x')
      return shape;
    shape.push_back(
        text[p] == '?' ? -1 : std::atoll(text.substr(p, end - p).c_str()));
    p = end + 1;
  }
}

/// The width in bits that `key = N` (posWidth or crdWidth) gives the sparse
/// operand: N, or 64 (`index`) when N is 0 or absent; -1 if the signature has
/// no sparse operand.
int parseWidth(const std::string &text, const char *key) {
  size_t at = text.find(key);
  if (at == std::string::npos)
    return text.find("#sparse_tensor.encoding") == std::string::npos ? -1 : 64;
  int width = std::atoi(text.c_str() + at + std::strlen(key));
  return width == 0 ? 64 : width;
}

/// The format of the first sparse encoding in `text`: N:M for a
/// `structured[N, M]` level, BSR for `d0 floordiv R` and / or
/// `d1 floordiv C` levels, else CSR.
WeightFormat parseEncodingFormat(const std::string &text) {
  WeightFormat format;
  if (size_t at = text.find("structured["); at != std::string::npos) {
    format.kind = WeightFormat::Kind::Nm;
    format.a = std::atoll(text.c_str() + at + std::strlen("structured["));
    size_t comma = text.find(',', at);
    if (comma != std::string::npos)
      format.b = std::atoll(text.c_str() + comma + 1);
    return format;
  }
  // A block of one row or column has no floordiv for it (MLIR folds it).
  size_t rows = text.find("d0 floordiv "), cols = text.find("d1 floordiv ");
  if (rows != std::string::npos || cols != std::string::npos) {
    format.kind = WeightFormat::Kind::Bsr;
    format.a = rows == std::string::npos
                   ? 1
                   : std::atoll(text.c_str() + rows +
                                std::strlen("d0 floordiv "));
    format.b = cols == std::string::npos
                   ? 1
                   : std::atoll(text.c_str() + cols +
                                std::strlen("d1 floordiv "));
  }
  return format;
}

/// Trims blanks at both ends.
std::string trim(const std::string &text) {
  size_t begin = text.find_first_not_of(" \t\n");
  if (begin == std::string::npos)
    return "";
  return text.substr(begin, text.find_last_not_of(" \t\n") - begin + 1);
}

/// Splits `text` at the commas outside brackets; "->" (in affine maps) is
/// not a closing bracket. Sets `close` to the position of the bracket that
/// closes the list, or npos if the text ends first.
std::vector<std::string> splitTopLevel(const std::string &text, size_t begin,
                                       size_t &close) {
  std::vector<std::string> parts;
  int depth = 0;
  size_t start = begin;
  for (size_t p = begin; p < text.size(); ++p) {
    char c = text[p];
    if (c == '-' && p + 1 < text.size() && text[p + 1] == '>') {
      ++p;
    } else if (c == '(' || c == '<' || c == '{' || c == '[') {
      ++depth;
    } else if (c == ')' || c == '>' || c == '}' || c == ']') {
      if (depth-- == 0) {
        close = p;
        if (!trim(text.substr(start, p - start)).empty())
          parts.push_back(trim(text.substr(start, p - start)));
        return parts;
      }
    } else if (c == ',' && depth == 0) {
      parts.push_back(trim(text.substr(start, p - start)));
      start = p + 1;
    }
  }
  close = std::string::npos;
  parts.push_back(trim(text.substr(start)));
  return parts;
}

/// The operand and result types of function type `text`, "(A, B) -> R" or
/// "(A) -> (R, S)"; false if it is not of that form.
bool splitFunctionType(const std::string &text,
                       std::vector<std::string> &operands,
                       std::vector<std::string> &results) {
  size_t open = text.find_first_not_of(" \t\n");
  if (open == std::string::npos || text[open] != '(')
    return false;
  size_t close;
  operands = splitTopLevel(text, open + 1, close);
  if (close == std::string::npos)
    return false;
  size_t arrow = text.find_first_not_of(" \t\n", close + 1);
  if (arrow == std::string::npos || text.compare(arrow, 2, "->") != 0)
    return false;
  size_t result = text.find_first_not_of(" \t\n", arrow + 2);
  if (result == std::string::npos)
    return false;
  if (text[result] == '(') {
    results = splitTopLevel(text, result + 1, close);
    return close != std::string::npos;
  }
  results = {trim(text.substr(result))};
  return true;
}

bool isDenseTensor(const std::string &type) {
  return type.rfind("tensor<", 0) == 0 &&
         type.find("#sparse_tensor.encoding") == std::string::npos;
}

EntrySignature parseSignature(const std::string &text) {
  EntrySignature signature;
  std::vector<std::string> operands, results;
  bool isFunctionType = splitFunctionType(text, operands, results);
  if (isFunctionType) {
    signature.operands = operands;
    signature.results = results;
  }
  if (isFunctionType && operands.size() == 1 && results.size() == 1 &&
      isDenseTensor(operands[0]) && isDenseTensor(results[0])) {
    signature.embedded = true;
    signature.operandType = operands[0];
    signature.operandShape = parseTensorShape(operands[0], 0);
    signature.resultShape = parseTensorShape(results[0], 0);
    signature.resultRank = static_cast<int>(signature.resultShape.size());
    return signature;
  }
  size_t sparse = text.find("#sparse_tensor.encoding");
  size_t operand = text.rfind("tensor<", sparse);
  if (sparse != std::string::npos && operand != std::string::npos) {
    std::vector<int64_t> shape = parseTensorShape(text, operand);
    if (shape.size() == 2) {
      signature.rows = shape[0];
      signature.cols = shape[1];
    }
  }
  signature.format = parseEncodingFormat(text);
  signature.posWidth = parseWidth(text, "posWidth = ");
  signature.crdWidth = parseWidth(text, "crdWidth = ");
  if (results.size() == 1 && results[0].rfind("tensor<", 0) == 0) {
    signature.resultRank =
        static_cast<int>(parseTensorShape(results[0], 0).size());
  } else {
    size_t arrow = text.find("->");
    size_t result = text.find("tensor<", arrow);
    if (arrow != std::string::npos && result != std::string::npos)
      signature.resultRank =
          static_cast<int>(parseTensorShape(text, result).size());
  }
  return signature;
}

/// "M x K" of a shape, '?' for a dynamic size.
std::string dimText(int64_t size) {
  return size < 0 ? "?" : std::to_string(size);
}

/// Checks an entry with an embedded weight against A and N: its operand must
/// be B (K x N) or x (K) and its result C (M x N) or y (M).
std::string checkEmbedded(const std::string &entry,
                          const EntrySignature &signature, bool isSpmm,
                          const SoCsr &a, int64_t n) {
  size_t rank = isSpmm ? 2 : 1;
  const std::vector<int64_t> &in = signature.operandShape;
  const std::vector<int64_t> &out = signature.resultShape;
  if (in.size() != rank || out.size() != rank)
    return entry + " takes a " + signature.operandType +
           ", not the dense operand of an " + (isSpmm ? "SpMM" : "SpMV") +
           " with embedded weights";
  int64_t m = out[0], k = in[0];
  if ((m >= 0 && m != a.rows) || (k >= 0 && k != a.cols))
    return entry + " was compiled for a " + dimText(m) + " x " + dimText(k) +
           " matrix (weights embedded), not " + std::to_string(a.rows) + " x " +
           std::to_string(a.cols);
  if (isSpmm)
    for (int64_t compiled : {in[1], out[1]})
      if (compiled >= 0 && compiled != n)
        return entry + " was compiled for N = " + std::to_string(compiled) +
               ": use --n " + std::to_string(compiled);
  return "";
}

/// Whether the signature is an SDDMM's: Q and K dense, S sparse in, a sparse
/// result out.
bool isSddmmForm(const EntrySignature &signature) {
  const std::vector<std::string> &in = signature.operands;
  return in.size() == 3 && isDenseTensor(in[0]) && isDenseTensor(in[1]) &&
         in[2].rfind("tensor<", 0) == 0 && !isDenseTensor(in[2]) &&
         signature.results.size() == 1 &&
         signature.results[0].rfind("tensor<", 0) == 0 &&
         !isDenseTensor(signature.results[0]);
}

/// Checks --index-bits against the sparse operand's posWidth and crdWidth,
/// and sets it from them when not given.
std::string checkIndexWidth(const std::string &entry,
                            const EntrySignature &signature, Options &options) {
  if (signature.posWidth > 0 && signature.posWidth == signature.crdWidth) {
    if (!options.indexBitsGiven)
      options.indexBits = signature.posWidth;
    if (options.indexBits != signature.posWidth)
      return entry + " was compiled for " + std::to_string(signature.posWidth) +
             "-bit indices: use --index-bits " +
             std::to_string(signature.posWidth);
  } else if (signature.posWidth != signature.crdWidth) {
    return entry + " has " + std::to_string(signature.posWidth) +
           "-bit positions but " + std::to_string(signature.crdWidth) +
           "-bit coordinates, which sparse-run does not support";
  }
  return "";
}

/// Checks an SDDMM call on pattern `s` against the entry's signature: three
/// operands Q (M x D), K (N x D) and S (M x N), S's index width, and D
/// (setting options.depth from the signature when not given). Returns a
/// description of the mismatch, or "".
std::string checkSddmmSignature(SoLibrary *lib, Options &options,
                                const SoCsr &s) {
  const char *text = so_library_signature(lib, options.entry.c_str());
  std::string entry = options.library + ": entry '" + options.entry + "'";
  if (!text) {
    if (!options.depth)
      return entry + " has no recorded signature: give --depth";
    return "";
  }
  EntrySignature signature = parseSignature(text);
  if (!isSddmmForm(signature))
    return entry +
           " is not an SDDMM entry (dense Q and K and a sparse S in, "
           "a sparse result out): its signature is " +
           text +
           (signature.resultRank == 2   ? "; use --kind spmm"
            : signature.resultRank == 1 ? "; use --kind spmv"
                                        : "");
  if (std::string mismatch = checkIndexWidth(entry, signature, options);
      !mismatch.empty())
    return mismatch;
  std::vector<int64_t> q = parseTensorShape(signature.operands[0], 0);
  std::vector<int64_t> k = parseTensorShape(signature.operands[1], 0);
  std::vector<int64_t> pattern = parseTensorShape(signature.operands[2], 0);
  if (q.size() != 2 || k.size() != 2 || pattern.size() != 2)
    return entry + " takes operands of rank " + std::to_string(q.size()) +
           ", " + std::to_string(k.size()) + " and " +
           std::to_string(pattern.size()) + ", not 2";
  if ((pattern[0] >= 0 && pattern[0] != s.rows) ||
      (pattern[1] >= 0 && pattern[1] != s.cols) ||
      (q[0] >= 0 && q[0] != s.rows) || (k[0] >= 0 && k[0] != s.cols))
    return entry + " was compiled for a " + dimText(pattern[0]) + " x " +
           dimText(pattern[1]) + " pattern (Q " + dimText(q[0]) + " x " +
           dimText(q[1]) + ", K " + dimText(k[0]) + " x " + dimText(k[1]) +
           "), not " + std::to_string(s.rows) + " x " + std::to_string(s.cols);
  int64_t compiled = q[1] >= 0 ? q[1] : k[1];
  if (q[1] >= 0 && k[1] >= 0 && q[1] != k[1])
    return entry + " takes Q and K of different depths (" +
           std::to_string(q[1]) + ", " + std::to_string(k[1]) + ")";
  if (!options.depth) {
    if (compiled < 0)
      return entry + " has a dynamic depth: give --depth";
    options.depth = compiled;
  } else if (compiled >= 0 && compiled != options.depth) {
    return entry + " was compiled for D = " + std::to_string(compiled) +
           ": use --depth " + std::to_string(compiled);
  }
  return "";
}

/// Checks the call sparse-run is about to make against the entry's recorded
/// signature, if any: a wrong kind, index width or matrix shape would make
/// the kernel read out of bounds. May set --index-bits when not given. Sets
/// `embedded` when the entry has its weight compiled in. Returns a
/// description of the mismatch, or "".
std::string checkSignature(SoLibrary *lib, Options &options, const SoCsr &a,
                           int64_t n, bool &embedded) {
  embedded = false;
  const char *text = so_library_signature(lib, options.entry.c_str());
  if (!text)
    return "";
  EntrySignature signature = parseSignature(text);
  std::string entry = options.library + ": entry '" + options.entry + "'";
  bool isSpmm = options.kind == Kind::SpMM;
  if (isSddmmForm(signature))
    return entry + " is an SDDMM entry: use --kind sddmm";
  if (signature.resultRank == (isSpmm ? 1 : 2))
    return entry + " returns a rank-" + std::to_string(signature.resultRank) +
           " tensor: use --kind " + (isSpmm ? "spmv" : "spmm");
  if (signature.embedded) {
    if (options.indexBitsGiven)
      return entry + " has its weights embedded: --index-bits does not apply";
    embedded = true;
    return checkEmbedded(entry, signature, isSpmm, a, n);
  }
  if (std::string mismatch = checkIndexWidth(entry, signature, options);
      !mismatch.empty())
    return mismatch;
  if (!options.formatGiven)
    options.format = signature.format;
  else if (!(options.format == signature.format))
    return entry + " takes its weight as " + signature.format.text() +
           ", not " + options.format.text() + ": use --format " +
           signature.format.text();
  if ((signature.rows >= 0 && signature.rows != a.rows) ||
      (signature.cols >= 0 && signature.cols != a.cols))
    return entry + " was compiled for a " + std::to_string(signature.rows) +
           " x " + std::to_string(signature.cols) + " matrix, not " +
           std::to_string(a.rows) + " x " + std::to_string(a.cols);
  return "";
}

/// Owners that release runtime objects on every exit path.
struct OwnedCsr {
  SoCsr csr{};
  ~OwnedCsr() { so_csr_free(&csr); }
};
struct OwnedOperand {
  SoCsrOperand operand{};
  ~OwnedOperand() { so_csr_operand_release(&operand); }
};
/// The BSR or N:M form of A, when the kernel takes one.
struct OwnedStructured {
  SoBsr bsr{};
  SoNm nm{};
  SoNmOperand nmOperand{};
  ~OwnedStructured() {
    so_nm_operand_release(&nmOperand);
    so_nm_free(&nm);
    so_bsr_free(&bsr);
  }
};
using OwnedLibrary = std::unique_ptr<SoLibrary, decltype(&so_library_close)>;

/// One row of results, for the table and the CSV.
struct Result {
  int threads; // 0: the library's default, count unknown
  Timing sparse;
  double gflops;
  bool haveDense;
  Timing dense;
  bool haveEigen;
  Timing eigen;
  double eigenMaxError;
  bool eigenPassed;
  bool haveLibxsmm;
  Timing libxsmm;
  double libxsmmMaxError;
  bool libxsmmPassed;
  double maxError;
  bool passed;
  bool denseChecked; // the dense baseline's result was checked (SDDMM)
  double denseMaxError;
  bool densePassed;
};

/// What the report of a run says besides its results.
struct Report {
  std::string kindName, abi, matrixName;
  std::string widthName;                // of `n`: "N" (SpMM, SpMV), "D" (SDDMM)
  int64_t m = 0, k = 0, n = 0, nnz = 0; // the sparse operand is m x k
  std::string baselines; // header lines, each ending in a newline
};

/// What to call the thread count of a result in messages.
std::string threadsText(int threads) {
  return threads ? std::to_string(threads) : "the default number of";
}

/// Sets the library's thread count (0: keep its default), checks the first
/// call's result in `output` (poisoned first, so the check sees what the
/// kernel wrote) and times the calls after it, which discard their result.
/// Fills threads, maxError, passed and sparse; false on a call error.
bool runKernel(SoLibrary *lib, int threads, const Options &options,
               const std::function<bool(float *)> &call,
               Floats &output, const Reference &reference,
               Result &result) {
  if (threads > 0 && so_library_set_num_threads(lib, threads))
    return false;
  result.threads =
      threads > 0 ? threads : std::max(so_library_get_num_threads(lib), 0);
  std::fill(output.begin(), output.end(),
            std::numeric_limits<float>::quiet_NaN());
  if (!call(output.data()))
    return false;
  result.maxError = maxScaledError(output, reference);
  result.passed = result.maxError <= options.rtol;
  return measure(options.warmup, options.repeat,
                 [&] { return call(nullptr); }, result.sparse);
}

/// Prints the table (stdout, or stderr when the CSV goes to stdout) and
/// appends the CSV rows; returns the exit status.
int writeReport(const Options &options, const Report &report,
                const std::vector<Result> &results) {
  bool csvToStdout = options.csv == "-";
  std::FILE *table = csvToStdout ? stderr : stdout;
  int64_t m = report.m, k = report.k, n = report.n;
  const char *kindName = report.kindName.c_str();
  const std::string &matrixName = report.matrixName;
  bool haveDense = !results.empty() && results.front().haveDense;
  bool haveEigen = !results.empty() && results.front().haveEigen;
  bool haveLibxsmm = !results.empty() && results.front().haveLibxsmm;
  double sparsity =
      m * k > 0 ? 1.0 - double(report.nnz) / (double(m) * double(k)) : 0.0;
  std::fprintf(table, "library %s, entry %s (%s, %s)\n",
               options.library.c_str(), options.entry.c_str(), kindName,
               report.abi.c_str());
  std::fprintf(table,
               "matrix %s: %" PRId64 " x %" PRId64 ", nnz %" PRId64
               ", sparsity %.4f, %s = %" PRId64 "\n",
               matrixName.c_str(), m, k, report.nnz, sparsity,
               report.widthName.c_str(), n);
  std::fputs(report.baselines.c_str(), table);
  std::fprintf(table, "%8s %12s %12s %9s", "threads", "best ms", "median ms",
               "GFLOP/s");
  if (haveDense)
    std::fprintf(table, " %14s %8s", "dense best ms", "speedup");
  if (haveEigen)
    std::fprintf(table, " %14s %16s", "eigen best ms", "speedup vs eigen");
  if (haveLibxsmm)
    std::fprintf(table, " %16s %18s", "libxsmm best ms", "speedup vs libxsmm");
  std::fprintf(table, " %11s  %s\n", "max err", "check");
  for (const Result &r : results) {
    std::string threads = r.threads ? std::to_string(r.threads) : "default";
    std::fprintf(table, "%8s %12.4f %12.4f %9.2f", threads.c_str(),
                 r.sparse.best * 1e3, r.sparse.median * 1e3, r.gflops);
    if (r.haveDense)
      std::fprintf(table, " %14.4f %7.2fx", r.dense.best * 1e3,
                   r.dense.best / r.sparse.best);
    if (r.haveEigen)
      std::fprintf(table, " %14.4f %15.2fx", r.eigen.best * 1e3,
                   r.eigen.best / r.sparse.best);
    if (r.haveLibxsmm)
      std::fprintf(table, " %16.4f %17.2fx", r.libxsmm.best * 1e3,
                   r.libxsmm.best / r.sparse.best);
    std::fprintf(table, " %11.3e  %s%s%s%s\n", r.maxError,
                 r.passed ? "pass" : "fail",
                 r.haveEigen && !r.eigenPassed ? " (eigen: fail)" : "",
                 r.haveLibxsmm && !r.libxsmmPassed ? " (libxsmm: fail)" : "",
                 r.denseChecked && !r.densePassed ? " (dense: fail)" : "");
  }

  if (!options.csv.empty()) {
    std::FILE *csv =
        csvToStdout ? stdout : std::fopen(options.csv.c_str(), "a");
    if (!csv)
      return usageError(options.csv +
                        ": cannot open for appending: " + std::strerror(errno));
    // A header only at the start of a file, so that runs can accumulate.
    std::fseek(csv, 0, SEEK_END);
    if (csvToStdout || std::ftell(csv) <= 0)
      std::fputs("matrix,M,K,N,nnz,sparsity,kind,threads,best_s,median_s,"
                 "gflops,dense_best_s,speedup_vs_dense,max_err,check,"
                 "eigen_best_s,speedup_vs_eigen,libxsmm_best_s,"
                 "speedup_vs_libxsmm\n",
                 csv);
    for (const Result &r : results) {
      std::fprintf(csv,
                   "%s,%" PRId64 ",%" PRId64 ",%" PRId64 ",%" PRId64
                   ",%.6f,%s,%d,%.9g,%.9g,%.6g,",
                   csvField(matrixName).c_str(), m, k, n, report.nnz, sparsity,
                   kindName, r.threads, r.sparse.best, r.sparse.median,
                   r.gflops);
      if (r.haveDense)
        std::fprintf(csv, "%.9g,%.6g,", r.dense.best,
                     r.dense.best / r.sparse.best);
      else
        std::fputs(",,", csv);
      std::fprintf(csv, "%.6g,%s,", r.maxError, r.passed ? "pass" : "fail");
      if (r.haveEigen)
        std::fprintf(csv, "%.9g,%.6g,", r.eigen.best,
                     r.eigen.best / r.sparse.best);
      else
        std::fputs(",,", csv);
      if (r.haveLibxsmm)
        std::fprintf(csv, "%.9g,%.6g\n", r.libxsmm.best,
                     r.libxsmm.best / r.sparse.best);
      else
        std::fputs(",\n", csv);
    }
    if (csvToStdout ? std::fflush(csv) != 0 : std::fclose(csv) != 0)
      return usageError(options.csv + ": cannot write");
  }
  bool allPassed =
      std::all_of(results.begin(), results.end(), [](const Result &r) {
        return r.passed && (!r.haveEigen || r.eigenPassed) &&
               (!r.haveLibxsmm || r.libxsmmPassed) &&
               (!r.denseChecked || r.densePassed);
      });
  return allPassed ? 0 : kExitCheckFailed;
}

/// Replaces `a` by the structured weight --structure derives from it (see
/// the usage text); returns an error message, or "".
std::string deriveStructure(const Options &options, SoCsr &a) {
  const WeightFormat &structure = options.structure;
  SoCsr derived{};
  int status;
  if (structure.kind == WeightFormat::Kind::Bsr) {
    // As many whole blocks as A's non-zeros fill: the same density.
    int64_t blockSize = structure.a * structure.b;
    int64_t blocks = (a.nnz + blockSize / 2) / blockSize;
    status = so_csr_prune_blocks(&a, structure.a, structure.b, blocks,
                                 &derived);
    if (!status && !options.fileValues)
      status = so_csr_fill_random(&derived, options.seed);
  } else {
    status = so_csr_prune_nm(&a, structure.a, structure.b, &derived);
  }
  if (status)
    return std::string("--structure ") + structure.text() + ": " +
           so_last_error();
  so_csr_free(&a);
  a = derived;
  return "";
}

/// Does the work of main() once the command line is parsed; returns the exit
/// status.
int run(Options options) {
  bool isSpmm = options.kind == Kind::SpMM;
  int64_t n = isSpmm ? options.n : 1;

  // The sparse operand A and its name in the output.
  OwnedCsr matrix;
  SoCsr &a = matrix.csr;
  std::string matrixName;
  if (!options.matrix.empty()) {
    matrixName = options.matrix;
    if (so_csr_read(options.matrix.c_str(), &a) ||
        (!options.fileValues && so_csr_fill_random(&a, options.seed)))
      return usageError(so_last_error());
  } else {
    int64_t rows, cols;
    double density;
    if (!parseRandomSpec(options.random, rows, cols, density))
      return usageError("--random expects MxK:DENSITY with M, K >= 1 and "
                        "DENSITY in [0, 1], got '" +
                        options.random + "'");
    matrixName = "random:" + options.random;
    if (so_csr_random(rows, cols, density, options.seed, &a))
      return usageError(so_last_error());
  }
  if (options.structureGiven) {
    if (std::string error = deriveStructure(options, a); !error.empty())
      return usageError(error);
    matrixName += " (" + options.structure.text() + " structure)";
  }
  int64_t m = a.rows, k = a.cols;

  int64_t outputSize, denseSize, cells = 0;
  if (__builtin_mul_overflow(m, n, &outputSize) ||
      __builtin_mul_overflow(k, n, &denseSize))
    return usageError("operands of " + std::to_string(m) + " x " +
                      std::to_string(k) + " x " + std::to_string(n) +
                      " are too large");
  if (options.eigenBaseline &&
      std::max({m, k, a.nnz}) >= std::numeric_limits<int>::max())
    return usageError("the matrix is too large for --eigen-baseline (32-bit "
                      "indices)");
  if (options.denseBaseline &&
      (__builtin_mul_overflow(m, k, &cells) ||
       std::max(m, k) > std::numeric_limits<int>::max())) // BLAS takes int.
    return usageError("the matrix is too large for --dense-baseline");

  Floats b(static_cast<size_t>(denseSize));
  so_fill_random(b.data(), denseSize, options.seed + 1);

  OwnedLibrary lib(so_library_open(options.library.c_str()), so_library_close);
  if (!lib)
    return usageError(so_last_error());
  void *entry = so_library_lookup(lib.get(), options.entry.c_str());
  if (!entry)
    return usageError(so_last_error());
  bool embedded;
  std::string mismatch = checkSignature(lib.get(), options, a, n, embedded);
  if (!mismatch.empty())
    return usageError(mismatch);
  // Declared after `matrix`, whose arrays it borrows, so released first. An
  // entry with embedded weights needs none.
  OwnedOperand owned;
  SoCsrOperand &operand = owned.operand;
  OwnedStructured structured;
  if (!embedded) {
    int status;
    switch (options.format.kind) {
    case WeightFormat::Kind::Csr:
      status = so_csr_operand_init(&a, options.indexBits, &operand);
      break;
    case WeightFormat::Kind::Bsr:
      // The BSR arrays are CSR arrays of blocks: the CSR call path.
      status = so_csr_to_bsr(&a, options.format.a, options.format.b,
                             &structured.bsr) ||
               so_bsr_operand_init(&structured.bsr, options.indexBits,
                                   &operand);
      break;
    case WeightFormat::Kind::Nm:
      status = so_csr_to_nm(&a, options.format.a, options.format.b,
                            &structured.nm) ||
               so_nm_operand_init(&structured.nm, options.indexBits,
                                  &structured.nmOperand);
      break;
    }
    if (status)
      return usageError(so_last_error());
  }
  bool isNm = !embedded && options.format.kind == WeightFormat::Kind::Nm;

  Floats denseA;
  if (options.denseBaseline) {
    if (openblasMissesAvx2())
      std::fprintf(stderr,
                   "sparse-run: warning: OpenBLAS uses its '%s' kernels on "
                   "this AVX2 CPU; set OPENBLAS_CORETYPE (e.g. SkylakeX or "
                   "Haswell) for a fair dense baseline\n",
                   openblas_get_corename());
    denseA.assign(static_cast<size_t>(cells), 0.0f);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t p = a.row_ptr[i]; p < a.row_ptr[i + 1]; ++p)
        denseA[i * k + a.col_idx[p]] = a.values[p];
  }

  Reference reference = computeReference(a, b, n);
  Floats c(static_cast<size_t>(outputSize));
  // Eigen's product of the same A and B into the same C; A's indices are
  // copied to 32 bits here, outside the timed calls.
  std::unique_ptr<sparse_run::EigenProduct> eigen;
  if (options.eigenBaseline)
    eigen.reset(sparse_run::EigenProduct::create(
        m, k, a.nnz, a.row_ptr, a.col_idx, a.values, b.data(), n, c.data()));
#ifdef SPARSE_RUN_HAVE_LIBXSMM
  // LIBXSMM's product of the same A and B into the same C; its slices of A
  // are built per thread count, outside the timed calls.
  std::unique_ptr<sparse_run::LibxsmmProduct> libxsmm;
  if (options.libxsmmBaseline) {
    libxsmm.reset(sparse_run::LibxsmmProduct::create(
        m, k, a.nnz, a.row_ptr, a.col_idx, a.values, b.data(), n, c.data()));
    if (!libxsmm)
      return usageError("the matrix is too large for --libxsmm-baseline "
                        "(LIBXSMM's int dimensions, M x K < 2^31)");
  }
#endif
  auto callKernel = [&](float *destination) {
    if (embedded && isSpmm)
      return so_call_dense_spmm(entry, b.data(), k, n, m, destination) == 0;
    if (embedded)
      return so_call_dense_spmv(entry, b.data(), k, m, destination) == 0;
    if (isNm)
      return isSpmm ? so_call_nm_spmm_prepared(entry, &structured.nmOperand,
                                               b.data(), n, destination) == 0
                    : so_call_nm_spmv_prepared(entry, &structured.nmOperand,
                                               b.data(), destination) == 0;
    return isSpmm ? so_call_spmm_prepared(entry, &operand, b.data(), n,
                                          destination) == 0
                  : so_call_spmv_prepared(entry, &operand, b.data(),
                                          destination) == 0;
  };
  auto callDense = [&] {
    if (isSpmm)
      cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, int(m), int(n),
                  int(k), 1.0f, denseA.data(), int(k), b.data(), int(n), 0.0f,
                  c.data(), int(n));
    else
      cblas_sgemv(CblasRowMajor, CblasNoTrans, int(m), int(k), 1.0f,
                  denseA.data(), int(k), b.data(), 1, 0.0f, c.data(), 1);
    return true;
  };

  // Without --threads, one run with the library's default.
  std::vector<int> runs = options.threads;
  if (runs.empty())
    runs.push_back(0);
  std::vector<Result> results;
  for (int threads : runs) {
    Result result{};
    if (!runKernel(lib.get(), threads, options, callKernel, c, reference,
                   result))
      return usageError(so_last_error());
    result.gflops = 2.0 * double(a.nnz) * double(n) / result.sparse.best / 1e9;

    if (options.denseBaseline) {
      // Same thread count as the kernel when known.
      if (result.threads > 0)
        openblas_set_num_threads(result.threads);
      measure(options.warmup, options.repeat, callDense, result.dense);
      result.haveDense = true;
    }

    // A sparse library's product into C: poisoned first so that the check
    // sees what the library wrote, checked, then timed.
    auto runLibrary = [&](const char *name, const std::function<void()> &call,
                          Timing &timing, double &maxError, bool &passed) {
      std::fill(c.begin(), c.end(), std::numeric_limits<float>::quiet_NaN());
      call();
      maxError = maxScaledError(c, reference);
      passed = maxError <= options.rtol;
      if (!passed)
        std::fprintf(stderr,
                     "sparse-run: error: %s's result on %s thread(s) fails "
                     "the check: max err %.3e > %g\n",
                     name, threadsText(result.threads).c_str(), maxError,
                     options.rtol);
      measure(
          options.warmup, options.repeat,
          [&] {
            call();
            return true;
          },
          timing);
    };
    if (eigen) {
      // At most as many threads as the kernel (0: OpenMP's default).
      sparse_run::EigenProduct::setThreads(result.threads);
      runLibrary(
          "Eigen", [&] { eigen->run(); }, result.eigen, result.eigenMaxError,
          result.eigenPassed);
      result.haveEigen = true;
    }
#ifdef SPARSE_RUN_HAVE_LIBXSMM
    if (libxsmm) {
      // As many OpenMP threads as the kernel (0: OpenMP's default).
      if (!libxsmm->setThreads(result.threads))
        return usageError("LIBXSMM could not allocate its slices of A");
      runLibrary(
          "LIBXSMM", [&] { libxsmm->run(); }, result.libxsmm,
          result.libxsmmMaxError, result.libxsmmPassed);
      result.haveLibxsmm = true;
    }
#endif
    results.push_back(result);
  }

  std::string baselines;
  if (options.denseBaseline)
    baselines += std::string("dense baseline: OpenBLAS with ") +
                 openblas_get_corename() + " kernels\n";
  if (eigen)
    baselines +=
        std::string("eigen baseline: Eigen ") +
        sparse_run::EigenProduct::version() + (n == 1 ? " SpMV" : " SpMM") +
        " (" + sparse_run::EigenProduct::simd() + ")" +
        (sparse_run::EigenProduct::openmp() ? ", OpenMP" : "") + ", " +
        (eigen->parallelAbove1Thread()
             ? "uses the threads given (nnz x N > 20000)"
             : "one thread whatever --threads (Eigen goes parallel above "
               "nnz x N = 20000 only)") +
        "\n";
#ifdef SPARSE_RUN_HAVE_LIBXSMM
  if (libxsmm)
    baselines += std::string("libxsmm baseline: LIBXSMM ") +
                 sparse_run::LibxsmmProduct::version() + " spmdm (" +
                 libxsmm->codePath() + ", blocks " + libxsmm->blocks() +
                 "), OpenMP, uses the threads given\n";
#endif
  Report report;
  report.kindName = isSpmm ? "spmm" : "spmv";
  report.abi = embedded ? std::string("weights embedded")
                        : std::to_string(options.indexBits) + "-bit indices";
  if (!embedded && options.format.kind != WeightFormat::Kind::Csr)
    report.abi += ", " + options.format.text();
  report.matrixName = matrixName;
  report.widthName = "N";
  report.m = m;
  report.k = k;
  report.n = n;
  report.nnz = a.nnz;
  report.baselines = baselines;
  return writeReport(options, report, results);
}

/// Builds the N x N mask of `--mask SPEC --n N` (see the usage text);
/// returns an error message, or "".
std::string buildMask(const std::string &spec, int64_t n, uint64_t seed,
                      SoCsr &mask) {
  const std::string expected = "--mask expects window:W, random:DENSITY or "
                               "bigbird:B,W,G,R, got '" +
                               spec + "'";
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max();
  size_t colon = spec.find(':');
  if (colon == std::string::npos)
    return expected;
  std::string name = spec.substr(0, colon), value = spec.substr(colon + 1);
  int status;
  if (name == "window") {
    int64_t halfWidth;
    if (!parseInteger(value, 0, kMax, halfWidth))
      return expected;
    status = so_mask_window(n, halfWidth, &mask);
  } else if (name == "random") {
    double density;
    if (!parseReal(value, density) || density < 0 || density > 1)
      return expected;
    status = so_mask_random(n, density, seed, &mask);
  } else if (name == "bigbird") {
    int64_t fields[4];
    size_t start = 0;
    for (int f = 0; f < 4; ++f) {
      size_t comma = value.find(',', start);
      if ((comma == std::string::npos) != (f == 3) ||
          !parseInteger(value.substr(start, comma - start), f == 0 ? 1 : 0,
                        kMax, fields[f]))
        return expected;
      start = comma + 1;
    }
    status = so_mask_bigbird(n, fields[0], fields[1], fields[2], fields[3],
                             seed, &mask);
  } else {
    return expected;
  }
  return status ? std::string(so_last_error()) : std::string();
}

struct OwnedWorkspace {
  SoSddmmWorkspace workspace{};
  ~OwnedWorkspace() { so_sddmm_workspace_release(&workspace); }
};

/// runSddmm's reference: for every entry p = (i, j) of S, sum_d q_id * k_jd
/// in double, and sum_d |q_id * k_jd|, the bound of its rounding error.
Reference computeSddmmReference(const SoCsr &s, const Floats &q,
                                const Floats &k, int64_t depth) {
  Reference ref;
  ref.value.assign(s.nnz, 0.0);
  ref.bound.assign(s.nnz, 0.0);
  for (int64_t i = 0; i < s.rows; ++i) {
    const float *qRow = &q[i * depth];
    for (int64_t p = s.row_ptr[i]; p < s.row_ptr[i + 1]; ++p) {
      const float *kRow = &k[s.col_idx[p] * depth];
      double sum = 0, bound = 0;
      for (int64_t d = 0; d < depth; ++d) {
        double product = double(qRow[d]) * kRow[d];
        sum += product;
        bound += std::fabs(product);
      }
      ref.value[p] = sum;
      ref.bound[p] = bound;
    }
  }
  return ref;
}

/// main() for --kind sddmm: R = S o (Q K^T) on the pattern of --matrix,
/// --random or --mask, checked against computeSddmmReference and timed, next
/// to "dense + mask" (sgemm Q K^T, then the gather of S's entries) with
/// --dense-baseline.
int runSddmm(Options options) {
  OwnedCsr pattern;
  SoCsr &s = pattern.csr;
  std::string patternName;
  if (!options.matrix.empty()) {
    patternName = options.matrix;
    if (so_csr_read(options.matrix.c_str(), &s) ||
        so_csr_fill_random(&s, options.seed))
      return usageError(so_last_error());
  } else if (!options.random.empty()) {
    int64_t rows, cols;
    double density;
    if (!parseRandomSpec(options.random, rows, cols, density))
      return usageError("--random expects MxN:DENSITY with M, N >= 1 and "
                        "DENSITY in [0, 1], got '" +
                        options.random + "'");
    patternName = "random:" + options.random;
    if (so_csr_random(rows, cols, density, options.seed, &s))
      return usageError(so_last_error());
  } else {
    patternName = "mask " + options.mask + " n=" + std::to_string(options.n);
    std::string error = buildMask(options.mask, options.n, options.seed, s);
    if (!error.empty())
      return usageError(error);
  }
  int64_t m = s.rows, n = s.cols;

  OwnedLibrary lib(so_library_open(options.library.c_str()), so_library_close);
  if (!lib)
    return usageError(so_last_error());
  void *entry = so_library_lookup(lib.get(), options.entry.c_str());
  if (!entry)
    return usageError(so_last_error());
  std::string mismatch = checkSddmmSignature(lib.get(), options, s);
  if (!mismatch.empty())
    return usageError(mismatch);
  int64_t depth = options.depth;

  int64_t qSize, kSize, cells = 0;
  if (__builtin_mul_overflow(m, depth, &qSize) ||
      __builtin_mul_overflow(n, depth, &kSize))
    return usageError("operands of " + std::to_string(m) + " x " +
                      std::to_string(n) + " x " + std::to_string(depth) +
                      " are too large");
  if (options.denseBaseline &&
      (__builtin_mul_overflow(m, n, &cells) ||
       std::max({m, n, depth}) > std::numeric_limits<int>::max()))
    return usageError("the pattern is too large for --dense-baseline");
  Floats q(static_cast<size_t>(qSize)),
      k(static_cast<size_t>(kSize));
  so_fill_random(q.data(), qSize, options.seed + 1);
  so_fill_random(k.data(), kSize, options.seed + 2);

  // Declared after `pattern`, whose arrays they borrow, so released first.
  OwnedOperand owned;
  SoCsrOperand &operand = owned.operand;
  OwnedWorkspace ownedWorkspace;
  SoSddmmWorkspace &workspace = ownedWorkspace.workspace;
  if (so_csr_operand_init(&s, options.indexBits, &operand) ||
      so_sddmm_workspace_init(&operand, &workspace))
    return usageError(so_last_error());

  if (options.denseBaseline && openblasMissesAvx2())
    std::fprintf(stderr,
                 "sparse-run: warning: OpenBLAS uses its '%s' kernels on "
                 "this AVX2 CPU; set OPENBLAS_CORETYPE (e.g. SkylakeX or "
                 "Haswell) for a fair dense baseline\n",
                 openblas_get_corename());
  Floats scores(static_cast<size_t>(cells));

  Reference reference = computeSddmmReference(s, q, k, depth);
  Floats values(static_cast<size_t>(s.nnz));
  auto callKernel = [&](float *destination) {
    return so_call_sddmm_workspace(entry, &operand, q.data(), k.data(), depth,
                                   &workspace, destination) == 0;
  };
  int denseThreads = 0;
  auto callDense = [&] {
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, int(m), int(n),
                int(depth), 1.0f, q.data(), int(depth), k.data(), int(depth),
                0.0f, scores.data(), int(n));
    sparse_run::gatherPattern(m, n, s.row_ptr, s.col_idx, scores.data(),
                              values.data(), denseThreads);
    return true;
  };

  std::vector<int> runs = options.threads;
  if (runs.empty())
    runs.push_back(0);
  std::vector<Result> results;
  for (int threads : runs) {
    Result result{};
    if (!runKernel(lib.get(), threads, options, callKernel, values, reference,
                   result))
      return usageError(so_last_error());
    result.gflops =
        2.0 * double(s.nnz) * double(depth) / result.sparse.best / 1e9;

    if (options.denseBaseline) {
      // Same thread count as the kernel when known.
      if (result.threads > 0)
        openblas_set_num_threads(result.threads);
      denseThreads = result.threads;
      std::fill(values.begin(), values.end(),
                std::numeric_limits<float>::quiet_NaN());
      callDense();
      result.denseChecked = true;
      result.denseMaxError = maxScaledError(values, reference);
      result.densePassed = result.denseMaxError <= options.rtol;
      if (!result.densePassed)
        std::fprintf(stderr,
                     "sparse-run: error: the dense baseline's result on %s "
                     "thread(s) fails the check: max err %.3e > %g\n",
                     threadsText(result.threads).c_str(),
                     result.denseMaxError, options.rtol);
      measure(options.warmup, options.repeat, callDense, result.dense);
      result.haveDense = true;
    }
    results.push_back(result);
  }

  std::string baselines;
  if (options.denseBaseline)
    baselines += std::string("dense baseline: OpenBLAS sgemm Q K^T with ") +
                 openblas_get_corename() +
                 " kernels, then the gather of S's entries\n";
  Report report;
  report.kindName = "sddmm";
  report.abi = std::to_string(options.indexBits) + "-bit indices";
  report.matrixName = patternName;
  report.widthName = "D";
  report.m = m;
  report.k = n;
  report.n = depth;
  report.nnz = s.nnz;
  report.baselines = baselines;
  return writeReport(options, report, results);
}

} // namespace

int main(int argc, char **argv) {
  Options options;
  switch (parseCommandLine(argc, argv, options)) {
  case ParseResult::Help:
    std::fputs(kUsage, stdout);
    return 0;
  case ParseResult::ListBaselines:
    std::fputs("dense\neigen\n", stdout);
#ifdef SPARSE_RUN_HAVE_LIBXSMM
    std::fputs("libxsmm\n", stdout);
#endif
    return 0;
  case ParseResult::Error:
    return kExitUsage;
  case ParseResult::Run:
    break;
  }
  try {
    return options.kind == Kind::SDDMM ? runSddmm(options) : run(options);
  } catch (const std::bad_alloc &) {
    return usageError("out of memory for the operands");
  }
}
