//===- sparse-import-onnx.cpp - ONNX model to MLIR (linalg on tensors) ----===//
//
// sparse-import-onnx MODEL.onnx -o OUT.mlir [--input-shape NAME=1x3x224x224]
//                   [--entry NAME]
//
// Writes one module with one public function over linalg / tensor / arith /
// math on static tensors; weights are constants (large ones as resource
// blobs at the end of the file). See docs/frontend.md.
//
//===----------------------------------------------------------------------===//

#include "sparse-opt/Frontend/OnnxImporter.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

using namespace mlir;
namespace cl = llvm::cl;

namespace {

cl::OptionCategory category("sparse-import-onnx options");

cl::opt<std::string> inputFilename(cl::Positional, cl::desc("<model.onnx>"),
                                   cl::cat(category));
cl::opt<std::string> outputFilename("o",
                                    cl::desc("Output file ('-' for stdout)"),
                                    cl::value_desc("path"), cl::cat(category));
cl::opt<bool> listOps("list-ops",
                      cl::desc("Print the supported ONNX op types and exit"),
                      cl::init(false), cl::cat(category));
cl::list<std::string> inputShapes(
    "input-shape",
    cl::desc("Static shape of a graph input, NAME=D0xD1x... (repeatable)"),
    cl::value_desc("name=shape"), cl::cat(category));
cl::opt<std::string> entryName("entry",
                               cl::desc("Name of the generated function"),
                               cl::init("forward"), cl::cat(category));

cl::opt<bool> resourceWeights(
    "resource-weights",
    cl::desc("Keep large weights as dense_resource blobs that share the "
             "model's bytes (no copy) instead of dense elements"),
    cl::init(false), cl::cat(category));

cl::opt<bool> printLocations(
    "print-locations",
    cl::desc("Print each op's location, the ONNX node name that weight "
             "reports and weight-overrides call the layer (default on)"),
    cl::init(true), cl::cat(category));

int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "sparse-import-onnx") << message
                                                             << "\n";
  return 1;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "sparse-import-onnx: import an ONNX model as MLIR (linalg on tensors, "
      "weights as constants)\n");

  if (listOps) {
    for (const std::string &op : sparse_opt::supportedOnnxOps())
      llvm::outs() << op << "\n";
    return 0;
  }
  if (inputFilename.empty() || outputFilename.empty())
    return fail("expected a model and -o OUTPUT (see --help)");
  if (outputFilename != "-" && llvm::sys::fs::exists(outputFilename) &&
      llvm::sys::fs::equivalent(inputFilename, outputFilename))
    return fail("output '" + outputFilename + "' is the input file");

  sparse_opt::OnnxImportOptions options;
  options.entryName = entryName;
  options.resourceWeights = resourceWeights;
  for (const std::string &shape : inputShapes)
    if (llvm::Error e = sparse_opt::parseInputShape(shape, options))
      return fail(llvm::toString(std::move(e)));

  MLIRContext context;
  context.printOpOnDiagnostic(false);
  auto module = sparse_opt::importOnnxModel(context, inputFilename, options);
  if (!module)
    return fail(llvm::toString(module.takeError()));

  std::string error;
  auto output = openOutputFile(outputFilename, &error);
  if (!output)
    return fail(error);
  // The node names are the layer names of reports and weight-overrides;
  // MLIR prints locations only when asked.
  OpPrintingFlags flags;
  if (printLocations)
    flags.enableDebugInfo();
  (*module)->print(output->os(), flags);
  output->keep();
  return 0;
}
