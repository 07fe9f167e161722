//===- LinearOps.cpp - MatMul and Gemm -------------------------------------===//
//
// Products become named linalg ops so later passes can recognize them: a
// 2-D right operand (a weight, in a linear layer) gives `linalg.matmul` with
// the left operand's batch dimensions folded into its rows, so the weight
// stays a plain 2-D constant operand that the sparse passes turn into CSR;
// batched products (attention) give `linalg.batch_matmul`. Gemm's transB on
// a constant weight is applied to the bytes at import time.
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

Value zeroFilled(OpBuilder &b, Location loc, ArrayRef<int64_t> shape,
                 Type elementType) {
  return filledTensor(b, loc, shape, scalarConstant(b, loc, elementType, 0));
}

/// lhs [M, K] x rhs [K, N] as linalg.matmul.
Value matmul2D(OpBuilder &b, Location loc, Value lhs, Value rhs) {
  auto lhsType = cast<RankedTensorType>(lhs.getType());
  auto rhsType = cast<RankedTensorType>(rhs.getType());
  Value init = zeroFilled(b, loc,
                          {lhsType.getDimSize(0), rhsType.getDimSize(1)},
                          lhsType.getElementType());
  return linalg::MatmulOp::create(b, loc, ValueRange{lhs, rhs},
                                  ValueRange{init})
      .getResult(0);
}

/// `value` broadcast to `shape` (a copy through linalg.generic) unless it
/// already has it.
Value broadcastTo(OpBuilder &b, Location loc, Value value,
                  ArrayRef<int64_t> shape) {
  auto type = cast<RankedTensorType>(value.getType());
  if (type.getShape() == shape)
    return value;
  return buildElementwise(b, loc, value, shape, type.getElementType(),
                          [](OpBuilder &, Location, ValueRange args) {
                            return args[0];
                          });
}

std::string shapeText(ArrayRef<int64_t> shape) {
  std::string text;
  for (auto [i, size] : llvm::enumerate(shape))
    text += (i ? "x" : "") + std::to_string(size);
  return shape.empty() ? "scalar" : text;
}

/// numpy matmul semantics on lhs and rhs of any rank >= 1.
FailureOr<Value> buildMatMul(NodeContext &ctx, Value lhs, Value rhs) {
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  auto lhsType = cast<RankedTensorType>(lhs.getType());
  auto rhsType = cast<RankedTensorType>(rhs.getType());
  SmallVector<int64_t> lhsShape(lhsType.getShape());
  SmallVector<int64_t> rhsShape(rhsType.getShape());
  if (lhsShape.empty() || rhsShape.empty())
    return ctx.fail("operands must have rank >= 1");
  if (lhsType.getElementType() != rhsType.getElementType())
    return ctx.fail("operands have different element types");
  // 1-D operands are promoted to matrices and the unit dimension dropped
  // from the result.
  bool vectorLhs = lhsShape.size() == 1, vectorRhs = rhsShape.size() == 1;
  if (vectorLhs) {
    lhsShape.insert(lhsShape.begin(), 1);
    lhs = reshapeTensor(b, loc, lhs, lhsShape);
  }
  if (vectorRhs) {
    rhsShape.push_back(1);
    rhs = reshapeTensor(b, loc, rhs, rhsShape);
  }
  int64_t m = lhsShape[lhsShape.size() - 2], k = lhsShape.back();
  int64_t n = rhsShape.back();
  if (rhsShape[rhsShape.size() - 2] != k)
    return ctx.fail("contraction sizes differ: " + shapeText(lhsShape) +
                    " times " + shapeText(rhsShape) +
                    " (inconsistent shapes)");
  ArrayRef<int64_t> lhsBatch = ArrayRef(lhsShape).drop_back(2);
  ArrayRef<int64_t> rhsBatch = ArrayRef(rhsShape).drop_back(2);
  FailureOr<SmallVector<int64_t>> batch = broadcastShapes({lhsBatch, rhsBatch});
  if (failed(batch))
    return ctx.fail("batch dimensions " + shapeText(lhsBatch) + " and " +
                    shapeText(rhsBatch) + " do not broadcast");
  int64_t batchCount = product(*batch);

  Value result;
  SmallVector<int64_t> resultShape(*batch);
  resultShape.append({m, n});
  if (product(rhsBatch) == 1) {
    // A shared right operand (a weight): rows of all batches at once.
    Value rows = reshapeTensor(b, loc, lhs, {product(lhsBatch) * m, k});
    Value matrix = reshapeTensor(b, loc, rhs, {k, n});
    result = matmul2D(b, loc, rows, matrix);
    SmallVector<int64_t> lhsResultShape(lhsBatch);
    lhsResultShape.append({m, n});
    result = reshapeTensor(b, loc, result, lhsResultShape);
    result = broadcastTo(b, loc, result, resultShape);
  } else {
    SmallVector<int64_t> fullLhs(*batch), fullRhs(*batch);
    fullLhs.append({m, k});
    fullRhs.append({k, n});
    lhs = broadcastTo(b, loc, reshapeTensor(b, loc, lhs, [&] {
                        SmallVector<int64_t> s(batch->size() - lhsBatch.size(),
                                               1);
                        s.append(lhsShape.begin(), lhsShape.end());
                        return s;
                      }()),
                      fullLhs);
    rhs = broadcastTo(b, loc, reshapeTensor(b, loc, rhs, [&] {
                        SmallVector<int64_t> s(batch->size() - rhsBatch.size(),
                                               1);
                        s.append(rhsShape.begin(), rhsShape.end());
                        return s;
                      }()),
                      fullRhs);
    Value lhs3 = reshapeTensor(b, loc, lhs, {batchCount, m, k});
    Value rhs3 = reshapeTensor(b, loc, rhs, {batchCount, k, n});
    Value init = zeroFilled(b, loc, {batchCount, m, n},
                            lhsType.getElementType());
    result = linalg::BatchMatmulOp::create(b, loc, ValueRange{lhs3, rhs3},
                                           ValueRange{init})
                 .getResult(0);
    result = reshapeTensor(b, loc, result, resultShape);
  }
  SmallVector<int64_t> finalShape(*batch);
  if (!vectorLhs)
    finalShape.push_back(m);
  if (!vectorRhs)
    finalShape.push_back(n);
  return reshapeTensor(b, loc, result, finalShape);
}

LogicalResult convertMatMul(NodeContext &ctx) {
  FailureOr<Value> result = buildMatMul(ctx, ctx.input(0), ctx.input(1));
  if (failed(result))
    return failure();
  ctx.setOutput(0, *result);
  return success();
}

LogicalResult convertGemm(NodeContext &ctx) {
  OpBuilder &b = ctx.b;
  Location loc = ctx.loc;
  if (ctx.inputType(0).getRank() != 2 || ctx.inputType(1).getRank() != 2)
    return ctx.fail("A and B must be 2-D");
  Type elementType = ctx.inputType(0).getElementType();
  double alpha = ctx.floatAttr("alpha", 1.0f);
  double beta = ctx.floatAttr("beta", 1.0f);
  bool transA = ctx.intAttr("transA", 0) != 0;
  bool transB = ctx.intAttr("transB", 0) != 0;

  Value a = ctx.input(0);
  if (transA)
    a = transposeTensor(b, loc, a, {1, 0});
  Value bValue;
  std::shared_ptr<TensorData> weight = ctx.weight(1);
  if (transB && weight && !weight->bytes.empty())
    bValue = ctx.weightConstant(permuteStored(*weight, {1, 0}));
  else if (transB)
    bValue = transposeTensor(b, loc, ctx.input(1), {1, 0});
  else
    bValue = ctx.input(1);

  FailureOr<Value> product = buildMatMul(ctx, a, bValue);
  if (failed(product))
    return failure();
  auto productType = cast<RankedTensorType>(product->getType());
  bool hasC = ctx.hasInput(2) && beta != 0;
  if (!hasC && alpha == 1.0) {
    ctx.setOutput(0, *product);
    return success();
  }
  SmallVector<Value> operands = {*product};
  if (hasC) {
    ArrayRef<int64_t> cShape = ctx.inputShape(2);
    FailureOr<SmallVector<int64_t>> shape =
        broadcastShapes({productType.getShape(), cShape});
    if (failed(shape) || ArrayRef<int64_t>(*shape) != productType.getShape())
      return ctx.fail("C of shape " + shapeText(cShape) +
                      " does not broadcast to the product's " +
                      shapeText(productType.getShape()));
    operands.push_back(ctx.input(2));
  }
  ctx.setOutput(
      0, buildElementwise(
             b, loc, operands, productType.getShape(), elementType,
             [&](OpBuilder &nb, Location nloc, ValueRange args) -> Value {
               Value result = args[0];
               if (alpha != 1.0)
                 result = mulScalars(
                     nb, nloc, result,
                     scalarConstant(nb, nloc, elementType, alpha));
               if (args.size() > 1) {
                 Value c = args[1];
                 if (beta != 1.0)
                   c = mulScalars(nb, nloc, c,
                                  scalarConstant(nb, nloc, elementType, beta));
                 result = addScalars(nb, nloc, result, c);
               }
               return result;
             }));
  return success();
}

} // namespace

void mlir::sparse_opt::onnx::registerLinearConverters(
    ConverterRegistry &registry) {
  registry.add("MatMul", convertMatMul, 2);
  registry.add("Gemm", convertGemm, 2);
}
