//===- CostModel.h - Calibrated time of a layer per weight format -*- C++ -*-===//
//
// Predicts how long the product of one layer takes with its weight stored
// dense, as CSR, BSR R x C or N:M, from a model fitted to measurements of the
// code this compiler generates (scripts/calibrate.py writes it as JSON; see
// docs/cost-model.md). Each format has one linear fit per kernel regime
// (`vector`: one activation column, the row-dot kernels; `matrix`: several,
// the register-tiled ones) over a fixed vocabulary of features computed from
// the weight's statistics (lib/Analysis/WeightAnalysis) and the activation
// count N. A file names the target it was measured on; a model measured
// with another vector width does not describe the target's kernels.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSE_OPT_COSTMODEL_COSTMODEL_H
#define SPARSE_OPT_COSTMODEL_COSTMODEL_H

#include "sparse-opt/Analysis/WeightAnalysis.h"

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <tuple>
#include <vector>

namespace mlir::sparse_opt {

struct CpuTarget;

/// How a weight is stored: dense, CSR, BSR with R x C blocks (a = R,
/// b = C) or N:M (a = N, b = M).
struct WeightFormat {
  enum class Kind { Dense, Csr, Bsr, Nm };
  Kind kind = Kind::Dense;
  int64_t a = 0, b = 0;

  /// "dense", "csr", "bsr:RxC" (1x1 is CSR) or "nm:N:M" (0 < N <= M <=
  /// 255, what the sparse_tensor dialect can encode).
  static std::optional<WeightFormat> parse(llvm::StringRef text);
  std::string str() const;
  bool isDense() const { return kind == Kind::Dense; }
  bool operator==(const WeightFormat &other) const {
    return kind == other.kind && a == other.a && b == other.b;
  }
  bool operator<(const WeightFormat &other) const {
    return std::tie(kind, a, b) < std::tie(other.kind, other.a, other.b);
  }
};

/// The layer a prediction is for: the weight as the kernels see it, rows
/// (output features) x cols (reduction), times N activation columns.
struct LayerShape {
  int64_t rows = 0, cols = 0, n = 1;
  /// The weight is the right operand (X W): a sparse product then runs on
  /// X^T and transposes its result back, two transposes the model adds.
  bool weightOnRight = false;
};

/// What a format stores of one weight.
struct FormatFootprint {
  /// Values stored, the zeros inside stored blocks or groups included.
  int64_t storedValues = 0;
  /// Iterations of the kernel's row loop: rows, or block rows for BSR.
  int64_t kernelRows = 0;
};

/// The footprint of the weight `stats` describes in `format`, or nullopt if
/// the format cannot store it exactly: a BSR block that does not tile it,
/// an N:M pattern it does not conform to, or a block shape / pattern
/// `stats` holds no measurement for.
std::optional<FormatFootprint> formatFootprint(const WeightStats &stats,
                                               const WeightFormat &format);

/// One linear fit: time in seconds = sum of coefficient x feature.
struct LinearFit {
  std::vector<std::string> features;
  std::vector<double> coefficients;
};

/// The names of the features fits may use (docs/cost-model.md defines
/// them).
llvm::ArrayRef<llvm::StringRef> featureNames();

/// What a file says it was measured on.
struct CostTarget {
  std::string cpu, triple, features;
  unsigned vectorBits = 0;
  /// Data cache sizes per core, which some features are relative to; the
  /// outer one is the effective capacity beyond L2 the calibration found
  /// (not a cache size the CPU reports: it fits where data starts to come
  /// from memory for the code measured).
  uint64_t l1Bytes = 0, l2Bytes = 0, outerBytes = 0;
};

/// The OpenMP fork / join cost assumed when a model file does not record
/// one (`parallel.fork_join_seconds`, measured by scripts/calibrate.py):
/// the high end of the 1-4 us measured on the development machines
/// (docs/cost-model.md, "Schedules").
constexpr double kDefaultForkJoinSeconds = 4e-6;

/// The imbalance of an even two-way row split (heavier half's share of the
/// non-zeros x 2) from which CSR SpMM rows are split by non-zeros
/// (docs/cost-model.md, "Schedules": 1.13-1.55x on 2 threads at 1.30).
constexpr double kNnzBalanceMinImbalance = 1.1;

/// A kernel schedule the model decides for one layer, besides its format
/// (docs/cost-model.md, "Schedules"); the selection pass records it as the
/// op's `sparse_opt.schedule` attribute, which the kernel passes honour.
struct KernelScheduleChoice {
  /// The row loop on OpenMP threads, or serially only.
  bool parallel = true;
  /// With a dynamic N and `parallel`: the run-time threshold of the
  /// kernel's serial twin, in vector steps (stored values x ceil(N /
  /// lanes)), where the predicted single-thread time reaches the parallel
  /// threshold.
  std::optional<int64_t> minParallelWork;
  /// Vectors per full column tile (sparse SpMM only).
  std::optional<unsigned> nTile;
  /// B rows per K block, 0: never K-blocked (sparse SpMM, static N only).
  std::optional<unsigned> kBlock;
  /// CSR SpMM rows split over the threads by non-zeros, not rows.
  bool nnzBalanced = false;
  /// Why, one phrase per decision.
  std::string parallelReason, nTileReason, kBlockReason, splitReason;
};

class CostModel {
public:
  /// Reads and validates a model file; the error names the file and, for
  /// a malformed one, what was expected where.
  static llvm::Expected<CostModel> readFile(llvm::StringRef path);
  /// The same for `text`; `name` is used in messages.
  static llvm::Expected<CostModel> parse(llvm::StringRef text,
                                         llvm::StringRef name);

  const std::string &name() const { return sourceName; }
  const CostTarget &target() const { return measuredOn; }
  /// Column-tile width (vectors) of the kernels measured.
  unsigned nTile() const { return tileVectors; }
  /// 32-bit lanes of a vector on the measured target.
  unsigned lanes() const { return measuredOn.vectorBits / 32; }

  /// The formats with a fit, dense included, in a fixed order.
  std::vector<WeightFormat> formats() const;

  /// Predicted seconds of the layer's product with its weight in
  /// `format` (transposes included when the weight is on the right), or
  /// nullopt if the model has no fit for that format and regime.
  std::optional<double> predict(const WeightFormat &format,
                                const FormatFootprint &footprint,
                                const LayerShape &layer) const;

  /// Predicted seconds of the layer's kernel alone, on one thread: without
  /// the transposes of a weight on the right (they run as loops of their
  /// own).
  std::optional<double> predictKernel(const WeightFormat &format,
                                      const FormatFootprint &footprint,
                                      const LayerShape &layer) const;

  /// The cost of entering and leaving an OpenMP parallel region (seconds),
  /// as measured by the calibration, else kDefaultForkJoinSeconds.
  double forkJoinSeconds() const {
    return forkJoin.value_or(kDefaultForkJoinSeconds);
  }
  /// Whether the file recorded it.
  bool forkJoinMeasured() const { return forkJoin.has_value(); }
  /// The single-thread time from which a kernel's row loop is worth
  /// threads: 2 x fork/join, where two threads break even (t / 2 +
  /// fork/join = t); more threads break even earlier, so this holds for
  /// any count.
  double parallelMinSeconds() const { return 2 * forkJoinSeconds(); }

  /// The schedule of the layer's kernel in `format` (the weight
  /// `footprint` of a `stats.rows` x `stats.cols` weight): parallel vs
  /// serial from predictKernel against parallelMinSeconds (with a dynamic N,
  /// `nDynamic`, the threshold in vector steps instead), and for sparse
  /// SpMM the column tile and K blocking (docs/cost-model.md, "Schedules").
  /// `rowSplitImbalance` is the share of the non-zeros in the heavier
  /// half of the rows, times 2 (1: an even split of rows is an even split
  /// of the work): from kNnzBalanceMinImbalance, a parallel CSR SpMM that
  /// is not K-blocked splits its rows by non-zeros.
  KernelScheduleChoice schedule(const WeightFormat &format,
                                const FormatFootprint &footprint,
                                const LayerShape &layer, bool nDynamic,
                                double rowSplitImbalance = 1.0) const;

  /// Whether the model describes code for `target`: an error if its
  /// vector width differs (other kernels run); otherwise `warning` is set
  /// when the CPU differs (same kernels, other timings) and left empty
  /// when it matches.
  llvm::Error checkTarget(const CpuTarget &target, std::string &warning) const;

private:
  struct FormatFits {
    std::optional<LinearFit> vector, matrix;
  };

  /// Whether the sparse SpMM kernels run `layer` K-blocked, and the test's
  /// parts: the schedule's decision for a static N, the kernels' run-time
  /// rule (the same test) for a dynamic one.
  struct KBlocking {
    /// B rows per K block: the calibrated kernels' (`k_block`).
    unsigned rows = 0;
    /// Stored values per weight row and K block.
    double storedPerRow = 0;
    /// N holds the kernel's full tile; or, for N:M, at least two vectors
    /// with B beyond two K-block panels (NmKernels.cpp, useKBlocking).
    bool fullTile = false, narrowPays = false;
    bool deep = false, dense = false;
    bool on() const { return (fullTile || narrowPays) && deep && dense; }
  };
  KBlocking kBlocking(const WeightFormat &format,
                      const FormatFootprint &footprint,
                      const LayerShape &layer) const;
  /// The column tile the format's SpMM kernel runs, in vectors.
  int64_t kernelTileVectors(const WeightFormat &format) const;

  double evaluate(const LinearFit &fit, const WeightFormat &format,
                  const FormatFootprint &footprint,
                  const LayerShape &layer) const;
  llvm::Error checkRecordedPredictions(const llvm::json::Array &checks) const;

  std::string sourceName;
  CostTarget measuredOn;
  unsigned tileVectors = 8;
  unsigned accumulators = 16;
  unsigned kBlock = 64;
  std::optional<double> forkJoin;
  LinearFit transposeFit;
  std::map<WeightFormat, FormatFits> fits;
};

/// The cost model shipped for `target` (cost-models/ in the source tree):
/// the one measured on its CPU (x86-64-avx512-znver4.json), else the one of
/// its vector width (x86-64-avx512.json, x86-64-avx2.json), or nullopt if
/// none is there.
std::optional<std::string> shippedCostModel(const CpuTarget &target);

} // namespace mlir::sparse_opt

#endif // SPARSE_OPT_COSTMODEL_COSTMODEL_H
