//===- LLVMCodegen.h - LLVM dialect to optimized machine code ---*- C++ -*-===//
//
// The back half of sparse-compile, in process: translate an LLVM-dialect
// module to LLVM IR, optimize it with LLVM's default pipeline, and emit an
// object file for a CpuTarget.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSE_OPT_COMPILER_LLVMCODEGEN_H
#define SPARSE_OPT_COMPILER_LLVMCODEGEN_H

#include "sparse-opt/Target/CpuTarget.h"

#include "mlir/IR/BuiltinOps.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/Error.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <memory>

namespace mlir::sparse_opt {

/// A position-independent (shared-library ready) target machine.
llvm::Expected<std::unique_ptr<llvm::TargetMachine>>
createTargetMachine(const CpuTarget &target, unsigned optLevel);

/// Translates `module` (LLVM dialect only) to LLVM IR for `machine`, tagging
/// every function with the target CPU, its features and its vector width so
/// that LLVM uses the full registers the pipeline vectorized for. Errors are
/// reported through the context's diagnostic handler; returns null on error.
std::unique_ptr<llvm::Module> translateToLLVMIR(ModuleOp module,
                                                llvm::LLVMContext &context,
                                                llvm::TargetMachine &machine,
                                                const CpuTarget &target);

/// Runs LLVM's default optimization pipeline at `optLevel` (0-3).
llvm::Error optimizeLLVMModule(llvm::Module &module,
                               llvm::TargetMachine &machine,
                               unsigned optLevel);

/// Emits `module` as a relocatable object file into `os`.
llvm::Error emitObjectFile(llvm::Module &module, llvm::TargetMachine &machine,
                           llvm::raw_pwrite_stream &os);

} // namespace mlir::sparse_opt

#endif // SPARSE_OPT_COMPILER_LLVMCODEGEN_H
