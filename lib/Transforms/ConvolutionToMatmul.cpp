//===- ConvolutionToMatmul.cpp - 2-D convolutions as matrix products ------===//
//
// Implements `sparse-opt-convolution-to-matmul`; see Passes.td for the
// contract. A convolution with a constant filter is a product of the
// filter, seen as a matrix (output features x reduction), with the patches
// of the input (im2col), so the sparse matmul kernels run it:
//
//   NCHW: out (F x N Ho Wo) = W (F x C KH KW) x patches (C KH KW x N Ho Wo)
//         (the weight on the left, as the CSR / BSR / N:M kernels take it)
//   NHWC: out (N Ho Wo x F) = patches (N Ho Wo x KH KW C) x W^T
//         (the weight on the right, as in a linear layer)
//
// The patches are one linalg.generic copy whose input map is affine
// (h = oh * stride + kh * dilation): no index arithmetic or gathers in its
// body, and unit-stride rows stay contiguous. A 1x1 stride-1 convolution
// needs no copy (a reshape; NCHW with a batch above 1 a transpose).
//
// Upstream's linalg::rewriteInIm2Col is not used: it builds the patches
// with tensor.extract at delinearized indices, rejects dilations, keeps the
// batch as a batched linalg.generic contraction that no sparse kernel
// matches, and leaves the filter a collapse_shape instead of a constant.
//
//===----------------------------------------------------------------------===//

#include "sparse-opt/Analysis/WeightAnalysis.h"
#include "sparse-opt/Transforms/Passes.h"

#include "KernelSupport.h"

#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/WalkPatternRewriteDriver.h"

namespace mlir::sparse_opt {
#define GEN_PASS_DEF_SPARSEOPTCONVOLUTIONTOMATMUL
#include "sparse-opt/Transforms/Passes.h.inc"
} // namespace mlir::sparse_opt

using namespace mlir;

namespace {

/// Which convolutions become products (the `convert` option).
struct ConversionRule {
  bool all;
  double minSparsity;

  /// With `all`, every one; otherwise those whose filter
  /// sparse-opt-select-weight-formats may store sparse (f32, at least
  /// `minSparsity` of its elements zero).
  bool converts(ElementsAttr filter) const {
    if (all)
      return true;
    if (!filter.getElementType().isF32())
      return false;
    int64_t elements = filter.getNumElements(), zeros = 0;
    bool read = sparse_opt::withFloatElements(filter, [&](auto at) {
      for (int64_t i = 0; i < elements; ++i)
        zeros += at(i) == 0.0;
    });
    return read && elements > 0 &&
           double(zeros) / double(elements) >= minSparsity;
  }
};

/// How NCHW patches are built in panels of output rows (the `panel-bytes`
/// and `panel-min-columns` options).
struct Panels {
  uint64_t bytes;
  int64_t minColumns;
};

/// The operands and window of a 2-D convolution this pass rewrites: a
/// constant filter of static shape, input and output static but for the
/// batch, one float element type throughout.
struct Convolution {
  Value input, init;
  /// The filter's elements in row-major order; `filterType` is the
  /// convolution's filter operand type (a reshape of the constant's).
  ElementsAttr filter;
  RankedTensorType filterType, inputType, outputType;
  SmallVector<int64_t, 2> kernel, strides, dilations;
};

/// The constant behind `filter`, looking through reshapes, which keep the
/// row-major element order (the ONNX importer reshapes the filters of
/// grouped and 1-D convolutions).
bool matchConstantFilter(Value filter, ElementsAttr &values) {
  while (isa_and_nonnull<tensor::ExpandShapeOp, tensor::CollapseShapeOp,
                         tensor::ReshapeOp>(filter.getDefiningOp()))
    filter = filter.getDefiningOp()->getOperand(0);
  return matchPattern(filter, m_Constant(&values));
}

template <typename ConvOp>
FailureOr<Convolution> matchConvolution(ConvOp op, ArrayRef<int64_t> kernelDims,
                                        PatternRewriter &rewriter) {
  if (!op.hasPureTensorSemantics())
    return rewriter.notifyMatchFailure(op, "not on tensors");
  Convolution conv;
  conv.input = op.getDpsInputs()[0];
  conv.init = op.getDpsInits()[0];
  if (!matchConstantFilter(op.getDpsInputs()[1], conv.filter))
    return rewriter.notifyMatchFailure(op, "the filter is no constant");
  auto constantType = dyn_cast<RankedTensorType>(conv.filter.getType());
  conv.filterType = cast<RankedTensorType>(op.getDpsInputs()[1].getType());
  conv.inputType = cast<RankedTensorType>(conv.input.getType());
  conv.outputType = cast<RankedTensorType>(conv.init.getType());
  if (!constantType || constantType.getEncoding() ||
      !constantType.hasStaticShape() || conv.filterType.getEncoding() ||
      !conv.filterType.hasStaticShape())
    return rewriter.notifyMatchFailure(op, "the filter is not a dense "
                                           "constant of static shape");
  if (conv.inputType.getEncoding() || conv.outputType.getEncoding())
    return rewriter.notifyMatchFailure(op, "a sparse input or output");
  for (RankedTensorType type : {conv.inputType, conv.outputType})
    if (llvm::any_of(type.getShape().drop_front(), ShapedType::isDynamic))
      return rewriter.notifyMatchFailure(op, "a dynamic size other than the "
                                             "batch");
  Type elementType = conv.filterType.getElementType();
  if (!isa<FloatType>(elementType) ||
      conv.inputType.getElementType() != elementType ||
      conv.outputType.getElementType() != elementType)
    return rewriter.notifyMatchFailure(op, "not one float element type");
  if (!sparse_opt::withFloatElements(conv.filter, [](auto) {}))
    return rewriter.notifyMatchFailure(op, "the filter's data cannot be read");
  for (int64_t d : kernelDims)
    conv.kernel.push_back(conv.filterType.getDimSize(d));
  conv.strides = llvm::to_vector_of<int64_t>(
      op.getStrides().template getValues<int64_t>());
  conv.dilations = llvm::to_vector_of<int64_t>(
      op.getDilations().template getValues<int64_t>());
  return conv;
}

/// The matrix (rows x cols) whose element (r, c) is element
/// offset + r * rowStride + c * colStride (row-major) of `filter`, as a
/// constant of its element type: a reshape that shares the storage when
/// the matrix is the whole filter in order, otherwise a fresh attribute.
/// The filter must be readable (see matchConvolution).
Value filterMatrix(OpBuilder &b, Location loc, ElementsAttr filter,
                   int64_t rows, int64_t cols, int64_t offset,
                   int64_t rowStride, int64_t colStride) {
  Type elementType = filter.getElementType();
  auto type = RankedTensorType::get({rows, cols}, elementType);
  bool inOrder = offset == 0 && rowStride == cols && colStride == 1 &&
                 rows * cols == filter.getNumElements();
  TypedAttr matrix;
  if (auto dense = dyn_cast<DenseElementsAttr>(filter); dense && inOrder) {
    matrix = dense.reshape(type);
  } else if (auto resource = dyn_cast<DenseResourceElementsAttr>(filter);
             resource && inOrder) {
    matrix = DenseResourceElementsAttr::get(type, resource.getRawHandle());
  } else {
    auto at = [&](int64_t r, int64_t c) {
      return offset + r * rowStride + c * colStride;
    };
    bool read;
    if (elementType.isF32()) {
      std::vector<float> values(size_t(rows * cols));
      read = sparse_opt::withFloatElements(filter, [&](auto element) {
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t c = 0; c < cols; ++c)
            values[r * cols + c] = float(element(at(r, c)));
      });
      if (read)
        matrix = DenseElementsAttr::get(type, ArrayRef<float>(values));
    } else {
      // Doubles hold every narrower float exactly, so converting back loses
      // nothing.
      const llvm::fltSemantics &semantics =
          cast<FloatType>(elementType).getFloatSemantics();
      SmallVector<APFloat> values;
      read = sparse_opt::withFloatElements(filter, [&](auto element) {
        for (int64_t r = 0; r < rows; ++r)
          for (int64_t c = 0; c < cols; ++c) {
            APFloat value(element(at(r, c)));
            bool lossy;
            value.convert(semantics, APFloat::rmNearestTiesToEven, &lossy);
            values.push_back(value);
          }
      });
      if (read)
        matrix = DenseElementsAttr::get(type, values);
    }
    assert(read && "the filter was checked to be readable");
    (void)read;
  }
  return arith::ConstantOp::create(b, loc, type, matrix).getResult();
}

/// `source` with its dimensions permuted (`permutation[i]` is the source
/// dimension of result dimension i).
Value permuted(OpBuilder &b, Location loc, Value source,
               ArrayRef<int64_t> permutation) {
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, source),
                            result;
  for (int64_t d : permutation)
    result.push_back(sizes[d]);
  Value empty = tensor::EmptyOp::create(
      b, loc, result,
      cast<RankedTensorType>(source.getType()).getElementType());
  return linalg::TransposeOp::create(b, loc, source, empty, permutation)
      .getResult()[0];
}

Value collapsed(OpBuilder &b, Location loc, Value source,
                ArrayRef<ReassociationIndices> groups) {
  return tensor::CollapseShapeOp::create(b, loc, source, groups);
}

Value expanded(OpBuilder &b, Location loc, Value source,
               ArrayRef<int64_t> shape, ArrayRef<ReassociationIndices> groups) {
  auto type = RankedTensorType::get(
      shape, cast<RankedTensorType>(source.getType()).getElementType());
  return tensor::ExpandShapeOp::create(b, loc, type, source, groups);
}

/// A fresh tensor of `sizes` filled like the zero-filled `init`.
Value filledLike(OpBuilder &b, Location loc, Value init,
                 ArrayRef<OpFoldResult> sizes) {
  auto fill = init.getDefiningOp<linalg::FillOp>();
  Value empty = tensor::EmptyOp::create(
      b, loc, sizes, cast<RankedTensorType>(init.getType()).getElementType());
  return linalg::FillOp::create(b, loc, fill.value(), empty).getResult(0);
}

/// Channels-first layouts ([N, (G,) C, H, W], G when `grouped`) to and
/// from the matrix form [(G,) C, N H W]: N moves behind the channels (a
/// reshape when N is statically 1, a transpose otherwise).
struct ChannelsFirst {
  bool grouped;

  Value toMatrix(OpBuilder &b, Location loc, Value value) const {
    auto type = cast<RankedTensorType>(value.getType());
    if (type.getDimSize(0) == 1)
      return grouped ? collapsed(b, loc, value, {{0, 1}, {2}, {3, 4}})
                     : collapsed(b, loc, value, {{0, 1}, {2, 3}});
    Value moved = grouped ? permuted(b, loc, value, {1, 2, 0, 3, 4})
                          : permuted(b, loc, value, {1, 0, 2, 3});
    return grouped ? collapsed(b, loc, moved, {{0}, {1}, {2, 3, 4}})
                   : collapsed(b, loc, moved, {{0}, {1, 2, 3}});
  }

  /// `matrix` back to `type` ([N, (G,) F, Ho, Wo]).
  Value fromMatrix(OpBuilder &b, Location loc, Value matrix,
                   RankedTensorType type) const {
    ArrayRef<int64_t> shape = type.getShape();
    if (shape[0] == 1)
      return grouped ? expanded(b, loc, matrix, shape, {{0, 1}, {2}, {3, 4}})
                     : expanded(b, loc, matrix, shape, {{0, 1}, {2, 3}});
    if (grouped) {
      Value moved = expanded(b, loc, matrix,
                             {shape[1], shape[2], shape[0], shape[3], shape[4]},
                             {{0}, {1}, {2, 3, 4}});
      return permuted(b, loc, moved, {2, 0, 1, 3, 4});
    }
    Value moved =
        expanded(b, loc, matrix, {shape[1], shape[0], shape[2], shape[3]},
                 {{0}, {1, 2, 3}});
    return permuted(b, loc, moved, {1, 0, 2, 3});
  }
};

/// A linalg.generic copying `input` through the affine `inputMap` into a
/// fresh tensor of `sizes`: the patches of a convolution.
Value affineCopy(OpBuilder &b, Location loc, Value input, AffineMap inputMap,
                 ArrayRef<OpFoldResult> sizes) {
  Type elementType = cast<RankedTensorType>(input.getType()).getElementType();
  Value empty = tensor::EmptyOp::create(b, loc, sizes, elementType);
  unsigned loops = sizes.size();
  return linalg::GenericOp::create(
             b, loc, empty.getType(), input, empty,
             ArrayRef<AffineMap>{inputMap, b.getMultiDimIdentityMap(loops)},
             SmallVector<utils::IteratorType>(loops,
                                              utils::IteratorType::parallel),
             [](OpBuilder &nb, Location nl, ValueRange args) {
               linalg::YieldOp::create(nb, nl, args[0]);
             })
      .getResult(0);
}

/// The spatial input index of an output index and a kernel index.
AffineExpr window(AffineExpr output, AffineExpr kernel, int64_t stride,
                  int64_t dilation) {
  return output * stride + kernel * dilation;
}

bool isPointwise(const Convolution &conv) {
  return conv.kernel[0] == 1 && conv.kernel[1] == 1 && conv.strides[0] == 1 &&
         conv.strides[1] == 1;
}

/// NCHW (`grouped`: [N, G, C, H, W] with a [G, F, C, KH, KW] filter; else
/// [N, C, H, W] and [F, C, KH, KW]): the patches as [(G,) C KH KW, N Ho Wo].
Value channelsFirstPatches(OpBuilder &b, Location loc, const Convolution &conv,
                           ChannelsFirst layout) {
  if (isPointwise(conv))
    return layout.toMatrix(b, loc, conv.input);
  MLIRContext *context = b.getContext();
  unsigned g = layout.grouped ? 1 : 0; // dimensions before c
  // Loops (g,) c, kh, kw, n, oh, ow.
  SmallVector<AffineExpr> d;
  for (unsigned i = 0; i < 6 + g; ++i)
    d.push_back(getAffineDimExpr(i, context));
  AffineExpr c = d[g], kh = d[g + 1], kw = d[g + 2], n = d[g + 3],
             oh = d[g + 4], ow = d[g + 5];
  SmallVector<AffineExpr> access = {n};
  if (layout.grouped)
    access.push_back(d[0]);
  access.append({c, window(oh, kh, conv.strides[0], conv.dilations[0]),
                 window(ow, kw, conv.strides[1], conv.dilations[1])});
  SmallVector<OpFoldResult> input = tensor::getMixedSizes(b, loc, conv.input);
  ArrayRef<int64_t> out = conv.outputType.getShape();
  SmallVector<OpFoldResult> sizes;
  if (layout.grouped)
    sizes.push_back(input[1]);
  sizes.append({input[g + 1], b.getIndexAttr(conv.kernel[0]),
                b.getIndexAttr(conv.kernel[1]), input[0],
                b.getIndexAttr(out[g + 2]), b.getIndexAttr(out[g + 3])});
  Value patches = affineCopy(b, loc, conv.input,
                             AffineMap::get(6 + g, 0, access, context), sizes);
  if (layout.grouped)
    return collapsed(b, loc, patches, {{0}, {1, 2, 3}, {4, 5, 6}});
  return collapsed(b, loc, patches, {{0, 1, 2}, {3, 4, 5}});
}

/// Group `group` of `value` ([G, R, C]) as an R x C matrix.
Value sliceOfGroup(OpBuilder &b, Location loc, Value value, int64_t group) {
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, value);
  auto type = cast<RankedTensorType>(value.getType());
  auto slice = RankedTensorType::get(type.getShape().drop_front(),
                                     type.getElementType());
  sizes[0] = b.getIndexAttr(1);
  return tensor::ExtractSliceOp::create(
      b, loc, slice, value,
      {b.getIndexAttr(group), b.getIndexAttr(0), b.getIndexAttr(0)}, sizes,
      {b.getIndexAttr(1), b.getIndexAttr(1), b.getIndexAttr(1)});
}

/// `matrix` (R x C) inserted as group `group` of `into` ([G, R, C]).
Value insertGroup(OpBuilder &b, Location loc, Value matrix, Value into,
                  int64_t group) {
  SmallVector<OpFoldResult> sizes = tensor::getMixedSizes(b, loc, into);
  sizes[0] = b.getIndexAttr(1);
  return tensor::InsertSliceOp::create(
      b, loc, matrix, into,
      {b.getIndexAttr(group), b.getIndexAttr(0), b.getIndexAttr(0)}, sizes,
      {b.getIndexAttr(1), b.getIndexAttr(1), b.getIndexAttr(1)});
}

Value matmul(OpBuilder &b, Location loc, Value lhs, Value rhs, Value init) {
  return linalg::MatmulOp::create(b, loc, init.getType(), ValueRange{lhs, rhs},
                                  init)
      .getResult(0);
}

/// Output rows per panel for the patches (depth x Ho Wo) of `conv`
/// (NCHW, not grouped): the most rows that divide Ho, whose patches fit
/// `panels.bytes` and give at least `panels.minColumns` columns; 0 (no
/// panels) when the patches of the whole batch fit or no such count exists.
int64_t panelRows(const Convolution &conv, int64_t depth,
                  const Panels &panels) {
  if (panels.bytes == 0 || isPointwise(conv))
    return 0;
  ArrayRef<int64_t> out = conv.outputType.getShape();
  int64_t rows = out[2], width = out[3];
  uint64_t rowBytes = uint64_t(depth) * uint64_t(width) *
                      conv.outputType.getElementTypeBitWidth() / 8;
  if (!ShapedType::isDynamic(out[0]) &&
      uint64_t(out[0] * rows) * rowBytes <= panels.bytes)
    return 0;
  for (int64_t count = rows; count >= 1; --count)
    if (rows % count == 0 && uint64_t(count) * rowBytes <= panels.bytes &&
        count * width >= panels.minColumns)
      return count;
  return 0;
}

Value zeroFilled(OpBuilder &b, Location loc, ArrayRef<OpFoldResult> sizes,
                 Type elementType) {
  Value zero = arith::ConstantOp::create(b, loc, elementType,
                                         b.getZeroAttr(elementType));
  Value empty = tensor::EmptyOp::create(b, loc, sizes, elementType);
  return linalg::FillOp::create(b, loc, zero, empty).getResult(0);
}

/// NCHW, not grouped, in panels of `rowsPerPanel` output rows of one image:
/// each panel's patches (depth x rowsPerPanel Wo) are built just before
/// its product, so they stay in cache for it, into an accumulator
/// [N, panels, F, rowsPerPanel Wo] (each product a contiguous block of it);
/// then one generic moves F before the panels and adds a non-zero init.
Value rewriteChannelsFirstInPanels(OpBuilder &b, Location loc,
                                   const Convolution &conv, Value weight,
                                   int64_t features, int64_t rowsPerPanel) {
  Type elementType = conv.outputType.getElementType();
  ArrayRef<int64_t> out = conv.outputType.getShape();
  ArrayRef<int64_t> in = conv.inputType.getShape();
  int64_t width = out[3], panels = out[2] / rowsPerPanel,
          columns = rowsPerPanel * width;
  int64_t stripRows = (rowsPerPanel - 1) * conv.strides[0] +
                      (conv.kernel[0] - 1) * conv.dilations[0] + 1;
  auto index = [&](int64_t v) { return b.getIndexAttr(v); };
  OpFoldResult batch = tensor::getMixedSizes(b, loc, conv.input)[0];
  Value accumulator = tensor::EmptyOp::create(
      b, loc, {batch, index(panels), index(features), index(columns)},
      elementType);
  Value c0 = sparse_opt::kernels::indexConstant(b, loc, 0);
  Value c1 = sparse_opt::kernels::indexConstant(b, loc, 1);
  Value batchSize = getValueOrCreateConstantIndexOp(b, loc, batch);
  auto stripType =
      RankedTensorType::get({1, in[1], stripRows, in[3]}, elementType);
  auto images = scf::ForOp::create(
      b, loc, c0, batchSize, c1, ValueRange{accumulator},
      [&](OpBuilder &ib, Location il, Value image, ValueRange imageArgs) {
        Value panelCount = sparse_opt::kernels::indexConstant(ib, il, panels);
        auto strips = scf::ForOp::create(
            ib, il, c0, panelCount, c1, imageArgs,
            [&](OpBuilder &pb, Location pl, Value panel, ValueRange args) {
              Value firstRow = arith::MulIOp::create(
                  pb, pl, panel,
                  sparse_opt::kernels::indexConstant(
                      pb, pl, rowsPerPanel * conv.strides[0]));
              Convolution strip = conv;
              strip.input = tensor::ExtractSliceOp::create(
                  pb, pl, stripType, conv.input,
                  ArrayRef<OpFoldResult>{image, index(0), firstRow, index(0)},
                  ArrayRef<OpFoldResult>{index(1), index(in[1]),
                                         index(stripRows), index(in[3])},
                  ArrayRef<OpFoldResult>{index(1), index(1), index(1),
                                         index(1)});
              strip.inputType = stripType;
              strip.outputType = RankedTensorType::get(
                  {1, features, rowsPerPanel, width}, elementType);
              Value patches =
                  channelsFirstPatches(pb, pl, strip, ChannelsFirst{false});
              Value product =
                  matmul(pb, pl, weight, patches,
                         zeroFilled(pb, pl, {index(features), index(columns)},
                                    elementType));
              Value next = tensor::InsertSliceOp::create(
                  pb, pl, product, args[0],
                  ArrayRef<OpFoldResult>{image, panel, index(0), index(0)},
                  ArrayRef<OpFoldResult>{index(1), index(1), index(features),
                                         index(columns)},
                  ArrayRef<OpFoldResult>{index(1), index(1), index(1),
                                         index(1)});
              scf::YieldOp::create(pb, pl, next);
            });
        scf::YieldOp::create(ib, il, strips.getResults());
      });
  // [N, panels, F, rows, Wo] read as [N, F, panels, rows, Wo].
  int64_t n = out[0];
  Value blocks = expanded(b, loc, images.getResult(0),
                          {n, panels, features, rowsPerPanel, width},
                          {{0}, {1}, {2}, {3, 4}});
  bool zeroInit = sparse_opt::kernels::isZeroFilled(conv.init);
  SmallVector<int64_t> split = {n, features, panels, rowsPerPanel, width};
  Value into =
      zeroInit
          ? tensor::EmptyOp::create(
                b, loc,
                ArrayRef<OpFoldResult>{batch, index(features), index(panels),
                                       index(rowsPerPanel), index(width)},
                elementType)
                .getResult()
          : expanded(b, loc, conv.init, split, {{0}, {1}, {2, 3}, {4}});
  MLIRContext *context = b.getContext();
  SmallVector<AffineExpr> d;
  for (unsigned i = 0; i < 5; ++i)
    d.push_back(getAffineDimExpr(i, context));
  Value result =
      linalg::GenericOp::create(
          b, loc, into.getType(), blocks, into,
          ArrayRef<AffineMap>{
              AffineMap::get(5, 0, {d[0], d[2], d[1], d[3], d[4]}, context),
              b.getMultiDimIdentityMap(5)},
          SmallVector<utils::IteratorType>(5, utils::IteratorType::parallel),
          [&](OpBuilder &nb, Location nl, ValueRange args) {
            Value value = zeroInit
                              ? args[0]
                              : arith::AddFOp::create(nb, nl, args[0], args[1])
                                    .getResult();
            linalg::YieldOp::create(nb, nl, value);
          })
          .getResult(0);
  return collapsed(b, loc, result, {{0}, {1}, {2, 3}, {4}});
}

/// NCHW, grouped or not: out = fromMatrix(W x patches), with one product
/// per group, each with its own filter constant.
Value rewriteChannelsFirst(OpBuilder &b, Location loc, const Convolution &conv,
                           bool grouped, const Panels &panels) {
  ChannelsFirst layout{grouped};
  ArrayRef<int64_t> filterShape = conv.filterType.getShape();
  int64_t groups = grouped ? filterShape[0] : 1;
  ArrayRef<int64_t> perGroup = filterShape.drop_front(grouped ? 1 : 0);
  int64_t features = perGroup[0],
          depth = perGroup[1] * perGroup[2] * perGroup[3];
  Value weight;
  if (!grouped)
    weight = filterMatrix(b, loc, conv.filter, features, depth, /*offset=*/0,
                          depth, 1);
  if (int64_t rows = grouped ? 0 : panelRows(conv, depth, panels))
    return rewriteChannelsFirstInPanels(b, loc, conv, weight, features, rows);
  Value patches = channelsFirstPatches(b, loc, conv, layout);
  OpFoldResult columns = tensor::getMixedSizes(b, loc, patches).back();
  bool zeroInit = sparse_opt::kernels::isZeroFilled(conv.init);
  auto groupInit = [&](Value result, int64_t group) -> Value {
    if (zeroInit)
      return filledLike(b, loc, conv.init, {b.getIndexAttr(features), columns});
    if (!grouped)
      return result;
    return sliceOfGroup(b, loc, result, group);
  };
  if (!grouped) {
    Value init =
        zeroInit ? groupInit(Value(), 0) : layout.toMatrix(b, loc, conv.init);
    return layout.fromMatrix(b, loc, matmul(b, loc, weight, patches, init),
                             conv.outputType);
  }
  Value result =
      zeroInit ? tensor::EmptyOp::create(
                     b, loc,
                     ArrayRef<OpFoldResult>{b.getIndexAttr(groups),
                                            b.getIndexAttr(features), columns},
                     conv.outputType.getElementType())
                     .getResult()
               : layout.toMatrix(b, loc, conv.init);
  for (int64_t group = 0; group < groups; ++group) {
    Value weight = filterMatrix(b, loc, conv.filter, features, depth,
                                group * features * depth, depth, 1);
    Value product = matmul(b, loc, weight, sliceOfGroup(b, loc, patches, group),
                           groupInit(result, group));
    result = insertGroup(b, loc, product, result, group);
  }
  return layout.fromMatrix(b, loc, result, conv.outputType);
}

/// NHWC: out = (patches x W^T) reshaped, W^T [KH KW C, F] read from the
/// filter (`featuresFirst`: [F, KH, KW, C], else [KH, KW, C, F], which is
/// W^T as stored).
Value rewriteChannelsLast(OpBuilder &b, Location loc, const Convolution &conv,
                          bool featuresFirst) {
  MLIRContext *context = b.getContext();
  int64_t features = conv.outputType.getDimSize(3);
  int64_t depth =
      conv.kernel[0] * conv.kernel[1] * conv.inputType.getDimSize(3);
  Value weight =
      featuresFirst
          ? filterMatrix(b, loc, conv.filter, depth, features, 0, 1, depth)
          : filterMatrix(b, loc, conv.filter, depth, features, 0, features, 1);
  Value patches;
  if (isPointwise(conv)) {
    patches = collapsed(b, loc, conv.input, {{0, 1, 2}, {3}});
  } else {
    // Loops n, oh, ow, kh, kw, c.
    SmallVector<AffineExpr> d;
    for (unsigned i = 0; i < 6; ++i)
      d.push_back(getAffineDimExpr(i, context));
    AffineMap access = AffineMap::get(
        6, 0,
        {d[0], window(d[1], d[3], conv.strides[0], conv.dilations[0]),
         window(d[2], d[4], conv.strides[1], conv.dilations[1]), d[5]},
        context);
    SmallVector<OpFoldResult> input = tensor::getMixedSizes(b, loc, conv.input);
    ArrayRef<int64_t> out = conv.outputType.getShape();
    Value gathered =
        affineCopy(b, loc, conv.input, access,
                   {input[0], b.getIndexAttr(out[1]), b.getIndexAttr(out[2]),
                    b.getIndexAttr(conv.kernel[0]),
                    b.getIndexAttr(conv.kernel[1]), input[3]});
    patches = collapsed(b, loc, gathered, {{0, 1, 2}, {3, 4, 5}});
  }
  Value init = sparse_opt::kernels::isZeroFilled(conv.init)
                   ? filledLike(b, loc, conv.init,
                                {tensor::getMixedSizes(b, loc, patches)[0],
                                 b.getIndexAttr(features)})
                   : collapsed(b, loc, conv.init, {{0, 1, 2}, {3}});
  return expanded(b, loc, matmul(b, loc, patches, weight, init),
                  conv.outputType.getShape(), {{0, 1, 2}, {3}});
}

template <typename ConvOp>
struct ConvolutionToMatmul : public OpRewritePattern<ConvOp> {
  static constexpr bool kGrouped =
      std::is_same_v<ConvOp, linalg::Conv2DNgchwGfchwOp>;
  static constexpr bool kChannelsFirst =
      kGrouped || std::is_same_v<ConvOp, linalg::Conv2DNchwFchwOp>;
  static constexpr bool kFeaturesFirstNhwc =
      std::is_same_v<ConvOp, linalg::Conv2DNhwcFhwcOp>;

  ConvolutionToMatmul(MLIRContext *context, ConversionRule rule, Panels panels)
      : OpRewritePattern<ConvOp>(context), rule(rule), panels(panels) {}

  LogicalResult matchAndRewrite(ConvOp op,
                                PatternRewriter &rewriter) const override {
    // Filter dimensions of the kernel window.
    SmallVector<int64_t, 2> kernelDims =
        kGrouped             ? SmallVector<int64_t, 2>{3, 4}
        : kChannelsFirst     ? SmallVector<int64_t, 2>{2, 3}
        : kFeaturesFirstNhwc ? SmallVector<int64_t, 2>{1, 2}
                             : SmallVector<int64_t, 2>{0, 1};
    FailureOr<Convolution> conv = matchConvolution(op, kernelDims, rewriter);
    if (failed(conv))
      return failure();
    if (!rule.converts(conv->filter))
      return rewriter.notifyMatchFailure(op, "the filter will not be stored "
                                             "sparse");
    Value result = kChannelsFirst
                       ? rewriteChannelsFirst(rewriter, op.getLoc(), *conv,
                                              kGrouped, panels)
                       : rewriteChannelsLast(rewriter, op.getLoc(), *conv,
                                             kFeaturesFirstNhwc);
    rewriter.replaceOp(op, result);
    return success();
  }

  ConversionRule rule;
  Panels panels;
};

struct ConvolutionToMatmulPass
    : public sparse_opt::impl::SparseOptConvolutionToMatmulBase<
          ConvolutionToMatmulPass> {
  using Base::Base;

  void runOnOperation() override {
    if (convert != "sparse" && convert != "all") {
      getOperation().emitError()
          << "sparse-opt-convolution-to-matmul: convert must be 'sparse' or "
             "'all', got '"
          << convert.getValue() << "'";
      return signalPassFailure();
    }
    if (minSparsity < 0.0 || minSparsity > 1.0) {
      getOperation().emitError()
          << "sparse-opt-convolution-to-matmul: min-sparsity must be in "
             "[0, 1], got "
          << minSparsity.getValue();
      return signalPassFailure();
    }
    ConversionRule rule{convert == "all", minSparsity};
    RewritePatternSet patterns(&getContext());
    patterns.add<ConvolutionToMatmul<linalg::Conv2DNchwFchwOp>,
                 ConvolutionToMatmul<linalg::Conv2DNgchwGfchwOp>,
                 ConvolutionToMatmul<linalg::Conv2DNhwcHwcfOp>,
                 ConvolutionToMatmul<linalg::Conv2DNhwcFhwcOp>>(
        &getContext(), rule, Panels{panelBytes, panelMinColumns});
    walkAndApplyPatterns(getOperation(), std::move(patterns));
  }
};

} // namespace
