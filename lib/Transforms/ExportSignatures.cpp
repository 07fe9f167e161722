//===- ExportSignatures.cpp - Entry-point signatures as C strings ---------===//
//
// Implements `sparse-opt-export-signatures`; see Passes.td for the contract.
//
//===----------------------------------------------------------------------===//

#include "sparse-opt/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::sparse_opt {
#define GEN_PASS_DEF_SPARSEOPTEXPORTSIGNATURES
#include "sparse-opt/Transforms/Passes.h.inc"
} // namespace mlir::sparse_opt

using namespace mlir;

namespace {

struct ExportSignaturesPass
    : public sparse_opt::impl::SparseOptExportSignaturesBase<
          ExportSignaturesPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<func::FuncOp> entryPoints;
    for (auto function : module.getOps<func::FuncOp>())
      if (function.isPublic() && !function.isDeclaration() &&
          function->hasAttr(LLVM::LLVMDialect::getEmitCWrapperAttrName()))
        entryPoints.push_back(function);

    OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
    for (func::FuncOp function : entryPoints) {
      std::string name =
          symbolPrefix + "_signature_" + function.getSymName().str();
      if (SymbolTable::lookupSymbolIn(module, name)) {
        function.emitError() << "symbol '" << name
                             << "' is already defined; pick another "
                                "symbol-prefix for "
                                "sparse-opt-export-signatures";
        return signalPassFailure();
      }
      std::string signature;
      llvm::raw_string_ostream os(signature);
      function.getFunctionType().print(os);
      signature.push_back('\0');
      auto type = LLVM::LLVMArrayType::get(builder.getI8Type(),
                                           signature.size());
      LLVM::GlobalOp::create(builder, function.getLoc(), type,
                             /*isConstant=*/true, LLVM::Linkage::External,
                             name, builder.getStringAttr(signature));
    }
  }
};

} // namespace
