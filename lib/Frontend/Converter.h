//===- Converter.h - What an ONNX op converter sees -------------*- C++ -*-===//
//
// Internal to the frontend. Each ONNX op (or op family) has a converter
// function registered by op type; the importer calls it with a NodeContext
// that gives typed access to the node's inputs (as MLIR values, as weights,
// or as values known at import time), its attributes, and its outputs.
//
// Values known at import time (KnownValue) are how shape arithmetic is
// folded away: `Shape`, `Gather` on shapes, `Concat`, `Unsqueeze`, ... on
// known inputs produce known outputs and no IR. Converters that need a
// constant (Reshape's shape, Slice's starts) read it with constantInts().
//
//===----------------------------------------------------------------------===//

#ifndef SPARSE_OPT_LIB_FRONTEND_CONVERTER_H
#define SPARSE_OPT_LIB_FRONTEND_CONVERTER_H

#include "sparse-opt/Frontend/OnnxModel.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/StringMap.h"

#include <functional>
#include <optional>

namespace mlir::sparse_opt::onnx {

/// Tensors with at most this many elements are evaluated at import time when
/// all their inputs are known (shape tensors, scalars, small constants).
constexpr int64_t kMaxKnownElements = 1 << 16;

/// A tensor value computed at import time. Integer and bool elements live in
/// `ints`, floating-point ones in `floats`.
struct KnownValue {
  Type elementType;
  llvm::SmallVector<int64_t> shape;
  std::vector<int64_t> ints;
  std::vector<double> floats;

  bool isFloat() const { return isa<FloatType>(elementType); }
  int64_t numElements() const;
  double asDouble(int64_t i) const { return isFloat() ? floats[i] : ints[i]; }
  int64_t asInt(int64_t i) const {
    return isFloat() ? int64_t(floats[i]) : ints[i];
  }
  RankedTensorType type() const {
    return RankedTensorType::get(shape, elementType);
  }
  /// An empty value of `type` with room for its elements.
  static KnownValue zeros(RankedTensorType type);
  /// A 1-D integer tensor.
  static KnownValue ofInts(Type elementType, llvm::ArrayRef<int64_t> values);
  /// Sets element `i`, rounding or truncating to the element type.
  void set(int64_t i, double value);
  void setInt(int64_t i, int64_t value);
  DenseElementsAttr toAttr() const;
};

/// The MLIR element type of an ONNX data type (float, double, int64,
/// int32, int16, int8, bool), or null for the unsupported ones.
Type elementTypeFor(MLIRContext *context, DataType type);

/// All elements of a stored tensor (its byte size already checked) as a
/// KnownValue of `type`.
KnownValue decodeStored(const TensorData &tensor, RankedTensorType type);

class Importer;

/// The node being converted.
class NodeContext {
public:
  NodeContext(Importer &importer, const Node &node, int64_t opset,
              OpBuilder &builder, Location loc)
      : importer(importer), node(node), opset(opset), b(builder), loc(loc) {}

  Importer &importer;
  const Node &node;
  /// Version of the ai.onnx opset the model imports.
  int64_t opset;
  OpBuilder &b;
  Location loc;

  // Inputs. Index i may be past the end or name an omitted optional input.
  size_t numInputs() const { return node.inputs.size(); }
  bool hasInput(unsigned i) const;
  RankedTensorType inputType(unsigned i) const;
  llvm::ArrayRef<int64_t> inputShape(unsigned i) const {
    return inputType(i).getShape();
  }
  /// The input as an SSA value (materializing known values and weights).
  Value input(unsigned i);
  /// The input's value if known at import time (small tensors only).
  const KnownValue *known(unsigned i);
  /// The initializer (or Constant tensor) behind the input, any size, as
  /// stored in the model; null if the input is computed.
  std::shared_ptr<TensorData> weight(unsigned i) const;
  /// The known integer elements of input i, or an error naming `what`.
  FailureOr<llvm::SmallVector<int64_t>> constantInts(unsigned i,
                                                     llvm::StringRef what);
  bool allInputsKnown();

  // Attributes.
  bool hasAttr(llvm::StringRef name) const {
    return node.findAttribute(name) != nullptr;
  }
  int64_t intAttr(llvm::StringRef name, int64_t defaultValue) const;
  float floatAttr(llvm::StringRef name, float defaultValue) const;
  std::string stringAttr(llvm::StringRef name,
                         llvm::StringRef defaultValue) const;
  std::optional<llvm::SmallVector<int64_t>>
  intsAttr(llvm::StringRef name) const;
  std::optional<llvm::SmallVector<float>>
  floatsAttr(llvm::StringRef name) const;

  // Outputs.
  size_t numOutputs() const { return node.outputs.size(); }
  /// Whether output i exists and is named (optional outputs may be "").
  bool hasOutput(unsigned i) const {
    return i < node.outputs.size() && !node.outputs[i].empty();
  }
  void setOutput(unsigned i, Value value);
  void setKnownOutput(unsigned i, KnownValue value);
  /// Defines output i as a stored tensor (Constant's value): a weight that
  /// later converters see through weight().
  LogicalResult setWeightOutput(unsigned i, std::shared_ptr<TensorData> tensor);

  /// An arith.constant of `value` (at the top of the entry block).
  Value constant(const KnownValue &value);
  /// An arith.constant of a stored tensor (a resource blob when large).
  Value weightConstant(std::shared_ptr<TensorData> tensor);

  /// Records an error about this node; returns failure().
  LogicalResult fail(const llvm::Twine &message);
  /// Normalizes a possibly negative axis against `rank`.
  FailureOr<int64_t> normalizeAxis(int64_t axis, int64_t rank);
};

using ConverterFn = std::function<LogicalResult(NodeContext &)>;

/// op_type -> converter for the default (ai.onnx) domain.
class ConverterRegistry {
public:
  struct Entry {
    ConverterFn convert;
    /// Inputs every opset requires (checked before `convert` runs, so
    /// converters may use inputs [0, minInputs) without checking).
    unsigned minInputs;
  };
  void add(llvm::StringRef opType, ConverterFn converter,
           unsigned minInputs = 1) {
    converters[opType] = {std::move(converter), minInputs};
  }
  const Entry *lookup(llvm::StringRef opType) const {
    auto it = converters.find(opType);
    return it == converters.end() ? nullptr : &it->second;
  }
  std::vector<std::string> opTypes() const;

private:
  llvm::StringMap<Entry> converters;
};

/// The registry of all converters (built once).
const ConverterRegistry &getConverterRegistry();

// Each op family registers its converters (one file each).
void registerElementwiseConverters(ConverterRegistry &registry);
void registerLinearConverters(ConverterRegistry &registry);
void registerConvolutionConverters(ConverterRegistry &registry);
void registerPoolingConverters(ConverterRegistry &registry);
void registerShapeConverters(ConverterRegistry &registry);
void registerReductionConverters(ConverterRegistry &registry);

/// A stored tensor with its dimensions permuted (result dim i is dim
/// perm[i]), computed on the bytes: weights stay constants.
std::shared_ptr<TensorData> permuteStored(const TensorData &tensor,
                                          llvm::ArrayRef<int64_t> perm);
/// A stored tensor viewed with other dimensions (same bytes, no copy).
std::shared_ptr<TensorData> reshapeStored(const TensorData &tensor,
                                          llvm::ArrayRef<int64_t> dims);

/// Padding, strides and dilations of a sliding-window op (Conv, pooling),
/// with ONNX's auto_pad resolved.
struct WindowGeometry {
  llvm::SmallVector<int64_t> kernel, strides, dilations, padBegin, padEnd,
      output;
};

/// Resolves the window attributes of `ctx`'s node for input spatial sizes
/// `input` and kernel sizes `kernel`. With `ceilMode`, output sizes round up
/// and padEnd grows to cover the last window (never starting in the end
/// padding, as ONNX specifies).
FailureOr<WindowGeometry> resolveWindow(NodeContext &ctx,
                                        llvm::ArrayRef<int64_t> input,
                                        llvm::ArrayRef<int64_t> kernel,
                                        bool ceilMode);

/// Graph rewrite before conversion: BatchNormalization folded into the Conv
/// before it when the conv's weight is constant and its output has no other
/// user. Returns how many were folded.
unsigned foldBatchNormIntoConv(Graph &graph,
                               const llvm::StringMap<std::shared_ptr<TensorData>>
                                   &constants);

} // namespace mlir::sparse_opt::onnx

#endif // SPARSE_OPT_LIB_FRONTEND_CONVERTER_H
