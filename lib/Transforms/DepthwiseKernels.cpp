//===- DepthwiseKernels.cpp - Vector loops for depthwise convolutions -----===//
//
// Implements `sparse-opt-depthwise-kernels`; see Passes.td for the contract.
// A depthwise convolution's innermost loop is the filter width, so the
// generic tiling of sparse-opt-dense-loops could vectorize nothing and ran
// every output point as a scalar loop of its own; and after the pipeline's
// elementwise fusion its padding is folded into the convolution as
// bounds-checked reads. Before either, on tensors, it runs as the loops
// below instead.
//
//===----------------------------------------------------------------------===//

#include "sparse-opt/Transforms/Passes.h"

#include "KernelSupport.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mlir::sparse_opt {
#define GEN_PASS_DEF_SPARSEOPTDEPTHWISEKERNELS
#include "sparse-opt/Transforms/Passes.h.inc"
} // namespace mlir::sparse_opt

using namespace mlir;
using namespace mlir::sparse_opt::kernels;

namespace {

/// Output rows of one depthwise register tile: that many independent
/// accumulator chains hide the multiply-add latency (one output vector's
/// KH x KW taps are a chain).
constexpr int64_t kDepthwiseTileRows = 4;

/// The loops of one `linalg.depthwise_conv_2d_nchw_chw` on its operands'
/// buffers. Per (image, channel), in parallel, the KH x KW filter taps are
/// broadcast once; tiles of kDepthwiseTileRows output rows x one vector of
/// output columns (the last vector masked, leftover rows one at a time) add
/// each tap times the input vector under it: a vector load at stride 1; at
/// stride 2 two loads and a shuffle of the even lanes (the second load
/// stops one element short, which the shuffle does not use, so that it
/// never reads past the row's last needed element); otherwise, and for
/// masked stride-2 vectors, a gather.
class DepthwiseConvolutionEmitter {
public:
  /// The emitter of `op`'s loops, if it is on ranked float tensors with a
  /// static filter of at most kMaxTaps taps and static output rows and
  /// columns.
  static std::optional<DepthwiseConvolutionEmitter>
  match(linalg::DepthwiseConv2DNchwChwOp op, unsigned vectorLength) {
    auto inputType = dyn_cast<RankedTensorType>(op.getDpsInputs()[0].getType());
    auto filterType =
        dyn_cast<RankedTensorType>(op.getDpsInputs()[1].getType());
    auto outputType = dyn_cast<RankedTensorType>(op.getDpsInits()[0].getType());
    if (!inputType || !filterType || !outputType)
      return std::nullopt;
    auto element = dyn_cast<FloatType>(inputType.getElementType());
    if (!element || filterType.getElementType() != element ||
        outputType.getElementType() != element ||
        element.getWidth() > 32 * vectorLength)
      return std::nullopt;
    // Only the batch may be dynamic (it sizes a fresh result buffer).
    for (int64_t d = 1; d < 4; ++d)
      if (outputType.isDynamicDim(d) || inputType.isDynamicDim(d))
        return std::nullopt;
    DepthwiseConvolutionEmitter e;
    e.kh = filterType.getDimSize(1);
    e.kw = filterType.getDimSize(2);
    constexpr int64_t kMaxTaps = 49;
    if (ShapedType::isDynamic(e.kh) || ShapedType::isDynamic(e.kw) ||
        e.kh * e.kw > kMaxTaps)
      return std::nullopt;
    auto values = [](DenseIntElementsAttr attr) {
      return llvm::to_vector(attr.getValues<int64_t>());
    };
    SmallVector<int64_t> strides = values(op.getStrides()),
                         dilations = values(op.getDilations());
    e.strideH = strides[0];
    e.strideW = strides[1];
    e.dilationH = dilations[0];
    e.dilationW = dilations[1];
    e.lanes = int64_t(vectorLength) * 32 / element.getWidth();
    e.vectorType = VectorType::get({e.lanes}, element);
    return e;
  }

  /// The loops into `result` (zero-filled or holding the init) from the
  /// buffers `input` and `filter`.
  void emit(OpBuilder &b, Location loc, Value input, Value filter,
            const ProductResult &result, bool parallel) {
    this->input = input;
    this->filter = filter;
    output = result.buffer;
    zeroInit = result.zeroInit;
    emitLoops(b, loc, parallel);
  }

private:
  void emitLoops(OpBuilder &b, Location loc, bool parallel) const {
    Value c0 = indexConstant(b, loc, 0), c1 = indexConstant(b, loc, 1);
    auto dim = [&](Value buffer, int64_t d) -> Value {
      return b.createOrFold<memref::DimOp>(loc, buffer, d);
    };
    Value images = dim(output, 0), channels = dim(output, 1);
    Value rows = dim(output, 2), cols = dim(output, 3);
    auto body = [&](OpBuilder &nb, Location nl, Value n, Value c) {
      SmallVector<Value> taps;
      for (int64_t i = 0; i < kh; ++i)
        for (int64_t j = 0; j < kw; ++j)
          taps.push_back(vector::BroadcastOp::create(
              nb, nl, vectorType,
              memref::LoadOp::create(
                  nb, nl, filter,
                  ValueRange{c, indexConstant(nb, nl, i),
                             indexConstant(nb, nl, j)})));
      Value step = indexConstant(nb, nl, kDepthwiseTileRows);
      Value tiledEnd = wholeStepsEnd(nb, nl, indexConstant(nb, nl, 0), rows,
                                     step);
      emitLoop(nb, nl, indexConstant(nb, nl, 0), tiledEnd, step,
               [&](OpBuilder &rb, Location rl, Value row) {
                 emitRows(rb, rl, n, c, row, kDepthwiseTileRows, cols, taps);
               });
      emitLoop(nb, nl, tiledEnd, rows, indexConstant(nb, nl, 1),
               [&](OpBuilder &rb, Location rl, Value row) {
                 emitRows(rb, rl, n, c, row, 1, cols, taps);
               });
    };
    if (parallel) {
      scf::ParallelOp::create(
          b, loc, ValueRange{c0, c0}, ValueRange{images, channels},
          ValueRange{c1, c1},
          [&](OpBuilder &pb, Location pl, ValueRange ivs) {
            body(pb, pl, ivs[0], ivs[1]);
          });
      return;
    }
    emitLoop(b, loc, c0, images, c1, [&](OpBuilder &ib, Location il, Value n) {
      emitLoop(ib, il, indexConstant(ib, il, 0), channels,
               indexConstant(ib, il, 1),
               [&](OpBuilder &cb, Location cl, Value c) { body(cb, cl, n, c); });
    });
  }

  /// Output rows [row, row + count) of (n, c): whole vectors of columns,
  /// then one masked vector.
  void emitRows(OpBuilder &b, Location loc, Value n, Value c, Value row,
                int64_t count, Value cols, ArrayRef<Value> taps) const {
    Value width = indexConstant(b, loc, lanes);
    Value fullEnd = wholeStepsEnd(b, loc, indexConstant(b, loc, 0), cols,
                                  width);
    emitLoop(b, loc, indexConstant(b, loc, 0), fullEnd, width,
             [&](OpBuilder &vb, Location vl, Value col) {
               emitTile(vb, vl, n, c, row, count, col, Value(), taps);
             });
    Value rest = arith::SubIOp::create(b, loc, cols, fullEnd);
    Value any = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt, rest,
                                      indexConstant(b, loc, 0));
    scf::IfOp::create(b, loc, any, [&](OpBuilder &tb, Location tl) {
      Value mask = vector::CreateMaskOp::create(
          tb, tl, VectorType::get({lanes}, tb.getI1Type()), ValueRange{rest});
      emitTile(tb, tl, n, c, row, count, fullEnd, mask, taps);
      scf::YieldOp::create(tb, tl);
    });
  }

  void emitTile(OpBuilder &b, Location loc, Value n, Value c, Value row,
                int64_t count, Value col, Value mask,
                ArrayRef<Value> taps) const {
    SmallVector<Value> outRows, sums;
    for (int64_t r = 0; r < count; ++r) {
      outRows.push_back(
          r == 0 ? row
                 : arith::AddIOp::create(b, loc, row, indexConstant(b, loc, r))
                       .getResult());
      sums.push_back(zeroInit ? zeroVector(b, loc, vectorType)
                              : loadVector(b, loc, vectorType, output,
                                           ValueRange{n, c, outRows[r], col},
                                           mask));
    }
    Value firstCol =
        arith::MulIOp::create(b, loc, col, indexConstant(b, loc, strideW));
    for (int64_t i = 0; i < kh; ++i)
      for (int64_t j = 0; j < kw; ++j) {
        Value inCol = arith::AddIOp::create(
            b, loc, firstCol, indexConstant(b, loc, j * dilationW));
        for (int64_t r = 0; r < count; ++r) {
          Value inRow = arith::AddIOp::create(
              b, loc,
              arith::MulIOp::create(b, loc, outRows[r],
                                    indexConstant(b, loc, strideH)),
              indexConstant(b, loc, i * dilationH));
          Value x = inputVector(b, loc, n, c, inRow, inCol, mask);
          sums[r] = vector::FMAOp::create(b, loc, x, taps[i * kw + j], sums[r]);
        }
      }
    for (int64_t r = 0; r < count; ++r)
      storeVector(b, loc, sums[r], output, ValueRange{n, c, outRows[r], col},
                  mask);
  }

  /// input[n, c, inRow, inCol + lane x strideW] for the lanes of `mask`
  /// (all without one).
  Value inputVector(OpBuilder &b, Location loc, Value n, Value c, Value inRow,
                    Value inCol, Value mask) const {
    if (strideW == 1)
      return loadVector(b, loc, vectorType, input,
                        ValueRange{n, c, inRow, inCol}, mask);
    if (strideW == 2 && !mask) {
      Value low = loadVector(b, loc, vectorType, input,
                             ValueRange{n, c, inRow, inCol}, Value());
      SmallVector<bool> highLanes(lanes, true);
      highLanes.back() = false;
      auto maskType = VectorType::get({lanes}, b.getI1Type());
      Value highMask = arith::ConstantOp::create(
          b, loc, maskType, DenseElementsAttr::get(maskType, highLanes));
      Value high = loadVector(
          b, loc, vectorType, input,
          ValueRange{n, c, inRow,
                     arith::AddIOp::create(b, loc, inCol,
                                           indexConstant(b, loc, lanes))},
          highMask);
      SmallVector<int64_t> evens;
      for (int64_t lane = 0; lane < lanes; ++lane)
        evens.push_back(2 * lane);
      return vector::ShuffleOp::create(b, loc, low, high, evens);
    }
    auto offsetType = VectorType::get({lanes}, b.getI32Type());
    SmallVector<int32_t> steps;
    for (int64_t lane = 0; lane < lanes; ++lane)
      steps.push_back(int32_t(lane * strideW));
    Value offsets = arith::ConstantOp::create(
        b, loc, offsetType,
        DenseElementsAttr::get(offsetType, ArrayRef<int32_t>(steps)));
    if (!mask) {
      auto maskType = VectorType::get({lanes}, b.getI1Type());
      mask = arith::ConstantOp::create(
          b, loc, maskType, DenseElementsAttr::get(maskType, true));
    }
    return vector::GatherOp::create(b, loc, vectorType, input,
                                    ValueRange{n, c, inRow, inCol}, offsets,
                                    mask, zeroVector(b, loc, vectorType));
  }

  Value input, filter, output;
  bool zeroInit = false;
  int64_t kh = 0, kw = 0, strideH = 1, strideW = 1, dilationH = 1,
          dilationW = 1, lanes = 1;
  VectorType vectorType;
};

struct DepthwiseConvolutionPattern
    : public OpRewritePattern<linalg::DepthwiseConv2DNchwChwOp> {
  DepthwiseConvolutionPattern(MLIRContext *context, unsigned vectorLength,
                              bool parallel, uint64_t parallelMinFlops)
      : OpRewritePattern(context), vectorLength(vectorLength),
        parallel(parallel), parallelMinFlops(parallelMinFlops) {}

  LogicalResult matchAndRewrite(linalg::DepthwiseConv2DNchwChwOp op,
                                PatternRewriter &rewriter) const override {
    std::optional<DepthwiseConvolutionEmitter> emitter =
        DepthwiseConvolutionEmitter::match(op, vectorLength);
    if (!emitter)
      return rewriter.notifyMatchFailure(op, "not a supported depthwise "
                                             "convolution");
    Location loc = op.getLoc();
    auto linalgOp = cast<linalg::LinalgOp>(op.getOperation());
    Value input = op.getDpsInputs()[0];
    SmallVector<Value> dynamicSizes;
    if (cast<RankedTensorType>(op.getDpsInits()[0].getType()).isDynamicDim(0))
      dynamicSizes.push_back(rewriter.createOrFold<tensor::DimOp>(
          loc, input, indexConstant(rewriter, loc, 0)));
    ProductResult result =
        createProductResult(linalgOp, dynamicSizes, rewriter);
    // A dynamic batch runs in parallel: its work is not known here.
    bool threads = parallel;
    if (std::optional<int64_t> flops = staticFlops(linalgOp))
      threads = threads && uint64_t(*flops) >= parallelMinFlops;
    emitter->emit(rewriter, loc, readOnlyBuffer(rewriter, loc, input),
                  readOnlyBuffer(rewriter, loc, op.getDpsInputs()[1]), result,
                  threads);
    replaceWithResult(linalgOp, result, rewriter);
    return success();
  }

  /// 2 x the iterations of `op`'s loop nest, if they are static.
  static std::optional<int64_t> staticFlops(linalg::LinalgOp op) {
    int64_t flops = 2;
    for (int64_t range : op.getStaticLoopRanges()) {
      if (ShapedType::isDynamic(range))
        return std::nullopt;
      flops *= range;
    }
    return flops;
  }

  unsigned vectorLength;
  bool parallel;
  uint64_t parallelMinFlops;
};

struct DepthwiseKernelsPass
    : public sparse_opt::impl::SparseOptDepthwiseKernelsBase<
          DepthwiseKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (vectorLength == 0)
      return;
    RewritePatternSet patterns(&getContext());
    patterns.add<DepthwiseConvolutionPattern>(&getContext(), vectorLength,
                                              parallel, parallelMinFlops);
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};

} // namespace
