//===- OnnxImporter.h - ONNX model to linalg on tensors ---------*- C++ -*-===//
//
// Imports an ONNX model into one public `func.func` over linalg / tensor /
// arith / math ops on ranked, statically shaped tensors. Initializers become
// `arith.constant`s (resource blobs for large ones) so later passes can read
// the weights. See docs/frontend.md.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSE_OPT_FRONTEND_ONNXIMPORTER_H
#define SPARSE_OPT_FRONTEND_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>
#include <utility>
#include <vector>

namespace mlir {
class MLIRContext;
} // namespace mlir

namespace mlir::sparse_opt {

struct OnnxImportOptions {
  /// Name of the generated entry function.
  std::string entryName = "forward";
  /// Static shapes for graph inputs, overriding the model's (possibly
  /// symbolic) dimensions.
  std::vector<std::pair<std::string, llvm::SmallVector<int64_t>>> inputShapes;
  /// Large weights as `dense_resource` blobs sharing the model's bytes (no
  /// copy; external data stays memory-mapped) instead of `dense` elements
  /// (one copy into the MLIRContext). Elements are the default because
  /// sparse-opt-materialize-sparse-constants and upstream folders read only
  /// those today; see docs/frontend.md.
  bool resourceWeights = false;
};

/// Parses "name=1x3x224x224" (a scalar is "name=") into `options`.
llvm::Error parseInputShape(llvm::StringRef text, OnnxImportOptions &options);

/// The ai.onnx op types the importer converts, sorted.
std::vector<std::string> supportedOnnxOps();

/// Imports the ONNX model at `path`. The entry function has one argument per
/// graph input that is not an initializer, in graph order, and one result per
/// graph output, in graph order; it carries `llvm.emit_c_interface`. Errors
/// read "<path>: <what was expected>".
llvm::Expected<OwningOpRef<ModuleOp>>
importOnnxModel(MLIRContext &context, llvm::StringRef path,
                const OnnxImportOptions &options);

} // namespace mlir::sparse_opt

#endif // SPARSE_OPT_FRONTEND_ONNXIMPORTER_H
