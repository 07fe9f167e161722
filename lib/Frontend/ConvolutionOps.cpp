//===- ConvolutionOps.cpp - Conv and BatchNormalization -------------------===//
//
// Conv becomes a named linalg convolution on an explicitly padded input
// (tensor.pad): conv_2d_nchw_fchw (group 1), depthwise_conv_2d_nchw_chw
// (one filter per channel), conv_2d_ngchw_gfchw (other groups), and
// conv_3d_ncdhw_fcdhw (3-D, group 1). 1-D convolutions are 2-D ones over a
// unit height. The bias initializes the accumulator.
//
// BatchNormalization after a Conv with a constant weight is folded into the
// conv's weight and bias before conversion (a graph rewrite); otherwise it
// is one elementwise op.
//
//===----------------------------------------------------------------------===//

#include "Builders.h"
#include "Converter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include "llvm/ADT/StringSet.h"

#include <cmath>
#include <cstring>

using namespace mlir;
using namespace mlir::sparse_opt::onnx;
using llvm::Twine;

FailureOr<WindowGeometry> mlir::sparse_opt::onnx::resolveWindow(NodeContext &ctx,
                                        ArrayRef<int64_t> input,
                                        ArrayRef<int64_t> kernel,
                                        bool ceilMode) {
  size_t rank = input.size();
  WindowGeometry g;
  g.kernel.assign(kernel.begin(), kernel.end());
  g.strides = ctx.intsAttr("strides").value_or(SmallVector<int64_t>(rank, 1));
  g.dilations =
      ctx.intsAttr("dilations").value_or(SmallVector<int64_t>(rank, 1));
  SmallVector<int64_t> pads =
      ctx.intsAttr("pads").value_or(SmallVector<int64_t>(2 * rank, 0));
  if (g.strides.size() != rank || g.dilations.size() != rank ||
      pads.size() != 2 * rank)
    return ctx.fail("strides, dilations and pads must have " + Twine(rank) +
                    ", " + Twine(rank) + " and " + Twine(2 * rank) +
                    " entries");
  for (size_t d = 0; d < rank; ++d)
    if (g.strides[d] <= 0 || g.dilations[d] <= 0 || pads[d] < 0 ||
        pads[rank + d] < 0 || kernel[d] <= 0)
      return ctx.fail("strides, dilations and kernel sizes must be positive "
                      "and pads non-negative");
  std::string autoPad = ctx.stringAttr("auto_pad", "NOTSET");
  for (size_t d = 0; d < rank; ++d) {
    int64_t extent = g.dilations[d] * (kernel[d] - 1) + 1;
    int64_t begin = pads[d], end = pads[rank + d];
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      int64_t out = (input[d] + g.strides[d] - 1) / g.strides[d];
      int64_t total =
          std::max<int64_t>(0, (out - 1) * g.strides[d] + extent - input[d]);
      begin = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
      end = total - begin;
    } else if (autoPad == "VALID") {
      begin = end = 0;
    } else if (autoPad != "NOTSET") {
      return ctx.fail("auto_pad '" + autoPad + "' (expected NOTSET, "
                      "SAME_UPPER, SAME_LOWER or VALID)");
    }
    int64_t span = input[d] + begin + end - extent;
    if (span < 0)
      return ctx.fail("the window (" + Twine(extent) +
                      ") is larger than the padded input (" +
                      Twine(input[d] + begin + end) + ") in spatial dimension " +
                      Twine(d));
    int64_t out = span / g.strides[d] + 1;
    if (ceilMode && autoPad == "NOTSET") {
      out = (span + g.strides[d] - 1) / g.strides[d] + 1;
      // The last window must start inside the input or the begin padding.
      if ((out - 1) * g.strides[d] >= input[d] + begin)
        --out;
      int64_t needed = (out - 1) * g.strides[d] + extent;
      end += std::max<int64_t>(0, needed - (input[d] + begin + end));
    }
    g.padBegin.push_back(begin);
    g.padEnd.push_back(end);
    g.output.push_back(out);
  }
  return g;
}

namespace {

DenseIntElementsAttr i64Vector(OpBuilder &b, ArrayRef<int64_t> values) {
  return DenseIntElementsAttr::get(
      RankedTensorType::get({int64_t(values.size())}, b.getI64Type()), values);
}

LogicalResult convertConv(NodeContext &ctx) {
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  RankedTensorType xType = ctx.inputType(0), wType = ctx.inputType(1);
  int64_t rank = xType.getRank();
  if (rank < 3 || rank > 5)
    return ctx.fail("input must be N x C x spatial with 1 to 3 spatial "
                    "dimensions");
  if (wType.getRank() != rank)
    return ctx.fail("the weight's rank differs from the input's");
  Type elementType = xType.getElementType();
  if (!isa<FloatType>(elementType))
    return ctx.fail("only float convolutions are supported");
  int64_t group = ctx.intAttr("group", 1);
  int64_t n = xType.getDimSize(0), c = xType.getDimSize(1);
  int64_t f = wType.getDimSize(0);
  if (group <= 0 || c % group || f % group || wType.getDimSize(1) * group != c)
    return ctx.fail("weight of shape with " + Twine(wType.getDimSize(1)) +
                    " input channels per group does not match " + Twine(c) +
                    " channels in " + Twine(group) +
                    " groups (inconsistent shapes)");
  if (auto kernelShape = ctx.intsAttr("kernel_shape"))
    if (ArrayRef<int64_t>(*kernelShape) != wType.getShape().drop_front(2))
      return ctx.fail("kernel_shape differs from the weight's shape");

  Value x = ctx.input(0), w = ctx.input(1);
  SmallVector<int64_t> spatial(xType.getShape().drop_front(2));
  SmallVector<int64_t> kernel(wType.getShape().drop_front(2));
  // 1-D as 2-D over a unit height; the attributes get a unit entry too.
  bool oneD = rank == 3;
  FailureOr<WindowGeometry> geometry =
      resolveWindow(ctx, spatial, kernel, /*ceilMode=*/false);
  if (failed(geometry))
    return failure();
  WindowGeometry g = *geometry;
  if (oneD) {
    spatial.insert(spatial.begin(), 1);
    kernel.insert(kernel.begin(), 1);
    for (auto *v : {&g.strides, &g.dilations, &g.output})
      v->insert(v->begin(), 1);
    g.padBegin.insert(g.padBegin.begin(), 0);
    g.padEnd.insert(g.padEnd.begin(), 0);
    x = reshapeTensor(b, loc, x, {n, c, 1, spatial[1]});
    w = reshapeTensor(b, loc, w, {f, wType.getDimSize(1), 1, kernel[1]});
  }
  int64_t spatialRank = spatial.size();
  if (spatialRank == 3 && group != 1)
    return ctx.fail("grouped 3-D convolutions are not supported");

  SmallVector<int64_t> low = {0, 0}, high = {0, 0};
  low.append(g.padBegin);
  high.append(g.padEnd);
  x = padTensor(b, loc, x, low, high, scalarConstant(b, loc, elementType, 0));

  SmallVector<int64_t> outShape = {n, f};
  outShape.append(g.output);
  // The accumulator starts as the bias (broadcast over N and space) or 0.
  Value init;
  if (ctx.hasInput(2)) {
    if (ctx.inputType(2).getShape() != ArrayRef<int64_t>{f})
      return ctx.fail("bias must have one element per output channel (" +
                      Twine(f) + ")");
    SmallVector<int64_t> biasShape(outShape.size(), 1);
    biasShape[1] = f;
    Value bias = reshapeTensor(b, loc, ctx.input(2), biasShape);
    init = buildElementwise(b, loc, bias, outShape, elementType,
                            [](OpBuilder &, Location, ValueRange args) {
                              return args[0];
                            });
  } else {
    init = filledTensor(b, loc, outShape,
                        scalarConstant(b, loc, elementType, 0));
  }
  auto strides = i64Vector(b, g.strides);
  auto dilations = i64Vector(b, g.dilations);
  auto outType = RankedTensorType::get(outShape, elementType);

  Value result;
  if (group == 1 && spatialRank == 2) {
    result = linalg::Conv2DNchwFchwOp::create(b, loc, TypeRange{outType},
                                              ValueRange{x, w}, init, strides,
                                              dilations)
                 .getResult(0);
  } else if (group == 1) {
    result = linalg::Conv3DNcdhwFcdhwOp::create(b, loc, TypeRange{outType},
                                                ValueRange{x, w}, init,
                                                strides, dilations)
                 .getResult(0);
  } else if (group == c && f == c) {
    Value filter = reshapeTensor(b, loc, w, {c, kernel[0], kernel[1]});
    result = linalg::DepthwiseConv2DNchwChwOp::create(
                 b, loc, TypeRange{outType}, ValueRange{x, filter}, init,
                 strides, dilations)
                 .getResult(0);
  } else {
    auto xShape = cast<RankedTensorType>(x.getType()).getShape();
    Value grouped = reshapeTensor(
        b, loc, x, {n, group, c / group, xShape[2], xShape[3]});
    Value filter = reshapeTensor(
        b, loc, w, {group, f / group, c / group, kernel[0], kernel[1]});
    SmallVector<int64_t> groupedOut = {n, group, f / group, g.output[0],
                                       g.output[1]};
    Value groupedInit = reshapeTensor(b, loc, init, groupedOut);
    result = linalg::Conv2DNgchwGfchwOp::create(
                 b, loc,
                 TypeRange{RankedTensorType::get(groupedOut, elementType)},
                 ValueRange{grouped, filter}, groupedInit, strides, dilations)
                 .getResult(0);
    result = reshapeTensor(b, loc, result, outShape);
  }
  if (oneD)
    result = reshapeTensor(b, loc, result, {n, f, g.output[1]});
  ctx.setOutput(0, result);
  return success();
}

/// Inference BatchNormalization as one elementwise op:
/// (x - mean) * scale / sqrt(var + eps) + bias, parameters per channel.
LogicalResult convertBatchNormalization(NodeContext &ctx) {
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  if (ctx.intAttr("training_mode", 0) != 0 || ctx.hasOutput(1) ||
      ctx.hasOutput(2))
    return ctx.fail("training mode (running statistics outputs) is not "
                    "supported; export the model for inference");
  RankedTensorType xType = ctx.inputType(0);
  if (xType.getRank() < 2 || !isa<FloatType>(xType.getElementType()))
    return ctx.fail("input must be float N x C x ...");
  int64_t channels = xType.getDimSize(1);
  double epsilon = ctx.floatAttr("epsilon", 1e-5f);
  SmallVector<int64_t> paramShape(xType.getRank() - 1, 1);
  paramShape[0] = channels;
  SmallVector<Value> operands = {ctx.input(0)};
  for (unsigned i = 1; i <= 4; ++i) {
    if (ctx.inputType(i).getShape() != ArrayRef<int64_t>{channels})
      return ctx.fail("parameter " + Twine(i) + " must have one element per "
                      "channel (" + Twine(channels) + ")");
    operands.push_back(reshapeTensor(b, loc, ctx.input(i), paramShape));
  }
  Type elementType = xType.getElementType();
  ctx.setOutput(
      0, buildElementwise(
             b, loc, operands, xType.getShape(), elementType,
             [&](OpBuilder &nb, Location nloc, ValueRange args) -> Value {
               Value eps = scalarConstant(nb, nloc, elementType, epsilon);
               // 1 / sqrt: math.rsqrt would become a call of rsqrtf, which
               // libm does not have.
               Value invStd = arith::DivFOp::create(
                   nb, nloc, scalarConstant(nb, nloc, elementType, 1.0),
                   math::SqrtOp::create(
                       nb, nloc, arith::AddFOp::create(nb, nloc, args[4], eps)));
               Value centered = arith::SubFOp::create(nb, nloc, args[0],
                                                      args[3]);
               Value scaled = arith::MulFOp::create(
                   nb, nloc, centered,
                   arith::MulFOp::create(nb, nloc, invStd, args[1]));
               return arith::AddFOp::create(nb, nloc, scaled, args[2]);
             }));
  return success();
}

/// A stored float tensor's elements as doubles, or nullopt for other types.
std::optional<std::vector<double>> readFloats(const TensorData &tensor) {
  if (tensor.bytes.empty() && tensor.numElements() != 0)
    return std::nullopt;
  std::vector<double> values(tensor.numElements());
  const char *p = tensor.bytes.data();
  for (size_t i = 0; i < values.size(); ++i) {
    if (tensor.dataType == DataType::Float) {
      float v;
      std::memcpy(&v, p + 4 * i, 4);
      values[i] = v;
    } else if (tensor.dataType == DataType::Double) {
      std::memcpy(&values[i], p + 8 * i, 8);
    } else {
      return std::nullopt;
    }
  }
  return values;
}

std::shared_ptr<TensorData> storeFloats(std::string name, DataType type,
                                        ArrayRef<int64_t> dims,
                                        ArrayRef<double> values) {
  size_t size = dataTypeSize(type);
  auto storage = std::make_shared<std::vector<char>>(values.size() * size);
  for (size_t i = 0; i < values.size(); ++i) {
    if (type == DataType::Float) {
      float v = float(values[i]);
      std::memcpy(storage->data() + 4 * i, &v, 4);
    } else {
      std::memcpy(storage->data() + 8 * i, &values[i], 8);
    }
  }
  auto tensor = std::make_shared<TensorData>();
  tensor->name = std::move(name);
  tensor->dataType = type;
  tensor->dims.assign(dims.begin(), dims.end());
  tensor->bytes = ArrayRef<char>(storage->data(), storage->size());
  tensor->owner = std::move(storage);
  return tensor;
}

} // namespace

unsigned mlir::sparse_opt::onnx::foldBatchNormIntoConv(
    Graph &graph,
    const llvm::StringMap<std::shared_ptr<TensorData>> &constants) {
  llvm::StringMap<unsigned> uses;
  for (const Node &node : graph.nodes)
    for (const std::string &input : node.inputs)
      ++uses[input];
  for (const ValueInfo &output : graph.outputs)
    ++uses[output.name];
  llvm::StringMap<size_t> producer;
  for (auto [i, node] : llvm::enumerate(graph.nodes))
    for (const std::string &output : node.outputs)
      producer[output] = i;
  llvm::StringSet<> names;
  for (const auto &tensor : graph.initializers)
    names.insert(tensor->name);

  auto constant = [&](const std::string &name) -> std::shared_ptr<TensorData> {
    auto it = constants.find(name);
    return it == constants.end() ? nullptr : it->second;
  };
  auto freshName = [&](const std::string &base) {
    std::string name = base;
    for (int i = 1; names.contains(name) || constants.count(name); ++i)
      name = base + "_" + std::to_string(i);
    names.insert(name);
    return name;
  };

  std::vector<bool> removed(graph.nodes.size(), false);
  unsigned folded = 0;
  for (size_t bnIndex = 0; bnIndex < graph.nodes.size(); ++bnIndex) {
    Node &bn = graph.nodes[bnIndex];
    if (bn.opType != "BatchNormalization" || !bn.domain.empty() ||
        bn.inputs.size() != 5 || bn.outputs.empty() ||
        llvm::any_of(ArrayRef(bn.outputs).drop_front(),
                     [](const std::string &o) { return !o.empty(); }))
      continue;
    const NodeAttribute *training = bn.findAttribute("training_mode");
    if (training && training->i != 0)
      continue;
    auto producerIt = producer.find(bn.inputs[0]);
    if (producerIt == producer.end() || uses[bn.inputs[0]] != 1)
      continue;
    Node &conv = graph.nodes[producerIt->second];
    if (conv.opType != "Conv" || !conv.domain.empty() ||
        removed[producerIt->second] || conv.inputs.size() < 2)
      continue;
    std::shared_ptr<TensorData> weight = constant(conv.inputs[1]);
    std::shared_ptr<TensorData> bias =
        conv.inputs.size() > 2 && !conv.inputs[2].empty()
            ? constant(conv.inputs[2])
            : nullptr;
    if (!weight || (conv.inputs.size() > 2 && !conv.inputs[2].empty() &&
                    !bias))
      continue;
    std::shared_ptr<TensorData> params[4];
    bool allConstant = true;
    for (int i = 0; i < 4; ++i)
      allConstant &= (params[i] = constant(bn.inputs[i + 1])) != nullptr;
    if (!allConstant || weight->dims.empty())
      continue;
    auto w = readFloats(*weight);
    std::optional<std::vector<double>> p[4];
    bool readable = bool(w);
    for (int i = 0; i < 4; ++i)
      readable &= bool(p[i] = readFloats(*params[i]));
    int64_t channels = weight->dims[0];
    std::optional<std::vector<double>> oldBias =
        bias ? readFloats(*bias) : std::vector<double>(channels, 0.0);
    if (!readable || !oldBias || int64_t(oldBias->size()) != channels)
      continue;
    bool shapesMatch = true;
    for (int i = 0; i < 4; ++i)
      shapesMatch &= int64_t(p[i]->size()) == channels;
    if (!shapesMatch)
      continue;

    const NodeAttribute *epsilonAttr = bn.findAttribute("epsilon");
    double epsilon = epsilonAttr ? epsilonAttr->f : 1e-5;
    int64_t perChannel = weight->numElements() / channels;
    std::vector<double> newWeight(*w), newBias(channels);
    for (int64_t ch = 0; ch < channels; ++ch) {
      double s = (*p[0])[ch] / std::sqrt((*p[3])[ch] + epsilon);
      for (int64_t e = 0; e < perChannel; ++e)
        newWeight[ch * perChannel + e] *= s;
      newBias[ch] = ((*oldBias)[ch] - (*p[2])[ch]) * s + (*p[1])[ch];
    }
    auto foldedWeight = storeFloats(freshName(conv.inputs[1] + ".bn_folded"),
                                    weight->dataType, weight->dims, newWeight);
    auto foldedBias = storeFloats(
        freshName((bias ? conv.inputs[2] : conv.inputs[1]) + ".bn_bias"),
        weight->dataType, {channels}, newBias);
    graph.initializers.push_back(foldedWeight);
    graph.initializers.push_back(foldedBias);
    conv.inputs.resize(3);
    conv.inputs[1] = foldedWeight->name;
    conv.inputs[2] = foldedBias->name;
    conv.outputs[0] = bn.outputs[0];
    removed[bnIndex] = true;
    ++folded;
  }
  std::vector<Node> kept;
  for (auto [i, node] : llvm::enumerate(graph.nodes))
    if (!removed[i])
      kept.push_back(std::move(node));
  graph.nodes = std::move(kept);
  return folded;
}

void mlir::sparse_opt::onnx::registerConvolutionConverters(
    ConverterRegistry &registry) {
  registry.add("Conv", convertConv, 2);
  registry.add("BatchNormalization", convertBatchNormalization, 5);
}
