//===- PoolingOps.cpp - MaxPool, AveragePool and global pooling -----------===//
//
// MaxPool and AveragePool become linalg.pooling_nchw_max / _sum (3-D:
// pooling_ndhwc_* between transposes) on an input padded with -inf / 0.
// AveragePool then divides by the number of elements each window covered, which depends only on static shapes and so is a
// constant computed here (count_include_pad, ceil_mode and padding all
// change it near the borders). 1-D pooling runs as 2-D over a unit height.
// Global pooling is a reduction over the spatial dimensions.
//
//===----------------------------------------------------------------------===//

#include "Builders.h"
#include "Converter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

using namespace mlir;
using namespace mlir::sparse_opt::onnx;
using llvm::Twine;

namespace {

DenseIntElementsAttr i64Vector(OpBuilder &b, ArrayRef<int64_t> values) {
  return DenseIntElementsAttr::get(
      RankedTensorType::get({int64_t(values.size())}, b.getI64Type()), values);
}

/// Elements of window `index` in one dimension that count for the average:
/// those inside the input, plus the declared padding if `includePad`.
int64_t windowCount(int64_t index, int64_t size, int64_t kernel,
                    int64_t stride, int64_t dilation, int64_t padBegin,
                    int64_t declaredPadEnd, bool includePad) {
  int64_t lowest = includePad ? -padBegin : 0;
  int64_t highest = includePad ? size + declaredPadEnd : size;
  int64_t count = 0;
  for (int64_t k = 0; k < kernel; ++k) {
    int64_t position = index * stride - padBegin + k * dilation;
    count += position >= lowest && position < highest;
  }
  return count;
}

enum class PoolKind { Max, Average };

/// The pooling op on the padded input: NCHW named ops for 2-D, NDHWC ones
/// (the only 3-D pooling ops linalg has) between transposes for 3-D.
Value buildPooling(OpBuilder &b, Location loc, PoolKind kind, Value x,
                   const WindowGeometry &g, ArrayRef<int64_t> outShape,
                   Value initValue) {
  auto elementType = cast<RankedTensorType>(x.getType()).getElementType();
  Value window = emptyTensor(b, loc, g.kernel, elementType);
  auto strides = i64Vector(b, g.strides);
  auto dilations = i64Vector(b, g.dilations);
  if (outShape.size() == 4) {
    auto outType = RankedTensorType::get(outShape, elementType);
    Value init = filledTensor(b, loc, outShape, initValue);
    if (kind == PoolKind::Max)
      return linalg::PoolingNchwMaxOp::create(b, loc, TypeRange{outType},
                                              ValueRange{x, window}, init,
                                              strides, dilations)
          .getResult(0);
    return linalg::PoolingNchwSumOp::create(b, loc, TypeRange{outType},
                                            ValueRange{x, window}, init,
                                            strides, dilations)
        .getResult(0);
  }
  Value channelsLast = transposeTensor(b, loc, x, {0, 2, 3, 4, 1});
  SmallVector<int64_t> lastShape = {outShape[0], outShape[2], outShape[3],
                                    outShape[4], outShape[1]};
  auto outType = RankedTensorType::get(lastShape, elementType);
  Value init = filledTensor(b, loc, lastShape, initValue);
  Value result =
      kind == PoolKind::Max
          ? linalg::PoolingNdhwcMaxOp::create(b, loc, TypeRange{outType},
                                              ValueRange{channelsLast, window},
                                              init, strides, dilations)
                .getResult(0)
          : linalg::PoolingNdhwcSumOp::create(b, loc, TypeRange{outType},
                                              ValueRange{channelsLast, window},
                                              init, strides, dilations)
                .getResult(0);
  return transposeTensor(b, loc, result, {0, 4, 1, 2, 3});
}

/// 2-D max pooling that also yields, per output, the flat index of the
/// maximum in the unpadded input (MaxPool's Indices: row-major over N, C,
/// H, W, or with `columnMajor` H fastest within a channel). One
/// linalg.generic over (n, c, oh, ow, kh, kw) reading the padded input; the
/// first maximum in window order wins, as onnxruntime's kernel does.
std::pair<Value, Value> buildMaxPoolWithIndices(OpBuilder &b, Location loc,
                                                Value padded,
                                                const WindowGeometry &g,
                                                ArrayRef<int64_t> inputShape,
                                                ArrayRef<int64_t> outShape,
                                                bool columnMajor) {
  MLIRContext *context = b.getContext();
  Type elementType = cast<RankedTensorType>(padded.getType()).getElementType();
  auto d = [&](unsigned i) { return getAffineDimExpr(i, context); };
  AffineMap inputMap = AffineMap::get(
      6, 0,
      {d(0), d(1), d(2) * g.strides[0] + d(4) * g.dilations[0],
       d(3) * g.strides[1] + d(5) * g.dilations[1]},
      context);
  AffineMap outputMap = AffineMap::get(6, 0, {d(0), d(1), d(2), d(3)},
                                       context);
  // Like the named pooling ops, an (unread) window operand gives the loop
  // bounds of kh and kw.
  AffineMap windowMap = AffineMap::get(6, 0, {d(4), d(5)}, context);
  Value window = emptyTensor(b, loc, g.kernel, elementType);
  Value values = filledTensor(b, loc, outShape,
                              lowestValue(b, loc, elementType));
  Value indices = filledTensor(b, loc, outShape,
                               scalarConstant(b, loc, b.getI64Type(), 0));
  SmallVector<utils::IteratorType> iterators(4, utils::IteratorType::parallel);
  iterators.append(2, utils::IteratorType::reduction);
  int64_t channels = inputShape[1], height = inputShape[2],
          width = inputShape[3];
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{values.getType(), indices.getType()},
      ValueRange{padded, window}, ValueRange{values, indices},
      SmallVector<AffineMap>{inputMap, windowMap, outputMap, outputMap},
      iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        auto index = [&](unsigned dim) -> Value {
          return arith::IndexCastOp::create(
              nb, nloc, nb.getI64Type(), linalg::IndexOp::create(nb, nloc, dim));
        };
        auto constant = [&](int64_t v) {
          return scalarConstant(nb, nloc, nb.getI64Type(), double(v));
        };
        auto mulAdd = [&](Value x, int64_t m, Value y) -> Value {
          return arith::AddIOp::create(
              nb, nloc, arith::MulIOp::create(nb, nloc, x, constant(m)), y);
        };
        // Unpadded coordinates of this window element.
        Value h = arith::SubIOp::create(
            nb, nloc, mulAdd(index(2), g.strides[0],
                             arith::MulIOp::create(nb, nloc, index(4),
                                                   constant(g.dilations[0]))),
            constant(g.padBegin[0]));
        Value w = arith::SubIOp::create(
            nb, nloc, mulAdd(index(3), g.strides[1],
                             arith::MulIOp::create(nb, nloc, index(5),
                                                   constant(g.dilations[1]))),
            constant(g.padBegin[1]));
        Value plane = mulAdd(index(0), channels, index(1));
        Value within = columnMajor ? mulAdd(w, height, h) : mulAdd(h, width, w);
        Value flat = mulAdd(plane, height * width, within);
        Value element = args[0], best = args[2], bestIndex = args[3];
        Value greater = arith::CmpFOp::create(
            nb, nloc, arith::CmpFPredicate::OGT, element, best);
        Value value = arith::SelectOp::create(nb, nloc, greater, element, best);
        Value position = arith::SelectOp::create(nb, nloc, greater, flat,
                                                 bestIndex);
        linalg::YieldOp::create(nb, nloc, ValueRange{value, position});
      });
  return {generic.getResult(0), generic.getResult(1)};
}

LogicalResult convertPool(NodeContext &ctx, PoolKind kind) {
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  RankedTensorType xType = ctx.inputType(0);
  int64_t rank = xType.getRank();
  Type elementType = xType.getElementType();
  if (rank < 3 || rank > 5)
    return ctx.fail("input must be N x C x spatial with 1 to 3 spatial "
                    "dimensions");
  if (!isa<FloatType>(elementType))
    return ctx.fail("only float pooling is supported");
  bool wantsIndices = kind == PoolKind::Max && ctx.hasOutput(1);
  if (wantsIndices && rank == 5)
    return ctx.fail("the Indices output of 3-D MaxPool is not supported");
  std::optional<SmallVector<int64_t>> kernelShape = ctx.intsAttr("kernel_shape");
  if (!kernelShape || int64_t(kernelShape->size()) != rank - 2)
    return ctx.fail("kernel_shape must have one entry per spatial dimension");
  SmallVector<int64_t> spatial(xType.getShape().drop_front(2));
  bool ceilMode = ctx.intAttr("ceil_mode", 0) != 0;
  FailureOr<WindowGeometry> geometry =
      resolveWindow(ctx, spatial, *kernelShape, ceilMode);
  if (failed(geometry))
    return failure();
  WindowGeometry g = *geometry;
  // Padding as declared (auto_pad resolved, before ceil_mode's extension).
  FailureOr<WindowGeometry> declared =
      resolveWindow(ctx, spatial, *kernelShape, false);
  SmallVector<int64_t> declaredPadEnd = declared->padEnd;

  int64_t n = xType.getDimSize(0), c = xType.getDimSize(1);
  Value x = ctx.input(0);
  bool oneD = rank == 3;
  if (oneD) {
    spatial.insert(spatial.begin(), 1);
    for (auto *v : {&g.kernel, &g.strides, &g.dilations, &g.output})
      v->insert(v->begin(), 1);
    g.padBegin.insert(g.padBegin.begin(), 0);
    g.padEnd.insert(g.padEnd.begin(), 0);
    declaredPadEnd.insert(declaredPadEnd.begin(), 0);
    x = reshapeTensor(b, loc, x, {n, c, 1, spatial[1]});
  }
  size_t spatialRank = spatial.size();

  Value padValue = kind == PoolKind::Max
                       ? lowestValue(b, loc, elementType)
                       : scalarConstant(b, loc, elementType, 0);
  SmallVector<int64_t> low = {0, 0}, high = {0, 0};
  low.append(g.padBegin);
  high.append(g.padEnd);
  x = padTensor(b, loc, x, low, high, padValue);

  SmallVector<int64_t> outShape = {n, c};
  outShape.append(g.output);
  if (wantsIndices) {
    // 1-D runs as 2-D over a unit height, so its flat indices agree.
    auto [values, indices] = buildMaxPoolWithIndices(
        b, loc, x, g, {n, c, spatial[0], spatial[1]}, outShape,
        ctx.intAttr("storage_order", 0) != 0);
    if (oneD) {
      values = reshapeTensor(b, loc, values, {n, c, g.output[1]});
      indices = reshapeTensor(b, loc, indices, {n, c, g.output[1]});
    }
    ctx.setOutput(0, values);
    ctx.setOutput(1, indices);
    return success();
  }
  Value result = buildPooling(b, loc, kind, x, g, outShape, padValue);
  if (kind == PoolKind::Average) {
    // Elements per window, over the spatial output positions.
    bool includePad = ctx.intAttr("count_include_pad", 0) != 0;
    KnownValue counts =
        KnownValue::zeros(RankedTensorType::get(g.output, elementType));
    bool uniform = true;
    for (int64_t e = 0, total = counts.numElements(); e < total; ++e) {
      int64_t rest = e, count = 1;
      for (int64_t d = int64_t(spatialRank) - 1; d >= 0; --d) {
        int64_t index = rest % g.output[d];
        rest /= g.output[d];
        count *= windowCount(index, spatial[d], g.kernel[d], g.strides[d],
                             g.dilations[d], g.padBegin[d], declaredPadEnd[d],
                             includePad);
      }
      counts.floats[e] = double(count);
      uniform &= counts.floats[e] == counts.floats[0];
    }
    SmallVector<Value> operands = {result};
    if (!uniform)
      operands.push_back(ctx.constant(counts));
    double divisor = counts.floats.empty() ? 1.0 : counts.floats[0];
    result = buildElementwise(
        b, loc, operands, outShape, elementType,
        [&](OpBuilder &nb, Location nloc, ValueRange args) -> Value {
          Value count = args.size() > 1
                            ? args[1]
                            : scalarConstant(nb, nloc, elementType, divisor);
          return arith::DivFOp::create(nb, nloc, args[0], count);
        });
  }
  if (oneD)
    result = reshapeTensor(b, loc, result, {n, c, g.output[1]});
  ctx.setOutput(0, result);
  return success();
}

LogicalResult convertGlobalPool(NodeContext &ctx, PoolKind kind) {
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  RankedTensorType xType = ctx.inputType(0);
  Type elementType = xType.getElementType();
  if (xType.getRank() < 3 || !isa<FloatType>(elementType))
    return ctx.fail("input must be float N x C x spatial");
  SmallVector<int64_t> axes;
  int64_t count = 1;
  for (int64_t d = 2; d < xType.getRank(); ++d) {
    axes.push_back(d);
    count *= xType.getDimSize(d);
  }
  Value init = kind == PoolKind::Max ? lowestValue(b, loc, elementType)
                                     : scalarConstant(b, loc, elementType, 0);
  Value result = buildReduction(
      b, loc, ctx.input(0), axes, /*keepDims=*/true, init,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        return kind == PoolKind::Max ? maxScalars(nb, nloc, args[0], args[1])
                                     : addScalars(nb, nloc, args[0], args[1]);
      });
  if (kind == PoolKind::Average) {
    auto shape = cast<RankedTensorType>(result.getType()).getShape();
    result = buildElementwise(
        b, loc, result, shape, elementType,
        [&](OpBuilder &nb, Location nloc, ValueRange args) -> Value {
          return arith::DivFOp::create(
              nb, nloc, args[0], scalarConstant(nb, nloc, elementType, count));
        });
  }
  ctx.setOutput(0, result);
  return success();
}

} // namespace

void mlir::sparse_opt::onnx::registerPoolingConverters(
    ConverterRegistry &registry) {
  registry.add("MaxPool",
               [](NodeContext &ctx) { return convertPool(ctx, PoolKind::Max); });
  registry.add("AveragePool", [](NodeContext &ctx) {
    return convertPool(ctx, PoolKind::Average);
  });
  registry.add("GlobalMaxPool", [](NodeContext &ctx) {
    return convertGlobalPool(ctx, PoolKind::Max);
  });
  registry.add("GlobalAveragePool", [](NodeContext &ctx) {
    return convertGlobalPool(ctx, PoolKind::Average);
  });
}
