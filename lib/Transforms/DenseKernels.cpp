//===- DenseKernels.cpp - Register-blocked loops for dense products -------===//
//
// Implements `sparse-opt-dense-kernels`; see Passes.td for the contract.
// Whole models are mostly dense ops next to the pruned weights (attention
// products, unpruned layers), and without this pass they run as the scalar
// loops of convert-linalg-to-loops. The loops follow the classic CPU GEMM
// structure: the output in blocks that run in parallel, K in blocks so the
// B panel of a register tile stays in L1 across row groups, and an R x V
// register tile of C (V vectors of lanes along N) updated per k by V loads
// of B, R broadcasts of A and R x V FMAs.
//
//===----------------------------------------------------------------------===//

#include "sparse-opt/Transforms/Passes.h"

#include "KernelSupport.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mlir::sparse_opt {
#define GEN_PASS_DEF_SPARSEOPTDENSEKERNELS
#include "sparse-opt/Transforms/Passes.h.inc"
} // namespace mlir::sparse_opt

using namespace mlir;
using namespace mlir::sparse_opt::kernels;

namespace {

struct DenseKernelOptions {
  unsigned lanesFor32Bit;
  unsigned tileRows;
  unsigned tileVectors;
  unsigned rowBlock;
  unsigned columnBlock;
  unsigned kBlock;
  bool parallel;
  uint64_t parallelMinFlops;
};

/// C[b] (M x N) = init[b] + A[b] (M x K, or K x M when transposed) *
/// B[b] (K x N) for b in [0, batches), every operand dense, row-major and
/// addressed through its flattened buffer.
struct DenseProduct {
  FloatType elementType;
  unsigned lanes;
  Value aFlat, bFlat, cFlat;
  Value batches, rows, depth, cols;
  bool transposedA = false;
  ProductResult result;
  /// Whether the blocks run as a parallel loop: the product is large enough
  /// (or its size unknown) to pay for a fork / join.
  bool parallel = true;
  /// Whether each column tile's B panel is first copied to a contiguous
  /// buffer: B's rows are N apart, so a panel read in place touches a page
  /// per k (TLB misses) for large N. A product of one row group reads each
  /// panel once and does not pack.
  bool packB = true;
};

/// The maps of a plain matmul with A transposed: A (k, m), B (k, n),
/// C (m, n).
bool hasTransposedAMaps(linalg::MatmulOp op) {
  MLIRContext *context = op.getContext();
  AffineExpr m = getAffineDimExpr(0, context), n = getAffineDimExpr(1, context),
             k = getAffineDimExpr(2, context);
  SmallVector<AffineMap> expected = {AffineMap::get(3, 0, {k, m}, context),
                                     AffineMap::get(3, 0, {k, n}, context),
                                     AffineMap::get(3, 0, {m, n}, context)};
  return op.getIndexingMapsArray() == expected;
}

/// Matches a matmul or batch_matmul of dense floats and creates the buffers
/// the kernel works on.
FailureOr<DenseProduct> prepareDenseProduct(linalg::LinalgOp op,
                                            const DenseKernelOptions &options,
                                            PatternRewriter &rewriter) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2)
    return rewriter.notifyMatchFailure(op, "not a product on tensors");
  bool batched = isa<linalg::BatchMatmulOp>(op);
  int64_t rank = batched ? 3 : 2;
  bool transposedA = false;
  if (auto matmul = dyn_cast<linalg::MatmulOp>(op.getOperation())) {
    if (matmul.hasUserDefinedMaps()) {
      transposedA = hasTransposedAMaps(matmul);
      if (!transposedA)
        return rewriter.notifyMatchFailure(op, "B transposed or broadcast");
    }
  } else if (auto batch = dyn_cast<linalg::BatchMatmulOp>(op.getOperation())) {
    if (batch.hasUserDefinedMaps())
      return rewriter.notifyMatchFailure(op, "transposed or broadcast maps");
  }
  Value a = op.getDpsInputs()[0], b = op.getDpsInputs()[1],
        init = op.getDpsInits()[0];
  auto elementType = dyn_cast<FloatType>(getElementTypeOrSelf(init.getType()));
  if (!elementType || !isDenseTensor(a.getType(), rank, elementType) ||
      !isDenseTensor(b.getType(), rank, elementType) ||
      !isDenseTensor(init.getType(), rank, elementType))
    return rewriter.notifyMatchFailure(op, "not dense floats of one type");
  unsigned lanes = lanesFor(options.lanesFor32Bit, elementType);
  if (lanes == 0)
    return rewriter.notifyMatchFailure(op, "vectorization is disabled");

  Location loc = op.getLoc();
  auto dim = [&](Value tensor, int64_t d) {
    return rewriter.createOrFold<tensor::DimOp>(
        loc, tensor, indexConstant(rewriter, loc, d));
  };
  DenseProduct product;
  product.elementType = elementType;
  product.lanes = lanes;
  product.transposedA = transposedA;
  int64_t first = batched ? 1 : 0;
  product.batches = batched ? dim(a, 0) : indexConstant(rewriter, loc, 1);
  product.rows = dim(a, first + (transposedA ? 1 : 0));
  product.depth = dim(a, first + (transposedA ? 0 : 1));
  product.cols = dim(b, first + 1);

  // The result's dynamic sizes from the operands (batch, M, N).
  SmallVector<Value> resultSizes = {product.rows, product.cols};
  if (batched)
    resultSizes.insert(resultSizes.begin(), product.batches);
  SmallVector<Value> dynamicSizes;
  for (auto [d, size] :
       llvm::enumerate(cast<RankedTensorType>(init.getType()).getShape()))
    if (ShapedType::isDynamic(size))
      dynamicSizes.push_back(resultSizes[d]);
  product.result = createProductResult(op, dynamicSizes, rewriter);

  product.aFlat = flattenBuffer(rewriter, loc, readOnlyBuffer(rewriter, loc, a));
  product.bFlat = flattenBuffer(rewriter, loc, readOnlyBuffer(rewriter, loc, b));
  product.cFlat = flattenBuffer(rewriter, loc, product.result.buffer);

  // Small static products stay serial: a parallel region costs a few
  // microseconds of fork / join.
  SmallVector<int64_t> sizes;
  for (Value size : {product.batches, product.rows, product.depth, product.cols})
    if (std::optional<int64_t> value = getConstantIntValue(size))
      sizes.push_back(*value);
  if (std::optional<int64_t> rows = getConstantIntValue(product.rows))
    product.packB = *rows > int64_t(options.tileRows);
  product.parallel = options.parallel;
  if (sizes.size() == 4 && options.parallel) {
    double flops = 2.0 * double(sizes[0]) * double(sizes[1]) *
                   double(sizes[2]) * double(sizes[3]);
    product.parallel = flops >= double(options.parallelMinFlops);
  }
  return product;
}

/// Emits the loops of a DenseProduct.
class DenseProductEmitter {
public:
  DenseProductEmitter(const DenseProduct &product,
                      const DenseKernelOptions &options)
      : p(product), options(options) {}

  void emit(OpBuilder &b, Location loc) const {
    Value rowBlocks = arith::CeilDivUIOp::create(
        b, loc, p.rows, indexConstant(b, loc, options.rowBlock));
    Value columnBlocks = arith::CeilDivUIOp::create(
        b, loc, p.cols, indexConstant(b, loc, options.columnBlock));
    Value c0 = indexConstant(b, loc, 0), c1 = indexConstant(b, loc, 1);
    SmallVector<Value> lower(3, c0), steps(3, c1);
    SmallVector<Value> upper = {p.batches, rowBlocks, columnBlocks};
    if (p.parallel) {
      scf::ParallelOp::create(b, loc, lower, upper, steps,
                              [&](OpBuilder &nb, Location nl, ValueRange ivs) {
                                emitBlock(nb, nl, ivs[0], ivs[1], ivs[2]);
                              });
      return;
    }
    emitLoop(b, loc, c0, p.batches, c1,
             [&](OpBuilder &bb, Location bl, Value batch) {
               emitLoop(bb, bl, c0, rowBlocks, c1,
                        [&](OpBuilder &rb, Location rl, Value rowBlock) {
                          emitLoop(rb, rl, c0, columnBlocks, c1,
                                   [&](OpBuilder &cb, Location cl,
                                       Value columnBlock) {
                                     emitBlock(cb, cl, batch, rowBlock,
                                               columnBlock);
                                   });
                        });
             });
  }

private:
  /// Where a register tile's operands start in the flat buffers.
  struct TileOrigin {
    Value aBase, bBase, cBase; // the batch's first element in A, B, C
    Value kStart, kEnd;        // the K block
    Value zeroStart;           // i1: accumulators start at zero, or null
    Value panel; // the packed B panel of the column tile (kBlock x tile
                 // width, row-major), or null: B is read in place
  };

  /// One block of rows x columns of one batch: K in blocks; for each block,
  /// the columns in register tiles (the B panel of a tile is reused by all
  /// row groups of the block), the rows in groups of tileRows, then of
  /// tileRows / 2, ..., 1.
  void emitBlock(OpBuilder &b, Location loc, Value batch, Value rowBlock,
                 Value columnBlock) const {
    auto mul = [&](Value x, Value y) {
      return arith::MulIOp::create(b, loc, x, y).getResult();
    };
    auto blockRange = [&](Value block, unsigned size, Value limit) {
      Value start = mul(block, indexConstant(b, loc, size));
      Value end = arith::MinUIOp::create(
          b, loc, arith::AddIOp::create(b, loc, start, indexConstant(b, loc, size)),
          limit);
      return std::make_pair(start, end);
    };
    std::pair<Value, Value> rowRange =
        blockRange(rowBlock, options.rowBlock, p.rows);
    std::pair<Value, Value> colRange =
        blockRange(columnBlock, options.columnBlock, p.cols);
    TileOrigin origin;
    if (p.packB)
      origin.panel = memref::AllocaOp::create(
          b, loc,
          MemRefType::get({int64_t(options.kBlock) * tileWidth()},
                          p.elementType),
          b.getI64IntegerAttr(64));
    origin.aBase = mul(batch, mul(p.rows, p.depth));
    origin.bBase = mul(batch, mul(p.depth, p.cols));
    origin.cBase = mul(batch, mul(p.rows, p.cols));

    Value kBlock = indexConstant(b, loc, options.kBlock);
    emitLoop(b, loc, indexConstant(b, loc, 0), p.depth, kBlock,
             [&](OpBuilder &kb, Location kl, Value kStart) {
               TileOrigin k = origin;
               k.kStart = kStart;
               k.kEnd = arith::MinUIOp::create(
                   kb, kl, arith::AddIOp::create(kb, kl, kStart, kBlock),
                   p.depth);
               if (p.result.zeroInit)
                 k.zeroStart = arith::CmpIOp::create(
                     kb, kl, arith::CmpIPredicate::eq, kStart,
                     indexConstant(kb, kl, 0));
               emitBlockColumns(kb, kl, k, rowRange.first, rowRange.second,
                                colRange.first, colRange.second);
             });
  }

  /// Columns [colStart, colEnd) in full tiles of tileVectors vectors, then
  /// the narrower and masked tail tiles.
  void emitBlockColumns(OpBuilder &b, Location loc, const TileOrigin &origin,
                        Value rowStart, Value rowEnd, Value colStart,
                        Value colEnd) const {
    emitColumnTiles(
        b, loc, colStart, colEnd, p.lanes, options.tileVectors,
        [&](OpBuilder &tb, Location tl, Value column, unsigned vectors,
            Value mask) {
          if (origin.panel)
            emitPack(tb, tl, origin, column, vectors, mask);
          emitRowGroups(tb, tl, origin, rowStart, rowEnd, column, vectors,
                        mask);
        });
  }

  /// Columns of C a full register tile covers.
  int64_t tileWidth() const { return int64_t(options.tileVectors) * p.lanes; }

  /// Copies the column tile's rows of the K block of B to the panel, row k
  /// at (k - kStart) x tileWidth; masked-off lanes become zeros, so the
  /// register tiles read the panel unmasked.
  void emitPack(OpBuilder &b, Location loc, const TileOrigin &origin,
                Value column, unsigned vectors, Value mask) const {
    auto vectorType = VectorType::get({int64_t(p.lanes)}, p.elementType);
    emitLoop(b, loc, origin.kStart, origin.kEnd, indexConstant(b, loc, 1),
             [&](OpBuilder &kb, Location kl, Value k) {
               Value from = arith::AddIOp::create(
                   kb, kl, origin.bBase,
                   arith::AddIOp::create(
                       kb, kl, arith::MulIOp::create(kb, kl, k, p.cols),
                       column));
               Value to = arith::MulIOp::create(
                   kb, kl, arith::SubIOp::create(kb, kl, k, origin.kStart),
                   indexConstant(kb, kl, tileWidth()));
               for (unsigned v = 0; v < vectors; ++v) {
                 Value offset = indexConstant(kb, kl, v * p.lanes);
                 Value row = loadVector(
                     kb, kl, vectorType, p.bFlat,
                     arith::AddIOp::create(kb, kl, from, offset).getResult(),
                     v + 1 == vectors ? mask : Value());
                 vector::StoreOp::create(
                     kb, kl, row, origin.panel,
                     arith::AddIOp::create(kb, kl, to, offset).getResult());
               }
             });
  }

  /// Rows [rowStart, rowEnd) of one column tile: groups of tileRows, then
  /// of tileRows / 2, ..., 1 for what remains.
  void emitRowGroups(OpBuilder &b, Location loc, const TileOrigin &origin,
                     Value rowStart, Value rowEnd, Value column,
                     unsigned vectors, Value mask) const {
    Value row = rowStart;
    for (unsigned group = options.tileRows; group >= 1; group /= 2) {
      Value step = indexConstant(b, loc, group);
      Value end = wholeStepsEnd(b, loc, row, rowEnd, step);
      emitLoop(b, loc, row, end, step,
               [&](OpBuilder &nb, Location nl, Value first) {
                 emitRegisterTile(nb, nl, origin, first, group, column,
                                  vectors, mask);
               });
      row = end;
    }
  }

  /// C[rows first .. first + group) x [column, column + vectors x lanes)
  /// (the last vector masked by `mask` if given) += A x B over the K block,
  /// the accumulators in registers across the K loop.
  void emitRegisterTile(OpBuilder &b, Location loc, const TileOrigin &origin,
                        Value first, unsigned group, Value column,
                        unsigned vectors, Value mask) const {
    auto vectorType = VectorType::get({int64_t(p.lanes)}, p.elementType);
    auto add = [](OpBuilder &ab, Location al, Value x, Value y) {
      return arith::AddIOp::create(ab, al, x, y).getResult();
    };
    auto mul = [](OpBuilder &ab, Location al, Value x, Value y) {
      return arith::MulIOp::create(ab, al, x, y).getResult();
    };
    auto maskOf = [&](unsigned v) { return v + 1 == vectors ? mask : Value(); };
    // C index of row `first + r`, vector v: cBase + (first + r) N + column +
    // v lanes.
    auto cIndex = [&](OpBuilder &cb, Location cl, unsigned r, unsigned v) {
      Value row = add(cb, cl, first, indexConstant(cb, cl, r));
      return add(cb, cl,
                 add(cb, cl, origin.cBase,
                     add(cb, cl, mul(cb, cl, row, p.cols), column)),
                 indexConstant(cb, cl, v * p.lanes));
    };
    size_t count = size_t(group) * vectors;
    SmallVector<Value> start = initialAccumulators(
        b, loc, p.result, origin.zeroStart, vectorType, count,
        [&](OpBuilder &lb, Location ll) {
          SmallVector<Value> tile;
          for (unsigned r = 0; r < group; ++r)
            for (unsigned v = 0; v < vectors; ++v)
              tile.push_back(loadVector(lb, ll, vectorType, p.cFlat,
                                        cIndex(lb, ll, r, v), maskOf(v)));
          return tile;
        });

    auto loop = scf::ForOp::create(
        b, loc, origin.kStart, origin.kEnd, indexConstant(b, loc, 1), start,
        [&](OpBuilder &kb, Location kl, Value k, ValueRange accumulators) {
          // The tile's B vectors of row k: from the panel, or from B.
          Value bRow =
              origin.panel
                  ? mul(kb, kl, arith::SubIOp::create(kb, kl, k, origin.kStart),
                        indexConstant(kb, kl, tileWidth()))
                  : add(kb, kl, origin.bBase,
                        add(kb, kl, mul(kb, kl, k, p.cols), column));
          SmallVector<Value> bVectors;
          for (unsigned v = 0; v < vectors; ++v)
            bVectors.push_back(loadVector(
                kb, kl, vectorType, origin.panel ? origin.panel : p.bFlat,
                add(kb, kl, bRow, indexConstant(kb, kl, v * p.lanes)),
                origin.panel ? Value() : maskOf(v)));
          SmallVector<Value> next;
          for (unsigned r = 0; r < group; ++r) {
            Value row = add(kb, kl, first, indexConstant(kb, kl, r));
            Value aIndex =
                p.transposedA
                    ? add(kb, kl, origin.aBase,
                          add(kb, kl, mul(kb, kl, k, p.rows), row))
                    : add(kb, kl, origin.aBase,
                          add(kb, kl, mul(kb, kl, row, p.depth), k));
            Value a = memref::LoadOp::create(kb, kl, p.aFlat, aIndex);
            Value broadcast =
                vector::BroadcastOp::create(kb, kl, vectorType, a);
            for (unsigned v = 0; v < vectors; ++v)
              next.push_back(vector::FMAOp::create(
                  kb, kl, broadcast, bVectors[v],
                  accumulators[r * vectors + v]));
          }
          scf::YieldOp::create(kb, kl, next);
        });

    for (unsigned r = 0; r < group; ++r)
      for (unsigned v = 0; v < vectors; ++v)
        storeVector(b, loc, loop.getResult(r * vectors + v), p.cFlat,
                    cIndex(b, loc, r, v), maskOf(v));
  }

  const DenseProduct &p;
  const DenseKernelOptions &options;
};

template <typename Op>
struct DenseProductPattern : public OpRewritePattern<Op> {
  DenseProductPattern(MLIRContext *context, const DenseKernelOptions &options)
      : OpRewritePattern<Op>(context), options(options) {}

  LogicalResult matchAndRewrite(Op op,
                                PatternRewriter &rewriter) const override {
    auto linalgOp = cast<linalg::LinalgOp>(op.getOperation());
    // The op's schedule (verified by the pass): parallel and the register
    // tile; a model-made `parallel` replaces the parallel-min-flops rule.
    DenseKernelOptions options = this->options;
    if (FailureOr<std::optional<KernelSchedule>> schedule =
            readSchedule(op, "");
        succeeded(schedule) && *schedule) {
      if ((*schedule)->parallel) {
        options.parallel = options.parallel && *(*schedule)->parallel;
        options.parallelMinFlops = 0;
      }
      if ((*schedule)->tileRows)
        options.tileRows = *(*schedule)->tileRows;
      if ((*schedule)->tileVectors)
        options.tileVectors = *(*schedule)->tileVectors;
    }
    FailureOr<DenseProduct> product =
        prepareDenseProduct(linalgOp, options, rewriter);
    if (failed(product))
      return failure();
    DenseProductEmitter(*product, options).emit(rewriter, op.getLoc());
    replaceWithResult(linalgOp, product->result, rewriter);
    return success();
  }

  DenseKernelOptions options;
};

struct DenseKernelsPass
    : public sparse_opt::impl::SparseOptDenseKernelsBase<DenseKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(verifySchedules(getOperation(), getArgument())))
      return signalPassFailure();
    if (vectorLength == 0)
      return;
    if (!llvm::isPowerOf2_32(tileVectors) || tileRows == 0 || rowBlock == 0 ||
        columnBlock == 0 || kBlock == 0) {
      getOperation().emitError()
          << "sparse-opt-dense-kernels: tile-vectors must be a power of two "
             "and tile-rows, row-block, column-block, k-block positive";
      return signalPassFailure();
    }
    DenseKernelOptions options{vectorLength, tileRows, tileVectors,
                               rowBlock,     columnBlock, kBlock,
                               parallel,     parallelMinFlops};
    RewritePatternSet patterns(&getContext());
    patterns.add<DenseProductPattern<linalg::MatmulOp>,
                 DenseProductPattern<linalg::BatchMatmulOp>>(&getContext(),
                                                             options);
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};

} // namespace
