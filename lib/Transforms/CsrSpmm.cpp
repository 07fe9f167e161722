//===- CsrSpmm.cpp - Register-blocked CSR x dense products ----------------===//
//
// Implements `sparse-opt-csr-spmm`; see Passes.td for the contract. The loop
// structure follows the measurement in ../shared/BRIEF.md: what limits SpMM
// on CPUs is keeping the output row in registers and touching each B row
// once per non-zero, which the sparsifier's one-vector-at-a-time loops
// (they reload and restore C for every non-zero) do not do.
//
//===----------------------------------------------------------------------===//

#include "sparse-opt/Transforms/Passes.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SparseTensor/IR/SparseTensorType.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mlir::sparse_opt {
#define GEN_PASS_DEF_SPARSEOPTCSRSPMM
#include "sparse-opt/Transforms/Passes.h.inc"
} // namespace mlir::sparse_opt

using namespace mlir;
using namespace mlir::sparse_tensor;

namespace {

/// A dense rank-2 tensor of `elementType`.
bool isDenseMatrix(Type type, Type elementType) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && !tensor.getEncoding() && tensor.getRank() == 2 &&
         tensor.getElementType() == elementType;
}

/// `init` is a fill with zero, so the product need not read it.
bool isZeroFilled(Value init) {
  auto fill = init.getDefiningOp<linalg::FillOp>();
  return fill && matchPattern(fill.value(), m_AnyZeroFloat());
}

Value toIndex(OpBuilder &b, Location loc, Value value) {
  if (value.getType().isIndex())
    return value;
  return arith::IndexCastUIOp::create(b, loc, b.getIndexType(), value);
}

struct CsrSpmmPattern : public OpRewritePattern<linalg::MatmulOp> {
  CsrSpmmPattern(MLIRContext *context, unsigned lanesFor32Bit,
                 unsigned nTile, unsigned prefetchDistance)
      : OpRewritePattern(context), lanesFor32Bit(lanesFor32Bit),
        nTile(nTile), prefetchDistance(prefetchDistance) {}

  LogicalResult matchAndRewrite(linalg::MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (!op.hasPureTensorSemantics() || op.hasUserDefinedMaps())
      return rewriter.notifyMatchFailure(op, "not a plain tensor matmul");
    Value a = op.getDpsInputs()[0];
    Value b = op.getDpsInputs()[1];
    Value init = op.getDpsInits()[0];
    auto aType = dyn_cast<RankedTensorType>(a.getType());
    if (!aType)
      return failure();
    SparseTensorType sparse(aType);
    if (!sparse.hasEncoding() || sparse.getLvlRank() != 2 ||
        !sparse.isIdentity() || !sparse.isDenseLvl(0) ||
        !sparse.isCompressedLvl(1))
      return rewriter.notifyMatchFailure(op, "left operand is not CSR");
    auto elementType = dyn_cast<FloatType>(aType.getElementType());
    if (!elementType || !isDenseMatrix(b.getType(), elementType) ||
        !isDenseMatrix(init.getType(), elementType))
      return rewriter.notifyMatchFailure(op, "not float CSR x dense -> dense");
    unsigned lanes = lanesFor32Bit * 32 / elementType.getWidth();
    if (lanes == 0)
      return rewriter.notifyMatchFailure(op, "vectorization is disabled");

    Location loc = op.getLoc();
    auto resultType = cast<RankedTensorType>(init.getType());
    auto dynamicVector = [&](Type element) {
      return MemRefType::get({ShapedType::kDynamic}, element);
    };
    Value positions = ToPositionsOp::create(
        rewriter, loc, dynamicVector(sparse.getPosType()), a,
        rewriter.getIndexAttr(1));
    Value coordinates = ToCoordinatesOp::create(
        rewriter, loc, dynamicVector(sparse.getCrdType()), a,
        rewriter.getIndexAttr(1));
    Value values =
        ToValuesOp::create(rewriter, loc, dynamicVector(elementType), a);
    auto bTensorType = cast<RankedTensorType>(b.getType());
    Value bBuffer = bufferization::ToBufferOp::create(
        rewriter, loc,
        MemRefType::get(bTensorType.getShape(), elementType), b,
        /*read_only=*/true);

    Value c0 = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value c1 = arith::ConstantIndexOp::create(rewriter, loc, 1);
    // Sizes from the operands, not from `init`, so a zero fill producing it
    // becomes dead.
    Value rows = rewriter.createOrFold<tensor::DimOp>(loc, a, c0);
    Value cols = rewriter.createOrFold<tensor::DimOp>(loc, b, c1);

    // A zero-filled init needs no reading: C goes to a fresh buffer.
    bool zeroInit = isZeroFilled(init);
    auto cMemRefType = MemRefType::get(resultType.getShape(), elementType);
    Value cBuffer;
    if (zeroInit) {
      SmallVector<Value> dynamicSizes;
      for (auto [dim, size] : llvm::enumerate(resultType.getShape()))
        if (ShapedType::isDynamic(size))
          dynamicSizes.push_back(dim == 0 ? rows : cols);
      cBuffer = memref::AllocOp::create(rewriter, loc, cMemRefType,
                                        dynamicSizes,
                                        rewriter.getI64IntegerAttr(64));
    } else {
      cBuffer =
          bufferization::ToBufferOp::create(rewriter, loc, cMemRefType, init);
    }

    KernelEmitter emitter{lanes,   elementType, positions,       coordinates,
                          values,  bBuffer,     cBuffer,         zeroInit,
                          prefetchDistance};
    scf::ParallelOp::create(
        rewriter, loc, ValueRange{c0}, ValueRange{rows}, ValueRange{c1},
        [&](OpBuilder &builder, Location nested, ValueRange ivs) {
          emitter.emitRow(builder, nested, ivs[0], cols, nTile);
        });

    rewriter.replaceOpWithNewOp<bufferization::ToTensorOp>(
        op, resultType, cBuffer, /*restrict=*/rewriter.getUnitAttr(),
        /*writable=*/rewriter.getUnitAttr());
    if (Operation *fill = init.getDefiningOp(); zeroInit && fill->use_empty())
      rewriter.eraseOp(fill);
    return success();
  }

private:
  /// Emits the loops of one output row.
  struct KernelEmitter {
    unsigned lanes;
    FloatType elementType;
    Value positions, coordinates, values, bBuffer, cBuffer;
    bool zeroInit;
    unsigned prefetchDistance;

    /// Row `row` of C: full tiles of `nTile` vectors, then one tile each of
    /// nTile/2, ..., 1 vectors where the remaining columns allow, then a
    /// masked vector for the rest.
    void emitRow(OpBuilder &b, Location loc, Value row, Value cols,
                 unsigned nTile) const {
      Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
      Value begin = toIndex(
          b, loc, memref::LoadOp::create(b, loc, positions, row));
      Value next = arith::AddIOp::create(b, loc, row, c1);
      Value end = toIndex(
          b, loc, memref::LoadOp::create(b, loc, positions, next));

      auto width = [&](unsigned vectors) {
        return arith::ConstantIndexOp::create(b, loc, vectors * lanes);
      };
      Value fullWidth = width(nTile);
      Value fullTiles = arith::DivUIOp::create(b, loc, cols, fullWidth);
      Value fullEnd = arith::MulIOp::create(b, loc, fullTiles, fullWidth);
      Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
      scf::ForOp::create(
          b, loc, c0, fullEnd, fullWidth, ValueRange{},
          [&](OpBuilder &nb, Location nl, Value column, ValueRange) {
            emitTile(nb, nl, row, column, begin, end, nTile, Value());
            scf::YieldOp::create(nb, nl);
          });

      Value column = fullEnd;
      for (unsigned vectors = nTile / 2; vectors >= 1; vectors /= 2) {
        Value tileWidth = width(vectors);
        Value remaining = arith::SubIOp::create(b, loc, cols, column);
        Value fits = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge,
                                           remaining, tileWidth);
        scf::IfOp::create(b, loc, fits, [&](OpBuilder &nb, Location nl) {
          emitTile(nb, nl, row, column, begin, end, vectors, Value());
          scf::YieldOp::create(nb, nl);
        });
        Value advanced = arith::AddIOp::create(b, loc, column, tileWidth);
        column = arith::SelectOp::create(b, loc, fits, advanced, column);
      }

      Value remaining = arith::SubIOp::create(b, loc, cols, column);
      Value any = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                        remaining, c0);
      scf::IfOp::create(b, loc, any, [&](OpBuilder &nb, Location nl) {
        Value mask = vector::CreateMaskOp::create(
            nb, nl, VectorType::get({lanes}, nb.getI1Type()),
            ValueRange{remaining});
        emitTile(nb, nl, row, column, begin, end, 1, mask);
        scf::YieldOp::create(nb, nl);
      });
    }

    /// Prefetches the cache lines of the tile's columns in the B row of
    /// non-zero min(k + prefetchDistance, lastPosition).
    void emitPrefetch(OpBuilder &b, Location loc, Value k, Value lastPosition,
                      ArrayRef<Value> columns, unsigned elementBytes) const {
      constexpr unsigned kCacheLineBytes = 64;
      Value ahead = arith::AddIOp::create(
          b, loc, k, arith::ConstantIndexOp::create(b, loc, prefetchDistance));
      Value position = arith::MinUIOp::create(b, loc, ahead, lastPosition);
      Value bRow = toIndex(
          b, loc, memref::LoadOp::create(b, loc, coordinates, position));
      for (auto [v, column] : llvm::enumerate(columns))
        if (v * lanes * elementBytes % kCacheLineBytes == 0)
          memref::PrefetchOp::create(b, loc, bBuffer, ValueRange{bRow, column},
                                     /*isWrite=*/false, /*localityHint=*/3,
                                     /*isDataCache=*/true);
    }

    /// C[row, column : column + vectors * lanes] over the non-zeros
    /// [begin, end) of the row, accumulating in `vectors` registers. With a
    /// mask, one vector whose masked-off lanes are neither read nor written.
    void emitTile(OpBuilder &b, Location loc, Value row, Value column,
                  Value begin, Value end, unsigned vectors,
                  Value mask) const {
      auto vectorType = VectorType::get({lanes}, elementType);
      Value zero = arith::ConstantOp::create(
          b, loc, vectorType,
          DenseElementsAttr::get(vectorType, b.getZeroAttr(elementType)));
      SmallVector<Value> columns;
      for (unsigned v = 0; v < vectors; ++v)
        columns.push_back(
            v == 0 ? column
                   : arith::AddIOp::create(
                         b, loc, column,
                         arith::ConstantIndexOp::create(b, loc, v * lanes)));

      auto load = [&](OpBuilder &lb, Location ll, Value buffer, Value i,
                      Value j) -> Value {
        if (mask)
          return vector::MaskedLoadOp::create(lb, ll, vectorType, buffer,
                                              ValueRange{i, j}, mask, zero);
        return vector::LoadOp::create(lb, ll, vectorType, buffer,
                                      ValueRange{i, j});
      };

      SmallVector<Value> initial;
      for (Value j : columns)
        initial.push_back(zeroInit ? zero : load(b, loc, cBuffer, row, j));

      Value c1 = arith::ConstantIndexOp::create(b, loc, 1);
      // The last valid coordinate position bounds the prefetch look-ahead;
      // only read inside the loop, which runs only if there is one.
      Value lastPosition;
      if (prefetchDistance) {
        Value c0 = arith::ConstantIndexOp::create(b, loc, 0);
        Value count = memref::DimOp::create(b, loc, coordinates, c0);
        lastPosition = arith::SubIOp::create(b, loc, count, c1);
      }
      unsigned elementBytes = FloatType(elementType).getWidth() / 8;
      auto loop = scf::ForOp::create(
          b, loc, begin, end, c1, initial,
          [&](OpBuilder &lb, Location ll, Value k, ValueRange accumulators) {
            if (prefetchDistance)
              emitPrefetch(lb, ll, k, lastPosition, columns, elementBytes);
            Value bRow = toIndex(
                lb, ll, memref::LoadOp::create(lb, ll, coordinates, k));
            Value value = memref::LoadOp::create(lb, ll, values, k);
            Value broadcast =
                vector::BroadcastOp::create(lb, ll, vectorType, value);
            SmallVector<Value> updated;
            for (auto [j, accumulator] : llvm::zip(columns, accumulators))
              updated.push_back(vector::FMAOp::create(
                  lb, ll, broadcast, load(lb, ll, bBuffer, bRow, j),
                  accumulator));
            scf::YieldOp::create(lb, ll, updated);
          });

      for (auto [j, result] : llvm::zip(columns, loop.getResults())) {
        if (mask)
          vector::MaskedStoreOp::create(b, loc, cBuffer, ValueRange{row, j},
                                        mask, result);
        else
          vector::StoreOp::create(b, loc, result, cBuffer,
                                  ValueRange{row, j});
      }
    }
  };

  unsigned lanesFor32Bit;
  unsigned nTile;
  unsigned prefetchDistance;
};

struct CsrSpmmPass
    : public sparse_opt::impl::SparseOptCsrSpmmBase<CsrSpmmPass> {
  using Base::Base;

  void runOnOperation() override {
    if (nTile == 0 || !llvm::isPowerOf2_32(nTile)) {
      getOperation().emitError()
          << "sparse-opt-csr-spmm: n-tile must be a power of two, got "
          << nTile.getValue();
      return signalPassFailure();
    }
    if (vectorLength == 0)
      return;
    RewritePatternSet patterns(&getContext());
    patterns.add<CsrSpmmPattern>(&getContext(), vectorLength, nTile,
                                 prefetchDistance);
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};

} // namespace
