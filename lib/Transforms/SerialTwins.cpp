//===- SerialTwins.cpp - Serial twins of parallel loops -------------------===//
//
// Implements `sparse-opt-serial-twins`; see Passes.td for the contract.
//
//===----------------------------------------------------------------------===//

#include "KernelSupport.h"
#include "sparse-opt/Transforms/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"

namespace mlir::sparse_opt {
#define GEN_PASS_DEF_SPARSEOPTSERIALTWINS
#include "sparse-opt/Transforms/Passes.h.inc"
} // namespace mlir::sparse_opt

using namespace mlir;

namespace {

/// Replaces `loop` (without results) by the same nest of scf.for loops, one
/// per dimension, outermost first.
void serialize(scf::ParallelOp loop, RewriterBase &rewriter) {
  OpBuilder::InsertionGuard guard(rewriter);
  rewriter.setInsertionPoint(loop);
  SmallVector<Value> inductionVars;
  for (auto [lower, upper, step] : llvm::zip(
           loop.getLowerBound(), loop.getUpperBound(), loop.getStep())) {
    auto serial = scf::ForOp::create(rewriter, loop.getLoc(), lower, upper,
                                     step);
    inductionVars.push_back(serial.getInductionVar());
    rewriter.setInsertionPointToStart(serial.getBody());
  }
  Block *body = loop.getBody();
  rewriter.eraseOp(body->getTerminator());
  rewriter.inlineBlockBefore(body, rewriter.getInsertionBlock(),
                             rewriter.getInsertionPoint(), inductionVars);
  rewriter.eraseOp(loop);
}

struct SerialTwinsPass
    : public sparse_opt::impl::SparseOptSerialTwinsBase<SerialTwinsPass> {
  using Base::Base;

  void runOnOperation() override {
    SmallVector<scf::ParallelOp> outermost;
    getOperation()->walk([&](scf::ParallelOp loop) {
      if (loop->getParentOfType<scf::ParallelOp>() ||
          sparse_opt::kernels::serialFallbackOf(loop))
        return;
      bool reduces = false;
      loop->walk([&](scf::ParallelOp nested) {
        reduces |= nested.getNumResults() != 0;
      });
      if (!reduces)
        outermost.push_back(loop);
    });

    IRRewriter rewriter(&getContext());
    for (scf::ParallelOp loop : outermost) {
      Location loc = loop.getLoc();
      rewriter.setInsertionPoint(loop);
      Value always = arith::ConstantIntOp::create(rewriter, loc, 1, 1);
      auto branch = scf::IfOp::create(rewriter, loc, always,
                                      /*withElseRegion=*/true);
      branch->setAttr(sparse_opt::kernels::kSerialFallbackAttrName,
                      rewriter.getUnitAttr());
      rewriter.moveOpBefore(loop, branch.thenBlock()->getTerminator());
      rewriter.setInsertionPoint(branch.elseBlock()->getTerminator());
      Operation *twin = rewriter.clone(*loop);
      // Inner loops first: serializing one moves its body, not its parent.
      SmallVector<scf::ParallelOp> parallel;
      twin->walk([&](scf::ParallelOp nested) { parallel.push_back(nested); });
      for (scf::ParallelOp nested : parallel)
        serialize(nested, rewriter);
    }
  }
};

} // namespace
