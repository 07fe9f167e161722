//===- SelectWeightFormats.cpp - Storage format of each constant weight ---===//
//
// Implements `sparse-opt-select-weight-formats`; see Passes.td for the
// contract and docs/cost-model.md for the model. Per layer: the weight's
// statistics (lib/Analysis/WeightAnalysis), a predicted time per candidate
// format (lib/CostModel), the decision (attribute, name override,
// threshold, then the cost model or the global format), and the rewrite of
// the product to the chosen encoding. Our kernels take the sparse operand
// on the left, so X W is computed as (W^T X^T)^T with W^T stored sparse;
// only the activations and the result are transposed at run time.
//
//===----------------------------------------------------------------------===//

#include "sparse-opt/Analysis/WeightAnalysis.h"
#include "sparse-opt/CostModel/CostModel.h"
#include "sparse-opt/Target/CpuTarget.h"
#include "sparse-opt/Transforms/Passes.h"

#include "KernelSupport.h"
#include "WeightReport.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SparseTensor/IR/SparseTensor.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Pass/PassRegistry.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/GlobPattern.h"

#include <limits>

namespace mlir::sparse_opt {
#define GEN_PASS_DEF_SPARSEOPTSELECTWEIGHTFORMATS
#include "sparse-opt/Transforms/Passes.h.inc"
} // namespace mlir::sparse_opt

using namespace mlir;
using namespace mlir::sparse_opt;

namespace {

constexpr llvm::StringLiteral kFormatAttr = "sparse_opt.format";

/// The encoding of a rows x cols kernel operand stored as `format` (not
/// dense): the forms sparse-opt-{csr,bsr,nm}-kernels match.
sparse_tensor::SparseTensorEncodingAttr
encodingFor(MLIRContext *context, const WeightFormat &format, int64_t cols,
            unsigned indexBits, bool narrowCoordinates) {
  using sparse_tensor::LevelFormat;
  using sparse_tensor::LevelType;
  AffineExpr i = getAffineDimExpr(0, context),
             j = getAffineDimExpr(1, context);
  SmallVector<AffineExpr> exprs;
  SmallVector<LevelType> levels;
  unsigned coordinateBits = indexBits;
  // Narrow coordinates take less memory per stored entry; the kernels
  // widen them as they load them.
  auto narrowTo = [&](int64_t largest, unsigned bits) {
    if (narrowCoordinates && largest < (int64_t(1) << bits))
      coordinateBits = bits;
  };
  switch (format.kind) {
  case WeightFormat::Kind::Csr:
    exprs = {i, j};
    levels = {LevelFormat::Dense, LevelFormat::Compressed};
    narrowTo(cols - 1, 16);
    break;
  case WeightFormat::Kind::Bsr: {
    int64_t r = format.a, c = format.b;
    // MLIR folds floordiv 1 / mod 1, so a block of one row or column has
    // no level for it (the kernels' matchers expect that form).
    exprs = {r > 1 ? i.floorDiv(r) : i, c > 1 ? j.floorDiv(c) : j};
    levels = {LevelFormat::Dense, LevelFormat::Compressed};
    if (r > 1) {
      exprs.push_back(i % r);
      levels.push_back(LevelFormat::Dense);
    }
    if (c > 1) {
      exprs.push_back(j % c);
      levels.push_back(LevelFormat::Dense);
    }
    narrowTo(cols / c - 1, 16);
    break;
  }
  case WeightFormat::Kind::Nm:
    exprs = {i, j.floorDiv(format.b), j % format.b};
    levels = {LevelFormat::Dense, LevelFormat::Dense,
              *sparse_tensor::buildLevelType(LevelFormat::NOutOfM,
                                             /*ordered=*/true, /*unique=*/true,
                                             format.a, format.b)};
    narrowTo(format.b - 1, 8);
    break;
  case WeightFormat::Kind::Dense:
    llvm_unreachable("a dense weight has no encoding");
  }
  AffineMap dimToLvl = AffineMap::get(2, 0, exprs, context);
  AffineMap lvlToDim = format.kind == WeightFormat::Kind::Csr
                           ? AffineMap()
                           : sparse_tensor::inferLvlToDim(dimToLvl, context);
  return sparse_tensor::SparseTensorEncodingAttr::get(
      context, levels, dimToLvl, lvlToDim, indexBits, coordinateBits);
}

/// `source` (2-D) transposed into a fresh tensor.
Value transposed(OpBuilder &b, Location loc, Value source) {
  auto type = cast<RankedTensorType>(source.getType());
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, source);
  Value empty = tensor::EmptyOp::create(
      b, loc, SmallVector<OpFoldResult>{sizes[1], sizes[0]},
      type.getElementType());
  return linalg::TransposeOp::create(b, loc, source, empty,
                                     ArrayRef<int64_t>{1, 0})
      .getResult()[0];
}

/// The weight of `op` as the kernel's rows x cols operand in `format`: a
/// `sparse<...>` constant of its non-zeros converted to the encoding (the
/// materialize pass lays it out at compile time).
Value sparseWeight(OpBuilder &b, Location loc, const LayerWeight &weight,
                   const WeightFormat &format, unsigned indexBits,
                   bool narrowCoordinates) {
  SmallVector<int64_t> coordinates;
  SmallVector<float> nonZeros;
  bool read = withFloatElements(weight.values, [&](auto at) {
    for (int64_t r = 0; r < weight.rows; ++r)
      for (int64_t c = 0; c < weight.cols; ++c)
        if (float v = at(r * weight.rowStride + c * weight.colStride);
            v != 0.0f) {
          coordinates.append({r, c});
          nonZeros.push_back(v);
        }
  });
  assert(read && "the weight was read for its statistics");
  (void)read;
  MLIRContext *context = b.getContext();
  auto plainType =
      RankedTensorType::get({weight.rows, weight.cols}, b.getF32Type());
  auto nnz = static_cast<int64_t>(nonZeros.size());
  auto constant = SparseElementsAttr::get(
      plainType,
      DenseElementsAttr::get(RankedTensorType::get({nnz, 2}, b.getI64Type()),
                             ArrayRef<int64_t>(coordinates)),
      DenseElementsAttr::get(RankedTensorType::get({nnz}, b.getF32Type()),
                             ArrayRef<float>(nonZeros)));
  auto sparseType = RankedTensorType::get(
      {weight.rows, weight.cols}, b.getF32Type(),
      encodingFor(context, format, weight.cols, indexBits, narrowCoordinates));
  Value plain = arith::ConstantOp::create(b, loc, plainType, constant);
  return sparse_tensor::ConvertOp::create(b, loc, sparseType, plain);
}

/// Rewrites `op` (matmul or matvec whose operand `weight.operand` is the
/// constant weight) to take the weight in `format`.
void rewriteProduct(linalg::LinalgOp op, const LayerWeight &weight,
                    const WeightFormat &format, unsigned indexBits,
                    bool narrowCoordinates, Attribute schedule,
                    RewriterBase &rewriter) {
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  Value sparse =
      sparseWeight(rewriter, loc, weight, format, indexBits, narrowCoordinates);
  StringAttr chosen = rewriter.getStringAttr(format.str());
  if (weight.operand == 0) {
    // W B or W x: the kernels' form already.
    rewriter.modifyOpInPlace(op, [&] {
      op->setOperand(0, sparse);
      op->setAttr(kFormatAttr, chosen);
      if (schedule)
        op->setAttr(kernels::kScheduleAttrName, schedule);
    });
    return;
  }
  // X W = (W^T X^T)^T.
  Value x = op.getDpsInputs()[0], init = op.getDpsInits()[0];
  Value xT = transposed(rewriter, loc, x);
  Value resultT;
  if (kernels::isZeroFilled(init)) {
    SmallVector<OpFoldResult> sizes =
        tensor::getMixedSizes(rewriter, loc, init);
    Value empty = tensor::EmptyOp::create(
        rewriter, loc, SmallVector<OpFoldResult>{sizes[1], sizes[0]},
        rewriter.getF32Type());
    resultT =
        linalg::FillOp::create(rewriter, loc,
                               init.getDefiningOp<linalg::FillOp>().value(),
                               empty)
            .getResult(0);
  } else {
    resultT = transposed(rewriter, loc, init);
  }
  auto productT = linalg::MatmulOp::create(rewriter, loc, resultT.getType(),
                                           ValueRange{sparse, xT}, resultT);
  productT->setAttr(kFormatAttr, chosen);
  if (schedule)
    productT->setAttr(kernels::kScheduleAttrName, schedule);
  rewriter.replaceOp(op, transposed(rewriter, loc, productT.getResult(0)));
}

/// Why `format` cannot store the weight `stats` describes, or empty if
/// it can.
std::string whyNotStorable(const WeightStats &stats,
                           const WeightFormat &format) {
  if (formatFootprint(stats, format))
    return "";
  if (format.kind == WeightFormat::Kind::Bsr)
    return llvm::formatv("{0}x{1} blocks do not tile the {2}x{3} weight",
                         format.a, format.b, stats.rows, stats.cols)
        .str();
  for (const NmConformance &nm : stats.nm)
    if (nm.pattern.n == format.a && nm.pattern.m == format.b)
      return nm.applicable
                 ? llvm::formatv("{0} groups of {1} columns hold more than {2} "
                                 "non-zeros",
                                 nm.violatingGroups, format.b, format.a)
                       .str()
                 : llvm::formatv("{0} columns are not a multiple of {1}",
                                 stats.cols, format.b)
                       .str();
  return "not analyzed for " + format.str();
}

struct Override {
  std::string pattern;
  llvm::GlobPattern glob;
  WeightFormat format;
};

struct SelectWeightFormatsPass
    : public sparse_opt::impl::SparseOptSelectWeightFormatsBase<
          SelectWeightFormatsPass> {
  using Base::Base;

  void runOnOperation() override {
    // A pass instance may run more than once.
    globalFormat.reset();
    overrideList.clear();
    model.reset();
    if (failed(parseOptions()) ||
        failed(checkReportFormat(getOperation(), getArgument(),
                                 reportFormat)) ||
        failed(loadCostModel()))
      return signalPassFailure();

    // Collected first: the rewrite replaces ops.
    SmallVector<Operation *> products;
    getOperation().walk([&](Operation *op) {
      if (findLayerWeight(op))
        products.push_back(op);
    });
    std::vector<LayerReport> layers;
    IRRewriter rewriter(&getContext());
    for (Operation *op : products)
      if (failed(selectFor(op, rewriter, layers)))
        return signalPassFailure();
    if (!report.empty() &&
        failed(writeWeightReport(getOperation(), getArgument(), report,
                                 reportFormat, layers)))
      return signalPassFailure();
  }

  LogicalResult fail(const Twine &message) {
    return getOperation().emitError() << getArgument() << ": " << message;
  }

  LogicalResult parseOptions() {
    if (indexBits != 32 && indexBits != 64)
      return fail("index-bits must be 32 or 64, got " + Twine(indexBits));
    if (minSparsity < 0.0 || minSparsity > 1.0)
      return fail("min-sparsity must be in [0, 1], got " +
                  llvm::formatv("{0}", minSparsity.getValue()).str());
    if (dynamicN < 1)
      return fail("dynamic-n must be at least 1, got " + Twine(dynamicN));
    if (formats != "auto") {
      globalFormat = WeightFormat::parse(formats);
      if (!globalFormat)
        return fail("formats must be auto, dense, csr, bsr:RxC or nm:N:M, "
                    "got '" + formats + "'");
    }
    SmallVector<StringRef> items;
    StringRef(overrides).split(items, ',', -1, /*KeepEmpty=*/false);
    for (StringRef item : items) {
      auto [pattern, formatText] = item.trim().rsplit('=');
      std::optional<WeightFormat> format = WeightFormat::parse(formatText);
      if (pattern.empty() || !format)
        return fail("overrides: expected PATTERN=FORMAT with FORMAT dense, "
                    "csr, bsr:RxC or nm:N:M, got '" + item.trim() + "'");
      llvm::Expected<llvm::GlobPattern> glob =
          llvm::GlobPattern::create(pattern);
      if (!glob)
        return fail("overrides: bad pattern '" + pattern +
                    "': " + llvm::toString(glob.takeError()));
      overrideList.push_back({pattern.str(), std::move(*glob), *format});
    }
    return success();
  }

  LogicalResult loadCostModel() {
    if (formats != "auto" && costModel.empty())
      return success();
    llvm::Expected<CpuTarget> target =
        CpuTarget::resolve(targetCpu, targetFeatures);
    if (!target)
      return fail(llvm::toString(target.takeError()));
    std::string path = costModel;
    if (path.empty()) {
      std::optional<std::string> shipped = shippedCostModel(*target);
      if (!shipped)
        return fail("no cost model ships for " + target->cpu + " (" +
                    target->triple + ", " + Twine(target->vectorBits) +
                    "-bit vectors): give cost-model=FILE (scripts/"
                    "calibrate.py writes one) or a fixed format");
      path = *shipped;
    }
    llvm::Expected<CostModel> loaded = CostModel::readFile(path);
    if (!loaded)
      return fail(llvm::toString(loaded.takeError()));
    std::string warning;
    if (llvm::Error error = loaded->checkTarget(*target, warning))
      return fail(llvm::toString(std::move(error)));
    if (!warning.empty())
      getOperation().emitWarning() << getArgument() << ": " << warning;
    model = std::move(*loaded);
    return success();
  }

  /// The activation count of the product `op` whose weight is
  /// `weight.operand`, and whether it was assumed.
  std::pair<int64_t, bool> activations(Operation *op,
                                       const LayerWeight &weight) {
    if (isa<linalg::MatvecOp>(op))
      return {1, false};
    // X (M x K) W: M; W B (K x N): N.
    auto other = dyn_cast<ShapedType>(
        op->getOperand(weight.operand == 1 ? 0 : 1).getType());
    int64_t n = other && other.hasRank()
                    ? other.getDimSize(weight.operand == 1 ? 0 : 1)
                    : ShapedType::kDynamic;
    if (ShapedType::isDynamic(n))
      return {dynamicN, true};
    return {n, false};
  }

  /// Whether the rewrite applies: an f32 product on tensors whose other
  /// operand and result are dense.
  static bool isRewritableProduct(Operation *op, const LayerWeight &weight) {
    auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
    if (!isa<linalg::MatmulOp, linalg::MatvecOp>(op) || !linalgOp ||
        !linalgOp.hasPureTensorSemantics() ||
        !weight.values.getElementType().isF32())
      return false;
    return llvm::all_of(op->getOperands(), [](Value operand) {
      auto type = dyn_cast<RankedTensorType>(operand.getType());
      return type && !type.getEncoding() && type.getElementType().isF32();
    });
  }

  /// The format asked for explicitly (attribute or override) and why;
  /// failure for a malformed attribute.
  FailureOr<std::optional<std::pair<WeightFormat, std::string>>>
  explicitFormat(Operation *op, StringRef name) {
    if (Attribute attr = op->getAttr(kFormatAttr)) {
      auto text = dyn_cast<StringAttr>(attr);
      std::optional<WeightFormat> format =
          text ? WeightFormat::parse(text.getValue()) : std::nullopt;
      if (!format)
        return op->emitError()
               << getArgument() << ": layer '" << name << "': " << kFormatAttr
               << " must be a string: dense, csr, bsr:RxC or nm:N:M, got "
               << attr;
      return std::optional(
          std::make_pair(*format, std::string(kFormatAttr) + " attribute"));
    }
    for (const Override &entry : overrideList)
      if (entry.glob.match(name))
        return std::optional(
            std::make_pair(entry.format, "override '" + entry.pattern + "'"));
    return std::optional<std::pair<WeightFormat, std::string>>();
  }

  LogicalResult selectFor(Operation *op, RewriterBase &rewriter,
                          std::vector<LayerReport> &layers) {
    std::optional<LayerWeight> weight = findLayerWeight(op);
    std::string name = layerName(op);
    FailureOr<std::optional<std::pair<WeightFormat, std::string>>> asked =
        explicitFormat(op, name);
    if (failed(asked))
      return failure();
    // Nothing to decide or report: skip reading the weight.
    if (!*asked && globalFormat && globalFormat->isDense() && !model &&
        report.empty())
      return success();
    bool rewritable = isRewritableProduct(op, *weight);
    if (*asked && !(*asked)->first.isDense() && !rewritable)
      return op->emitError()
             << getArgument() << ": layer '" << name << "': "
             << (*asked)->second << " asks for " << (*asked)->first.str()
             << ", but sparse weights need an f32 matmul or matvec on dense "
                "tensors";

    // The formats to analyze the weight for: the model's and those asked.
    std::vector<WeightFormat> candidates =
        model ? model->formats() : std::vector<WeightFormat>{WeightFormat()};
    for (const std::optional<WeightFormat> &format :
         {globalFormat, *asked ? std::optional((*asked)->first)
                               : std::optional<WeightFormat>()})
      if (format && !llvm::is_contained(candidates, *format))
        candidates.push_back(*format);
    std::vector<NmPattern> patterns;
    std::vector<BlockShape> shapes;
    for (const WeightFormat &format : candidates) {
      if (format.kind == WeightFormat::Kind::Bsr)
        shapes.push_back({format.a, format.b});
      if (format.kind == WeightFormat::Kind::Nm)
        patterns.push_back({format.a, format.b});
    }
    std::optional<NonZeroMatrix> matrix = NonZeroMatrix::fromElements(
        weight->values, weight->rows, weight->cols, weight->rowStride,
        weight->colStride);
    if (!matrix) {
      if (isa<FloatType>(weight->values.getElementType()))
        op->emitWarning() << getArgument()
                          << ": the weight's values are not available; "
                             "left dense";
      return success();
    }
    LayerReport row{name, op->getName().getStringRef().str(), weight->operand,
                    analyzeWeight(*matrix, patterns, shapes), FormatDecision()};
    FormatDecision &decision = *row.decision;
    const WeightStats &stats = row.stats;
    std::tie(decision.n, decision.nAssumed) = activations(op, *weight);
    auto keepDense = [&](std::string reason) {
      decision.format = "dense";
      decision.reason = std::move(reason);
      layers.push_back(std::move(row));
      return success();
    };
    if (!isa<linalg::MatmulOp, linalg::MatvecOp>(op))
      return keepDense("convolution: sparse only as a product "
                       "(sparse-opt-convolution-to-matmul first)");
    if (!rewritable)
      return keepDense("not an f32 product on dense tensors");

    LayerShape shape{stats.rows, stats.cols, decision.n, weight->operand == 1};
    std::vector<std::pair<WeightFormat, double>> predicted;
    if (model)
      for (const WeightFormat &format : candidates) {
        std::optional<FormatFootprint> footprint =
            formatFootprint(stats, format);
        if (std::optional<double> seconds =
                footprint ? model->predict(format, *footprint, shape)
                          : std::nullopt) {
          predicted.push_back({format, *seconds});
          decision.predictions.push_back({format.str(), *seconds});
        }
      }
    std::optional<std::pair<WeightFormat, double>> fastest;
    // The fastest predicted BSR shape passed over for a wider block of its
    // rows that stores as little (reported with the choice).
    struct Skipped {
      WeightFormat narrow, wide;
      double seconds;
    };
    std::optional<Skipped> narrowerSkipped;
    std::vector<std::string> passedOver;
    for (const auto &[format, seconds] : predicted) {
      if (std::optional<WeightFormat> wider =
              widerBlockStoringAsLittle(stats, format, predicted)) {
        passedOver.push_back(format.str());
        if (!narrowerSkipped || seconds < narrowerSkipped->seconds)
          narrowerSkipped = Skipped{format, *wider, seconds};
      } else if (!fastest || seconds < fastest->second) {
        fastest = {format, seconds};
      }
    }
    if (narrowerSkipped && fastest &&
        narrowerSkipped->seconds >= fastest->second)
      narrowerSkipped.reset();

    WeightFormat chosen;
    if (*asked) {
      chosen = (*asked)->first;
      if (std::string why = whyNotStorable(stats, chosen); !why.empty()) {
        op->emitError() << getArgument() << ": layer '" << name << "': "
                        << (*asked)->second << " asks for " << chosen.str()
                        << ", which cannot store the weight exactly: " << why;
        return failure();
      }
      decision.reason = (*asked)->second;
    } else if (1.0 - stats.density < minSparsity) {
      return keepDense(llvm::formatv("sparsity {0:f4} < min-sparsity {1:f4}",
                                     1.0 - stats.density,
                                     minSparsity.getValue())
                           .str());
    } else if (globalFormat) {
      chosen = *globalFormat;
      if (std::string why = whyNotStorable(stats, chosen); !why.empty())
        return keepDense("formats=" + formats + " cannot store it: " + why);
      decision.reason = "formats=" + formats;
    } else if (!fastest) {
      return keepDense("no prediction for this layer");
    } else {
      chosen = fastest->first;
      decision.reason =
          describeChoice(decision.predictions, chosen.str(), passedOver);
      if (narrowerSkipped)
        decision.reason += llvm::formatv(
            "; not {0}, predicted faster: {1} stores the same values in "
            "wider blocks",
            narrowerSkipped->narrow.str(), narrowerSkipped->wide.str());
    }
    decision.format = chosen.str();
    // The kernel schedule: the op's own attribute (kept, and carried to the
    // rewritten product), else the model's.
    Attribute schedule = op->getAttr(kernels::kScheduleAttrName);
    if (!schedule && model && schedules) {
      decision.schedule =
          scheduleFor(*model, stats, chosen, shape, decision.nAssumed,
                      isa<linalg::MatmulOp>(op), rowSplitImbalance(*matrix));
      if (decision.schedule)
        schedule = scheduleAttr(*decision.schedule);
    }
    layers.push_back(std::move(row));
    if (!rewrite)
      return success();
    if (!chosen.isDense())
      rewriteProduct(cast<linalg::LinalgOp>(op), *weight, chosen, indexBits,
                     narrowCoordinates, schedule, rewriter);
    else if (schedule)
      rewriter.modifyOpInPlace(
          op, [&] { op->setAttr(kernels::kScheduleAttrName, schedule); });
    return success();
  }

  /// The model's schedule of the layer's kernel in `format`: for a sparse
  /// product (kernels sparse-opt-{csr,bsr,nm}-kernels) and a dense matmul
  /// with a static N (sparse-opt-dense-kernels: parallel or not); none for a
  /// dense matvec (left to sparse-opt-dense-loops) or a dynamic dense N.
  /// The heavier half's share of the non-zeros of `matrix` (rows in the
  /// kernels' order) x 2: how uneven an even two-way row split is.
  static double rowSplitImbalance(const NonZeroMatrix &matrix) {
    int64_t half = matrix.rows() / 2, first = 0, total = 0;
    for (int64_t r = 0; r < matrix.rows(); ++r)
      for (int64_t c = 0; c < matrix.cols(); ++c)
        if (matrix.at(r, c)) {
          ++total;
          first += r < half;
        }
    // A single row cannot be split at all.
    if (total == 0 || matrix.rows() < 2)
      return 1.0;
    return 2.0 * double(std::max(first, total - first)) / double(total);
  }

  static std::optional<KernelScheduleChoice>
  scheduleFor(const CostModel &model, const WeightStats &stats,
              const WeightFormat &format, const LayerShape &shape,
              bool nDynamic, bool isMatmul, double imbalance) {
    if (format.isDense() && (!isMatmul || nDynamic))
      return std::nullopt;
    std::optional<FormatFootprint> footprint = formatFootprint(stats, format);
    // A format the model has no fit for (a fixed format) keeps the passes'
    // options.
    if (!footprint || !model.predictKernel(format, *footprint, shape))
      return std::nullopt;
    return model.schedule(format, *footprint, shape, nDynamic, imbalance);
  }

  DictionaryAttr scheduleAttr(const KernelScheduleChoice &choice) {
    Builder b(&getContext());
    SmallVector<NamedAttribute> entries;
    entries.push_back(b.getNamedAttr("parallel", b.getBoolAttr(choice.parallel)));
    auto integer = [&](StringRef key, int64_t value) {
      value = std::min<int64_t>(value, std::numeric_limits<int32_t>::max());
      entries.push_back(b.getNamedAttr(key, b.getI64IntegerAttr(value)));
    };
    if (choice.minParallelWork)
      integer("min_parallel_work", *choice.minParallelWork);
    if (choice.nTile)
      integer("n_tile", *choice.nTile);
    if (choice.kBlock)
      integer("k_block", *choice.kBlock);
    if (choice.nnzBalanced)
      entries.push_back(b.getNamedAttr("nnz_balanced", b.getBoolAttr(true)));
    return b.getDictionaryAttr(entries);
  }

  /// A predicted BSR candidate with the rows of `format` (BSR) and a
  /// multiple of its columns that stores no more values than it, if any.
  /// Its kernel runs the same register tile, multiply-adds and B-row loads
  /// per stored value over fewer blocks (coordinates, loop trips): measured
  /// up to 1.4x faster, at worst 7% slower (docs/cost-model.md). The fits,
  /// each measured on random blocks of its own shape, do not rank the two
  /// on one weight reliably, so the narrower block is not chosen by them.
  static std::optional<WeightFormat> widerBlockStoringAsLittle(
      const WeightStats &stats, const WeightFormat &format,
      ArrayRef<std::pair<WeightFormat, double>> predicted) {
    if (format.kind != WeightFormat::Kind::Bsr)
      return std::nullopt;
    std::optional<FormatFootprint> narrow = formatFootprint(stats, format);
    for (const auto &[other, seconds] : predicted) {
      if (other.kind != WeightFormat::Kind::Bsr || other.a != format.a ||
          other.b <= format.b || other.b % format.b)
        continue;
      std::optional<FormatFootprint> wide = formatFootprint(stats, other);
      if (narrow && wide && wide->storedValues <= narrow->storedValues)
        return other;
    }
    return std::nullopt;
  }

  /// "fastest predicted, 2.50x dense" or, for dense, how much slower the
  /// runner-up (not `passedOver`) is.
  static std::string
  describeChoice(ArrayRef<std::pair<std::string, double>> predictions,
                 StringRef chosen, ArrayRef<std::string> passedOver) {
    double best = 0, dense = 0;
    std::optional<std::pair<std::string, double>> runnerUp;
    for (const auto &[format, seconds] : predictions) {
      if (format == chosen)
        best = seconds;
      else if (!llvm::is_contained(passedOver, format) &&
               (!runnerUp || seconds < runnerUp->second))
        runnerUp = {format, seconds};
      if (format == "dense")
        dense = seconds;
    }
    if (chosen != "dense")
      return llvm::formatv("fastest predicted, {0:f2}x faster than dense",
                           dense / best)
          .str();
    if (!runnerUp)
      return "the only prediction";
    return llvm::formatv("fastest predicted; {0} {1:f2}x slower",
                         runnerUp->first, runnerUp->second / best)
        .str();
  }

  std::optional<WeightFormat> globalFormat;
  std::vector<Override> overrideList;
  std::optional<CostModel> model;
};

} // namespace

namespace {

/// The options of `sparse-opt-report`: those of the pass that shape the
/// decision and the report.
struct ReportOptions : public PassPipelineOptions<ReportOptions> {
  Option<std::string> file{*this, "file",
                           llvm::cl::desc("Report file ('-': stdout)"),
                           llvm::cl::init("-")};
  Option<std::string> format{*this, "format",
                             llvm::cl::desc("text or json"),
                             llvm::cl::init("text")};
  Option<std::string> formats{
      *this, "formats",
      llvm::cl::desc("auto (cost model), dense, csr, bsr:RxC or nm:N:M"),
      llvm::cl::init("auto")};
  Option<std::string> costModel{
      *this, "cost-model",
      llvm::cl::desc("Cost model file; empty: the shipped one"),
      llvm::cl::init("")};
  Option<std::string> targetCpu{*this, "target-cpu",
                                llvm::cl::desc("LLVM CPU the code is for"),
                                llvm::cl::init("host")};
  Option<std::string> targetFeatures{
      *this, "target-features", llvm::cl::desc("Extra LLVM target features"),
      llvm::cl::init("")};
  Option<std::string> overrides{
      *this, "overrides",
      llvm::cl::desc("PATTERN=FORMAT,...: formats by layer-name glob"),
      llvm::cl::init("")};
  Option<double> minSparsity{
      *this, "min-sparsity",
      llvm::cl::desc("Keep weights less sparse than this dense"),
      llvm::cl::init(0.0)};
  Option<int64_t> dynamicN{
      *this, "dynamic-n",
      llvm::cl::desc("Activation count assumed where it is dynamic"),
      llvm::cl::init(1)};
  Option<std::string> convToMatmul{
      *this, "conv-to-matmul",
      llvm::cl::desc("Which convolutions become products first, as in the "
                     "CPU pipeline: all, sparse (at least min-sparsity) or "
                     "none"),
      llvm::cl::init("all")};
  Option<bool> schedules{
      *this, "schedules",
      llvm::cl::desc("Also decide and report each kernel's schedule"),
      llvm::cl::init(true)};
};

} // namespace

void mlir::sparse_opt::registerWeightReportPipeline() {
  PassPipelineRegistration<ReportOptions>(
      "sparse-opt-report",
      "Explain the storage format sparse-opt-select-weight-formats would "
      "choose for each constant weight, without changing the weights",
      [](OpPassManager &pm, const ReportOptions &options) {
        // Convolutions are reported as the products the CPU pipeline makes
        // of them before it chooses formats.
        if (options.convToMatmul != "none") {
          SparseOptConvolutionToMatmulOptions conv;
          conv.convert = options.convToMatmul;
          conv.minSparsity = options.minSparsity;
          pm.addNestedPass<func::FuncOp>(
              createSparseOptConvolutionToMatmul(conv));
        }
        SparseOptSelectWeightFormatsOptions select;
        select.report = options.file;
        select.reportFormat = options.format;
        select.formats = options.formats;
        select.costModel = options.costModel;
        select.targetCpu = options.targetCpu;
        select.targetFeatures = options.targetFeatures;
        select.overrides = options.overrides;
        select.minSparsity = options.minSparsity;
        select.dynamicN = options.dynamicN;
        select.schedules = options.schedules;
        select.rewrite = false;
        pm.addPass(createSparseOptSelectWeightFormats(select));
      });
}
