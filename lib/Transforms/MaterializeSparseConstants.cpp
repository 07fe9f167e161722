//===- MaterializeSparseConstants.cpp - Sparse storage at compile time ----===//
//
// Implements `sparse-opt-materialize-sparse-constants`; see Passes.td for
// the contract.
//
//===----------------------------------------------------------------------===//

#include "sparse-opt/Transforms/Passes.h"

#include "KernelSupport.h"

#include "mlir/Dialect/SparseTensor/IR/SparseTensorType.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

#include <map>
#include <optional>

namespace mlir::sparse_opt {
#define GEN_PASS_DEF_SPARSEOPTMATERIALIZESPARSECONSTANTS
#include "sparse-opt/Transforms/Passes.h.inc"
} // namespace mlir::sparse_opt

using namespace mlir;
using namespace mlir::sparse_tensor;
using mlir::sparse_opt::kernels::assembleInLevelSpace;
using mlir::sparse_opt::kernels::isCsr;
using mlir::sparse_opt::kernels::matchBsrBlock;
using mlir::sparse_opt::kernels::matchNm;

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

/// The storage of a constant sparse weight: its level buffers in the order
/// `sparse_tensor.assemble` takes them (each with its element type) and its
/// values.
struct Storage {
  SmallVector<std::pair<SmallVector<int64_t>, Type>> levels;
  SmallVector<APFloat> values;
};

/// Checks that `count` entries and coordinates up to `maxCoordinate` fit
/// the encoding's position and coordinate types; emits an error on `op`
/// otherwise.
LogicalResult checkWidths(Operation *op, SparseTensorType type, int64_t count,
                          int64_t maxCoordinate) {
  if (fitsUnsigned(count, type.getPosType()) &&
      fitsUnsigned(maxCoordinate, type.getCrdType()))
    return success();
  return op->emitError() << "constant weight with " << count
                         << " stored entries and coordinates up to "
                         << maxCoordinate
                         << " does not fit the encoding's positions ("
                         << type.getPosType() << ") and coordinates ("
                         << type.getCrdType() << "); widen posWidth / crdWidth";
}

APFloat convertTo(APFloat value, FloatType type) {
  bool losesInfo = false;
  value.convert(type.getFloatSemantics(), APFloat::rmNearestTiesToEven,
                &losesInfo);
  return value;
}

/// CSR: positions per row, a column per non-zero.
FailureOr<Storage> buildCsr(Operation *op, SparseTensorType type,
                            ArrayRef<NonZero> nonZeros, FloatType elementType) {
  int64_t rows = type.getDimShape()[0], columns = type.getDimShape()[1];
  int64_t count = nonZeros.size();
  if (failed(checkWidths(op, type, count, columns - 1)))
    return failure();
  SmallVector<int64_t> positions(rows + 1, 0), coordinates;
  Storage storage;
  for (const NonZero &nonZero : nonZeros) {
    ++positions[nonZero.row + 1];
    coordinates.push_back(nonZero.column);
    storage.values.push_back(convertTo(nonZero.value, elementType));
  }
  for (int64_t row = 0; row < rows; ++row)
    positions[row + 1] += positions[row];
  storage.levels.push_back({positions, type.getPosType()});
  storage.levels.push_back({coordinates, type.getCrdType()});
  return storage;
}

/// BSR with R x C blocks: positions per block row, a block column per
/// stored block, each block's R x C values row-major with zeros where the
/// constant has none.
FailureOr<Storage> buildBsr(Operation *op, SparseTensorType type,
                            ArrayRef<NonZero> nonZeros, FloatType elementType,
                            int64_t blockRows, int64_t blockCols) {
  int64_t rows = type.getDimShape()[0], columns = type.getDimShape()[1];
  if (rows % blockRows || columns % blockCols)
    return op->emitError() << blockRows << " x " << blockCols
                           << " blocks do not tile the " << rows << " x "
                           << columns << " constant weight";
  // Blocks in (block row, block column) order; nonZeros are row-major, so
  // collect then sort.
  std::map<std::pair<int64_t, int64_t>, SmallVector<APFloat>> blocks;
  APFloat zero = APFloat::getZero(elementType.getFloatSemantics());
  for (const NonZero &nonZero : nonZeros) {
    auto [it, inserted] = blocks.try_emplace(
        {nonZero.row / blockRows, nonZero.column / blockCols},
        SmallVector<APFloat>(blockRows * blockCols, zero));
    it->second[(nonZero.row % blockRows) * blockCols +
               nonZero.column % blockCols] =
        convertTo(nonZero.value, elementType);
  }
  int64_t count = blocks.size();
  if (failed(checkWidths(op, type, count, columns / blockCols - 1)))
    return failure();
  SmallVector<int64_t> positions(rows / blockRows + 1, 0), coordinates;
  Storage storage;
  for (auto &[at, values] : blocks) {
    ++positions[at.first + 1];
    coordinates.push_back(at.second);
    storage.values.append(values.begin(), values.end());
  }
  for (size_t blockRow = 0; blockRow + 1 < positions.size(); ++blockRow)
    positions[blockRow + 1] += positions[blockRow];
  storage.levels.push_back({positions, type.getPosType()});
  storage.levels.push_back({coordinates, type.getCrdType()});
  return storage;
}

/// N:M: exactly N values per group of M columns with their in-group
/// positions, groups with fewer non-zeros padded with zeros at their lowest
/// free positions. A group with more than N non-zeros is an error naming it:
/// pruning is the user's decision, not the compiler's.
FailureOr<Storage> buildNm(Operation *op, SparseTensorType type,
                           ArrayRef<NonZero> nonZeros, FloatType elementType,
                           int64_t n, int64_t m) {
  int64_t rows = type.getDimShape()[0], columns = type.getDimShape()[1];
  if (columns % m)
    return op->emitError() << "constant weight has " << columns
                           << " columns, not a multiple of " << m << " as " << n
                           << ":" << m << " needs";
  int64_t groups = columns / m;
  if (failed(checkWidths(op, type, rows * groups * n, m - 1)))
    return failure();
  APFloat zero = APFloat::getZero(elementType.getFloatSemantics());
  SmallVector<int64_t> offsets;
  Storage storage;
  const NonZero *next = nonZeros.begin();
  for (int64_t row = 0; row < rows; ++row)
    for (int64_t group = 0; group < groups; ++group) {
      SmallVector<std::optional<APFloat>> slots(m);
      int64_t stored = 0;
      for (; next != nonZeros.end() && next->row == row &&
             next->column / m == group;
           ++next, ++stored)
        slots[next->column % m] = convertTo(next->value, elementType);
      if (stored > n)
        return op->emitError()
               << "constant weight is not " << n << ":" << m << ": row " << row
               << ", columns " << group * m << ".." << group * m + m - 1
               << " hold " << stored << " non-zeros";
      for (int64_t slot = 0; slot < m && stored < n; ++slot)
        if (!slots[slot]) {
          slots[slot] = zero;
          ++stored;
        }
      for (int64_t slot = 0; slot < m; ++slot)
        if (slots[slot]) {
          offsets.push_back(slot);
          storage.values.push_back(*slots[slot]);
        }
    }
  storage.levels.push_back({offsets, type.getCrdType()});
  return storage;
}

/// Replaces `op`, whose result is a CSR, BSR or N:M tensor holding the
/// constant `elements`, with `sparse_tensor.assemble` of compile-time
/// storage buffers.
LogicalResult materialize(Operation *op, ElementsAttr elements,
                          PatternRewriter &rewriter) {
  auto resultType = cast<RankedTensorType>(op->getResult(0).getType());
  SparseTensorType type(resultType);
  auto elementType = dyn_cast<FloatType>(resultType.getElementType());
  if (!type.hasEncoding() || type.getDimRank() != 2 || !elementType ||
      !resultType.hasStaticShape())
    return rewriter.notifyMatchFailure(op, "not a static 2-D float constant");
  bool csr = isCsr(type);
  FailureOr<std::pair<int64_t, int64_t>> block = matchBsrBlock(type);
  FailureOr<std::pair<int64_t, int64_t>> nm = matchNm(type);
  if (!csr && failed(block) && failed(nm))
    return rewriter.notifyMatchFailure(op, "not CSR, BSR or N:M");

  FailureOr<SmallVector<NonZero>> nonZeros =
      collectNonZeros(elements, resultType.getDimSize(1));
  if (failed(nonZeros))
    return rewriter.notifyMatchFailure(op, "values are not readable floats");
  FailureOr<Storage> storage =
      csr ? buildCsr(op, type, *nonZeros, elementType)
      : succeeded(block)
          ? buildBsr(op, type, *nonZeros, elementType, block->first,
                     block->second)
          : buildNm(op, type, *nonZeros, elementType, nm->first, nm->second);
  if (failed(storage))
    return failure();
  // Zero-length buffers trip bufferization's subviews; an empty weight
  // keeps one unused slot (its positions say there are no entries).
  for (auto &[buffer, bufferType] : storage->levels)
    if (buffer.empty())
      buffer.push_back(0);
  if (storage->values.empty())
    storage->values.push_back(
        APFloat::getZero(elementType.getFloatSemantics()));

  Location loc = op->getLoc();
  SmallVector<Value> levels;
  for (auto &[buffer, bufferType] : storage->levels)
    levels.push_back(integerConstant(rewriter, loc, bufferType, buffer));
  auto valuesType =
      RankedTensorType::get({int64_t(storage->values.size())}, elementType);
  Value values = arith::ConstantOp::create(
      rewriter, loc, valuesType,
      DenseElementsAttr::get(valuesType, storage->values));
  if (succeeded(block))
    rewriter.replaceOp(
        op, assembleInLevelSpace(rewriter, loc, resultType, levels, values));
  else
    rewriter.replaceOpWithNewOp<AssembleOp>(op, resultType, levels, values);
  return success();
}

/// `sparse_tensor.convert` of a constant into a sparse format.
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
    if (failed(materialize(convert, elements, rewriter)))
      return failure();
    // The dense original would otherwise end up in the library too.
    if (constant->use_empty())
      rewriter.eraseOp(constant);
    return success();
  }
};

/// An `arith.constant` of a sparse tensor type.
struct SparseTypedConstant : public OpRewritePattern<arith::ConstantOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(arith::ConstantOp constant,
                                PatternRewriter &rewriter) const override {
    auto elements = dyn_cast<ElementsAttr>(constant.getValue());
    if (!elements || !getSparseTensorEncoding(constant.getType()))
      return failure();
    return materialize(constant, elements, rewriter);
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
