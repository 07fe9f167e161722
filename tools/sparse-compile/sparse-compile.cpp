//===- sparse-compile.cpp - MLIR to shared library, in one process --------===//
//
// sparse-compile IN.mlir -o OUT.so [--emit=mlir|llvm|obj|so] [--target-cpu=CPU]
//
// Runs sparse-opt-cpu-pipeline, translates to LLVM IR, optimizes it, emits
// an object for the target CPU and links it into a shared library with LLD,
// writing a C header of the exported entry points next to it. Nothing is
// delegated to other processes.
//
//===----------------------------------------------------------------------===//

#include "sparse-opt/Compiler/CHeaderWriter.h"
#include "sparse-opt/Compiler/LLVMCodegen.h"
#include "sparse-opt/Compiler/SharedLibraryLinker.h"
#include "sparse-opt/Frontend/OnnxImporter.h"
#include "sparse-opt/Pipelines/CpuPipeline.h"
#include "sparse-opt/Transforms/Passes.h"

#include "mlir/IR/AsmState.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/Parser/Parser.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Support/FileUtilities.h"
#include "mlir/Target/LLVMIR/Dialect/All.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/CommandLine.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/FileUtilities.h"
#include "llvm/Support/InitLLVM.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/SourceMgr.h"
#include "llvm/Support/ToolOutputFile.h"
#include "llvm/Support/WithColor.h"

using namespace mlir;
using namespace mlir::sparse_opt;
namespace cl = llvm::cl;

namespace {

enum class EmitKind { MLIR, LLVM, Object, SharedLibrary };

cl::OptionCategory category("sparse-compile options");

cl::opt<std::string> inputFilename(cl::Positional,
                                   cl::desc("<input .mlir or .onnx>"),
                                   cl::init("-"), cl::cat(category));
cl::opt<std::string> outputFilename("o", cl::desc("Output file"),
                                    cl::value_desc("path"), cl::Required,
                                    cl::cat(category));
cl::opt<EmitKind> emitKind(
    "emit", cl::desc("Stage to stop at"), cl::init(EmitKind::SharedLibrary),
    cl::values(
        clEnumValN(EmitKind::MLIR, "mlir", "MLIR in the LLVM dialect"),
        clEnumValN(EmitKind::LLVM, "llvm", "Optimized LLVM IR (text)"),
        clEnumValN(EmitKind::Object, "obj", "Object file"),
        clEnumValN(EmitKind::SharedLibrary, "so",
                   "Shared library plus C header (default)")),
    cl::cat(category));
cl::opt<std::string> targetCpu(
    "target-cpu", cl::desc("Target CPU: 'host' (default) or an LLVM CPU name"),
    cl::init("host"), cl::cat(category));
cl::opt<std::string>
    targetFeatures("target-features",
                   cl::desc("Extra target features, e.g. '-avx512f,+avx2'"),
                   cl::init(""), cl::cat(category));
cl::opt<int> numThreads(
    "num-threads",
    cl::desc("Default thread count of the library (0: the OpenMP default); "
             "callers can change it with <prefix>_set_num_threads"),
    cl::init(0), cl::cat(category));
cl::opt<unsigned> optLevel("O", cl::desc("LLVM optimization level (0-3)"),
                           cl::Prefix, cl::init(3), cl::cat(category));
cl::opt<std::string> pipelineOptions(
    "pipeline-options",
    cl::desc("Options of sparse-opt-cpu-pipeline, as on its command line, "
             "e.g. 'parallelization-strategy=none vector-length=8'"),
    cl::init(""), cl::cat(category));
cl::opt<std::string> headerFilename(
    "header",
    cl::desc("C header path for --emit=so (default: the output with .h)"),
    cl::value_desc("path"), cl::init(""), cl::cat(category));
cl::list<std::string> onnxInputShapes(
    "input-shape",
    cl::desc("For .onnx input: static shape of a graph input, "
             "NAME=D0xD1x... (repeatable)"),
    cl::value_desc("name=shape"), cl::cat(category));
cl::opt<std::string> onnxEntry(
    "entry", cl::desc("For .onnx input: name of the entry function"),
    cl::init("forward"), cl::cat(category));
cl::opt<std::string> weightReport(
    "sparse-opt-report",
    cl::desc("Write the per-layer weight format report (the format chosen "
             "for each constant weight and why) to this file ('-': stdout)"),
    cl::value_desc("path"), cl::init(""), cl::cat(category));
cl::opt<std::string> weightReportFormat(
    "sparse-opt-report-format",
    cl::desc("Format of --sparse-opt-report: text (default) or json"),
    cl::init("text"), cl::cat(category));
cl::opt<bool> noHeader("no-header", cl::desc("Do not write a C header"),
                       cl::init(false), cl::cat(category));

int fail(const llvm::Twine &message) {
  llvm::WithColor::error(llvm::errs(), "sparse-compile") << message << "\n";
  return 1;
}

/// The pipeline options: --pipeline-options, then the dedicated flags that
/// were given explicitly (they win).
LogicalResult collectPipelineOptions(CpuPipelineOptions &options) {
  std::string text = pipelineOptions;
  auto append = [&](llvm::StringRef key, const std::string &value) {
    text += " " + key.str() + "=" + value;
  };
  if (targetCpu.getNumOccurrences())
    append("target-cpu", targetCpu);
  if (targetFeatures.getNumOccurrences())
    append("target-features", "'" + targetFeatures + "'");
  if (numThreads.getNumOccurrences())
    append("num-threads", std::to_string(numThreads));
  if (weightReport.getNumOccurrences())
    append("weight-report", "'" + weightReport + "'");
  if (weightReportFormat.getNumOccurrences())
    append("weight-report-format", weightReportFormat);
  return options.parseFromString(text);
}

/// A header path the user did not name may only replace an earlier
/// generated header, never a file of theirs.
LogicalResult checkHeaderIsOurs(llvm::StringRef path) {
  if (!llvm::sys::fs::exists(path))
    return success();
  auto buffer = llvm::MemoryBuffer::getFile(path);
  if (buffer && (*buffer)->getBuffer().starts_with(kGeneratedHeaderMarker))
    return success();
  fail("'" + path + "' exists and was not generated by sparse-compile; " +
       "name another path with --header=PATH or pass --no-header");
  return failure();
}

std::string headerGuardFor(llvm::StringRef path) {
  std::string guard = "SPARSE_OPT_";
  for (char c : llvm::sys::path::filename(path))
    guard += llvm::isAlnum(c) ? llvm::toUpper(c) : '_';
  return guard;
}

LogicalResult writeTextOutput(llvm::StringRef path,
                              llvm::function_ref<void(llvm::raw_ostream &)>
                                  write) {
  std::string error;
  auto output = openOutputFile(path, &error);
  if (!output) {
    fail(error);
    return failure();
  }
  write(output->os());
  output->keep();
  return success();
}

int compile(MLIRContext &context) {
  llvm::SourceMgr sourceMgr;
  SourceMgrDiagnosticHandler diagnostics(sourceMgr, &context);

  for (const std::string &written : {outputFilename.getValue(),
                                     headerFilename.getValue()})
    if (!written.empty() && written != "-" && inputFilename != "-" &&
        llvm::sys::fs::equivalent(inputFilename, written))
      return fail("output '" + written + "' is the input file");

  if (optLevel > 3)
    return fail("-O" + llvm::Twine(optLevel) + " is not an optimization level "
                "(expected 0 to 3)");

  std::string error;
  OwningOpRef<ModuleOp> module;
  if (llvm::sys::path::extension(inputFilename) == ".onnx") {
    // An ONNX model goes through the frontend (docs/frontend.md).
    OnnxImportOptions importOptions;
    importOptions.entryName = onnxEntry;
    for (const std::string &shape : onnxInputShapes)
      if (llvm::Error e = parseInputShape(shape, importOptions))
        return fail(llvm::toString(std::move(e)));
    auto imported = importOnnxModel(context, inputFilename, importOptions);
    if (!imported)
      return fail(llvm::toString(imported.takeError()));
    module = std::move(*imported);
  } else {
    if (onnxInputShapes.getNumOccurrences() || onnxEntry.getNumOccurrences())
      return fail("--input-shape and --entry apply to .onnx input only");
    std::unique_ptr<llvm::MemoryBuffer> input = openInputFile(inputFilename,
                                                              &error);
    if (!input)
      return fail(error);
    sourceMgr.AddNewSourceBuffer(std::move(input), llvm::SMLoc());
    module = parseSourceFile<ModuleOp>(sourceMgr, &context);
    if (!module)
      return 1;
  }

  CpuPipelineOptions options;
  if (failed(collectPipelineOptions(options)))
    return fail("invalid --pipeline-options '" + pipelineOptions + "'");
  llvm::Expected<CpuTarget> target =
      CpuTarget::resolve(options.targetCpu, options.targetFeatures);
  if (!target)
    return fail(llvm::toString(target.takeError()));

  bool writeHeader = emitKind == EmitKind::SharedLibrary && !noHeader;
  std::string headerPath = headerFilename;
  if (writeHeader && headerPath.empty()) {
    if (outputFilename == "-")
      return fail("cannot derive a header path from '-o -'; use --header");
    llvm::SmallString<256> derived(outputFilename);
    llvm::sys::path::replace_extension(derived, ".h");
    headerPath = derived.str().str();
    if (failed(checkHeaderIsOurs(headerPath)))
      return 1;
  }

  bool hasEntryPoint = llvm::any_of(
      module->getOps<func::FuncOp>(), [](func::FuncOp function) {
        return function.isPublic() && !function.isDeclaration() &&
               function->hasAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName());
      });
  if (!hasEntryPoint)
    llvm::WithColor::warning(llvm::errs(), "sparse-compile")
        << "no public function in '" << inputFilename
        << "' is marked llvm.emit_c_interface; the library will have no C "
           "entry points\n";

  PassManager bufferize(&context);
  if (failed(applyPassManagerCLOptions(bufferize)))
    return 1;
  if (llvm::Error e = buildCpuBufferizePipeline(bufferize, options))
    return fail(llvm::toString(std::move(e)));
  if (failed(bufferize.run(*module)))
    return 1;

  // The header comes from the bufferized signatures; write it only once
  // the library itself exists.
  std::string header;
  if (writeHeader) {
    llvm::raw_string_ostream headerStream(header);
    CHeaderOptions headerOptions;
    headerOptions.guard = headerGuardFor(headerPath);
    headerOptions.symbolPrefix = options.symbolPrefix;
    headerOptions.exportsThreadControl = options.useOpenMP;
    if (failed(writeCHeader(*module, headerOptions, headerStream)))
      return 1;
  }

  PassManager lower(&context);
  if (failed(applyPassManagerCLOptions(lower)))
    return 1;
  buildCpuLowerToLLVMPipeline(lower, options);
  if (failed(lower.run(*module)))
    return 1;

  if (emitKind == EmitKind::MLIR)
    return failed(writeTextOutput(outputFilename, [&](llvm::raw_ostream &os) {
      module->print(os);
    }));

  auto machine = createTargetMachine(*target, optLevel);
  if (!machine)
    return fail(llvm::toString(machine.takeError()));
  llvm::LLVMContext llvmContext;
  std::unique_ptr<llvm::Module> llvmModule =
      translateToLLVMIR(*module, llvmContext, **machine, *target);
  if (!llvmModule)
    return fail("translation to LLVM IR failed");
  if (llvm::Error e = optimizeLLVMModule(*llvmModule, **machine, optLevel))
    return fail("LLVM optimization failed: " + llvm::toString(std::move(e)));

  if (emitKind == EmitKind::LLVM)
    return failed(writeTextOutput(outputFilename, [&](llvm::raw_ostream &os) {
      llvmModule->print(os, nullptr);
    }));

  auto writeObject = [&](llvm::StringRef path) -> LogicalResult {
    auto output = openOutputFile(path, &error);
    if (!output) {
      fail(error);
      return failure();
    }
    if (llvm::Error e = emitObjectFile(*llvmModule, **machine, output->os())) {
      fail(llvm::toString(std::move(e)));
      return failure();
    }
    output->keep();
    return success();
  };
  if (emitKind == EmitKind::Object)
    return failed(writeObject(outputFilename));

  if (outputFilename == "-")
    return fail("a shared library cannot be written to stdout");
  llvm::SmallString<256> objectPath;
  if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
          "sparse-compile", "o", objectPath))
    return fail("cannot create a temporary object file: " + ec.message());
  llvm::FileRemover removeObject(objectPath);
  if (failed(writeObject(objectPath)))
    return 1;
  SharedLibraryLinkOptions linkOptions;
  linkOptions.linkOpenMP = options.useOpenMP;
  if (llvm::Error e = linkSharedLibrary({objectPath.str().str()},
                                        outputFilename, linkOptions))
    return fail(llvm::toString(std::move(e)));
  if (writeHeader &&
      failed(writeTextOutput(headerPath,
                             [&](llvm::raw_ostream &os) { os << header; })))
    return 1;
  return 0;
}

} // namespace

int main(int argc, char **argv) {
  llvm::InitLLVM initLLVM(argc, argv);
  registerAsmPrinterCLOptions();
  registerMLIRContextCLOptions();
  registerPassManagerCLOptions();
  registerSparseOptPasses();
  registerCpuPipelines();
  // MLIR and LLVM debugging options stay usable; --help-hidden lists them.
  cl::HideUnrelatedOptions(category);
  cl::ParseCommandLineOptions(
      argc, argv,
      "sparse-compile: compile MLIR (linalg on sparse tensors) into a shared "
      "library with a C header\n");

  DialectRegistry registry;
  registerAllDialects(registry);
  registerAllExtensions(registry);
  registerAllToLLVMIRTranslations(registry);
  MLIRContext context(registry);
  // Multi-threaded pass execution buys little on one small module and
  // makes diagnostics order nondeterministic.
  context.disableMultithreading();
  // The diagnostic's location already points at the source.
  context.printOpOnDiagnostic(false);
  return compile(context);
}
