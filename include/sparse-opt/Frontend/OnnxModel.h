//===- OnnxModel.h - An ONNX model as plain C++ structs ---------*- C++ -*-===//
//
// The parts of an ONNX ModelProto the importer reads, as plain structs. Only
// OnnxModel.cpp sees the protobuf classes (libonnx-dev / libprotobuf), so
// protobuf's headers and link dependencies stay in one translation unit.
//
// Tensor bytes are never copied here: raw_data strings are moved out of the
// parsed protobuf, and external data is memory-mapped; TensorData keeps its
// owner alive so the bytes can be handed to MLIR resource blobs as they are.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSE_OPT_FRONTEND_ONNXMODEL_H
#define SPARSE_OPT_FRONTEND_ONNXMODEL_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace mlir::sparse_opt::onnx {

/// ONNX TensorProto.DataType values.
enum class DataType : int32_t {
  Undefined = 0,
  Float = 1,
  UInt8 = 2,
  Int8 = 3,
  UInt16 = 4,
  Int16 = 5,
  Int32 = 6,
  Int64 = 7,
  String = 8,
  Bool = 9,
  Float16 = 10,
  Double = 11,
  UInt32 = 12,
  UInt64 = 13,
  Complex64 = 14,
  Complex128 = 15,
  BFloat16 = 16,
};

/// The ONNX spelling of a data type ("float", "int64", ...).
llvm::StringRef dataTypeName(DataType type);
/// Bytes per element of a fixed-size type (0 for string / undefined).
unsigned dataTypeSize(DataType type);

/// A tensor value stored in the model (initializer or attribute tensor).
struct TensorData {
  std::string name;
  DataType dataType = DataType::Undefined;
  llvm::SmallVector<int64_t> dims;
  /// Little-endian element bytes in ONNX's layout (bool: one byte each).
  /// Valid while `owner` lives; empty for external data not yet loaded.
  llvm::ArrayRef<char> bytes;
  std::shared_ptr<const void> owner;

  /// External data (data_location = EXTERNAL), relative to the model's
  /// directory; `length` < 0 means "to the end of the file".
  bool isExternal = false;
  std::string externalLocation;
  int64_t externalOffset = 0;
  int64_t externalLength = -1;

  int64_t numElements() const;
};

struct NodeAttribute {
  enum class Kind {
    Undefined,
    Float,
    Int,
    String,
    Tensor,
    Graph,
    Floats,
    Ints,
    Strings,
    Other,
  };
  std::string name;
  Kind kind = Kind::Undefined;
  float f = 0;
  int64_t i = 0;
  std::string s;
  std::shared_ptr<TensorData> tensor;
  llvm::SmallVector<float> floats;
  llvm::SmallVector<int64_t> ints;
  std::vector<std::string> strings;
};

struct Node {
  std::string opType;
  std::string domain;
  std::string name;
  /// Input names; "" marks an omitted optional input.
  std::vector<std::string> inputs;
  std::vector<std::string> outputs;
  std::vector<NodeAttribute> attributes;

  const NodeAttribute *findAttribute(llvm::StringRef attrName) const;
  /// A name for messages: the node name, or its first output when unnamed.
  std::string displayName() const;
};

/// A graph input or output: element type and shape. A dimension is a size
/// (>= 0), or std::nullopt when symbolic (`param` holds its name) or unknown.
struct ValueInfo {
  std::string name;
  DataType elementType = DataType::Undefined;
  bool hasShape = false;
  llvm::SmallVector<std::optional<int64_t>> dims;
  std::vector<std::string> dimParams;
};

struct Graph {
  std::string name;
  std::vector<Node> nodes;
  std::vector<std::shared_ptr<TensorData>> initializers;
  std::vector<ValueInfo> inputs;
  std::vector<ValueInfo> outputs;
};

struct Model {
  /// Path the model was read from and its directory (for external data).
  std::string path;
  std::string directory;
  int64_t irVersion = 0;
  std::string producerName;
  std::string producerVersion;
  /// Opset version per domain ("" is the default ai.onnx domain).
  llvm::StringMap<int64_t> opsets;
  Graph graph;

  /// The opset of the default domain (ai.onnx), 0 if not imported.
  int64_t defaultOpset() const;
};

/// Parses the ONNX model file at `path`. Fails with a message of the form
/// "<path>: <what was expected>" for a missing, truncated or non-ONNX file.
llvm::Expected<std::unique_ptr<Model>> readModel(llvm::StringRef path);

/// Maps the bytes of an external tensor (relative to `modelDirectory`) into
/// `tensor.bytes`, checking that the file exists, that the location stays
/// inside the model's directory and that the range matches the tensor size.
llvm::Error loadExternalData(TensorData &tensor,
                             llvm::StringRef modelDirectory);

} // namespace mlir::sparse_opt::onnx

#endif // SPARSE_OPT_FRONTEND_ONNXMODEL_H
