//===- OnnxImporter.cpp - ONNX graph to one func.func over linalg --------===//
//
// Walks the graph in its (topological) node order, giving every ONNX value a
// statically shaped tensor type, and calls the converter registered for each
// node's op type. Initializers and small values known at import time are
// materialized lazily, at their first use as an SSA value, so shape
// arithmetic that folds away leaves no IR behind.
//
//===----------------------------------------------------------------------===//

#include "sparse-opt/Frontend/OnnxImporter.h"
#include "Builders.h"
#include "Converter.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/MapVector.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/raw_ostream.h"

#include <cstring>

using namespace mlir;
using namespace mlir::sparse_opt;
using namespace mlir::sparse_opt::onnx;
using llvm::Twine;

namespace {

/// Weights with more elements than this are taken from the model's bytes as
/// they are (a raw-buffer dense attribute or a resource blob); smaller ones
/// are decoded element by element (bool, 16-bit, ... all alike).
constexpr int64_t kMaxInlineElements = 64;

llvm::Error makeError(const Twine &message) {
  return llvm::createStringError(llvm::inconvertibleErrorCode(), message);
}

std::string shapeString(ArrayRef<int64_t> shape) {
  if (shape.empty())
    return "scalar";
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm::interleave(shape, os, "x");
  return text;
}

} // namespace

namespace mlir::sparse_opt::onnx {

/// Everything known about one ONNX value during import.
struct ImportedValue {
  RankedTensorType type;
  /// The SSA value, once materialized.
  Value value;
  /// Its elements, when small and computable at import time.
  std::optional<KnownValue> known;
  /// The stored tensor it came from (initializer / Constant), if any.
  std::shared_ptr<TensorData> weight;
};

/// The MLIR element type of an ONNX data type, or null if unsupported.
Type elementTypeFor(MLIRContext *context, DataType type) {
  Builder b(context);
  switch (type) {
  case DataType::Float: return b.getF32Type();
  case DataType::Double: return b.getF64Type();
  case DataType::Int64: return b.getI64Type();
  case DataType::Int32: return b.getI32Type();
  case DataType::Int16: return b.getI16Type();
  case DataType::Int8: return b.getI8Type();
  case DataType::Bool: return b.getI1Type();
  default: return nullptr;
  }
}

class Importer {
public:
  Importer(MLIRContext &context, Model &model,
           const OnnxImportOptions &options)
      : context(context), model(model), options(options), builder(&context) {}

  llvm::Expected<OwningOpRef<ModuleOp>> run();

  ImportedValue *lookup(StringRef name) {
    auto it = values.find(name);
    return it == values.end() ? nullptr : &it->second;
  }
  Value materialize(ImportedValue &imported, Location loc);
  const KnownValue *known(ImportedValue &imported);
  void define(StringRef name, ImportedValue value) {
    values[name] = std::move(value);
  }
  void recordError(const Twine &message) {
    if (error.empty())
      error = message.str();
  }
  const std::string &path() const { return model.path; }

private:
  llvm::Error prepareConstants();
  llvm::Error checkSupportedOps();
  llvm::Error declareInputs(SmallVectorImpl<Type> &argumentTypes,
                            SmallVectorImpl<std::string> &argumentNames);
  llvm::Error checkOutputType(const ValueInfo &declared,
                              RankedTensorType computed);
  ElementsAttr weightAttr(const TensorData &tensor, RankedTensorType type);
  Value copyIfStridedView(Value result);

  MLIRContext &context;
  Model &model;
  const OnnxImportOptions &options;
  OpBuilder builder;
  llvm::StringMap<ImportedValue> values;
  /// Initializers and Constant-node tensors by value name.
  llvm::StringMap<std::shared_ptr<TensorData>> constants;
  std::string error;
};

} // namespace mlir::sparse_opt::onnx

//===----------------------------------------------------------------------===//
// KnownValue
//===----------------------------------------------------------------------===//

int64_t KnownValue::numElements() const { return product(shape); }

KnownValue KnownValue::zeros(RankedTensorType type) {
  KnownValue value;
  value.elementType = type.getElementType();
  value.shape.assign(type.getShape().begin(), type.getShape().end());
  if (value.isFloat())
    value.floats.assign(value.numElements(), 0.0);
  else
    value.ints.assign(value.numElements(), 0);
  return value;
}

KnownValue KnownValue::ofInts(Type elementType, ArrayRef<int64_t> values) {
  KnownValue value;
  value.elementType = elementType;
  value.shape = {int64_t(values.size())};
  value.ints.assign(values.begin(), values.end());
  return value;
}

void KnownValue::set(int64_t i, double value) {
  if (isFloat()) {
    floats[i] = elementType.isF32() ? double(float(value)) : value;
    return;
  }
  if (elementType.isInteger(1)) {
    ints[i] = value != 0;
    return;
  }
  setInt(i, int64_t(value));
}

void KnownValue::setInt(int64_t i, int64_t value) {
  if (isFloat()) {
    set(i, double(value));
    return;
  }
  unsigned width = elementType.getIntOrFloatBitWidth();
  if (width == 1)
    ints[i] = value != 0;
  else if (width < 64)
    ints[i] = APInt(64, value).trunc(width).getSExtValue();
  else
    ints[i] = value;
}

DenseElementsAttr KnownValue::toAttr() const {
  RankedTensorType tensorType = type();
  if (auto floatType = dyn_cast<FloatType>(elementType)) {
    SmallVector<APFloat> elements;
    elements.reserve(floats.size());
    for (double value : floats) {
      APFloat element(value);
      bool losesInfo = false;
      element.convert(floatType.getFloatSemantics(),
                      APFloat::rmNearestTiesToEven, &losesInfo);
      elements.push_back(element);
    }
    return DenseElementsAttr::get(tensorType, elements);
  }
  unsigned width = elementType.getIntOrFloatBitWidth();
  SmallVector<APInt> elements;
  elements.reserve(ints.size());
  for (int64_t value : ints)
    elements.push_back(APInt(64, value).trunc(width));
  return DenseElementsAttr::get(tensorType, elements);
}

KnownValue mlir::sparse_opt::onnx::decodeStored(const TensorData &tensor,
                                               RankedTensorType type) {
  KnownValue value = KnownValue::zeros(type);
  const char *p = tensor.bytes.data();
  for (int64_t i = 0, n = value.numElements(); i < n; ++i) {
    switch (tensor.dataType) {
    case DataType::Float: { float v; std::memcpy(&v, p + 4 * i, 4);
      value.floats[i] = v; break; }
    case DataType::Double: { double v; std::memcpy(&v, p + 8 * i, 8);
      value.floats[i] = v; break; }
    case DataType::Int64: { int64_t v; std::memcpy(&v, p + 8 * i, 8);
      value.ints[i] = v; break; }
    case DataType::Int32: { int32_t v; std::memcpy(&v, p + 4 * i, 4);
      value.ints[i] = v; break; }
    case DataType::Int16: { int16_t v; std::memcpy(&v, p + 2 * i, 2);
      value.ints[i] = v; break; }
    case DataType::Int8: value.ints[i] = int8_t(p[i]); break;
    case DataType::Bool: value.ints[i] = p[i] != 0; break;
    default: break; // elementTypeFor rejects the other types first.
    }
  }
  return value;
}

//===----------------------------------------------------------------------===//
// NodeContext
//===----------------------------------------------------------------------===//

bool NodeContext::hasInput(unsigned i) const {
  return i < node.inputs.size() && !node.inputs[i].empty();
}

RankedTensorType NodeContext::inputType(unsigned i) const {
  return importer.lookup(node.inputs[i])->type;
}

Value NodeContext::input(unsigned i) {
  return importer.materialize(*importer.lookup(node.inputs[i]), loc);
}

const KnownValue *NodeContext::known(unsigned i) {
  if (!hasInput(i))
    return nullptr;
  return importer.known(*importer.lookup(node.inputs[i]));
}

std::shared_ptr<TensorData> NodeContext::weight(unsigned i) const {
  if (!hasInput(i))
    return nullptr;
  return importer.lookup(node.inputs[i])->weight;
}

FailureOr<SmallVector<int64_t>> NodeContext::constantInts(unsigned i,
                                                          StringRef what) {
  const KnownValue *value = known(i);
  if (!value) {
    (void)fail(Twine(what) + " (input " + Twine(i) + ", '" +
               (hasInput(i) ? node.inputs[i] : std::string()) +
               "') must be a constant or computable from static shapes");
    return failure();
  }
  SmallVector<int64_t> result;
  for (int64_t e = 0, n = value->numElements(); e < n; ++e)
    result.push_back(value->asInt(e));
  return result;
}

bool NodeContext::allInputsKnown() {
  for (unsigned i = 0; i < numInputs(); ++i)
    if (hasInput(i) && !known(i))
      return false;
  return true;
}

int64_t NodeContext::intAttr(StringRef name, int64_t defaultValue) const {
  const NodeAttribute *attribute = node.findAttribute(name);
  return attribute && attribute->kind == NodeAttribute::Kind::Int ? attribute->i
                                                              : defaultValue;
}

float NodeContext::floatAttr(StringRef name, float defaultValue) const {
  const NodeAttribute *attribute = node.findAttribute(name);
  if (!attribute)
    return defaultValue;
  if (attribute->kind == NodeAttribute::Kind::Float)
    return attribute->f;
  if (attribute->kind == NodeAttribute::Kind::Int)
    return float(attribute->i);
  return defaultValue;
}

std::string NodeContext::stringAttr(StringRef name,
                                    StringRef defaultValue) const {
  const NodeAttribute *attribute = node.findAttribute(name);
  return attribute && attribute->kind == NodeAttribute::Kind::String
             ? attribute->s
             : defaultValue.str();
}

std::optional<SmallVector<int64_t>>
NodeContext::intsAttr(StringRef name) const {
  const NodeAttribute *attribute = node.findAttribute(name);
  if (!attribute || attribute->kind != NodeAttribute::Kind::Ints)
    return std::nullopt;
  return attribute->ints;
}

std::optional<SmallVector<float>>
NodeContext::floatsAttr(StringRef name) const {
  const NodeAttribute *attribute = node.findAttribute(name);
  if (!attribute || attribute->kind != NodeAttribute::Kind::Floats)
    return std::nullopt;
  return attribute->floats;
}

void NodeContext::setOutput(unsigned i, Value value) {
  if (!hasOutput(i))
    return;
  ImportedValue imported;
  imported.type = cast<RankedTensorType>(value.getType());
  imported.value = value;
  importer.define(node.outputs[i], std::move(imported));
}

void NodeContext::setKnownOutput(unsigned i, KnownValue value) {
  if (!hasOutput(i))
    return;
  ImportedValue imported;
  imported.type = value.type();
  imported.known = std::move(value);
  importer.define(node.outputs[i], std::move(imported));
}

LogicalResult NodeContext::setWeightOutput(unsigned i,
                                           std::shared_ptr<TensorData> tensor) {
  if (!hasOutput(i))
    return success();
  Type elementType = elementTypeFor(b.getContext(), tensor->dataType);
  if (!elementType)
    return fail("tensor of element type " + dataTypeName(tensor->dataType) +
                " is not supported (expected float, double, int64, int32, "
                "int16, int8 or bool)");
  ImportedValue imported;
  imported.type = RankedTensorType::get(tensor->dims, elementType);
  imported.weight = std::move(tensor);
  importer.define(node.outputs[i], std::move(imported));
  return success();
}

Value NodeContext::constant(const KnownValue &value) {
  ImportedValue imported;
  imported.type = value.type();
  imported.known = value;
  return importer.materialize(imported, loc);
}

Value NodeContext::weightConstant(std::shared_ptr<TensorData> tensor) {
  ImportedValue imported;
  imported.type = RankedTensorType::get(
      tensor->dims, elementTypeFor(b.getContext(), tensor->dataType));
  imported.weight = std::move(tensor);
  return importer.materialize(imported, loc);
}

LogicalResult NodeContext::fail(const Twine &message) {
  importer.recordError(importer.path() + ": node '" + node.displayName() +
                       "' (" + node.opType + ", opset " + Twine(opset) +
                       "): " + message);
  return failure();
}

FailureOr<int64_t> NodeContext::normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= std::max<int64_t>(rank, 1)) {
    (void)fail("axis " + Twine(axis) + " is out of range for rank " +
               Twine(rank));
    return failure();
  }
  return axis < 0 ? axis + rank : axis;
}

std::vector<std::string> ConverterRegistry::opTypes() const {
  std::vector<std::string> names;
  for (const auto &entry : converters)
    names.push_back(entry.getKey().str());
  llvm::sort(names);
  return names;
}

const ConverterRegistry &mlir::sparse_opt::onnx::getConverterRegistry() {
  static const ConverterRegistry registry = [] {
    ConverterRegistry r;
    registerElementwiseConverters(r);
    registerLinearConverters(r);
    registerConvolutionConverters(r);
    registerPoolingConverters(r);
    registerShapeConverters(r);
    registerReductionConverters(r);
    return r;
  }();
  return registry;
}

//===----------------------------------------------------------------------===//
// Importer
//===----------------------------------------------------------------------===//

namespace {

std::string resourceName(StringRef valueName) {
  std::string name = "onnx.";
  for (char c : valueName)
    name += llvm::isAlnum(c) || c == '_' || c == '.' ? c : '_';
  return name;
}

} // namespace

const KnownValue *Importer::known(ImportedValue &imported) {
  if (imported.known)
    return &*imported.known;
  if (!imported.weight || imported.type.getNumElements() > kMaxKnownElements)
    return nullptr;
  imported.known = decodeStored(*imported.weight, imported.type);
  return &*imported.known;
}

ElementsAttr Importer::weightAttr(const TensorData &tensor,
                                  RankedTensorType type) {
  int64_t count = type.getNumElements();
  if (count <= kMaxInlineElements || type.getElementType().isInteger(1)) {
    return decodeStored(tensor, type).toAttr();
  }
  if (!options.resourceWeights)
    return DenseElementsAttr::getFromRawBuffer(type, tensor.bytes);
  // The blob shares the model's bytes (moved out of the protobuf or mapped
  // from the external data file): no copy, and it keeps them alive.
  size_t alignment = dataTypeSize(tensor.dataType);
  ArrayRef<char> bytes = tensor.bytes;
  AsmResourceBlob blob;
  if (reinterpret_cast<uintptr_t>(bytes.data()) % alignment == 0) {
    std::shared_ptr<const void> owner = tensor.owner;
    blob = AsmResourceBlob(
        bytes, alignment,
        [owner](void *, size_t, size_t) mutable { owner.reset(); },
        /*dataIsMutable=*/false);
  } else {
    blob = HeapAsmResourceBlob::allocateAndCopyWithAlign(bytes, alignment);
  }
  return DenseResourceElementsAttr::get(type, resourceName(tensor.name),
                                        std::move(blob));
}

Value Importer::materialize(ImportedValue &imported, Location loc) {
  if (imported.value)
    return imported.value;
  // Constants go to the top of the entry block so they dominate every use.
  OpBuilder::InsertionGuard guard(builder);
  Block *entry = builder.getInsertionBlock();
  builder.setInsertionPointToStart(entry);
  ElementsAttr attr;
  if (imported.known)
    attr = imported.known->toAttr();
  else
    attr = weightAttr(*imported.weight, imported.type);
  imported.value = arith::ConstantOp::create(builder, loc, imported.type,
                                             cast<TypedAttr>(attr));
  return imported.value;
}

/// The stored bytes of `tensor` must match its shape and type: converters
/// read them without further checks.
static llvm::Error checkTensorSize(const Model &model,
                                   const TensorData &tensor) {
  unsigned elementSize = dataTypeSize(tensor.dataType);
  if (elementSize == 0)
    return llvm::Error::success(); // Unsupported types fail at first use.
  int64_t expected = tensor.numElements() * elementSize;
  if (int64_t(tensor.bytes.size()) == expected)
    return llvm::Error::success();
  return makeError(model.path + ": tensor '" + tensor.name + "' holds " +
                   Twine(tensor.bytes.size()) + " bytes (expected " +
                   Twine(expected) + " for its shape and type " +
                   dataTypeName(tensor.dataType) + ")");
}

llvm::Error Importer::prepareConstants() {
  for (const std::shared_ptr<TensorData> &tensor : model.graph.initializers) {
    if (tensor->isExternal)
      if (llvm::Error e = loadExternalData(*tensor, model.directory))
        return makeError(model.path + ": " + llvm::toString(std::move(e)));
    if (llvm::Error e = checkTensorSize(model, *tensor))
      return e;
    constants[tensor->name] = tensor;
  }
  for (const Node &node : model.graph.nodes) {
    if (node.opType != "Constant" || node.outputs.empty())
      continue;
    const NodeAttribute *value = node.findAttribute("value");
    if (value && value->kind == NodeAttribute::Kind::Tensor) {
      if (value->tensor->isExternal)
        if (llvm::Error e = loadExternalData(*value->tensor, model.directory))
          return makeError(model.path + ": " + llvm::toString(std::move(e)));
      if (llvm::Error e = checkTensorSize(model, *value->tensor))
        return e;
      constants[node.outputs.front()] = value->tensor;
    }
  }
  return llvm::Error::success();
}

llvm::Error Importer::checkSupportedOps() {
  const ConverterRegistry &registry = getConverterRegistry();
  // op (with domain) -> nodes, in first-seen order.
  std::vector<std::pair<std::string, std::vector<std::string>>> unsupported;
  for (const Node &node : model.graph.nodes) {
    bool defaultDomain = node.domain.empty() || node.domain == "ai.onnx";
    if (defaultDomain && registry.lookup(node.opType))
      continue;
    std::string key = defaultDomain ? node.opType
                                    : node.domain + "." + node.opType;
    auto it = llvm::find_if(unsupported,
                            [&](const auto &entry) { return entry.first == key; });
    if (it == unsupported.end())
      it = unsupported.insert(unsupported.end(), {key, {}});
    it->second.push_back(node.displayName());
  }
  if (unsupported.empty())
    return llvm::Error::success();
  std::string message;
  llvm::raw_string_ostream os(message);
  os << model.path << ": " << unsupported.size()
     << " unsupported ONNX op type" << (unsupported.size() > 1 ? "s" : "")
     << " (ai.onnx opset " << model.defaultOpset() << "):";
  for (auto &[op, nodes] : unsupported) {
    os << "\n  " << op << ": node";
    if (nodes.size() > 1)
      os << "s";
    for (size_t i = 0; i < nodes.size() && i < 3; ++i)
      os << (i ? ", '" : " '") << nodes[i] << "'";
    if (nodes.size() > 3)
      os << " and " << nodes.size() - 3 << " more";
  }
  os << "\n(expected only the ops listed in docs/frontend.md)";
  return makeError(message);
}

llvm::Error Importer::declareInputs(SmallVectorImpl<Type> &argumentTypes,
                                   SmallVectorImpl<std::string> &names) {
  llvm::StringSet<> graphInputs;
  for (const ValueInfo &input : model.graph.inputs)
    graphInputs.insert(input.name);
  for (const auto &[name, shape] : options.inputShapes)
    if (!graphInputs.contains(name) || constants.count(name))
      return makeError(model.path + ": --input-shape names '" + name +
                       "', which is not an input of the graph");

  for (const ValueInfo &input : model.graph.inputs) {
    // Older exporters list initializers among the inputs too; those are
    // weights, not arguments.
    if (constants.count(input.name))
      continue;
    Type elementType = elementTypeFor(&context, input.elementType);
    if (!elementType)
      return makeError(model.path + ": input '" + input.name +
                       "' has element type " +
                       dataTypeName(input.elementType) +
                       " (expected float, double, int64, int32, int16, int8 "
                       "or bool)");
    const SmallVector<int64_t> *override = nullptr;
    for (const auto &[name, shape] : options.inputShapes)
      if (name == input.name)
        override = &shape;
    SmallVector<int64_t> shape;
    if (override) {
      if (input.hasShape && input.dims.size() != override->size())
        return makeError(model.path + ": --input-shape " + input.name + "=" +
                         shapeString(*override) + " has rank " +
                         Twine(override->size()) + " (expected rank " +
                         Twine(input.dims.size()) + " as in the model)");
      for (auto [d, size] : llvm::enumerate(*override))
        if (input.hasShape && input.dims[d] && *input.dims[d] != size)
          return makeError(model.path + ": --input-shape " + input.name +
                           "=" + shapeString(*override) + " has size " +
                           Twine(size) + " in dimension " + Twine(d) +
                           " (expected " + Twine(*input.dims[d]) +
                           " as in the model)");
      shape = *override;
    } else {
      if (!input.hasShape)
        return makeError(model.path + ": input '" + input.name +
                         "' has no shape in the model (expected one; give "
                         "it with --input-shape " + input.name + "=DxDx...)");
      for (auto [d, size] : llvm::enumerate(input.dims)) {
        if (!size) {
          std::string param = input.dimParams[d].empty()
                                  ? std::string()
                                  : " ('" + input.dimParams[d] + "')";
          return makeError(model.path + ": input '" + input.name +
                           "' has a dynamic dimension " + Twine(d) + param +
                           " (expected static shapes; give them with "
                           "--input-shape " + input.name + "=DxDx...)");
        }
        shape.push_back(*size);
      }
    }
    auto type = RankedTensorType::get(shape, elementType);
    argumentTypes.push_back(type);
    names.push_back(input.name);
  }
  return llvm::Error::success();
}

llvm::Error Importer::checkOutputType(const ValueInfo &declared,
                                      RankedTensorType computed) {
  if (declared.elementType != DataType::Undefined &&
      elementTypeFor(&context, declared.elementType) !=
          computed.getElementType())
    return makeError(model.path + ": output '" + declared.name +
                     "' is declared " + dataTypeName(declared.elementType) +
                     " but computes " + Twine([&] {
                       std::string text;
                       llvm::raw_string_ostream os(text);
                       os << computed.getElementType();
                       return text;
                     }()) + " (inconsistent types in the model)");
  if (!declared.hasShape)
    return llvm::Error::success();
  bool consistent = declared.dims.size() == size_t(computed.getRank());
  for (size_t d = 0; consistent && d < declared.dims.size(); ++d)
    consistent = !declared.dims[d] ||
                 *declared.dims[d] == computed.getDimSize(d);
  if (consistent)
    return llvm::Error::success();
  std::string declaredText;
  for (auto [d, size] : llvm::enumerate(declared.dims))
    declaredText += (d ? "x" : "") +
                    (size ? std::to_string(*size) : std::string("?"));
  return makeError(model.path + ": output '" + declared.name +
                   "' is declared with shape " +
                   (declared.dims.empty() ? "scalar" : declaredText) +
                   " but computes " + shapeString(computed.getShape()) +
                   " (inconsistent shapes in the model or --input-shape)");
}

Value Importer::copyIfStridedView(Value result) {
  // A returned slice (Split, Slice) would bufferize to a strided view that
  // the calling convention copies with the `memrefCopy` runtime function,
  // which generated libraries lack; copy it with a linalg.generic instead.
  Value source = result;
  while (Operation *op = source.getDefiningOp()) {
    if (isa<tensor::ExtractSliceOp>(op))
      break;
    if (!isa<tensor::CollapseShapeOp, tensor::ExpandShapeOp>(op))
      return result;
    source = op->getOperand(0);
  }
  if (!source.getDefiningOp())
    return result;
  // Reading through tensor.extract keeps canonicalization from erasing the
  // copy as an identity linalg.generic.
  auto type = cast<RankedTensorType>(result.getType());
  int64_t rank = type.getRank();
  Location loc = result.getLoc();
  Value init = tensor::EmptyOp::create(builder, loc, type.getShape(),
                                       type.getElementType());
  SmallVector<utils::IteratorType> iterators(rank,
                                             utils::IteratorType::parallel);
  return linalg::GenericOp::create(
             builder, loc, TypeRange{type}, ValueRange{}, ValueRange{init},
             SmallVector<AffineMap>{
                 AffineMap::getMultiDimIdentityMap(rank, &context)},
             iterators,
             [&](OpBuilder &nb, Location nloc, ValueRange) {
               SmallVector<Value> coordinates;
               for (int64_t d = 0; d < rank; ++d)
                 coordinates.push_back(linalg::IndexOp::create(nb, nloc, d));
               linalg::YieldOp::create(
                   nb, nloc,
                   tensor::ExtractOp::create(nb, nloc, result, coordinates)
                       .getResult());
             })
      .getResult(0);
}

llvm::Expected<OwningOpRef<ModuleOp>> Importer::run() {
  if (model.defaultOpset() <= 0)
    return makeError(model.path + ": the model imports no ai.onnx opset "
                     "(expected an opset_import for the default domain)");
  if (llvm::Error e = prepareConstants())
    return std::move(e);
  foldBatchNormIntoConv(model.graph, constants);
  if (llvm::Error e = checkSupportedOps())
    return std::move(e);

  SmallVector<Type> argumentTypes;
  SmallVector<std::string> argumentNames;
  if (llvm::Error e = declareInputs(argumentTypes, argumentNames))
    return std::move(e);

  Location fileLoc = FileLineColLoc::get(&context, model.path, 0, 0);
  OwningOpRef<ModuleOp> module = ModuleOp::create(fileLoc);
  builder.setInsertionPointToEnd(module->getBody());
  auto function = func::FuncOp::create(
      builder, fileLoc, options.entryName,
      builder.getFunctionType(argumentTypes, {}));
  function->setAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName(),
                    builder.getUnitAttr());
  Block *entry = function.addEntryBlock();
  builder.setInsertionPointToEnd(entry);

  for (auto [i, name] : llvm::enumerate(argumentNames)) {
    ImportedValue imported;
    imported.type = cast<RankedTensorType>(argumentTypes[i]);
    imported.value = entry->getArgument(i);
    values[name] = std::move(imported);
    function.setArgAttr(i, "onnx.name", builder.getStringAttr(name));
  }
  // Initializers (including those folding added); Constant-node tensors are
  // defined when their node is converted.
  for (const std::shared_ptr<TensorData> &tensor : model.graph.initializers) {
    const std::string &name = tensor->name;
    if (values.count(name))
      continue; // Duplicate initializer names: the first one counts.
    Type elementType = elementTypeFor(&context, tensor->dataType);
    ImportedValue imported;
    if (elementType)
      imported.type = RankedTensorType::get(tensor->dims, elementType);
    imported.weight = tensor;
    values[name] = std::move(imported);
  }

  const ConverterRegistry &registry = getConverterRegistry();
  int64_t opset = model.defaultOpset();
  for (const Node &node : model.graph.nodes) {
    Location loc = NameLoc::get(builder.getStringAttr(node.displayName()),
                                fileLoc);
    NodeContext nodeContext(*this, node, opset, builder, loc);
    const ConverterRegistry::Entry *converter = registry.lookup(node.opType);
    bool inputsReady = true;
    for (unsigned i = 0; i < converter->minInputs; ++i)
      if (!nodeContext.hasInput(i)) {
        (void)nodeContext.fail("input " + Twine(i) + " is missing (expected "
                               "at least " + Twine(converter->minInputs) +
                               " inputs)");
        return makeError(error);
      }
    for (const std::string &input : node.inputs) {
      if (input.empty())
        continue;
      ImportedValue *imported = lookup(input);
      if (!imported) {
        (void)nodeContext.fail("input '" + input + "' is not a graph input, "
                               "an initializer or an earlier node's output "
                               "(expected nodes in topological order)");
        inputsReady = false;
        break;
      }
      if (!imported->type) {
        (void)nodeContext.fail("input '" + input + "' is a " +
                               dataTypeName(imported->weight->dataType) +
                               " initializer (expected float, double, int64, "
                               "int32, int16, int8 or bool)");
        inputsReady = false;
        break;
      }
    }
    if (!inputsReady || failed(converter->convert(nodeContext))) {
      if (error.empty())
        (void)nodeContext.fail("conversion failed");
      return makeError(error);
    }
    for (auto [i, output] : llvm::enumerate(node.outputs))
      if (!output.empty() && !lookup(output)) {
        (void)nodeContext.fail("output " + Twine(i) + " ('" + output +
                               "') is not supported");
        return makeError(error);
      }
  }

  SmallVector<Value> results;
  for (const ValueInfo &output : model.graph.outputs) {
    ImportedValue *imported = lookup(output.name);
    if (!imported || !imported->type)
      return makeError(model.path + ": graph output '" + output.name +
                       "' is not computed by any node");
    if (llvm::Error e = checkOutputType(output, imported->type))
      return std::move(e);
    results.push_back(copyIfStridedView(materialize(*imported, fileLoc)));
  }
  if (results.empty())
    return makeError(model.path + ": the graph has no outputs");
  func::ReturnOp::create(builder, fileLoc, results);
  function.setType(builder.getFunctionType(argumentTypes,
                                           ValueRange(results).getTypes()));
  if (failed(verify(*module)))
    return makeError(model.path + ": the imported IR does not verify (an "
                     "importer bug; the diagnostics above say where)");
  return module;
}

//===----------------------------------------------------------------------===//
// Entry points
//===----------------------------------------------------------------------===//

llvm::Error mlir::sparse_opt::parseInputShape(StringRef text,
                                              OnnxImportOptions &options) {
  auto [name, dims] = text.split('=');
  if (name.empty() || !text.contains('='))
    return makeError("--input-shape '" + text +
                     "' (expected NAME=D0xD1x..., e.g. input=1x3x224x224)");
  SmallVector<int64_t> shape;
  if (!dims.empty()) {
    SmallVector<StringRef> parts;
    dims.split(parts, 'x');
    for (StringRef part : parts) {
      int64_t size;
      if (part.getAsInteger(10, size) || size < 0)
        return makeError("--input-shape '" + text + "': '" + part +
                         "' is not a dimension size (expected NAME=D0xD1x... "
                         "with non-negative integers)");
      shape.push_back(size);
    }
  }
  options.inputShapes.emplace_back(name.str(), std::move(shape));
  return llvm::Error::success();
}

std::vector<std::string> mlir::sparse_opt::supportedOnnxOps() {
  return getConverterRegistry().opTypes();
}

llvm::Expected<OwningOpRef<ModuleOp>>
mlir::sparse_opt::importOnnxModel(MLIRContext &context, StringRef path,
                                  const OnnxImportOptions &options) {
  context.loadDialect<arith::ArithDialect, func::FuncDialect,
                      linalg::LinalgDialect, math::MathDialect,
                      tensor::TensorDialect, LLVM::LLVMDialect>();

  llvm::Expected<std::unique_ptr<Model>> model = readModel(path);
  if (!model)
    return model.takeError();
  Importer importer(context, **model, options);
  return importer.run();
}
