//===- ShapeOps.cpp - Shape, data movement and constant ops ---------------===//
//
// Reshape-like ops (Reshape, Flatten, Squeeze, Unsqueeze) are
// tensor.collapse_shape / expand_shape; Transpose is linalg.transpose;
// Slice / Split are tensor.extract_slice (a linalg.generic for negative
// steps); Concat is tensor.concat along the outermost non-unit dimension,
// else a linalg.generic; Gather is a linalg.generic that reads the data with
// tensor.extract; Expand is a broadcasting copy. Reshape-like ops and
// Transpose on stored weights produce weights (views / permuted bytes).
//
// Every op here also works on values known at import time, which is how the
// Shape -> Gather -> Unsqueeze -> Concat -> Reshape chains exporters emit
// fold away: Shape of a static tensor is known, and known inputs give known
// outputs without IR.
//
//===----------------------------------------------------------------------===//

#include "Builders.h"
#include "Converter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cstring>

using namespace mlir;
using namespace mlir::sparse_opt::onnx;
using llvm::Twine;

namespace {

std::string shapeText(ArrayRef<int64_t> shape) {
  std::string text;
  for (auto [i, size] : llvm::enumerate(shape))
    text += (i ? "x" : "") + std::to_string(size);
  return shape.empty() ? "scalar" : text;
}

/// Row-major strides of `shape`.
SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape) {
  SmallVector<int64_t> strides(shape.size(), 1);
  for (int64_t d = int64_t(shape.size()) - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * shape[d + 1];
  return strides;
}

/// Copies element `from` of `source` to element `to` of `target`.
void copyElement(const KnownValue &source, int64_t from, KnownValue &target,
                 int64_t to) {
  if (source.isFloat())
    target.floats[to] = source.floats[from];
  else
    target.ints[to] = source.ints[from];
}

/// Output `i` is `input` viewed with `shape`: known values stay known and
/// stored weights stay weights (sharing their bytes).
void setReshaped(NodeContext &ctx, unsigned input, ArrayRef<int64_t> shape) {
  if (const KnownValue *value = ctx.known(input)) {
    KnownValue reshaped = *value;
    reshaped.shape.assign(shape.begin(), shape.end());
    ctx.setKnownOutput(0, std::move(reshaped));
    return;
  }
  if (std::shared_ptr<TensorData> weight = ctx.weight(input)) {
    (void)ctx.setWeightOutput(0, reshapeStored(*weight, shape));
    return;
  }
  ctx.setOutput(0, reshapeTensor(ctx.b, ctx.loc, ctx.input(input), shape));
}

LogicalResult convertReshape(NodeContext &ctx) {
  ArrayRef<int64_t> inputShape = ctx.inputShape(0);
  SmallVector<int64_t> target;
  if (ctx.opset < 5) {
    target = ctx.intsAttr("shape").value_or(SmallVector<int64_t>{});
  } else {
    FailureOr<SmallVector<int64_t>> shape = ctx.constantInts(1, "shape");
    if (failed(shape))
      return failure();
    target = *shape;
  }
  bool allowZero = ctx.intAttr("allowzero", 0) != 0;
  int64_t inferred = -1, known = 1;
  for (auto [d, size] : llvm::enumerate(target)) {
    if (size == 0 && !allowZero) {
      if (d >= inputShape.size())
        return ctx.fail("shape entry " + Twine(d) + " is 0 (copy) but the "
                        "input has rank " + Twine(inputShape.size()));
      size = inputShape[d];
    }
    if (size == -1) {
      if (inferred >= 0)
        return ctx.fail("shape has more than one -1");
      inferred = d;
      continue;
    }
    if (size < 0)
      return ctx.fail("shape entry " + Twine(size) + " is invalid");
    known *= size;
  }
  int64_t count = product(inputShape);
  if (inferred >= 0) {
    if (known == 0 || count % known)
      return ctx.fail("cannot infer the -1 in shape " + shapeText(target) +
                      " for " + Twine(count) + " elements");
    target[inferred] = count / known;
  }
  if (product(target) != count)
    return ctx.fail("cannot reshape " + shapeText(inputShape) + " to " +
                    shapeText(target) + " (inconsistent shapes)");
  setReshaped(ctx, 0, target);
  return success();
}

LogicalResult convertFlatten(NodeContext &ctx) {
  ArrayRef<int64_t> shape = ctx.inputShape(0);
  int64_t rank = shape.size();
  int64_t axis = ctx.intAttr("axis", 1);
  if (axis < -rank || axis > rank)
    return ctx.fail("axis " + Twine(axis) + " is out of range for rank " +
                    Twine(rank));
  if (axis < 0)
    axis += rank;
  setReshaped(ctx, 0,
              {product(shape.take_front(axis)), product(shape.drop_front(axis))});
  return success();
}

/// Axes from the attribute (before `inputSinceOpset`) or input 1.
FailureOr<std::optional<SmallVector<int64_t>>>
axesOf(NodeContext &ctx, int64_t inputSinceOpset, unsigned inputIndex = 1) {
  if (ctx.opset < inputSinceOpset)
    return ctx.intsAttr("axes");
  if (!ctx.hasInput(inputIndex))
    return std::optional<SmallVector<int64_t>>();
  FailureOr<SmallVector<int64_t>> axes = ctx.constantInts(inputIndex, "axes");
  if (failed(axes))
    return failure();
  return std::optional<SmallVector<int64_t>>(*axes);
}

LogicalResult convertSqueeze(NodeContext &ctx) {
  ArrayRef<int64_t> shape = ctx.inputShape(0);
  auto axes = axesOf(ctx, 13);
  if (failed(axes))
    return failure();
  SmallVector<bool> drop(shape.size(), false);
  if (!*axes) {
    for (auto [d, size] : llvm::enumerate(shape))
      drop[d] = size == 1;
  } else {
    for (int64_t axis : **axes) {
      FailureOr<int64_t> d = ctx.normalizeAxis(axis, shape.size());
      if (failed(d))
        return failure();
      if (shape[*d] != 1)
        return ctx.fail("cannot squeeze dimension " + Twine(*d) + " of size " +
                        Twine(shape[*d]));
      drop[*d] = true;
    }
  }
  SmallVector<int64_t> result;
  for (auto [d, size] : llvm::enumerate(shape))
    if (!drop[d])
      result.push_back(size);
  setReshaped(ctx, 0, result);
  return success();
}

LogicalResult convertUnsqueeze(NodeContext &ctx) {
  ArrayRef<int64_t> shape = ctx.inputShape(0);
  auto axes = axesOf(ctx, 13);
  if (failed(axes))
    return failure();
  if (!*axes)
    return ctx.fail("axes are required");
  int64_t rank = shape.size() + (*axes)->size();
  SmallVector<bool> inserted(rank, false);
  for (int64_t axis : **axes) {
    FailureOr<int64_t> d = ctx.normalizeAxis(axis, rank);
    if (failed(d))
      return failure();
    if (inserted[*d])
      return ctx.fail("axis " + Twine(axis) + " is repeated");
    inserted[*d] = true;
  }
  SmallVector<int64_t> result;
  const int64_t *next = shape.begin();
  for (int64_t d = 0; d < rank; ++d)
    result.push_back(inserted[d] ? 1 : *next++);
  setReshaped(ctx, 0, result);
  return success();
}

LogicalResult convertTranspose(NodeContext &ctx) {
  ArrayRef<int64_t> shape = ctx.inputShape(0);
  int64_t rank = shape.size();
  SmallVector<int64_t> perm;
  if (auto attr = ctx.intsAttr("perm"))
    perm = *attr;
  else
    for (int64_t d = rank - 1; d >= 0; --d)
      perm.push_back(d);
  SmallVector<bool> seen(rank, false);
  if (int64_t(perm.size()) != rank)
    return ctx.fail("perm has " + Twine(perm.size()) + " entries for rank " +
                    Twine(rank));
  for (int64_t &p : perm) {
    if (p < 0)
      p += rank;
    if (p < 0 || p >= rank || seen[p])
      return ctx.fail("perm is not a permutation");
    seen[p] = true;
  }
  if (const KnownValue *value = ctx.known(0)) {
    SmallVector<int64_t> outShape;
    for (int64_t p : perm)
      outShape.push_back(shape[p]);
    KnownValue result = KnownValue::zeros(
        RankedTensorType::get(outShape, value->elementType));
    SmallVector<int64_t> inStrides = stridesOf(shape);
    for (int64_t e = 0, n = result.numElements(); e < n; ++e) {
      int64_t rest = e, source = 0;
      for (int64_t d = rank - 1; d >= 0; --d) {
        source += (rest % outShape[d]) * inStrides[perm[d]];
        rest /= outShape[d];
      }
      copyElement(*value, source, result, e);
    }
    ctx.setKnownOutput(0, std::move(result));
    return success();
  }
  // A transposed weight (exporters that keep W as [out, in]) is transposed
  // here, so MatMul sees a plain constant.
  if (std::shared_ptr<TensorData> weight = ctx.weight(0))
    return ctx.setWeightOutput(0, permuteStored(*weight, perm));
  ctx.setOutput(0, transposeTensor(ctx.b, ctx.loc, ctx.input(0), perm));
  return success();
}

LogicalResult convertConcat(NodeContext &ctx) {
  SmallVector<unsigned> inputs;
  for (unsigned i = 0; i < ctx.numInputs(); ++i)
    if (ctx.hasInput(i))
      inputs.push_back(i);
  if (inputs.empty())
    return ctx.fail("expected at least one input");
  RankedTensorType first = ctx.inputType(inputs[0]);
  int64_t rank = first.getRank();
  FailureOr<int64_t> axis = ctx.normalizeAxis(ctx.intAttr("axis", 0), rank);
  if (failed(axis))
    return failure();
  SmallVector<int64_t> shape(first.getShape());
  shape[*axis] = 0;
  bool allKnown = true;
  for (unsigned i : inputs) {
    RankedTensorType type = ctx.inputType(i);
    if (type.getRank() != rank ||
        type.getElementType() != first.getElementType())
      return ctx.fail("inputs differ in rank or element type");
    for (int64_t d = 0; d < rank; ++d)
      if (d != *axis && type.getDimSize(d) != first.getDimSize(d))
        return ctx.fail("input " + Twine(i) + " of shape " +
                        shapeText(type.getShape()) +
                        " does not match the first input's " +
                        shapeText(first.getShape()) + " off the axis");
    shape[*axis] += type.getDimSize(*axis);
    allKnown &= ctx.known(i) != nullptr;
  }
  if (allKnown && product(shape) <= kMaxKnownElements) {
    KnownValue result = KnownValue::zeros(
        RankedTensorType::get(shape, first.getElementType()));
    int64_t outer = product(ArrayRef<int64_t>(shape).take_front(*axis));
    int64_t inner = product(ArrayRef<int64_t>(shape).drop_front(*axis + 1));
    int64_t offset = 0;
    for (unsigned i : inputs) {
      const KnownValue *value = ctx.known(i);
      int64_t size = value->shape[*axis];
      for (int64_t o = 0; o < outer; ++o)
        for (int64_t k = 0; k < size * inner; ++k)
          copyElement(*value, o * size * inner + k, result,
                      o * shape[*axis] * inner + offset * inner + k);
      offset += size;
    }
    ctx.setKnownOutput(0, std::move(result));
    return success();
  }
  SmallVector<Value> operands;
  for (unsigned i : inputs)
    if (ctx.inputType(i).getDimSize(*axis) != 0)
      operands.push_back(ctx.input(i));
  if (operands.size() == 1) {
    ctx.setOutput(0, operands[0]);
    return success();
  }
  // Concatenating along the outermost non-unit dimension writes contiguous
  // ranges; otherwise a linalg.generic picks each element from its input
  // (tensor.concat would bufferize into strided copies, which need a
  // runtime function the generated libraries lack).
  if (product(ArrayRef<int64_t>(shape).take_front(*axis)) == 1) {
    ctx.setOutput(0,
                  tensor::ConcatOp::create(ctx.b, ctx.loc, *axis, operands));
    return success();
  }
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  Value init = emptyTensor(b, loc, shape, first.getElementType());
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  int64_t axisValue = *axis;
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{}, ValueRange{init},
      SmallVector<AffineMap>{
          AffineMap::getMultiDimIdentityMap(rank, b.getContext())},
      iterators, [&](OpBuilder &nb, Location nloc, ValueRange) {
        SmallVector<Value> coordinates;
        for (int64_t d = 0; d < rank; ++d)
          coordinates.push_back(linalg::IndexOp::create(nb, nloc, d));
        Value position = coordinates[axisValue];
        Value result;
        int64_t offset = 0;
        for (Value operand : operands) {
          int64_t size =
              cast<RankedTensorType>(operand.getType()).getDimSize(axisValue);
          Value local = arith::SubIOp::create(
              nb, nloc, position,
              arith::ConstantIndexOp::create(nb, nloc, offset));
          Value ok = arith::CmpIOp::create(
              nb, nloc, arith::CmpIPredicate::ult, local,
              arith::ConstantIndexOp::create(nb, nloc, size));
          SmallVector<Value> at(coordinates);
          at[axisValue] = arith::SelectOp::create(
              nb, nloc, ok, local, arith::ConstantIndexOp::create(nb, nloc, 0));
          Value element = tensor::ExtractOp::create(nb, nloc, operand, at);
          result = result ? Value(arith::SelectOp::create(nb, nloc, ok,
                                                          element, result))
                          : element;
          offset += size;
        }
        linalg::YieldOp::create(nb, nloc, result);
      });
  ctx.setOutput(0, generic.getResult(0));
  return success();
}

/// Starts, sizes and steps of a slice, per dimension.
struct SliceBounds {
  SmallVector<int64_t> starts, sizes, steps;
};

/// Slices `input` (or its known value) as output `output`.
void emitSlice(NodeContext &ctx, unsigned output, const SliceBounds &s) {
  ArrayRef<int64_t> shape = ctx.inputShape(0);
  Type elementType = ctx.inputType(0).getElementType();
  int64_t rank = shape.size();
  if (const KnownValue *value = ctx.known(0)) {
    KnownValue result =
        KnownValue::zeros(RankedTensorType::get(s.sizes, elementType));
    SmallVector<int64_t> inStrides = stridesOf(shape);
    for (int64_t e = 0, n = result.numElements(); e < n; ++e) {
      int64_t rest = e, source = 0;
      for (int64_t d = rank - 1; d >= 0; --d) {
        source += (s.starts[d] + (rest % s.sizes[d]) * s.steps[d]) *
                  inStrides[d];
        rest /= s.sizes[d];
      }
      copyElement(*value, source, result, e);
    }
    ctx.setKnownOutput(output, std::move(result));
    return;
  }
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  // An empty result reads nothing (and an extract_slice at an offset past
  // the end, as a zero-size Split part has, would not verify).
  if (llvm::is_contained(s.sizes, 0)) {
    ctx.setOutput(output, emptyTensor(b, loc, s.sizes, elementType));
    return;
  }
  Value input = ctx.input(0);
  if (llvm::all_of(s.steps, [](int64_t step) { return step > 0; })) {
    ctx.setOutput(output,
                  tensor::ExtractSliceOp::create(
                      b, loc, RankedTensorType::get(s.sizes, elementType),
                      input, ValueRange{}, ValueRange{}, ValueRange{},
                      b.getDenseI64ArrayAttr(s.starts),
                      b.getDenseI64ArrayAttr(s.sizes),
                      b.getDenseI64ArrayAttr(s.steps)));
    return;
  }
  // Negative steps: read input[start + step * i] with an affine map.
  MLIRContext *context = b.getContext();
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d)
    exprs.push_back(getAffineDimExpr(d, context) * s.steps[d] + s.starts[d]);
  SmallVector<AffineMap> maps = {
      AffineMap::get(rank, 0, exprs, context),
      AffineMap::getMultiDimIdentityMap(rank, context)};
  Value init = emptyTensor(b, loc, s.sizes, elementType);
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{input}, ValueRange{init},
      maps, iterators, [](OpBuilder &nb, Location nloc, ValueRange args) {
        linalg::YieldOp::create(nb, nloc, args[0]);
      });
  ctx.setOutput(output, generic.getResult(0));
}

LogicalResult convertSlice(NodeContext &ctx) {
  ArrayRef<int64_t> shape = ctx.inputShape(0);
  int64_t rank = shape.size();
  SmallVector<int64_t> starts, ends, axes, steps;
  if (ctx.opset < 10) {
    starts = ctx.intsAttr("starts").value_or(SmallVector<int64_t>{});
    ends = ctx.intsAttr("ends").value_or(SmallVector<int64_t>{});
    axes = ctx.intsAttr("axes").value_or(SmallVector<int64_t>{});
  } else {
    auto s = ctx.constantInts(1, "starts");
    if (failed(s))
      return failure();
    auto e = ctx.constantInts(2, "ends");
    if (failed(e))
      return failure();
    starts = *s;
    ends = *e;
    if (ctx.hasInput(3)) {
      auto a = ctx.constantInts(3, "axes");
      if (failed(a))
        return failure();
      axes = *a;
    }
    if (ctx.hasInput(4)) {
      auto st = ctx.constantInts(4, "steps");
      if (failed(st))
        return failure();
      steps = *st;
    }
  }
  if (axes.empty())
    for (size_t i = 0; i < starts.size(); ++i)
      axes.push_back(i);
  if (steps.empty())
    steps.assign(starts.size(), 1);
  if (ends.size() != starts.size() || axes.size() != starts.size() ||
      steps.size() != starts.size())
    return ctx.fail("starts, ends, axes and steps differ in length");
  SliceBounds bounds;
  bounds.starts.assign(rank, 0);
  bounds.sizes.assign(shape.begin(), shape.end());
  bounds.steps.assign(rank, 1);
  for (size_t i = 0; i < starts.size(); ++i) {
    FailureOr<int64_t> d = ctx.normalizeAxis(axes[i], rank);
    if (failed(d))
      return failure();
    int64_t size = shape[*d], step = steps[i];
    if (step == 0)
      return ctx.fail("a step is 0");
    // Clamping as the ONNX spec gives it: [0, size] for positive steps,
    // [-1, size - 1] for negative ones.
    auto clampIndex = [&](int64_t index) {
      if (index < 0)
        index = index < -size ? (step > 0 ? 0 : -1) : index + size;
      return step > 0 ? std::clamp<int64_t>(index, 0, size)
                      : std::clamp<int64_t>(index, -1, size - 1);
    };
    int64_t start = clampIndex(starts[i]), end = clampIndex(ends[i]);
    int64_t count =
        step > 0 ? std::max<int64_t>(0, (end - start + step - 1) / step)
                 : std::max<int64_t>(0, (start - end - step - 1) / -step);
    bounds.starts[*d] = count ? start : 0;
    bounds.sizes[*d] = count;
    bounds.steps[*d] = count > 1 ? step : 1;
  }
  emitSlice(ctx, 0, bounds);
  return success();
}

LogicalResult convertSplit(NodeContext &ctx) {
  ArrayRef<int64_t> shape = ctx.inputShape(0);
  FailureOr<int64_t> axis =
      ctx.normalizeAxis(ctx.intAttr("axis", 0), shape.size());
  if (failed(axis))
    return failure();
  int64_t size = shape[*axis];
  int64_t outputs = ctx.numOutputs();
  if (outputs == 0)
    return ctx.fail("expected at least one output");
  SmallVector<int64_t> parts;
  if (ctx.opset < 13) {
    if (auto split = ctx.intsAttr("split"))
      parts = *split;
  } else if (ctx.hasInput(1)) {
    auto split = ctx.constantInts(1, "split");
    if (failed(split))
      return failure();
    parts = *split;
  }
  if (parts.empty()) {
    // Equal parts; since opset 18 the last may be smaller (num_outputs).
    int64_t chunk = (size + outputs - 1) / outputs;
    if (ctx.opset < 18 && size % outputs)
      return ctx.fail("dimension " + Twine(size) + " does not split into " +
                      Twine(outputs) + " equal parts");
    for (int64_t o = 0, left = size; o < outputs; ++o, left -= chunk)
      parts.push_back(std::min(chunk, left));
  }
  if (int64_t(parts.size()) != outputs)
    return ctx.fail("split has " + Twine(parts.size()) + " parts for " +
                    Twine(outputs) + " outputs");
  int64_t total = 0;
  for (int64_t part : parts)
    total += part;
  if (total != size)
    return ctx.fail("split sizes add up to " + Twine(total) + ", not " +
                    Twine(size) + " (inconsistent shapes)");
  int64_t offset = 0;
  for (int64_t o = 0; o < outputs; ++o) {
    SliceBounds bounds;
    bounds.starts.assign(shape.size(), 0);
    bounds.sizes.assign(shape.begin(), shape.end());
    bounds.steps.assign(shape.size(), 1);
    bounds.starts[*axis] = offset;
    bounds.sizes[*axis] = parts[o];
    offset += parts[o];
    if (ctx.hasOutput(o))
      emitSlice(ctx, o, bounds);
  }
  return success();
}

LogicalResult convertShape(NodeContext &ctx) {
  ArrayRef<int64_t> shape = ctx.inputShape(0);
  int64_t rank = shape.size();
  int64_t start = ctx.intAttr("start", 0), end = ctx.intAttr("end", rank);
  if (start < 0)
    start += rank;
  if (end < 0)
    end += rank;
  start = std::clamp<int64_t>(start, 0, rank);
  end = std::clamp<int64_t>(end, start, rank);
  ctx.setKnownOutput(0, KnownValue::ofInts(ctx.b.getI64Type(),
                                           shape.slice(start, end - start)));
  return success();
}

LogicalResult convertSize(NodeContext &ctx) {
  KnownValue value = KnownValue::ofInts(ctx.b.getI64Type(),
                                        {product(ctx.inputShape(0))});
  value.shape.clear();
  ctx.setKnownOutput(0, std::move(value));
  return success();
}

/// The elements of a Constant / ConstantOfShape `value` tensor.
FailureOr<KnownValue> tensorAttrValue(NodeContext &ctx,
                                      const TensorData &tensor) {
  Type elementType = elementTypeFor(ctx.b.getContext(), tensor.dataType);
  if (!elementType) {
    (void)ctx.fail("tensor of element type " + dataTypeName(tensor.dataType) +
                   " is not supported");
    return failure();
  }
  int64_t count = tensor.numElements();
  if (int64_t(tensor.bytes.size()) != count * dataTypeSize(tensor.dataType)) {
    (void)ctx.fail("tensor '" + tensor.name + "' holds " +
                   Twine(tensor.bytes.size()) + " bytes for " + Twine(count) +
                   " elements");
    return failure();
  }
  return decodeStored(tensor, RankedTensorType::get(tensor.dims, elementType));
}

LogicalResult convertConstant(NodeContext &ctx) {
  const NodeAttribute *attribute = nullptr;
  for (const NodeAttribute &a : ctx.node.attributes)
    if (a.kind != NodeAttribute::Kind::Undefined)
      attribute = &a;
  if (!attribute)
    return ctx.fail("expected a value attribute");
  Builder b(ctx.b.getContext());
  StringRef name = attribute->name;
  if (name == "value" && attribute->kind == NodeAttribute::Kind::Tensor) {
    // Large tensors stay weights (MatMul sees them through weight()).
    if (attribute->tensor->numElements() > kMaxKnownElements)
      return ctx.setWeightOutput(0, attribute->tensor);
    FailureOr<KnownValue> value = tensorAttrValue(ctx, *attribute->tensor);
    if (failed(value))
      return failure();
    ctx.setKnownOutput(0, std::move(*value));
    return success();
  }
  KnownValue value;
  if (name == "value_float" || name == "value_floats") {
    value.elementType = b.getF32Type();
    if (name == "value_float")
      value.floats = {attribute->f};
    else
      value.floats.assign(attribute->floats.begin(), attribute->floats.end());
    if (name == "value_floats")
      value.shape = {int64_t(value.floats.size())};
  } else if (name == "value_int" || name == "value_ints") {
    value.elementType = b.getI64Type();
    if (name == "value_int")
      value.ints = {attribute->i};
    else
      value.ints.assign(attribute->ints.begin(), attribute->ints.end());
    if (name == "value_ints")
      value.shape = {int64_t(value.ints.size())};
  } else {
    return ctx.fail("Constant with attribute '" + name +
                    "' is not supported (expected value, value_float(s) or "
                    "value_int(s))");
  }
  ctx.setKnownOutput(0, std::move(value));
  return success();
}

LogicalResult convertConstantOfShape(NodeContext &ctx) {
  FailureOr<SmallVector<int64_t>> shape = ctx.constantInts(0, "shape");
  if (failed(shape))
    return failure();
  KnownValue fill;
  if (const NodeAttribute *attr = ctx.node.findAttribute("value");
      attr && attr->kind == NodeAttribute::Kind::Tensor) {
    FailureOr<KnownValue> value = tensorAttrValue(ctx, *attr->tensor);
    if (failed(value))
      return failure();
    if (value->numElements() != 1)
      return ctx.fail("value must hold one element");
    fill = *value;
  } else {
    fill.elementType = ctx.b.getF32Type();
    fill.floats = {0.0};
  }
  auto type = RankedTensorType::get(*shape, fill.elementType);
  if (type.getNumElements() <= kMaxKnownElements) {
    KnownValue result = KnownValue::zeros(type);
    for (int64_t e = 0, n = result.numElements(); e < n; ++e)
      copyElement(fill, 0, result, e);
    ctx.setKnownOutput(0, std::move(result));
    return success();
  }
  // A large splat: one constant, never expanded here.
  fill.shape.clear();
  mlir::Attribute element = *fill.toAttr().value_begin<Attribute>();
  ctx.setOutput(0, arith::ConstantOp::create(
                       ctx.b, ctx.loc, type,
                       DenseElementsAttr::get(type, element)));
  return success();
}

LogicalResult convertExpand(NodeContext &ctx) {
  FailureOr<SmallVector<int64_t>> target = ctx.constantInts(1, "shape");
  if (failed(target))
    return failure();
  ArrayRef<int64_t> shape = ctx.inputShape(0);
  FailureOr<SmallVector<int64_t>> result = broadcastShapes({shape, *target});
  if (failed(result))
    return ctx.fail("input of shape " + shapeText(shape) +
                    " does not broadcast to " + shapeText(*target));
  Type elementType = ctx.inputType(0).getElementType();
  if (const KnownValue *value = ctx.known(0);
      value && product(*result) <= kMaxKnownElements) {
    KnownValue expanded =
        KnownValue::zeros(RankedTensorType::get(*result, elementType));
    SmallVector<int64_t> outStrides = stridesOf(*result);
    SmallVector<int64_t> inStrides = stridesOf(shape);
    size_t offset = result->size() - shape.size();
    for (int64_t e = 0, n = expanded.numElements(); e < n; ++e) {
      int64_t source = 0;
      for (size_t d = offset; d < result->size(); ++d) {
        int64_t coordinate = (e / outStrides[d]) % (*result)[d];
        if (shape[d - offset] != 1)
          source += coordinate * inStrides[d - offset];
      }
      copyElement(*value, source, expanded, e);
    }
    ctx.setKnownOutput(0, std::move(expanded));
    return success();
  }
  ctx.setOutput(0, buildElementwise(ctx.b, ctx.loc, ctx.input(0), *result,
                                    elementType,
                                    [](OpBuilder &, Location, ValueRange args) {
                                      return args[0];
                                    }));
  return success();
}

LogicalResult convertRange(NodeContext &ctx) {
  const KnownValue *start = ctx.known(0), *limit = ctx.known(1),
                   *delta = ctx.known(2);
  if (!start || !limit || !delta)
    return ctx.fail("start, limit and delta must be constants or computable "
                    "from static shapes");
  Type elementType = ctx.inputType(0).getElementType();
  double s = start->asDouble(0), l = limit->asDouble(0), d = delta->asDouble(0);
  if (d == 0)
    return ctx.fail("delta is 0");
  int64_t count = std::max<int64_t>(0, int64_t(std::ceil((l - s) / d)));
  if (count > kMaxKnownElements)
    return ctx.fail("ranges longer than " + Twine(kMaxKnownElements) +
                    " elements are not supported");
  KnownValue result =
      KnownValue::zeros(RankedTensorType::get({count}, elementType));
  for (int64_t i = 0; i < count; ++i) {
    if (result.isFloat())
      result.set(i, s + i * d);
    else
      result.setInt(i, start->asInt(0) + i * delta->asInt(0));
  }
  ctx.setKnownOutput(0, std::move(result));
  return success();
}

LogicalResult convertGather(NodeContext &ctx) {
  ArrayRef<int64_t> dataShape = ctx.inputShape(0);
  ArrayRef<int64_t> indexShape = ctx.inputShape(1);
  int64_t rank = dataShape.size();
  FailureOr<int64_t> axis = ctx.normalizeAxis(ctx.intAttr("axis", 0), rank);
  if (failed(axis))
    return failure();
  Type indexType = ctx.inputType(1).getElementType();
  if (!isa<IntegerType>(indexType) || indexType.isInteger(1))
    return ctx.fail("indices must be int32 or int64");
  int64_t axisSize = dataShape[*axis];
  SmallVector<int64_t> outShape(dataShape.take_front(*axis));
  outShape.append(indexShape.begin(), indexShape.end());
  outShape.append(dataShape.begin() + *axis + 1, dataShape.end());
  Type elementType = ctx.inputType(0).getElementType();

  const KnownValue *data = ctx.known(0);
  const KnownValue *indices = ctx.known(1);
  if (indices)
    for (int64_t index : indices->ints)
      if (index < -axisSize || index >= axisSize)
        return ctx.fail("index " + Twine(index) + " is out of range for a "
                        "dimension of size " + Twine(axisSize));
  if (data && indices && product(outShape) <= kMaxKnownElements) {
    KnownValue result =
        KnownValue::zeros(RankedTensorType::get(outShape, elementType));
    int64_t outer = product(dataShape.take_front(*axis));
    int64_t inner = product(dataShape.drop_front(*axis + 1));
    int64_t count = indices->numElements();
    for (int64_t o = 0; o < outer; ++o)
      for (int64_t i = 0; i < count; ++i) {
        int64_t index = indices->ints[i];
        if (index < 0)
          index += axisSize;
        for (int64_t k = 0; k < inner; ++k)
          copyElement(*data, (o * axisSize + index) * inner + k, result,
                      (o * count + i) * inner + k);
      }
    ctx.setKnownOutput(0, std::move(result));
    return success();
  }

  // out[o..., i..., k...] = data[o..., indices[i...], k...]
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  MLIRContext *context = b.getContext();
  int64_t outRank = outShape.size();
  int64_t indexRank = indexShape.size();
  SmallVector<AffineExpr> indexExprs;
  for (int64_t d = 0; d < indexRank; ++d)
    indexExprs.push_back(getAffineDimExpr(*axis + d, context));
  SmallVector<AffineMap> maps = {
      AffineMap::get(outRank, 0, indexExprs, context),
      AffineMap::getMultiDimIdentityMap(outRank, context)};
  Value dataValue = ctx.input(0);
  Value init = emptyTensor(b, loc, outShape, elementType);
  SmallVector<utils::IteratorType> iterators(outRank,
                                             utils::IteratorType::parallel);
  int64_t axisValue = *axis;
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{init.getType()}, ValueRange{ctx.input(1)},
      ValueRange{init}, maps, iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        // Negative indices count from the end.
        Value index = arith::IndexCastOp::create(nb, nloc, nb.getIndexType(),
                                                 args[0]);
        Value zero = arith::ConstantIndexOp::create(nb, nloc, 0);
        Value size = arith::ConstantIndexOp::create(nb, nloc, axisSize);
        Value negative = arith::CmpIOp::create(
            nb, nloc, arith::CmpIPredicate::slt, index, zero);
        index = arith::SelectOp::create(
            nb, nloc, negative, arith::AddIOp::create(nb, nloc, index, size),
            index);
        SmallVector<Value> coordinates;
        for (int64_t d = 0; d < axisValue; ++d)
          coordinates.push_back(linalg::IndexOp::create(nb, nloc, d));
        coordinates.push_back(index);
        for (int64_t d = axisValue + indexRank; d < outRank; ++d)
          coordinates.push_back(linalg::IndexOp::create(nb, nloc, d));
        Value element =
            tensor::ExtractOp::create(nb, nloc, dataValue, coordinates);
        linalg::YieldOp::create(nb, nloc, element);
      });
  ctx.setOutput(0, generic.getResult(0));
  return success();
}

LogicalResult convertTile(NodeContext &ctx) {
  FailureOr<SmallVector<int64_t>> repeats = ctx.constantInts(1, "repeats");
  if (failed(repeats))
    return failure();
  ArrayRef<int64_t> shape = ctx.inputShape(0);
  int64_t rank = shape.size();
  if (int64_t(repeats->size()) != rank)
    return ctx.fail("repeats has " + Twine(repeats->size()) +
                    " entries for rank " + Twine(rank));
  SmallVector<int64_t> outShape;
  for (int64_t d = 0; d < rank; ++d) {
    if ((*repeats)[d] < 0)
      return ctx.fail("repeats must be non-negative");
    outShape.push_back(shape[d] * (*repeats)[d]);
  }
  OpBuilder &b = ctx.b;
  MLIRContext *context = b.getContext();
  SmallVector<AffineExpr> exprs;
  for (int64_t d = 0; d < rank; ++d)
    exprs.push_back(shape[d] == 1 ? getAffineConstantExpr(0, context)
                                  : getAffineDimExpr(d, context) % shape[d]);
  SmallVector<AffineMap> maps = {
      AffineMap::get(rank, 0, exprs, context),
      AffineMap::getMultiDimIdentityMap(rank, context)};
  Value init = emptyTensor(b, ctx.loc, outShape,
                           ctx.inputType(0).getElementType());
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, ctx.loc, TypeRange{init.getType()}, ValueRange{ctx.input(0)},
      ValueRange{init}, maps, iterators,
      [](OpBuilder &nb, Location nloc, ValueRange args) {
        linalg::YieldOp::create(nb, nloc, args[0]);
      });
  ctx.setOutput(0, generic.getResult(0));
  return success();
}

LogicalResult convertPad(NodeContext &ctx) {
  std::string mode = ctx.stringAttr("mode", "constant");
  if (mode != "constant")
    return ctx.fail("mode '" + mode + "' is not supported (expected "
                    "constant)");
  ArrayRef<int64_t> shape = ctx.inputShape(0);
  int64_t rank = shape.size();
  Type elementType = ctx.inputType(0).getElementType();
  SmallVector<int64_t> pads;
  double padValue = 0;
  SmallVector<int64_t> axes;
  if (ctx.opset < 11) {
    pads = ctx.intsAttr("pads").value_or(SmallVector<int64_t>{});
    padValue = ctx.floatAttr("value", 0.0f);
  } else {
    auto p = ctx.constantInts(1, "pads");
    if (failed(p))
      return failure();
    pads = *p;
    if (ctx.hasInput(2)) {
      const KnownValue *value = ctx.known(2);
      if (!value)
        return ctx.fail("constant_value must be a constant");
      padValue = value->asDouble(0);
    }
    if (ctx.hasInput(3)) {
      auto a = ctx.constantInts(3, "axes");
      if (failed(a))
        return failure();
      axes = *a;
    }
  }
  if (axes.empty())
    for (int64_t d = 0; d < rank; ++d)
      axes.push_back(d);
  if (pads.size() != 2 * axes.size())
    return ctx.fail("pads has " + Twine(pads.size()) + " entries (expected " +
                    Twine(2 * axes.size()) + ")");
  SmallVector<int64_t> low(rank, 0), high(rank, 0);
  for (auto [i, axis] : llvm::enumerate(axes)) {
    FailureOr<int64_t> d = ctx.normalizeAxis(axis, rank);
    if (failed(d))
      return failure();
    low[*d] = pads[i];
    high[*d] = pads[i + axes.size()];
    if (low[*d] < 0 || high[*d] < 0)
      return ctx.fail("negative pads are not supported");
  }
  ctx.setOutput(0, padTensor(ctx.b, ctx.loc, ctx.input(0), low, high,
                             scalarConstant(ctx.b, ctx.loc, elementType,
                                            padValue)));
  return success();
}

} // namespace

std::shared_ptr<TensorData>
mlir::sparse_opt::onnx::permuteStored(const TensorData &tensor,
                                      ArrayRef<int64_t> perm) {
  size_t elementSize = dataTypeSize(tensor.dataType);
  int64_t rank = tensor.dims.size();
  SmallVector<int64_t> outDims, inStrides = stridesOf(tensor.dims);
  for (int64_t p : perm)
    outDims.push_back(tensor.dims[p]);
  auto storage = std::make_shared<std::vector<char>>(tensor.bytes.size());
  const char *in = tensor.bytes.data();
  char *out = storage->data();
  // Walk the output in order, keeping the input offset incrementally.
  SmallVector<int64_t> index(rank, 0);
  int64_t source = 0, count = tensor.numElements();
  for (int64_t e = 0; e < count; ++e) {
    std::memcpy(out + e * elementSize, in + source * elementSize,
                elementSize);
    for (int64_t d = rank - 1; d >= 0; --d) {
      source += inStrides[perm[d]];
      if (++index[d] < outDims[d])
        break;
      source -= index[d] * inStrides[perm[d]];
      index[d] = 0;
    }
  }
  auto permuted = std::make_shared<TensorData>();
  permuted->name = tensor.name + ".T";
  permuted->dataType = tensor.dataType;
  permuted->dims = outDims;
  permuted->bytes = ArrayRef<char>(storage->data(), storage->size());
  permuted->owner = std::move(storage);
  return permuted;
}

std::shared_ptr<TensorData>
mlir::sparse_opt::onnx::reshapeStored(const TensorData &tensor,
                                      ArrayRef<int64_t> dims) {
  auto reshaped = std::make_shared<TensorData>(tensor);
  reshaped->dims.assign(dims.begin(), dims.end());
  return reshaped;
}

void mlir::sparse_opt::onnx::registerShapeConverters(
    ConverterRegistry &registry) {
  registry.add("Reshape", convertReshape);
  registry.add("Flatten", convertFlatten);
  registry.add("Squeeze", convertSqueeze);
  registry.add("Unsqueeze", convertUnsqueeze);
  registry.add("Transpose", convertTranspose);
  registry.add("Concat", convertConcat);
  registry.add("Slice", convertSlice);
  registry.add("Split", convertSplit);
  registry.add("Shape", convertShape);
  registry.add("Size", convertSize);
  registry.add("Constant", convertConstant, 0);
  registry.add("ConstantOfShape", convertConstantOfShape);
  registry.add("Expand", convertExpand, 2);
  registry.add("Range", convertRange);
  registry.add("Gather", convertGather, 2);
  registry.add("Tile", convertTile, 2);
  registry.add("Pad", convertPad);
}
