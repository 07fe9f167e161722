//===- AttentionMatch.h - Recognizing attention with a static mask -*- C++
//-*-===//
//
// What sparse-opt-sparse-attention rewrites, found on linalg tensors: the
// product P V whose P is a softmax over the last dimension of scores
// Q K^T, the scores passed through elementwise terms (a scale, masks added
// or applied by select) of which exactly one is a constant: the static
// pattern. The match describes where Q, K and V are read from (through
// the importer's head reshapes and transposes, so that none has to be
// materialized), the terms in order, and the pattern as a compile-time CSR
// matrix. See Passes.td for the accepted forms and the conditions.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSE_OPT_LIB_TRANSFORMS_ATTENTIONMATCH_H
#define SPARSE_OPT_LIB_TRANSFORMS_ATTENTIONMATCH_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/BuiltinAttributes.h"

#include <string>
#include <vector>

namespace mlir::sparse_opt::attention {

/// The logical operand [batch..., rows, depth] of a product (Q, K or V) as
/// a permutation of a tensor `source` with the identity layout: logical
/// dimension l is dimension permutation[l] of source. When the depth is
/// source's innermost dimension, rows are read in place (a strided view of
/// the source's buffer); otherwise the rewrite transposes the source first.
struct OperandView {
  Value source;
  SmallVector<int64_t> permutation;

  RankedTensorType sourceType() const {
    return cast<RankedTensorType>(source.getType());
  }
  /// Logical sizes [batch..., rows, depth].
  SmallVector<int64_t> shape() const;
  /// Whether the depth is unit-stride in the source.
  bool depthContiguous() const {
    return permutation.back() == int64_t(permutation.size()) - 1;
  }
};

/// A node of the expression that an elementwise term applies: an added
/// bias (a sum) or a select condition (a conjunction), with leaves that are
/// the constant pattern, a run-time tensor that depends on the key (and the
/// batch) but not the query, or a scalar constant.
struct ExprNode {
  enum class Kind { Pattern, Runtime, Scalar, Sum, And };
  Kind kind;
  int lhs = -1, rhs = -1; // Sum, And
  int leaf = -1;          // Runtime: index into AttentionMatch::leaves
  TypedAttr scalar;       // Scalar

  static ExprNode pattern() { return {Kind::Pattern, -1, -1, -1, {}}; }
  static ExprNode runtime(int leaf) {
    return {Kind::Runtime, -1, -1, leaf, {}};
  }
  static ExprNode constant(TypedAttr value) {
    return {Kind::Scalar, -1, -1, -1, value};
  }
  static ExprNode binary(Kind kind, int lhs, int rhs) {
    return {kind, lhs, rhs, -1, {}};
  }
};

/// A run-time tensor read by a term: element (batch indices, query i, key
/// j) of the term's iteration space is element offset + sum_b
/// batchCoefficients[b] * index[b] + keyCoefficient * j of the tensor's
/// flattened identity-layout buffer (it does not depend on i).
struct RuntimeLeaf {
  Value tensor;
  SmallVector<int64_t> batchShape; // of the term that reads it
  SmallVector<int64_t> batchCoefficients;
  int64_t keyCoefficient = 0;
};

/// One elementwise operation between the scores product and the softmax,
/// applied in order: x * c, x / c, x + bias, select(condition, x, c).
struct Term {
  enum class Kind { Multiply, Divide, Add, Select };
  Kind kind;
  TypedAttr scalar; // Multiply, Divide: c; Select: the masked value
  int expr = -1;    // Add: the bias; Select: the condition
};

/// The constant pattern as CSR: the allowed keys of each query.
struct MaskPattern {
  int64_t rows = 0, cols = 0;
  std::vector<int32_t> positions;   // rows + 1
  std::vector<int32_t> coordinates; // the allowed keys, sorted per row
  /// The constant's value at each allowed entry (an added mask may hold
  /// more than 0 and -inf, e.g. relative position biases); empty when all
  /// are zero or the constant is a condition.
  std::vector<double> biases;
  /// The value of the entries it masks, when they all hold the same
  /// (needed for rows that run-time masks leave without a key).
  std::optional<double> fill;
  bool condition = false; // a bool constant of a select
  int64_t maxRowLength = 0, emptyRows = 0;

  int64_t nonZeros() const { return int64_t(coordinates.size()); }
  double density() const {
    return rows && cols ? double(nonZeros()) / double(rows * cols) : 0;
  }
};

/// A recognized attention: context = softmax(terms(Q K^T)) V.
struct AttentionMatch {
  linalg::LinalgOp scoresProduct;  // Q K^T
  linalg::LinalgOp contextProduct; // P V
  /// The heads' merge right after the context (through batch reshapes),
  /// [.., heads, seq, d] -> [.., seq, heads, d], when there is one: the
  /// rewrite writes its result instead of the product's (`output` is the
  /// transpose's input, the context with its batch dimensions, as a
  /// permutation of the transpose's result). Else null.
  linalg::TransposeOp outputTranspose;
  OperandView output;
  OperandView q, k, v; // k as [batch..., keys, depth]
  int64_t batch = 1;   // product of the batch dimensions
  int64_t queries = 0, keys = 0, depth = 0, valueDepth = 0;
  FloatType elementType;
  SmallVector<Term> terms;
  SmallVector<ExprNode> nodes;
  SmallVector<RuntimeLeaf> leaves;
  MaskPattern pattern;
  /// `sparse_opt.attention` of the scores product: "sparse", "dense" or
  /// empty.
  std::string forced;

  bool hasRuntimeMasks() const { return !leaves.empty(); }
};

/// The strides of a static tensor of `type` with the identity layout.
SmallVector<int64_t> identityStrides(RankedTensorType type);

/// The attribute by which a user forces ("sparse") or forbids ("dense")
/// the rewrite of one attention, on its scores product Q K^T.
constexpr llvm::StringLiteral kAttentionAttrName = "sparse_opt.attention";

/// Matches the attention whose context product is `op`. Fails with an
/// empty `reason` when `op` is not the product of a softmax (not
/// attention), with a reason when it is attention this form cannot take.
/// `maskedBias`: added values at or below it mask a key.
FailureOr<AttentionMatch> matchAttention(linalg::LinalgOp op, double maskedBias,
                                         std::string &reason);

} // namespace mlir::sparse_opt::attention

#endif // SPARSE_OPT_LIB_TRANSFORMS_ATTENTIONMATCH_H
