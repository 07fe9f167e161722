//===- MaterializeSparseConstants.cpp - CSR storage at compile time -------===//
//
// Implements `sparse-opt-materialize-sparse-constants`; see Passes.td for
// the contract.
//
//===----------------------------------------------------------------------===//

#include "sparse-opt/Transforms/Passes.h"

#include "mlir/Dialect/SparseTensor/IR/SparseTensorType.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mlir::sparse_opt {
#define GEN_PASS_DEF_SPARSEOPTMATERIALIZESPARSECONSTANTS
#include "sparse-opt/Transforms/Passes.h.inc"
} // namespace mlir::sparse_opt

using namespace mlir;
using namespace mlir::sparse_tensor;

namespace {

struct NonZero {
  int64_t row, column;
  APFloat value;
};

/// The non-zeros of a constant rows x columns matrix in row-major order, or
/// failure if its values cannot be read as floats.
FailureOr<SmallVector<NonZero>> collectNonZeros(ElementsAttr elements,
                                                int64_t columns) {
  SmallVector<NonZero> nonZeros;
  if (auto sparse = dyn_cast<SparseElementsAttr>(elements)) {
    auto indices = llvm::to_vector(sparse.getIndices().getValues<int64_t>());
    auto values = sparse.getValues().tryGetValues<APFloat>();
    if (failed(values))
      return failure();
    for (auto [i, value] : llvm::enumerate(*values))
      if (!value.isZero())
        nonZeros.push_back({indices[2 * i], indices[2 * i + 1], value});
    llvm::sort(nonZeros, [](const NonZero &a, const NonZero &b) {
      return std::tie(a.row, a.column) < std::tie(b.row, b.column);
    });
    return nonZeros;
  }
  auto append = [&](auto values) {
    for (auto [i, value] : llvm::enumerate(values)) {
      APFloat asAPFloat(value);
      if (!asAPFloat.isZero())
        nonZeros.push_back(
            {int64_t(i) / columns, int64_t(i) % columns, asAPFloat});
    }
  };
  // Dense attributes read as APFloat; resource blobs as the C type.
  if (auto values = elements.tryGetValues<APFloat>())
    append(*values);
  else if (auto floats = elements.tryGetValues<float>())
    append(*floats);
  else if (auto doubles = elements.tryGetValues<double>())
    append(*doubles);
  else
    return failure();
  return nonZeros;
}

/// A constant vector of `values` as integers of `type` (an integer type or
/// index).
Value integerConstant(OpBuilder &b, Location loc, Type type,
                      ArrayRef<int64_t> values) {
  unsigned width = type.isIndex() ? 64 : type.getIntOrFloatBitWidth();
  SmallVector<APInt> bits;
  bits.reserve(values.size());
  for (int64_t value : values)
    bits.emplace_back(width, value);
  auto tensorType = RankedTensorType::get({int64_t(values.size())}, type);
  return arith::ConstantOp::create(b, loc, tensorType,
                                   DenseElementsAttr::get(tensorType, bits));
}

/// Whether `value` fits an unsigned integer of `type` (index always does).
bool fitsUnsigned(int64_t value, Type type) {
  if (type.isIndex())
    return true;
  unsigned width = type.getIntOrFloatBitWidth();
  return width >= 64 || value < (int64_t(1) << width);
}

/// Replaces `op`, whose result is the CSR form of the constant `elements`,
/// with `sparse_tensor.assemble` of compile-time positions, coordinates and
/// values.
LogicalResult materializeCsr(Operation *op, ElementsAttr elements,
                             PatternRewriter &rewriter) {
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  SparseTensorType csr(resultType);
  auto elementType = dyn_cast<FloatType>(resultType.getElementType());
  if (!csr.hasEncoding() || csr.getLvlRank() != 2 || !csr.isIdentity() ||
      !csr.isDenseLvl(0) || !csr.isCompressedLvl(1) || !elementType ||
      !resultType.hasStaticShape())
    return rewriter.notifyMatchFailure(op, "not a static float CSR constant");
  int64_t rows = resultType.getDimSize(0);
  int64_t columns = resultType.getDimSize(1);

  FailureOr<SmallVector<NonZero>> nonZeros =
      collectNonZeros(elements, columns);
  if (failed(nonZeros))
    return rewriter.notifyMatchFailure(op, "values are not readable floats");
  int64_t count = nonZeros->size();
  if (!fitsUnsigned(count, csr.getPosType()) ||
      !fitsUnsigned(columns - 1, csr.getCrdType())) {
    return op->emitError()
           << "constant weight with " << count << " non-zeros and "
           << columns << " columns does not fit the encoding's positions ("
           << csr.getPosType() << ") and coordinates (" << csr.getCrdType()
           << "); widen posWidth / crdWidth";
  }

  SmallVector<int64_t> positions(rows + 1, 0), coordinates;
  SmallVector<APFloat> values;
  coordinates.reserve(count);
  values.reserve(count);
  for (const NonZero &nonZero : *nonZeros) {
    ++positions[nonZero.row + 1];
    coordinates.push_back(nonZero.column);
    bool losesInfo = false;
    APFloat value = nonZero.value;
    value.convert(elementType.getFloatSemantics(),
                  APFloat::rmNearestTiesToEven, &losesInfo);
    values.push_back(value);
  }
  for (int64_t row = 0; row < rows; ++row)
    positions[row + 1] += positions[row];
  // Zero-length buffers trip bufferization's subviews; an empty weight
  // keeps one unused slot (its positions say there are no entries).
  if (count == 0) {
    coordinates.push_back(0);
    values.push_back(APFloat::getZero(elementType.getFloatSemantics()));
  }

  Location loc = op->getLoc();
  Value positionsConstant =
      integerConstant(rewriter, loc, csr.getPosType(), positions);
  Value coordinatesConstant =
      integerConstant(rewriter, loc, csr.getCrdType(), coordinates);
  auto valuesType =
      RankedTensorType::get({int64_t(values.size())}, elementType);
  Value valuesConstant = arith::ConstantOp::create(
      rewriter, loc, valuesType, DenseElementsAttr::get(valuesType, values));
  rewriter.replaceOpWithNewOp<AssembleOp>(
      op, resultType, ValueRange{positionsConstant, coordinatesConstant},
      valuesConstant);
  return success();
}

/// `sparse_tensor.convert` of a constant into CSR.
struct ConvertOfConstant : public OpRewritePattern<ConvertOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(ConvertOp convert,
                                PatternRewriter &rewriter) const override {
    auto constant = convert.getSource().getDefiningOp<arith::ConstantOp>();
    if (!constant)
      return failure();
    auto elements = dyn_cast<ElementsAttr>(constant.getValue());
    if (!elements || getSparseTensorEncoding(constant.getType()))
      return failure();
    if (failed(materializeCsr(convert, elements, rewriter)))
      return failure();
    // The dense original would otherwise end up in the library too.
    if (constant->use_empty())
      rewriter.eraseOp(constant);
    return success();
  }
};

/// An `arith.constant` of a CSR tensor type.
struct SparseTypedConstant : public OpRewritePattern<arith::ConstantOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(arith::ConstantOp constant,
                                PatternRewriter &rewriter) const override {
    auto elements = dyn_cast<ElementsAttr>(constant.getValue());
    if (!elements || !getSparseTensorEncoding(constant.getType()))
      return failure();
    return materializeCsr(constant, elements, rewriter);
  }
};

struct MaterializeSparseConstantsPass
    : public sparse_opt::impl::SparseOptMaterializeSparseConstantsBase<
          MaterializeSparseConstantsPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ConvertOfConstant, SparseTypedConstant>(&getContext());
    bool failedAny = false;
    // Errors (an encoding too narrow) are emitted by the patterns; they must
    // fail the pass, which the walk driver alone would not.
    ScopedDiagnosticHandler handler(&getContext(), [&](Diagnostic &d) {
      if (d.getSeverity() == DiagnosticSeverity::Error)
        failedAny = true;
      return failure(); // Let the diagnostic through.
    });
    walkAndApplyPatterns(getOperation(), std::move(patterns));
    if (failedAny)
      signalPassFailure();
  }
};

} // namespace
