//===- DenseLoops.cpp - Parallel vector loops for dense linalg ops --------===//
//
// Implements `sparse-opt-dense-loops`; see Passes.td for the contract. What
// is left of a model after the product kernels (elementwise ops, softmax
// and normalization reductions, transposes, pooling, convolutions) would
// otherwise become serial scalar loops (convert-linalg-to-loops). This pass
// uses upstream linalg tiling for the thread and vector levels and the
// linalg vectorizer (with masks for partial vectors) for the innermost one,
// then lowers the vector forms the vectorizer leaves (masks, unit dims,
// multi-reductions) to what convert-vector-to-llvm expects.
//
//===----------------------------------------------------------------------===//

#include "sparse-opt/Transforms/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Dialect/Vector/Transforms/LoweringPatterns.h"
#include "mlir/Dialect/Vector/Transforms/VectorRewritePatterns.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include <limits>

namespace mlir::sparse_opt {
#define GEN_PASS_DEF_SPARSEOPTDENSELOOPS
#include "sparse-opt/Transforms/Passes.h.inc"
} // namespace mlir::sparse_opt

using namespace mlir;

namespace {

/// The widest element type of `op`'s operands in bits, or 0 if one is not
/// an integer or float of whole bytes: LLVM stores vectors of i1 bit-packed
/// while memrefs hold a byte per i1.
unsigned widestElementBits(linalg::LinalgOp op) {
  unsigned widest = 0;
  for (OpOperand &operand : op->getOpOperands()) {
    Type element = getElementTypeOrSelf(operand.get().getType());
    if (!element.isIntOrFloat() || element.getIntOrFloatBitWidth() % 8 != 0)
      return 0;
    widest = std::max(widest, element.getIntOrFloatBitWidth());
  }
  return widest;
}

/// Whether every operand reads or writes the innermost loop contiguously:
/// its map ends with that loop (unit stride in the buffer) or does not use
/// it at all (a broadcast, or the output of an inner reduction). Others
/// (transposes of the innermost dimension, strided views) would become
/// gathers and scatters, which the scalar loops do as well.
bool accessesInnermostLoopContiguously(linalg::LinalgOp op) {
  unsigned innermost = op.getNumLoops() - 1;
  for (OpOperand &operand : op->getOpOperands()) {
    AffineMap map = op.getMatchingIndexingMap(&operand);
    if (!map.isFunctionOfDim(innermost))
      continue;
    if (map.getNumResults() == 0 ||
        map.getResults().back() != getAffineDimExpr(innermost, op.getContext()))
      return false;
    for (AffineExpr result : map.getResults().drop_back())
      if (result.isFunctionOfDim(innermost))
        return false;
    auto type = dyn_cast<MemRefType>(operand.get().getType());
    if (!type || type.getRank() == 0)
      return false;
    SmallVector<int64_t> strides;
    int64_t offset;
    if (failed(type.getStridesAndOffset(strides, offset)) ||
        strides.back() != 1)
      return false;
  }
  return true;
}

/// Iterations of `op`'s loop nest, or the largest int64 when one is
/// dynamic.
int64_t iterationCount(linalg::LinalgOp op) {
  int64_t count = 1;
  for (int64_t range : op.getStaticLoopRanges()) {
    if (ShapedType::isDynamic(range) ||
        count > std::numeric_limits<int64_t>::max() / std::max<int64_t>(range, 1))
      return std::numeric_limits<int64_t>::max();
    count *= range;
  }
  return count;
}

/// Replaces `op` by its tiles of `sizes` (0: untiled) in loops of
/// `loopType`; returns the tile's op.
FailureOr<linalg::LinalgOp> tileInPlace(IRRewriter &rewriter,
                                        linalg::LinalgOp op,
                                        ArrayRef<int64_t> sizes,
                                        linalg::LinalgTilingLoopType loopType) {
  FailureOr<linalg::TiledLinalgOp> tiled = linalg::tileLinalgOp(
      rewriter, op,
      linalg::LinalgTilingOptions().setTileSizes(sizes).setLoopType(loopType));
  if (failed(tiled))
    return failure();
  rewriter.eraseOp(op);
  return tiled->op;
}

class DenseLoopsPass
    : public sparse_opt::impl::SparseOptDenseLoopsBase<DenseLoopsPass> {
public:
  using Base::Base;

  void runOnOperation() override {
    SmallVector<linalg::LinalgOp> ops;
    getOperation().walk([&](linalg::LinalgOp op) {
      if (op.hasPureBufferSemantics() && op.getNumLoops() > 0)
        ops.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    bool vectorized = false;
    for (linalg::LinalgOp op : ops)
      vectorized |= tileAndVectorize(rewriter, op);
    if (vectorized && failed(lowerVectorForms()))
      return signalPassFailure();
  }

private:
  /// Tiles `op` into a parallel loop over its leading parallel dimensions
  /// (when it is large enough) and a loop over vectors of its innermost
  /// dimension, which it vectorizes. Returns whether it vectorized.
  bool tileAndVectorize(IRRewriter &rewriter, linalg::LinalgOp op) {
    unsigned loops = op.getNumLoops();
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    unsigned leadingParallel = 0;
    while (leadingParallel < loops &&
           iterators[leadingParallel] == utils::IteratorType::parallel)
      ++leadingParallel;

    rewriter.setInsertionPoint(op);
    if (parallel && leadingParallel > 0 &&
        iterationCount(op) >= int64_t(parallelMinIterations)) {
      // Threads take the leading parallel dimensions one index at a time,
      // all but the innermost loop, which stays whole for the vectors; an
      // op of one loop is cut into chunks of `parallel-chunk` iterations.
      SmallVector<int64_t> sizes(loops, 0);
      if (loops == 1)
        sizes[0] = parallelChunk;
      for (unsigned d = 0; d < std::min(leadingParallel, loops - 1); ++d)
        sizes[d] = 1;
      FailureOr<linalg::LinalgOp> tiled = tileInPlace(
          rewriter, op, sizes, linalg::LinalgTilingLoopType::ParallelLoops);
      if (failed(tiled))
        return false;
      op = *tiled;
      rewriter.setInsertionPoint(op);
    }

    unsigned bits = widestElementBits(op);
    if (vectorLength == 0 || bits == 0 || bits > 32 * vectorLength ||
        !accessesInnermostLoopContiguously(op))
      return false;
    int64_t lanes = int64_t(vectorLength) * 32 / bits;
    // A reduction over the innermost loop takes whole vectors only: the
    // masked reductions the vectorizer emits for a partial vector fold the
    // masked-off (poison) lanes in after MLIR 22's unit-dim rewrites.
    if (iterators.back() == utils::IteratorType::reduction) {
      int64_t range = op.getStaticLoopRanges().back();
      if (ShapedType::isDynamic(range))
        return false;
      while (lanes > 1 && range % lanes != 0)
        lanes /= 2;
      if (lanes == 1)
        return false;
    }
    // One vector of the innermost dimension per iteration of the outer ones.
    SmallVector<int64_t> vectorSizes(loops, 1);
    vectorSizes.back() = lanes;
    FailureOr<linalg::LinalgOp> tiled = tileInPlace(
        rewriter, op, vectorSizes, linalg::LinalgTilingLoopType::Loops);
    if (failed(tiled))
      return false;
    linalg::LinalgOp tile = *tiled;
    // Explicitly not scalable: MLIR 22 reads one flag per vector size.
    SmallVector<bool> scalable(loops, false);
    if (failed(linalg::vectorizeOpPrecondition(tile, vectorSizes, scalable)))
      return false; // the scalar tile loops remain (convert-linalg-to-loops)
    rewriter.setInsertionPoint(tile);
    if (failed(linalg::vectorize(rewriter, tile, vectorSizes, scalable)))
      return false;
    rewriter.eraseOp(tile);
    return true;
  }

  /// Brings the vectorizer's output to the 1-D, mask-free (masked load /
  /// store) forms the rest of the pipeline lowers well, and replaces math
  /// functions by polynomial approximations on vectors (LLVM would
  /// otherwise call the scalar libm function once per lane).
  LogicalResult lowerVectorForms() {
    MLIRContext *context = &getContext();
    RewritePatternSet patterns(context);
    vector::populateVectorMaskLoweringPatternsForSideEffectingOps(patterns);
    vector::populateCastAwayVectorLeadingOneDimPatterns(patterns);
    vector::populateDropUnitDimWithShapeCastPatterns(patterns);
    vector::populateVectorMultiReductionLoweringPatterns(
        patterns, vector::VectorMultiReductionLowering::InnerReduction);
    vector::populateVectorMaskOpLoweringPatterns(patterns);
    vector::populateVectorShapeCastLoweringPatterns(patterns);
    vector::populateVectorBroadcastLoweringPatterns(patterns);
    vector::populateVectorTransferLoweringPatterns(patterns,
                                                   /*maxTransferRank=*/1);
    populateMathPolynomialApproximationPatterns(patterns, [](StringRef name) {
      return llvm::is_contained(
          {math::ExpOp::getOperationName(), math::ExpM1Op::getOperationName(),
           math::LogOp::getOperationName(), math::Log1pOp::getOperationName(),
           math::Log2Op::getOperationName(), math::TanhOp::getOperationName(),
           math::ErfOp::getOperationName()},
          name);
    });
    for (Dialect *dialect : context->getLoadedDialects())
      dialect->getCanonicalizationPatterns(patterns);
    for (RegisteredOperationName name : context->getRegisteredOperations())
      name.getCanonicalizationPatterns(patterns, context);
    return applyPatternsGreedily(getOperation(), std::move(patterns));
  }
};

} // namespace
