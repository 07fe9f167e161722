//===- BsrKernels.cpp - Vector loops for BSR x dense products -------------===//
//
// Implements `sparse-opt-bsr-kernels`; see Passes.td for the contract. A CSR
// SpMM kernel loads one B row (a tile of vectors) per non-zero and uses it
// once, so it is bound by B loads from L2. In a block of R x C weights each
// B row vector is shared by the R rows of the block: loaded once, used in R
// FMAs. That reuse is what this kernel keeps in registers.
//
//===----------------------------------------------------------------------===//

#include "sparse-opt/Transforms/Passes.h"

#include "KernelSupport.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
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
#define GEN_PASS_DEF_SPARSEOPTBSRKERNELS
#include "sparse-opt/Transforms/Passes.h.inc"
} // namespace mlir::sparse_opt

using namespace mlir;
using namespace mlir::sparse_tensor;
using namespace mlir::sparse_opt::kernels;

namespace {

struct BsrOptions {
  unsigned lanesFor32Bit;
  unsigned nTile;
  unsigned accumulatorRegisters;
  unsigned prefetchDistance;
  unsigned kBlock;
  unsigned rowBlock;
  unsigned kBlockMinNonZeros;
  unsigned minParallelWork;
};

/// A BSR x dense -> dense product of floats and the buffers its kernel
/// works on.
struct BsrProduct {
  FloatType elementType;
  unsigned lanes;
  int64_t blockRows, blockCols; // R, C
  Value positions, coordinates, values;
  Value denseBuffer; // B (K x N) or x (K)
  ProductResult result;
  Value rowBlocks;    // M / R
  int64_t staticCols; // K, or ShapedType::kDynamic
};

FailureOr<BsrProduct> prepareBsrProduct(linalg::LinalgOp op, int64_t denseRank,
                                        const BsrOptions &options,
                                        PatternRewriter &rewriter) {
  FailureOr<SparseProductOperands> operands = matchSparseProduct(
      op, denseRank,
      [](SparseTensorType type) { return succeeded(matchBsrBlock(type)); },
      "BSR", rewriter);
  if (failed(operands))
    return failure();
  auto [blockRows, blockCols] =
      *matchBsrBlock(SparseTensorType(operands->aType));
  for (auto [dim, size] : llvm::enumerate(operands->aType.getShape()))
    if (!ShapedType::isDynamic(size) &&
        size % (dim == 0 ? blockRows : blockCols) != 0)
      return rewriter.notifyMatchFailure(op, "shape is not a block multiple");
  BsrProduct product;
  product.elementType = operands->elementType;
  product.lanes = lanesFor(options.lanesFor32Bit, product.elementType);
  if (product.lanes == 0)
    return rewriter.notifyMatchFailure(op, "vectorization is disabled");
  product.blockRows = blockRows;
  product.blockCols = blockCols;

  Location loc = op.getLoc();
  Value a = operands->a;
  Value levels = toLevelSpace(rewriter, loc, a);
  product.positions = positionsBuffer(rewriter, loc, levels, 1);
  product.coordinates = coordinatesBuffer(rewriter, loc, levels, 1);
  product.values = valuesBuffer(rewriter, loc, levels);
  product.denseBuffer = readOnlyBuffer(rewriter, loc, operands->dense);
  product.result = createProductResult(op, a, operands->dense, rewriter);
  Value rows = rewriter.createOrFold<tensor::DimOp>(
      loc, a, indexConstant(rewriter, loc, 0));
  product.staticCols = operands->aType.getDimSize(1);
  product.rowBlocks = rewriter.createOrFold<arith::DivUIOp>(
      loc, rows, indexConstant(rewriter, loc, blockRows));
  return product;
}

/// Emits the loops of one block row of A.
class BlockRowEmitter {
public:
  using Options = BsrOptions;
  static constexpr bool kMayBlockK = true;

  BlockRowEmitter(const BsrProduct &product, const BsrOptions &options)
      : p(product), options(options) {}

  static FailureOr<BlockRowEmitter> create(linalg::LinalgOp op,
                                           int64_t denseRank,
                                           const BsrOptions &options,
                                           PatternRewriter &rewriter) {
    FailureOr<BsrProduct> product =
        prepareBsrProduct(op, denseRank, options, rewriter);
    if (failed(product))
      return failure();
    return BlockRowEmitter(*product, options);
  }

  Value units() const { return p.rowBlocks; }
  Value values() const { return p.values; }
  unsigned lanes() const { return p.lanes; }
  Value denseBuffer() const { return p.denseBuffer; }
  const ProductResult &result() const { return p.result; }

  /// The block row's block range [begin, end).
  std::pair<Value, Value> blockRange(OpBuilder &b, Location loc,
                                     Value blockRow) const {
    Value begin =
        toIndex(b, loc, memref::LoadOp::create(b, loc, p.positions, blockRow));
    Value next =
        arith::AddIOp::create(b, loc, blockRow, indexConstant(b, loc, 1));
    Value end =
        toIndex(b, loc, memref::LoadOp::create(b, loc, p.positions, next));
    return {begin, end};
  }

  /// Vectors per register tile along N: R rows of accumulators share each
  /// B vector, so the tile narrows as R grows to keep R x vectors within
  /// the accumulator register budget (at least one vector).
  unsigned tileVectors() const {
    unsigned fit = std::max<unsigned>(1, options.accumulatorRegisters /
                                             unsigned(p.blockRows));
    return std::min(options.nTile, llvm::bit_floor(fit));
  }

  /// SpMM: C[R rows of the block row, :] as register tiles along N.
  void emitTiled(OpBuilder &b, Location loc, Value blockRow, Value cols) const {
    Value begin, end;
    std::tie(begin, end) = blockRange(b, loc, blockRow);
    emitColumnTiles(b, loc, indexConstant(b, loc, 0), cols, p.lanes,
                    tileVectors(),
                    [&](OpBuilder &tb, Location tl, Value column,
                        unsigned vectors, Value mask) {
                      emitTile(tb, tl, blockRow, column, begin, end, vectors,
                               mask);
                    });
  }

  /// SpMV (and SpMM with N = 1): the block row's R sums of
  /// values x x[C columns of each block], accumulated as one vector of
  /// R x C lanes (a block's values are contiguous, row-major), reduced to
  /// R results once per block row.
  void emitDots(OpBuilder &b, Location loc, Value x, Value blockRow) const {
    auto [begin, end] = blockRange(b, loc, blockRow);
    int64_t r = p.blockRows, c = p.blockCols;
    auto blockType = VectorType::get({r * c}, p.elementType);
    Value blockSize = indexConstant(b, loc, r * c);
    Value cBlock = indexConstant(b, loc, c);
    auto loop = scf::ForOp::create(
        b, loc, begin, end, indexConstant(b, loc, 1),
        ValueRange{zeroVector(b, loc, blockType)},
        [&](OpBuilder &lb, Location ll, Value k, ValueRange accumulator) {
          Value values = vector::LoadOp::create(
              lb, ll, blockType, p.values,
              ValueRange{arith::MulIOp::create(lb, ll, k, blockSize)});
          Value column = arith::MulIOp::create(
              lb, ll,
              toIndex(lb, ll, memref::LoadOp::create(lb, ll, p.coordinates, k)),
              cBlock);
          // x[column : column + C], repeated for each of the R rows.
          Value xs;
          if (c == 1) {
            xs = vector::BroadcastOp::create(
                lb, ll, blockType,
                memref::LoadOp::create(lb, ll, x, ValueRange{column}));
          } else {
            Value part = vector::LoadOp::create(
                lb, ll, VectorType::get({c}, p.elementType), x,
                ValueRange{column});
            SmallVector<int64_t> repeat;
            for (int64_t row = 0; row < r; ++row)
              for (int64_t lane = 0; lane < c; ++lane)
                repeat.push_back(lane);
            xs = r == 1 ? part
                        : vector::ShuffleOp::create(lb, ll, part, part, repeat)
                              .getResult();
          }
          scf::YieldOp::create(lb, ll,
                               ValueRange{vector::FMAOp::create(
                                   lb, ll, values, xs, accumulator[0])});
        });
    Value sums = loop.getResult(0);
    Value row0 =
        arith::MulIOp::create(b, loc, blockRow, indexConstant(b, loc, r));
    auto resultType = cast<MemRefType>(p.result.buffer.getType());
    bool matrixResult = resultType.getRank() == 2;
    auto at = [&](OpBuilder &sb, Location sl, Value row) {
      SmallVector<Value> indices{row};
      if (matrixResult)
        indices.push_back(indexConstant(sb, sl, 0));
      return indices;
    };
    if (c == 1 && !matrixResult) {
      // The R sums are the lanes of the accumulator: one vector store.
      if (!p.result.zeroInit)
        sums = arith::AddFOp::create(b, loc,
                                     vector::LoadOp::create(b, loc, blockType,
                                                            p.result.buffer,
                                                            ValueRange{row0}),
                                     sums);
      vector::StoreOp::create(b, loc, sums, p.result.buffer, ValueRange{row0});
      return;
    }
    for (int64_t row = 0; row < r; ++row) {
      Value sum;
      if (c == 1) {
        sum = vector::ExtractOp::create(b, loc, sums, ArrayRef<int64_t>{row});
      } else {
        Value part = vector::ExtractStridedSliceOp::create(
            b, loc, sums, ArrayRef<int64_t>{row * c}, ArrayRef<int64_t>{c},
            ArrayRef<int64_t>{1});
        sum = vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD,
                                          part);
      }
      Value index =
          arith::AddIOp::create(b, loc, row0, indexConstant(b, loc, row));
      storeSum(b, loc, p.result, at(b, loc, index), sum);
    }
  }

  /// Block columns per K block: `k-block` columns, at least one block.
  int64_t kBlockCols() const {
    return std::max<int64_t>(1, options.kBlock / p.blockCols);
  }

  /// Whether SpMM may block over K: K static and above one K block.
  bool blocksK() const {
    return options.kBlock && !ShapedType::isDynamic(p.staticCols) &&
           p.staticCols / p.blockCols > kBlockCols();
  }

  /// Whether it does, at run time: N holds a full tile and the block rows
  /// average enough blocks per K block (`k-block-min-nonzeros` B rows, i.e.
  /// that many / C blocks) for the C tile's load and store per K block to
  /// pay; there are blocks at all (the cursors read coordinates).
  Value useKBlocking(OpBuilder &b, Location loc, Value cols) const {
    auto cmp = [&](arith::CmpIPredicate predicate, Value x, Value y) {
      return arith::CmpIOp::create(b, loc, predicate, x, y);
    };
    Value stored = toIndex(
        b, loc, memref::LoadOp::create(b, loc, p.positions, p.rowBlocks));
    int64_t colBlocks = p.staticCols / p.blockCols;
    int64_t minBlocks = std::max<int64_t>(
        1, (options.kBlockMinNonZeros + p.blockCols - 1) / p.blockCols);
    Value needed = arith::MulIOp::create(
        b, loc, p.rowBlocks, indexConstant(b, loc, colBlocks * minBlocks));
    Value perBlock = arith::MulIOp::create(b, loc, stored,
                                           indexConstant(b, loc, kBlockCols()));
    Value dense = arith::AndIOp::create(
        b, loc, cmp(arith::CmpIPredicate::uge, perBlock, needed),
        cmp(arith::CmpIPredicate::ugt, stored, indexConstant(b, loc, 0)));
    return arith::AndIOp::create(
        b, loc, dense,
        cmp(arith::CmpIPredicate::uge, cols, fullTileWidth(b, loc)));
  }

  Value fullTileWidth(OpBuilder &b, Location loc) const {
    return indexConstant(b, loc, tileVectors() * p.lanes);
  }

  /// K-blocked SpMM: block rows in groups (about `row-block` rows) run in
  /// parallel; for each full tile of columns, the block columns are taken
  /// `k-block` columns at a time and every block row of the group
  /// accumulates its blocks of them into its R rows' C tile, so the B panel
  /// stays in L1 across the block rows. A cursor per block row remembers
  /// where its next K block starts (block columns ascend). The tail columns
  /// run per block row as in emitTiled.
  void emitKBlocked(OpBuilder &b, Location loc, Value cols) const {
    Value c0 = indexConstant(b, loc, 0), c1 = indexConstant(b, loc, 1);
    int64_t perGroup =
        std::max<int64_t>(1, int64_t(options.rowBlock) / p.blockRows);
    // Fewer block rows per group when that would leave fewer than
    // kMinGroups groups, so that small M still spreads over the threads.
    constexpr int64_t kMinGroups = 8;
    Value groupSize = arith::MaxUIOp::create(
        b, loc, c1,
        arith::MinUIOp::create(
            b, loc, indexConstant(b, loc, perGroup),
            arith::CeilDivUIOp::create(b, loc, p.rowBlocks,
                                       indexConstant(b, loc, kMinGroups))));
    Value groups = arith::CeilDivUIOp::create(b, loc, p.rowBlocks, groupSize);
    Value tileWidth = fullTileWidth(b, loc);
    Value fullEnd = arith::MulIOp::create(
        b, loc, arith::DivUIOp::create(b, loc, cols, tileWidth), tileWidth);
    Value colBlocks = indexConstant(b, loc, p.staticCols / p.blockCols);
    Value kStep = indexConstant(b, loc, kBlockCols());
    forEachParallel(
        b, loc, groups,
        [&](OpBuilder &pb, Location pl, Value group) {
          Value first = arith::MulIOp::create(pb, pl, group, groupSize);
          Value last = arith::MinUIOp::create(
              pb, pl, arith::AddIOp::create(pb, pl, first, groupSize),
              p.rowBlocks);
          Value cursors = memref::AllocaOp::create(
              pb, pl, MemRefType::get({perGroup}, pb.getIndexType()));
          auto slot = [&](OpBuilder &sb, Location sl, Value blockRow) {
            return arith::SubIOp::create(sb, sl, blockRow, first).getResult();
          };
          emitLoop(
              pb, pl, c0, fullEnd, tileWidth,
              [&](OpBuilder &tb, Location tl, Value column) {
                emitLoop(tb, tl, first, last, c1,
                         [&](OpBuilder &rb, Location rl, Value blockRow) {
                           memref::StoreOp::create(
                               rb, rl, blockRange(rb, rl, blockRow).first,
                               cursors, slot(rb, rl, blockRow));
                         });
                emitLoop(
                    tb, tl, c0, colBlocks, kStep,
                    [&](OpBuilder &kb, Location kl, Value kStart) {
                      Value kEnd = arith::AddIOp::create(kb, kl, kStart, kStep);
                      Value zeroStart;
                      if (p.result.zeroInit)
                        zeroStart = arith::CmpIOp::create(
                            kb, kl, arith::CmpIPredicate::eq, kStart, c0);
                      emitLoop(
                          kb, kl, first, last, c1,
                          [&](OpBuilder &rb, Location rl, Value blockRow) {
                            Value begin = memref::LoadOp::create(
                                rb, rl, cursors, slot(rb, rl, blockRow));
                            Value end = blockRange(rb, rl, blockRow).second;
                            Value reached = emitTile(rb, rl, blockRow, column,
                                                     begin, end, tileVectors(),
                                                     Value(), zeroStart, kEnd);
                            memref::StoreOp::create(rb, rl, reached, cursors,
                                                    slot(rb, rl, blockRow));
                          });
                    });
              });
          emitLoop(pb, pl, first, last, c1,
                   [&](OpBuilder &rb, Location rl, Value blockRow) {
                     auto range = blockRange(rb, rl, blockRow);
                     emitTailTiles(
                         rb, rl, fullEnd, cols, p.lanes, tileVectors(),
                         [&](OpBuilder &tb, Location tl, Value column,
                             unsigned vectors, Value mask) {
                           emitTile(tb, tl, blockRow, column, range.first,
                                    range.second, vectors, mask);
                         });
                   });
        },
        productWork(b, loc, p.values, cols, p.lanes, options.minParallelWork));
  }

private:
  /// C[block row's R rows, column : column + vectors * lanes] over the
  /// blocks [begin, end), in R x vectors accumulator registers. For each of
  /// the block's C columns the tile's B vectors are loaded once and used by
  /// all R rows. With a mask, one vector whose masked-off lanes are neither
  /// read nor written.
  Value emitTile(OpBuilder &b, Location loc, Value blockRow, Value column,
                 Value begin, Value end, unsigned vectors, Value mask,
                 Value zeroStart = Value(), Value blockColEnd = Value()) const {
    int64_t r = p.blockRows, c = p.blockCols;
    auto vectorType = VectorType::get({p.lanes}, p.elementType);
    Value row0 =
        arith::MulIOp::create(b, loc, blockRow, indexConstant(b, loc, r));
    SmallVector<Value> rows, columns;
    for (int64_t row = 0; row < r; ++row)
      rows.push_back(row == 0 ? row0
                              : arith::AddIOp::create(
                                    b, loc, row0, indexConstant(b, loc, row))
                                    .getResult());
    for (unsigned v = 0; v < vectors; ++v)
      columns.push_back(
          v == 0 ? column
                 : arith::AddIOp::create(b, loc, column,
                                         indexConstant(b, loc, v * p.lanes))
                       .getResult());

    // B is indexed through its flattened buffer: the B vectors of a block
    // are then at constant offsets from one base, which become immediate
    // displacements instead of one live register per vector.
    Value bFlat, ld;
    std::tie(bFlat, ld) = flattenRowMajor(b, loc, p.denseBuffer);
    SmallVector<Value> rowOffsets; // c * ld + v * lanes, loop-invariant
    for (int64_t col = 0; col < c; ++col) {
      Value rowOffset =
          arith::MulIOp::create(b, loc, ld, indexConstant(b, loc, col));
      for (unsigned v = 0; v < vectors; ++v)
        rowOffsets.push_back(arith::AddIOp::create(
            b, loc, rowOffset, indexConstant(b, loc, v * p.lanes)));
    }

    // Row-major: accumulator (row, v).
    SmallVector<Value> initial = initialAccumulators(
        b, loc, p.result, zeroStart, vectorType, rows.size() * columns.size(),
        [&](OpBuilder &lb, Location ll) {
          SmallVector<Value> tile;
          for (Value row : rows)
            for (Value j : columns)
              tile.push_back(loadVector(lb, ll, vectorType, p.result.buffer,
                                        ValueRange{row, j}, mask));
          return tile;
        });

    Value c1 = indexConstant(b, loc, 1);
    Value lastBlock;
    if (options.prefetchDistance) {
      Value count = memref::DimOp::create(b, loc, p.coordinates,
                                          indexConstant(b, loc, 0));
      lastBlock = arith::SubIOp::create(b, loc, count, c1);
    }
    Value blockSize = indexConstant(b, loc, r * c);
    Value cBlock = indexConstant(b, loc, c);
    auto bBase = [&](OpBuilder &lb, Location ll, Value k) -> Value {
      Value bRow = arith::MulIOp::create(
          lb, ll,
          toIndex(lb, ll, memref::LoadOp::create(lb, ll, p.coordinates, k)),
          cBlock);
      return arith::AddIOp::create(
          lb, ll, arith::MulIOp::create(lb, ll, bRow, ld), column);
    };
    // One block: the tile's FMAs for its R x C values.
    auto step = [&](OpBuilder &lb, Location ll, Value k,
                    ValueRange accumulators) -> SmallVector<Value> {
      if (options.prefetchDistance)
        emitPrefetch(lb, ll, k, lastBlock, bFlat, rowOffsets, vectors, bBase);
      Value base = bBase(lb, ll, k);
      Value valueBase = arith::MulIOp::create(lb, ll, k, blockSize);
      SmallVector<Value> updated(accumulators.begin(), accumulators.end());
      for (int64_t col = 0; col < c; ++col) {
        SmallVector<Value> bVectors;
        for (unsigned v = 0; v < vectors; ++v) {
          Value at = arith::AddIOp::create(lb, ll, base,
                                           rowOffsets[col * vectors + v]);
          bVectors.push_back(
              loadVector(lb, ll, vectorType, bFlat, ValueRange{at}, mask));
        }
        for (int64_t row = 0; row < r; ++row) {
          Value value = memref::LoadOp::create(
              lb, ll, p.values,
              ValueRange{arith::AddIOp::create(
                  lb, ll, valueBase, indexConstant(lb, ll, row * c + col))});
          Value broadcast =
              vector::BroadcastOp::create(lb, ll, vectorType, value);
          for (unsigned v = 0; v < vectors; ++v) {
            Value &accumulator = updated[row * vectors + v];
            accumulator = vector::FMAOp::create(lb, ll, broadcast, bVectors[v],
                                                accumulator);
          }
        }
      }
      return updated;
    };

    ValueRange results;
    Value reached = end;
    if (!blockColEnd) {
      auto loop = scf::ForOp::create(
          b, loc, begin, end, c1, initial,
          [&](OpBuilder &lb, Location ll, Value k, ValueRange accumulators) {
            scf::YieldOp::create(lb, ll, step(lb, ll, k, accumulators));
          });
      results = loop.getResults();
    } else {
      // The blocks of the block row from `begin` whose block column is
      // below blockColEnd (block columns ascend); returns where it stopped.
      SmallVector<Value> inits{begin};
      inits.append(initial.begin(), initial.end());
      SmallVector<Type> types(inits.size(), vectorType);
      types[0] = b.getIndexType();
      auto loop = scf::WhileOp::create(
          b, loc, types, inits,
          [&](OpBuilder &wb, Location wl, ValueRange args) {
            Value k = args[0];
            Value inRange = arith::CmpIOp::create(
                wb, wl, arith::CmpIPredicate::ult, k, end);
            auto below = scf::IfOp::create(
                wb, wl, inRange,
                [&](OpBuilder &tb, Location tl) {
                  Value blockCol = toIndex(
                      tb, tl, memref::LoadOp::create(tb, tl, p.coordinates, k));
                  scf::YieldOp::create(tb, tl,
                                       ValueRange{arith::CmpIOp::create(
                                           tb, tl, arith::CmpIPredicate::ult,
                                           blockCol, blockColEnd)});
                },
                [&](OpBuilder &eb, Location el) {
                  scf::YieldOp::create(
                      eb, el,
                      ValueRange{arith::ConstantIntOp::create(eb, el, 0, 1)});
                });
            scf::ConditionOp::create(wb, wl, below.getResult(0), args);
          },
          [&](OpBuilder &ab, Location al, ValueRange args) {
            SmallVector<Value> next{arith::AddIOp::create(ab, al, args[0], c1)};
            SmallVector<Value> updated =
                step(ab, al, args[0], args.drop_front());
            next.append(updated.begin(), updated.end());
            scf::YieldOp::create(ab, al, next);
          });
      reached = loop.getResult(0);
      results = loop.getResults().drop_front();
    }

    for (auto [index, result] : llvm::enumerate(results))
      storeVector(b, loc, result, p.result.buffer,
                  ValueRange{rows[index / vectors], columns[index % vectors]},
                  mask);
    return reached;
  }

  /// Prefetches the tile's B lines of the block prefetchDistance blocks
  /// ahead (clamped to the last block): its C consecutive B rows sit one
  /// leading dimension apart, which hardware prefetchers do not follow
  /// across blocks whose columns jump.
  void
  emitPrefetch(OpBuilder &b, Location loc, Value k, Value lastBlock,
               Value bFlat, ArrayRef<Value> rowOffsets, unsigned vectors,
               function_ref<Value(OpBuilder &, Location, Value)> bBase) const {
    Value ahead = arith::AddIOp::create(
        b, loc, k, indexConstant(b, loc, options.prefetchDistance));
    Value block = arith::MinUIOp::create(b, loc, ahead, lastBlock);
    Value base = bBase(b, loc, block);
    for (int64_t col = 0; col < p.blockCols; ++col)
      prefetchVectors(b, loc, bFlat, vectors, p.lanes,
                      FloatType(p.elementType).getWidth(), [&](unsigned v) {
                        return arith::AddIOp::create(
                            b, loc, base, rowOffsets[col * vectors + v]);
                      });
  }

  BsrProduct p;
  BsrOptions options;
};

/// `sparse_tensor.assemble` of a BSR tensor, as the sparse ABI emits it,
/// done in level space instead (see assembleInLevelSpace).
struct BsrAssembleInLevelSpace : public OpRewritePattern<AssembleOp> {
  using OpRewritePattern::OpRewritePattern;

  LogicalResult matchAndRewrite(AssembleOp op,
                                PatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getResult().getType());
    SparseTensorType sparse(type);
    if (failed(matchBsrBlock(sparse)))
      return failure();
    rewriter.replaceOp(op,
                       assembleInLevelSpace(rewriter, op.getLoc(), type,
                                            op.getLevels(), op.getValues()));
    return success();
  }
};

struct BsrKernelsPass
    : public sparse_opt::impl::SparseOptBsrKernelsBase<BsrKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(verifySchedules(getOperation(), getArgument())))
      return signalPassFailure();
    if (nTile == 0 || !llvm::isPowerOf2_32(nTile)) {
      getOperation().emitError()
          << "sparse-opt-bsr-kernels: n-tile must be a power of two, got "
          << nTile.getValue();
      return signalPassFailure();
    }
    if (accumulatorRegisters == 0) {
      getOperation().emitError() << "sparse-opt-bsr-kernels: "
                                    "accumulator-registers must be positive";
      return signalPassFailure();
    }
    if (vectorLength == 0)
      return;
    BsrOptions options{vectorLength,      nTile,          accumulatorRegisters,
                       prefetchDistance,  kBlock,         rowBlock,
                       kBlockMinNonZeros, minParallelWork};
    RewritePatternSet patterns(&getContext());
    patterns.add<SpmmPattern<BlockRowEmitter>, SpmvPattern<BlockRowEmitter>>(
        &getContext(), options);
    patterns.add<BsrAssembleInLevelSpace>(&getContext());
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};

} // namespace
