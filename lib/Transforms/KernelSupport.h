//===- KernelSupport.h - Shared pieces of sparse-opt's kernel passes ------===//
//
// The kernel passes (CSR, BSR, N:M) emit the same kinds of loops: a parallel
// loop over rows (OpenMP threads later), register tiles of vectors along the
// dense N dimension with a masked tail, vector sums with a masked tail, and a
// result that is either a fresh buffer (zero-filled init) or the init
// accumulated into. These helpers build those pieces once.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSE_OPT_LIB_TRANSFORMS_KERNELSUPPORT_H
#define SPARSE_OPT_LIB_TRANSFORMS_KERNELSUPPORT_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SparseTensor/IR/SparseTensorType.h"
#include "mlir/IR/PatternMatch.h"

#include <optional>
#include <type_traits>

namespace mlir::sparse_opt::kernels {

/// The options of the row-wise SpMM / SpMV kernels (CSR, N:M); see the
/// passes' `vector-length`, `dot-vector-length`, `n-tile`,
/// `prefetch-distance`, `k-block`, `row-block`, `k-block-min-nonzeros`,
/// `min-parallel-work`.
struct RowKernelOptions {
  unsigned lanesFor32Bit;
  unsigned dotLanesFor32Bit;
  unsigned nTile;
  unsigned prefetchDistance;
  unsigned kBlock;
  unsigned rowBlock;
  unsigned kBlockMinNonZeros;
  unsigned minParallelWork;
  /// CSR SpMM: split the rows into chunks of equal non-zeros rather than
  /// equal rows (the schedule's nnz_balanced).
  bool nnzBalanced = false;
};

/// The per-op kernel schedule, a dictionary attribute that
/// sparse-opt-select-weight-formats sets from the cost model (or a user
/// writes) on a product; the kernel passes honour it over their pass-wide
/// options (docs/pipelines.md, "Per-op schedules"). Keys, all optional:
///   parallel (bool): the row loop on OpenMP threads (a one-thread call
///     still takes the serial twin) or serially only;
///   min_parallel_work (integer >= 1, with parallel = true): the run-time
///     threshold of the serial twin in vector steps, for a dynamic N;
///   n_tile (power of two): vectors per full column tile (SpMM);
///   k_block (integer >= 0): B rows per K block, 0 never K-blocks; when
///     given, K-blocking is not further gated by k-block-min-nonzeros;
///   row_block (integer >= 1): rows per parallel K-blocked iteration;
///   tile_rows (integer >= 1), tile_vectors (power of two): the dense
///     kernel's register tile.
/// Keys that a kernel does not use are ignored by it.
constexpr llvm::StringLiteral kScheduleAttrName = "sparse_opt.schedule";

struct KernelSchedule {
  std::optional<bool> parallel, nnzBalanced;
  std::optional<unsigned> minParallelWork, nTile, kBlock, rowBlock, tileRows,
      tileVectors;
};

/// `op`'s schedule: nullopt without the attribute, failure (an error at
/// `op` naming `pass`) if it is malformed.
FailureOr<std::optional<KernelSchedule>> readSchedule(Operation *op,
                                                      StringRef pass);

/// Checks every schedule attribute under `root`; failure after the first
/// malformed one's error.
LogicalResult verifySchedules(Operation *root, StringRef pass);

/// `minParallelWork` that means: never parallel, only the serial loop.
constexpr unsigned kSerialOnly = ~0u;

/// `options` (any of the kernels' option structs: nTile, kBlock, rowBlock,
/// kBlockMinNonZeros, minParallelWork) with `op`'s schedule applied; the
/// schedule was verified (verifySchedules) before.
template <typename Options>
Options scheduledOptions(const Options &options, Operation *op) {
  FailureOr<std::optional<KernelSchedule>> read = readSchedule(op, "");
  if (failed(read) || !*read)
    return options;
  const KernelSchedule &schedule = **read;
  Options result = options;
  if (schedule.parallel)
    result.minParallelWork =
        !*schedule.parallel ? kSerialOnly
                            : schedule.minParallelWork.value_or(1);
  if (schedule.nTile)
    result.nTile = *schedule.nTile;
  if (schedule.kBlock) {
    result.kBlock = *schedule.kBlock;
    result.kBlockMinNonZeros = 0;
  }
  if (schedule.rowBlock)
    result.rowBlock = *schedule.rowBlock;
  if constexpr (std::is_same_v<Options, RowKernelOptions>)
    if (schedule.nnzBalanced)
      result.nnzBalanced = *schedule.nnzBalanced;
  return result;
}

/// Marks an `scf.if` whose then-branch is a kernel's parallel loop and whose
/// else-branch the same loop run serially (see forEachParallel);
/// sparse-opt-thread-control also takes the else-branch when the thread
/// count is 1, so that a one-thread call never enters the OpenMP runtime.
constexpr llvm::StringLiteral kSerialFallbackAttrName =
    "sparse_opt.serial_fallback";

/// The scf.if marked kSerialFallbackAttrName whose then-branch directly
/// holds `loop` and that has a serial else-branch, or null: where the
/// parallel `loop` already has its serial twin.
scf::IfOp serialFallbackOf(Operation *loop);

/// How much work one call of a kernel's parallel loop does, to decide
/// whether it is worth OpenMP threads: `steps` vector steps (one vector
/// multiply-add, or one gathered lane, each) against `minSteps`. A null
/// `steps` or a zero `minSteps` always runs parallel; `minSteps` =
/// kSerialOnly never does (only the serial loop is emitted).
struct ParallelWork {
  Value steps;
  unsigned minSteps = 0;
};

/// The work of a product over the stored values of a sparse operand (the
/// 1-D `values` buffer) against `minSteps`: ceil(`cols` / `lanes`) vector
/// steps per value over `cols` dense columns (SpMM's N, SDDMM's depth),
/// one per value (a gathered lane of a row dot product) without `cols`.
ParallelWork productWork(OpBuilder &b, Location loc, Value values, Value cols,
                         unsigned lanes, unsigned minSteps);

/// A dense tensor of `rank` and `elementType`.
bool isDenseTensor(Type type, int64_t rank, Type elementType);

/// `init` is a fill with zero, so the product need not read it.
bool isZeroFilled(Value init);

Value toIndex(OpBuilder &b, Location loc, Value value);
Value indexConstant(OpBuilder &b, Location loc, int64_t value);
Value zeroVector(OpBuilder &b, Location loc, VectorType type);

/// Lanes of `elementType` in a vector of `lanesFor32Bit` 32-bit lanes.
unsigned lanesFor(unsigned lanesFor32Bit, FloatType elementType);

/// A vector of `type` from `buffer` at `indices`; with a `mask` that is not
/// all true, a masked load whose masked-off lanes are not read (zero).
Value loadVector(OpBuilder &b, Location loc, VectorType type, Value buffer,
                 ValueRange indices, Value mask);

/// Stores `value` to `buffer` at `indices`, masked like loadVector.
void storeVector(OpBuilder &b, Location loc, Value value, Value buffer,
                 ValueRange indices, Value mask);

/// A CSR encoding: levels (dense, compressed), identity map.
bool isCsr(sparse_tensor::SparseTensorType type);

/// The block shape (R, C) of a BSR encoding, or failure. Its levels are
/// (i floordiv R : dense, j floordiv C : compressed, i mod R : dense,
/// j mod C : dense); MLIR folds `floordiv 1` and `mod 1`, so a block of one
/// row or column is written without that level, e.g. 1 x 4 as
/// (i : dense, j floordiv 4 : compressed, j mod 4 : dense). Both store the
/// same buffers. R = C = 1 is CSR, not matched.
FailureOr<std::pair<int64_t, int64_t>>
matchBsrBlock(sparse_tensor::SparseTensorType type);

/// (N, M) of an N:M encoding, (i : dense, j floordiv M : dense,
/// j mod M : structured[N, M]), or failure.
FailureOr<std::pair<int64_t, int64_t>>
matchNm(sparse_tensor::SparseTensorType type);

/// `sparse_tensor.assemble` of the storage buffers `levels` and `values`
/// into a tensor of `type`, done in level space (identity map) and then
/// reinterpreted to `type`. The sparsifier's demapping of an assemble
/// itself infers the inverse of some block maps wrongly (for blocks of one
/// column it transposes the dimensions, then fails or crashes); this form
/// gives it nothing to invert. The buffers are the same.
Value assembleInLevelSpace(OpBuilder &b, Location loc, RankedTensorType type,
                           ValueRange levels, Value values);

/// The operands of a product `op` (matmul or matvec on tensors) of a sparse
/// float A by a dense operand of rank `denseRank` into a dense result of the
/// same element type.
struct SparseProductOperands {
  Value a, dense;
  RankedTensorType aType;
  FloatType elementType;
};

/// Matches such a product whose A type satisfies `isFormat` (`format` names
/// the format in the match-failure message).
FailureOr<SparseProductOperands>
matchSparseProduct(linalg::LinalgOp op, int64_t denseRank,
                   function_ref<bool(sparse_tensor::SparseTensorType)> isFormat,
                   StringRef format, PatternRewriter &rewriter);

/// A sparse tensor seen in level space (identity map), through
/// `sparse_tensor.reinterpret_map`. Kernels read storage buffers from it:
/// the sparsifier's demapping then has nothing to invert (it infers the
/// inverse of some block maps wrongly).
Value toLevelSpace(OpBuilder &b, Location loc, Value sparse);

/// The positions or coordinates buffer of `level` of the sparse tensor
/// `levels` (in level space), as a 1-D memref of its position / coordinate
/// type, and its values buffer.
Value positionsBuffer(OpBuilder &b, Location loc, Value levels, int64_t level);
Value coordinatesBuffer(OpBuilder &b, Location loc, Value levels,
                        int64_t level);
Value valuesBuffer(OpBuilder &b, Location loc, Value levels);

/// The dense result of a sparse x dense product `op` (matmul or matvec):
/// a fresh buffer when the init is a zero fill (never read), else the
/// init's buffer, accumulated into.
struct ProductResult {
  Value buffer;
  bool zeroInit = false;
};

/// Creates the result buffer of `op`; dynamic sizes come from dimension 0
/// of `rowsFrom` and dimension 1 of `colsFrom`.
ProductResult createProductResult(linalg::LinalgOp op, Value rowsFrom,
                                  Value colsFrom, PatternRewriter &rewriter);

/// Creates the result buffer of `op` of any rank; `dynamicSizes` are the
/// sizes of its dynamic dimensions in order, used when the init is a zero
/// fill (taken from the operands, so that the fill becomes dead).
ProductResult createProductResult(linalg::LinalgOp op, ValueRange dynamicSizes,
                                  PatternRewriter &rewriter);

/// A read-only buffer of the dense tensor `tensor`.
Value readOnlyBuffer(OpBuilder &b, Location loc, Value tensor);

/// Replaces `op` by the result buffer as a tensor, dropping a zero fill
/// that only fed it.
void replaceWithResult(linalg::LinalgOp op, const ProductResult &result,
                       PatternRewriter &rewriter);

/// The starting accumulators of an SpMM tile: zeros in a zero-filled
/// product (where `zeroStart`, if given, is true: the first K block),
/// otherwise `loadTile(builder, loc)`, the tile's `count` current C
/// vectors.
SmallVector<Value> initialAccumulators(
    OpBuilder &b, Location loc, const ProductResult &result, Value zeroStart,
    VectorType vectorType, size_t count,
    function_ref<SmallVector<Value>(OpBuilder &, Location)> loadTile);

/// Stores `sum` (+ the init value unless the result was zero-filled) at
/// `indices` of the result.
void storeSum(OpBuilder &b, Location loc, const ProductResult &result,
              ValueRange indices, Value sum);

/// Emits `scf.for` over [lower, upper) by `step` without loop-carried
/// values; `body(builder, loc, iv)` emits the body (the yield is added).
void emitLoop(OpBuilder &b, Location loc, Value lower, Value upper, Value step,
              function_ref<void(OpBuilder &, Location, Value)> body);

/// Emits `scf.parallel` over [0, count) (OpenMP threads later). With
/// `work`, behind a run-time test: calls of fewer than `work.minSteps`
/// steps run the same body in a serial `scf.for` instead (an
/// `scf.if` marked with kSerialFallbackAttrName), since entering and
/// leaving an OpenMP region costs microseconds that a short call does not
/// win back. `body` is emitted twice then.
void forEachParallel(OpBuilder &b, Location loc, Value count,
                     function_ref<void(OpBuilder &, Location, Value)> body,
                     const ParallelWork &work = {});

/// Where whole steps of `step` from `start` end before `end`: start +
/// floor((end - start) / step) x step.
Value wholeStepsEnd(OpBuilder &b, Location loc, Value start, Value end,
                    Value step);

/// Covers columns [begin, cols) with register tiles: full tiles of `nTile`
/// vectors of `lanes`, then one tile each of nTile/2, ..., 1 vectors where
/// the remaining columns allow, then one masked vector for the rest.
/// `emitTile(builder, loc, column, vectors, mask)` emits one tile starting
/// at `column`; `mask` is null for unmasked tiles.
void emitColumnTiles(
    OpBuilder &b, Location loc, Value begin, Value cols, unsigned lanes,
    unsigned nTile,
    function_ref<void(OpBuilder &, Location, Value, unsigned, Value)> emitTile);

/// Independent accumulator sets for a register tile of `vectors` vectors
/// whose full width is `nTile`: a narrower tile has too few accumulators to
/// hide the multiply-add latency (each FMA waits for the one before on its
/// vector), so its stored values go round robin into nTile / vectors sets
/// of them, at most kMaxAccumulatorSets (beyond that the tile's loads, not
/// the latency, bound it), summed after the loop.
constexpr unsigned kMaxAccumulatorSets = 4;
unsigned accumulatorSets(unsigned nTile, unsigned vectors);

/// A tile's `vectors` accumulators from the sets of them in `accumulators`
/// (set s at [s * vectors, (s + 1) * vectors)), summed lane by lane.
SmallVector<Value> sumAccumulatorSets(OpBuilder &b, Location loc,
                                      ValueRange accumulators,
                                      unsigned vectors);

/// The part of emitColumnTiles after the full tiles: columns [column, cols)
/// with one tile each of nTile/2, ..., 1 vectors where they fit, then one
/// masked vector.
void emitTailTiles(
    OpBuilder &b, Location loc, Value column, Value cols, unsigned lanes,
    unsigned nTile,
    function_ref<void(OpBuilder &, Location, Value, unsigned, Value)> emitTile);

/// The lane-wise sum over positions [begin, end) of what `accumulate` adds
/// for each vector of `lanes` positions: full vectors (all-true mask), then
/// one masked vector for the rest; a vector of `lanes` partial sums.
/// `accumulate(builder, loc, position, mask, accumulator)` returns the new
/// accumulator; masked-off lanes must add zero.
Value emitLaneSums(
    OpBuilder &b, Location loc, Value begin, Value end, unsigned lanes,
    FloatType elementType,
    function_ref<Value(OpBuilder &, Location, Value, Value, Value)> accumulate);

/// emitLaneSums with another start than zero (`initial`, a vector of
/// `lanes`), e.g. -inf for a maximum; masked-off lanes must leave the
/// accumulator as it is.
Value emitLaneReduction(
    OpBuilder &b, Location loc, Value begin, Value end, unsigned lanes,
    Value initial,
    function_ref<Value(OpBuilder &, Location, Value, Value, Value)> accumulate);

/// emitLaneSums, then one horizontal reduction: the sum itself.
Value emitVectorSum(
    OpBuilder &b, Location loc, Value begin, Value end, unsigned lanes,
    FloatType elementType,
    function_ref<Value(OpBuilder &, Location, Value, Value, Value)> accumulate);

/// How an SpMM kernel covers N: the columns of B, and B's only column as a
/// vector when N may be 1 (batch-1 inference through an SpMM kernel, which
/// then runs the SpMV form over it).
struct SpmmColumns {
  Value cols;         // N
  int64_t staticCols; // N, or ShapedType::kDynamic
  Value bColumn;      // B as a 1-D buffer when N may be 1, else null
};

/// The SpmmColumns of `op` (a matmul) whose B has buffer `bBuffer`.
SpmmColumns getSpmmColumns(linalg::LinalgOp op, Value bBuffer,
                           PatternRewriter &rewriter);

/// Emits, for one row (or block row) of an SpMM, `emitDot` where N is 1 and
/// `emitTiled` elsewhere: statically when N is static, else behind a run-time
/// test of N = 1.
void emitForColumnCount(OpBuilder &b, Location loc, const SpmmColumns &columns,
                        function_ref<void(OpBuilder &, Location)> emitDot,
                        function_ref<void(OpBuilder &, Location)> emitTiled);

/// The SpMM (`linalg.matmul`) and SpMV (`linalg.matvec`) patterns of a
/// sparse format whose kernel `Emitter` provides:
///   using Options = ...;
///   static FailureOr<Emitter> create(linalg::LinalgOp op, int64_t denseRank,
///                                    const Options &, PatternRewriter &);
///   Value units() const;          // parallel iterations: rows, block rows
///   Value values() const;         // A's stored values (1-D buffer)
///   unsigned lanes() const;       // of the SpMM tiles' vectors
///   Value denseBuffer() const;    // B or x
///   const ProductResult &result() const;
///   void emitTiled(OpBuilder &, Location, Value unit, Value cols) const;
///   void emitDots(OpBuilder &, Location, Value x, Value unit) const;
/// (emitDots computes and stores the unit's results against the vector x;
/// SpMM with N = 1 runs it over B's only column), and, when its
/// `kMayBlockK` is true:
///   bool blocksK() const;         // whether it may block over K (static)
///   Value useKBlocking(OpBuilder &, Location, Value cols) const; // (i1)
///   void emitKBlocked(OpBuilder &, Location, Value cols) const;
/// which then replaces the per-unit loops where useKBlocking holds.
template <typename Emitter>
struct SpmmPattern : public OpRewritePattern<linalg::MatmulOp> {
  SpmmPattern(MLIRContext *context, const typename Emitter::Options &options)
      : OpRewritePattern(context), options(options) {}

  LogicalResult matchAndRewrite(linalg::MatmulOp op,
                                PatternRewriter &rewriter) const override {
    if (op.hasUserDefinedMaps())
      return rewriter.notifyMatchFailure(op, "transposed or broadcast maps");
    typename Emitter::Options options =
        scheduledOptions(this->options, op.getOperation());
    FailureOr<Emitter> emitter =
        Emitter::create(op, /*denseRank=*/2, options, rewriter);
    if (failed(emitter))
      return failure();
    SpmmColumns columns = getSpmmColumns(op, emitter->denseBuffer(), rewriter);
    auto emitUnits = [&](OpBuilder &ub, Location ul) {
      forEachParallel(
          ub, ul, emitter->units(),
          [&](OpBuilder &nb, Location nl, Value unit) {
            emitForColumnCount(
                nb, nl, columns,
                [&](OpBuilder &db, Location dl) {
                  emitter->emitDots(db, dl, columns.bColumn, unit);
                },
                [&](OpBuilder &tb, Location tl) {
                  emitter->emitTiled(tb, tl, unit, columns.cols);
                });
          },
          productWork(ub, ul, emitter->values(), columns.cols, emitter->lanes(),
                      options.minParallelWork));
    };
    Location loc = op.getLoc();
    bool blockedK = false;
    if constexpr (Emitter::kMayBlockK) {
      if (emitter->blocksK()) {
        blockedK = true;
        Value wide = emitter->useKBlocking(rewriter, loc, columns.cols);
        scf::IfOp::create(
            rewriter, loc, wide,
            [&](OpBuilder &tb, Location tl) {
              emitter->emitKBlocked(tb, tl, columns.cols);
              scf::YieldOp::create(tb, tl);
            },
            [&](OpBuilder &eb, Location el) {
              emitUnits(eb, el);
              scf::YieldOp::create(eb, el);
            });
      }
    }
    if (!blockedK)
      emitUnits(rewriter, loc);
    replaceWithResult(op, emitter->result(), rewriter);
    return success();
  }

  typename Emitter::Options options;
};

template <typename Emitter>
struct SpmvPattern : public OpRewritePattern<linalg::MatvecOp> {
  SpmvPattern(MLIRContext *context, const typename Emitter::Options &options)
      : OpRewritePattern(context), options(options) {}

  LogicalResult matchAndRewrite(linalg::MatvecOp op,
                                PatternRewriter &rewriter) const override {
    typename Emitter::Options options =
        scheduledOptions(this->options, op.getOperation());
    FailureOr<Emitter> emitter =
        Emitter::create(op, /*denseRank=*/1, options, rewriter);
    if (failed(emitter))
      return failure();
    Location loc = op.getLoc();
    forEachParallel(
        rewriter, loc, emitter->units(),
        [&](OpBuilder &nb, Location nl, Value unit) {
          emitter->emitDots(nb, nl, emitter->denseBuffer(), unit);
        },
        productWork(rewriter, loc, emitter->values(), /*cols=*/Value(),
                    emitter->lanes(), options.minParallelWork));
    replaceWithResult(op, emitter->result(), rewriter);
    return success();
  }

  typename Emitter::Options options;
};

/// The cache line size the kernels' prefetches assume.
constexpr unsigned kCacheLineBytes = 64;

/// Bytes per element of the memref `buffer` (index elements, in IR written
/// by hand, as 64-bit).
unsigned elementBytes(Value buffer);

/// Prefetches (for reading, into all cache levels) `lines` cache lines of
/// the 1-D `buffer` from element `start` on.
void prefetchLines(OpBuilder &b, Location loc, Value buffer, Value start,
                   unsigned lines);

/// How many rows ahead the K-blocked loops prefetch a row's part of the
/// current K block: they read the rows' parts one row after another, a
/// stride the hardware prefetchers do not run ahead of, so a cold weight
/// otherwise waits on memory once per row and block (docs/performance.md).
constexpr int64_t kBlockChunkRowsAhead = 2;

/// The cursor (where it resumes in the current K block) of the row
/// kBlockChunkRowsAhead after the one in `slot`, clamped to the last row of
/// the block [first, last); `cursors` holds one position per row from
/// `first` on.
Value cursorAhead(OpBuilder &b, Location loc, Value cursors, Value slot,
                  Value first, Value last);

/// Prefetches, for reading, the cache lines of `vectors` consecutive
/// vectors of `lanes` elements of `elementBits` bits in the 1-D `buffer`,
/// vector v at index `indexOf(v)`: one prefetch per cache line.
void prefetchVectors(OpBuilder &b, Location loc, Value buffer, unsigned vectors,
                     unsigned lanes, unsigned elementBits,
                     function_ref<Value(unsigned)> indexOf);

/// B (K x N, row-major) as a 1-D buffer and its row stride. Kernels index
/// B through it so that the vectors of a tile sit at constant offsets from
/// one base index (immediate displacements) rather than each keeping its
/// own live index register.
std::pair<Value, Value> flattenRowMajor(OpBuilder &b, Location loc,
                                        Value matrix);

/// An identity-layout buffer of any rank as a 1-D buffer of its elements in
/// row-major order.
Value flattenBuffer(OpBuilder &b, Location loc, Value buffer);

/// The lane sums of each of `parts` (G vectors of W lanes, G <= W, both
/// powers of two) as one vector of G: pairs are folded with even/odd lane
/// shuffles until one vector holds G groups of W/G partial sums, which are
/// then folded within the vector. G - 1 + log2(W/G) shuffle pairs and adds
/// for G sums instead of log2(W) each.
Value sumLanesOfEach(OpBuilder &b, Location loc, ArrayRef<Value> parts);

/// `accumulators[v] + splat(scalar) * B[base + v * lanes : ...]` for each
/// v: one stored value of an SpMM row tile against its B row, which starts
/// at `base` in the flattened B `bFlat` (the tile's vectors then sit at
/// constant offsets from one index). With a `mask`, one masked vector whose
/// masked-off lanes are not read.
SmallVector<Value> broadcastMultiplyAdd(OpBuilder &b, Location loc,
                                        Value scalar, Value bFlat, Value base,
                                        unsigned lanes, Value mask,
                                        ValueRange accumulators);

/// Rows of a row-major matrix with unit stride along the row: in a 2-D
/// buffer a row is named by its index, in a flattened buffer (`flat`) by
/// the index of its first element.
struct MatrixRows {
  Value buffer;
  bool flat = false;
};

/// Dot products of one row of X with rows of Y over a common depth: the
/// scores of SDDMM (sparse-opt-csr-kernels) and of sparse attention
/// (sparse-opt-sparse-attention). With a static depth of at most
/// kMaxRowVectors vectors (attention heads have 64 or 128), X's row is
/// loaded once into registers, the last vector masked, and kept across
/// the products; several products are then reduced together
/// (groupDots), since one horizontal reduction per product was most of
/// the time of an SDDMM (perf annotate: ~80% of the samples).
class RowDots {
public:
  static constexpr int64_t kMaxRowVectors = 16;

  RowDots(MatrixRows x, MatrixRows y, Value depth, int64_t staticDepth,
          unsigned lanes, FloatType elementType);

  /// Whether X's row is held in registers (static, small enough depth).
  bool inRegisters() const { return registers; }
  /// Products reduced together by groupDots: min(lanes, 8) when lanes is a
  /// power of two, else 1.
  unsigned group() const { return groupFor(lanes); }
  static unsigned groupFor(unsigned lanes);

  /// Takes row `row` of X: loaded into registers when inRegisters().
  void setRow(OpBuilder &b, Location loc, Value row);
  /// The lane-wise products of X's row and Y's row `yRow`, summed over the
  /// depth's vectors (its lanes sum to the dot product); inRegisters only.
  Value laneProducts(OpBuilder &b, Location loc, Value yRow) const;
  /// The dot product of X's row with Y's row `yRow`.
  Value dot(OpBuilder &b, Location loc, Value yRow) const;
  /// The dot products with each of `yRows` (group() of them) as one vector.
  Value groupDots(OpBuilder &b, Location loc, ArrayRef<Value> yRows) const;

private:
  Value load(OpBuilder &b, Location loc, const MatrixRows &rows, Value row,
             Value column, Value mask) const;

  MatrixRows x, y;
  Value depth;
  int64_t staticDepth;
  unsigned lanes;
  FloatType elementType;
  bool registers;
  Value xRow;
  SmallVector<std::pair<Value, Value>> xVectors; // (column, vector)
  Value tailMask;
};

} // namespace mlir::sparse_opt::kernels

#endif // SPARSE_OPT_LIB_TRANSFORMS_KERNELSUPPORT_H
