//===- CHeaderWriter.cpp - C declarations of compiled entry points --------===//

#include "sparse-opt/Compiler/CHeaderWriter.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/IR/BuiltinTypes.h"
#include "llvm/ADT/SetVector.h"

using namespace mlir;

namespace mlir::sparse_opt {

namespace {

/// The C spelling of a scalar type, or an empty string if there is none.
std::string cScalarType(Type type) {
  if (type.isIndex())
    return "int64_t";
  if (type.isF32())
    return "float";
  if (type.isF64())
    return "double";
  if (type.isInteger(1))
    return "bool";
  if (auto integer = dyn_cast<IntegerType>(type)) {
    unsigned width = integer.getWidth();
    if (width == 8 || width == 16 || width == 32 || width == 64)
      return (integer.isUnsigned() ? "uint" : "int") + std::to_string(width) +
             "_t";
  }
  return "";
}

std::string memrefStructName(int64_t rank) {
  return "SoMemRef" + std::to_string(rank) + "D";
}

std::string typeString(Type type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  type.print(os);
  return text;
}

/// The C type holding one value of `type`: a memref's descriptor struct or
/// a scalar; fails on types without one. Records the memref ranks used.
FailureOr<std::string> cValueType(Type type, llvm::SetVector<int64_t> &ranks) {
  if (auto memref = dyn_cast<MemRefType>(type)) {
    if (cScalarType(memref.getElementType()).empty())
      return failure();
    ranks.insert(memref.getRank());
    return memrefStructName(memref.getRank());
  }
  std::string scalar = cScalarType(type);
  if (scalar.empty())
    return failure();
  return scalar;
}

/// How the C interface passes a value of `type`: memrefs by pointer to their
/// descriptor, scalars by value.
FailureOr<std::string> cParameterType(Type type,
                                      llvm::SetVector<int64_t> &ranks) {
  FailureOr<std::string> valueType = cValueType(type, ranks);
  if (failed(valueType))
    return failure();
  return *valueType + (isa<MemRefType>(type) ? " *" : " ");
}

void writeMemRefStruct(int64_t rank, llvm::raw_ostream &os) {
  std::string name = memrefStructName(rank);
  std::string macro = "SO_MEMREF_" + std::to_string(rank) + "D_DEFINED";
  os << "#ifndef " << macro << "\n#define " << macro << "\n";
  os << "typedef struct " << name << " {\n"
     << "  void *allocated; /* base of the allocation */\n"
     << "  void *aligned;   /* first element is aligned + offset */\n"
     << "  int64_t offset;\n";
  if (rank > 0)
    os << "  int64_t sizes[" << rank << "];\n"
       << "  int64_t strides[" << rank << "];\n";
  os << "} " << name << ";\n#endif\n\n";
}

struct EntryPoint {
  std::string declaration;
  std::string resultStruct;
};

} // namespace

LogicalResult writeCHeader(ModuleOp module, const CHeaderOptions &options,
                           llvm::raw_ostream &os) {
  llvm::SetVector<int64_t> ranks;
  SmallVector<EntryPoint> entryPoints;
  bool failedAny = false;

  for (auto function : module.getOps<func::FuncOp>()) {
    if (function.isPrivate() || function.isDeclaration() ||
        !function->hasAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName()))
      continue;
    FunctionType type = function.getFunctionType();
    std::string name = "_mlir_ciface_" + function.getSymName().str();
    EntryPoint entry;
    SmallVector<std::string> parameters;
    std::string returnType = "void";

    auto reject = [&](Type bad, StringRef role) {
      function.emitError() << "cannot export '" << function.getSymName()
                           << "' to C: " << role << " type " << bad
                           << " has no C equivalent (expected a memref of "
                              "int/float elements or a scalar)";
      failedAny = true;
    };

    // Memref and multiple results come back through a pointer passed
    // first; a single scalar result is returned by value.
    TypeRange results = type.getResults();
    if (results.size() == 1 && !isa<MemRefType>(results[0])) {
      returnType = cScalarType(results[0]);
      if (returnType.empty()) {
        reject(results[0], "result");
        continue;
      }
    } else if (results.size() == 1) {
      FailureOr<std::string> resultType = cParameterType(results[0], ranks);
      if (failed(resultType)) {
        reject(results[0], "result");
        continue;
      }
      parameters.push_back(*resultType + "result /* " +
                           typeString(results[0]) + " */");
    } else if (results.size() > 1) {
      std::string structName = function.getSymName().str() + "_results";
      llvm::raw_string_ostream fields(entry.resultStruct);
      fields << "typedef struct " << structName << " {\n";
      for (auto [index, result] : llvm::enumerate(results)) {
        FailureOr<std::string> field = cValueType(result, ranks);
        if (failed(field)) {
          reject(result, "result");
          break;
        }
        fields << "  " << *field << " result" << index << "; /* "
               << typeString(result) << " */\n";
      }
      fields << "} " << structName << ";\n\n";
      parameters.push_back(structName + " *results");
    }
    if (failedAny)
      continue;

    for (auto [index, argument] : llvm::enumerate(type.getInputs())) {
      FailureOr<std::string> parameter = cParameterType(argument, ranks);
      if (failed(parameter)) {
        reject(argument, "argument");
        break;
      }
      parameters.push_back(*parameter + "arg" + std::to_string(index) +
                           " /* " + typeString(argument) + " */");
    }
    if (failedAny)
      continue;

    llvm::raw_string_ostream declaration(entry.declaration);
    declaration << "/* The tensor signature " << function.getSymName()
                << " was compiled from. */\n"
                << "extern const char " << options.symbolPrefix
                << "_signature_" << function.getSymName() << "[];\n";
    declaration << returnType << " " << name << "(";
    if (parameters.empty())
      declaration << "void";
    for (auto [index, parameter] : llvm::enumerate(parameters))
      declaration << (index ? ",\n    " : "\n    ") << parameter;
    declaration << ");\n\n";
    entryPoints.push_back(std::move(entry));
  }
  if (failedAny)
    return failure();

  os << kGeneratedHeaderMarker << "\n"
     << "/* Entry points of a library compiled by sparse-compile. Sparse\n"
     << " * arguments are passed as their positions, coordinates and values\n"
     << " * buffers, level by level. A memref result is returned through\n"
     << " * the first pointer; a computed one is malloc'ed by the library and\n"
     << " * the caller frees its 'allocated' pointer. */\n"
     << "#ifndef " << options.guard << "\n#define " << options.guard
     << "\n\n#include <stdbool.h>\n#include <stdint.h>\n\n"
     << "#ifdef __cplusplus\nextern \"C\" {\n#endif\n\n";
  llvm::SmallVector<int64_t> sortedRanks(ranks.begin(), ranks.end());
  llvm::sort(sortedRanks);
  for (int64_t rank : sortedRanks)
    writeMemRefStruct(rank, os);
  for (const EntryPoint &entry : entryPoints)
    os << entry.resultStruct << entry.declaration;
  if (options.exportsThreadControl)
    os << "/* Threads used by parallel loops; n <= 0 selects the OpenMP\n"
       << " * default. */\n"
       << "void " << options.symbolPrefix << "_set_num_threads(int32_t n);\n"
       << "int32_t " << options.symbolPrefix
       << "_get_num_threads(void);\n\n";
  os << "#ifdef __cplusplus\n}\n#endif\n\n#endif /* " << options.guard
     << " */\n";
  return success();
}

} // namespace mlir::sparse_opt
