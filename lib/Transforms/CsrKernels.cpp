//===- CsrKernels.cpp - Vector loops for CSR x dense products -------------===//
//
// Implements `sparse-opt-csr-kernels`; see Passes.td for the contract. The
// loop structure follows the measurement in ../shared/BRIEF.md: SpMM on CPUs
// is limited by keeping the output row in registers and touching each B row
// once per non-zero, which the sparsifier's one-vector-at-a-time loops (they
// reload and restore C for every non-zero) do not do; SpMV is limited by
// latency, which wants a vector accumulator per row instead of a scalar one.
//
//===----------------------------------------------------------------------===//

#include "sparse-opt/Transforms/Passes.h"

#include "KernelSupport.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SparseTensor/IR/SparseTensorType.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

#include <limits>

namespace mlir::sparse_opt {
#define GEN_PASS_DEF_SPARSEOPTCSRKERNELS
#include "sparse-opt/Transforms/Passes.h.inc"
} // namespace mlir::sparse_opt

using namespace mlir;
using namespace mlir::sparse_tensor;
using namespace mlir::sparse_opt::kernels;

namespace {

using KernelOptions = RowKernelOptions;

/// A CSR x dense -> dense product of floats: the sparse operand's buffers,
/// the dense operand's buffer, the result's buffer and how to fill it.
struct CsrProduct {
  FloatType elementType;
  unsigned lanes;    // SpMM tiles
  unsigned dotLanes; // row dot products (gathers)
  Value positions, coordinates, values;
  Value denseBuffer;    // B (K x N) or x (K)
  ProductResult result; // C (M x N) or y (M)
  /// Gathers may use the coordinates as they are (signed in LLVM) only
  /// when every column index fits the coordinate type's positive range.
  bool coordinatesFitSigned;
};

/// Checks that `op` (matmul or matvec) multiplies a CSR `a` with a dense
/// operand of rank `denseRank` into a dense result, and creates the buffers
/// the kernel works on; the rows come from `a`.
FailureOr<CsrProduct> prepareCsrProduct(linalg::LinalgOp op,
                                        int64_t denseRank,
                                        const KernelOptions &options,
                                        PatternRewriter &rewriter) {
  FailureOr<SparseProductOperands> operands = matchSparseProduct(
      op, denseRank, [](SparseTensorType sparse) { return isCsr(sparse); },
      "CSR", rewriter);
  if (failed(operands))
    return failure();
  Value a = operands->a, dense = operands->dense;
  RankedTensorType aType = operands->aType;
  SparseTensorType sparse(aType);
  FloatType elementType = operands->elementType;
  unsigned lanes = lanesFor(options.lanesFor32Bit, elementType);
  unsigned dotLanes = lanesFor(options.dotLanesFor32Bit, elementType);
  if (lanes == 0 || dotLanes == 0)
    return rewriter.notifyMatchFailure(op, "vectorization is disabled");

  Location loc = op.getLoc();
  CsrProduct product;
  product.elementType = elementType;
  product.lanes = lanes;
  product.dotLanes = dotLanes;
  product.positions = positionsBuffer(rewriter, loc, a, 1);
  product.coordinates = coordinatesBuffer(rewriter, loc, a, 1);
  product.values = valuesBuffer(rewriter, loc, a);
  product.denseBuffer = readOnlyBuffer(rewriter, loc, dense);

  int64_t columns = aType.getDimSize(1);
  unsigned crdWidth = sparse.getCrdType().isIndex()
                          ? 64
                          : sparse.getCrdType().getIntOrFloatBitWidth();
  product.coordinatesFitSigned =
      crdWidth == 64 ||
      (!ShapedType::isDynamic(columns) &&
       columns - 1 <= (int64_t(1) << (crdWidth - 1)) - 1);

  product.result = createProductResult(op, a, dense, rewriter);
  return product;
}

/// Emits the loops of one row of A.
class RowEmitter {
public:
  RowEmitter(const CsrProduct &product, const KernelOptions &options)
      : p(product), options(options) {}

  /// The row's non-zero range [begin, end).
  std::pair<Value, Value> rowRange(OpBuilder &b, Location loc,
                                   Value row) const {
    Value begin =
        toIndex(b, loc, memref::LoadOp::create(b, loc, p.positions, row));
    Value next = arith::AddIOp::create(b, loc, row, indexConstant(b, loc, 1));
    Value end =
        toIndex(b, loc, memref::LoadOp::create(b, loc, p.positions, next));
    return {begin, end};
  }

  /// Rows per group of row dot products (see emitRowDots): one reduction
  /// tree yields a vector of their sums.
  unsigned dotGroup() const {
    constexpr unsigned kMaxGroup = 8;
    return llvm::isPowerOf2_32(p.dotLanes) ? std::min(p.dotLanes, kMaxGroup)
                                           : 1;
  }

  /// The row dot products (SpMV, SpMM with N = 1) of rows [G x group,
  /// G x group + G) below `rows`, G = dotGroup(), against the vector `x`,
  /// stored as one vector into the 1-D `out` (y, or C's only column): each
  /// row's products add up in a vector of its own, and the G vectors' lane
  /// sums are reduced together (sumLanesOfEach) instead of one reduction
  /// tree per row. With short rows (ResNet-50 layers at 0.98 sparsity
  /// average 5-20 non-zeros) the per-row reduction and scalar store were
  /// most of the time (perf annotate, 64 x 576 at 0.98: ~45% of the
  /// samples).
  void emitRowDots(OpBuilder &b, Location loc, Value x, Value out, Value group,
                   Value rows) const {
    unsigned width = dotGroup();
    Value first =
        arith::MulIOp::create(b, loc, group, indexConstant(b, loc, width));
    SmallVector<Value> products;
    for (unsigned lane = 0; lane < width; ++lane) {
      // Rows past the end (the last group) sum over an empty range of the
      // group's first row.
      Value row =
          arith::AddIOp::create(b, loc, first, indexConstant(b, loc, lane));
      Value inside =
          arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ult, row, rows);
      auto [begin, end] =
          rowRange(b, loc, arith::SelectOp::create(b, loc, inside, row, first));
      end = arith::SelectOp::create(b, loc, inside, end, begin);
      products.push_back(emitRowProducts(b, loc, x, begin, end));
    }
    Value sums = sumLanesOfEach(b, loc, products);
    Value count = arith::MinUIOp::create(
        b, loc, arith::SubIOp::create(b, loc, rows, first),
        indexConstant(b, loc, width));
    Value mask = vector::CreateMaskOp::create(
        b, loc, VectorType::get({int64_t(width)}, b.getI1Type()),
        ValueRange{count});
    if (!p.result.zeroInit)
      sums = arith::AddFOp::create(
          b, loc, loadVector(b, loc, out, first, mask, width), sums);
    vector::MaskedStoreOp::create(b, loc, out, ValueRange{first}, mask, sums);
  }

  /// The row dot products of all rows (groups of dotGroup()) into `out`,
  /// in parallel when the call is worth threads.
  void emitAllRowDots(OpBuilder &b, Location loc, Value x, Value out,
                      Value rows) const {
    Value groups = arith::CeilDivUIOp::create(
        b, loc, rows, indexConstant(b, loc, dotGroup()));
    forEachParallel(
        b, loc, groups,
        [&](OpBuilder &gb, Location gl, Value group) {
          emitRowDots(gb, gl, x, out, group, rows);
        },
        spmmWork(b, loc, /*cols=*/Value()));
  }

  /// values[k] * x[coordinates[k]] over [begin, end) summed lane-wise:
  /// full vectors, then one masked vector.
  Value emitRowProducts(OpBuilder &b, Location loc, Value x, Value begin,
                        Value end) const {
    unsigned width = p.dotLanes;
    auto vectorType = VectorType::get({width}, p.elementType);
    Value zero = zeroVector(b, loc, width);
    return emitLaneSums(
        b, loc, begin, end, width, p.elementType,
        [&](OpBuilder &lb, Location ll, Value k, Value mask,
            Value accumulator) -> Value {
          Value columns = loadVector(lb, ll, p.coordinates, k, mask, width);
          if (!p.coordinatesFitSigned) {
            auto wide = VectorType::get({width}, lb.getI64Type());
            columns = arith::ExtUIOp::create(lb, ll, wide, columns);
          }
          Value values = loadVector(lb, ll, p.values, k, mask, width);
          Value gathered = vector::GatherOp::create(
              lb, ll, vectorType, x, ValueRange{indexConstant(lb, ll, 0)},
              columns, mask, zero);
          return vector::FMAOp::create(lb, ll, values, gathered, accumulator);
        });
  }

  /// SpMM row: full tiles of nTile vectors, then one tile each of
  /// nTile/2, ..., 1 vectors where the remaining columns allow, then a
  /// masked vector for the rest. `bFlat` is B (K x cols) flattened.
  void emitTiledRow(OpBuilder &b, Location loc, Value row, Value begin,
                    Value end, Value cols, Value bFlat) const {
    Value fullWidth = tileWidth(b, loc);
    Value fullEnd = fullTilesEnd(b, loc, cols);
    scf::ForOp::create(
        b, loc, indexConstant(b, loc, 0), fullEnd, fullWidth, ValueRange{},
        [&](OpBuilder &nb, Location nl, Value column, ValueRange) {
          emitTile(nb, nl, row, column, begin, end, options.nTile, Value(),
                   bFlat, cols);
          scf::YieldOp::create(nb, nl);
        });
    emitTailTiles(b, loc, row, begin, end, fullEnd, cols, bFlat);
  }

  /// Columns covered by a full tile of nTile vectors.
  Value tileWidth(OpBuilder &b, Location loc) const {
    return indexConstant(b, loc, options.nTile * p.lanes);
  }

  /// Where the full tiles of a row of `cols` columns end.
  Value fullTilesEnd(OpBuilder &b, Location loc, Value cols) const {
    Value fullWidth = tileWidth(b, loc);
    Value fullTiles = arith::DivUIOp::create(b, loc, cols, fullWidth);
    return arith::MulIOp::create(b, loc, fullTiles, fullWidth);
  }

  /// Whether a K-blocked SpMM pays: at least one full tile, K above the
  /// block, and on average `kBlockMinNonZeros` non-zeros per row and
  /// K block (below that, loading and storing the C tile once per block
  /// costs more than B from L2 does; measured in docs/performance.md).
  Value useKBlocking(OpBuilder &b, Location loc, Value rows, Value depth,
                     Value cols) const {
    auto cmp = [&](arith::CmpIPredicate predicate, Value x, Value y) {
      return arith::CmpIOp::create(b, loc, predicate, x, y);
    };
    Value nonZeros =
        toIndex(b, loc, memref::LoadOp::create(b, loc, p.positions, rows));
    Value perBlock = arith::MulIOp::create(
        b, loc, nonZeros, indexConstant(b, loc, options.kBlock));
    Value needed = arith::MulIOp::create(
        b, loc,
        arith::MulIOp::create(b, loc, rows, depth),
        indexConstant(b, loc, options.kBlockMinNonZeros));
    // Non-zeros are required: the K-blocked tiles read coordinates[0].
    Value dense = arith::AndIOp::create(
        b, loc, cmp(arith::CmpIPredicate::uge, perBlock, needed),
        cmp(arith::CmpIPredicate::ugt, nonZeros, indexConstant(b, loc, 0)));
    Value wide =
        cmp(arith::CmpIPredicate::uge, cols, tileWidth(b, loc));
    Value deep = cmp(arith::CmpIPredicate::ugt, depth,
                     indexConstant(b, loc, options.kBlock));
    return arith::AndIOp::create(
        b, loc, arith::AndIOp::create(b, loc, dense, wide), deep);
  }

  /// K-blocked SpMM, rows in blocks of `rowBlock` run in parallel: for each
  /// full tile of columns, B's rows are taken `kBlock` at a time and every
  /// row of the block accumulates its non-zeros of those B rows into its C
  /// tile, so the B panel (kBlock x tile) stays in L1 across the rows
  /// instead of each non-zero fetching its B row from L2. A cursor per row
  /// remembers where its next K block starts. The tail columns run as in
  /// emitTiledRow.
  void emitKBlocked(OpBuilder &b, Location loc, Value rows, Value depth,
                    Value cols, Value bFlat) const {
    Value c0 = indexConstant(b, loc, 0), c1 = indexConstant(b, loc, 1);
    // Rows per block: `rowBlock`, fewer when that would leave fewer than
    // kMinRowBlocks blocks, so small M still spreads over the threads.
    constexpr int64_t kMinRowBlocks = 8;
    Value rowBlock = arith::MaxUIOp::create(
        b, loc, indexConstant(b, loc, 1),
        arith::MinUIOp::create(
            b, loc, indexConstant(b, loc, options.rowBlock),
            arith::CeilDivUIOp::create(b, loc, rows,
                                       indexConstant(b, loc, kMinRowBlocks))));
    Value kBlock = indexConstant(b, loc, options.kBlock);
    Value blocks = arith::CeilDivUIOp::create(b, loc, rows, rowBlock);
    Value fullEnd = fullTilesEnd(b, loc, cols);
    auto forRange = [](OpBuilder &fb, Location fl, Value lower, Value upper,
                       Value step,
                       function_ref<void(OpBuilder &, Location, Value)> body) {
      scf::ForOp::create(fb, fl, lower, upper, step, ValueRange{},
                         [&](OpBuilder &nb, Location nl, Value iv, ValueRange) {
                           body(nb, nl, iv);
                           scf::YieldOp::create(nb, nl);
                         });
    };
    forEachParallel(
        b, loc, blocks,
        [&](OpBuilder &pb, Location pl, Value block) {
          Value first = arith::MulIOp::create(pb, pl, block, rowBlock);
          Value last = arith::MinUIOp::create(
              pb, pl, arith::AddIOp::create(pb, pl, first, rowBlock), rows);
          auto cursorType =
              MemRefType::get({int64_t(options.rowBlock)}, pb.getIndexType());
          Value cursors = memref::AllocaOp::create(pb, pl, cursorType);
          auto slot = [&](OpBuilder &sb, Location sl, Value row) {
            return arith::SubIOp::create(sb, sl, row, first).getResult();
          };
          forRange(pb, pl, c0, fullEnd, tileWidth(pb, pl), [&](OpBuilder &tb,
                                                             Location tl,
                                                             Value column) {
            forRange(tb, tl, first, last, c1,
                     [&](OpBuilder &rb, Location rl, Value row) {
                       memref::StoreOp::create(rb, rl,
                                               rowRange(rb, rl, row).first,
                                               cursors, slot(rb, rl, row));
                     });
            forRange(tb, tl, c0, depth, kBlock, [&](OpBuilder &kb, Location kl,
                                                    Value kStart) {
              Value kEnd = arith::AddIOp::create(kb, kl, kStart, kBlock);
              // Accumulators start at zero in the first K block of a
              // zero-filled product and from C everywhere else.
              Value zeroStart =
                  p.result.zeroInit
                      ? arith::CmpIOp::create(kb, kl, arith::CmpIPredicate::eq,
                                              kStart, c0)
                            .getResult()
                      : arith::ConstantIntOp::create(kb, kl, 0, 1).getResult();
              forRange(kb, kl, first, last, c1, [&](OpBuilder &rb,
                                                    Location rl, Value row) {
                prefetchBlockChunk(rb, rl, cursors, slot(rb, rl, row), first,
                                   last);
                Value begin =
                    memref::LoadOp::create(rb, rl, cursors, slot(rb, rl, row));
                Value rowEnd = rowRange(rb, rl, row).second;
                Value reached =
                    emitTile(rb, rl, row, column, begin, rowEnd, options.nTile,
                             Value(), bFlat, cols, zeroStart, kEnd);
                memref::StoreOp::create(rb, rl, reached, cursors,
                                        slot(rb, rl, row));
              });
            });
          });
          forRange(pb, pl, first, last, c1,
                   [&](OpBuilder &rb, Location rl, Value row) {
                     auto [begin, end] = rowRange(rb, rl, row);
                     emitTailTiles(rb, rl, row, begin, end, fullEnd, cols,
                                   bFlat);
                   });
        },
        spmmWork(b, loc, cols));
  }

  /// Prefetches where a later row of the block resumes in this K block (its
  /// cursor; see kBlockChunkRowsAhead). Two lines of values and one of
  /// coordinates cover a typical part (K block 64 at 30% density: ~19
  /// non-zeros).
  void prefetchBlockChunk(OpBuilder &b, Location loc, Value cursors,
                          Value slot, Value first, Value last) const {
    Value position = cursorAhead(b, loc, cursors, slot, first, last);
    prefetchLines(b, loc, p.values, position, 2);
    prefetchLines(b, loc, p.coordinates, position, 1);
  }

  /// Chunks of equal non-zeros the rows of an nnz-balanced SpMM are split
  /// into: the parallel loop's static split gives each of T threads
  /// kBalancedChunks / T consecutive chunks, about as many non-zeros each
  /// whatever T divides it.
  static constexpr int64_t kBalancedChunks = 64;

  /// The first row r in [0, rows] whose row pointer is at least `target`
  /// (a binary search over the positions).
  Value firstRowFrom(OpBuilder &b, Location loc, Value rows,
                     Value target) const {
    Value c1 = indexConstant(b, loc, 1);
    auto search = scf::WhileOp::create(
        b, loc, TypeRange{b.getIndexType(), b.getIndexType()},
        ValueRange{indexConstant(b, loc, 0), rows},
        [&](OpBuilder &cb, Location cl, ValueRange range) {
          Value more = arith::CmpIOp::create(cb, cl, arith::CmpIPredicate::ult,
                                             range[0], range[1]);
          scf::ConditionOp::create(cb, cl, more, range);
        },
        [&](OpBuilder &sb, Location sl, ValueRange range) {
          Value mid = arith::DivUIOp::create(
              sb, sl, arith::AddIOp::create(sb, sl, range[0], range[1]),
              indexConstant(sb, sl, 2));
          Value at = toIndex(sb, sl,
                             memref::LoadOp::create(sb, sl, p.positions, mid));
          Value below = arith::CmpIOp::create(
              sb, sl, arith::CmpIPredicate::ult, at, target);
          Value low = arith::SelectOp::create(
              sb, sl, below, arith::AddIOp::create(sb, sl, mid, c1), range[0]);
          Value high = arith::SelectOp::create(sb, sl, below, range[1], mid);
          scf::YieldOp::create(sb, sl, ValueRange{low, high});
        });
    return search.getResult(0);
  }

  /// The tiled SpMM rows in kBalancedChunks chunks of equal non-zeros in
  /// parallel (rather than one parallel iteration per row, which the
  /// OpenMP loop splits into equal row ranges): on a weight whose heavy
  /// rows are contiguous (attention heads) the equal split leaves one
  /// thread most of the work (docs/cost-model.md, "Schedules").
  void emitBalancedRows(OpBuilder &b, Location loc, Value rows, Value cols,
                        Value bFlat) const {
    Value chunks = indexConstant(b, loc, kBalancedChunks);
    Value nonZeros =
        toIndex(b, loc, memref::LoadOp::create(b, loc, p.positions, rows));
    forEachParallel(
        b, loc, chunks,
        [&](OpBuilder &cb, Location cl, Value chunk) {
          auto boundary = [&](Value index) -> Value {
            // The last chunk ends at `rows`: trailing empty rows too.
            Value last = arith::CmpIOp::create(
                cb, cl, arith::CmpIPredicate::eq, index, chunks);
            Value target = arith::DivUIOp::create(
                cb, cl, arith::MulIOp::create(cb, cl, index, nonZeros),
                chunks);
            return arith::SelectOp::create(cb, cl, last, rows,
                                           firstRowFrom(cb, cl, rows, target));
          };
          Value first = boundary(chunk);
          Value end = boundary(arith::AddIOp::create(
              cb, cl, chunk, indexConstant(cb, cl, 1)));
          emitLoop(cb, cl, first, end, indexConstant(cb, cl, 1),
                   [&](OpBuilder &nb, Location nl, Value row) {
                     auto [begin, rowEnd] = rowRange(nb, nl, row);
                     emitTiledRow(nb, nl, row, begin, rowEnd, cols, bFlat);
                   });
        },
        spmmWork(b, loc, cols));
  }

  /// The work of an SpMM over `cols` columns, or of the row dot products
  /// without `cols` (see forEachParallel).
  ParallelWork spmmWork(OpBuilder &b, Location loc, Value cols) const {
    return productWork(b, loc, p.values, cols, p.lanes,
                       options.minParallelWork);
  }

  /// The columns of a row from `fullEnd` (where full tiles end) to `cols`:
  /// one tile each of nTile/2, ..., 1 vectors where they fit, then one
  /// masked vector.
  void emitTailTiles(OpBuilder &b, Location loc, Value row, Value begin,
                     Value end, Value fullEnd, Value cols, Value bFlat) const {
    sparse_opt::kernels::emitTailTiles(
        b, loc, fullEnd, cols, p.lanes, options.nTile,
        [&](OpBuilder &tb, Location tl, Value column, unsigned vectors,
            Value mask) {
          emitTile(tb, tl, row, column, begin, end, vectors, mask, bFlat, cols);
        });
  }

private:
  Value zeroVector(OpBuilder &b, Location loc, unsigned width) const {
    auto vectorType = VectorType::get({width}, p.elementType);
    return arith::ConstantOp::create(
        b, loc, vectorType,
        DenseElementsAttr::get(vectorType, b.getZeroAttr(p.elementType)));
  }

  /// A `width`-lane vector of `buffer` (1-D) from `k`, masked when `mask`
  /// is not all true (the masked-off lanes are not read).
  Value loadVector(OpBuilder &b, Location loc, Value buffer, Value k,
                   Value mask, unsigned width) const {
    auto element = cast<MemRefType>(buffer.getType()).getElementType();
    return sparse_opt::kernels::loadVector(
        b, loc, VectorType::get({width}, element), buffer, ValueRange{k}, mask);
  }

  /// Prefetches the cache lines of the tile's columns in the B row of
  /// non-zero min(k + prefetchDistance, lastPosition).
  void emitPrefetch(OpBuilder &b, Location loc, Value k, Value lastPosition,
                    Value bFlat, Value ld, Value column,
                    unsigned vectors) const {
    Value ahead = arith::AddIOp::create(
        b, loc, k, indexConstant(b, loc, options.prefetchDistance));
    Value position = arith::MinUIOp::create(b, loc, ahead, lastPosition);
    Value base = bRowStart(
        b, loc, memref::LoadOp::create(b, loc, p.coordinates, position),
        column, ld);
    prefetchVectors(b, loc, bFlat, vectors, p.lanes,
                    FloatType(p.elementType).getWidth(),
                    [&](unsigned v) { return offset(b, loc, base, v); });
  }

  /// Index of B[coordinate, column] in B's flattened buffer. The tile's
  /// vectors are then at constant offsets from it, which become immediate
  /// displacements; indexing B[k, column + v * lanes] instead keeps one
  /// loop-invariant register per vector, and the unrolled loop spills and
  /// shuffles them.
  Value bRowStart(OpBuilder &b, Location loc, Value coordinate, Value column,
                  Value ld) const {
    Value rowStart =
        arith::MulIOp::create(b, loc, toIndex(b, loc, coordinate), ld);
    return arith::AddIOp::create(b, loc, rowStart, column);
  }

  Value offset(OpBuilder &b, Location loc, Value base, unsigned vector) const {
    if (vector == 0)
      return base;
    return arith::AddIOp::create(b, loc, base,
                                 indexConstant(b, loc, vector * p.lanes));
  }

  /// C[row, column : column + vectors * lanes] over the non-zeros
  /// [begin, end) of the row, accumulating in `vectors` registers. With a
  /// mask, one vector whose masked-off lanes are neither read nor written.
  /// B is read through `bFlat`, its rows `ld` elements apart. The
  /// accumulators start from zero when the product is zero-filled, or, if
  /// `zeroStart` (i1) is given, when it is true; from C otherwise. With a
  /// `columnLimit`, the non-zeros end early at the first column at or above
  /// it. Returns where they ended.
  Value emitTile(OpBuilder &b, Location loc, Value row, Value column,
                 Value begin, Value end, unsigned vectors, Value mask,
                 Value bFlat, Value ld, Value zeroStart = Value(),
                 Value columnLimit = Value()) const {
    auto vectorType = VectorType::get({p.lanes}, p.elementType);
    Value zero = zeroVector(b, loc, p.lanes);
    SmallVector<Value> columns;
    for (unsigned v = 0; v < vectors; ++v)
      columns.push_back(v == 0 ? column
                               : arith::AddIOp::create(
                                     b, loc, column,
                                     indexConstant(b, loc, v * p.lanes)));

    auto load = [&](OpBuilder &lb, Location ll, Value buffer,
                    ValueRange indices) -> Value {
      if (mask)
        return vector::MaskedLoadOp::create(lb, ll, vectorType, buffer,
                                            indices, mask, zero);
      return vector::LoadOp::create(lb, ll, vectorType, buffer, indices);
    };

    SmallVector<Value> initial;
    auto loadTile = [&](OpBuilder &lb, Location ll) {
      SmallVector<Value> tile;
      for (Value j : columns)
        tile.push_back(load(lb, ll, p.result.buffer, {row, j}));
      return tile;
    };
    if (zeroStart) {
      SmallVector<Type> types(columns.size(), vectorType);
      auto start = scf::IfOp::create(
          b, loc, zeroStart,
          [&](OpBuilder &tb, Location tl) {
            scf::YieldOp::create(tb, tl,
                                 SmallVector<Value>(columns.size(), zero));
          },
          [&](OpBuilder &eb, Location el) {
            scf::YieldOp::create(eb, el, loadTile(eb, el));
          });
      initial.assign(start.getResults().begin(), start.getResults().end());
    } else if (p.result.zeroInit) {
      initial.assign(columns.size(), zero);
    } else {
      initial = loadTile(b, loc);
    }

    // The last valid coordinate position bounds the prefetch look-ahead;
    // only read inside the loop, which runs only if there is one.
    Value c1 = indexConstant(b, loc, 1);
    Value lastPosition;
    if (options.prefetchDistance) {
      Value count = memref::DimOp::create(b, loc, p.coordinates,
                                          indexConstant(b, loc, 0));
      lastPosition = arith::SubIOp::create(b, loc, count, c1);
    }
    // One non-zero k with B row `bRow` added to the accumulators.
    auto accumulate = [&](OpBuilder &lb, Location ll, Value k, Value bRow,
                          ValueRange accumulators) {
      if (options.prefetchDistance)
        emitPrefetch(lb, ll, k, lastPosition, bFlat, ld, column, vectors);
      Value base = bRowStart(lb, ll, bRow, column, ld);
      Value value = memref::LoadOp::create(lb, ll, p.values, k);
      return broadcastMultiplyAdd(lb, ll, value, bFlat, base, p.lanes, mask,
                                  accumulators);
    };

    SmallVector<Value> results;
    Value reached = end;
    if (!columnLimit) {
      // A narrow tile takes `sets` non-zeros per step, each into its own
      // accumulators (accumulatorSets), then the rest one at a time into
      // their sum.
      unsigned sets = accumulatorSets(options.nTile, vectors);
      Value rest = begin;
      if (sets > 1) {
        SmallVector<Value> state(initial);
        state.append((sets - 1) * vectors, zero);
        Value step = indexConstant(b, loc, sets);
        rest = wholeStepsEnd(b, loc, begin, end, step);
        auto unrolled = scf::ForOp::create(
            b, loc, begin, rest, step, state,
            [&](OpBuilder &lb, Location ll, Value k, ValueRange accumulators) {
              SmallVector<Value> updated(accumulators);
              for (unsigned set = 0; set < sets; ++set) {
                Value at = set == 0 ? k
                                    : arith::AddIOp::create(
                                          lb, ll, k, indexConstant(lb, ll, set))
                                          .getResult();
                Value bRow = memref::LoadOp::create(lb, ll, p.coordinates, at);
                MutableArrayRef<Value> own =
                    MutableArrayRef<Value>(updated).slice(set * vectors,
                                                          vectors);
                llvm::copy(accumulate(lb, ll, at, bRow, own), own.begin());
              }
              scf::YieldOp::create(lb, ll, updated);
            });
        initial = sumAccumulatorSets(b, loc, unrolled.getResults(), vectors);
      }
      auto loop = scf::ForOp::create(
          b, loc, rest, end, c1, initial,
          [&](OpBuilder &lb, Location ll, Value k, ValueRange accumulators) {
            Value bRow = memref::LoadOp::create(lb, ll, p.coordinates, k);
            scf::YieldOp::create(lb, ll, accumulate(lb, ll, k, bRow,
                                                    accumulators));
          });
      results.assign(loop.getResults().begin(), loop.getResults().end());
    } else {
      // While k < end and column[k] < columnLimit. The column is read at
      // position 0 once k reaches the end, so coordinates must not be
      // empty (the caller checks that there are non-zeros).
      SmallVector<Value> state{begin};
      state.append(initial);
      SmallVector<Type> types = llvm::to_vector(ValueRange(state).getTypes());
      SmallVector<Location> locations(types.size(), loc);
      // The after region and the results also carry the column read.
      SmallVector<Type> afterTypes{b.getIndexType(),
                                   cast<MemRefType>(p.coordinates.getType())
                                       .getElementType()};
      afterTypes.append(initial.size(), vectorType);
      auto loop = scf::WhileOp::create(b, loc, afterTypes, state);
      Block *before = b.createBlock(&loop.getBefore(), {}, types, locations);
      {
        OpBuilder cb = OpBuilder::atBlockBegin(before);
        Value k = before->getArgument(0);
        Value inRow =
            arith::CmpIOp::create(cb, loc, arith::CmpIPredicate::ult, k, end);
        Value readable = arith::SelectOp::create(cb, loc, inRow, k,
                                                 indexConstant(cb, loc, 0));
        Value bRow = memref::LoadOp::create(cb, loc, p.coordinates, readable);
        Value below = arith::CmpIOp::create(cb, loc, arith::CmpIPredicate::ult,
                                            toIndex(cb, loc, bRow),
                                            columnLimit);
        SmallVector<Value> forwarded{k, bRow};
        forwarded.append(before->getArguments().drop_front().begin(),
                         before->getArguments().drop_front().end());
        scf::ConditionOp::create(
            cb, loc, arith::AndIOp::create(cb, loc, inRow, below), forwarded);
      }
      SmallVector<Location> afterLocations(afterTypes.size(), loc);
      Block *after =
          b.createBlock(&loop.getAfter(), {}, afterTypes, afterLocations);
      {
        OpBuilder ab = OpBuilder::atBlockBegin(after);
        Value k = after->getArgument(0);
        SmallVector<Value> next{arith::AddIOp::create(ab, loc, k, c1)};
        next.append(accumulate(ab, loc, k, after->getArgument(1),
                               after->getArguments().drop_front(2)));
        scf::YieldOp::create(ab, loc, next);
      }
      b.setInsertionPointAfter(loop);
      reached = loop.getResult(0);
      results.assign(std::next(loop.getResults().begin(), 2),
                     loop.getResults().end());
    }

    for (auto [j, result] : llvm::zip(columns, results)) {
      if (mask)
        vector::MaskedStoreOp::create(b, loc, p.result.buffer,
                                      ValueRange{row, j}, mask, result);
      else
        vector::StoreOp::create(b, loc, result, p.result.buffer,
                                ValueRange{row, j});
    }
    return reached;
  }

  const CsrProduct &p;
  const KernelOptions &options;
};

struct CsrSpmmPattern : public OpRewritePattern<linalg::MatmulOp> {
  CsrSpmmPattern(MLIRContext *context, const KernelOptions &options)
      : OpRewritePattern(context), options(options) {}

  LogicalResult matchAndRewrite(linalg::MatmulOp op,
                                PatternRewriter &rewriter) const override {
    KernelOptions options = scheduledOptions(this->options, op);
    if (op.hasUserDefinedMaps())
      return rewriter.notifyMatchFailure(op, "transposed or broadcast maps");
    FailureOr<CsrProduct> product =
        prepareCsrProduct(op, /*denseRank=*/2, options, rewriter);
    if (failed(product))
      return failure();

    Location loc = op.getLoc();
    Value a = op.getDpsInputs()[0], b = op.getDpsInputs()[1];
    Value rows = rewriter.createOrFold<tensor::DimOp>(
        loc, a, indexConstant(rewriter, loc, 0));
    Value cols = rewriter.createOrFold<tensor::DimOp>(
        loc, b, indexConstant(rewriter, loc, 1));
    int64_t staticCols = cast<RankedTensorType>(b.getType()).getDimSize(1);
    // The tiles address B as one vector (see RowEmitter::bRowStart); N = 1
    // (batch-1 inference through an SpMM kernel) runs as row dot products
    // over it, B's only column.
    Value bFlat = memref::CollapseShapeOp::create(
        rewriter, loc, product->denseBuffer,
        ArrayRef<ReassociationIndices>{{0, 1}});

    RowEmitter emitter(*product, options);
    // N = 1: the row dot products, from B's only column into C's.
    auto emitDots = [&](OpBuilder &db, Location dl) {
      Value cFlat = memref::CollapseShapeOp::create(
          db, dl, product->result.buffer,
          ArrayRef<ReassociationIndices>{{0, 1}});
      emitter.emitAllRowDots(db, dl, bFlat, cFlat, rows);
    };
    auto emitRows = [&](OpBuilder &rb, Location rl) {
      if (options.nnzBalanced) {
        emitter.emitBalancedRows(rb, rl, rows, cols, bFlat);
        return;
      }
      forEachParallel(
          rb, rl, rows,
          [&](OpBuilder &nb, Location nl, Value row) {
            auto [begin, end] = emitter.rowRange(nb, nl, row);
            emitter.emitTiledRow(nb, nl, row, begin, end, cols, bFlat);
          },
          emitter.spmmWork(rb, rl, cols));
    };
    auto emitTiled = [&](OpBuilder &tb, Location tl) {
      if (options.kBlock == 0) {
        emitRows(tb, tl);
        return;
      }
      Value depth =
          tb.createOrFold<tensor::DimOp>(tl, a, indexConstant(tb, tl, 1));
      scf::IfOp::create(
          tb, tl, emitter.useKBlocking(tb, tl, rows, depth, cols),
          [&](OpBuilder &kb, Location kl) {
            emitter.emitKBlocked(kb, kl, rows, depth, cols, bFlat);
            scf::YieldOp::create(kb, kl);
          },
          [&](OpBuilder &eb, Location el) {
            emitRows(eb, el);
            scf::YieldOp::create(eb, el);
          });
    };
    SpmmColumns columns{
        cols, staticCols,
        staticCols == 1 || ShapedType::isDynamic(staticCols) ? bFlat : Value()};
    emitForColumnCount(rewriter, loc, columns, emitDots, emitTiled);
    replaceWithResult(op, product->result, rewriter);
    return success();
  }

  KernelOptions options;
};

struct CsrSpmvPattern : public OpRewritePattern<linalg::MatvecOp> {
  CsrSpmvPattern(MLIRContext *context, const KernelOptions &options)
      : OpRewritePattern(context), options(options) {}

  LogicalResult matchAndRewrite(linalg::MatvecOp op,
                                PatternRewriter &rewriter) const override {
    KernelOptions options = scheduledOptions(this->options, op);
    FailureOr<CsrProduct> product =
        prepareCsrProduct(op, /*denseRank=*/1, options, rewriter);
    if (failed(product))
      return failure();
    Location loc = op.getLoc();
    Value rows = rewriter.createOrFold<tensor::DimOp>(
        loc, op.getDpsInputs()[0], indexConstant(rewriter, loc, 0));
    RowEmitter emitter(*product, options);
    emitter.emitAllRowDots(rewriter, loc, product->denseBuffer,
                           product->result.buffer, rows);
    replaceWithResult(op, product->result, rewriter);
    return success();
  }

  KernelOptions options;
};

/// The body of an SDDMM written for the sparsifier: for each stored entry
/// of the output, reduce(out, unary(out){present: a * b}{absent: none}, 0)
/// with addition, i.e. the entry becomes sum_k a_k * b_k.
bool isSampledProductBody(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  Value a = body.getArgument(0), b = body.getArgument(1);
  Value out = body.getArgument(2);
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  auto reduce = yield.getOperand(0).getDefiningOp<ReduceOp>();
  if (!reduce || reduce.getX() != out ||
      !matchPattern(reduce.getIdentity(), m_AnyZeroFloat()))
    return false;
  auto unary = reduce.getY().getDefiningOp<UnaryOp>();
  if (!unary || unary.getX() != out || !unary.getAbsentRegion().empty() ||
      !llvm::hasSingleElement(unary.getPresentRegion()))
    return false;
  auto isBinaryOf = [](Value value, Value x, Value y, auto opTag) {
    auto binary = value.getDefiningOp<decltype(opTag)>();
    return binary && ((binary.getLhs() == x && binary.getRhs() == y) ||
                      (binary.getLhs() == y && binary.getRhs() == x));
  };
  auto presentYield =
      cast<YieldOp>(unary.getPresentRegion().front().getTerminator());
  if (presentYield.getResults().size() != 1 ||
      !isBinaryOf(presentYield.getSingleResult(), a, b, arith::MulFOp()))
    return false;
  Block &combine = reduce.getRegion().front();
  auto combineYield = cast<YieldOp>(combine.getTerminator());
  return combineYield.getResults().size() == 1 &&
         isBinaryOf(combineYield.getSingleResult(), combine.getArgument(0),
                    combine.getArgument(1), arith::AddFOp());
}

/// SDDMM: out = (Q K^T) sampled at the CSR pattern of S, written as the
/// sparsifier's linalg.generic (Q (i,k), K (j,k), S (i,j) in/out). Each
/// stored (i, j) becomes a vector dot product of two contiguous rows,
/// written over S's values like the sparsifier's loops do (S is the
/// operation's destination): no allocation per call.
struct CsrSddmmPattern : public OpRewritePattern<linalg::GenericOp> {
  CsrSddmmPattern(MLIRContext *context, const KernelOptions &options)
      : OpRewritePattern(context), options(options) {}

  LogicalResult matchAndRewrite(linalg::GenericOp op,
                                PatternRewriter &rewriter) const override {
    KernelOptions options = scheduledOptions(this->options, op);
    if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
        op.getNumDpsInits() != 1 || op.getNumLoops() != 3)
      return failure();
    auto iterators = op.getIteratorTypesArray();
    if (iterators[0] != utils::IteratorType::parallel ||
        iterators[1] != utils::IteratorType::parallel ||
        iterators[2] != utils::IteratorType::reduction)
      return rewriter.notifyMatchFailure(op, "not (parallel, parallel, red)");
    MLIRContext *context = op.getContext();
    AffineExpr i = getAffineDimExpr(0, context), j = getAffineDimExpr(1, context),
               k = getAffineDimExpr(2, context);
    SmallVector<AffineMap> expected = {
        AffineMap::get(3, 0, {i, k}, context),
        AffineMap::get(3, 0, {j, k}, context),
        AffineMap::get(3, 0, {i, j}, context)};
    if (op.getIndexingMapsArray() != expected)
      return rewriter.notifyMatchFailure(op, "not Q (i,k), K (j,k), S (i,j)");

    Value q = op.getDpsInputs()[0], keys = op.getDpsInputs()[1];
    Value pattern = op.getDpsInits()[0];
    auto patternType = cast<RankedTensorType>(pattern.getType());
    SparseTensorType sparse(patternType);
    auto elementType = dyn_cast<FloatType>(patternType.getElementType());
    if (!isCsr(sparse) || !elementType ||
        !isDenseTensor(q.getType(), 2, elementType) ||
        !isDenseTensor(keys.getType(), 2, elementType))
      return rewriter.notifyMatchFailure(op, "not dense x dense -> CSR");
    if (!isSampledProductBody(op))
      return rewriter.notifyMatchFailure(op, "body is not a sampled product");
    // The scores overwrite S's values, as the sparsifier's loops do; S must
    // have no other reader.
    if (!pattern.hasOneUse())
      return rewriter.notifyMatchFailure(op, "the pattern has other uses");
    unsigned lanes = options.lanesFor32Bit * 32 / elementType.getWidth();
    if (lanes == 0)
      return rewriter.notifyMatchFailure(op, "vectorization is disabled");

    Location loc = op.getLoc();
    auto dynamicVector = [&](Type element) {
      return MemRefType::get({ShapedType::kDynamic}, element);
    };
    Value positions = ToPositionsOp::create(
        rewriter, loc, dynamicVector(sparse.getPosType()), pattern,
        rewriter.getIndexAttr(1));
    Value coordinates = ToCoordinatesOp::create(
        rewriter, loc, dynamicVector(sparse.getCrdType()), pattern,
        rewriter.getIndexAttr(1));
    auto buffer = [&](Value tensor) {
      auto type = cast<RankedTensorType>(tensor.getType());
      return bufferization::ToBufferOp::create(
          rewriter, loc, MemRefType::get(type.getShape(), elementType), tensor,
          /*read_only=*/true);
    };
    Value qBuffer = buffer(q), kBuffer = buffer(keys);
    Value c0 = indexConstant(rewriter, loc, 0);
    Value values =
        ToValuesOp::create(rewriter, loc, dynamicVector(elementType), pattern);
    Value rows = rewriter.createOrFold<tensor::DimOp>(loc, pattern, c0);
    Value depth = rewriter.createOrFold<tensor::DimOp>(
        loc, q, indexConstant(rewriter, loc, 1));

    // Row i of Q in registers across the row's entries when the depth allows
    // (RowDots), the entries' dot products reduced in groups.
    int64_t staticDepth = cast<RankedTensorType>(q.getType()).getDimSize(1);
    RowDots dots({qBuffer}, {kBuffer}, depth, staticDepth, lanes, elementType);
    unsigned group = dots.group();

    forEachParallel(
        rewriter, loc, rows,
        [&](OpBuilder &nb, Location nl, Value row) {
          Value begin =
              toIndex(nb, nl, memref::LoadOp::create(nb, nl, positions, row));
          Value next =
              arith::AddIOp::create(nb, nl, row, indexConstant(nb, nl, 1));
          Value end =
              toIndex(nb, nl, memref::LoadOp::create(nb, nl, positions, next));
          dots.setRow(nb, nl, row);
          auto columnOf = [&](OpBuilder &eb, Location el, Value entry) {
            return toIndex(eb, el,
                           memref::LoadOp::create(eb, el, coordinates, entry));
          };

          // Entries in groups, each group's scores stored as one vector.
          Value groupEnd = begin;
          if (dots.inRegisters() && group > 1) {
            groupEnd =
                wholeStepsEnd(nb, nl, begin, end, indexConstant(nb, nl, group));
            scf::ForOp::create(
                nb, nl, begin, groupEnd, indexConstant(nb, nl, group),
                ValueRange{},
                [&](OpBuilder &gb, Location gl, Value first, ValueRange) {
                  SmallVector<Value> columns;
                  for (unsigned g = 0; g < group; ++g)
                    columns.push_back(
                        columnOf(gb, gl,
                                 arith::AddIOp::create(
                                     gb, gl, first, indexConstant(gb, gl, g))));
                  vector::StoreOp::create(gb, gl,
                                          dots.groupDots(gb, gl, columns),
                                          values, ValueRange{first});
                  scf::YieldOp::create(gb, gl);
                });
          }

          // The rest one entry at a time.
          scf::ForOp::create(
              nb, nl, groupEnd, end, indexConstant(nb, nl, 1), ValueRange{},
              [&](OpBuilder &eb, Location el, Value entry, ValueRange) {
                memref::StoreOp::create(
                    eb, el, dots.dot(eb, el, columnOf(eb, el, entry)), values,
                    ValueRange{entry});
                scf::YieldOp::create(eb, el);
              });
        },
        productWork(rewriter, loc, values, depth, lanes,
                    options.minParallelWork));

    auto asTensor = [&](Value memref) -> Value {
      auto type = cast<MemRefType>(memref.getType());
      return bufferization::ToTensorOp::create(
          rewriter, loc,
          RankedTensorType::get(type.getShape(), type.getElementType()),
          memref, /*restrict=*/rewriter.getUnitAttr(),
          /*writable=*/UnitAttr());
    };
    rewriter.replaceOpWithNewOp<AssembleOp>(
        op, patternType,
        ValueRange{asTensor(positions), asTensor(coordinates)},
        asTensor(values));
    return success();
  }

  KernelOptions options;
};

struct CsrKernelsPass
    : public sparse_opt::impl::SparseOptCsrKernelsBase<CsrKernelsPass> {
  using Base::Base;

  void runOnOperation() override {
    if (failed(verifySchedules(getOperation(), getArgument())))
      return signalPassFailure();
    if (nTile == 0 || !llvm::isPowerOf2_32(nTile)) {
      getOperation().emitError()
          << "sparse-opt-csr-kernels: n-tile must be a power of two, got "
          << nTile.getValue();
      return signalPassFailure();
    }
    if (vectorLength == 0 || dotVectorLength == 0)
      return;
    if (kBlock != 0 && rowBlock == 0) {
      getOperation().emitError()
          << "sparse-opt-csr-kernels: row-block must be positive when "
             "k-block is";
      return signalPassFailure();
    }
    KernelOptions options{vectorLength,      dotVectorLength, nTile,
                          prefetchDistance,  kBlock,          rowBlock,
                          kBlockMinNonZeros, minParallelWork};
    RewritePatternSet patterns(&getContext());
    patterns.add<CsrSpmmPattern, CsrSpmvPattern, CsrSddmmPattern>(
        &getContext(), options);
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};

} // namespace
