//===- Builders.h - IR building blocks shared by the converters -*- C++ -*-===//
//
// Internal to the frontend: broadcasting elementwise linalg.generic,
// reductions, reshapes and transposes on static tensors, and scalar
// arithmetic that works for any element type.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSE_OPT_LIB_FRONTEND_BUILDERS_H
#define SPARSE_OPT_LIB_FRONTEND_BUILDERS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/STLFunctionalExtras.h"

namespace mlir::sparse_opt::onnx {

/// Body of an elementwise op: scalars of the inputs (after broadcasting) to
/// the scalar result.
using ScalarBody =
    llvm::function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// The numpy broadcast of `shapes`, or failure if they are incompatible.
FailureOr<llvm::SmallVector<int64_t>>
broadcastShapes(llvm::ArrayRef<llvm::ArrayRef<int64_t>> shapes);

/// `tensor.empty` of the given shape and element type.
Value emptyTensor(OpBuilder &b, Location loc, llvm::ArrayRef<int64_t> shape,
                  Type elementType);
/// A tensor of `shape` filled with `value` (tensor.empty + linalg.fill).
Value filledTensor(OpBuilder &b, Location loc, llvm::ArrayRef<int64_t> shape,
                   Value value);

/// A scalar constant of `type` (float, integer or index) holding `value`.
Value scalarConstant(OpBuilder &b, Location loc, Type type, double value);
/// The lowest / highest value of `type` (-inf / +inf for floats): the
/// identity of max / min.
Value lowestValue(OpBuilder &b, Location loc, Type type);
Value highestValue(OpBuilder &b, Location loc, Type type);

/// Elementwise `body` over `inputs` broadcast to `resultShape` (the inputs
/// are right-aligned numpy style), as one linalg.generic.
Value buildElementwise(OpBuilder &b, Location loc, ValueRange inputs,
                       llvm::ArrayRef<int64_t> resultShape,
                       Type resultElementType, ScalarBody body);

/// Reduces `input` over `axes` (sorted, unique, non-negative) with
/// `combine`, starting from `init`; `keepDims` keeps them as size 1.
Value buildReduction(OpBuilder &b, Location loc, Value input,
                     llvm::ArrayRef<int64_t> axes, bool keepDims, Value init,
                     ScalarBody combine);

/// `input` viewed with `shape` (same element count): collapse to 1-D and
/// expand, or a single collapse / expand where the ranks allow.
Value reshapeTensor(OpBuilder &b, Location loc, Value input,
                    llvm::ArrayRef<int64_t> shape);

/// Permutes the dimensions of `input`: result dim i is input dim perm[i].
Value transposeTensor(OpBuilder &b, Location loc, Value input,
                      llvm::ArrayRef<int64_t> perm);

/// Pads `input` with `low` / `high` elements of `padValue` per dimension.
Value padTensor(OpBuilder &b, Location loc, Value input,
                llvm::ArrayRef<int64_t> low, llvm::ArrayRef<int64_t> high,
                Value padValue);

// Scalar arithmetic, dispatching on float / integer element types.
Value addScalars(OpBuilder &b, Location loc, Value lhs, Value rhs);
Value subScalars(OpBuilder &b, Location loc, Value lhs, Value rhs);
Value mulScalars(OpBuilder &b, Location loc, Value lhs, Value rhs);
Value divScalars(OpBuilder &b, Location loc, Value lhs, Value rhs);
Value maxScalars(OpBuilder &b, Location loc, Value lhs, Value rhs);
Value minScalars(OpBuilder &b, Location loc, Value lhs, Value rhs);
/// Converts a scalar between element types (ONNX Cast semantics: float to
/// bool is `!= 0`, float to int truncates).
Value castScalar(OpBuilder &b, Location loc, Value value, Type to);

int64_t product(llvm::ArrayRef<int64_t> values);

} // namespace mlir::sparse_opt::onnx

#endif // SPARSE_OPT_LIB_FRONTEND_BUILDERS_H
