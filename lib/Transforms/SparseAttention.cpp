//===- SparseAttention.cpp - Attention over a static sparse mask ----------===//
//
// Implements `sparse-opt-sparse-attention`; see Passes.td for the contract.
// A matched attention (AttentionMatch.h) becomes one parallel loop over its
// (batch x head, query) rows. Each row runs the three stages of sparse
// attention over the row's allowed keys only, the mask's CSR row: SDDMM
// (the scores of the allowed keys, Q's row in registers: RowDots, shared
// with the CSR SDDMM kernel), the masked softmax (max, exp, sum over those
// scores) and SpMM (the probabilities times V's rows, in register tiles
// along the head dimension). The stages are fused per row rather than run
// as three kernels over whole score matrices: a row's scores (at most the
// longest mask row) stay in an L1-resident stack buffer between them,
// where three kernels would write and read heads x nnz scores (12 MB per
// BERT-base layer at sequence 1024 with a 257-key window) through memory.
//
//===----------------------------------------------------------------------===//

#include "sparse-opt/Transforms/Passes.h"

#include "AttentionMatch.h"
#include "KernelSupport.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

#include "llvm/Support/FormatVariadic.h"

namespace mlir::sparse_opt {
#define GEN_PASS_DEF_SPARSEOPTSPARSEATTENTION
#include "sparse-opt/Transforms/Passes.h.inc"
} // namespace mlir::sparse_opt

using namespace mlir;
using namespace mlir::sparse_opt;
using namespace mlir::sparse_opt::attention;
using namespace mlir::sparse_opt::kernels;

namespace {

struct KernelOptions {
  unsigned lanesFor32Bit;
  unsigned nTile;
  unsigned minParallelWork;
  double maskedBias;
};

/// A flat read-only buffer with the strides of its rows.
struct RowsBuffer {
  Value flat;
  SmallVector<int64_t> batchShape, batchStrides;
  int64_t rowStride = 0;
};

/// Emits the fused kernel of one match in place of its context product.
class AttentionKernel {
public:
  AttentionKernel(const AttentionMatch &match, const KernelOptions &options,
                  SmallVectorImpl<Operation *> &exponentials)
      : m(match), options(options), exponentials(exponentials),
        lanes(lanesFor(options.lanesFor32Bit, match.elementType)),
        group(RowDots::groupFor(lanes)) {}

  void emit(PatternRewriter &rewriter);

private:
  /// Per row: the stored scores (mask entries [begin, end)) and where the
  /// row's operands start.
  struct Row {
    Value query, begin, count;
    Value keyBatch, valueBatch, output;
    SmallVector<Value> leafBases;
    Value scores; // stack buffer of the stored entries' masked scores
  };
  /// How a group of scores is masked: at stored entries (`position`, the
  /// first one's index in the mask) or at keys the mask excludes.
  struct Entries {
    bool stored;
    Value position;
    Value keys; // vector of the group's key indices (i32), when needed
    Value mask; // null: the whole group
  };

  RowsBuffer rowsOf(PatternRewriter &rewriter, Location loc,
                    const OperandView &view, bool pack);
  static RowsBuffer stridedRows(ArrayRef<int64_t> permutation,
                                RankedTensorType type);
  Value constantBuffer(OpBuilder &b, Location loc, ArrayRef<int32_t> values);
  void emitRow(OpBuilder &b, Location loc, Value row);
  void prefetchNextRow(OpBuilder &b, Location loc, Value row);
  Value scoreGroups(OpBuilder &b, Location loc, const Row &r, bool stored,
                    Value buffer, Value count);
  Value applyTerms(OpBuilder &b, Location loc, const Row &r, Value x,
                   const Entries &entries);
  Value bias(OpBuilder &b, Location loc, const Row &r, int node,
             const Entries &entries);
  Value condition(OpBuilder &b, Location loc, const Row &r, int node,
                  const Entries &entries);
  Value evaluate(int node, function_ref<Value(const ExprNode &)> leaf,
                 function_ref<Value(Value, Value)> join);
  Value gather(OpBuilder &b, Location loc, const Row &r, int leaf,
               const Entries &entries);
  void
  softmaxTimesValues(OpBuilder &b, Location loc, const Row &r, Value scores,
                     Value count, Value maximum,
                     function_ref<Value(OpBuilder &, Location, Value)> keyOf);
  void emitDenseRow(OpBuilder &b, Location loc, const Row &r);

  Value linear(OpBuilder &b, Location loc, Value batch, ArrayRef<int64_t> shape,
               ArrayRef<int64_t> coefficients);
  Value splat(OpBuilder &b, Location loc, VectorType type, double value);
  Value splat(OpBuilder &b, Location loc, VectorType type, TypedAttr value);
  VectorType groupType() const {
    return VectorType::get({int64_t(group)}, m.elementType);
  }
  VectorType laneType() const {
    return VectorType::get({int64_t(lanes)}, m.elementType);
  }

  const AttentionMatch &m;
  const KernelOptions &options;
  SmallVectorImpl<Operation *> &exponentials;
  unsigned lanes, group;
  RowsBuffer q, k, v, out;
  Value positions, coordinates, biases;
  SmallVector<Value> leafBuffers;
  std::optional<RowDots> dots;
};

Value AttentionKernel::splat(OpBuilder &b, Location loc, VectorType type,
                             double value) {
  return arith::ConstantOp::create(
      b, loc, type,
      DenseElementsAttr::get(type,
                             b.getFloatAttr(type.getElementType(), value)));
}

Value AttentionKernel::splat(OpBuilder &b, Location loc, VectorType type,
                             TypedAttr value) {
  return arith::ConstantOp::create(b, loc, type,
                                   DenseElementsAttr::get(type, value));
}

RowsBuffer AttentionKernel::rowsOf(PatternRewriter &rewriter, Location loc,
                                   const OperandView &view, bool pack) {
  Value source = view.source;
  SmallVector<int64_t> permutation = view.permutation;
  // Rows must be unit-stride for vector loads: transpose the source once
  // when they are not (K given as K^T by a user, say). With `pack`, also
  // when one batch entry's rows are not adjacent: the importer's heads,
  // [batch, seq, heads, depth], put a head's rows heads x depth floats
  // apart, and K's and V's rows, read again by every query that allows
  // them, then map to a quarter of the L2 sets (a 3 KB stride on a 512 KB
  // 8-way L2: 128 KB usable) and miss there once a pattern's keys span
  // more; one copy per call is cheaper (measured: 10-20% faster at
  // sequence 512-1024, docs/performance.md).
  bool adjacentRows = stridedRows(permutation, view.sourceType()).rowStride ==
                      view.shape().back();
  if (!view.depthContiguous() || (pack && !adjacentRows)) {
    Value init =
        tensor::EmptyOp::create(rewriter, loc, view.shape(), m.elementType);
    source =
        linalg::TransposeOp::create(rewriter, loc, source, init, permutation)
            ->getResult(0);
    permutation = llvm::to_vector(llvm::seq<int64_t>(0, permutation.size()));
  }
  RowsBuffer rows =
      stridedRows(permutation, cast<RankedTensorType>(source.getType()));
  rows.flat =
      flattenBuffer(rewriter, loc, readOnlyBuffer(rewriter, loc, source));
  return rows;
}

/// The strides of the logical rows, [batch..., rows, depth] as
/// `permutation` of a tensor of `type` with the identity layout.
RowsBuffer AttentionKernel::stridedRows(ArrayRef<int64_t> permutation,
                                        RankedTensorType type) {
  SmallVector<int64_t> strides = identityStrides(type);
  RowsBuffer rows;
  for (size_t l = 0; l + 2 < permutation.size(); ++l) {
    rows.batchShape.push_back(type.getDimSize(permutation[l]));
    rows.batchStrides.push_back(strides[permutation[l]]);
  }
  rows.rowStride = strides[permutation[permutation.size() - 2]];
  return rows;
}

Value AttentionKernel::constantBuffer(OpBuilder &b, Location loc,
                                      ArrayRef<int32_t> values) {
  auto type = RankedTensorType::get({int64_t(values.size())}, b.getI32Type());
  Value constant = arith::ConstantOp::create(
      b, loc, type, DenseElementsAttr::get(type, values));
  return readOnlyBuffer(b, loc, constant);
}

/// sum_b coefficients[b] * index_b over the row-major indices of `batch`
/// in `shape` (the last index varies fastest).
Value AttentionKernel::linear(OpBuilder &b, Location loc, Value batch,
                              ArrayRef<int64_t> shape,
                              ArrayRef<int64_t> coefficients) {
  Value sum = indexConstant(b, loc, 0);
  Value rest = batch;
  for (int64_t d = int64_t(shape.size()) - 1; d >= 0; --d) {
    if (shape[d] == 1)
      continue;
    Value size = indexConstant(b, loc, shape[d]);
    Value index = b.createOrFold<arith::RemUIOp>(loc, rest, size);
    rest = b.createOrFold<arith::DivUIOp>(loc, rest, size);
    if (coefficients[d] != 0)
      sum = b.createOrFold<arith::AddIOp>(
          loc, sum,
          b.createOrFold<arith::MulIOp>(
              loc, index, indexConstant(b, loc, coefficients[d])));
  }
  return sum;
}

void AttentionKernel::emit(PatternRewriter &rewriter) {
  linalg::LinalgOp op = m.contextProduct;
  Location loc = op.getLoc();
  rewriter.setInsertionPoint(op);
  // Q's rows are read once each (and prefetched): read in place.
  q = rowsOf(rewriter, loc, m.q, /*pack=*/false);
  k = rowsOf(rewriter, loc, m.k, /*pack=*/true);
  v = rowsOf(rewriter, loc, m.v, /*pack=*/true);
  const MaskPattern &pattern = m.pattern;
  positions = constantBuffer(rewriter, loc, pattern.positions);
  coordinates = constantBuffer(rewriter, loc, pattern.coordinates);
  if (!pattern.biases.empty()) {
    auto type = RankedTensorType::get({pattern.nonZeros()}, m.elementType);
    SmallVector<Attribute> values;
    for (double bias : pattern.biases)
      values.push_back(rewriter.getFloatAttr(m.elementType, bias));
    biases = readOnlyBuffer(
        rewriter, loc,
        arith::ConstantOp::create(rewriter, loc, type,
                                  DenseElementsAttr::get(type, values)));
  }
  for (const RuntimeLeaf &leaf : m.leaves) {
    Value tensor = leaf.tensor;
    auto type = cast<RankedTensorType>(tensor.getType());
    if (type.getElementType().isInteger(1)) {
      // Vectors of i1 are bits in LLVM but memrefs keep a byte per i1:
      // gather bytes instead.
      auto bytes = RankedTensorType::get(type.getShape(), rewriter.getI8Type());
      Value init = tensor::EmptyOp::create(rewriter, loc, type.getShape(),
                                           rewriter.getI8Type());
      unsigned rank = type.getRank();
      AffineMap identity = rewriter.getMultiDimIdentityMap(rank);
      tensor =
          linalg::GenericOp::create(
              rewriter, loc, bytes, tensor, init,
              ArrayRef<AffineMap>{identity, identity},
              SmallVector<utils::IteratorType>(rank,
                                               utils::IteratorType::parallel),
              [&](OpBuilder &nb, Location nl, ValueRange args) {
                linalg::YieldOp::create(nb, nl,
                                        ValueRange{arith::ExtUIOp::create(
                                            nb, nl, nb.getI8Type(), args[0])});
              })
              ->getResult(0);
    }
    leafBuffers.push_back(
        flattenBuffer(rewriter, loc, readOnlyBuffer(rewriter, loc, tensor)));
  }
  // The context goes to a fresh buffer: the product's, or, when the heads
  // are merged right after it, the merge's (a strided view of the rows;
  // the transpose is not computed).
  ProductResult result;
  if (m.outputTranspose) {
    auto type = cast<RankedTensorType>(m.output.source.getType());
    result.buffer = memref::AllocOp::create(
        rewriter, loc, MemRefType::get(type.getShape(), m.elementType),
        ValueRange{}, rewriter.getI64IntegerAttr(64));
    out = stridedRows(m.output.permutation, type);
  } else {
    result = createProductResult(op, ValueRange{}, rewriter);
    auto type = cast<RankedTensorType>(op->getResult(0).getType());
    out = stridedRows(llvm::to_vector(llvm::seq<int64_t>(0, type.getRank())),
                      type);
  }
  out.flat = flattenBuffer(rewriter, loc, result.buffer);

  // Work per call: every stored entry's dot product and its share of the
  // context row, in vector steps.
  int64_t steps = m.batch * pattern.nonZeros() *
                  (llvm::divideCeil(m.depth, lanes) +
                   llvm::divideCeil(m.valueDepth, lanes));
  ParallelWork work;
  if (options.minParallelWork)
    work = {indexConstant(rewriter, loc, steps), options.minParallelWork};
  forEachParallel(
      rewriter, loc, indexConstant(rewriter, loc, m.batch * m.queries),
      [&](OpBuilder &b, Location l, Value row) { emitRow(b, l, row); }, work);
  if (m.outputTranspose)
    rewriter.replaceOpWithNewOp<bufferization::ToTensorOp>(
        m.outputTranspose, m.output.source.getType(), result.buffer,
        /*restrict=*/rewriter.getUnitAttr(),
        /*writable=*/rewriter.getUnitAttr());
  else
    replaceWithResult(op, result, rewriter);
}

/// Prefetches what the next row reads first and this one did not: its
/// row of Q, and the rows of K and V at its last allowed key (a window's
/// leading edge). Rows run head by head, and in the importer's layout
/// ([batch, seq, heads, depth]) one head's rows are heads x depth apart,
/// a stride the hardware prefetchers do not follow across pages: without
/// this every row started with cache misses on Q, K and V (perf: 16% of a
/// window-32 call on its first load of Q).
void AttentionKernel::prefetchNextRow(OpBuilder &b, Location loc, Value row) {
  Value next = arith::MinUIOp::create(
      b, loc, arith::AddIOp::create(b, loc, row, indexConstant(b, loc, 1)),
      indexConstant(b, loc, m.batch * m.queries - 1));
  Value queries = indexConstant(b, loc, m.queries);
  Value batch = arith::DivUIOp::create(b, loc, next, queries);
  Value query = arith::RemUIOp::create(b, loc, next, queries);
  auto prefetchRow = [&](const RowsBuffer &rows, Value start, int64_t depth) {
    unsigned bits = FloatType(m.elementType).getWidth();
    prefetchVectors(b, loc, rows.flat, llvm::divideCeil(depth, lanes), lanes,
                    bits, [&](unsigned vector) {
                      return b.createOrFold<arith::AddIOp>(
                          loc, start, indexConstant(b, loc, vector * lanes));
                    });
  };
  prefetchRow(q,
              arith::AddIOp::create(
                  b, loc, linear(b, loc, batch, q.batchShape, q.batchStrides),
                  arith::MulIOp::create(b, loc, query,
                                        indexConstant(b, loc, q.rowStride))),
              m.depth);
  if (m.pattern.nonZeros() == 0)
    return;
  // The last stored entry up to the next row's end (an earlier row's when
  // the next row is empty).
  Value end = toIndex(
      b, loc,
      memref::LoadOp::create(b, loc, positions,
                             ValueRange{arith::AddIOp::create(
                                 b, loc, query, indexConstant(b, loc, 1))}));
  Value lastEntry = arith::SubIOp::create(
      b, loc, arith::MaxUIOp::create(b, loc, end, indexConstant(b, loc, 1)),
      indexConstant(b, loc, 1));
  Value key =
      toIndex(b, loc, memref::LoadOp::create(b, loc, coordinates, lastEntry));
  auto keyRow = [&](const RowsBuffer &rows) {
    return arith::AddIOp::create(
        b, loc, linear(b, loc, batch, rows.batchShape, rows.batchStrides),
        arith::MulIOp::create(b, loc, key,
                              indexConstant(b, loc, rows.rowStride)));
  };
  prefetchRow(k, keyRow(k), m.depth);
  prefetchRow(v, keyRow(v), m.valueDepth);
}

void AttentionKernel::emitRow(OpBuilder &b, Location loc, Value row) {
  Row r;
  Value queries = indexConstant(b, loc, m.queries);
  Value batch = b.createOrFold<arith::DivUIOp>(loc, row, queries);
  r.query = b.createOrFold<arith::RemUIOp>(loc, row, queries);
  auto rowStart = [&](const RowsBuffer &rows) {
    return linear(b, loc, batch, rows.batchShape, rows.batchStrides);
  };
  Value queryRow = b.createOrFold<arith::AddIOp>(
      loc, rowStart(q),
      b.createOrFold<arith::MulIOp>(loc, r.query,
                                    indexConstant(b, loc, q.rowStride)));
  r.keyBatch = rowStart(k);
  r.valueBatch = rowStart(v);
  r.output = b.createOrFold<arith::AddIOp>(
      loc, rowStart(out),
      b.createOrFold<arith::MulIOp>(loc, r.query,
                                    indexConstant(b, loc, out.rowStride)));
  for (const RuntimeLeaf &leaf : m.leaves)
    r.leafBases.push_back(
        linear(b, loc, batch, leaf.batchShape, leaf.batchCoefficients));
  r.begin = toIndex(b, loc, memref::LoadOp::create(b, loc, positions, r.query));
  Value end = toIndex(
      b, loc,
      memref::LoadOp::create(b, loc, positions,
                             ValueRange{arith::AddIOp::create(
                                 b, loc, r.query, indexConstant(b, loc, 1))}));
  r.count = arith::SubIOp::create(b, loc, end, r.begin);
  // The row's scores on the stack: the longest mask row, rounded up to
  // whole vectors.
  int64_t vector = std::max(lanes, group);
  r.scores = memref::AllocaOp::create(
      b, loc,
      MemRefType::get(
          {int64_t(llvm::alignTo(std::max<int64_t>(m.pattern.maxRowLength, 1),
                                 vector))},
          m.elementType));

  dots.emplace(MatrixRows{q.flat, /*flat=*/true},
               MatrixRows{k.flat, /*flat=*/true},
               indexConstant(b, loc, m.depth), m.depth, lanes, m.elementType);
  dots->setRow(b, loc, queryRow);
  prefetchNextRow(b, loc, row);

  // SDDMM at the stored entries, with the terms (scale, masks) applied.
  Value maximum = scoreGroups(b, loc, r, /*stored=*/true, r.scores, r.count);
  auto sparse = [&](OpBuilder &sb, Location sl) {
    softmaxTimesValues(
        sb, sl, r, r.scores, r.count, maximum,
        [&](OpBuilder &kb, Location kl, Value t) {
          Value entry = arith::AddIOp::create(kb, kl, r.begin, t);
          return toIndex(kb, kl,
                         memref::LoadOp::create(kb, kl, coordinates, entry));
        });
  };
  // A row whose stored scores are all masked (run-time masks hide every
  // allowed key, or the mask row is empty) has a softmax over all keys in
  // the dense graph: run that row densely instead. The scores and other
  // biases are assumed far from masked-bias (|x| < |masked-bias| / 2),
  // which the dense graph's masking relies on as well.
  if (m.hasRuntimeMasks() || m.pattern.emptyRows > 0) {
    Value regular = arith::CmpFOp::create(
        b, loc, arith::CmpFPredicate::OGT, maximum,
        arith::ConstantOp::create(
            b, loc, b.getFloatAttr(m.elementType, options.maskedBias / 2)));
    scf::IfOp::create(
        b, loc, regular,
        [&](OpBuilder &tb, Location tl) {
          sparse(tb, tl);
          scf::YieldOp::create(tb, tl);
        },
        [&](OpBuilder &eb, Location el) {
          emitDenseRow(eb, el, r);
          scf::YieldOp::create(eb, el);
        });
    return;
  }
  sparse(b, loc);
}

/// Scores of groups of entries: the stored ones (`stored`, entries [begin,
/// end) of the row) or all keys [0, count); dot products of Q's row with
/// K's rows, the terms applied, written to `buffer` from index 0. Returns
/// their maximum.
Value AttentionKernel::scoreGroups(OpBuilder &b, Location loc, const Row &r,
                                   bool stored, Value buffer, Value count) {
  VectorType type = groupType();
  auto lowest = APFloat::getInf(m.elementType.getFloatSemantics(),
                                /*Negative=*/true);
  Value initial = arith::ConstantOp::create(
      b, loc, type,
      DenseElementsAttr::get(type, b.getFloatAttr(m.elementType, lowest)));
  Value last = arith::SubIOp::create(b, loc, count, indexConstant(b, loc, 1));
  Value maxima = emitLaneReduction(
      b, loc, indexConstant(b, loc, 0), count, group, initial,
      [&](OpBuilder &gb, Location gl, Value first, Value mask,
          Value accumulator) -> Value {
        bool whole = matchPattern(mask, m_One());
        Entries entries{stored, Value(), Value(), whole ? Value() : mask};
        // The group's keys; past the end (the masked tail) the last one,
        // whose rows can be read.
        SmallVector<Value> keyRows;
        for (unsigned l = 0; l < group; ++l) {
          Value index =
              arith::AddIOp::create(gb, gl, first, indexConstant(gb, gl, l));
          if (!whole)
            index = arith::MinUIOp::create(gb, gl, index, last);
          Value key = index;
          if (stored)
            key = toIndex(
                gb, gl,
                memref::LoadOp::create(
                    gb, gl, coordinates,
                    ValueRange{arith::AddIOp::create(gb, gl, r.begin, index)}));
          keyRows.push_back(arith::AddIOp::create(
              gb, gl, r.keyBatch,
              arith::MulIOp::create(gb, gl, key,
                                    indexConstant(gb, gl, k.rowStride))));
        }
        Value scores = dots->groupDots(gb, gl, keyRows);
        auto keyType = VectorType::get({int64_t(group)}, gb.getI32Type());
        if (stored) {
          entries.position = arith::AddIOp::create(gb, gl, r.begin, first);
          if (m.hasRuntimeMasks())
            entries.keys = loadVector(gb, gl, keyType, coordinates,
                                      {entries.position}, entries.mask);
        } else if (m.hasRuntimeMasks()) {
          SmallVector<APInt> offsets;
          for (unsigned l = 0; l < group; ++l)
            offsets.push_back(APInt(32, l));
          Value start =
              arith::IndexCastUIOp::create(gb, gl, gb.getI32Type(), first);
          entries.keys = arith::AddIOp::create(
              gb, gl, vector::BroadcastOp::create(gb, gl, keyType, start),
              arith::ConstantOp::create(
                  gb, gl, keyType, DenseElementsAttr::get(keyType, offsets)));
        }
        scores = applyTerms(gb, gl, r, scores, entries);
        storeVector(gb, gl, scores, buffer, {first}, entries.mask);
        if (entries.mask)
          scores =
              arith::SelectOp::create(gb, gl, entries.mask, scores, initial);
        return arith::MaximumFOp::create(gb, gl, accumulator, scores);
      });
  return vector::ReductionOp::create(b, loc, vector::CombiningKind::MAXIMUMF,
                                     maxima);
}

/// The terms between the product and the softmax, in order, on a group of
/// scores.
Value AttentionKernel::applyTerms(OpBuilder &b, Location loc, const Row &r,
                                  Value x, const Entries &entries) {
  auto type = cast<VectorType>(x.getType());
  for (const Term &term : m.terms) {
    switch (term.kind) {
    case Term::Kind::Multiply:
      x = arith::MulFOp::create(b, loc, x, splat(b, loc, type, term.scalar));
      break;
    case Term::Kind::Divide:
      x = arith::DivFOp::create(b, loc, x, splat(b, loc, type, term.scalar));
      break;
    case Term::Kind::Add:
      if (Value added = bias(b, loc, r, term.expr, entries))
        x = arith::AddFOp::create(b, loc, x, added);
      break;
    case Term::Kind::Select:
      if (Value kept = condition(b, loc, r, term.expr, entries))
        x = arith::SelectOp::create(b, loc, kept, x,
                                    splat(b, loc, type, term.scalar));
      break;
    }
  }
  return x;
}

/// The expression of `node` on the group: `leaf` at its leaves, `join` at
/// its sums or conjunctions. Null stands for the neutral value (a zero
/// bias, a true condition) and is left out.
Value AttentionKernel::evaluate(int node,
                                function_ref<Value(const ExprNode &)> leaf,
                                function_ref<Value(Value, Value)> join) {
  const ExprNode &n = m.nodes[node];
  if (n.kind != ExprNode::Kind::Sum && n.kind != ExprNode::Kind::And)
    return leaf(n);
  Value lhs = evaluate(n.lhs, leaf, join);
  Value rhs = evaluate(n.rhs, leaf, join);
  if (!lhs || !rhs)
    return lhs ? lhs : rhs;
  return join(lhs, rhs);
}

/// The added bias of `node` on the group, or null where it is zero (the
/// stored entries of a mask of zeros and -inf).
Value AttentionKernel::bias(OpBuilder &b, Location loc, const Row &r, int node,
                            const Entries &entries) {
  VectorType type = groupType();
  auto leaf = [&](const ExprNode &n) -> Value {
    switch (n.kind) {
    case ExprNode::Kind::Pattern:
      if (!entries.stored)
        return splat(b, loc, type, *m.pattern.fill);
      if (!biases)
        return Value();
      return loadVector(b, loc, type, biases, {entries.position}, entries.mask);
    case ExprNode::Kind::Runtime:
      return gather(b, loc, r, n.leaf, entries);
    case ExprNode::Kind::Scalar:
      return splat(b, loc, type, n.scalar);
    default:
      llvm_unreachable("not a leaf");
    }
  };
  return evaluate(node, leaf, [&](Value lhs, Value rhs) -> Value {
    return arith::AddFOp::create(b, loc, lhs, rhs);
  });
}

/// The condition of `node` on the group, or null where it is true (the
/// stored entries of a constant mask).
Value AttentionKernel::condition(OpBuilder &b, Location loc, const Row &r,
                                 int node, const Entries &entries) {
  auto type = VectorType::get({int64_t(group)}, b.getI1Type());
  auto leaf = [&](const ExprNode &n) -> Value {
    switch (n.kind) {
    case ExprNode::Kind::Pattern:
      if (entries.stored)
        return Value();
      return arith::ConstantOp::create(b, loc, type,
                                       DenseElementsAttr::get(type, false));
    case ExprNode::Kind::Runtime: {
      Value bytes = gather(b, loc, r, n.leaf, entries);
      auto byteType = cast<VectorType>(bytes.getType());
      return arith::CmpIOp::create(
          b, loc, arith::CmpIPredicate::ne, bytes,
          arith::ConstantOp::create(
              b, loc, byteType,
              DenseElementsAttr::get(byteType, b.getI8IntegerAttr(0))));
    }
    case ExprNode::Kind::Scalar:
      return Value(); // a true splat (a false one is not matched)
    default:
      llvm_unreachable("not a leaf");
    }
  };
  return evaluate(node, leaf, [&](Value lhs, Value rhs) -> Value {
    return arith::AndIOp::create(b, loc, lhs, rhs);
  });
}

/// A run-time key mask at the group's keys.
Value AttentionKernel::gather(OpBuilder &b, Location loc, const Row &r,
                              int leaf, const Entries &entries) {
  const RuntimeLeaf &l = m.leaves[leaf];
  Value buffer = leafBuffers[leaf];
  Type element = cast<MemRefType>(buffer.getType()).getElementType();
  auto type = VectorType::get({int64_t(group)}, element);
  Value base = r.leafBases[leaf];
  if (l.keyCoefficient == 0)
    return vector::BroadcastOp::create(
        b, loc, type, memref::LoadOp::create(b, loc, buffer, base));
  Value keys = entries.keys;
  if (l.keyCoefficient != 1) {
    auto keyType = cast<VectorType>(keys.getType());
    keys = arith::MulIOp::create(
        b, loc, keys,
        arith::ConstantOp::create(
            b, loc, keyType,
            DenseElementsAttr::get(
                keyType, b.getI32IntegerAttr(int32_t(l.keyCoefficient)))));
  }
  auto maskType = VectorType::get({int64_t(group)}, b.getI1Type());
  Value mask =
      entries.mask
          ? entries.mask
          : arith::ConstantOp::create(b, loc, maskType,
                                      DenseElementsAttr::get(maskType, true))
                .getResult();
  return vector::GatherOp::create(b, loc, type, buffer, ValueRange{base}, keys,
                                  mask, zeroVector(b, loc, type));
}

/// The softmax of the `count` scores in `scores` (whose maximum is
/// `maximum`) times V's rows of their keys (`keyOf(t)` for score t) into
/// the row's output: the exponentials overwrite the scores, the products
/// accumulate in register tiles along V's depth, which are scaled by the
/// reciprocal of the exponentials' sum when stored.
void AttentionKernel::softmaxTimesValues(
    OpBuilder &b, Location loc, const Row &r, Value scores, Value count,
    Value maximum, function_ref<Value(OpBuilder &, Location, Value)> keyOf) {
  VectorType type = laneType();
  Value shift = vector::BroadcastOp::create(b, loc, type, maximum);
  Value sum = emitVectorSum(
      b, loc, indexConstant(b, loc, 0), count, lanes, m.elementType,
      [&](OpBuilder &lb, Location ll, Value t, Value mask,
          Value accumulator) -> Value {
        bool whole = matchPattern(mask, m_One());
        Value x = loadVector(lb, ll, type, scores, {t}, mask);
        auto exp = math::ExpOp::create(lb, ll,
                                       arith::SubFOp::create(lb, ll, x, shift));
        exponentials.push_back(exp);
        Value e = exp;
        storeVector(lb, ll, e, scores, {t}, mask);
        if (!whole) // exp(0 - max) in the masked-off lanes
          e = arith::SelectOp::create(lb, ll, mask, e,
                                      zeroVector(lb, ll, type));
        return arith::AddFOp::create(lb, ll, accumulator, e);
      });
  Value scale = vector::BroadcastOp::create(
      b, loc, type,
      arith::DivFOp::create(
          b, loc,
          arith::ConstantOp::create(b, loc, b.getFloatAttr(m.elementType, 1.0)),
          sum));
  emitColumnTiles(
      b, loc, indexConstant(b, loc, 0), indexConstant(b, loc, m.valueDepth),
      lanes, options.nTile,
      [&](OpBuilder &tb, Location tl, Value column, unsigned vectors,
          Value mask) {
        SmallVector<Value> initial(vectors, zeroVector(tb, tl, type));
        Value columnStart = arith::AddIOp::create(tb, tl, r.valueBatch, column);
        auto loop = scf::ForOp::create(
            tb, tl, indexConstant(tb, tl, 0), count, indexConstant(tb, tl, 1),
            initial,
            [&](OpBuilder &lb, Location ll, Value t, ValueRange accumulators) {
              Value p = memref::LoadOp::create(lb, ll, scores, t);
              Value base = arith::AddIOp::create(
                  lb, ll, columnStart,
                  arith::MulIOp::create(lb, ll, keyOf(lb, ll, t),
                                        indexConstant(lb, ll, v.rowStride)));
              scf::YieldOp::create(lb, ll,
                                   broadcastMultiplyAdd(lb, ll, p, v.flat, base,
                                                        lanes, mask,
                                                        accumulators));
            });
        Value outputStart = arith::AddIOp::create(tb, tl, r.output, column);
        for (auto [index, accumulator] : llvm::enumerate(loop.getResults())) {
          Value at = arith::AddIOp::create(
              tb, tl, outputStart, indexConstant(tb, tl, index * lanes));
          storeVector(tb, tl, arith::MulFOp::create(tb, tl, accumulator, scale),
                      out.flat, {at}, mask);
        }
      });
}

/// The dense graph's row for a row without an unmasked stored score: the
/// scores of every key, with the terms as they are at keys the constant
/// mask excludes, then the stored entries' scores put in their places.
void AttentionKernel::emitDenseRow(OpBuilder &b, Location loc, const Row &r) {
  Value keys = indexConstant(b, loc, m.keys);
  Value all = memref::AllocaOp::create(
      b, loc,
      MemRefType::get({int64_t(llvm::alignTo(m.keys, std::max(lanes, group)))},
                      m.elementType));
  scoreGroups(b, loc, r, /*stored=*/false, all, keys);
  emitLoop(b, loc, indexConstant(b, loc, 0), r.count, indexConstant(b, loc, 1),
           [&](OpBuilder &lb, Location ll, Value t) {
             Value key = toIndex(
                 lb, ll,
                 memref::LoadOp::create(
                     lb, ll, coordinates,
                     ValueRange{arith::AddIOp::create(lb, ll, r.begin, t)}));
             memref::StoreOp::create(
                 lb, ll, memref::LoadOp::create(lb, ll, r.scores, t), all, key);
           });
  VectorType type = laneType();
  auto lowest = APFloat::getInf(m.elementType.getFloatSemantics(),
                                /*Negative=*/true);
  Value initial = arith::ConstantOp::create(
      b, loc, type,
      DenseElementsAttr::get(type, b.getFloatAttr(m.elementType, lowest)));
  Value maxima = emitLaneReduction(
      b, loc, indexConstant(b, loc, 0), keys, lanes, initial,
      [&](OpBuilder &lb, Location ll, Value t, Value mask,
          Value accumulator) -> Value {
        Value x = loadVector(lb, ll, type, all, {t}, mask);
        if (!matchPattern(mask, m_One()))
          x = arith::SelectOp::create(lb, ll, mask, x, initial);
        return arith::MaximumFOp::create(lb, ll, accumulator, x);
      });
  Value maximum = vector::ReductionOp::create(
      b, loc, vector::CombiningKind::MAXIMUMF, maxima);
  softmaxTimesValues(b, loc, r, all, keys, maximum,
                     [](OpBuilder &, Location, Value t) { return t; });
}

struct SparseAttentionPass
    : public sparse_opt::impl::SparseOptSparseAttentionBase<
          SparseAttentionPass> {
  using Base::Base;

  void runOnOperation() override;

private:
  /// Whether to rewrite `match`; the reason when not.
  bool accept(const AttentionMatch &match, std::string &reason) const;
  void remark(Operation *op, const llvm::Twine &message) const {
    if (remarks)
      op->emitRemark() << message;
  }
};

bool SparseAttentionPass::accept(const AttentionMatch &match,
                                 std::string &reason) const {
  const MaskPattern &pattern = match.pattern;
  if (match.forced == "dense") {
    reason = "kept dense by sparse_opt.attention = \"dense\"";
    return false;
  }
  if (match.forced != "sparse" && pattern.density() > maxDensity) {
    reason = llvm::formatv("the mask allows {0:F3} of the keys, more than "
                           "max-density {1}",
                           pattern.density(), maxDensity.getValue())
                 .str();
    return false;
  }
  // Rows the run-time masks leave without a key, and empty mask rows, run
  // densely, which needs the value of the entries the constant mask hides.
  if ((match.hasRuntimeMasks() || pattern.emptyRows) && !pattern.condition &&
      !pattern.fill) {
    reason = "the entries the mask hides do not all hold one value (needed "
             "for rows that the run-time masks hide completely)";
    return false;
  }
  return true;
}

void SparseAttentionPass::runOnOperation() {
  func::FuncOp func = getOperation();
  if (maxDensity < 0 || maxDensity > 1) {
    func.emitError() << "sparse-opt-sparse-attention: max-density must be in "
                        "[0, 1], got "
                     << maxDensity.getValue();
    return signalPassFailure();
  }
  if (maskedBias >= 0) {
    func.emitError() << "sparse-opt-sparse-attention: masked-bias must be "
                        "negative (added values at or below it mask a key), "
                        "got "
                     << maskedBias.getValue();
    return signalPassFailure();
  }
  if (nTile == 0 || !llvm::isPowerOf2_32(nTile)) {
    func.emitError() << "sparse-opt-sparse-attention: n-tile must be a power "
                        "of two, got "
                     << nTile.getValue();
    return signalPassFailure();
  }
  bool invalid = false;
  func.walk([&](Operation *op) {
    auto forced = op->getAttr(kAttentionAttrName);
    if (!forced)
      return;
    auto text = dyn_cast<StringAttr>(forced);
    if (!text || (text.getValue() != "sparse" && text.getValue() != "dense")) {
      op->emitError() << kAttentionAttrName
                      << " must be \"sparse\" or \"dense\", got " << forced;
      invalid = true;
    }
  });
  if (invalid)
    return signalPassFailure();
  if (vectorLength == 0)
    return;

  // Match every attention first, then rewrite: a rewrite erases the dense
  // ops it replaces, among them products visited as candidates.
  SmallVector<linalg::LinalgOp> candidates;
  func.walk([&](linalg::LinalgOp op) {
    if (isa<linalg::MatmulOp, linalg::BatchMatmulOp>(op.getOperation()))
      candidates.push_back(op);
  });
  std::vector<AttentionMatch> matches;
  for (linalg::LinalgOp op : candidates) {
    std::string reason;
    FailureOr<AttentionMatch> match = matchAttention(op, maskedBias, reason);
    if (failed(match)) {
      if (!reason.empty())
        remark(op, "sparse attention not applied: " + reason);
      continue;
    }
    if (!accept(*match, reason)) {
      remark(op, "sparse attention not applied: " + reason);
      continue;
    }
    matches.push_back(std::move(*match));
  }

  KernelOptions options{vectorLength, nTile, minParallelWork, maskedBias};
  SmallVector<Operation *> exponentials;
  PatternRewriter rewriter(&getContext());
  for (AttentionMatch &match : matches) {
    const MaskPattern &pattern = match.pattern;
    remark(match.contextProduct,
           llvm::formatv("sparse attention: {0} x {1} queries x {2} keys, the "
                         "mask allows {3} of {4} scores per head ({5:F3}), "
                         "up to {6} per query{7}",
                         match.batch, match.queries, match.keys,
                         pattern.nonZeros(), match.queries * match.keys,
                         pattern.density(), pattern.maxRowLength,
                         match.hasRuntimeMasks()
                             ? llvm::formatv(", {0} run-time mask(s)",
                                             match.leaves.size())
                                   .str()
                             : std::string()));
    // The dense ops feeding what the kernel replaces, erased once dead.
    // (Not the product's fill when the product is replaced:
    // replaceWithResult erases it.)
    SmallVector<Operation *> producers;
    SmallVector<Value> seeds =
        match.outputTranspose
            ? SmallVector<Value>(match.outputTranspose->getOperands())
            : SmallVector<Value>(match.contextProduct.getDpsInputs());
    for (Value operand : seeds)
      if (Operation *producer = operand.getDefiningOp())
        if (!llvm::is_contained(producers, producer))
          producers.push_back(producer);
    AttentionKernel(match, options, exponentials).emit(rewriter);
    while (!producers.empty()) {
      Operation *op = producers.pop_back_val();
      if (!isOpTriviallyDead(op))
        continue;
      for (Value operand : op->getOperands())
        if (Operation *producer = operand.getDefiningOp())
          if (!llvm::is_contained(producers, producer))
            producers.push_back(producer);
      rewriter.eraseOp(op);
    }
  }

  // exp on vectors as a polynomial (LLVM would call the scalar libm exp
  // once per lane), as sparse-opt-dense-loops does for the dense softmax.
  if (!exponentials.empty()) {
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns, [](StringRef name) {
      return name == math::ExpOp::getOperationName();
    });
    (void)applyOpPatternsGreedily(exponentials, std::move(patterns));
  }
}

} // namespace
