//===- AttentionMatch.cpp - Recognizing attention with a static mask ------===//
//
// The forms matched are those sparse-import-onnx emits for BERT-style
// attention (batch_matmul between head reshapes and transposes, the softmax
// as max / sub / exp / sum / div generics, masks as broadcast elementwise
// generics) and what a user writes by hand in MLIR (linalg.matmul or
// batch_matmul, K given transposed or not, linalg.softmax). Matching walks
// backwards from the context product P V.
//
//===----------------------------------------------------------------------===//

#include "AttentionMatch.h"

#include "sparse-opt/Analysis/WeightAnalysis.h"

#include "KernelSupport.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"

#include "llvm/Support/FormatVariadic.h"

#include <cmath>

using namespace mlir;
using namespace mlir::sparse_opt;
using namespace mlir::sparse_opt::attention;

SmallVector<int64_t>
mlir::sparse_opt::attention::identityStrides(RankedTensorType type) {
  SmallVector<int64_t> strides(type.getRank(), 1);
  for (int64_t d = type.getRank() - 2; d >= 0; --d)
    strides[d] = strides[d + 1] * type.getDimSize(d + 1);
  return strides;
}

SmallVector<int64_t> OperandView::shape() const {
  ArrayRef<int64_t> sizes = sourceType().getShape();
  SmallVector<int64_t> logical;
  for (int64_t dim : permutation)
    logical.push_back(sizes[dim]);
  return logical;
}

namespace {

/// The reason a match failed, built as the matcher goes; an empty reason
/// means "not attention at all".
struct Failure {
  std::string &reason;
  LogicalResult operator()(const llvm::Twine &why) {
    reason = why.str();
    return failure();
  }
};

bool isStaticTensor(Value value) {
  auto type = dyn_cast<RankedTensorType>(value.getType());
  return type && type.hasStaticShape() && !type.getEncoding();
}

/// A product of two operands into a zero fill (a fresh result, as the
/// importer writes every MatMul): linalg.matmul (2-D) or batch_matmul
/// (3-D) on static dense tensors.
bool isPlainProduct(Operation *op) {
  if (!isa_and_nonnull<linalg::MatmulOp, linalg::BatchMatmulOp>(op))
    return false;
  auto linalgOp = cast<linalg::LinalgOp>(op);
  return linalgOp.hasPureTensorSemantics() && linalgOp.getNumDpsInputs() == 2 &&
         llvm::all_of(op->getOperands(), isStaticTensor) &&
         kernels::isZeroFilled(linalgOp.getDpsInits()[0]);
}

/// The indexing maps of `op` (a plain product) as they would be with the
/// right operand transposed: A (.., m, k), B (.., n, k).
SmallVector<AffineMap> transposedRightMaps(linalg::LinalgOp op) {
  MLIRContext *context = op.getContext();
  unsigned loops = op.getNumLoops();
  SmallVector<AffineExpr> dims;
  for (unsigned d = 0; d < loops; ++d)
    dims.push_back(getAffineDimExpr(d, context));
  ArrayRef<AffineExpr> batch = ArrayRef(dims).drop_back(3);
  AffineExpr m = dims[loops - 3], n = dims[loops - 2], k = dims[loops - 1];
  auto map = [&](std::initializer_list<AffineExpr> tail) {
    SmallVector<AffineExpr> results(batch);
    results.append(tail);
    return AffineMap::get(loops, 0, results, context);
  };
  return {map({m, k}), map({n, k}), map({m, n})};
}

/// Whether the product's maps are the default ones (B as (.., k, n)).
bool hasDefaultMaps(linalg::LinalgOp op) {
  if (auto matmul = dyn_cast<linalg::MatmulOp>(op.getOperation()))
    return !matmul.hasUserDefinedMaps();
  return !cast<linalg::BatchMatmulOp>(op.getOperation()).hasUserDefinedMaps();
}

/// A reshape that only regroups leading (batch) dimensions: the last two
/// dimensions stay groups of their own.
bool isBatchReshape(Operation *op) {
  SmallVector<ReassociationIndices> groups;
  if (auto collapse = dyn_cast_or_null<tensor::CollapseShapeOp>(op))
    groups = collapse.getReassociationIndices();
  else if (auto expand = dyn_cast_or_null<tensor::ExpandShapeOp>(op))
    groups = expand.getReassociationIndices();
  else
    return false;
  if (groups.size() < 2)
    return false;
  return groups[groups.size() - 1].size() == 1 &&
         groups[groups.size() - 2].size() == 1 &&
         isStaticTensor(op->getResult(0)) && isStaticTensor(op->getOperand(0));
}

/// `value` with batch reshapes looked through; when `singleUse`, only
/// reshapes whose result has this one use.
Value throughBatchReshapes(Value value, bool singleUse) {
  while (Operation *op = value.getDefiningOp()) {
    if (!isBatchReshape(op) || (singleUse && !value.hasOneUse()))
      break;
    value = op->getOperand(0);
  }
  return value;
}

/// Where the rows of the logical operand `operand` ([.., rows, depth], or
/// [.., depth, rows] when `transposed`) are read from: through batch
/// reshapes and transposes to the tensor they permute.
FailureOr<OperandView> traceOperand(Value operand, bool transposed) {
  OperandView view;
  Value value = throughBatchReshapes(operand, /*singleUse=*/false);
  int64_t rank = cast<RankedTensorType>(value.getType()).getRank();
  view.permutation = llvm::to_vector(llvm::seq<int64_t>(0, rank));
  // linalg.transpose: result dimension d is input dimension perm[d].
  while (auto transpose = value.getDefiningOp<linalg::TransposeOp>()) {
    if (!isStaticTensor(transpose.getInput()))
      break;
    ArrayRef<int64_t> perm = transpose.getPermutation();
    for (int64_t &dim : view.permutation)
      dim = perm[dim];
    value = transpose.getInput();
  }
  if (!isStaticTensor(value))
    return failure();
  if (transposed)
    std::swap(view.permutation[rank - 1], view.permutation[rank - 2]);
  view.source = value;
  return view;
}

/// The single operation of `generic`'s body before its yield, when it
/// computes the yielded value.
Operation *singleBodyOp(linalg::GenericOp generic) {
  Block &body = generic.getRegion().front();
  if (body.getOperations().size() != 2)
    return nullptr;
  Operation *op = &body.front();
  auto yield = cast<linalg::YieldOp>(body.getTerminator());
  if (yield.getNumOperands() != 1 || yield.getOperand(0).getDefiningOp() != op)
    return nullptr;
  return op;
}

/// An elementwise generic: all loops parallel, one result with the
/// identity map over them.
bool isElementwise(linalg::GenericOp generic) {
  if (!generic.hasPureTensorSemantics() || generic.getNumDpsInits() != 1 ||
      generic.getNumReductionLoops() != 0)
    return false;
  AffineMap output = generic.getIndexingMapMatchingResult(
      cast<OpResult>(generic->getResult(0)));
  return output.isIdentity() && isStaticTensor(generic->getResult(0));
}

/// The input operand of `generic` whose block argument is `value`, or null.
OpOperand *inputOf(linalg::GenericOp generic, Value value) {
  auto argument = dyn_cast<BlockArgument>(value);
  if (!argument || argument.getOwner() != &generic.getRegion().front() ||
      argument.getArgNumber() >= generic.getNumDpsInputs())
    return nullptr;
  return generic.getDpsInputOperand(argument.getArgNumber());
}

/// The value of a splat constant tensor.
TypedAttr splatOf(Value tensor) {
  DenseElementsAttr elements;
  if (!matchPattern(tensor, m_Constant(&elements)) || !elements.isSplat())
    return {};
  return cast<TypedAttr>(elements.getSplatValue<Attribute>());
}

/// The scalar constant that `value` is inside `generic`'s body: a splat
/// constant input or an arith.constant.
TypedAttr scalarIn(linalg::GenericOp generic, Value value) {
  if (OpOperand *input = inputOf(generic, value))
    return splatOf(input->get());
  TypedAttr scalar;
  if (matchPattern(value, m_Constant(&scalar)) &&
      isa<FloatAttr, IntegerAttr>(scalar))
    return scalar;
  return {};
}

/// Coefficients of the iteration dimensions in the linear index of
/// `tensor` read through `map` (a broadcast: dimensions and zeros).
FailureOr<SmallVector<int64_t>> linearCoefficients(Value tensor,
                                                   AffineMap map) {
  auto type = cast<RankedTensorType>(tensor.getType());
  if (!map.isProjectedPermutation(/*allowZeroInResults=*/true) ||
      map.getNumResults() != unsigned(type.getRank()))
    return failure();
  SmallVector<int64_t> strides = identityStrides(type);
  SmallVector<int64_t> coefficients(map.getNumDims(), 0);
  for (auto [result, expr] : llvm::enumerate(map.getResults()))
    if (auto dim = dyn_cast<AffineDimExpr>(expr))
      coefficients[dim.getPosition()] += strides[result];
  return coefficients;
}

/// What builds the match: the terms, their expressions and the one
/// constant pattern.
class Matcher {
public:
  Matcher(AttentionMatch &match, double maskedBias, std::string &reason)
      : match(match), maskedBias(maskedBias), fail{reason} {}

  LogicalResult matchContext(linalg::LinalgOp op);

private:
  FailureOr<Value> matchSoftmax(Value probabilities);
  LogicalResult matchTerms(Value scores);
  LogicalResult matchScoresProduct(Value scores);
  LogicalResult matchTerm(linalg::GenericOp generic, Value &scores);
  /// Node of the value `tensor` read through `map` over the iteration
  /// space `shape` of a term, as a bias (a sum) or a condition (`bools`).
  FailureOr<int> decompose(Value tensor, AffineMap map, ArrayRef<int64_t> shape,
                           bool bools);
  FailureOr<int> patternLeaf(Value tensor, ElementsAttr elements, AffineMap map,
                             ArrayRef<int64_t> shape, bool bools);
  LogicalResult readPattern(ElementsAttr elements, int64_t queryCoefficient,
                            int64_t keyCoefficient, bool bools);
  LogicalResult checkShapes();
  void matchOutputTranspose();

  /// linearCoefficients, failing with a reason naming `what`.
  FailureOr<SmallVector<int64_t>> coefficientsOf(Value tensor, AffineMap map,
                                                 StringRef what) {
    FailureOr<SmallVector<int64_t>> coefficients =
        linearCoefficients(tensor, map);
    if (failed(coefficients)) {
      (void)fail(what + " is read through a map that is not a broadcast");
      return failure();
    }
    return coefficients;
  }

  int addNode(ExprNode node) {
    match.nodes.push_back(node);
    return int(match.nodes.size()) - 1;
  }

  AttentionMatch &match;
  double maskedBias;
  Failure fail;
  bool havePattern = false;
  unsigned softmaxUses = 1; // of its input, by the softmax matched
  // The scores' iteration shapes seen along the terms.
  SmallVector<SmallVector<int64_t>> termShapes;
};

LogicalResult Matcher::matchContext(linalg::LinalgOp op) {
  if (!isPlainProduct(op) || !hasDefaultMaps(op))
    return failure();
  Value probabilities =
      throughBatchReshapes(op.getDpsInputs()[0], /*singleUse=*/true);
  FailureOr<Value> scores = matchSoftmax(probabilities);
  if (failed(scores))
    return failure(); // not attention: say nothing
  match.contextProduct = op;
  match.elementType = dyn_cast<FloatType>(
      cast<RankedTensorType>(op->getResult(0).getType()).getElementType());
  if (!match.elementType)
    return fail("the attention is not on floats");
  if (!probabilities.hasOneUse())
    return fail("the probabilities have other uses than the context product");
  FailureOr<OperandView> values =
      traceOperand(op.getDpsInputs()[1], /*transposed=*/false);
  if (failed(values))
    return fail("V does not have a static shape");
  match.v = *values;
  if (failed(matchTerms(*scores)))
    return failure();
  if (!havePattern)
    return fail("no constant mask on the scores (nothing static to exploit)");
  if (failed(checkShapes()))
    return failure();
  matchOutputTranspose();
  return success();
}

void Matcher::matchOutputTranspose() {
  Value value = match.contextProduct->getResult(0);
  while (value.hasOneUse() && isBatchReshape(*value.getUsers().begin()))
    value = value.getUsers().begin()->getResult(0);
  if (!value.hasOneUse())
    return;
  auto transpose = dyn_cast<linalg::TransposeOp>(*value.getUsers().begin());
  if (!transpose || transpose.getInput() != value ||
      !transpose.hasPureTensorSemantics() ||
      !isStaticTensor(transpose->getResult(0)))
    return;
  // Input dimension l is result dimension d where perm[d] = l.
  ArrayRef<int64_t> perm = transpose.getPermutation();
  int64_t rank = int64_t(perm.size());
  if (perm.back() != rank - 1)
    return; // the depth would not stay contiguous
  match.output.source = transpose->getResult(0);
  match.output.permutation.assign(rank, 0);
  for (int64_t d = 0; d < rank; ++d)
    match.output.permutation[perm[d]] = d;
  match.outputTranspose = transpose;
}

/// The input X of softmax(X) over the last dimension, given its result:
/// linalg.softmax, or the importer's max / sub / exp / sum / div generics.
FailureOr<Value> Matcher::matchSoftmax(Value probabilities) {
  auto rankOf = [](Value v) {
    return cast<RankedTensorType>(v.getType()).getRank();
  };
  if (auto softmax = probabilities.getDefiningOp<linalg::SoftmaxOp>()) {
    if (!softmax.hasPureTensorSemantics() ||
        int64_t(softmax.getDimension()) != rankOf(softmax.getInput()) - 1)
      return failure();
    softmaxUses = 1;
    return softmax.getInput();
  }
  // An elementwise generic `op(x, reduced)` whose body is one `Op` with x
  // first; returns x and the reduction feeding `reduced`.
  auto binaryWithReduction = [&](Value result, auto opTag, Value &x,
                                 linalg::GenericOp &reduction) {
    auto generic = result.getDefiningOp<linalg::GenericOp>();
    if (!generic || !isElementwise(generic) || generic.getNumDpsInputs() != 2)
      return false;
    auto body = dyn_cast_or_null<decltype(opTag)>(singleBodyOp(generic));
    if (!body)
      return false;
    OpOperand *lhs = inputOf(generic, body.getLhs());
    OpOperand *rhs = inputOf(generic, body.getRhs());
    if (!lhs || !rhs || !generic.getMatchingIndexingMap(lhs).isIdentity())
      return false;
    // The reduced operand: the reduction itself, or expanded by a unit
    // last dimension, broadcast along the last dimension.
    Value reduced = rhs->get();
    if (auto expand = reduced.getDefiningOp<tensor::ExpandShapeOp>())
      reduced = expand.getSrc();
    reduction = reduced.getDefiningOp<linalg::GenericOp>();
    if (!reduction)
      return false;
    AffineMap map = generic.getMatchingIndexingMap(rhs);
    int64_t rank = rankOf(result);
    if (map.getNumResults() == unsigned(rank)) {
      auto last = dyn_cast<AffineConstantExpr>(map.getResult(rank - 1));
      if (!last || last.getValue() != 0)
        return false;
    } else if (map.getNumResults() != unsigned(rank - 1)) {
      return false;
    }
    for (int64_t d = 0; d + 1 < rank; ++d)
      if (map.getResult(d) != getAffineDimExpr(d, map.getContext()))
        return false;
    x = lhs->get();
    return true;
  };
  // A reduction of `input` over its last dimension combining with `Op`
  // into a fill of a constant satisfying `isIdentity`.
  auto isLastReduction = [&](linalg::GenericOp reduction, Value input,
                             auto opTag, auto isIdentity) {
    if (!reduction.hasPureTensorSemantics() ||
        reduction.getNumDpsInputs() != 1 || reduction.getNumDpsInits() != 1 ||
        reduction.getDpsInputs()[0] != input ||
        reduction.getNumReductionLoops() != 1 ||
        reduction.getIteratorTypesArray().back() !=
            utils::IteratorType::reduction)
      return false;
    OpOperand *in = reduction.getDpsInputOperand(0);
    if (!reduction.getMatchingIndexingMap(in).isIdentity())
      return false;
    auto body = dyn_cast_or_null<decltype(opTag)>(singleBodyOp(reduction));
    Block &block = reduction.getRegion().front();
    if (!body ||
        !llvm::is_contained({body.getLhs(), body.getRhs()},
                            block.getArgument(0)) ||
        !llvm::is_contained({body.getLhs(), body.getRhs()},
                            block.getArgument(1)))
      return false;
    auto fill = reduction.getDpsInits()[0].getDefiningOp<linalg::FillOp>();
    FloatAttr value;
    return fill && matchPattern(fill.value(), m_Constant(&value)) &&
           isIdentity(value.getValue());
  };

  Value exponentials, x;
  linalg::GenericOp sum, maximum;
  if (!binaryWithReduction(probabilities, arith::DivFOp(), exponentials, sum) ||
      !isLastReduction(sum, exponentials, arith::AddFOp(),
                       [](const APFloat &v) { return v.isZero(); }))
    return failure();
  auto exp = exponentials.getDefiningOp<linalg::GenericOp>();
  if (!exp || !isElementwise(exp) || exp.getNumDpsInputs() != 1 ||
      !isa_and_nonnull<math::ExpOp>(singleBodyOp(exp)) ||
      !exp.getMatchingIndexingMap(exp.getDpsInputOperand(0)).isIdentity() ||
      !exponentials.hasNUses(2))
    return failure();
  Value shifted = exp.getDpsInputs()[0];
  if (!shifted.hasOneUse() ||
      !binaryWithReduction(shifted, arith::SubFOp(), x, maximum))
    return failure();
  // The maximum starts from -inf or the lowest finite value.
  auto lowest = [](const APFloat &v) {
    return v.isNegative() && (v.isInfinity() || v.isLargest());
  };
  bool maxBody = isLastReduction(maximum, x, arith::MaximumFOp(), lowest) ||
                 isLastReduction(maximum, x, arith::MaxNumFOp(), lowest);
  if (!maxBody)
    return failure();
  softmaxUses = 2; // the maximum and the subtraction
  return x;
}

LogicalResult Matcher::matchTerms(Value scores) {
  // The softmax's input has the uses of the softmax; every value before it
  // must have one.
  Value x = scores;
  if (!x.hasNUses(softmaxUses))
    return fail("the scores feed other operations than the softmax");
  for (bool first = true;; first = false) {
    if (!first && !x.hasOneUse())
      return fail("the scores feed other operations than the softmax");
    Operation *producer = x.getDefiningOp();
    if (isBatchReshape(producer)) {
      x = producer->getOperand(0);
      continue;
    }
    if (isa_and_nonnull<linalg::MatmulOp, linalg::BatchMatmulOp>(producer)) {
      if (!x.hasOneUse())
        return fail("the scores feed other operations than the softmax");
      // Terms were collected from the softmax backwards.
      std::reverse(match.terms.begin(), match.terms.end());
      return matchScoresProduct(x);
    }
    auto generic = dyn_cast_or_null<linalg::GenericOp>(producer);
    if (!generic || !isElementwise(generic))
      return fail("the scores come from " +
                  (producer ? producer->getName().getStringRef().str()
                            : std::string("a block argument")) +
                  ", not a product Q K^T through elementwise terms");
    if (failed(matchTerm(generic, x)))
      return failure();
  }
}

LogicalResult Matcher::matchTerm(linalg::GenericOp generic, Value &scores) {
  Operation *body = singleBodyOp(generic);
  auto shape =
      cast<RankedTensorType>(generic->getResult(0).getType()).getShape();
  termShapes.emplace_back(shape);
  // The scores operand: read with the identity map.
  auto scoresInput = [&](Value blockValue) -> OpOperand * {
    OpOperand *input = inputOf(generic, blockValue);
    if (!input || !generic.getMatchingIndexingMap(input).isIdentity() ||
        splatOf(input->get()))
      return nullptr;
    return input;
  };
  if (!body)
    return fail("an elementwise operation on the scores is not one "
                "arithmetic operation");
  // Terms are seen from the softmax backwards: those collected come later.
  if (isa<arith::AddFOp, arith::SelectOp>(body) &&
      llvm::any_of(match.terms, [](const Term &later) {
        return later.kind == Term::Kind::Multiply ||
               later.kind == Term::Kind::Divide;
      }))
    return fail("the scores are scaled after a mask: masked entries would "
                "not stay masked");
  Term term;
  if (isa<arith::MulFOp, arith::DivFOp>(body)) {
    bool divide = isa<arith::DivFOp>(body);
    Value lhs = body->getOperand(0), rhs = body->getOperand(1);
    OpOperand *input = scoresInput(lhs);
    TypedAttr scalar = scalarIn(generic, rhs);
    if (!divide && (!input || !scalar)) {
      input = scoresInput(rhs);
      scalar = scalarIn(generic, lhs);
    }
    if (!input || !scalar)
      return fail("the scores are scaled by something else than a constant");
    term.kind = divide ? Term::Kind::Divide : Term::Kind::Multiply;
    term.scalar = scalar;
    scores = input->get();
  } else if (isa<arith::AddFOp>(body)) {
    Value lhs = body->getOperand(0), rhs = body->getOperand(1);
    OpOperand *input = scoresInput(lhs);
    Value other = rhs;
    // A constant operand of the scores' shape is a mask, not the scores.
    if (!input ||
        (scoresInput(rhs) && matchPattern(input->get(), m_Constant())))
      std::tie(input, other) = std::make_pair(scoresInput(rhs), lhs);
    if (!input)
      return fail("an addition to the scores has no operand that is them");
    int node;
    if (TypedAttr scalar = scalarIn(generic, other)) {
      node = addNode(ExprNode::constant(scalar));
    } else {
      OpOperand *bias = inputOf(generic, other);
      if (!bias)
        return fail("an addition to the scores adds a value from the body");
      FailureOr<int> decomposed =
          decompose(bias->get(), generic.getMatchingIndexingMap(bias), shape,
                    /*bools=*/false);
      if (failed(decomposed))
        return failure();
      node = *decomposed;
    }
    term.kind = Term::Kind::Add;
    term.expr = node;
    scores = input->get();
  } else if (auto select = dyn_cast<arith::SelectOp>(body)) {
    OpOperand *input = scoresInput(select.getTrueValue());
    OpOperand *condition = inputOf(generic, select.getCondition());
    TypedAttr low = scalarIn(generic, select.getFalseValue());
    if (!input || !condition || !isa_and_nonnull<FloatAttr>(low))
      return fail("a select on the scores is not select(condition, scores, "
                  "constant)");
    if (cast<FloatAttr>(low).getValueAsDouble() > maskedBias)
      return fail(llvm::formatv("a select on the scores replaces them by "
                                "{0}, which does not mask (masked-bias is "
                                "{1})",
                                cast<FloatAttr>(low).getValueAsDouble(),
                                maskedBias));
    FailureOr<int> decomposed =
        decompose(condition->get(), generic.getMatchingIndexingMap(condition),
                  shape, /*bools=*/true);
    if (failed(decomposed))
      return failure();
    term.kind = Term::Kind::Select;
    term.scalar = low;
    term.expr = *decomposed;
    scores = input->get();
  } else {
    return fail("unsupported operation on the scores: " +
                body->getName().getStringRef().str());
  }
  match.terms.push_back(term);
  return success();
}

FailureOr<int> Matcher::decompose(Value tensor, AffineMap map,
                                  ArrayRef<int64_t> shape, bool bools) {
  auto type = cast<RankedTensorType>(tensor.getType());
  Type element = type.getElementType();
  if (bools ? !element.isInteger(1) : element != match.elementType)
    return fail("a mask on the scores is not of the scores' element type");
  if (!type.hasStaticShape())
    return fail("a mask on the scores has a dynamic shape");
  if (TypedAttr scalar = splatOf(tensor)) {
    if (bools) {
      if (!cast<IntegerAttr>(scalar).getValue().isAllOnes())
        return fail("a constant false condition masks every key");
      return addNode(ExprNode::constant(scalar));
    }
    return addNode(ExprNode::constant(scalar));
  }
  ElementsAttr elements;
  if (matchPattern(tensor, m_Constant(&elements)))
    return patternLeaf(tensor, elements, map, shape, bools);
  // A sum (bias) or conjunction (condition) of other terms, e.g. the padding
  // mask and the pattern combined once for every layer.
  if (auto generic = tensor.getDefiningOp<linalg::GenericOp>();
      generic && isElementwise(generic) && generic.getNumDpsInputs() == 2) {
    Operation *body = singleBodyOp(generic);
    if (body && (bools ? isa<arith::AndIOp>(body) : isa<arith::AddFOp>(body))) {
      OpOperand *lhs = inputOf(generic, body->getOperand(0));
      OpOperand *rhs = inputOf(generic, body->getOperand(1));
      if (lhs && rhs) {
        FailureOr<int> left = decompose(
            lhs->get(), generic.getMatchingIndexingMap(lhs).compose(map), shape,
            bools);
        if (failed(left))
          return failure();
        FailureOr<int> right = decompose(
            rhs->get(), generic.getMatchingIndexingMap(rhs).compose(map), shape,
            bools);
        if (failed(right))
          return failure();
        return addNode(ExprNode::binary(
            bools ? ExprNode::Kind::And : ExprNode::Kind::Sum, *left, *right));
      }
    }
  }
  // A run-time tensor: only a key mask (constant along the queries) can be
  // applied to the stored entries alone.
  FailureOr<SmallVector<int64_t>> coefficients =
      coefficientsOf(tensor, map, "a run-time mask");
  if (failed(coefficients))
    return failure();
  int64_t rank = int64_t(shape.size());
  if ((*coefficients)[rank - 2] != 0 && shape[rank - 2] > 1)
    return fail("a run-time term on the scores depends on the query: only "
                "key (padding) masks keep the pattern");
  RuntimeLeaf leaf;
  leaf.tensor = tensor;
  leaf.batchShape.assign(shape.begin(), shape.end() - 2);
  leaf.batchCoefficients.assign(coefficients->begin(), coefficients->end() - 2);
  leaf.keyCoefficient = coefficients->back();
  match.leaves.push_back(leaf);
  return addNode(ExprNode::runtime(int(match.leaves.size()) - 1));
}

FailureOr<int> Matcher::patternLeaf(Value tensor, ElementsAttr elements,
                                    AffineMap map, ArrayRef<int64_t> shape,
                                    bool bools) {
  if (havePattern)
    return fail("more than one constant mask on the scores");
  FailureOr<SmallVector<int64_t>> coefficients =
      coefficientsOf(tensor, map, "the constant mask");
  if (failed(coefficients))
    return failure();
  int64_t rank = int64_t(shape.size());
  for (int64_t d = 0; d + 2 < rank; ++d)
    if ((*coefficients)[d] != 0 && shape[d] > 1)
      return fail("the constant mask differs between batches or heads");
  match.pattern.rows = shape[rank - 2];
  match.pattern.cols = shape[rank - 1];
  if (failed(readPattern(elements, (*coefficients)[rank - 2],
                         (*coefficients)[rank - 1], bools)))
    return failure();
  havePattern = true;
  return addNode(ExprNode::pattern());
}

LogicalResult Matcher::readPattern(ElementsAttr elements,
                                   int64_t queryCoefficient,
                                   int64_t keyCoefficient, bool bools) {
  MaskPattern &pattern = match.pattern;
  pattern.condition = bools;
  pattern.positions.assign(1, 0);
  bool anyBias = false, uniform = true;
  std::optional<double> fill;
  auto scan = [&](auto allowedAt) {
    for (int64_t i = 0; i < pattern.rows; ++i) {
      int64_t rowStart = int64_t(pattern.coordinates.size());
      for (int64_t j = 0; j < pattern.cols; ++j) {
        int64_t at = i * queryCoefficient + j * keyCoefficient;
        double value = 0;
        if (!allowedAt(at, value)) {
          if (!fill)
            fill = value;
          else if (*fill != value && !(std::isnan(*fill) && std::isnan(value)))
            uniform = false;
          continue;
        }
        pattern.coordinates.push_back(int32_t(j));
        pattern.biases.push_back(value);
        anyBias |= value != 0;
      }
      int64_t length = int64_t(pattern.coordinates.size()) - rowStart;
      pattern.maxRowLength = std::max(pattern.maxRowLength, length);
      pattern.emptyRows += length == 0;
      pattern.positions.push_back(int32_t(pattern.coordinates.size()));
    }
  };
  if (pattern.rows * pattern.cols >= (int64_t(1) << 31))
    return fail("the mask has more entries than 32-bit positions hold");
  if (bools) {
    // Dense or sparse elements (a user's `sparse<[[i, j], ...], true>`).
    auto read = elements.tryGetValues<APInt>();
    if (!read)
      return fail("the bool mask constant cannot be read");
    std::vector<bool> values;
    values.reserve(elements.getNumElements());
    for (const APInt &value : *read)
      values.push_back(!value.isZero());
    scan([&](int64_t at, double &value) {
      value = 0;
      return bool(values[at]);
    });
  } else {
    bool read = withFloatElements(elements, [&](auto at) {
      scan([&](int64_t index, double &value) {
        value = at(index);
        return value > maskedBias;
      });
    });
    if (!read)
      return fail("the mask constant cannot be read (an elided resource?)");
  }
  if (!anyBias)
    pattern.biases.clear();
  if (uniform)
    pattern.fill = fill;
  return success();
}

LogicalResult Matcher::matchScoresProduct(Value scores) {
  auto product = cast<linalg::LinalgOp>(scores.getDefiningOp());
  match.scoresProduct = product;
  if (auto forced = product->getAttrOfType<StringAttr>(kAttentionAttrName))
    match.forced = forced.getValue().str();
  if (!isPlainProduct(product))
    return fail("the scores product Q K^T is not a product of static "
                "tensors into a zero fill");
  bool transposedKeys;
  if (hasDefaultMaps(product))
    transposedKeys = true; // K^T as [.., depth, keys]
  else if (product.getIndexingMapsArray() == transposedRightMaps(product))
    transposedKeys = false;
  else
    return fail("the scores product has maps other than Q K^T or Q (K^T)^T");
  FailureOr<OperandView> q =
      traceOperand(product.getDpsInputs()[0], /*transposed=*/false);
  FailureOr<OperandView> k =
      traceOperand(product.getDpsInputs()[1], transposedKeys);
  if (failed(q) || failed(k))
    return fail("Q or K does not have a static shape");
  match.q = *q;
  match.k = *k;
  return success();
}

LogicalResult Matcher::checkShapes() {
  auto elementType = [](Value v) {
    return cast<RankedTensorType>(v.getType()).getElementType();
  };
  auto floatType =
      dyn_cast<FloatType>(elementType(match.contextProduct->getResult(0)));
  for (Value value : {match.q.source, match.k.source, match.v.source,
                      Value(match.scoresProduct->getResult(0))})
    if (!floatType || elementType(value) != floatType)
      return fail("Q, K, V and the scores are not all of one float type");
  match.elementType = floatType;
  auto product = [](ArrayRef<int64_t> sizes) {
    int64_t count = 1;
    for (int64_t size : sizes)
      count *= size;
    return count;
  };
  SmallVector<int64_t> q = match.q.shape(), k = match.k.shape(),
                       v = match.v.shape();
  auto scores =
      cast<RankedTensorType>(match.scoresProduct->getResult(0).getType())
          .getShape();
  auto context =
      cast<RankedTensorType>(match.contextProduct->getResult(0).getType())
          .getShape();
  match.batch = product(ArrayRef(q).drop_back(2));
  match.queries = q[q.size() - 2];
  match.depth = q.back();
  match.keys = k[k.size() - 2];
  match.valueDepth = v.back();
  bool consistent =
      product(ArrayRef(k).drop_back(2)) == match.batch &&
      product(ArrayRef(v).drop_back(2)) == match.batch &&
      product(scores.drop_back(2)) == match.batch &&
      product(context.drop_back(2)) == match.batch && k.back() == match.depth &&
      v[v.size() - 2] == match.keys &&
      scores.take_back(2) == ArrayRef<int64_t>{match.queries, match.keys} &&
      context.take_back(2) ==
          ArrayRef<int64_t>{match.queries, match.valueDepth} &&
      match.pattern.rows == match.queries && match.pattern.cols == match.keys;
  for (ArrayRef<int64_t> shape : termShapes)
    consistent &=
        product(shape.drop_back(2)) == match.batch &&
        shape.take_back(2) == ArrayRef<int64_t>{match.queries, match.keys};
  if (!consistent)
    return fail("the shapes of Q, K, V, the scores and the mask do not "
                "agree");
  return success();
}

} // namespace

FailureOr<AttentionMatch> mlir::sparse_opt::attention::matchAttention(
    linalg::LinalgOp op, double maskedBias, std::string &reason) {
  reason.clear();
  AttentionMatch match;
  Matcher matcher(match, maskedBias, reason);
  if (failed(matcher.matchContext(op)))
    return failure();
  return match;
}
