//===- WeightReport.h - The per-layer weight report ------------*- C++ -*-===//
//
// sparse-opt-analyze-weights and sparse-opt-select-weight-formats write the
// same report: one row per layer with its weight's statistics and, from
// the format selection, the format chosen, why, and the predicted time of
// every candidate; as text or JSON.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSE_OPT_LIB_TRANSFORMS_WEIGHTREPORT_H
#define SPARSE_OPT_LIB_TRANSFORMS_WEIGHTREPORT_H

#include "sparse-opt/Analysis/WeightAnalysis.h"
#include "sparse-opt/CostModel/CostModel.h"

#include "mlir/IR/Operation.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace mlir::sparse_opt {

/// What the format selection decided for a layer.
struct FormatDecision {
  /// Activation count the prediction is for, and whether it was assumed
  /// (dynamic in the IR).
  int64_t n = 1;
  bool nAssumed = false;
  std::string format, reason;
  /// Predicted seconds per candidate format, in candidate order; empty
  /// without a cost model.
  std::vector<std::pair<std::string, double>> predictions;
  /// The kernel schedule decided with the format (the op's
  /// sparse_opt.schedule), if any.
  std::optional<KernelScheduleChoice> schedule;
};

struct LayerReport {
  std::string name, opName;
  unsigned operand = 0;
  WeightStats stats;
  std::optional<FormatDecision> decision;
};

/// Failure (with an error on `anchor` naming `pass`) unless `format` is
/// "text" or "json".
LogicalResult checkReportFormat(Operation *anchor, llvm::StringRef pass,
                                llvm::StringRef format);

/// Writes `layers` to `path` ('-': stdout) as `format` (text or json);
/// failure, with an error on `anchor` naming `pass`, if the file cannot be
/// written.
LogicalResult writeWeightReport(Operation *anchor, llvm::StringRef pass,
                                llvm::StringRef path, llvm::StringRef format,
                                llvm::ArrayRef<LayerReport> layers);

} // namespace mlir::sparse_opt

#endif // SPARSE_OPT_LIB_TRANSFORMS_WEIGHTREPORT_H
