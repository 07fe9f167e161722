//===- ElementwiseOps.cpp - Unary, binary and variadic elementwise ops ----===//
//
// Every elementwise op becomes one linalg.generic whose indexing maps
// implement numpy broadcasting (Builders.h). When all inputs are known at
// import time (shape arithmetic, small constants) the op is evaluated here
// instead, so no IR is emitted for it.
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

/// Import-time evaluation of one element: floats for float inputs, ints for
/// integer / bool inputs. Either may be missing (the op is then never folded
/// for that kind of input).
struct ScalarEvaluator {
  std::function<double(ArrayRef<double>)> onFloats;
  std::function<int64_t(ArrayRef<int64_t>)> onInts;
};

std::string shapeText(ArrayRef<int64_t> shape) {
  std::string text;
  for (auto [i, size] : llvm::enumerate(shape))
    text += (i ? "x" : "") + std::to_string(size);
  return shape.empty() ? "scalar" : text;
}

/// The linear index into a tensor of `inputShape` (right-aligned, size-1
/// dimensions broadcast) of output element `linear` of `outputShape`.
int64_t broadcastSourceIndex(ArrayRef<int64_t> outputShape,
                             ArrayRef<int64_t> inputShape, int64_t linear) {
  int64_t index = 0, stride = 1;
  size_t offset = outputShape.size() - inputShape.size();
  for (int64_t d = int64_t(outputShape.size()) - 1; d >= 0; --d) {
    int64_t coordinate = linear % outputShape[d];
    linear /= outputShape[d];
    if (d < int64_t(offset))
      continue;
    int64_t size = inputShape[d - offset];
    index += (size == 1 ? 0 : coordinate) * stride;
    stride *= size;
  }
  return index;
}

/// Converts an elementwise node over `inputs` (indices of node inputs).
/// `resultElementType` null means "the first input's element type".
LogicalResult convertElementwise(NodeContext &ctx, ArrayRef<unsigned> inputs,
                                 Type resultElementType,
                                 const ScalarBody &body,
                                 const ScalarEvaluator &evaluator) {
  SmallVector<ArrayRef<int64_t>> shapes;
  for (unsigned i : inputs)
    shapes.push_back(ctx.inputShape(i));
  FailureOr<SmallVector<int64_t>> shape = broadcastShapes(shapes);
  if (failed(shape)) {
    std::string text;
    for (auto [n, s] : llvm::enumerate(shapes))
      text += (n ? " and " : "") + shapeText(s);
    return ctx.fail("input shapes " + text +
                    " do not broadcast (inconsistent shapes)");
  }
  if (!resultElementType)
    resultElementType = ctx.inputType(inputs.front()).getElementType();

  // Fold when every input is known and the result is small.
  bool allKnown = product(*shape) <= kMaxKnownElements;
  SmallVector<const KnownValue *> knownInputs;
  for (unsigned i : inputs) {
    const KnownValue *value = allKnown ? ctx.known(i) : nullptr;
    allKnown &= value != nullptr;
    knownInputs.push_back(value);
  }
  bool floatInputs = isa<FloatType>(ctx.inputType(inputs.front())
                                        .getElementType());
  if (allKnown && (floatInputs ? bool(evaluator.onFloats)
                               : bool(evaluator.onInts))) {
    KnownValue result =
        KnownValue::zeros(RankedTensorType::get(*shape, resultElementType));
    SmallVector<double> floatArgs(inputs.size());
    SmallVector<int64_t> intArgs(inputs.size());
    for (int64_t e = 0, n = result.numElements(); e < n; ++e) {
      for (auto [k, value] : llvm::enumerate(knownInputs)) {
        int64_t source = broadcastSourceIndex(*shape, value->shape, e);
        floatArgs[k] = value->asDouble(source);
        intArgs[k] = value->isFloat() ? int64_t(value->floats[source])
                                      : value->ints[source];
      }
      if (floatInputs)
        result.set(e, evaluator.onFloats(floatArgs));
      else
        result.setInt(e, evaluator.onInts(intArgs));
    }
    ctx.setKnownOutput(0, std::move(result));
    return success();
  }

  SmallVector<Value> operands;
  for (unsigned i : inputs)
    operands.push_back(ctx.input(i));
  ctx.setOutput(0, buildElementwise(ctx.b, ctx.loc, operands, *shape,
                                    resultElementType, body));
  return success();
}

LogicalResult requireFloat(NodeContext &ctx, unsigned input) {
  if (isa<FloatType>(ctx.inputType(input).getElementType()))
    return success();
  std::string text;
  llvm::raw_string_ostream os(text);
  os << ctx.inputType(input).getElementType();
  return ctx.fail("input " + Twine(input) + " has element type " + text +
                  " (expected float or double)");
}

//===----------------------------------------------------------------------===//
// Unary ops
//===----------------------------------------------------------------------===//

/// A unary op defined on floats only: `build` makes the scalar body from the
/// node (for attributes) and `evaluate` folds it.
using UnaryFloatBuilder =
    std::function<Value(NodeContext &, OpBuilder &, Location, Value)>;
using UnaryFloatEvaluator = std::function<double(NodeContext &, double)>;

ConverterFn unaryFloat(UnaryFloatBuilder build, UnaryFloatEvaluator evaluate) {
  return [build, evaluate](NodeContext &ctx) -> LogicalResult {
    if (failed(requireFloat(ctx, 0)))
      return failure();
    ScalarEvaluator evaluator;
    evaluator.onFloats = [&](ArrayRef<double> x) {
      return evaluate(ctx, x[0]);
    };
    return convertElementwise(
        ctx, {0}, nullptr,
        [&](OpBuilder &b, Location loc, ValueRange args) {
          return build(ctx, b, loc, args[0]);
        },
        evaluator);
  };
}

Value floatConst(OpBuilder &b, Location loc, Value like, double value) {
  return scalarConstant(b, loc, like.getType(), value);
}

Value sigmoid(OpBuilder &b, Location loc, Value x) {
  Value one = floatConst(b, loc, x, 1.0);
  Value negated = arith::NegFOp::create(b, loc, x);
  Value exp = math::ExpOp::create(b, loc, negated);
  return arith::DivFOp::create(b, loc, one,
                               arith::AddFOp::create(b, loc, one, exp));
}

double sigmoidOf(double x) { return 1.0 / (1.0 + std::exp(-x)); }

/// x < 0 ? negative : x
Value selectNegative(OpBuilder &b, Location loc, Value x, Value negative) {
  Value isNegative = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT,
                                           x, floatConst(b, loc, x, 0.0));
  return arith::SelectOp::create(b, loc, isNegative, negative, x);
}

Value hardSigmoid(OpBuilder &b, Location loc, Value x, double alpha,
                  double beta) {
  Value linear = arith::AddFOp::create(
      b, loc, arith::MulFOp::create(b, loc, x, floatConst(b, loc, x, alpha)),
      floatConst(b, loc, x, beta));
  Value clamped = arith::MinimumFOp::create(b, loc, linear,
                                            floatConst(b, loc, x, 1.0));
  return arith::MaximumFOp::create(b, loc, clamped,
                                   floatConst(b, loc, x, 0.0));
}

double hardSigmoidOf(double x, double alpha, double beta) {
  return std::max(0.0, std::min(1.0, alpha * x + beta));
}

Value gelu(OpBuilder &b, Location loc, Value x, bool tanhApproximation) {
  Value half = floatConst(b, loc, x, 0.5);
  Value one = floatConst(b, loc, x, 1.0);
  Value inner;
  if (tanhApproximation) {
    // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
    Value cube = arith::MulFOp::create(b, loc, x,
                                       arith::MulFOp::create(b, loc, x, x));
    Value sum = arith::AddFOp::create(
        b, loc, x,
        arith::MulFOp::create(b, loc, cube, floatConst(b, loc, x, 0.044715)));
    inner = math::TanhOp::create(
        b, loc,
        arith::MulFOp::create(b, loc, sum,
                              floatConst(b, loc, x, std::sqrt(2.0 / M_PI))));
  } else {
    // 0.5 x (1 + erf(x / sqrt(2)))
    inner = math::ErfOp::create(
        b, loc,
        arith::MulFOp::create(b, loc, x, floatConst(b, loc, x, M_SQRT1_2)));
  }
  return arith::MulFOp::create(
      b, loc, arith::MulFOp::create(b, loc, half, x),
      arith::AddFOp::create(b, loc, one, inner));
}

double geluOf(double x, bool tanhApproximation) {
  if (tanhApproximation)
    return 0.5 * x *
           (1 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
  return 0.5 * x * (1 + std::erf(x * M_SQRT1_2));
}

template <typename MathOp>
ConverterFn mathUnary(double (*evaluate)(double)) {
  return unaryFloat(
      [](NodeContext &, OpBuilder &b, Location loc, Value x) -> Value {
        return MathOp::create(b, loc, x);
      },
      [evaluate](NodeContext &, double x) { return evaluate(x); });
}

/// Relu, Abs, Neg, Sign: defined for integers too.
LogicalResult convertSignedUnary(NodeContext &ctx, StringRef op) {
  ScalarEvaluator evaluator;
  evaluator.onFloats = [op](ArrayRef<double> x) -> double {
    if (op == "Relu") return std::max(x[0], 0.0);
    if (op == "Abs") return std::fabs(x[0]);
    if (op == "Neg") return -x[0];
    return double((x[0] > 0) - (x[0] < 0));
  };
  evaluator.onInts = [op](ArrayRef<int64_t> x) -> int64_t {
    if (op == "Relu") return std::max<int64_t>(x[0], 0);
    if (op == "Abs") return x[0] < 0 ? -x[0] : x[0];
    if (op == "Neg") return -x[0];
    return (x[0] > 0) - (x[0] < 0);
  };
  return convertElementwise(
      ctx, {0}, nullptr,
      [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
        Value x = args[0];
        Type type = x.getType();
        Value zero = scalarConstant(b, loc, type, 0);
        bool isFloat = isa<FloatType>(type);
        if (op == "Relu")
          return maxScalars(b, loc, x, zero);
        if (op == "Neg")
          return isFloat ? Value(arith::NegFOp::create(b, loc, x))
                         : subScalars(b, loc, zero, x);
        if (op == "Abs")
          return isFloat ? Value(math::AbsFOp::create(b, loc, x))
                         : Value(math::AbsIOp::create(b, loc, x));
        // Sign: (x > 0) - (x < 0)
        Value one = scalarConstant(b, loc, type, 1);
        Value minusOne = scalarConstant(b, loc, type, -1);
        Value positive, negative;
        if (isFloat) {
          positive = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OGT,
                                           x, zero);
          negative = arith::CmpFOp::create(b, loc, arith::CmpFPredicate::OLT,
                                           x, zero);
        } else {
          positive = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::sgt,
                                           x, zero);
          negative = arith::CmpIOp::create(b, loc, arith::CmpIPredicate::slt,
                                           x, zero);
        }
        Value sign = arith::SelectOp::create(b, loc, negative, minusOne, zero);
        return arith::SelectOp::create(b, loc, positive, one, sign);
      },
      evaluator);
}

//===----------------------------------------------------------------------===//
// Binary and variadic ops
//===----------------------------------------------------------------------===//

enum class Arithmetic { Add, Sub, Mul, Div, Max, Min };

Value applyArithmetic(Arithmetic kind, OpBuilder &b, Location loc, Value lhs,
                      Value rhs) {
  switch (kind) {
  case Arithmetic::Add: return addScalars(b, loc, lhs, rhs);
  case Arithmetic::Sub: return subScalars(b, loc, lhs, rhs);
  case Arithmetic::Mul: return mulScalars(b, loc, lhs, rhs);
  case Arithmetic::Div: return divScalars(b, loc, lhs, rhs);
  case Arithmetic::Max: return maxScalars(b, loc, lhs, rhs);
  case Arithmetic::Min: return minScalars(b, loc, lhs, rhs);
  }
  llvm_unreachable("unknown arithmetic");
}

template <typename T>
T evaluateArithmetic(Arithmetic kind, T lhs, T rhs) {
  switch (kind) {
  case Arithmetic::Add: return lhs + rhs;
  case Arithmetic::Sub: return lhs - rhs;
  case Arithmetic::Mul: return lhs * rhs;
  case Arithmetic::Div: return rhs == 0 && !std::is_floating_point_v<T>
                                   ? T(0)
                                   : lhs / rhs;
  case Arithmetic::Max: return std::max(lhs, rhs);
  case Arithmetic::Min: return std::min(lhs, rhs);
  }
  llvm_unreachable("unknown arithmetic");
}

LogicalResult checkSameElementTypes(NodeContext &ctx,
                                    ArrayRef<unsigned> inputs) {
  Type first = ctx.inputType(inputs.front()).getElementType();
  for (unsigned i : inputs.drop_front())
    if (ctx.inputType(i).getElementType() != first)
      return ctx.fail("inputs have different element types (expected the "
                      "same type, as ONNX requires)");
  return success();
}

SmallVector<unsigned> presentInputs(NodeContext &ctx) {
  SmallVector<unsigned> inputs;
  for (unsigned i = 0; i < ctx.numInputs(); ++i)
    if (ctx.hasInput(i))
      inputs.push_back(i);
  return inputs;
}

/// Add / Sub / Mul / Div (two inputs), Max / Min / Sum (variadic), folded
/// left to right.
ConverterFn arithmeticOp(Arithmetic kind) {
  return [kind](NodeContext &ctx) -> LogicalResult {
    SmallVector<unsigned> inputs = presentInputs(ctx);
    if (inputs.empty())
      return ctx.fail("expected at least one input");
    if (failed(checkSameElementTypes(ctx, inputs)))
      return failure();
    ScalarEvaluator evaluator;
    evaluator.onFloats = [kind](ArrayRef<double> x) {
      double result = x[0];
      for (double value : x.drop_front())
        result = evaluateArithmetic(kind, result, value);
      return result;
    };
    evaluator.onInts = [kind](ArrayRef<int64_t> x) {
      int64_t result = x[0];
      for (int64_t value : x.drop_front())
        result = evaluateArithmetic(kind, result, value);
      return result;
    };
    return convertElementwise(
        ctx, inputs, nullptr,
        [&](OpBuilder &b, Location loc, ValueRange args) {
          Value result = args[0];
          for (Value value : args.drop_front())
            result = applyArithmetic(kind, b, loc, result, value);
          return result;
        },
        evaluator);
  };
}

LogicalResult convertMean(NodeContext &ctx) {
  SmallVector<unsigned> inputs = presentInputs(ctx);
  if (inputs.empty() || failed(checkSameElementTypes(ctx, inputs)) ||
      failed(requireFloat(ctx, 0)))
    return failure();
  double count = inputs.size();
  ScalarEvaluator evaluator;
  evaluator.onFloats = [count](ArrayRef<double> x) {
    double sum = 0;
    for (double value : x)
      sum += value;
    return sum / count;
  };
  return convertElementwise(
      ctx, inputs, nullptr,
      [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
        Value sum = args[0];
        for (Value value : args.drop_front())
          sum = arith::AddFOp::create(b, loc, sum, value);
        return arith::DivFOp::create(b, loc, sum,
                                     floatConst(b, loc, sum, count));
      },
      evaluator);
}

LogicalResult convertPow(NodeContext &ctx) {
  Type baseType = ctx.inputType(0).getElementType();
  Type exponentType = ctx.inputType(1).getElementType();
  if (baseType.isInteger(1) || exponentType.isInteger(1))
    return ctx.fail("bool operands are not supported");
  bool integerBase = isa<IntegerType>(baseType);
  // x^2 (decomposed LayerNorm's variance) is exact as a multiply.
  const KnownValue *exponent = ctx.known(1);
  bool square = exponent && exponent->numElements() == 1 &&
                exponent->asDouble(0) == 2.0;
  ScalarEvaluator evaluator;
  evaluator.onFloats = [](ArrayRef<double> x) { return std::pow(x[0], x[1]); };
  if (isa<IntegerType>(exponentType))
    evaluator.onInts = [](ArrayRef<int64_t> x) {
      return int64_t(std::pow(double(x[0]), double(x[1])));
    };
  return convertElementwise(
      ctx, {0, 1}, nullptr,
      [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
        Value base = args[0];
        if (square)
          return mulScalars(b, loc, base, base);
        if (!integerBase) {
          Value power = castScalar(b, loc, args[1], base.getType());
          return math::PowFOp::create(b, loc, base, power);
        }
        // Integer bases go through double (exact while the result fits
        // 53 bits) and truncate back, as ONNX's reference does.
        Type f64 = b.getF64Type();
        Value result = math::PowFOp::create(b, loc, castScalar(b, loc, base, f64),
                                            castScalar(b, loc, args[1], f64));
        return castScalar(b, loc, result, baseType);
      },
      evaluator);
}

enum class Comparison { Equal, Less, LessOrEqual, Greater, GreaterOrEqual };

ConverterFn comparisonOp(Comparison kind) {
  return [kind](NodeContext &ctx) -> LogicalResult {
    if (failed(checkSameElementTypes(ctx, {0, 1})))
      return failure();
    auto compare = [kind](auto lhs, auto rhs) -> int64_t {
      switch (kind) {
      case Comparison::Equal: return lhs == rhs;
      case Comparison::Less: return lhs < rhs;
      case Comparison::LessOrEqual: return lhs <= rhs;
      case Comparison::Greater: return lhs > rhs;
      case Comparison::GreaterOrEqual: return lhs >= rhs;
      }
      return 0;
    };
    ScalarEvaluator evaluator;
    evaluator.onFloats = [compare](ArrayRef<double> x) {
      return double(compare(x[0], x[1]));
    };
    evaluator.onInts = [compare](ArrayRef<int64_t> x) {
      return compare(x[0], x[1]);
    };
    return convertElementwise(
        ctx, {0, 1}, ctx.b.getI1Type(),
        [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
          if (isa<FloatType>(args[0].getType())) {
            arith::CmpFPredicate predicate[] = {
                arith::CmpFPredicate::OEQ, arith::CmpFPredicate::OLT,
                arith::CmpFPredicate::OLE, arith::CmpFPredicate::OGT,
                arith::CmpFPredicate::OGE};
            return arith::CmpFOp::create(b, loc, predicate[int(kind)],
                                         args[0], args[1]);
          }
          bool isBool = args[0].getType().isInteger(1);
          arith::CmpIPredicate predicate[] = {
              arith::CmpIPredicate::eq,
              isBool ? arith::CmpIPredicate::ult : arith::CmpIPredicate::slt,
              isBool ? arith::CmpIPredicate::ule : arith::CmpIPredicate::sle,
              isBool ? arith::CmpIPredicate::ugt : arith::CmpIPredicate::sgt,
              isBool ? arith::CmpIPredicate::uge : arith::CmpIPredicate::sge};
          return arith::CmpIOp::create(b, loc, predicate[int(kind)], args[0],
                                       args[1]);
        },
        evaluator);
  };
}

enum class Logical { And, Or, Xor };

ConverterFn logicalOp(Logical kind) {
  return [kind](NodeContext &ctx) -> LogicalResult {
    if (!ctx.inputType(0).getElementType().isInteger(1) ||
        !ctx.inputType(1).getElementType().isInteger(1))
      return ctx.fail("expected bool inputs");
    ScalarEvaluator evaluator;
    evaluator.onInts = [kind](ArrayRef<int64_t> x) -> int64_t {
      switch (kind) {
      case Logical::And: return x[0] && x[1];
      case Logical::Or: return x[0] || x[1];
      case Logical::Xor: return bool(x[0]) != bool(x[1]);
      }
      return 0;
    };
    return convertElementwise(
        ctx, {0, 1}, nullptr,
        [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
          switch (kind) {
          case Logical::And: return arith::AndIOp::create(b, loc, args[0],
                                                          args[1]);
          case Logical::Or: return arith::OrIOp::create(b, loc, args[0],
                                                        args[1]);
          case Logical::Xor: return arith::XOrIOp::create(b, loc, args[0],
                                                          args[1]);
          }
          return Value();
        },
        evaluator);
  };
}

LogicalResult convertNot(NodeContext &ctx) {
  if (!ctx.inputType(0).getElementType().isInteger(1))
    return ctx.fail("expected a bool input");
  ScalarEvaluator evaluator;
  evaluator.onInts = [](ArrayRef<int64_t> x) -> int64_t { return !x[0]; };
  return convertElementwise(
      ctx, {0}, nullptr,
      [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
        return arith::XOrIOp::create(b, loc, args[0],
                                     scalarConstant(b, loc, args[0].getType(),
                                                    1));
      },
      evaluator);
}

LogicalResult convertWhere(NodeContext &ctx) {
  if (!ctx.inputType(0).getElementType().isInteger(1))
    return ctx.fail("condition (input 0) must be bool");
  if (failed(checkSameElementTypes(ctx, {1, 2})))
    return failure();
  Type elementType = ctx.inputType(1).getElementType();
  // Fold when all three are known. (convertElementwise's evaluators see the
  // kind of input 0, the bool condition, so Where folds here.)
  const KnownValue *cond = ctx.known(0), *x = ctx.known(1), *y = ctx.known(2);
  if (cond && x && y) {
    auto shape = broadcastShapes({cond->shape, x->shape, y->shape});
    if (succeeded(shape) && product(*shape) <= kMaxKnownElements) {
      KnownValue result =
          KnownValue::zeros(RankedTensorType::get(*shape, elementType));
      for (int64_t e = 0, n = result.numElements(); e < n; ++e) {
        bool c = cond->ints[broadcastSourceIndex(*shape, cond->shape, e)];
        const KnownValue *from = c ? x : y;
        int64_t source = broadcastSourceIndex(*shape, from->shape, e);
        if (result.isFloat())
          result.floats[e] = from->floats[source];
        else
          result.ints[e] = from->ints[source];
      }
      ctx.setKnownOutput(0, std::move(result));
      return success();
    }
  }
  return convertElementwise(
      ctx, {0, 1, 2}, elementType,
      [](OpBuilder &b, Location loc, ValueRange args) -> Value {
        return arith::SelectOp::create(b, loc, args[0], args[1], args[2]);
      },
      /*evaluator=*/{});
}

LogicalResult convertClip(NodeContext &ctx) {
  Type elementType = ctx.inputType(0).getElementType();
  // Bounds: attributes before opset 11, optional scalar inputs since.
  std::optional<double> low, high;
  SmallVector<unsigned> inputs = {0};
  std::optional<unsigned> lowInput, highInput;
  if (ctx.opset < 11) {
    low = ctx.floatAttr("min", -std::numeric_limits<float>::max());
    high = ctx.floatAttr("max", std::numeric_limits<float>::max());
  } else {
    for (unsigned i : {1u, 2u}) {
      if (!ctx.hasInput(i))
        continue;
      if (ctx.inputType(i).getNumElements() != 1)
        return ctx.fail("bound (input " + Twine(i) + ") must be a scalar");
      if (const KnownValue *bound = ctx.known(i)) {
        (i == 1 ? low : high) = bound->asDouble(0);
        continue;
      }
      // A computed bound: broadcast it as a rank-0 operand.
      (i == 1 ? lowInput : highInput) = inputs.size();
      inputs.push_back(i);
    }
  }
  ScalarEvaluator evaluator;
  evaluator.onFloats = [&](ArrayRef<double> x) {
    double value = x[0];
    if (low) value = std::max(value, *low);
    if (high) value = std::min(value, *high);
    return value;
  };
  evaluator.onInts = [&](ArrayRef<int64_t> x) {
    int64_t value = x[0];
    if (low) value = std::max(value, int64_t(*low));
    if (high) value = std::min(value, int64_t(*high));
    return value;
  };
  if (inputs.size() > 1) {
    // Computed bounds are reshaped to rank 0 so they broadcast.
    evaluator = {};
  }
  auto body = [&](OpBuilder &b, Location loc, ValueRange args) -> Value {
    Value value = args[0];
    Value lowValue = lowInput ? args[*lowInput]
                     : low    ? scalarConstant(b, loc, elementType, *low)
                              : Value();
    Value highValue = highInput ? args[*highInput]
                      : high    ? scalarConstant(b, loc, elementType, *high)
                                : Value();
    // maximumf / minimumf propagate NaN, as Clip does.
    if (lowValue)
      value = maxScalars(b, loc, value, lowValue);
    if (highValue)
      value = minScalars(b, loc, value, highValue);
    return value;
  };
  return convertElementwise(ctx, inputs, nullptr, body, evaluator);
}

LogicalResult castTo(NodeContext &ctx, Type target) {
  ScalarEvaluator evaluator;
  bool toFloat = isa<FloatType>(target);
  bool toBool = target.isInteger(1);
  evaluator.onFloats = [&](ArrayRef<double> x) -> double {
    if (toBool) return x[0] != 0;
    return toFloat ? x[0] : std::trunc(x[0]);
  };
  evaluator.onInts = [](ArrayRef<int64_t> x) { return x[0]; };
  // Integer -> float folds through onInts and KnownValue::setInt.
  return convertElementwise(
      ctx, {0}, target,
      [&](OpBuilder &b, Location loc, ValueRange args) {
        return castScalar(b, loc, args[0], target);
      },
      evaluator);
}

LogicalResult convertCast(NodeContext &ctx) {
  int64_t to = ctx.intAttr("to", 0);
  Type target = elementTypeFor(ctx.b.getContext(), DataType(to));
  if (!target)
    return ctx.fail("cast to " + dataTypeName(DataType(to)) +
                    " is not supported (expected float, double, int64, "
                    "int32, int16, int8 or bool)");
  return castTo(ctx, target);
}

LogicalResult convertCastLike(NodeContext &ctx) {
  return castTo(ctx, ctx.inputType(1).getElementType());
}

LogicalResult convertIdentity(NodeContext &ctx) {
  if (const KnownValue *value = ctx.known(0)) {
    ctx.setKnownOutput(0, *value);
    return success();
  }
  ctx.setOutput(0, ctx.input(0));
  return success();
}

/// Dropout at inference is the identity; its optional mask is all true.
/// Training mode (opset 12+: a true `training_mode` input) drops at random
/// unless the ratio is 0, so it is refused rather than computed as
/// inference.
LogicalResult convertDropout(NodeContext &ctx) {
  if (ctx.hasInput(2)) {
    const KnownValue *training = ctx.known(2);
    if (!training)
      return ctx.fail("training_mode must be a constant (this compiler "
                      "imports models for inference)");
    bool trains = llvm::any_of(training->ints, [](int64_t v) { return v; });
    const KnownValue *ratio = ctx.hasInput(1) ? ctx.known(1) : nullptr;
    // ONNX's default ratio is 0.5; only a known ratio of 0 drops nothing.
    bool dropsNothing = ratio && ratio->numElements() == 1 &&
                        ratio->asDouble(0) == 0.0;
    if (trains && !dropsNothing)
      return ctx.fail("Dropout in training mode (training_mode = true, "
                      "ratio not 0) is not supported: this compiler imports "
                      "models for inference");
  }
  if (failed(convertIdentity(ctx)))
    return failure();
  if (ctx.hasOutput(1)) {
    KnownValue mask = KnownValue::zeros(RankedTensorType::get(
        ctx.inputShape(0), ctx.b.getI1Type()));
    if (mask.numElements() > kMaxKnownElements)
      return ctx.fail("the mask output of a large Dropout is not supported");
    std::fill(mask.ints.begin(), mask.ints.end(), 1);
    ctx.setKnownOutput(1, std::move(mask));
  }
  return success();
}

LogicalResult convertPRelu(NodeContext &ctx) {
  if (failed(requireFloat(ctx, 0)) || failed(checkSameElementTypes(ctx, {0, 1})))
    return failure();
  ScalarEvaluator evaluator;
  evaluator.onFloats = [](ArrayRef<double> x) {
    return x[0] < 0 ? x[0] * x[1] : x[0];
  };
  return convertElementwise(
      ctx, {0, 1}, nullptr,
      [](OpBuilder &b, Location loc, ValueRange args) {
        return selectNegative(b, loc, args[0],
                              arith::MulFOp::create(b, loc, args[0], args[1]));
      },
      evaluator);
}

} // namespace

void mlir::sparse_opt::onnx::registerElementwiseConverters(
    ConverterRegistry &registry) {
  registry.add("Add", arithmeticOp(Arithmetic::Add), 2);
  registry.add("Sub", arithmeticOp(Arithmetic::Sub), 2);
  registry.add("Mul", arithmeticOp(Arithmetic::Mul), 2);
  registry.add("Div", arithmeticOp(Arithmetic::Div), 2);
  registry.add("Max", arithmeticOp(Arithmetic::Max));
  registry.add("Min", arithmeticOp(Arithmetic::Min));
  registry.add("Sum", arithmeticOp(Arithmetic::Add));
  registry.add("Mean", convertMean);
  registry.add("Pow", convertPow, 2);
  registry.add("Equal", comparisonOp(Comparison::Equal), 2);
  registry.add("Less", comparisonOp(Comparison::Less), 2);
  registry.add("LessOrEqual", comparisonOp(Comparison::LessOrEqual), 2);
  registry.add("Greater", comparisonOp(Comparison::Greater), 2);
  registry.add("GreaterOrEqual", comparisonOp(Comparison::GreaterOrEqual), 2);
  registry.add("And", logicalOp(Logical::And), 2);
  registry.add("Or", logicalOp(Logical::Or), 2);
  registry.add("Xor", logicalOp(Logical::Xor), 2);
  registry.add("Not", convertNot);
  registry.add("Where", convertWhere, 3);
  registry.add("Clip", convertClip);
  registry.add("Cast", convertCast);
  registry.add("CastLike", convertCastLike, 2);
  registry.add("Identity", convertIdentity);
  registry.add("Dropout", convertDropout);
  registry.add("PRelu", convertPRelu, 2);
  for (StringRef op : {"Relu", "Abs", "Neg", "Sign"})
    registry.add(op, [op](NodeContext &ctx) {
      return convertSignedUnary(ctx, op);
    });

  registry.add("Exp", mathUnary<math::ExpOp>(+[](double x) {
                 return std::exp(x);
               }));
  registry.add("Log", mathUnary<math::LogOp>(+[](double x) {
                 return std::log(x);
               }));
  registry.add("Sqrt", mathUnary<math::SqrtOp>(+[](double x) {
                 return std::sqrt(x);
               }));
  registry.add("Tanh", mathUnary<math::TanhOp>(+[](double x) {
                 return std::tanh(x);
               }));
  registry.add("Erf", mathUnary<math::ErfOp>(+[](double x) {
                 return std::erf(x);
               }));
  registry.add("Floor", mathUnary<math::FloorOp>(+[](double x) {
                 return std::floor(x);
               }));
  registry.add("Ceil", mathUnary<math::CeilOp>(+[](double x) {
                 return std::ceil(x);
               }));
  registry.add("Round", mathUnary<math::RoundEvenOp>(+[](double x) {
                 return std::nearbyint(x);
               }));
  registry.add("Sin", mathUnary<math::SinOp>(+[](double x) {
                 return std::sin(x);
               }));
  registry.add("Cos", mathUnary<math::CosOp>(+[](double x) {
                 return std::cos(x);
               }));
  registry.add("Reciprocal",
               unaryFloat(
                   [](NodeContext &, OpBuilder &b, Location loc, Value x) {
                     return arith::DivFOp::create(b, loc,
                                                  floatConst(b, loc, x, 1.0),
                                                  x);
                   },
                   [](NodeContext &, double x) { return 1.0 / x; }));
  registry.add("Sigmoid",
               unaryFloat([](NodeContext &, OpBuilder &b, Location loc,
                             Value x) { return sigmoid(b, loc, x); },
                          [](NodeContext &, double x) { return sigmoidOf(x); }));
  registry.add(
      "Softplus",
      unaryFloat(
          [](NodeContext &, OpBuilder &b, Location loc, Value x) -> Value {
            return math::Log1pOp::create(b, loc,
                                         math::ExpOp::create(b, loc, x));
          },
          [](NodeContext &, double x) { return std::log1p(std::exp(x)); }));
  registry.add(
      "Softsign",
      unaryFloat(
          [](NodeContext &, OpBuilder &b, Location loc, Value x) -> Value {
            Value denominator = arith::AddFOp::create(
                b, loc, floatConst(b, loc, x, 1.0),
                math::AbsFOp::create(b, loc, x));
            return arith::DivFOp::create(b, loc, x, denominator);
          },
          [](NodeContext &, double x) { return x / (1 + std::fabs(x)); }));
  registry.add(
      "LeakyRelu",
      unaryFloat(
          [](NodeContext &ctx, OpBuilder &b, Location loc, Value x) {
            Value alpha = floatConst(b, loc, x, ctx.floatAttr("alpha", 0.01f));
            return selectNegative(b, loc, x,
                                  arith::MulFOp::create(b, loc, x, alpha));
          },
          [](NodeContext &ctx, double x) {
            return x < 0 ? x * ctx.floatAttr("alpha", 0.01f) : x;
          }));
  registry.add(
      "Elu",
      unaryFloat(
          [](NodeContext &ctx, OpBuilder &b, Location loc, Value x) {
            Value alpha = floatConst(b, loc, x, ctx.floatAttr("alpha", 1.0f));
            Value expm1 = math::ExpM1Op::create(b, loc, x);
            return selectNegative(b, loc, x,
                                  arith::MulFOp::create(b, loc, alpha, expm1));
          },
          [](NodeContext &ctx, double x) {
            return x < 0 ? ctx.floatAttr("alpha", 1.0f) * std::expm1(x) : x;
          }));
  registry.add(
      "Selu",
      unaryFloat(
          [](NodeContext &ctx, OpBuilder &b, Location loc, Value x) -> Value {
            double alpha = ctx.floatAttr("alpha", 1.67326319217681884765625f);
            double gamma = ctx.floatAttr("gamma", 1.05070102214813232421875f);
            Value negative = arith::MulFOp::create(
                b, loc, floatConst(b, loc, x, alpha),
                math::ExpM1Op::create(b, loc, x));
            return arith::MulFOp::create(b, loc, floatConst(b, loc, x, gamma),
                                         selectNegative(b, loc, x, negative));
          },
          [](NodeContext &ctx, double x) {
            double alpha = ctx.floatAttr("alpha", 1.67326319217681884765625f);
            double gamma = ctx.floatAttr("gamma", 1.05070102214813232421875f);
            return gamma * (x < 0 ? alpha * std::expm1(x) : x);
          }));
  registry.add(
      "HardSigmoid",
      unaryFloat(
          [](NodeContext &ctx, OpBuilder &b, Location loc, Value x) {
            return hardSigmoid(b, loc, x, ctx.floatAttr("alpha", 0.2f),
                               ctx.floatAttr("beta", 0.5f));
          },
          [](NodeContext &ctx, double x) {
            return hardSigmoidOf(x, ctx.floatAttr("alpha", 0.2f),
                                 ctx.floatAttr("beta", 0.5f));
          }));
  registry.add(
      "HardSwish",
      unaryFloat(
          [](NodeContext &, OpBuilder &b, Location loc, Value x) -> Value {
            return arith::MulFOp::create(b, loc, x,
                                         hardSigmoid(b, loc, x, 1.0 / 6, 0.5));
          },
          [](NodeContext &, double x) {
            return x * hardSigmoidOf(x, 1.0 / 6, 0.5);
          }));
  registry.add(
      "ThresholdedRelu",
      unaryFloat(
          [](NodeContext &ctx, OpBuilder &b, Location loc, Value x) -> Value {
            Value alpha = floatConst(b, loc, x, ctx.floatAttr("alpha", 1.0f));
            Value above = arith::CmpFOp::create(
                b, loc, arith::CmpFPredicate::OGT, x, alpha);
            return arith::SelectOp::create(b, loc, above, x,
                                           floatConst(b, loc, x, 0.0));
          },
          [](NodeContext &ctx, double x) {
            return x > ctx.floatAttr("alpha", 1.0f) ? x : 0.0;
          }));
  registry.add(
      "Gelu",
      unaryFloat(
          [](NodeContext &ctx, OpBuilder &b, Location loc, Value x) {
            return gelu(b, loc, x, ctx.stringAttr("approximate", "none") ==
                                       "tanh");
          },
          [](NodeContext &ctx, double x) {
            return geluOf(x, ctx.stringAttr("approximate", "none") == "tanh");
          }));
}
