//===- SparsifyWeights.cpp - Store sparse constant weights as CSR ---------===//
//
// Implements `sparse-opt-sparsify-weights`; see Passes.td for the contract.
// The kernels of sparse-opt-csr-kernels take the sparse operand on the
// left, while a linear layer computes X W with the weight on the right, so
// the product is computed transposed: (X W)^T = W^T X^T, with W^T stored as
// CSR at compile time. Only the activations and the result are transposed
// at run time (M x K and M x N values, against nnz x M multiply-adds). A
// constant weight on the left (W X: convolutions of
// sparse-opt-convolution-to-matmul) is stored as CSR as it is.
//
//===----------------------------------------------------------------------===//

#include "sparse-opt/Analysis/WeightAnalysis.h"
#include "sparse-opt/Transforms/Passes.h"

#include "KernelSupport.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mlir::sparse_opt {
#define GEN_PASS_DEF_SPARSEOPTSPARSIFYWEIGHTS
#include "sparse-opt/Transforms/Passes.h.inc"
} // namespace mlir::sparse_opt

using namespace mlir;

namespace {

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

struct SparsifyMatmulWeight : public OpRewritePattern<linalg::MatmulOp> {
  SparsifyMatmulWeight(MLIRContext *context, double minSparsity,
                       unsigned indexBits, bool narrowCoordinates)
      : OpRewritePattern(context), minSparsity(minSparsity),
        indexBits(indexBits), narrowCoordinates(narrowCoordinates) {}

  LogicalResult matchAndRewrite(linalg::MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (op.hasUserDefinedMaps() || !op.hasPureTensorSemantics())
      return rewriter.notifyMatchFailure(op, "not a plain matmul on tensors");
    Value init = op.getDpsInits()[0];
    ElementsAttr weight;
    // A constant on the left (W X) is stored as it is; one on the right
    // (X W, preferred when both are) transposed.
    bool left = !matchPattern(op.getDpsInputs()[1], m_Constant(&weight));
    if (left && !matchPattern(op.getDpsInputs()[0], m_Constant(&weight)))
      return rewriter.notifyMatchFailure(op, "no constant operand");
    Value x = op.getDpsInputs()[left ? 1 : 0];
    auto weightType = dyn_cast<RankedTensorType>(weight.getType());
    auto xType = cast<RankedTensorType>(x.getType());
    auto initType = cast<RankedTensorType>(init.getType());
    if (!weightType || weightType.getEncoding() || xType.getEncoding() ||
        initType.getEncoding() || !weightType.hasStaticShape() ||
        !weightType.getElementType().isF32() ||
        !xType.getElementType().isF32() || !initType.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "not dense f32 x constant f32");

    // The CSR matrix (features x depth: W^T, N x K, or the left W, M x K),
    // row by row: the CSR order.
    int64_t depth = weightType.getDimSize(left ? 1 : 0),
            features = weightType.getDimSize(left ? 0 : 1);
    int64_t rowStride = left ? depth : 1, colStride = left ? 1 : features;
    SmallVector<int64_t> coordinates;
    SmallVector<float> nonZeros;
    bool read = sparse_opt::withFloatElements(weight, [&](auto at) {
      for (int64_t n = 0; n < features; ++n)
        for (int64_t k = 0; k < depth; ++k)
          if (float v = at(n * rowStride + k * colStride); v != 0.0f) {
            coordinates.append({n, k});
            nonZeros.push_back(v);
          }
    });
    if (!read)
      return rewriter.notifyMatchFailure(op, "the weight cannot be read");
    double elements = double(depth) * double(features);
    double sparsity =
        elements > 0 ? 1.0 - double(nonZeros.size()) / elements : 0.0;
    if (sparsity < minSparsity)
      return rewriter.notifyMatchFailure(op, "the weight is too dense");

    MLIRContext *context = op.getContext();
    Location loc = op.getLoc();
    auto transposedType =
        RankedTensorType::get({features, depth}, rewriter.getF32Type());
    auto nnz = static_cast<int64_t>(nonZeros.size());
    auto sparseConstant = SparseElementsAttr::get(
        transposedType,
        DenseElementsAttr::get(
            RankedTensorType::get({nnz, 2}, rewriter.getI64Type()),
            ArrayRef<int64_t>(coordinates)),
        DenseElementsAttr::get(
            RankedTensorType::get({nnz}, rewriter.getF32Type()),
            ArrayRef<float>(nonZeros)));
    AffineExpr i = getAffineDimExpr(0, context),
               j = getAffineDimExpr(1, context);
    SmallVector<sparse_tensor::LevelType> levels = {
        sparse_tensor::LevelFormat::Dense,
        sparse_tensor::LevelFormat::Compressed};
    // Column indices of 16 bits when K allows: 6 instead of 8 bytes per
    // stored weight, and the kernels widen them as they load them.
    unsigned coordinateBits =
        narrowCoordinates && depth <= (int64_t(1) << 16) ? 16 : indexBits;
    auto csr = sparse_tensor::SparseTensorEncodingAttr::get(
        context, levels, AffineMap::get(2, 0, {i, j}, context), AffineMap(),
        indexBits, coordinateBits);
    auto csrType =
        RankedTensorType::get({features, depth}, rewriter.getF32Type(), csr);
    Value constant = arith::ConstantOp::create(rewriter, loc, transposedType,
                                               sparseConstant);
    Value sparseWeight =
        sparse_tensor::ConvertOp::create(rewriter, loc, csrType, constant);
    if (left) {
      rewriter.replaceOpWithNewOp<linalg::MatmulOp>(
          op, init.getType(), ValueRange{sparseWeight, x}, init);
      return success();
    }

    Value xT = transposed(rewriter, loc, x);
    Value resultT;
    if (sparse_opt::kernels::isZeroFilled(init)) {
      SmallVector<OpFoldResult> sizes =
          tensor::getMixedSizes(rewriter, loc, init);
      Value empty = tensor::EmptyOp::create(
          rewriter, loc, SmallVector<OpFoldResult>{sizes[1], sizes[0]},
          rewriter.getF32Type());
      resultT = linalg::FillOp::create(
                    rewriter, loc, init.getDefiningOp<linalg::FillOp>().value(),
                    empty)
                    .getResult(0);
    } else {
      resultT = transposed(rewriter, loc, init);
    }
    Value productT =
        linalg::MatmulOp::create(rewriter, loc, resultT.getType(),
                                 ValueRange{sparseWeight, xT}, resultT)
            .getResult(0);
    rewriter.replaceOp(op, transposed(rewriter, loc, productT));
    return success();
  }

  double minSparsity;
  unsigned indexBits;
  bool narrowCoordinates;
};

struct SparsifyWeightsPass
    : public sparse_opt::impl::SparseOptSparsifyWeightsBase<
          SparsifyWeightsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (indexBits != 32 && indexBits != 64) {
      getOperation().emitError()
          << "sparse-opt-sparsify-weights: index-bits must be 32 or 64, got "
          << indexBits.getValue();
      return signalPassFailure();
    }
    if (minSparsity < 0.0 || minSparsity > 1.0) {
      getOperation().emitError()
          << "sparse-opt-sparsify-weights: min-sparsity must be in [0, 1], "
             "got "
          << minSparsity.getValue();
      return signalPassFailure();
    }
    RewritePatternSet patterns(&getContext());
    patterns.add<SparsifyMatmulWeight>(&getContext(), minSparsity, indexBits,
                                       narrowCoordinates);
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};

} // namespace
