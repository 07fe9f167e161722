//===- WeightAnalysis.h - Sparsity of constant weights ----------*- C++ -*-===//
//
// What the format choice needs to know about a constant weight: how dense it
// is, how its non-zeros spread over rows, which N:M patterns it conforms to
// and how it fills r x c blocks. A weight is seen as a matrix whose rows are
// the layer's output features and whose columns are its reduction (the rows
// of the sparse operand in the kernels of lib/Transforms).
//
//===----------------------------------------------------------------------===//

#ifndef SPARSE_OPT_ANALYSIS_WEIGHTANALYSIS_H
#define SPARSE_OPT_ANALYSIS_WEIGHTANALYSIS_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Operation.h"
#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/STLFunctionalExtras.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/JSON.h"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace mlir::sparse_opt {

/// An N:M pattern: at most `n` non-zeros in every group of `m` consecutive
/// columns.
struct NmPattern {
  int64_t n, m;
  std::string str() const;
};

/// A block shape of `rows` x `cols`.
struct BlockShape {
  int64_t rows, cols;
  std::string str() const;
};

/// Parses "2:4,1:4" / "4x4,8x1"; an error message on failure.
std::optional<std::string> parseNmPatterns(llvm::StringRef text,
                                           std::vector<NmPattern> &out);
std::optional<std::string> parseBlockShapes(llvm::StringRef text,
                                            std::vector<BlockShape> &out);

/// Calls `use` with an accessor of element i (row-major) of `values`, a
/// dense or dense-resource float constant, which reads the attribute's
/// storage in place; returns false without calling it when the data cannot
/// be read (not a float type, or a resource without its blob).
bool withFloatElements(
    ElementsAttr values,
    llvm::function_ref<void(llvm::function_ref<double(int64_t)>)> use);

/// Which elements of a weight are non-zero, as a rows x cols matrix.
class NonZeroMatrix {
public:
  /// `values` (a dense or dense-resource float attribute) read so that
  /// element (r, c) is values[rowStride * r + colStride * c]; nullopt if the
  /// attribute's data cannot be read (e.g. a resource without a blob).
  static std::optional<NonZeroMatrix> fromElements(ElementsAttr values,
                                                    int64_t rows, int64_t cols,
                                                    int64_t rowStride,
                                                    int64_t colStride);

  int64_t rows() const { return numRows; }
  int64_t cols() const { return numCols; }
  bool at(int64_t r, int64_t c) const {
    return mask[static_cast<size_t>(r * numCols + c)];
  }

private:
  int64_t numRows = 0, numCols = 0;
  std::vector<uint8_t> mask; // row-major
};

struct NmConformance {
  NmPattern pattern;
  /// False when cols is not a multiple of m (the format needs that).
  bool applicable;
  /// Groups holding more than n non-zeros.
  int64_t violatingGroups;
  bool conforms() const { return applicable && violatingGroups == 0; }
};

struct BlockFill {
  BlockShape shape;
  /// Blocks (edge blocks included) holding at least one non-zero.
  int64_t nonZeroBlocks, totalBlocks;
  /// Non-zeros over the values the stored blocks hold: 1 means no
  /// explicit zeros.
  double fill;
  /// The share of blocks holding a non-zero.
  double share() const {
    return totalBlocks ? double(nonZeroBlocks) / double(totalBlocks) : 0.0;
  }
};

struct WeightStats {
  int64_t rows = 0, cols = 0, nonZeros = 0;
  double density = 0;
  int64_t emptyRows = 0, minRowNonZeros = 0, maxRowNonZeros = 0;
  double meanRowNonZeros = 0;
  /// Standard deviation over mean of the row lengths (0 when no
  /// non-zeros): the load-balance risk of splitting rows evenly.
  double rowVariation = 0;
  std::vector<NmConformance> nm;
  std::vector<BlockFill> blocks;

  /// Formats that store the weight without loss: dense, CSR and every BSR
  /// shape always, N:M patterns it conforms to.
  std::vector<std::string> exactFormats() const;
  llvm::json::Object toJson() const;
};

WeightStats analyzeWeight(const NonZeroMatrix &matrix,
                          llvm::ArrayRef<NmPattern> patterns,
                          llvm::ArrayRef<BlockShape> shapes);

/// A layer's constant weight: the operand it is, its values, and how its
/// elements map to (output feature, reduction index): element (r, c) is
/// values[rowStride * r + colStride * c].
struct LayerWeight {
  unsigned operand;
  ElementsAttr values;
  int64_t rows, cols, rowStride, colStride;
};

/// The weight of `op` if it is a layer with a static, unencoded constant
/// weight: `linalg.matmul` with a constant right operand W (K x N, as in
/// X W: output features are W's columns) or, failing that, left operand;
/// `linalg.matvec` with a constant matrix; `conv_2d_nchw_fchw`,
/// `conv_2d_nhwc_fhwc`, `conv_2d_nhwc_hwcf` with a constant filter
/// (reduction: C x KH x KW in the filter's order).
std::optional<LayerWeight> findLayerWeight(Operation *op);

/// The name of the layer `op`: its location's name (the ONNX node name
/// the importer gives), else the printed location.
std::string layerName(Operation *op);

} // namespace mlir::sparse_opt

#endif // SPARSE_OPT_ANALYSIS_WEIGHTANALYSIS_H
