//===- AnalyzeWeights.cpp - Report the sparsity of constant weights -------===//
//
// Implements `sparse-opt-analyze-weights`; see Passes.td for the contract.
// The statistics come from lib/Analysis/WeightAnalysis; this pass finds the
// weights (constant operands of contractions and convolutions), records
// the statistics on the op and writes the per-layer report.
//
//===----------------------------------------------------------------------===//

#include "sparse-opt/Analysis/WeightAnalysis.h"
#include "sparse-opt/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/ToolOutputFile.h"

namespace mlir::sparse_opt {
#define GEN_PASS_DEF_SPARSEOPTANALYZEWEIGHTS
#include "sparse-opt/Transforms/Passes.h.inc"
} // namespace mlir::sparse_opt

using namespace mlir;
using namespace mlir::sparse_opt;

namespace {

/// Where a layer's weight is and how its elements map to (output feature,
/// reduction index).
struct WeightView {
  unsigned operand;
  ElementsAttr values;
  int64_t rows, cols, rowStride, colStride;
};

std::optional<WeightView> constantOperand(Operation *op, unsigned operand,
                                          ArrayRef<int64_t> expectedRankShape) {
  ElementsAttr values;
  if (!matchPattern(op->getOperand(operand), m_Constant(&values)))
    return std::nullopt;
  auto type = dyn_cast<RankedTensorType>(values.getType());
  if (!type || !type.hasStaticShape() || type.getEncoding() ||
      type.getRank() != int64_t(expectedRankShape.size()))
    return std::nullopt;
  return WeightView{operand, values, 0, 0, 0, 0};
}

/// The weight of `op`, if it has a constant one this pass understands.
std::optional<WeightView> findWeight(Operation *op) {
  auto shapeOf = [](const WeightView &view) {
    return cast<RankedTensorType>(view.values.getType()).getShape();
  };
  if (auto matmul = dyn_cast<linalg::MatmulOp>(op)) {
    if (matmul.hasUserDefinedMaps())
      return std::nullopt;
    // X W with a constant W (K x N): output features are W's columns.
    if (auto view = constantOperand(op, 1, {0, 0})) {
      ArrayRef<int64_t> shape = shapeOf(*view);
      view->rows = shape[1];
      view->cols = shape[0];
      view->rowStride = 1;
      view->colStride = shape[1];
      return view;
    }
    if (auto view = constantOperand(op, 0, {0, 0})) {
      ArrayRef<int64_t> shape = shapeOf(*view);
      view->rows = shape[0];
      view->cols = shape[1];
      view->rowStride = shape[1];
      view->colStride = 1;
      return view;
    }
    return std::nullopt;
  }
  if (isa<linalg::MatvecOp>(op)) {
    if (auto view = constantOperand(op, 0, {0, 0})) {
      ArrayRef<int64_t> shape = shapeOf(*view);
      *view = WeightView{0, view->values, shape[0], shape[1], shape[1], 1};
      return view;
    }
    return std::nullopt;
  }
  // Filters, output features first: F x (C KH KW) as stored (FCHW, FHWC),
  // or F last (HWCF).
  bool featuresFirst =
      isa<linalg::Conv2DNchwFchwOp, linalg::Conv2DNhwcFhwcOp>(op);
  if (featuresFirst || isa<linalg::Conv2DNhwcHwcfOp>(op)) {
    auto view = constantOperand(op, 1, {0, 0, 0, 0});
    if (!view)
      return std::nullopt;
    ArrayRef<int64_t> shape = shapeOf(*view);
    int64_t features = featuresFirst ? shape[0] : shape[3];
    int64_t reduction = shape[0] * shape[1] * shape[2] * shape[3] / features;
    view->rows = features;
    view->cols = reduction;
    view->rowStride = featuresFirst ? reduction : 1;
    view->colStride = featuresFirst ? 1 : features;
    return view;
  }
  return std::nullopt;
}

std::string layerName(Operation *op) {
  if (auto name = dyn_cast<NameLoc>(op->getLoc()))
    return name.getName().str();
  std::string text;
  llvm::raw_string_ostream os(text);
  op->getLoc().print(os);
  return text;
}

struct Layer {
  std::string name, opName;
  unsigned operand;
  WeightStats stats;
};

void writeText(llvm::raw_ostream &os, ArrayRef<Layer> layers) {
  os << "# sparse-opt weight report: one row per layer. rows = output "
        "features, cols = reduction; row nnz min/mean/max (cv = std/mean); "
        "N:M patterns the weight conforms to; blocks RxC: non-zero block "
        "share / fill\n";
  for (const Layer &layer : layers) {
    const WeightStats &s = layer.stats;
    os << layer.name << "  " << layer.opName << " operand " << layer.operand
       << "  " << s.rows << "x" << s.cols << "  sparsity "
       << llvm::format("%.4f", 1.0 - s.density) << "  nnz " << s.nonZeros
       << "  row nnz " << s.minRowNonZeros << "/"
       << llvm::format("%.1f", s.meanRowNonZeros) << "/" << s.maxRowNonZeros
       << " (cv " << llvm::format("%.2f", s.rowVariation) << ", "
       << s.emptyRows << " empty)  N:M";
    bool any = false;
    for (const NmConformance &nm : s.nm)
      if (nm.conforms()) {
        os << " " << nm.pattern.str();
        any = true;
      }
    if (!any)
      os << " none";
    os << "  blocks";
    for (const BlockFill &block : s.blocks)
      os << " " << block.shape.str() << ":"
         << llvm::format("%.2f", block.share())
         << "/" << llvm::format("%.2f", block.fill);
    os << "\n";
  }
}

void writeJson(llvm::raw_ostream &os, ArrayRef<Layer> layers) {
  llvm::json::Array rows;
  for (const Layer &layer : layers) {
    llvm::json::Object row = layer.stats.toJson();
    row["layer"] = layer.name;
    row["op"] = layer.opName;
    row["operand"] = int64_t(layer.operand);
    rows.push_back(std::move(row));
  }
  os << llvm::formatv("{0:2}", llvm::json::Value(llvm::json::Object{
                                   {"layers", std::move(rows)}}))
     << "\n";
}

struct AnalyzeWeightsPass
    : public sparse_opt::impl::SparseOptAnalyzeWeightsBase<
          AnalyzeWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    std::vector<NmPattern> patterns;
    std::vector<BlockShape> shapes;
    if (auto error = parseNmPatterns(nmPatterns, patterns)) {
      getOperation().emitError() << "sparse-opt-analyze-weights: nm-patterns: "
                                 << *error;
      return signalPassFailure();
    }
    if (auto error = parseBlockShapes(blockShapes, shapes)) {
      getOperation().emitError() << "sparse-opt-analyze-weights: block-shapes: "
                                 << *error;
      return signalPassFailure();
    }
    if (reportFormat != "text" && reportFormat != "json") {
      getOperation().emitError()
          << "sparse-opt-analyze-weights: report-format must be 'text' or "
             "'json', got '"
          << reportFormat << "'";
      return signalPassFailure();
    }

    std::vector<Layer> layers;
    WalkResult walk = getOperation().walk([&](Operation *op) {
      std::optional<WeightView> view = findWeight(op);
      if (!view)
        return WalkResult::advance();
      std::optional<NonZeroMatrix> matrix = NonZeroMatrix::fromElements(
          view->values, view->rows, view->cols, view->rowStride,
          view->colStride);
      if (!matrix) {
        // A float weight whose data cannot be read (e.g. an elided
        // resource) is not analyzable; other element types are not weights
        // this compiler sparsifies.
        if (isa<FloatType>(view->values.getElementType()))
          op->emitWarning("sparse-opt-analyze-weights: the weight's values "
                          "are not available; not analyzed");
        return WalkResult::advance();
      }
      WeightStats stats = analyzeWeight(*matrix, patterns, shapes);
      recordOnOp(op, view->operand, stats);
      layers.push_back({layerName(op), op->getName().getStringRef().str(),
                        view->operand, std::move(stats)});
      return WalkResult::advance();
    });
    if (walk.wasInterrupted())
      return signalPassFailure();
    if (report.empty())
      return;
    std::string error;
    std::unique_ptr<llvm::ToolOutputFile> file = openOutputFile(report, &error);
    if (!file) {
      getOperation().emitError()
          << "sparse-opt-analyze-weights: cannot write the report: " << error;
      return signalPassFailure();
    }
    if (reportFormat == "json")
      writeJson(file->os(), layers);
    else
      writeText(file->os(), layers);
    file->keep();
  }

  /// The statistics the format choice reads, as `sparse_opt.weight`.
  static void recordOnOp(Operation *op, unsigned operand,
                         const WeightStats &stats) {
    Builder b(op->getContext());
    SmallVector<Attribute> nm, formats;
    for (const NmConformance &conformance : stats.nm)
      if (conformance.conforms())
        nm.push_back(b.getStringAttr(conformance.pattern.str()));
    for (const std::string &format : stats.exactFormats())
      formats.push_back(b.getStringAttr(format));
    op->setAttr("sparse_opt.weight",
                b.getDictionaryAttr({
                    b.getNamedAttr("operand", b.getI64IntegerAttr(operand)),
                    b.getNamedAttr("rows", b.getI64IntegerAttr(stats.rows)),
                    b.getNamedAttr("cols", b.getI64IntegerAttr(stats.cols)),
                    b.getNamedAttr("nonzeros",
                                   b.getI64IntegerAttr(stats.nonZeros)),
                    b.getNamedAttr("density", b.getF64FloatAttr(stats.density)),
                    b.getNamedAttr("empty_rows",
                                   b.getI64IntegerAttr(stats.emptyRows)),
                    b.getNamedAttr("max_row_nonzeros",
                                   b.getI64IntegerAttr(stats.maxRowNonZeros)),
                    b.getNamedAttr("row_variation",
                                   b.getF64FloatAttr(stats.rowVariation)),
                    b.getNamedAttr("nm", b.getArrayAttr(nm)),
                    b.getNamedAttr("exact_formats", b.getArrayAttr(formats)),
                }));
  }
};

} // namespace
