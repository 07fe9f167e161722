//===- Passes.h - sparse-opt transformation passes --------------*- C++ -*-===//

#ifndef SPARSE_OPT_TRANSFORMS_PASSES_H
#define SPARSE_OPT_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/OpenMP/OpenMPDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SparseTensor/IR/SparseTensor.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/Pass.h"

namespace mlir::sparse_opt {

#define GEN_PASS_DECL
#include "sparse-opt/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "sparse-opt/Transforms/Passes.h.inc"

/// Registers `sparse-opt-report`: sparse-opt-select-weight-formats with
/// its report on stdout and the IR left unchanged.
void registerWeightReportPipeline();

} // namespace mlir::sparse_opt

#endif // SPARSE_OPT_TRANSFORMS_PASSES_H
