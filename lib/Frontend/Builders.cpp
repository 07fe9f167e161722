//===- Builders.cpp - IR building blocks shared by the converters --------===//

#include "Builders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/ReshapeOpsUtils.h"

#include <limits>

using namespace mlir;
using namespace mlir::sparse_opt::onnx;

int64_t mlir::sparse_opt::onnx::product(ArrayRef<int64_t> values) {
  int64_t result = 1;
  for (int64_t value : values)
    result *= value;
  return result;
}

FailureOr<SmallVector<int64_t>>
mlir::sparse_opt::onnx::broadcastShapes(ArrayRef<ArrayRef<int64_t>> shapes) {
  size_t rank = 0;
  for (ArrayRef<int64_t> shape : shapes)
    rank = std::max(rank, shape.size());
  SmallVector<int64_t> result(rank, 1);
  for (ArrayRef<int64_t> shape : shapes) {
    size_t offset = rank - shape.size();
    for (auto [i, size] : llvm::enumerate(shape)) {
      int64_t &out = result[offset + i];
      if (size == out || size == 1)
        continue;
      if (out != 1)
        return failure();
      out = size;
    }
  }
  return result;
}

Value mlir::sparse_opt::onnx::emptyTensor(OpBuilder &b, Location loc,
                                          ArrayRef<int64_t> shape,
                                          Type elementType) {
  return tensor::EmptyOp::create(b, loc, shape, elementType);
}

Value mlir::sparse_opt::onnx::filledTensor(OpBuilder &b, Location loc,
                                           ArrayRef<int64_t> shape,
                                           Value value) {
  Value empty = emptyTensor(b, loc, shape, value.getType());
  return linalg::FillOp::create(b, loc, ValueRange{value}, ValueRange{empty})
      .getResult(0);
}

Value mlir::sparse_opt::onnx::scalarConstant(OpBuilder &b, Location loc,
                                             Type type, double value) {
  if (auto floatType = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(b, loc, b.getFloatAttr(floatType, value));
  if (type.isIndex())
    return arith::ConstantIndexOp::create(b, loc, int64_t(value));
  if (type.isInteger(1))
    return arith::ConstantOp::create(b, loc, b.getBoolAttr(value != 0));
  return arith::ConstantOp::create(b, loc,
                                   b.getIntegerAttr(type, int64_t(value)));
}

Value mlir::sparse_opt::onnx::lowestValue(OpBuilder &b, Location loc,
                                          Type type) {
  if (auto floatType = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(
        b, loc,
        b.getFloatAttr(floatType, APFloat::getInf(
                                      floatType.getFloatSemantics(), true)));
  unsigned width = type.getIntOrFloatBitWidth();
  APInt lowest = width == 1 ? APInt(1, 0) : APInt::getSignedMinValue(width);
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(type, lowest));
}

Value mlir::sparse_opt::onnx::highestValue(OpBuilder &b, Location loc,
                                           Type type) {
  if (auto floatType = dyn_cast<FloatType>(type))
    return arith::ConstantOp::create(
        b, loc,
        b.getFloatAttr(floatType, APFloat::getInf(
                                      floatType.getFloatSemantics(), false)));
  unsigned width = type.getIntOrFloatBitWidth();
  APInt highest = width == 1 ? APInt(1, 1) : APInt::getSignedMaxValue(width);
  return arith::ConstantOp::create(b, loc, b.getIntegerAttr(type, highest));
}

Value mlir::sparse_opt::onnx::buildElementwise(OpBuilder &b, Location loc,
                                               ValueRange inputs,
                                               ArrayRef<int64_t> resultShape,
                                               Type resultElementType,
                                               ScalarBody body) {
  MLIRContext *context = b.getContext();
  unsigned rank = resultShape.size();
  SmallVector<AffineMap> maps;
  for (Value input : inputs) {
    ArrayRef<int64_t> shape = cast<RankedTensorType>(input.getType()).getShape();
    unsigned offset = rank - shape.size();
    SmallVector<AffineExpr> results;
    for (auto [i, size] : llvm::enumerate(shape)) {
      // A size-1 dimension broadcast against a larger one always reads
      // element 0.
      if (size == 1 && resultShape[offset + i] != 1)
        results.push_back(getAffineConstantExpr(0, context));
      else
        results.push_back(getAffineDimExpr(offset + i, context));
    }
    maps.push_back(AffineMap::get(rank, 0, results, context));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(rank, context));
  Value init = emptyTensor(b, loc, resultShape, resultElementType);
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, inputs, ValueRange{init}, maps,
      iterators, [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        Value result = body(nested, nestedLoc, args.drop_back());
        linalg::YieldOp::create(nested, nestedLoc, result);
      });
  return generic.getResult(0);
}

Value mlir::sparse_opt::onnx::buildReduction(OpBuilder &b, Location loc,
                                             Value input,
                                             ArrayRef<int64_t> axes,
                                             bool keepDims, Value init,
                                             ScalarBody combine) {
  MLIRContext *context = b.getContext();
  auto inputType = cast<RankedTensorType>(input.getType());
  unsigned rank = inputType.getRank();
  SmallVector<int64_t> reducedShape;
  SmallVector<AffineExpr> outputExprs;
  SmallVector<utils::IteratorType> iterators;
  for (unsigned d = 0; d < rank; ++d) {
    if (llvm::is_contained(axes, int64_t(d))) {
      iterators.push_back(utils::IteratorType::reduction);
      continue;
    }
    iterators.push_back(utils::IteratorType::parallel);
    reducedShape.push_back(inputType.getDimSize(d));
    outputExprs.push_back(getAffineDimExpr(d, context));
  }
  Value output = filledTensor(b, loc, reducedShape, init);
  SmallVector<AffineMap> maps = {
      AffineMap::getMultiDimIdentityMap(rank, context),
      AffineMap::get(rank, 0, outputExprs, context)};
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{output.getType()}, ValueRange{input},
      ValueRange{output}, maps, iterators,
      [&](OpBuilder &nested, Location nestedLoc, ValueRange args) {
        Value result = combine(nested, nestedLoc, args);
        linalg::YieldOp::create(nested, nestedLoc, result);
      });
  Value result = generic.getResult(0);
  if (!keepDims)
    return result;
  SmallVector<int64_t> keptShape(inputType.getShape());
  for (int64_t axis : axes)
    keptShape[axis] = 1;
  return reshapeTensor(b, loc, result, keptShape);
}

Value mlir::sparse_opt::onnx::reshapeTensor(OpBuilder &b, Location loc,
                                            Value input,
                                            ArrayRef<int64_t> shape) {
  auto inputType = cast<RankedTensorType>(input.getType());
  if (inputType.getShape() == shape)
    return input;
  auto resultType = RankedTensorType::get(shape, inputType.getElementType());
  int64_t inputRank = inputType.getRank(), resultRank = shape.size();
  // To or from a scalar: all dimensions are 1 and fold into nothing.
  if (resultRank == 0)
    return tensor::CollapseShapeOp::create(b, loc, resultType, input,
                                           SmallVector<ReassociationIndices>{});
  if (inputRank == 0)
    return tensor::ExpandShapeOp::create(b, loc, resultType, input,
                                         SmallVector<ReassociationIndices>{});
  if (inputRank > resultRank) {
    if (auto reassociation =
            getReassociationIndicesForCollapse(inputType.getShape(), shape))
      return tensor::CollapseShapeOp::create(b, loc, resultType, input,
                                             *reassociation);
  } else if (inputRank < resultRank) {
    if (auto reassociation =
            getReassociationIndicesForCollapse(shape, inputType.getShape()))
      return tensor::ExpandShapeOp::create(b, loc, resultType, input,
                                           *reassociation);
  }
  // General case through a 1-D view; both steps are views after
  // bufferization.
  int64_t count = product(shape);
  Value flat = input;
  if (inputRank != 1) {
    ReassociationIndices all;
    for (int64_t d = 0; d < inputRank; ++d)
      all.push_back(d);
    flat = tensor::CollapseShapeOp::create(
        b, loc, RankedTensorType::get({count}, inputType.getElementType()),
        input, SmallVector<ReassociationIndices>{all});
  }
  if (resultRank == 1)
    return flat;
  ReassociationIndices all;
  for (int64_t d = 0; d < resultRank; ++d)
    all.push_back(d);
  return tensor::ExpandShapeOp::create(b, loc, resultType, flat,
                                       SmallVector<ReassociationIndices>{all});
}

Value mlir::sparse_opt::onnx::transposeTensor(OpBuilder &b, Location loc,
                                              Value input,
                                              ArrayRef<int64_t> perm) {
  auto inputType = cast<RankedTensorType>(input.getType());
  bool identity = true;
  for (auto [i, p] : llvm::enumerate(perm))
    identity &= int64_t(i) == p;
  if (identity)
    return input;
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(inputType.getDimSize(p));
  Value init = emptyTensor(b, loc, shape, inputType.getElementType());
  return linalg::TransposeOp::create(b, loc, input, init, perm).getResult()[0];
}

Value mlir::sparse_opt::onnx::padTensor(OpBuilder &b, Location loc,
                                        Value input, ArrayRef<int64_t> low,
                                        ArrayRef<int64_t> high,
                                        Value padValue) {
  if (llvm::all_of(low, [](int64_t v) { return v == 0; }) &&
      llvm::all_of(high, [](int64_t v) { return v == 0; }))
    return input;
  auto inputType = cast<RankedTensorType>(input.getType());
  int64_t rank = inputType.getRank();
  SmallVector<int64_t> shape;
  for (int64_t d = 0; d < rank; ++d)
    shape.push_back(inputType.getDimSize(d) + low[d] + high[d]);
  // A linalg.generic that reads the input where it lies inside, rather
  // than tensor.pad: pad bufferizes into a copy to a strided subview, which
  // the CPU pipeline lowers to a call of the `memrefCopy` runtime function
  // that generated libraries do not have.
  Value init = emptyTensor(b, loc, shape, inputType.getElementType());
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
      SmallVector<AffineMap>{
          AffineMap::getMultiDimIdentityMap(rank, b.getContext())},
      iterators, [&](OpBuilder &nb, Location nloc, ValueRange) {
        Value zero = arith::ConstantIndexOp::create(nb, nloc, 0);
        Value inside;
        SmallVector<Value> coordinates;
        for (int64_t d = 0; d < rank; ++d) {
          Value index = linalg::IndexOp::create(nb, nloc, d);
          if (low[d] == 0 && high[d] == 0) {
            coordinates.push_back(index);
            continue;
          }
          Value source = arith::SubIOp::create(
              nb, nloc, index, arith::ConstantIndexOp::create(nb, nloc, low[d]));
          // Unsigned compare: a negative source index is out of range too.
          Value ok = arith::CmpIOp::create(
              nb, nloc, arith::CmpIPredicate::ult, source,
              arith::ConstantIndexOp::create(nb, nloc,
                                             inputType.getDimSize(d)));
          coordinates.push_back(
              arith::SelectOp::create(nb, nloc, ok, source, zero));
          inside = inside ? Value(arith::AndIOp::create(nb, nloc, inside, ok))
                          : ok;
        }
        Value element = tensor::ExtractOp::create(nb, nloc, input, coordinates);
        Value result =
            arith::SelectOp::create(nb, nloc, inside, element, padValue);
        linalg::YieldOp::create(nb, nloc, result);
      });
  return generic.getResult(0);
}

Value mlir::sparse_opt::onnx::addScalars(OpBuilder &b, Location loc, Value lhs,
                                         Value rhs) {
  if (isa<FloatType>(lhs.getType()))
    return arith::AddFOp::create(b, loc, lhs, rhs);
  if (lhs.getType().isInteger(1))
    return arith::OrIOp::create(b, loc, lhs, rhs);
  return arith::AddIOp::create(b, loc, lhs, rhs);
}

Value mlir::sparse_opt::onnx::subScalars(OpBuilder &b, Location loc, Value lhs,
                                         Value rhs) {
  if (isa<FloatType>(lhs.getType()))
    return arith::SubFOp::create(b, loc, lhs, rhs);
  return arith::SubIOp::create(b, loc, lhs, rhs);
}

Value mlir::sparse_opt::onnx::mulScalars(OpBuilder &b, Location loc, Value lhs,
                                         Value rhs) {
  if (isa<FloatType>(lhs.getType()))
    return arith::MulFOp::create(b, loc, lhs, rhs);
  if (lhs.getType().isInteger(1))
    return arith::AndIOp::create(b, loc, lhs, rhs);
  return arith::MulIOp::create(b, loc, lhs, rhs);
}

Value mlir::sparse_opt::onnx::divScalars(OpBuilder &b, Location loc, Value lhs,
                                         Value rhs) {
  if (isa<FloatType>(lhs.getType()))
    return arith::DivFOp::create(b, loc, lhs, rhs);
  return arith::DivSIOp::create(b, loc, lhs, rhs);
}

Value mlir::sparse_opt::onnx::maxScalars(OpBuilder &b, Location loc, Value lhs,
                                         Value rhs) {
  if (isa<FloatType>(lhs.getType()))
    return arith::MaximumFOp::create(b, loc, lhs, rhs);
  if (lhs.getType().isInteger(1))
    return arith::OrIOp::create(b, loc, lhs, rhs);
  return arith::MaxSIOp::create(b, loc, lhs, rhs);
}

Value mlir::sparse_opt::onnx::minScalars(OpBuilder &b, Location loc, Value lhs,
                                         Value rhs) {
  if (isa<FloatType>(lhs.getType()))
    return arith::MinimumFOp::create(b, loc, lhs, rhs);
  if (lhs.getType().isInteger(1))
    return arith::AndIOp::create(b, loc, lhs, rhs);
  return arith::MinSIOp::create(b, loc, lhs, rhs);
}

Value mlir::sparse_opt::onnx::castScalar(OpBuilder &b, Location loc,
                                         Value value, Type to) {
  Type from = value.getType();
  if (from == to)
    return value;
  auto fromFloat = dyn_cast<FloatType>(from);
  auto toFloat = dyn_cast<FloatType>(to);
  if (fromFloat && toFloat) {
    if (fromFloat.getWidth() < toFloat.getWidth())
      return arith::ExtFOp::create(b, loc, to, value);
    return arith::TruncFOp::create(b, loc, to, value);
  }
  if (fromFloat) {
    if (to.isInteger(1))
      return arith::CmpFOp::create(b, loc, arith::CmpFPredicate::UNE, value,
                                   scalarConstant(b, loc, from, 0));
    return arith::FPToSIOp::create(b, loc, to, value);
  }
  if (toFloat) {
    if (from.isInteger(1))
      return arith::UIToFPOp::create(b, loc, to, value);
    return arith::SIToFPOp::create(b, loc, to, value);
  }
  if (to.isInteger(1))
    return arith::CmpIOp::create(b, loc, arith::CmpIPredicate::ne, value,
                                 scalarConstant(b, loc, from, 0));
  unsigned fromWidth = from.getIntOrFloatBitWidth();
  unsigned toWidth = to.getIntOrFloatBitWidth();
  if (fromWidth < toWidth)
    return from.isInteger(1) ? Value(arith::ExtUIOp::create(b, loc, to, value))
                             : Value(arith::ExtSIOp::create(b, loc, to, value));
  return arith::TruncIOp::create(b, loc, to, value);
}
