//===- AnalyzeWeights.cpp - Report the sparsity of constant weights -------===//
//
// Implements `sparse-opt-analyze-weights`; see Passes.td for the contract.
// The statistics come from lib/Analysis/WeightAnalysis; this pass finds the
// weights (constant operands of contractions and convolutions, see
// findLayerWeight), records the statistics on the op and writes the
// per-layer report (WeightReport.h).
//
//===----------------------------------------------------------------------===//

#include "sparse-opt/Analysis/WeightAnalysis.h"
#include "sparse-opt/Transforms/Passes.h"

#include "WeightReport.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace mlir::sparse_opt {
#define GEN_PASS_DEF_SPARSEOPTANALYZEWEIGHTS
#include "sparse-opt/Transforms/Passes.h.inc"
} // namespace mlir::sparse_opt

using namespace mlir;
using namespace mlir::sparse_opt;

namespace {

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
    if (failed(checkReportFormat(getOperation(), getArgument(),
                                 reportFormat)))
      return signalPassFailure();

    std::vector<LayerReport> layers;
    getOperation().walk([&](Operation *op) {
      std::optional<LayerWeight> view = findLayerWeight(op);
      if (!view)
        return;
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
        return;
      }
      WeightStats stats = analyzeWeight(*matrix, patterns, shapes);
      recordOnOp(op, view->operand, stats);
      layers.push_back({layerName(op), op->getName().getStringRef().str(),
                        view->operand, std::move(stats), std::nullopt});
    });
    if (!report.empty() &&
        failed(writeWeightReport(getOperation(), getArgument(), report,
                                 reportFormat, layers)))
      return signalPassFailure();
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
