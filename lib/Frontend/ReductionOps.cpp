//===- ReductionOps.cpp - Reduce*, Softmax, LayerNormalization ------------===//
//
// Reductions are linalg.generic ops with reduction iterators
// (Builders.h: buildReduction). Softmax subtracts the row maximum before
// exponentiating, and LayerNormalization is decomposed into mean, variance
// and one elementwise op, all in the input's precision.
//
//===----------------------------------------------------------------------===//

#include "Builders.h"
#include "Converter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>

using namespace mlir;
using namespace mlir::sparse_opt::onnx;
using llvm::Twine;

namespace {

enum class Reduce { Sum, Mean, Max, Min, Prod, SumSquare, L1, L2, LogSumExp };

/// The reduced axes of a Reduce* node (sorted, non-negative), or nullopt
/// for "no reduction" (empty axes with noop_with_empty_axes).
FailureOr<std::optional<SmallVector<int64_t>>>
reductionAxes(NodeContext &ctx, Reduce kind) {
  int64_t rank = ctx.inputType(0).getRank();
  // ReduceSum took axes as an input from opset 13, the others from 18.
  int64_t inputSince = kind == Reduce::Sum ? 13 : 18;
  SmallVector<int64_t> axes;
  if (ctx.opset < inputSince) {
    axes = ctx.intsAttr("axes").value_or(SmallVector<int64_t>{});
  } else if (ctx.hasInput(1)) {
    FailureOr<SmallVector<int64_t>> input = ctx.constantInts(1, "axes");
    if (failed(input))
      return failure();
    axes = *input;
  }
  if (axes.empty()) {
    if (ctx.opset >= inputSince && ctx.intAttr("noop_with_empty_axes", 0))
      return std::optional<SmallVector<int64_t>>();
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  }
  SmallVector<int64_t> normalized;
  for (int64_t axis : axes) {
    FailureOr<int64_t> d = ctx.normalizeAxis(axis, rank);
    if (failed(d))
      return failure();
    if (!llvm::is_contained(normalized, *d))
      normalized.push_back(*d);
  }
  llvm::sort(normalized);
  return std::optional<SmallVector<int64_t>>(normalized);
}

LogicalResult convertReduce(NodeContext &ctx, Reduce kind) {
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  RankedTensorType type = ctx.inputType(0);
  Type elementType = type.getElementType();
  bool isFloat = isa<FloatType>(elementType);
  if (!isFloat && kind != Reduce::Sum && kind != Reduce::Max &&
      kind != Reduce::Min && kind != Reduce::Prod)
    return ctx.fail("this reduction needs float input");
  auto axes = reductionAxes(ctx, kind);
  if (failed(axes))
    return failure();
  bool keepDims = ctx.intAttr("keepdims", 1) != 0;
  Value input = ctx.input(0);
  if (!*axes) {
    // No reduction: the elementwise part only (SumSquare squares, ...).
    axes->emplace();
  }
  int64_t count = 1;
  for (int64_t axis : **axes)
    count *= type.getDimSize(axis);

  Value init;
  switch (kind) {
  case Reduce::Max: init = lowestValue(b, loc, elementType); break;
  case Reduce::Min: init = highestValue(b, loc, elementType); break;
  case Reduce::Prod: init = scalarConstant(b, loc, elementType, 1); break;
  default: init = scalarConstant(b, loc, elementType, 0); break;
  }
  Value maximum;
  if (kind == Reduce::LogSumExp) {
    // log(sum(exp(x - max))) + max, stable for large inputs.
    maximum = buildReduction(b, loc, input, **axes, /*keepDims=*/true,
                             lowestValue(b, loc, elementType),
                             [](OpBuilder &nb, Location nloc, ValueRange a) {
                               return maxScalars(nb, nloc, a[0], a[1]);
                             });
    input = buildElementwise(
        b, loc, {input, maximum}, type.getShape(), elementType,
        [](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
          return math::ExpOp::create(nb, nloc,
                                     arith::SubFOp::create(nb, nloc, a[0],
                                                           a[1]));
        });
  }
  Value result = buildReduction(
      b, loc, input, **axes, keepDims, init,
      [&](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
        Value x = a[0], acc = a[1];
        switch (kind) {
        case Reduce::Max: return maxScalars(nb, nloc, acc, x);
        case Reduce::Min: return minScalars(nb, nloc, acc, x);
        case Reduce::Prod: return mulScalars(nb, nloc, acc, x);
        case Reduce::SumSquare:
        case Reduce::L2:
          return addScalars(nb, nloc, acc, mulScalars(nb, nloc, x, x));
        case Reduce::L1:
          return addScalars(nb, nloc, acc, math::AbsFOp::create(nb, nloc, x));
        default: return addScalars(nb, nloc, acc, x);
        }
      });
  auto resultShape = cast<RankedTensorType>(result.getType()).getShape();
  if (kind == Reduce::Mean || kind == Reduce::L2 ||
      kind == Reduce::LogSumExp) {
    SmallVector<Value> operands = {result};
    if (kind == Reduce::LogSumExp)
      operands.push_back(
          keepDims ? maximum : reshapeTensor(b, loc, maximum, resultShape));
    result = buildElementwise(
        b, loc, operands, resultShape, elementType,
        [&](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
          if (kind == Reduce::Mean)
            return arith::DivFOp::create(
                nb, nloc, a[0], scalarConstant(nb, nloc, elementType, count));
          if (kind == Reduce::L2)
            return math::SqrtOp::create(nb, nloc, a[0]);
          return arith::AddFOp::create(nb, nloc,
                                       math::LogOp::create(nb, nloc, a[0]),
                                       a[1]);
        });
  }
  ctx.setOutput(0, result);
  return success();
}

/// softmax(x) along `axis` = exp(x - max) / sum(exp(x - max)); with `log`,
/// x - max - log(sum(exp(x - max))).
Value buildSoftmax(OpBuilder &b, Location loc, Value input, int64_t axis,
                   bool log) {
  auto type = cast<RankedTensorType>(input.getType());
  Type elementType = type.getElementType();
  Value maximum = buildReduction(
      b, loc, input, {axis}, /*keepDims=*/true, lowestValue(b, loc, elementType),
      [](OpBuilder &nb, Location nloc, ValueRange a) {
        return maxScalars(nb, nloc, a[1], a[0]);
      });
  Value shifted = buildElementwise(
      b, loc, {input, maximum}, type.getShape(), elementType,
      [](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
        return arith::SubFOp::create(nb, nloc, a[0], a[1]);
      });
  Value exponentials = buildElementwise(
      b, loc, shifted, type.getShape(), elementType,
      [](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
        return math::ExpOp::create(nb, nloc, a[0]);
      });
  Value sum = buildReduction(
      b, loc, exponentials, {axis}, /*keepDims=*/true,
      scalarConstant(b, loc, elementType, 0),
      [](OpBuilder &nb, Location nloc, ValueRange a) {
        return addScalars(nb, nloc, a[1], a[0]);
      });
  if (log)
    return buildElementwise(
        b, loc, {shifted, sum}, type.getShape(), elementType,
        [](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
          return arith::SubFOp::create(nb, nloc, a[0],
                                       math::LogOp::create(nb, nloc, a[1]));
        });
  return buildElementwise(
      b, loc, {exponentials, sum}, type.getShape(), elementType,
      [](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
        return arith::DivFOp::create(nb, nloc, a[0], a[1]);
      });
}

LogicalResult convertSoftmax(NodeContext &ctx, bool log) {
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  RankedTensorType type = ctx.inputType(0);
  if (!isa<FloatType>(type.getElementType()))
    return ctx.fail("input must be float");
  int64_t rank = type.getRank();
  // Before opset 13 the input was coerced to 2-D at `axis` (default 1).
  bool coerce = ctx.opset < 13;
  FailureOr<int64_t> axis =
      ctx.normalizeAxis(ctx.intAttr("axis", coerce ? 1 : -1), rank);
  if (failed(axis))
    return failure();
  Value input = ctx.input(0);
  if (coerce) {
    ArrayRef<int64_t> shape = type.getShape();
    Value matrix = reshapeTensor(
        b, loc, input,
        {product(shape.take_front(*axis)), product(shape.drop_front(*axis))});
    ctx.setOutput(0, reshapeTensor(b, loc, buildSoftmax(b, loc, matrix, 1, log),
                                   shape));
    return success();
  }
  ctx.setOutput(0, buildSoftmax(b, loc, input, *axis, log));
  return success();
}

LogicalResult convertLayerNormalization(NodeContext &ctx) {
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  RankedTensorType type = ctx.inputType(0);
  Type elementType = type.getElementType();
  if (!isa<FloatType>(elementType))
    return ctx.fail("input must be float");
  int64_t rank = type.getRank();
  FailureOr<int64_t> axis = ctx.normalizeAxis(ctx.intAttr("axis", -1), rank);
  if (failed(axis))
    return failure();
  double epsilon = ctx.floatAttr("epsilon", 1e-5f);
  SmallVector<int64_t> axes;
  int64_t count = 1;
  for (int64_t d = *axis; d < rank; ++d) {
    axes.push_back(d);
    count *= type.getDimSize(d);
  }
  ArrayRef<int64_t> shape = type.getShape();
  for (unsigned i : {1u, 2u})
    if (ctx.hasInput(i) &&
        failed(broadcastShapes({shape, ctx.inputShape(i)})))
      return ctx.fail("scale / bias do not broadcast to the input");
  Value x = ctx.input(0);
  auto sumOf = [&](Value value) {
    return buildReduction(b, loc, value, axes, /*keepDims=*/true,
                          scalarConstant(b, loc, elementType, 0),
                          [](OpBuilder &nb, Location nloc, ValueRange a) {
                            return addScalars(nb, nloc, a[1], a[0]);
                          });
  };
  auto scaleDown = [&](Value sum) {
    return buildElementwise(
        b, loc, sum, cast<RankedTensorType>(sum.getType()).getShape(),
        elementType, [&](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
          return arith::DivFOp::create(
              nb, nloc, a[0], scalarConstant(nb, nloc, elementType, count));
        });
  };
  Value mean = scaleDown(sumOf(x));
  Value centered = buildElementwise(
      b, loc, {x, mean}, shape, elementType,
      [](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
        return arith::SubFOp::create(nb, nloc, a[0], a[1]);
      });
  Value squares = buildElementwise(
      b, loc, centered, shape, elementType,
      [](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
        return arith::MulFOp::create(nb, nloc, a[0], a[0]);
      });
  Value variance = scaleDown(sumOf(squares));
  Value invStdDev = buildElementwise(
      b, loc, variance, cast<RankedTensorType>(variance.getType()).getShape(),
      elementType, [&](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
        // 1 / sqrt: math.rsqrt would become a call of rsqrtf, which libm
        // does not have.
        Value variancePlusEpsilon = arith::AddFOp::create(
            nb, nloc, a[0], scalarConstant(nb, nloc, elementType, epsilon));
        return arith::DivFOp::create(
            nb, nloc, scalarConstant(nb, nloc, elementType, 1.0),
            math::SqrtOp::create(nb, nloc, variancePlusEpsilon));
      });
  SmallVector<Value> operands = {centered, invStdDev};
  bool hasScale = ctx.hasInput(1), hasBias = ctx.hasInput(2);
  if (hasScale)
    operands.push_back(ctx.input(1));
  if (hasBias)
    operands.push_back(ctx.input(2));
  Value y = buildElementwise(
      b, loc, operands, shape, elementType,
      [&](OpBuilder &nb, Location nloc, ValueRange a) -> Value {
        Value result = arith::MulFOp::create(nb, nloc, a[0], a[1]);
        unsigned next = 2;
        if (hasScale)
          result = arith::MulFOp::create(nb, nloc, result, a[next++]);
        if (hasBias)
          result = arith::AddFOp::create(nb, nloc, result, a[next++]);
        return result;
      });
  ctx.setOutput(0, y);
  ctx.setOutput(1, mean);
  ctx.setOutput(2, invStdDev);
  return success();
}

} // namespace

void mlir::sparse_opt::onnx::registerReductionConverters(
    ConverterRegistry &registry) {
  std::pair<const char *, Reduce> reductions[] = {
      {"ReduceSum", Reduce::Sum},         {"ReduceMean", Reduce::Mean},
      {"ReduceMax", Reduce::Max},         {"ReduceMin", Reduce::Min},
      {"ReduceProd", Reduce::Prod},       {"ReduceSumSquare", Reduce::SumSquare},
      {"ReduceL1", Reduce::L1},           {"ReduceL2", Reduce::L2},
      {"ReduceLogSumExp", Reduce::LogSumExp}};
  for (auto [name, kind] : reductions)
    registry.add(name, [kind = kind](NodeContext &ctx) {
      return convertReduce(ctx, kind);
    });
  registry.add("Softmax",
               [](NodeContext &ctx) { return convertSoftmax(ctx, false); });
  registry.add("LogSoftmax",
               [](NodeContext &ctx) { return convertSoftmax(ctx, true); });
  registry.add("LayerNormalization", convertLayerNormalization, 2);
}
