//===- CostModel.cpp - Calibrated time of a layer per weight format -------===//

#include "sparse-opt/CostModel/CostModel.h"

#include "sparse-opt/Config.h"
#include "sparse-opt/Target/CpuTarget.h"

#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/TargetParser/Triple.h"

#include <cmath>

using namespace mlir;
using namespace mlir::sparse_opt;

std::optional<WeightFormat> WeightFormat::parse(llvm::StringRef text) {
  text = text.trim();
  WeightFormat format;
  if (text == "dense")
    return format;
  if (text == "csr") {
    format.kind = Kind::Csr;
    return format;
  }
  auto [kind, rest] = text.split(':');
  if (kind == "bsr") {
    auto [rows, cols] = rest.split('x');
    if (rows.getAsInteger(10, format.a) || cols.getAsInteger(10, format.b) ||
        format.a <= 0 || format.b <= 0)
      return std::nullopt;
    // 1 x 1 blocks are CSR (the kernels' matchers say so too).
    format.kind = format.a == 1 && format.b == 1 ? Kind::Csr : Kind::Bsr;
    if (format.kind == Kind::Csr)
      format.a = format.b = 0;
    return format;
  }
  if (kind == "nm") {
    auto [n, m] = rest.split(':');
    if (n.getAsInteger(10, format.a) || m.getAsInteger(10, format.b) ||
        format.a <= 0 || format.a > format.b || format.b > 255)
      return std::nullopt;
    format.kind = Kind::Nm;
    return format;
  }
  return std::nullopt;
}

std::string WeightFormat::str() const {
  switch (kind) {
  case Kind::Dense:
    return "dense";
  case Kind::Csr:
    return "csr";
  case Kind::Bsr:
    return "bsr:" + std::to_string(a) + "x" + std::to_string(b);
  case Kind::Nm:
    return "nm:" + std::to_string(a) + ":" + std::to_string(b);
  }
  llvm_unreachable("unknown weight format");
}

std::optional<FormatFootprint>
mlir::sparse_opt::formatFootprint(const WeightStats &stats,
                                  const WeightFormat &format) {
  switch (format.kind) {
  case WeightFormat::Kind::Dense:
    return FormatFootprint{stats.rows * stats.cols, stats.rows};
  case WeightFormat::Kind::Csr:
    return FormatFootprint{stats.nonZeros, stats.rows};
  case WeightFormat::Kind::Bsr: {
    if (stats.rows % format.a || stats.cols % format.b)
      return std::nullopt;
    auto fill = llvm::find_if(stats.blocks, [&](const BlockFill &f) {
      return f.shape.rows == format.a && f.shape.cols == format.b;
    });
    if (fill == stats.blocks.end())
      return std::nullopt;
    return FormatFootprint{fill->nonZeroBlocks * format.a * format.b,
                           stats.rows / format.a};
  }
  case WeightFormat::Kind::Nm: {
    auto nm =
        llvm::find_if(stats.nm, [&](const NmConformance &c) {
          return c.pattern.n == format.a && c.pattern.m == format.b;
        });
    if (nm == stats.nm.end() || !nm->conforms())
      return std::nullopt;
    return FormatFootprint{stats.rows * (stats.cols / format.b) * format.a,
                           stats.rows};
  }
  }
  llvm_unreachable("unknown weight format");
}

namespace {

// The feature vocabulary; docs/cost-model.md defines each one and
// scripts/calibrate.py computes the same values.
constexpr llvm::StringRef kFeatureNames[] = {
    "calls",
    "rows",
    "stored",
    "stored_l1_miss",
    "stored_l2_miss",
    "stored_outer_miss",
    "stored_n",
    "stored_n_l1_miss",
    "stored_n_l2_miss",
    "stored_n_outer_miss",
    "stored_vectors",
    "stored_vectors_l1_miss",
    "stored_vectors_l2_miss",
    "stored_vectors_outer_miss",
    "stored_vectors_panel_l1_miss",
    "stored_vectors_panel_l2_miss",
    "stored_vectors_panel_outer_miss",
    "stored_vectors_k_blocked",
    "stored_vectors_k_blocked_outer_miss",
    "stored_tiles",
    "outputs",
    "output_vectors",
    "inputs"};
// Of the transposes around a product whose weight is on the right, per
// transposed buffer: `paged_elements` are its elements if it is larger than
// glibc's default mmap threshold. Such a buffer, allocated and freed inside
// the call, is page-faulted in again on every call (measured: twice the
// time of the transpose itself).
constexpr llvm::StringRef kTransposeFeatureNames[] = {"calls", "elements",
                                                      "paged_elements"};
constexpr int64_t kPagedBufferBytes = 128 * 1024;

/// Column tiles the kernels cover N with (emitColumnTiles): full tiles of
/// `tile` vectors, one tile each of tile/2, ..., 1 vectors, a masked one.
int64_t columnTiles(int64_t n, int64_t lanes, int64_t tile) {
  int64_t width = lanes * tile;
  int64_t rest = n % width;
  return n / width + llvm::popcount(uint64_t(rest / lanes)) +
         (rest % lanes != 0);
}

llvm::Error fileError(llvm::StringRef name, const llvm::Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(),
                                 name + ": " + message);
}

/// The share of accesses to `bytes` of data, spread uniformly, that miss
/// a cache of `cacheBytes`: 0 while it fits.
double missShare(double cacheBytes, double bytes) {
  return bytes > cacheBytes ? 1.0 - cacheBytes / bytes : 0.0;
}

/// Reads `value` as a fit whose features are among `vocabulary`.
bool readFit(const llvm::json::Value &value, llvm::json::Path path,
             llvm::ArrayRef<llvm::StringRef> vocabulary, LinearFit &fit) {
  llvm::json::ObjectMapper mapper(value, path);
  if (!mapper || !mapper.map("features", fit.features) ||
      !mapper.map("coefficients", fit.coefficients))
    return false;
  if (fit.features.size() != fit.coefficients.size()) {
    path.field("coefficients")
        .report("expected one coefficient per feature");
    return false;
  }
  for (auto [index, feature] : llvm::enumerate(fit.features))
    if (!llvm::is_contained(vocabulary, feature)) {
      path.field("features").index(index).report(
          "unknown feature (see docs/cost-model.md for the names)");
      return false;
    }
  for (auto [index, coefficient] : llvm::enumerate(fit.coefficients))
    if (!std::isfinite(coefficient) || coefficient < 0) {
      path.field("coefficients")
          .index(index)
          .report("expected a finite non-negative number of seconds");
      return false;
    }
  return true;
}

/// The K block of the measured SpMM kernels when the file does not name
/// one: the pipeline's spmm-k-block default, which every calibration so
/// far compiled with.
constexpr unsigned kDefaultCalibratedKBlock = 64;

/// What the measured kernels' column tiles (they define tiles(N)) and K
/// blocks were.
struct KernelShape {
  unsigned nTile = 0, accumulators = 0, kBlock = kDefaultCalibratedKBlock;
};

bool fromJSON(const llvm::json::Value &value, KernelShape &kernels,
              llvm::json::Path path) {
  llvm::json::ObjectMapper mapper(value, path);
  if (!mapper || !mapper.map("n_tile", kernels.nTile) ||
      !mapper.map("accumulator_registers", kernels.accumulators) ||
      !mapper.mapOptional("k_block", kernels.kBlock))
    return false;
  if (kernels.nTile == 0 || !llvm::isPowerOf2_32(kernels.nTile)) {
    path.field("n_tile").report("expected a power of two");
    return false;
  }
  if (kernels.accumulators == 0) {
    path.field("accumulator_registers").report("expected >= 1");
    return false;
  }
  if (kernels.kBlock == 0) {
    path.field("k_block").report("expected >= 1");
    return false;
  }
  return true;
}

/// A fit whose features must come from `vocabulary`.
struct VocabularyFit {
  llvm::ArrayRef<llvm::StringRef> vocabulary;
  LinearFit fit;
};

bool fromJSON(const llvm::json::Value &value, VocabularyFit &fit,
              llvm::json::Path path) {
  return readFit(value, path, fit.vocabulary, fit.fit);
}

double dot(const LinearFit &fit,
           llvm::function_ref<double(llvm::StringRef)> feature) {
  double sum = 0;
  for (auto [name, coefficient] : llvm::zip(fit.features, fit.coefficients))
    sum += coefficient * feature(name);
  return sum;
}

} // namespace

namespace mlir::sparse_opt {

/// Reads the `target` object of a model file.
static bool fromJSON(const llvm::json::Value &value, CostTarget &target,
                     llvm::json::Path path) {
  llvm::json::ObjectMapper mapper(value, path);
  if (!mapper || !mapper.map("cpu", target.cpu) ||
      !mapper.map("vector_bits", target.vectorBits) ||
      !mapper.map("l1d_bytes", target.l1Bytes) ||
      !mapper.map("l2_bytes", target.l2Bytes) ||
      !mapper.map("outer_cache_bytes", target.outerBytes) ||
      !mapper.mapOptional("triple", target.triple) ||
      !mapper.mapOptional("features", target.features))
    return false;
  if (target.vectorBits < 32 || target.vectorBits % 32) {
    path.field("vector_bits").report("expected a positive multiple of 32");
    return false;
  }
  if (target.l1Bytes == 0 || target.l2Bytes == 0 || target.outerBytes == 0) {
    path.report("expected positive l1d_bytes, l2_bytes, outer_cache_bytes");
    return false;
  }
  return true;
}

} // namespace mlir::sparse_opt

llvm::ArrayRef<llvm::StringRef> mlir::sparse_opt::featureNames() {
  return kFeatureNames;
}

llvm::Expected<CostModel> CostModel::readFile(llvm::StringRef path) {
  llvm::ErrorOr<std::unique_ptr<llvm::MemoryBuffer>> buffer =
      llvm::MemoryBuffer::getFile(path, /*IsText=*/true);
  if (!buffer)
    return fileError(path, "cannot read the cost model: " +
                               buffer.getError().message());
  return parse((*buffer)->getBuffer(), path);
}

llvm::Expected<CostModel> CostModel::parse(llvm::StringRef text,
                                           llvm::StringRef name) {
  llvm::Expected<llvm::json::Value> json = llvm::json::parse(text);
  if (!json)
    return fileError(name, "not valid JSON: " +
                               llvm::toString(json.takeError()));
  CostModel model;
  model.sourceName = name.str();
  llvm::json::Path::Root root("cost model");
  // Fields' paths point to their parent: it must outlive them.
  llvm::json::Path rootPath(root);
  auto invalid = [&]() {
    return fileError(name, "not a sparse-opt cost model (" +
                               llvm::toString(root.getError()) + ")");
  };
  llvm::json::ObjectMapper top(*json, rootPath);
  if (!top)
    return invalid();
  const llvm::json::Object *object = json->getAsObject();
  std::optional<int64_t> version =
      object->getInteger("sparse_opt_cost_model");
  if (!version) {
    rootPath.field("sparse_opt_cost_model").report(
        "expected the format version (an integer)");
    return invalid();
  }
  if (*version != 1)
    return fileError(name, "cost model format version " +
                               llvm::Twine(*version) +
                               ", this compiler reads version 1");

  KernelShape kernels;
  VocabularyFit transpose{kTransposeFeatureNames, {}};
  if (!top.map("target", model.measuredOn) || !top.map("kernels", kernels) ||
      !top.map("transpose", transpose))
    return invalid();
  if (const llvm::json::Value *parallel = object->get("parallel")) {
    llvm::json::Path parallelPath = rootPath.field("parallel");
    const llvm::json::Object *fields = parallel->getAsObject();
    std::optional<double> seconds =
        fields ? fields->getNumber("fork_join_seconds") : std::nullopt;
    if (!seconds || !std::isfinite(*seconds) || *seconds < 0) {
      parallelPath.field("fork_join_seconds")
          .report("expected a finite non-negative number of seconds");
      return invalid();
    }
    model.forkJoin = *seconds;
  }
  model.tileVectors = kernels.nTile;
  model.accumulators = kernels.accumulators;
  model.kBlock = kernels.kBlock;
  model.transposeFit = std::move(transpose.fit);

  const llvm::json::Object *formats = object->getObject("formats");
  llvm::json::Path formatsPath = rootPath.field("formats");
  if (!formats) {
    formatsPath.report("expected an object of formats");
    return invalid();
  }
  for (const auto &[key, value] : *formats) {
    llvm::json::Path formatPath = formatsPath.field(key);
    std::optional<WeightFormat> format = WeightFormat::parse(key);
    if (!format) {
      formatPath.report("expected dense, csr, bsr:RxC or nm:N:M as the key");
      return invalid();
    }
    const llvm::json::Object *regimes = value.getAsObject();
    if (!regimes) {
      formatPath.report("expected an object with 'vector' and/or 'matrix'");
      return invalid();
    }
    FormatFits formatFits;
    for (const auto &[regime, fit] : *regimes) {
      std::optional<LinearFit> *slot = regime == "vector"   ? &formatFits.vector
                                       : regime == "matrix" ? &formatFits.matrix
                                                            : nullptr;
      if (!slot) {
        formatPath.field(regime).report(
            "expected 'vector' (N = 1) or 'matrix' (N > 1)");
        return invalid();
      }
      *slot = LinearFit();
      if (!readFit(fit, formatPath.field(regime), kFeatureNames, **slot))
        return invalid();
    }
    model.fits[*format] = std::move(formatFits);
  }
  if (!model.fits.count(WeightFormat())) {
    formatsPath.report("expected a fit for 'dense', the baseline");
    return invalid();
  }
  if (const llvm::json::Array *checks = object->getArray("checks"))
    if (llvm::Error error = model.checkRecordedPredictions(*checks))
      return std::move(error);
  return model;
}

/// A file may record what its calibration predicted for some layers; this
/// compiler must predict the same, or it computes the features differently
/// from the calibration that fitted the coefficients.
llvm::Error
CostModel::checkRecordedPredictions(const llvm::json::Array &checks) const {
  for (auto [index, check] : llvm::enumerate(checks)) {
    llvm::json::Path::Root root("check");
    llvm::json::ObjectMapper mapper(check, root);
    std::string formatText;
    LayerShape layer;
    FormatFootprint footprint;
    double seconds = 0;
    if (!mapper || !mapper.map("format", formatText) ||
        !mapper.map("rows", layer.rows) || !mapper.map("cols", layer.cols) ||
        !mapper.map("n", layer.n) ||
        !mapper.map("weight_on_right", layer.weightOnRight) ||
        !mapper.map("stored", footprint.storedValues) ||
        !mapper.map("kernel_rows", footprint.kernelRows) ||
        !mapper.map("seconds", seconds))
      return fileError(sourceName, "checks[" + llvm::Twine(index) +
                                       "]: " + llvm::toString(root.getError()));
    std::optional<WeightFormat> format = WeightFormat::parse(formatText);
    std::optional<double> predicted =
        format ? predict(*format, footprint, layer) : std::nullopt;
    if (!predicted)
      return fileError(sourceName, "checks[" + llvm::Twine(index) +
                                       "]: no fit for format '" + formatText +
                                       "'");
    if (std::abs(*predicted - seconds) > 1e-6 * std::abs(seconds) + 1e-15)
      return fileError(
          sourceName,
          "checks[" + llvm::Twine(index) + "]: the calibration predicted " +
              llvm::formatv("{0:e}", seconds).str() + " s for " + formatText +
              ", this compiler predicts " +
              llvm::formatv("{0:e}", *predicted).str() +
              " s: the file was fitted with other feature definitions; "
              "re-run scripts/calibrate.py");
  }
  return llvm::Error::success();
}

std::vector<WeightFormat> CostModel::formats() const {
  std::vector<WeightFormat> result;
  for (const auto &entry : fits)
    result.push_back(entry.first);
  return result;
}

double CostModel::evaluate(const LinearFit &fit, const WeightFormat &format,
                           const FormatFootprint &footprint,
                           const LayerShape &layer) const {
  int64_t lanes = this->lanes();
  int64_t vectors = llvm::divideCeil(layer.n, lanes);
  int64_t tile = kernelTileVectors(format);
  double stored = double(footprint.storedValues);
  // Bytes of the stored weight and of the dense operand (B, or X).
  double weightBytes = 4.0 * stored;
  double operandBytes = 4.0 * double(layer.cols) * double(layer.n);
  double l1 = double(measuredOn.l1Bytes), l2 = double(measuredOn.l2Bytes),
         outer = double(measuredOn.outerBytes);
  KBlocking blocking = kBlocking(format, footprint, layer);
  bool kBlocked = !format.isDense() && blocking.on();
  // The B rows the kernel cycles through: K-blocked, one K-block panel of
  // its column tile, reused across a block of rows, except that CSR and BSR
  // run the columns past their full tiles unblocked, over all of B.
  int64_t width = tile * lanes;
  double panelBytes = operandBytes;
  int64_t panelVectors = vectors;
  if (kBlocked) {
    panelBytes = 4.0 * double(blocking.rows) *
                 double(std::min<int64_t>(layer.n, width));
    if (format.kind != WeightFormat::Kind::Nm)
      panelVectors = layer.n / width * tile;
  }
  auto panelMisses = [&](double cache) {
    return stored * (double(panelVectors) * missShare(cache, panelBytes) +
                     double(vectors - panelVectors) *
                         missShare(cache, operandBytes));
  };
  return dot(fit, [&](llvm::StringRef name) -> double {
    if (name == "calls")
      return 1;
    if (name == "rows")
      return double(footprint.kernelRows);
    if (name == "stored")
      return stored;
    if (name == "stored_l1_miss")
      return stored * missShare(l1, weightBytes);
    if (name == "stored_l2_miss")
      return stored * missShare(l2, weightBytes);
    if (name == "stored_outer_miss")
      return stored * missShare(outer, weightBytes);
    if (name == "stored_n")
      return stored * double(layer.n);
    if (name == "stored_n_l1_miss")
      return stored * double(layer.n) * missShare(l1, weightBytes);
    if (name == "stored_n_l2_miss")
      return stored * double(layer.n) * missShare(l2, weightBytes);
    if (name == "stored_n_outer_miss")
      return stored * double(layer.n) * missShare(outer, weightBytes);
    if (name == "stored_vectors")
      return stored * double(vectors);
    if (name == "stored_vectors_l1_miss")
      return stored * double(vectors) * missShare(l1, operandBytes);
    if (name == "stored_vectors_l2_miss")
      return stored * double(vectors) * missShare(l2, operandBytes);
    if (name == "stored_vectors_outer_miss")
      return stored * double(vectors) * missShare(outer, operandBytes);
    if (name == "stored_vectors_panel_l1_miss")
      return panelMisses(l1);
    if (name == "stored_vectors_panel_l2_miss")
      return panelMisses(l2);
    if (name == "stored_vectors_panel_outer_miss")
      return panelMisses(outer);
    if (name == "stored_vectors_k_blocked")
      return kBlocked ? stored * double(vectors) : 0.0;
    if (name == "stored_vectors_k_blocked_outer_miss")
      return kBlocked ? stored * double(vectors) * missShare(outer, weightBytes)
                      : 0.0;
    if (name == "stored_tiles")
      return stored * double(columnTiles(layer.n, lanes, tile));
    if (name == "outputs")
      return double(layer.rows) * double(layer.n);
    if (name == "output_vectors")
      return double(layer.rows) * double(vectors);
    if (name == "inputs")
      return double(layer.cols) * double(layer.n);
    llvm_unreachable("features are validated when the file is read");
  });
}

std::optional<double> CostModel::predict(const WeightFormat &format,
                                         const FormatFootprint &footprint,
                                         const LayerShape &layer) const {
  auto found = fits.find(format);
  if (found == fits.end())
    return std::nullopt;
  const std::optional<LinearFit> &fit =
      layer.n == 1 ? found->second.vector : found->second.matrix;
  if (!fit)
    return std::nullopt;
  double seconds = evaluate(*fit, format, footprint, layer);
  // X^T and the product before its transpose back.
  if (layer.weightOnRight && !format.isDense())
    for (int64_t elements : {layer.n * layer.cols, layer.n * layer.rows})
      seconds += dot(transposeFit, [&](llvm::StringRef name) -> double {
        if (name == "calls")
          return 1.0;
        if (name == "elements")
          return double(elements);
        return 4 * elements > kPagedBufferBytes ? double(elements) : 0.0;
      });
  return seconds;
}

std::optional<double>
CostModel::predictKernel(const WeightFormat &format,
                         const FormatFootprint &footprint,
                         const LayerShape &layer) const {
  LayerShape kernel = layer;
  kernel.weightOnRight = false;
  return predict(format, footprint, kernel);
}

namespace {

/// Average non-zeros (stored values, BSR: block columns) per row and K block
/// from which the SpMM kernels pay for K blocking: below it, the C tile's
/// load and store per row and block cost more than B from L2 (the crossover
/// measured in docs/performance.md, the kernels' k-block-min-nonzeros).
constexpr double kKBlockMinStoredPerRow = 10;
/// Column counts below which CSR and N:M SpMM that are not K-blocked but
/// have a full calibrated tile use 4-vector tiles instead of the
/// calibrated 8 (docs/cost-model.md, "Schedules": 1.1-2.2x at N = 96 and
/// 112 on AVX2, level from 128; K-blocked, 4-vector tiles lose). Without
/// a full tile (N < 64 on AVX2) the calibrated width runs every column in
/// narrow tiles with more accumulator sets than 4-vector tiles have, and
/// 4-vector tiles lose (0.74-1.0x at N = 49).
constexpr unsigned kNarrowTileVectors = 4;
constexpr unsigned kNarrowTileBelowVectors = 16;

std::string microseconds(double seconds) {
  return llvm::formatv("{0:f1} us", seconds * 1e6).str();
}

} // namespace

int64_t CostModel::kernelTileVectors(const WeightFormat &format) const {
  // BSR kernels narrow their tile so that R x tile accumulators fit.
  if (format.kind == WeightFormat::Kind::Bsr)
    return std::min<int64_t>(
        tileVectors,
        llvm::bit_floor(std::max<uint64_t>(1, accumulators / format.a)));
  return tileVectors;
}

// K blocking as the kernels decide it: when the rows are dense enough per K
// block to pay for reloading their C tile (whether B fits L2 or not:
// measured on constant weights, docs/cost-model.md), and N holds the
// kernel's full tile, or, for N:M, two vectors with B beyond two K-block
// panels (NmKernels.cpp, useKBlocking). The K block is the calibrated
// kernels' (`k_block`): a schedule names only what was measured.
CostModel::KBlocking CostModel::kBlocking(const WeightFormat &format,
                                          const FormatFootprint &footprint,
                                          const LayerShape &layer) const {
  KBlocking blocking;
  int64_t lanes = this->lanes();
  blocking.rows = kBlock;
  blocking.storedPerRow = double(footprint.storedValues) /
                          double(std::max<int64_t>(1, layer.rows)) *
                          double(blocking.rows) /
                          double(std::max<int64_t>(1, layer.cols));
  int64_t tileWidth = kernelTileVectors(format) * lanes;
  blocking.fullTile = layer.n >= tileWidth;
  blocking.narrowPays =
      format.kind == WeightFormat::Kind::Nm && layer.n >= 2 * lanes &&
      layer.cols * layer.n > 2 * int64_t(blocking.rows) * tileWidth;
  blocking.deep = layer.cols > int64_t(blocking.rows);
  blocking.dense = blocking.storedPerRow >= kKBlockMinStoredPerRow;
  return blocking;
}

KernelScheduleChoice CostModel::schedule(const WeightFormat &format,
                                         const FormatFootprint &footprint,
                                         const LayerShape &layer,
                                         bool nDynamic,
                                         double rowSplitImbalance) const {
  KernelScheduleChoice choice;
  double threshold = parallelMinSeconds();
  std::string fork =
      llvm::formatv("2 x fork/join {0} ({1})", microseconds(forkJoinSeconds()),
                    forkJoinMeasured() ? "calibrated" : "default")
          .str();
  int64_t lanes = this->lanes();
  auto steps = [&](int64_t n) {
    return footprint.storedValues * llvm::divideCeil(n, lanes);
  };
  if (!nDynamic || format.isDense()) {
    double seconds = predictKernel(format, footprint, layer).value_or(0);
    choice.parallel = seconds >= threshold;
    choice.parallelReason =
        llvm::formatv("predicted {0} on one thread {1} {2}",
                      microseconds(seconds), choice.parallel ? ">=" : "<",
                      fork)
            .str();
  } else {
    // The smallest N at which the prediction reaches the threshold, as the
    // serial twin's run-time test counts work.
    std::optional<int64_t> first;
    for (int64_t n = 1; n <= (int64_t(1) << 20) && !first;
         n = n < 4096 ? n + 1 : 2 * n)
      if (predictKernel(format, footprint, LayerShape{layer.rows, layer.cols,
                                                      n, false})
              .value_or(0) >= threshold)
        first = n;
    choice.parallel = first.has_value();
    if (first) {
      choice.minParallelWork = steps(*first);
      choice.parallelReason =
          llvm::formatv("N dynamic: threads from N = {0} ({1} vector steps), "
                        "where the prediction reaches {2}",
                        *first, *choice.minParallelWork, fork)
              .str();
    } else {
      choice.parallelReason =
          "N dynamic: no N up to 2^20 reaches " + fork;
    }
  }
  if (format.isDense() || (!nDynamic && layer.n == 1))
    return choice;
  // The row split: by non-zeros when an even split of rows is not one of
  // the work (the K-blocked loops split row blocks evenly).
  auto chooseSplit = [&](bool kBlocked) {
    if (format.kind != WeightFormat::Kind::Csr || !choice.parallel)
      return;
    bool skewed = rowSplitImbalance >= kNnzBalanceMinImbalance;
    choice.nnzBalanced = skewed && !kBlocked;
    choice.splitReason =
        llvm::formatv("{0}: an even row split gives one of 2 threads "
                      "{1:f2}x its share{2}",
                      choice.nnzBalanced ? "by non-zeros" : "by rows",
                      rowSplitImbalance,
                      skewed && kBlocked ? ", but K-blocked row blocks"
                                         : "")
            .str();
  };
  if (nDynamic) {
    chooseSplit(false);
    // N unknown: the calibrated tile, and K blocking left to the kernels'
    // run-time rule.
    choice.nTile = tileVectors;
    choice.nTileReason =
        llvm::formatv("{0} vectors, calibrated (N dynamic)", tileVectors)
            .str();
    return choice;
  }

  int64_t vectors = llvm::divideCeil(layer.n, lanes);
  KBlocking blocking = kBlocking(format, footprint, layer);
  bool on = blocking.on();
  choice.kBlock = on ? blocking.rows : 0;
  if (!blocking.fullTile && !blocking.narrowPays)
    choice.kBlockReason =
        format.kind == WeightFormat::Kind::Nm
            ? llvm::formatv("off: N = {0} below one full tile, and below two "
                            "vectors or B within two K-block panels",
                            layer.n)
                  .str()
            : std::string("off: N below one full tile");
  else if (!blocking.deep)
    choice.kBlockReason =
        llvm::formatv("off: K = {0} <= {1}", layer.cols, blocking.rows).str();
  else
    choice.kBlockReason =
        llvm::formatv("{0}: {1:f1} stored per row and K block {2} {3:f0}",
                      on ? llvm::formatv("{0} rows", blocking.rows).str()
                         : std::string("off"),
                      blocking.storedPerRow, blocking.dense ? ">=" : "<",
                      kKBlockMinStoredPerRow)
            .str();

  // Column tile: the calibrated one (the register budget), K-blocked,
  // from 16 vectors or below one full tile; otherwise CSR and N:M take
  // 4-vector tiles (BSR narrows its own tile to its accumulator
  // registers).
  bool narrow = !on && blocking.fullTile &&
                format.kind != WeightFormat::Kind::Bsr &&
                tileVectors > kNarrowTileVectors &&
                vectors < kNarrowTileBelowVectors;
  chooseSplit(on);
  choice.nTile = narrow ? kNarrowTileVectors : tileVectors;
  if (narrow)
    choice.nTileReason =
        llvm::formatv("{0} vectors: N = {1} is under {2} vectors, not "
                      "K-blocked",
                      kNarrowTileVectors, layer.n, kNarrowTileBelowVectors)
            .str();
  else if (!blocking.fullTile && format.kind != WeightFormat::Kind::Bsr)
    choice.nTileReason =
        llvm::formatv("{0} vectors, calibrated: N = {1} has no full tile, "
                      "its narrow tiles take accumulator sets",
                      tileVectors, layer.n)
            .str();
  else
    choice.nTileReason =
        llvm::formatv("{0} vectors, calibrated", tileVectors).str();
  return choice;
}

llvm::Error CostModel::checkTarget(const CpuTarget &target,
                                   std::string &warning) const {
  warning.clear();
  if (target.vectorBits != measuredOn.vectorBits)
    return fileError(
        sourceName,
        "the cost model was measured on " + measuredOn.cpu + " with " +
            llvm::Twine(measuredOn.vectorBits) + "-bit vectors, the target (" +
            target.cpu + ") has " + llvm::Twine(target.vectorBits) +
            "-bit vectors, so other kernels run: calibrate for it "
            "(scripts/calibrate.py --target-cpu " + target.cpu +
            ") or give a model of that width");
  if (target.cpu != measuredOn.cpu)
    warning = "the cost model " + sourceName + " was measured on " +
              measuredOn.cpu + ", the target is " + target.cpu +
              " (same vector width): predictions may be off";
  return llvm::Error::success();
}

std::optional<std::string>
mlir::sparse_opt::shippedCostModel(const CpuTarget &target) {
  llvm::Triple triple(target.triple);
  if (!triple.isX86() || !triple.isArch64Bit())
    return std::nullopt;
  const char *isa = target.vectorBits == 512   ? "avx512"
                    : target.vectorBits == 256 ? "avx2"
                                               : nullptr;
  if (!isa)
    return std::nullopt;
  // A model measured on this very CPU first: CPUs of one vector width run
  // the same kernels at other speeds (Zen 4 splits each 512-bit operation
  // in two, an Intel core does not), so the width's model is the fallback.
  for (std::string file : {llvm::formatv("x86-64-{0}-{1}.json", isa,
                                         target.cpu)
                               .str(),
                           llvm::formatv("x86-64-{0}.json", isa).str()}) {
    llvm::SmallString<256> path(SPARSE_OPT_COST_MODEL_DIR);
    llvm::sys::path::append(path, file);
    if (llvm::sys::fs::exists(path))
      return std::string(path);
  }
  return std::nullopt;
}
