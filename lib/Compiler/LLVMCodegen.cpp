//===- LLVMCodegen.cpp - LLVM dialect to optimized machine code -----------===//

#include "sparse-opt/Compiler/LLVMCodegen.h"

#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/TargetParser/Triple.h"

using namespace llvm;

namespace mlir::sparse_opt {

static CodeGenOptLevel toCodeGenOptLevel(unsigned optLevel) {
  switch (optLevel) {
  case 0:
    return CodeGenOptLevel::None;
  case 1:
    return CodeGenOptLevel::Less;
  case 2:
    return CodeGenOptLevel::Default;
  default:
    return CodeGenOptLevel::Aggressive;
  }
}

Expected<std::unique_ptr<TargetMachine>>
createTargetMachine(const CpuTarget &target, unsigned optLevel) {
  initializeNativeTarget();
  Triple triple(target.triple);
  std::string error;
  const Target *llvmTarget = TargetRegistry::lookupTarget(triple, error);
  if (!llvmTarget)
    return createStringError(inconvertibleErrorCode(), error);
  TargetOptions options;
  std::unique_ptr<TargetMachine> machine(llvmTarget->createTargetMachine(
      triple, target.cpu, target.features, options, Reloc::PIC_,
      /*CM=*/std::nullopt, toCodeGenOptLevel(optLevel)));
  if (!machine)
    return createStringError(inconvertibleErrorCode(),
                             "cannot create a target machine for '" +
                                 target.cpu + "'");
  return machine;
}

std::unique_ptr<Module> translateToLLVMIR(ModuleOp module,
                                          LLVMContext &context,
                                          TargetMachine &machine,
                                          const CpuTarget &target) {
  std::unique_ptr<Module> llvmModule = mlir::translateModuleToLLVMIR(
      module, context, module.getName().value_or("sparse_opt_module"));
  if (!llvmModule)
    return nullptr;
  llvmModule->setTargetTriple(machine.getTargetTriple());
  llvmModule->setDataLayout(machine.createDataLayout());
  for (Function &function : *llvmModule) {
    if (function.isDeclaration())
      continue;
    function.addFnAttr("target-cpu", target.cpu);
    function.addFnAttr("target-features", target.features);
    // Some CPUs (Skylake-X and successors) default to 256-bit vectors for
    // LLVM's own vectorizer and would split the pipeline's 512-bit vectors.
    if (target.vectorBits) {
      std::string width = std::to_string(target.vectorBits);
      function.addFnAttr("prefer-vector-width", width);
      function.addFnAttr("min-legal-vector-width", width);
    }
  }
  return llvmModule;
}

Error optimizeLLVMModule(Module &module, TargetMachine &machine,
                         unsigned optLevel) {
  auto transformer = mlir::makeOptimizingTransformer(
      std::min(optLevel, 3u), /*sizeLevel=*/0, &machine);
  return transformer(&module);
}

Error emitObjectFile(Module &module, TargetMachine &machine,
                     raw_pwrite_stream &os) {
  legacy::PassManager codegen;
  if (machine.addPassesToEmitFile(codegen, os, /*DwoOut=*/nullptr,
                                  CodeGenFileType::ObjectFile))
    return createStringError(inconvertibleErrorCode(),
                             "the target cannot emit object files");
  codegen.run(module);
  return Error::success();
}

} // namespace mlir::sparse_opt
