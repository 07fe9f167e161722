//===- FreeLoopAllocas.cpp - Free loop iterations' stack buffers ----------===//
//
// Implements `sparse-opt-free-loop-allocas`; see Passes.td for the contract.
//
//===----------------------------------------------------------------------===//

#include "sparse-opt/Transforms/Passes.h"

#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "llvm/ADT/SetVector.h"

namespace mlir::sparse_opt {
#define GEN_PASS_DEF_SPARSEOPTFREELOOPALLOCAS
#include "sparse-opt/Transforms/Passes.h.inc"
} // namespace mlir::sparse_opt

using namespace mlir;

namespace {

struct FreeLoopAllocasPass
    : public sparse_opt::impl::SparseOptFreeLoopAllocasBase<
          FreeLoopAllocasPass> {
  using Base::Base;

  /// Whether `op` runs its body once per iteration without freeing the
  /// stack in between.
  bool isSerialLoop(Operation *op) const {
    return isa<scf::ForOp, scf::WhileOp>(op) ||
           (parallelLoopsSerial && isa<scf::ParallelOp>(op));
  }

  /// The loop body block whose iterations own `alloca`: that of the
  /// innermost serial loop around it, unless an allocation scope (a
  /// function, a parallel loop under OpenMP, an alloca_scope) is nearer.
  Block *owningLoopBody(memref::AllocaOp alloca) const {
    for (Operation *op = alloca->getParentOp(); op; op = op->getParentOp()) {
      Block *block = nullptr;
      for (Region &region : op->getRegions())
        if (region.isAncestor(alloca->getParentRegion()))
          block = &region.front();
      if (isSerialLoop(op))
        return block;
      if (op->hasTrait<OpTrait::AutomaticAllocationScope>())
        return nullptr;
    }
    return nullptr;
  }

  /// Whether a buffer allocated in `body` may outlive its iteration: the
  /// body's terminator yields one (directly or through a view of it).
  static bool yieldsBuffer(Block &body) {
    Operation *terminator = body.getTerminator();
    return llvm::any_of(terminator->getOperands(), [](Value v) {
      return isa<BaseMemRefType>(v.getType());
    });
  }

  void runOnOperation() override {
    llvm::SetVector<Block *> bodies;
    getOperation()->walk([&](memref::AllocaOp alloca) {
      if (Block *body = owningLoopBody(alloca))
        bodies.insert(body);
    });
    auto pointer = LLVM::LLVMPointerType::get(&getContext());
    for (Block *body : bodies) {
      if (yieldsBuffer(*body))
        continue;
      Location loc = body->getParentOp()->getLoc();
      OpBuilder b = OpBuilder::atBlockBegin(body);
      Value saved = LLVM::StackSaveOp::create(b, loc, pointer);
      b.setInsertionPoint(body->getTerminator());
      LLVM::StackRestoreOp::create(b, loc, saved);
    }
  }
};

} // namespace
