//===- ThreadControl.cpp - Run-time settable OpenMP thread count ----------===//
//
// Implements `sparse-opt-thread-control`; see Passes.td for the contract.
//
//===----------------------------------------------------------------------===//

#include "KernelSupport.h"
#include "sparse-opt/Transforms/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::sparse_opt {
#define GEN_PASS_DEF_SPARSEOPTTHREADCONTROL
#include "sparse-opt/Transforms/Passes.h.inc"
} // namespace mlir::sparse_opt

using namespace mlir;

namespace {

struct ThreadControlPass
    : public sparse_opt::impl::SparseOptThreadControlBase<ThreadControlPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    std::string globalName = symbolPrefix + "_num_threads";
    std::string getterName = symbolPrefix + "_get_num_threads";
    std::string setterName = symbolPrefix + "_set_num_threads";
    for (StringRef name : {StringRef(globalName), StringRef(getterName),
                           StringRef(setterName)}) {
      if (SymbolTable::lookupSymbolIn(module, name)) {
        module.emitError() << "symbol '" << name
                           << "' is already defined; pick another "
                              "symbol-prefix for sparse-opt-thread-control";
        return signalPassFailure();
      }
    }

    Location loc = module.getLoc();
    OpBuilder builder = OpBuilder::atBlockEnd(module.getBody());
    Type i32 = builder.getI32Type();
    auto ptrType = LLVM::LLVMPointerType::get(&getContext());

    LLVM::GlobalOp::create(builder, loc, i32, /*isConstant=*/false,
                           LLVM::Linkage::Internal, globalName,
                           builder.getI32IntegerAttr(defaultNumThreads));

    FailureOr<LLVM::LLVMFuncOp> ompMaxThreads =
        lookupOrDeclareOmpGetMaxThreads(builder, module, i32);
    if (failed(ompMaxThreads))
      return signalPassFailure();

    // Getter: the stored count if positive, else the OpenMP default.
    auto getter = func::FuncOp::create(builder, loc, getterName,
                                       builder.getFunctionType({}, {i32}));
    {
      OpBuilder::InsertionGuard guard(builder);
      builder.setInsertionPointToStart(getter.addEntryBlock());
      Value address =
          LLVM::AddressOfOp::create(builder, loc, ptrType, globalName);
      Value stored = LLVM::LoadOp::create(builder, loc, i32, address);
      Value zero = arith::ConstantIntOp::create(builder, loc, 0, 32);
      Value isSet = arith::CmpIOp::create(builder, loc,
                                          arith::CmpIPredicate::sgt, stored,
                                          zero);
      Value ompDefault =
          LLVM::CallOp::create(builder, loc, *ompMaxThreads, ValueRange{})
              .getResult();
      Value count =
          arith::SelectOp::create(builder, loc, isSet, stored, ompDefault);
      func::ReturnOp::create(builder, loc, count);
    }

    auto setter = func::FuncOp::create(builder, loc, setterName,
                                       builder.getFunctionType({i32}, {}));
    {
      OpBuilder::InsertionGuard guard(builder);
      Block *entry = setter.addEntryBlock();
      builder.setInsertionPointToStart(entry);
      Value address =
          LLVM::AddressOfOp::create(builder, loc, ptrType, globalName);
      LLVM::StoreOp::create(builder, loc, entry->getArgument(0), address);
      func::ReturnOp::create(builder, loc);
    }

    // Only outermost regions: a nested region's count is its parent's call.
    module.walk([&](omp::ParallelOp parallel) {
      if (parallel.getNumThreads() ||
          parallel->getParentOfType<omp::ParallelOp>())
        return;
      // A parallel loop with a serial twin (kernels::forEachParallel,
      // sparse-opt-serial-twins): one thread runs the twin.
      scf::IfOp fallback = sparse_opt::kernels::serialFallbackOf(parallel);
      OpBuilder callBuilder(fallback ? fallback.getOperation()
                                     : parallel.getOperation());
      Location loc = parallel.getLoc();
      Value count = func::CallOp::create(callBuilder, loc, getter, ValueRange{})
                        .getResult(0);
      parallel.getNumThreadsMutable().assign(count);
      if (!fallback)
        return;
      Value many = arith::CmpIOp::create(
          callBuilder, loc, arith::CmpIPredicate::sgt, count,
          arith::ConstantIntOp::create(callBuilder, loc, 1, 32));
      Value both = arith::AndIOp::create(callBuilder, loc,
                                         fallback.getCondition(), many);
      fallback.getConditionMutable().assign(both);
    });
  }

private:
  static FailureOr<LLVM::LLVMFuncOp>
  lookupOrDeclareOmpGetMaxThreads(OpBuilder &builder, ModuleOp module,
                                  Type i32) {
    constexpr StringLiteral name = "omp_get_max_threads";
    auto functionType = LLVM::LLVMFunctionType::get(i32, {});
    Operation *existing = module.lookupSymbol(name);
    if (!existing)
      return LLVM::LLVMFuncOp::create(builder, module.getLoc(), name,
                                      functionType);
    auto function = dyn_cast<LLVM::LLVMFuncOp>(existing);
    if (!function || function.getFunctionType() != functionType) {
      existing->emitError() << "'" << name
                            << "' must be the OpenMP runtime function "
                               "'llvm.func @omp_get_max_threads() -> i32'";
      return failure();
    }
    return function;
  }
};

} // namespace
