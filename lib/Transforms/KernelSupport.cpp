//===- KernelSupport.cpp - Shared pieces of sparse-opt's kernel passes ----===//

#include "KernelSupport.h"

#include "llvm/ADT/StringSwitch.h"

#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SparseTensor/IR/SparseTensor.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/Matchers.h"

#include <algorithm>

namespace mlir::sparse_opt::kernels {

bool isDenseTensor(Type type, int64_t rank, Type elementType) {
  auto tensor = dyn_cast<RankedTensorType>(type);
  return tensor && !tensor.getEncoding() && tensor.getRank() == rank &&
         tensor.getElementType() == elementType;
}

bool isZeroFilled(Value init) {
  auto fill = init.getDefiningOp<linalg::FillOp>();
  return fill && matchPattern(fill.value(), m_AnyZeroFloat());
}

Value toIndex(OpBuilder &b, Location loc, Value value) {
  if (value.getType().isIndex())
    return value;
  return arith::IndexCastUIOp::create(b, loc, b.getIndexType(), value);
}

Value indexConstant(OpBuilder &b, Location loc, int64_t value) {
  return arith::ConstantIndexOp::create(b, loc, value);
}

Value zeroVector(OpBuilder &b, Location loc, VectorType type) {
  return arith::ConstantOp::create(
      b, loc, type,
      DenseElementsAttr::get(type, b.getZeroAttr(type.getElementType())));
}

unsigned lanesFor(unsigned lanesFor32Bit, FloatType elementType) {
  return lanesFor32Bit * 32 / elementType.getWidth();
}

Value loadVector(OpBuilder &b, Location loc, VectorType type, Value buffer,
                 ValueRange indices, Value mask) {
  if (!mask || matchPattern(mask, m_One()))
    return vector::LoadOp::create(b, loc, type, buffer, indices);
  return vector::MaskedLoadOp::create(b, loc, type, buffer, indices, mask,
                                      zeroVector(b, loc, type));
}

void storeVector(OpBuilder &b, Location loc, Value value, Value buffer,
                 ValueRange indices, Value mask) {
  if (!mask || matchPattern(mask, m_One()))
    vector::StoreOp::create(b, loc, value, buffer, indices);
  else
    vector::MaskedStoreOp::create(b, loc, buffer, indices, mask, value);
}

/// The divisor of `expr` if it is `dim floordiv k` (k > 0), 1 if it is
/// `dim` itself, else 0.
bool isCsr(sparse_tensor::SparseTensorType type) {
  return type.hasEncoding() && type.getLvlRank() == 2 && type.isIdentity() &&
         type.isDenseLvl(0) && type.isCompressedLvl(1);
}

static int64_t blockDivisor(AffineExpr expr, unsigned dim) {
  if (expr == getAffineDimExpr(dim, expr.getContext()))
    return 1;
  auto binary = dyn_cast<AffineBinaryOpExpr>(expr);
  if (!binary || binary.getKind() != AffineExprKind::FloorDiv ||
      binary.getLHS() != getAffineDimExpr(dim, expr.getContext()))
    return 0;
  auto divisor = dyn_cast<AffineConstantExpr>(binary.getRHS());
  return divisor && divisor.getValue() > 0 ? divisor.getValue() : 0;
}

/// The block shape (R, C) of a BSR encoding, or failure. The levels are
/// (i floordiv R : dense, j floordiv C : compressed, i mod R : dense,
/// j mod C : dense); MLIR folds `floordiv 1` and `mod 1`, so a block of one
/// row or column is written without that level, e.g. 1 x 4 as
/// (i : dense, j floordiv 4 : compressed, j mod 4 : dense). Both store the
/// same buffers. R = C = 1 is CSR, not matched here.
FailureOr<std::pair<int64_t, int64_t>>
matchBsrBlock(sparse_tensor::SparseTensorType type) {
  if (!type.hasEncoding() || type.getDimRank() != 2)
    return failure();
  AffineMap dimToLvl = type.getDimToLvl();
  if (!dimToLvl || dimToLvl.getNumResults() < 3 || dimToLvl.getNumResults() > 4)
    return failure();
  int64_t rows = blockDivisor(dimToLvl.getResult(0), 0);
  int64_t cols = blockDivisor(dimToLvl.getResult(1), 1);
  if (rows == 0 || cols == 0 || (rows == 1 && cols == 1))
    return failure();
  MLIRContext *context = dimToLvl.getContext();
  AffineExpr i = getAffineDimExpr(0, context), j = getAffineDimExpr(1, context);
  SmallVector<AffineExpr> levels = {i.floorDiv(rows), j.floorDiv(cols)};
  if (rows > 1)
    levels.push_back(i % rows);
  if (cols > 1)
    levels.push_back(j % cols);
  if (dimToLvl != AffineMap::get(2, 0, levels, context))
    return failure();
  if (!type.isDenseLvl(0) || !type.isCompressedLvl(1))
    return failure();
  for (sparse_tensor::Level level = 2; level < type.getLvlRank(); ++level)
    if (!type.isDenseLvl(level))
      return failure();
  return std::make_pair(rows, cols);
}

/// (N, M) of an N:M encoding, (i : dense, j floordiv M : dense,
/// j mod M : structured[N, M]), or failure.
FailureOr<std::pair<int64_t, int64_t>>
matchNm(sparse_tensor::SparseTensorType type) {
  if (!type.hasEncoding() || type.getDimRank() != 2 || type.getLvlRank() != 3 ||
      !type.isDenseLvl(0) || !type.isDenseLvl(1) || !type.isNOutOfMLvl(2))
    return failure();
  sparse_tensor::LevelType structured = type.getLvlType(2);
  int64_t n = getN(structured), m = getM(structured);
  if (n <= 0 || m < n)
    return failure();
  MLIRContext *context = type.getContext();
  AffineExpr i = getAffineDimExpr(0, context), j = getAffineDimExpr(1, context);
  if (type.getDimToLvl() !=
      AffineMap::get(2, 0, {i, j.floorDiv(m), j % m}, context))
    return failure();
  return std::make_pair(n, m);
}

Value assembleInLevelSpace(OpBuilder &b, Location loc, RankedTensorType type,
                           ValueRange levels, Value values) {
  sparse_tensor::SparseTensorType sparse(type);
  Value assembled = sparse_tensor::AssembleOp::create(
      b, loc, sparse.getDemappedType(), levels, values);
  return sparse_tensor::ReinterpretMapOp::create(b, loc, type, assembled);
}

FailureOr<SparseProductOperands>
matchSparseProduct(linalg::LinalgOp op, int64_t denseRank,
                   function_ref<bool(sparse_tensor::SparseTensorType)> isFormat,
                   StringRef format, PatternRewriter &rewriter) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2)
    return failure();
  SparseProductOperands operands;
  operands.a = op.getDpsInputs()[0];
  operands.dense = op.getDpsInputs()[1];
  Value init = op.getDpsInits()[0];
  operands.aType = dyn_cast<RankedTensorType>(operands.a.getType());
  if (!operands.aType ||
      !isFormat(sparse_tensor::SparseTensorType(operands.aType)))
    return rewriter.notifyMatchFailure(op,
                                       "left operand is not " + format.str());
  operands.elementType = dyn_cast<FloatType>(operands.aType.getElementType());
  if (!operands.elementType ||
      !isDenseTensor(operands.dense.getType(), denseRank,
                     operands.elementType) ||
      !isDenseTensor(init.getType(), denseRank, operands.elementType))
    return rewriter.notifyMatchFailure(op, "not float " + format.str() +
                                               " x dense -> dense");
  return operands;
}

Value toLevelSpace(OpBuilder &b, Location loc, Value sparse) {
  auto encoding = sparse_tensor::getSparseTensorEncoding(sparse.getType());
  return sparse_tensor::ReinterpretMapOp::create(
      b, loc, encoding.withoutDimToLvl(), sparse);
}

static MemRefType dynamicVectorOf(Type element) {
  return MemRefType::get({ShapedType::kDynamic}, element);
}

Value positionsBuffer(OpBuilder &b, Location loc, Value levels, int64_t level) {
  sparse_tensor::SparseTensorType type(
      cast<RankedTensorType>(levels.getType()));
  return sparse_tensor::ToPositionsOp::create(
      b, loc, dynamicVectorOf(type.getPosType()), levels,
      b.getIndexAttr(level));
}

Value coordinatesBuffer(OpBuilder &b, Location loc, Value levels,
                        int64_t level) {
  sparse_tensor::SparseTensorType type(
      cast<RankedTensorType>(levels.getType()));
  return sparse_tensor::ToCoordinatesOp::create(
      b, loc, dynamicVectorOf(type.getCrdType()), levels,
      b.getIndexAttr(level));
}

Value valuesBuffer(OpBuilder &b, Location loc, Value levels) {
  auto type = cast<RankedTensorType>(levels.getType());
  return sparse_tensor::ToValuesOp::create(
      b, loc, dynamicVectorOf(type.getElementType()), levels);
}

ProductResult createProductResult(linalg::LinalgOp op, Value rowsFrom,
                                  Value colsFrom, PatternRewriter &rewriter) {
  auto resultType = cast<RankedTensorType>(op.getDpsInits()[0].getType());
  SmallVector<Value> dynamicSizes;
  if (isZeroFilled(op.getDpsInits()[0]))
    for (auto [dim, size] : llvm::enumerate(resultType.getShape()))
      if (ShapedType::isDynamic(size))
        dynamicSizes.push_back(rewriter.createOrFold<tensor::DimOp>(
            op.getLoc(), dim == 0 ? rowsFrom : colsFrom,
            indexConstant(rewriter, op.getLoc(), dim)));
  return createProductResult(op, dynamicSizes, rewriter);
}

ProductResult createProductResult(linalg::LinalgOp op, ValueRange dynamicSizes,
                                  PatternRewriter &rewriter) {
  Location loc = op.getLoc();
  Value init = op.getDpsInits()[0];
  auto resultType = cast<RankedTensorType>(init.getType());
  auto memRefType =
      MemRefType::get(resultType.getShape(), resultType.getElementType());
  ProductResult result;
  result.zeroInit = isZeroFilled(init);
  if (!result.zeroInit) {
    result.buffer =
        bufferization::ToBufferOp::create(rewriter, loc, memRefType, init);
    return result;
  }
  result.buffer = memref::AllocOp::create(
      rewriter, loc, memRefType, dynamicSizes, rewriter.getI64IntegerAttr(64));
  return result;
}

Value readOnlyBuffer(OpBuilder &b, Location loc, Value tensor) {
  auto type = cast<RankedTensorType>(tensor.getType());
  return bufferization::ToBufferOp::create(
      b, loc, MemRefType::get(type.getShape(), type.getElementType()), tensor,
      /*read_only=*/true);
}

void replaceWithResult(linalg::LinalgOp op, const ProductResult &result,
                       PatternRewriter &rewriter) {
  Value init = op.getDpsInits()[0];
  rewriter.replaceOpWithNewOp<bufferization::ToTensorOp>(
      op, init.getType(), result.buffer,
      /*restrict=*/rewriter.getUnitAttr(),
      /*writable=*/rewriter.getUnitAttr());
  if (Operation *fill = init.getDefiningOp();
      result.zeroInit && fill->use_empty())
    rewriter.eraseOp(fill);
}

SmallVector<Value> initialAccumulators(
    OpBuilder &b, Location loc, const ProductResult &result, Value zeroStart,
    VectorType vectorType, size_t count,
    function_ref<SmallVector<Value>(OpBuilder &, Location)> loadTile) {
  if (!result.zeroInit)
    return loadTile(b, loc);
  SmallVector<Value> zeros(count, zeroVector(b, loc, vectorType));
  if (!zeroStart)
    return zeros;
  auto start = scf::IfOp::create(
      b, loc, zeroStart,
      [&](OpBuilder &tb, Location tl) { scf::YieldOp::create(tb, tl, zeros); },
      [&](OpBuilder &eb, Location el) {
        scf::YieldOp::create(eb, el, loadTile(eb, el));
      });
  return SmallVector<Value>(start.getResults().begin(),
                            start.getResults().end());
}

void storeSum(OpBuilder &b, Location loc, const ProductResult &result,
              ValueRange indices, Value sum) {
  if (!result.zeroInit)
    sum = arith::AddFOp::create(
        b, loc, memref::LoadOp::create(b, loc, result.buffer, indices), sum);
  memref::StoreOp::create(b, loc, sum, result.buffer, indices);
}

void emitLoop(OpBuilder &b, Location loc, Value lower, Value upper, Value step,
              function_ref<void(OpBuilder &, Location, Value)> body) {
  scf::ForOp::create(b, loc, lower, upper, step, ValueRange{},
                     [&](OpBuilder &nb, Location nl, Value iv, ValueRange) {
                       body(nb, nl, iv);
                       scf::YieldOp::create(nb, nl);
                     });
}

FailureOr<std::optional<KernelSchedule>> readSchedule(Operation *op,
                                                      StringRef pass) {
  Attribute attr = op->getAttr(kScheduleAttrName);
  if (!attr)
    return std::optional<KernelSchedule>();
  auto fail = [&](const Twine &what) {
    return op->emitError() << pass << (pass.empty() ? "" : ": ")
                           << kScheduleAttrName << " " << what << ", got "
                           << attr;
  };
  auto dict = dyn_cast<DictionaryAttr>(attr);
  if (!dict)
    return fail("must be a dictionary, e.g. {parallel = true, n_tile = 8 : "
                "i64, k_block = 64 : i64}");
  KernelSchedule schedule;
  for (NamedAttribute entry : dict) {
    StringRef key = entry.getName().getValue();
    if (key == "parallel" || key == "nnz_balanced") {
      auto flag = dyn_cast<BoolAttr>(entry.getValue());
      if (!flag)
        return fail("key '" + key + "' must be a bool");
      (key == "parallel" ? schedule.parallel : schedule.nnzBalanced) =
          flag.getValue();
      continue;
    }
    std::optional<unsigned> *slot =
        llvm::StringSwitch<std::optional<unsigned> *>(key)
            .Case("min_parallel_work", &schedule.minParallelWork)
            .Case("n_tile", &schedule.nTile)
            .Case("k_block", &schedule.kBlock)
            .Case("row_block", &schedule.rowBlock)
            .Case("tile_rows", &schedule.tileRows)
            .Case("tile_vectors", &schedule.tileVectors)
            .Default(nullptr);
    if (!slot)
      return fail("has unknown key '" + key +
                  "' (expected parallel, min_parallel_work, n_tile, k_block, "
                  "row_block, tile_rows, tile_vectors, nnz_balanced)");
    auto integer = dyn_cast<IntegerAttr>(entry.getValue());
    if (!integer || !integer.getType().isSignlessInteger() ||
        integer.getValue().isNegative() ||
        integer.getValue().getActiveBits() > 31)
      return fail("key '" + key + "' must be a non-negative integer");
    unsigned value = unsigned(integer.getInt());
    bool powerOfTwo = key == "n_tile" || key == "tile_vectors";
    if (powerOfTwo && !llvm::isPowerOf2_32(value))
      return fail("key '" + key + "' must be a power of two");
    if (key != "k_block" && value == 0)
      return fail("key '" + key + "' must be positive");
    *slot = value;
  }
  if (schedule.minParallelWork && schedule.parallel != true)
    return fail("has min_parallel_work without parallel = true");
  return std::optional(schedule);
}

LogicalResult verifySchedules(Operation *root, StringRef pass) {
  WalkResult result = root->walk([&](Operation *op) {
    return failed(readSchedule(op, pass)) ? WalkResult::interrupt()
                                          : WalkResult::advance();
  });
  return failure(result.wasInterrupted());
}

ParallelWork productWork(OpBuilder &b, Location loc, Value values, Value cols,
                         unsigned lanes, unsigned minSteps) {
  if (minSteps == 0)
    return {};
  if (minSteps == kSerialOnly)
    return {Value(), kSerialOnly};
  if (minSteps == kSerialOnly)
    return {Value(), kSerialOnly};
  Value steps =
      b.createOrFold<memref::DimOp>(loc, values, indexConstant(b, loc, 0));
  if (cols)
    steps = arith::MulIOp::create(
        b, loc, steps,
        arith::CeilDivUIOp::create(b, loc, cols, indexConstant(b, loc, lanes)));
  return {steps, minSteps};
}

void forEachParallel(OpBuilder &b, Location loc, Value count,
                     function_ref<void(OpBuilder &, Location, Value)> body,
                     const ParallelWork &work) {
  Value c0 = indexConstant(b, loc, 0), c1 = indexConstant(b, loc, 1);
  auto emitParallel = [&](OpBuilder &pb, Location pl) {
    scf::ParallelOp::create(pb, pl, ValueRange{c0}, ValueRange{count},
                            ValueRange{c1},
                            [&](OpBuilder &nb, Location nl, ValueRange ivs) {
                              body(nb, nl, ivs[0]);
                            });
  };
  if (work.minSteps == kSerialOnly) {
    emitLoop(b, loc, c0, count, c1, body);
    return;
  }
  if (!work.steps || work.minSteps == 0) {
    emitParallel(b, loc);
    return;
  }
  Value worth =
      arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge, work.steps,
                            indexConstant(b, loc, work.minSteps));
  auto branch = scf::IfOp::create(
      b, loc, worth,
      [&](OpBuilder &tb, Location tl) {
        emitParallel(tb, tl);
        scf::YieldOp::create(tb, tl);
      },
      [&](OpBuilder &eb, Location el) {
        emitLoop(eb, el, c0, count, c1, body);
        scf::YieldOp::create(eb, el);
      });
  branch->setAttr(kSerialFallbackAttrName, b.getUnitAttr());
}

Value wholeStepsEnd(OpBuilder &b, Location loc, Value start, Value end,
                    Value step) {
  Value span = b.createOrFold<arith::SubIOp>(loc, end, start);
  Value whole = arith::MulIOp::create(
      b, loc, arith::DivUIOp::create(b, loc, span, step), step);
  return b.createOrFold<arith::AddIOp>(loc, start, whole);
}

unsigned accumulatorSets(unsigned nTile, unsigned vectors) {
  return std::clamp(nTile / std::max(1u, vectors), 1u, kMaxAccumulatorSets);
}

scf::IfOp serialFallbackOf(Operation *loop) {
  auto branch = dyn_cast<scf::IfOp>(loop->getParentOp());
  if (!branch || !branch->hasAttr(kSerialFallbackAttrName) ||
      loop->getParentRegion() != &branch.getThenRegion() ||
      branch.getElseRegion().empty())
    return nullptr;
  return branch;
}

SmallVector<Value> sumAccumulatorSets(OpBuilder &b, Location loc,
                                      ValueRange accumulators,
                                      unsigned vectors) {
  SmallVector<Value> sums(accumulators.take_front(vectors));
  for (size_t at = vectors; at < accumulators.size(); ++at)
    sums[at % vectors] =
        arith::AddFOp::create(b, loc, sums[at % vectors], accumulators[at]);
  return sums;
}

void emitColumnTiles(
    OpBuilder &b, Location loc, Value begin, Value cols, unsigned lanes,
    unsigned nTile,
    function_ref<void(OpBuilder &, Location, Value, unsigned, Value)>
        emitTile) {
  Value fullWidth = indexConstant(b, loc, nTile * lanes);
  Value fullEnd = wholeStepsEnd(b, loc, begin, cols, fullWidth);
  scf::ForOp::create(b, loc, begin, fullEnd, fullWidth, ValueRange{},
                     [&](OpBuilder &nb, Location nl, Value column, ValueRange) {
                       emitTile(nb, nl, column, nTile, Value());
                       scf::YieldOp::create(nb, nl);
                     });

  emitTailTiles(b, loc, fullEnd, cols, lanes, nTile, emitTile);
}

void emitTailTiles(
    OpBuilder &b, Location loc, Value column, Value cols, unsigned lanes,
    unsigned nTile,
    function_ref<void(OpBuilder &, Location, Value, unsigned, Value)>
        emitTile) {
  for (unsigned vectors = nTile / 2; vectors >= 1; vectors /= 2) {
    Value tileWidth = indexConstant(b, loc, vectors * lanes);
    Value remaining = arith::SubIOp::create(b, loc, cols, column);
    Value fits = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::uge,
                                       remaining, tileWidth);
    scf::IfOp::create(b, loc, fits, [&](OpBuilder &nb, Location nl) {
      emitTile(nb, nl, column, vectors, Value());
      scf::YieldOp::create(nb, nl);
    });
    Value advanced = arith::AddIOp::create(b, loc, column, tileWidth);
    column = arith::SelectOp::create(b, loc, fits, advanced, column);
  }

  Value remaining = arith::SubIOp::create(b, loc, cols, column);
  Value any = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                    remaining, indexConstant(b, loc, 0));
  scf::IfOp::create(b, loc, any, [&](OpBuilder &nb, Location nl) {
    Value mask = vector::CreateMaskOp::create(
        nb, nl, VectorType::get({lanes}, nb.getI1Type()),
        ValueRange{remaining});
    emitTile(nb, nl, column, 1, mask);
    scf::YieldOp::create(nb, nl);
  });
}

Value emitVectorSum(
    OpBuilder &b, Location loc, Value begin, Value end, unsigned lanes,
    FloatType elementType,
    function_ref<Value(OpBuilder &, Location, Value, Value, Value)>
        accumulate) {
  return vector::ReductionOp::create(
      b, loc, vector::CombiningKind::ADD,
      emitLaneSums(b, loc, begin, end, lanes, elementType, accumulate));
}

Value emitLaneSums(
    OpBuilder &b, Location loc, Value begin, Value end, unsigned lanes,
    FloatType elementType,
    function_ref<Value(OpBuilder &, Location, Value, Value, Value)>
        accumulate) {
  return emitLaneReduction(
      b, loc, begin, end, lanes,
      zeroVector(b, loc, VectorType::get({lanes}, elementType)), accumulate);
}

Value emitLaneReduction(
    OpBuilder &b, Location loc, Value begin, Value end, unsigned lanes,
    Value initial,
    function_ref<Value(OpBuilder &, Location, Value, Value, Value)>
        accumulate) {
  auto maskType = VectorType::get({lanes}, b.getI1Type());
  Value allTrue = arith::ConstantOp::create(
      b, loc, maskType, DenseElementsAttr::get(maskType, true));
  Value width = indexConstant(b, loc, lanes);
  Value count = arith::SubIOp::create(b, loc, end, begin);
  Value full = arith::MulIOp::create(
      b, loc, arith::DivUIOp::create(b, loc, count, width), width);
  Value fullEnd = arith::AddIOp::create(b, loc, begin, full);
  auto loop = scf::ForOp::create(
      b, loc, begin, fullEnd, width, ValueRange{initial},
      [&](OpBuilder &lb, Location ll, Value k, ValueRange accumulator) {
        scf::YieldOp::create(lb, ll,
                             accumulate(lb, ll, k, allTrue, accumulator[0]));
      });
  Value remaining = arith::SubIOp::create(b, loc, end, fullEnd);
  Value any = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ugt,
                                    remaining, indexConstant(b, loc, 0));
  auto tail = scf::IfOp::create(
      b, loc, any,
      [&](OpBuilder &tb, Location tl) {
        Value mask = vector::CreateMaskOp::create(tb, tl, maskType,
                                                  ValueRange{remaining});
        scf::YieldOp::create(
            tb, tl, accumulate(tb, tl, fullEnd, mask, loop.getResult(0)));
      },
      [&](OpBuilder &eb, Location el) {
        scf::YieldOp::create(eb, el, loop.getResult(0));
      });
  return tail.getResult(0);
}

SpmmColumns getSpmmColumns(linalg::LinalgOp op, Value bBuffer,
                           PatternRewriter &rewriter) {
  Location loc = op.getLoc();
  Value b = op.getDpsInputs()[1];
  SpmmColumns columns;
  columns.cols = rewriter.createOrFold<tensor::DimOp>(
      loc, b, indexConstant(rewriter, loc, 1));
  columns.staticCols = cast<RankedTensorType>(b.getType()).getDimSize(1);
  if (columns.staticCols == 1 || ShapedType::isDynamic(columns.staticCols))
    columns.bColumn = memref::CollapseShapeOp::create(
        rewriter, loc, bBuffer, ArrayRef<ReassociationIndices>{{0, 1}});
  return columns;
}

void emitForColumnCount(OpBuilder &b, Location loc, const SpmmColumns &columns,
                        function_ref<void(OpBuilder &, Location)> emitDot,
                        function_ref<void(OpBuilder &, Location)> emitTiled) {
  if (columns.staticCols == 1)
    return emitDot(b, loc);
  if (!columns.bColumn)
    return emitTiled(b, loc);
  Value single = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::eq,
                                       columns.cols, indexConstant(b, loc, 1));
  scf::IfOp::create(
      b, loc, single,
      [&](OpBuilder &tb, Location tl) {
        emitDot(tb, tl);
        scf::YieldOp::create(tb, tl);
      },
      [&](OpBuilder &eb, Location el) {
        emitTiled(eb, el);
        scf::YieldOp::create(eb, el);
      });
}

unsigned elementBytes(Value buffer) {
  Type element = cast<MemRefType>(buffer.getType()).getElementType();
  unsigned bits = element.isIndex() ? 64 : element.getIntOrFloatBitWidth();
  return std::max(1u, bits / 8);
}

void prefetchLines(OpBuilder &b, Location loc, Value buffer, Value start,
                   unsigned lines) {
  unsigned perLine = kCacheLineBytes / elementBytes(buffer);
  for (unsigned line = 0; line < lines; ++line) {
    Value at = start;
    if (line)
      at = arith::AddIOp::create(b, loc, start,
                                 indexConstant(b, loc, line * perLine));
    memref::PrefetchOp::create(b, loc, buffer, ValueRange{at},
                               /*isWrite=*/false, /*localityHint=*/3,
                               /*isDataCache=*/true);
  }
}

Value cursorAhead(OpBuilder &b, Location loc, Value cursors, Value slot,
                  Value first, Value last) {
  Value lastSlot = arith::SubIOp::create(
      b, loc, arith::SubIOp::create(b, loc, last, first),
      indexConstant(b, loc, 1));
  Value aheadSlot = arith::MinUIOp::create(
      b, loc,
      arith::AddIOp::create(b, loc, slot,
                            indexConstant(b, loc, kBlockChunkRowsAhead)),
      lastSlot);
  return memref::LoadOp::create(b, loc, cursors, aheadSlot);
}

void prefetchVectors(OpBuilder &b, Location loc, Value buffer, unsigned vectors,
                     unsigned lanes, unsigned elementBits,
                     function_ref<Value(unsigned)> indexOf) {
  unsigned elementBytes = elementBits / 8;
  for (unsigned v = 0; v < vectors; ++v)
    if (v * lanes * elementBytes % kCacheLineBytes == 0)
      memref::PrefetchOp::create(b, loc, buffer, ValueRange{indexOf(v)},
                                 /*isWrite=*/false, /*localityHint=*/3,
                                 /*isDataCache=*/true);
}

std::pair<Value, Value> flattenRowMajor(OpBuilder &b, Location loc,
                                        Value matrix) {
  Value flat = flattenBuffer(b, loc, matrix);
  Value stride =
      memref::DimOp::create(b, loc, matrix, indexConstant(b, loc, 1));
  return {flat, stride};
}

Value flattenBuffer(OpBuilder &b, Location loc, Value buffer) {
  auto type = cast<MemRefType>(buffer.getType());
  if (type.getRank() == 1)
    return buffer;
  auto all = llvm::to_vector<2>(llvm::seq<int64_t>(0, type.getRank()));
  return memref::CollapseShapeOp::create(
      b, loc, buffer, ArrayRef<ReassociationIndices>{all});
}

Value sumLanesOfEach(OpBuilder &b, Location loc, ArrayRef<Value> parts) {
  // Lanes 2i + 2i+1 of x ++ y for the first `width` lanes of it, summed.
  auto addAdjacentLanes = [&](Value x, Value y, int64_t width) -> Value {
    SmallVector<int64_t> evens, odds;
    for (int64_t lane = 0; lane < width; lane += 2) {
      evens.push_back(lane);
      odds.push_back(lane + 1);
    }
    return arith::AddFOp::create(b, loc,
                                 vector::ShuffleOp::create(b, loc, x, y, evens),
                                 vector::ShuffleOp::create(b, loc, x, y, odds));
  };
  auto widthOf = [](Value v) {
    return cast<VectorType>(v.getType()).getNumElements();
  };
  SmallVector<Value> level(parts);
  while (level.size() > 1) {
    SmallVector<Value> next;
    for (size_t index = 0; index < level.size(); index += 2)
      next.push_back(addAdjacentLanes(level[index], level[index + 1],
                                      2 * widthOf(level[index])));
    level = std::move(next);
  }
  Value sums = level.front();
  while (widthOf(sums) > int64_t(parts.size()))
    sums = addAdjacentLanes(sums, sums, widthOf(sums));
  return sums;
}

SmallVector<Value> broadcastMultiplyAdd(OpBuilder &b, Location loc,
                                        Value scalar, Value bFlat, Value base,
                                        unsigned lanes, Value mask,
                                        ValueRange accumulators) {
  auto vectorType = VectorType::get({lanes}, scalar.getType());
  Value broadcast = vector::BroadcastOp::create(b, loc, vectorType, scalar);
  SmallVector<Value> updated;
  for (auto [v, accumulator] : llvm::enumerate(accumulators)) {
    Value at = v == 0 ? base
                      : arith::AddIOp::create(b, loc, base,
                                              indexConstant(b, loc, v * lanes))
                            .getResult();
    updated.push_back(vector::FMAOp::create(
        b, loc, broadcast, loadVector(b, loc, vectorType, bFlat, {at}, mask),
        accumulator));
  }
  return updated;
}

RowDots::RowDots(MatrixRows x, MatrixRows y, Value depth, int64_t staticDepth,
                 unsigned lanes, FloatType elementType)
    : x(x), y(y), depth(depth), staticDepth(staticDepth), lanes(lanes),
      elementType(elementType),
      registers(!ShapedType::isDynamic(staticDepth) &&
                staticDepth <= kMaxRowVectors * int64_t(lanes)) {}

unsigned RowDots::groupFor(unsigned lanes) {
  constexpr unsigned kMaxGroup = 8;
  return llvm::isPowerOf2_32(lanes) ? std::min(lanes, kMaxGroup) : 1;
}

Value RowDots::load(OpBuilder &b, Location loc, const MatrixRows &rows,
                    Value row, Value column, Value mask) const {
  auto vectorType = VectorType::get({lanes}, elementType);
  if (rows.flat)
    return loadVector(b, loc, vectorType, rows.buffer,
                      {b.createOrFold<arith::AddIOp>(loc, row, column)}, mask);
  return loadVector(b, loc, vectorType, rows.buffer, {row, column}, mask);
}

void RowDots::setRow(OpBuilder &b, Location loc, Value row) {
  xRow = row;
  xVectors.clear();
  tailMask = Value();
  if (!registers)
    return;
  for (int64_t column = 0; column < staticDepth; column += lanes) {
    Value at = indexConstant(b, loc, column);
    if (column + int64_t(lanes) > staticDepth)
      tailMask = vector::ConstantMaskOp::create(
          b, loc, VectorType::get({lanes}, b.getI1Type()),
          ArrayRef<int64_t>{staticDepth - column});
    xVectors.push_back(
        {at, load(b, loc, x, row, at,
                  column + int64_t(lanes) > staticDepth ? tailMask : Value())});
  }
}

Value RowDots::laneProducts(OpBuilder &b, Location loc, Value yRow) const {
  assert(registers && "X's row is not in registers");
  Value accumulator = zeroVector(b, loc, VectorType::get({lanes}, elementType));
  for (auto [index, part] : llvm::enumerate(xVectors)) {
    auto [at, xVector] = part;
    bool last = index + 1 == xVectors.size();
    Value yVector = load(b, loc, y, yRow, at, last ? tailMask : Value());
    accumulator = vector::FMAOp::create(b, loc, xVector, yVector, accumulator);
  }
  return accumulator;
}

Value RowDots::dot(OpBuilder &b, Location loc, Value yRow) const {
  if (registers)
    return vector::ReductionOp::create(b, loc, vector::CombiningKind::ADD,
                                       laneProducts(b, loc, yRow));
  // Full vectors over the depth, a masked tail, one horizontal reduction.
  return emitVectorSum(b, loc, indexConstant(b, loc, 0), depth, lanes,
                       elementType,
                       [&](OpBuilder &lb, Location ll, Value k, Value mask,
                           Value accumulator) -> Value {
                         return vector::FMAOp::create(
                             lb, ll, load(lb, ll, x, xRow, k, mask),
                             load(lb, ll, y, yRow, k, mask), accumulator);
                       });
}

Value RowDots::groupDots(OpBuilder &b, Location loc,
                         ArrayRef<Value> yRows) const {
  if (registers && yRows.size() > 1) {
    SmallVector<Value> products;
    for (Value yRow : yRows)
      products.push_back(laneProducts(b, loc, yRow));
    return sumLanesOfEach(b, loc, products);
  }
  SmallVector<Value> dots;
  for (Value yRow : yRows)
    dots.push_back(dot(b, loc, yRow));
  return vector::FromElementsOp::create(
      b, loc, VectorType::get({int64_t(yRows.size())}, elementType), dots);
}

} // namespace mlir::sparse_opt::kernels
