//===- WeightAnalysis.cpp - Sparsity structure of constant weights --------===//

#include "sparse-opt/Analysis/WeightAnalysis.h"

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Matchers.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/StringExtras.h"

#include <cmath>

using namespace mlir;
using namespace mlir::sparse_opt;

std::string NmPattern::str() const {
  return std::to_string(n) + ":" + std::to_string(m);
}

std::string BlockShape::str() const {
  return std::to_string(rows) + "x" + std::to_string(cols);
}

namespace {

/// Splits "a<sep>b,c<sep>d" into positive pairs.
std::optional<std::string>
parsePairs(llvm::StringRef text, char separator, llvm::StringRef what,
           std::vector<std::pair<int64_t, int64_t>> &out) {
  llvm::SmallVector<llvm::StringRef> items;
  text.split(items, ',', -1, /*KeepEmpty=*/false);
  for (llvm::StringRef item : items) {
    auto [first, second] = item.trim().split(separator);
    int64_t a, b;
    if (first.getAsInteger(10, a) || second.getAsInteger(10, b) || a <= 0 ||
        b <= 0)
      return "expected " + what.str() + ", found '" + item.trim().str() + "'";
    out.push_back({a, b});
  }
  return std::nullopt;
}

} // namespace

std::optional<std::string>
mlir::sparse_opt::parseNmPatterns(llvm::StringRef text,
                                  std::vector<NmPattern> &out) {
  std::vector<std::pair<int64_t, int64_t>> pairs;
  if (auto error = parsePairs(text, ':', "N:M with 0 < N <= M", pairs))
    return error;
  for (auto [n, m] : pairs) {
    if (n > m)
      return "expected N:M with N <= M, found '" + std::to_string(n) + ":" +
             std::to_string(m) + "'";
    out.push_back({n, m});
  }
  return std::nullopt;
}

std::optional<std::string>
mlir::sparse_opt::parseBlockShapes(llvm::StringRef text,
                                   std::vector<BlockShape> &out) {
  std::vector<std::pair<int64_t, int64_t>> pairs;
  if (auto error = parsePairs(text, 'x', "RxC block shapes", pairs))
    return error;
  for (auto [r, c] : pairs)
    out.push_back({r, c});
  return std::nullopt;
}

bool mlir::sparse_opt::withFloatElements(
    ElementsAttr values,
    llvm::function_ref<void(llvm::function_ref<double(int64_t)>)> use) {
  auto floatType = dyn_cast<FloatType>(values.getElementType());
  if (!floatType)
    return false;
  if (auto dense = dyn_cast<DenseElementsAttr>(values)) {
    if (floatType.isF32()) {
      auto data = dense.getValues<float>();
      use([&](int64_t i) -> double { return data[i]; });
      return true;
    }
    auto data = dense.getValues<APFloat>();
    use([&](int64_t i) {
      APFloat value = data[i];
      bool lossy;
      value.convert(APFloat::IEEEdouble(), APFloat::rmNearestTiesToEven,
                    &lossy);
      return value.convertToDouble();
    });
    return true;
  }
  if (auto resource = dyn_cast<DenseF32ResourceElementsAttr>(values)) {
    std::optional<ArrayRef<float>> data = resource.tryGetAsArrayRef();
    if (!data)
      return false;
    use([&](int64_t i) -> double { return (*data)[i]; });
    return true;
  }
  return false;
}

std::optional<NonZeroMatrix>
NonZeroMatrix::fromElements(ElementsAttr values, int64_t rows, int64_t cols,
                            int64_t rowStride, int64_t colStride) {
  NonZeroMatrix matrix;
  matrix.numRows = rows;
  matrix.numCols = cols;
  matrix.mask.assign(static_cast<size_t>(rows * cols), 0);
  bool read = withFloatElements(values, [&](auto at) {
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t c = 0; c < cols; ++c)
        matrix.mask[static_cast<size_t>(r * cols + c)] =
            at(r * rowStride + c * colStride) != 0.0;
  });
  if (!read)
    return std::nullopt;
  return matrix;
}

WeightStats mlir::sparse_opt::analyzeWeight(const NonZeroMatrix &matrix,
                                            ArrayRef<NmPattern> patterns,
                                            ArrayRef<BlockShape> shapes) {
  WeightStats stats;
  stats.rows = matrix.rows();
  stats.cols = matrix.cols();
  std::vector<int64_t> rowNonZeros(static_cast<size_t>(stats.rows), 0);
  for (int64_t r = 0; r < stats.rows; ++r)
    for (int64_t c = 0; c < stats.cols; ++c)
      rowNonZeros[r] += matrix.at(r, c);
  for (int64_t count : rowNonZeros) {
    stats.nonZeros += count;
    stats.emptyRows += count == 0;
  }
  int64_t elements = stats.rows * stats.cols;
  stats.density = elements ? double(stats.nonZeros) / double(elements) : 0;
  if (!rowNonZeros.empty()) {
    auto [low, high] =
        std::minmax_element(rowNonZeros.begin(), rowNonZeros.end());
    stats.minRowNonZeros = *low;
    stats.maxRowNonZeros = *high;
    stats.meanRowNonZeros = double(stats.nonZeros) / double(stats.rows);
    double squares = 0;
    for (int64_t count : rowNonZeros)
      squares += (count - stats.meanRowNonZeros) *
                 (count - stats.meanRowNonZeros);
    if (stats.meanRowNonZeros > 0)
      stats.rowVariation =
          std::sqrt(squares / double(stats.rows)) / stats.meanRowNonZeros;
  }

  for (NmPattern pattern : patterns) {
    NmConformance conformance{pattern, stats.cols % pattern.m == 0, 0};
    for (int64_t r = 0; r < stats.rows; ++r)
      for (int64_t group = 0; group < stats.cols; group += pattern.m) {
        int64_t count = 0;
        for (int64_t c = group; c < std::min(group + pattern.m, stats.cols);
             ++c)
          count += matrix.at(r, c);
        conformance.violatingGroups += count > pattern.n;
      }
    stats.nm.push_back(conformance);
  }

  for (BlockShape shape : shapes) {
    int64_t blockRows = llvm::divideCeil(stats.rows, shape.rows);
    int64_t blockCols = llvm::divideCeil(stats.cols, shape.cols);
    BlockFill fill{shape, 0, blockRows * blockCols, 0};
    for (int64_t br = 0; br < blockRows; ++br)
      for (int64_t bc = 0; bc < blockCols; ++bc) {
        bool any = false;
        for (int64_t r = br * shape.rows;
             !any && r < std::min((br + 1) * shape.rows, stats.rows); ++r)
          for (int64_t c = bc * shape.cols;
               !any && c < std::min((bc + 1) * shape.cols, stats.cols); ++c)
            any = matrix.at(r, c);
        fill.nonZeroBlocks += any;
      }
    int64_t stored = fill.nonZeroBlocks * shape.rows * shape.cols;
    fill.fill = stored ? double(stats.nonZeros) / double(stored) : 1.0;
    stats.blocks.push_back(fill);
  }
  return stats;
}

std::vector<std::string> WeightStats::exactFormats() const {
  std::vector<std::string> formats{"dense", "csr"};
  for (const BlockFill &block : blocks)
    formats.push_back("bsr:" + block.shape.str());
  for (const NmConformance &conformance : nm)
    if (conformance.conforms())
      formats.push_back("nm:" + conformance.pattern.str());
  return formats;
}

llvm::json::Object WeightStats::toJson() const {
  llvm::json::Array nmArray, blockArray, formats;
  for (const NmConformance &conformance : nm)
    nmArray.push_back(llvm::json::Object{
        {"pattern", conformance.pattern.str()},
        {"applicable", conformance.applicable},
        {"violating_groups", conformance.violatingGroups},
        {"conforms", conformance.conforms()}});
  for (const BlockFill &block : blocks)
    blockArray.push_back(llvm::json::Object{
        {"shape", block.shape.str()},
        {"nonzero_blocks", block.nonZeroBlocks},
        {"total_blocks", block.totalBlocks},
        {"block_density", block.share()},
        {"fill", block.fill}});
  for (const std::string &format : exactFormats())
    formats.push_back(format);
  return llvm::json::Object{
      {"rows", rows},
      {"cols", cols},
      {"nonzeros", nonZeros},
      {"density", density},
      {"sparsity", 1.0 - density},
      {"empty_rows", emptyRows},
      {"row_nonzeros",
       llvm::json::Object{{"min", minRowNonZeros},
                          {"max", maxRowNonZeros},
                          {"mean", meanRowNonZeros},
                          {"variation", rowVariation}}},
      {"nm", std::move(nmArray)},
      {"blocks", std::move(blockArray)},
      {"exact_formats", std::move(formats)}};
}

namespace {

std::optional<LayerWeight> constantOperand(Operation *op, unsigned operand,
                                           int64_t rank) {
  ElementsAttr values;
  if (!matchPattern(op->getOperand(operand), m_Constant(&values)))
    return std::nullopt;
  auto type = dyn_cast<RankedTensorType>(values.getType());
  if (!type || !type.hasStaticShape() || type.getEncoding() ||
      type.getRank() != rank)
    return std::nullopt;
  return LayerWeight{operand, values, 0, 0, 0, 0};
}

ArrayRef<int64_t> shapeOf(const LayerWeight &weight) {
  return cast<RankedTensorType>(weight.values.getType()).getShape();
}

} // namespace

std::optional<LayerWeight> mlir::sparse_opt::findLayerWeight(Operation *op) {
  if (auto matmul = dyn_cast<linalg::MatmulOp>(op)) {
    if (matmul.hasUserDefinedMaps())
      return std::nullopt;
    // X W with a constant W (K x N): output features are W's columns.
    if (auto weight = constantOperand(op, 1, 2)) {
      ArrayRef<int64_t> shape = shapeOf(*weight);
      weight->rows = shape[1];
      weight->cols = shape[0];
      weight->rowStride = 1;
      weight->colStride = shape[1];
      return weight;
    }
    if (auto weight = constantOperand(op, 0, 2)) {
      ArrayRef<int64_t> shape = shapeOf(*weight);
      weight->rows = shape[0];
      weight->cols = shape[1];
      weight->rowStride = shape[1];
      weight->colStride = 1;
      return weight;
    }
    return std::nullopt;
  }
  if (isa<linalg::MatvecOp>(op)) {
    if (auto weight = constantOperand(op, 0, 2)) {
      ArrayRef<int64_t> shape = shapeOf(*weight);
      *weight = LayerWeight{0, weight->values, shape[0], shape[1], shape[1], 1};
      return weight;
    }
    return std::nullopt;
  }
  // Filters, output features first: F x (C KH KW) as stored (FCHW, FHWC),
  // or F last (HWCF).
  bool featuresFirst =
      isa<linalg::Conv2DNchwFchwOp, linalg::Conv2DNhwcFhwcOp>(op);
  if (featuresFirst || isa<linalg::Conv2DNhwcHwcfOp>(op)) {
    auto weight = constantOperand(op, 1, 4);
    if (!weight)
      return std::nullopt;
    ArrayRef<int64_t> shape = shapeOf(*weight);
    int64_t features = featuresFirst ? shape[0] : shape[3];
    int64_t reduction = shape[0] * shape[1] * shape[2] * shape[3] / features;
    weight->rows = features;
    weight->cols = reduction;
    weight->rowStride = featuresFirst ? reduction : 1;
    weight->colStride = featuresFirst ? 1 : features;
    return weight;
  }
  return std::nullopt;
}

std::string mlir::sparse_opt::layerName(Operation *op) {
  if (auto name = dyn_cast<NameLoc>(op->getLoc()))
    return name.getName().str();
  std::string text;
  llvm::raw_string_ostream os(text);
  op->getLoc().print(os);
  return text;
}
