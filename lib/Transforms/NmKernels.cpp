//===- NmKernels.cpp - Vector loops for N:M x dense products --------------===//
//
// Implements `sparse-opt-nm-kernels`; see Passes.td for the contract. An N:M
// weight (at most N non-zeros in every group of M consecutive columns,
// stored as exactly N values per group with their in-group positions) is
// CSR without the row pointers: every row holds K/M groups of N values, so
// the loops over a row have static trip counts, the N values of a group
// unroll fully, and rows need no position loads.
//
//===----------------------------------------------------------------------===//

#include "sparse-opt/Transforms/Passes.h"

#include "KernelSupport.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SparseTensor/IR/SparseTensor.h"
#include "mlir/Dialect/SparseTensor/IR/SparseTensorType.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mlir::sparse_opt {
#define GEN_PASS_DEF_SPARSEOPTNMKERNELS
#include "sparse-opt/Transforms/Passes.h.inc"
} // namespace mlir::sparse_opt

using namespace mlir;
using namespace mlir::sparse_tensor;
using namespace mlir::sparse_opt::kernels;

namespace {

using NmOptions = RowKernelOptions;

/// An N:M x dense -> dense product of floats and the buffers its kernel
/// works on.
struct NmProduct {
  FloatType elementType;
  unsigned lanes, dotLanes;
  int64_t n, m;
  Value groups; // K / M per row
  Value offsets, values;
  Value denseBuffer; // B (K x N) or x (K)
  ProductResult result;
  Value rows;
  int64_t staticGroups; // K / M, or ShapedType::kDynamic
};

FailureOr<NmProduct> prepareNmProduct(linalg::LinalgOp op, int64_t denseRank,
                                      const NmOptions &options,
                                      PatternRewriter &rewriter) {
  FailureOr<SparseProductOperands> operands = matchSparseProduct(
      op, denseRank,
      [](SparseTensorType type) { return succeeded(matchNm(type)); }, "N:M",
      rewriter);
  if (failed(operands))
    return failure();
  Value a = operands->a;
  NmProduct product;
  std::tie(product.n, product.m) = *matchNm(SparseTensorType(operands->aType));
  int64_t cols = operands->aType.getDimSize(1);
  if (!ShapedType::isDynamic(cols) && cols % product.m != 0)
    return rewriter.notifyMatchFailure(op, "K is not a multiple of M");
  product.elementType = operands->elementType;
  product.lanes = lanesFor(options.lanesFor32Bit, product.elementType);
  product.dotLanes = lanesFor(options.dotLanesFor32Bit, product.elementType);
  if (product.lanes == 0 || product.dotLanes == 0)
    return rewriter.notifyMatchFailure(op, "vectorization is disabled");

  Location loc = op.getLoc();
  Value levels = toLevelSpace(rewriter, loc, a);
  product.offsets = coordinatesBuffer(rewriter, loc, levels, 2);
  product.values = valuesBuffer(rewriter, loc, levels);
  product.denseBuffer = readOnlyBuffer(rewriter, loc, operands->dense);
  product.result = createProductResult(op, a, operands->dense, rewriter);
  product.staticGroups =
      ShapedType::isDynamic(cols) ? ShapedType::kDynamic : cols / product.m;
  product.rows = rewriter.createOrFold<tensor::DimOp>(
      loc, a, indexConstant(rewriter, loc, 0));
  product.groups = rewriter.createOrFold<arith::DivUIOp>(
      loc,
      rewriter.createOrFold<tensor::DimOp>(loc, a,
                                           indexConstant(rewriter, loc, 1)),
      indexConstant(rewriter, loc, product.m));
  return product;
}

/// Emits the loops of one row of A.
class NmRowEmitter {
public:
  using Options = NmOptions;
  static constexpr bool kMayBlockK = true;

  NmRowEmitter(const NmProduct &product, const NmOptions &options)
      : p(product), options(options) {}

  static FailureOr<NmRowEmitter> create(linalg::LinalgOp op, int64_t denseRank,
                                        const NmOptions &options,
                                        PatternRewriter &rewriter) {
    FailureOr<NmProduct> product =
        prepareNmProduct(op, denseRank, options, rewriter);
    if (failed(product))
      return failure();
    return NmRowEmitter(*product, options);
  }

  Value units() const { return p.rows; }
  Value values() const { return p.values; }
  unsigned lanes() const { return p.lanes; }
  Value denseBuffer() const { return p.denseBuffer; }
  const ProductResult &result() const { return p.result; }

  /// SpMV (and SpMM with N = 1): y[row] (or C[row, 0]) from the row's dot
  /// product with x.
  void emitDots(OpBuilder &b, Location loc, Value x, Value row) const {
    SmallVector<Value> at{row};
    if (cast<MemRefType>(p.result.buffer.getType()).getRank() == 2)
      at.push_back(indexConstant(b, loc, 0));
    storeSum(b, loc, p.result, at, emitRowDot(b, loc, x, row));
  }

  /// SpMM: C[row, :] as register tiles along N.
  void emitTiled(OpBuilder &b, Location loc, Value row, Value cols) const {
    emitColumnTiles(b, loc, indexConstant(b, loc, 0), cols, p.lanes,
                    options.nTile,
                    [&](OpBuilder &tb, Location tl, Value column,
                        unsigned vectors, Value mask) {
                      emitTile(tb, tl, row, column, vectors, mask,
                               indexConstant(tb, tl, 0), p.groups, Value());
                    });
  }

  /// Groups per K block: `k-block` columns, at least one group.
  int64_t kBlockGroups() const {
    return std::max<int64_t>(1, options.kBlock / p.m);
  }

  /// Whether SpMM blocks over K: K static and above one block, and enough
  /// kept values per row and block (N per group; a fixed count, unlike CSR)
  /// that loading and storing the C tile once per block pays.
  bool blocksK() const {
    return options.kBlock && !ShapedType::isDynamic(p.staticGroups) &&
           p.staticGroups > kBlockGroups() &&
           kBlockGroups() * p.n >= int64_t(options.kBlockMinNonZeros);
  }

  /// Columns of a full tile of n-tile vectors.
  int64_t fullTileColumns() const {
    return int64_t(options.nTile) * p.lanes;
  }

  Value fullTileWidth(OpBuilder &b, Location loc) const {
    return indexConstant(b, loc, fullTileColumns());
  }

  /// K blocking runs (the kept count per block is static, checked by
  /// blocksK) when N holds a full tile, or is at least two vectors and B
  /// (K x N) is more than two K-block panels (k-block x full tile), so that
  /// it would not stay in L1 across the rows: the per-row loops' narrow
  /// tiles then wait on B (2:4 at N = 16-49 ran 1.05-2.4x faster K-blocked,
  /// docs/performance.md). One masked vector is bound by its accumulator
  /// chains, not B. CSR and BSR measured slower K-blocked below a full
  /// tile, and keep their per-row loops there.
  Value useKBlocking(OpBuilder &b, Location loc, Value cols) const {
    auto atLeast = [&](Value x, int64_t y) {
      return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, x,
                                   indexConstant(b, loc, y));
    };
    Value operand = arith::MulIOp::create(
        b, loc, cols, indexConstant(b, loc, p.staticGroups * p.m));
    Value beyondPanels = arith::CmpIOp::create(
        b, loc, arith::CmpIPredicate::ugt, operand,
        indexConstant(b, loc,
                      2 * int64_t(options.kBlock) * fullTileColumns()));
    Value narrow = arith::AndIOp::create(
        b, loc, atLeast(cols, 2 * int64_t(p.lanes)), beyondPanels);
    return arith::OrIOp::create(b, loc, atLeast(cols, fullTileColumns()),
                                narrow);
  }

  /// K-blocked SpMM: rows in blocks of `row-block` run in parallel; for
  /// each column tile (the full ones, then the tail ones), the groups are
  /// taken `k-block` columns at a time and every row of the block
  /// accumulates them into its C tile, so the B panel (k-block rows x tile)
  /// stays in L1 across the rows instead of each kept value fetching its B
  /// row from L2. An N:M row has the same groups in every K block, so no
  /// per-row cursor is needed.
  void emitKBlocked(OpBuilder &b, Location loc, Value cols) const {
    Value c0 = indexConstant(b, loc, 0), c1 = indexConstant(b, loc, 1);
    // Fewer rows per block when that would leave fewer than kMinRowBlocks
    // blocks, so that small M still spreads over the threads.
    constexpr int64_t kMinRowBlocks = 8;
    Value rowBlock = arith::MaxUIOp::create(
        b, loc, c1,
        arith::MinUIOp::create(
            b, loc, indexConstant(b, loc, options.rowBlock),
            arith::CeilDivUIOp::create(b, loc, p.rows,
                                       indexConstant(b, loc, kMinRowBlocks))));
    Value blocks = arith::CeilDivUIOp::create(b, loc, p.rows, rowBlock);
    Value tileWidth = fullTileWidth(b, loc);
    Value fullEnd = arith::MulIOp::create(
        b, loc, arith::DivUIOp::create(b, loc, cols, tileWidth), tileWidth);
    Value groupStep = indexConstant(b, loc, kBlockGroups());
    forEachParallel(
        b, loc, blocks,
        [&](OpBuilder &pb, Location pl, Value block) {
          Value first = arith::MulIOp::create(pb, pl, block, rowBlock);
          Value last = arith::MinUIOp::create(
              pb, pl, arith::AddIOp::create(pb, pl, first, rowBlock), p.rows);
          // One column tile, K block by K block over the rows of the block.
          auto emitKBlockedTile = [&](OpBuilder &tb, Location tl, Value column,
                                      unsigned vectors, Value mask) {
            emitLoop(
                tb, tl, c0, p.groups, groupStep,
                [&](OpBuilder &kb, Location kl, Value groupBegin) {
                  Value groupEnd = arith::MinUIOp::create(
                      kb, kl,
                      arith::AddIOp::create(kb, kl, groupBegin, groupStep),
                      p.groups);
                  Value zeroStart;
                  if (p.result.zeroInit)
                    zeroStart = arith::CmpIOp::create(
                        kb, kl, arith::CmpIPredicate::eq, groupBegin, c0);
                  emitLoop(kb, kl, first, last, c1,
                           [&](OpBuilder &rb, Location rl, Value row) {
                             prefetchRowBlockChunk(rb, rl, row, last,
                                                   groupBegin);
                             emitTile(rb, rl, row, column, vectors, mask,
                                      groupBegin, groupEnd, zeroStart);
                           });
                });
          };
          emitLoop(pb, pl, c0, fullEnd, tileWidth,
                   [&](OpBuilder &tb, Location tl, Value column) {
                     emitKBlockedTile(tb, tl, column, options.nTile, Value());
                   });
          emitTailTiles(pb, pl, fullEnd, cols, p.lanes, options.nTile,
                        emitKBlockedTile);
        },
        productWork(b, loc, p.values, cols, p.lanes, options.minParallelWork));
  }

private:
  /// Prefetches the kept values and offsets that the row
  /// kBlockChunkRowsAhead later (clamped to the block) has in this K block.
  void prefetchRowBlockChunk(OpBuilder &b, Location loc, Value row,
                             Value last, Value groupBegin) const {
    Value ahead = arith::MinUIOp::create(
        b, loc,
        arith::AddIOp::create(b, loc, row,
                              indexConstant(b, loc, kBlockChunkRowsAhead)),
        arith::SubIOp::create(b, loc, last, indexConstant(b, loc, 1)));
    Value at = arith::MulIOp::create(
        b, loc,
        arith::AddIOp::create(b, loc,
                              arith::MulIOp::create(b, loc, ahead, p.groups),
                              groupBegin),
        indexConstant(b, loc, p.n));
    int64_t kept = kBlockGroups() * p.n;
    for (Value buffer : {p.values, p.offsets})
      prefetchLines(b, loc, buffer, at,
                    unsigned(llvm::divideCeil(kept * elementBytes(buffer),
                                              kCacheLineBytes)));
  }

  /// The sum over the row's kept values of
  /// value * x[group * M + offset], vectorized over the kept values with a
  /// gather of x, one horizontal reduction per row.
  Value emitRowDot(OpBuilder &b, Location loc, Value x, Value row) const {
    unsigned width = p.dotLanes;
    auto vectorType = VectorType::get({width}, p.elementType);
    auto indexVectorType = VectorType::get({width}, b.getIndexType());
    Value perRow =
        arith::MulIOp::create(b, loc, p.groups, indexConstant(b, loc, p.n));
    Value begin = arith::MulIOp::create(b, loc, row, perRow);
    Value end = arith::AddIOp::create(b, loc, begin, perRow);
    // Lane l of the vector at kept value q (relative to the row) is kept
    // value q + l, of group (q + l) / N.
    SmallVector<int64_t> iota(width);
    for (unsigned lane = 0; lane < width; ++lane)
      iota[lane] = lane;
    return emitVectorSum(
        b, loc, begin, end, width, p.elementType,
        [&](OpBuilder &lb, Location ll, Value k, Value mask,
            Value accumulator) -> Value {
          auto splat = [&](Value scalar) -> Value {
            return vector::BroadcastOp::create(lb, ll, indexVectorType, scalar);
          };
          auto constantVector = [&](ArrayRef<int64_t> values) -> Value {
            return arith::ConstantOp::create(
                lb, ll, indexVectorType,
                DenseElementsAttr::get(indexVectorType,
                                       ArrayRef<int64_t>(values)));
          };
          SmallVector<int64_t> nSplat(width, p.n), mSplat(width, p.m);
          Value kept = arith::AddIOp::create(
              lb, ll, splat(arith::SubIOp::create(lb, ll, k, begin)),
              constantVector(iota));
          Value groupStart = arith::MulIOp::create(
              lb, ll,
              arith::DivUIOp::create(lb, ll, kept, constantVector(nSplat)),
              constantVector(mSplat));
          auto crdType = cast<MemRefType>(p.offsets.getType()).getElementType();
          Value offsets = loadVector(lb, ll, VectorType::get({width}, crdType),
                                     p.offsets, ValueRange{k}, mask);
          if (!crdType.isIndex())
            offsets =
                arith::IndexCastUIOp::create(lb, ll, indexVectorType, offsets);
          Value columns = arith::AddIOp::create(lb, ll, groupStart, offsets);
          Value values =
              loadVector(lb, ll, vectorType, p.values, ValueRange{k}, mask);
          Value gathered = vector::GatherOp::create(
              lb, ll, vectorType, x, ValueRange{indexConstant(lb, ll, 0)},
              columns, mask, zeroVector(lb, ll, vectorType));
          return vector::FMAOp::create(lb, ll, values, gathered, accumulator);
        });
  }

  /// C[row, column : column + vectors * lanes] += the row's groups
  /// [groupBegin, groupEnd) times B, `vectors` accumulators in registers;
  /// each group's N kept values are unrolled: load its position, broadcast
  /// its value, FMA with the tile's vectors of B row group * M + position.
  /// The accumulators start from C, or from zero in a zero-filled product
  /// (where `zeroStart`, if given, is true). A tile narrower than n-tile
  /// spreads each group's kept values over accumulatorSets (at most N).
  void emitTile(OpBuilder &b, Location loc, Value row, Value column,
                unsigned vectors, Value mask, Value groupBegin, Value groupEnd,
                Value zeroStart) const {
    auto vectorType = VectorType::get({p.lanes}, p.elementType);
    Value bFlat, ld;
    std::tie(bFlat, ld) = flattenRowMajor(b, loc, p.denseBuffer);
    auto loadTile = [&](OpBuilder &lb, Location ll) {
      SmallVector<Value> tile;
      for (unsigned v = 0; v < vectors; ++v) {
        Value j = arith::AddIOp::create(lb, ll, column,
                                        indexConstant(lb, ll, v * p.lanes));
        tile.push_back(loadVector(lb, ll, vectorType, p.result.buffer,
                                  ValueRange{row, j}, mask));
      }
      return tile;
    };
    SmallVector<Value> initial = initialAccumulators(
        b, loc, p.result, zeroStart, vectorType, vectors, loadTile);
    int64_t sets =
        std::min<int64_t>(p.n, accumulatorSets(options.nTile, vectors));
    initial.append((sets - 1) * vectors, zeroVector(b, loc, vectorType));
    Value cN = indexConstant(b, loc, p.n), cM = indexConstant(b, loc, p.m);
    Value rowStart = arith::MulIOp::create(
        b, loc, arith::MulIOp::create(b, loc, row, p.groups), cN);
    Value lastKept;
    if (options.prefetchDistance)
      lastKept = arith::SubIOp::create(
          b, loc,
          memref::DimOp::create(b, loc, p.offsets, indexConstant(b, loc, 0)),
          indexConstant(b, loc, 1));
    // Index in B's flat buffer of (group * M + offset at kept value k,
    // column).
    auto bBase = [&](OpBuilder &lb, Location ll, Value groupStart,
                     Value k) -> Value {
      Value offset =
          toIndex(lb, ll, memref::LoadOp::create(lb, ll, p.offsets, k));
      Value bRow = arith::AddIOp::create(lb, ll, groupStart, offset);
      return arith::AddIOp::create(
          lb, ll, arith::MulIOp::create(lb, ll, bRow, ld), column);
    };
    auto vectorAt = [&](OpBuilder &lb, Location ll, Value base, unsigned v) {
      return v == 0 ? base
                    : arith::AddIOp::create(lb, ll, base,
                                            indexConstant(lb, ll, v * p.lanes))
                          .getResult();
    };
    auto loop = scf::ForOp::create(
        b, loc, groupBegin, groupEnd, indexConstant(b, loc, 1), initial,
        [&](OpBuilder &lb, Location ll, Value group, ValueRange accumulators) {
          Value groupStart = arith::MulIOp::create(lb, ll, group, cM);
          Value first = arith::AddIOp::create(
              lb, ll, rowStart, arith::MulIOp::create(lb, ll, group, cN));
          if (options.prefetchDistance) {
            // The B row of the kept value prefetchDistance ahead (clamped),
            // in whichever group of the row (or the next row) it is.
            Value ahead = arith::MinUIOp::create(
                lb, ll,
                arith::AddIOp::create(
                    lb, ll, first,
                    indexConstant(lb, ll, options.prefetchDistance)),
                lastKept);
            Value aheadGroup = arith::RemUIOp::create(
                lb, ll, arith::DivUIOp::create(lb, ll, ahead, cN), p.groups);
            Value base = bBase(
                lb, ll, arith::MulIOp::create(lb, ll, aheadGroup, cM), ahead);
            prefetchVectors(
                lb, ll, bFlat, vectors, p.lanes,
                FloatType(p.elementType).getWidth(),
                [&](unsigned v) { return vectorAt(lb, ll, base, v); });
          }
          SmallVector<Value> updated(accumulators.begin(), accumulators.end());
          for (int64_t t = 0; t < p.n; ++t) {
            Value k = t == 0 ? first
                             : arith::AddIOp::create(lb, ll, first,
                                                     indexConstant(lb, ll, t))
                                   .getResult();
            Value base = bBase(lb, ll, groupStart, k);
            Value broadcast = vector::BroadcastOp::create(
                lb, ll, vectorType,
                memref::LoadOp::create(lb, ll, p.values, k));
            Value *set = &updated[(t % sets) * vectors];
            for (unsigned v = 0; v < vectors; ++v)
              set[v] = vector::FMAOp::create(
                  lb, ll, broadcast,
                  loadVector(lb, ll, vectorType, bFlat,
                             ValueRange{vectorAt(lb, ll, base, v)}, mask),
                  set[v]);
          }
          scf::YieldOp::create(lb, ll, updated);
        });
    SmallVector<Value> sums =
        sumAccumulatorSets(b, loc, loop.getResults(), vectors);
    for (unsigned v = 0; v < vectors; ++v) {
      Value j = arith::AddIOp::create(b, loc, column,
                                      indexConstant(b, loc, v * p.lanes));
      storeVector(b, loc, sums[v], p.result.buffer, ValueRange{row, j}, mask);
    }
  }

  NmProduct p;
  NmOptions options;
};

struct NmKernelsPass
    : public sparse_opt::impl::SparseOptNmKernelsBase<NmKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(verifySchedules(getOperation(), getArgument())))
      return signalPassFailure();
    if (nTile == 0 || !llvm::isPowerOf2_32(nTile)) {
      getOperation().emitError()
          << "sparse-opt-nm-kernels: n-tile must be a power of two, got "
          << nTile.getValue();
      return signalPassFailure();
    }
    if (vectorLength == 0 || dotVectorLength == 0)
      return;
    NmOptions options{vectorLength,      dotVectorLength, nTile,
                      prefetchDistance,  kBlock,          rowBlock,
                      kBlockMinNonZeros, minParallelWork};
    RewritePatternSet patterns(&getContext());
    patterns.add<SpmmPattern<NmRowEmitter>, SpmvPattern<NmRowEmitter>>(
        &getContext(), options);
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};

} // namespace
