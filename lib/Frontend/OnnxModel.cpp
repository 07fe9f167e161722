//===- OnnxModel.cpp - Reading ONNX protobuf into plain structs -----------===//
//
// The only translation unit that includes the ONNX protobuf classes. It
// parses the file from a memory-mapped buffer and converts what the importer
// needs into the structs of OnnxModel.h, moving tensor bytes out of the
// protobuf instead of copying them.
//
//===----------------------------------------------------------------------===//

#include "sparse-opt/Frontend/OnnxModel.h"

#include "llvm/ADT/Twine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/logging.h>
#include <onnx/onnx_pb.h>

#include <climits>
#include <cstring>

using namespace mlir::sparse_opt::onnx;
using llvm::Twine;

namespace {

llvm::Error makeError(const Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

/// Copies repeated numeric protobuf field `values` into owned bytes of
/// `elementSize` each (the typed fields store narrow types widened).
template <typename Field, typename Narrow>
void storeNarrowed(TensorData &tensor, const Field &values) {
  auto storage = std::make_shared<std::vector<char>>(values.size() *
                                                     sizeof(Narrow));
  char *out = storage->data();
  for (auto value : values) {
    Narrow narrow = static_cast<Narrow>(value);
    std::memcpy(out, &narrow, sizeof(Narrow));
    out += sizeof(Narrow);
  }
  tensor.bytes = llvm::ArrayRef<char>(storage->data(), storage->size());
  tensor.owner = std::move(storage);
}

llvm::Error convertTensor(::onnx::TensorProto &proto, TensorData &tensor) {
  tensor.name = proto.name();
  tensor.dataType = static_cast<DataType>(proto.data_type());
  for (int64_t dim : proto.dims()) {
    if (dim < 0)
      return makeError("tensor '" + tensor.name + "' has negative dimension " +
                       Twine(dim));
    tensor.dims.push_back(dim);
  }
  if (proto.data_location() == ::onnx::TensorProto_DataLocation_EXTERNAL) {
    tensor.isExternal = true;
    for (const auto &entry : proto.external_data()) {
      if (entry.key() == "location")
        tensor.externalLocation = entry.value();
      else if (entry.key() == "offset" || entry.key() == "length") {
        int64_t value = 0;
        if (llvm::StringRef(entry.value()).getAsInteger(10, value) ||
            value < 0)
          return makeError("tensor '" + tensor.name + "' has external data " +
                           entry.key() + " '" + entry.value() +
                           "' (expected a non-negative integer)");
        (entry.key() == "offset" ? tensor.externalOffset
                                 : tensor.externalLength) = value;
      }
    }
    if (tensor.externalLocation.empty())
      return makeError("tensor '" + tensor.name +
                       "' has external data without a location");
    return llvm::Error::success();
  }
  if (proto.has_raw_data()) {
    // Move the string out of the message: no copy of the weights.
    std::shared_ptr<std::string> raw(proto.release_raw_data());
    tensor.bytes = llvm::ArrayRef<char>(raw->data(), raw->size());
    tensor.owner = std::move(raw);
    return llvm::Error::success();
  }
  switch (tensor.dataType) {
  case DataType::Float:
    storeNarrowed<decltype(proto.float_data()), float>(tensor,
                                                        proto.float_data());
    break;
  case DataType::Double:
    storeNarrowed<decltype(proto.double_data()), double>(tensor,
                                                          proto.double_data());
    break;
  case DataType::Int64:
    storeNarrowed<decltype(proto.int64_data()), int64_t>(tensor,
                                                          proto.int64_data());
    break;
  case DataType::UInt32:
    storeNarrowed<decltype(proto.uint64_data()), uint32_t>(
        tensor, proto.uint64_data());
    break;
  case DataType::UInt64:
    storeNarrowed<decltype(proto.uint64_data()), uint64_t>(
        tensor, proto.uint64_data());
    break;
  case DataType::Int32:
    storeNarrowed<decltype(proto.int32_data()), int32_t>(tensor,
                                                          proto.int32_data());
    break;
  case DataType::Int16:
  case DataType::UInt16:
  case DataType::Float16:
  case DataType::BFloat16:
    // 16-bit types keep their bit patterns in int32_data.
    storeNarrowed<decltype(proto.int32_data()), uint16_t>(tensor,
                                                           proto.int32_data());
    break;
  case DataType::Int8:
  case DataType::UInt8:
  case DataType::Bool:
    storeNarrowed<decltype(proto.int32_data()), uint8_t>(tensor,
                                                          proto.int32_data());
    break;
  default:
    return makeError("tensor '" + tensor.name + "' has element type " +
                     dataTypeName(tensor.dataType) +
                     ", which is not supported");
  }
  return llvm::Error::success();
}

llvm::Error convertAttribute(::onnx::AttributeProto &proto,
                             NodeAttribute &attribute) {
  attribute.name = proto.name();
  switch (proto.type()) {
  case ::onnx::AttributeProto_AttributeType_FLOAT:
    attribute.kind = NodeAttribute::Kind::Float;
    attribute.f = proto.f();
    break;
  case ::onnx::AttributeProto_AttributeType_INT:
    attribute.kind = NodeAttribute::Kind::Int;
    attribute.i = proto.i();
    break;
  case ::onnx::AttributeProto_AttributeType_STRING:
    attribute.kind = NodeAttribute::Kind::String;
    attribute.s = proto.s();
    break;
  case ::onnx::AttributeProto_AttributeType_TENSOR:
    attribute.kind = NodeAttribute::Kind::Tensor;
    attribute.tensor = std::make_shared<TensorData>();
    if (llvm::Error e = convertTensor(*proto.mutable_t(), *attribute.tensor))
      return e;
    break;
  case ::onnx::AttributeProto_AttributeType_GRAPH:
    attribute.kind = NodeAttribute::Kind::Graph;
    break;
  case ::onnx::AttributeProto_AttributeType_FLOATS:
    attribute.kind = NodeAttribute::Kind::Floats;
    attribute.floats.assign(proto.floats().begin(), proto.floats().end());
    break;
  case ::onnx::AttributeProto_AttributeType_INTS:
    attribute.kind = NodeAttribute::Kind::Ints;
    attribute.ints.assign(proto.ints().begin(), proto.ints().end());
    break;
  case ::onnx::AttributeProto_AttributeType_STRINGS:
    attribute.kind = NodeAttribute::Kind::Strings;
    attribute.strings.assign(proto.strings().begin(), proto.strings().end());
    break;
  default:
    attribute.kind = NodeAttribute::Kind::Other;
    break;
  }
  return llvm::Error::success();
}

void convertValueInfo(const ::onnx::ValueInfoProto &proto, ValueInfo &info) {
  info.name = proto.name();
  if (!proto.type().has_tensor_type())
    return;
  const auto &tensorType = proto.type().tensor_type();
  info.elementType = static_cast<DataType>(tensorType.elem_type());
  if (!tensorType.has_shape())
    return;
  info.hasShape = true;
  for (const auto &dim : tensorType.shape().dim()) {
    if (dim.has_dim_value() && dim.dim_value() >= 0)
      info.dims.push_back(dim.dim_value());
    else
      info.dims.push_back(std::nullopt);
    info.dimParams.push_back(dim.has_dim_param() ? dim.dim_param() : "");
  }
}

llvm::Error convertGraph(::onnx::GraphProto &proto, Graph &graph) {
  graph.name = proto.name();
  for (auto &nodeProto : *proto.mutable_node()) {
    Node node;
    node.opType = nodeProto.op_type();
    node.domain = nodeProto.domain();
    node.name = nodeProto.name();
    node.inputs.assign(nodeProto.input().begin(), nodeProto.input().end());
    node.outputs.assign(nodeProto.output().begin(), nodeProto.output().end());
    for (auto &attributeProto : *nodeProto.mutable_attribute()) {
      NodeAttribute attribute;
      if (llvm::Error e = convertAttribute(attributeProto, attribute))
        return makeError("node '" + node.displayName() + "' (" + node.opType +
                         "): " + llvm::toString(std::move(e)));
      node.attributes.push_back(std::move(attribute));
    }
    graph.nodes.push_back(std::move(node));
  }
  for (auto &tensorProto : *proto.mutable_initializer()) {
    auto tensor = std::make_shared<TensorData>();
    if (llvm::Error e = convertTensor(tensorProto, *tensor))
      return makeError("initializer: " + llvm::toString(std::move(e)));
    graph.initializers.push_back(std::move(tensor));
  }
  if (proto.sparse_initializer_size())
    return makeError("sparse initializers (SparseTensorProto) are not "
                     "supported; store the weights dense");
  for (const auto &input : proto.input())
    convertValueInfo(input, graph.inputs.emplace_back());
  for (const auto &output : proto.output())
    convertValueInfo(output, graph.outputs.emplace_back());
  return llvm::Error::success();
}

/// Protobuf would otherwise print its own parse errors to stderr; ours say
/// more.
void silenceProtobufLog(google::protobuf::LogLevel, const char *,
                        int, const std::string &) {}

} // namespace

llvm::StringRef mlir::sparse_opt::onnx::dataTypeName(DataType type) {
  switch (type) {
  case DataType::Float: return "float";
  case DataType::UInt8: return "uint8";
  case DataType::Int8: return "int8";
  case DataType::UInt16: return "uint16";
  case DataType::Int16: return "int16";
  case DataType::Int32: return "int32";
  case DataType::Int64: return "int64";
  case DataType::String: return "string";
  case DataType::Bool: return "bool";
  case DataType::Float16: return "float16";
  case DataType::Double: return "double";
  case DataType::UInt32: return "uint32";
  case DataType::UInt64: return "uint64";
  case DataType::Complex64: return "complex64";
  case DataType::Complex128: return "complex128";
  case DataType::BFloat16: return "bfloat16";
  case DataType::Undefined: return "undefined";
  }
  return "unknown";
}

unsigned mlir::sparse_opt::onnx::dataTypeSize(DataType type) {
  switch (type) {
  case DataType::Float: case DataType::Int32: case DataType::UInt32:
    return 4;
  case DataType::Double: case DataType::Int64: case DataType::UInt64:
  case DataType::Complex64:
    return 8;
  case DataType::Complex128:
    return 16;
  case DataType::Int16: case DataType::UInt16: case DataType::Float16:
  case DataType::BFloat16:
    return 2;
  case DataType::Int8: case DataType::UInt8: case DataType::Bool:
    return 1;
  default:
    return 0;
  }
}

int64_t TensorData::numElements() const {
  int64_t count = 1;
  for (int64_t dim : dims)
    count *= dim;
  return count;
}

const NodeAttribute *Node::findAttribute(llvm::StringRef attrName) const {
  for (const NodeAttribute &attribute : attributes)
    if (attribute.name == attrName)
      return &attribute;
  return nullptr;
}

std::string Node::displayName() const {
  if (!name.empty())
    return name;
  if (!outputs.empty() && !outputs.front().empty())
    return outputs.front();
  return "<unnamed>";
}

int64_t Model::defaultOpset() const {
  auto it = opsets.find("");
  if (it != opsets.end())
    return it->second;
  it = opsets.find("ai.onnx");
  return it == opsets.end() ? 0 : it->second;
}

llvm::Expected<std::unique_ptr<Model>>
mlir::sparse_opt::onnx::readModel(llvm::StringRef path) {
  auto buffer = llvm::MemoryBuffer::getFile(path, /*IsText=*/false,
                                            /*RequiresNullTerminator=*/false);
  if (!buffer)
    return makeError(path + ": cannot open the model: " +
                     buffer.getError().message());
  llvm::StringRef bytes = (*buffer)->getBuffer();
  if (bytes.size() >= size_t(INT_MAX))
    return makeError(path + ": the model is " + Twine(bytes.size()) +
                     " bytes; protobuf reads at most 2 GiB (store the weights "
                     "as ONNX external data)");

  google::protobuf::SetLogHandler(silenceProtobufLog);
  ::onnx::ModelProto proto;
  google::protobuf::io::ArrayInputStream stream(bytes.data(),
                                                int(bytes.size()));
  google::protobuf::io::CodedInputStream coded(&stream);
  coded.SetTotalBytesLimit(INT_MAX);
  bool parsed = proto.ParseFromCodedStream(&coded) &&
                coded.ConsumedEntireMessage();
  if (!parsed)
    return makeError(path + ": not an ONNX model, or a truncated one (expected "
                     "a serialized onnx.ModelProto; protobuf parsing failed)");
  // An empty or unrelated protobuf message parses as an empty ModelProto.
  if (proto.ir_version() <= 0 || !proto.has_graph())
    return makeError(path + ": not an ONNX model (expected a ModelProto with "
                     "an ir_version and a graph)");

  auto model = std::make_unique<Model>();
  model->path = path.str();
  llvm::SmallString<256> directory(path);
  llvm::sys::path::remove_filename(directory);
  model->directory = directory.empty() ? "." : directory.str().str();
  model->irVersion = proto.ir_version();
  model->producerName = proto.producer_name();
  model->producerVersion = proto.producer_version();
  for (const auto &opset : proto.opset_import())
    model->opsets[opset.domain()] = opset.version();
  if (proto.opset_import_size() == 0)
    model->opsets[""] = 1; // IR version 1 models had no opset_import.
  if (llvm::Error e = convertGraph(*proto.mutable_graph(), model->graph))
    return makeError(path + ": " + llvm::toString(std::move(e)));
  return model;
}

llvm::Error mlir::sparse_opt::onnx::loadExternalData(
    TensorData &tensor, llvm::StringRef modelDirectory) {
  llvm::StringRef location = tensor.externalLocation;
  // The ONNX spec requires locations relative to the model, inside its
  // directory; anything else could read arbitrary files.
  if (llvm::sys::path::is_absolute(location) ||
      llvm::any_of(llvm::make_range(llvm::sys::path::begin(location),
                                    llvm::sys::path::end(location)),
                   [](llvm::StringRef part) { return part == ".."; }))
    return makeError("initializer '" + tensor.name + "': external data "
                     "location '" + location + "' (expected a path relative "
                     "to the model's directory, without '..')");
  llvm::SmallString<256> file(modelDirectory);
  llvm::sys::path::append(file, location);
  uint64_t fileSize = 0;
  if (std::error_code ec = llvm::sys::fs::file_size(file, fileSize))
    return makeError("initializer '" + tensor.name + "': external data file '" +
                     file + "': " + ec.message() +
                     " (expected it next to the model)");
  int64_t expected = tensor.numElements() * dataTypeSize(tensor.dataType);
  int64_t length = tensor.externalLength >= 0
                       ? tensor.externalLength
                       : int64_t(fileSize) - tensor.externalOffset;
  if (tensor.externalOffset < 0 || length < 0 ||
      uint64_t(tensor.externalOffset + length) > fileSize)
    return makeError("initializer '" + tensor.name + "': external data range [" +
                     Twine(tensor.externalOffset) + ", " +
                     Twine(tensor.externalOffset + length) + ") of '" + file +
                     "' (expected it inside the file's " + Twine(fileSize) +
                     " bytes)");
  if (length != expected)
    return makeError("initializer '" + tensor.name + "': external data of " +
                     Twine(length) + " bytes in '" + file + "' (expected " +
                     Twine(expected) + " bytes for its shape and type)");
  if (length == 0) {
    tensor.bytes = {};
    return llvm::Error::success();
  }
  auto buffer = llvm::MemoryBuffer::getFileSlice(file, length,
                                                 tensor.externalOffset);
  if (!buffer)
    return makeError("initializer '" + tensor.name + "': cannot map '" + file +
                     "': " + buffer.getError().message());
  std::shared_ptr<llvm::MemoryBuffer> mapped(std::move(*buffer));
  tensor.bytes = llvm::ArrayRef<char>(mapped->getBufferStart(),
                                      mapped->getBufferSize());
  tensor.owner = std::move(mapped);
  return llvm::Error::success();
}
