//===- sparse-opt.cpp - mlir-opt with sparse-opt's passes -----------------===//
//
// Every upstream dialect, extension and pass, plus sparse-opt's passes and
// pipelines, so upstream and sparse-opt pipelines mix on one command line.
//
//===----------------------------------------------------------------------===//

#include "sparse-opt/Pipelines/CpuPipeline.h"
#include "sparse-opt/Transforms/Passes.h"

#include "mlir/IR/DialectRegistry.h"
#include "mlir/InitAllDialects.h"
#include "mlir/InitAllExtensions.h"
#include "mlir/InitAllPasses.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"

int main(int argc, char **argv) {
  mlir::registerAllPasses();
  mlir::sparse_opt::registerSparseOptPasses();
  mlir::sparse_opt::registerCpuPipelines();
  mlir::sparse_opt::registerWeightReportPipeline();

  mlir::DialectRegistry registry;
  mlir::registerAllDialects(registry);
  mlir::registerAllExtensions(registry);
  return mlir::asMainReturnCode(mlir::MlirOptMain(
      argc, argv, "sparse-opt: MLIR sparse compiler driver\n", registry));
}
