//===- WeightReport.cpp - The per-layer weight report ---------------------===//

#include "WeightReport.h"

#include "mlir/Support/FileUtilities.h"
#include "llvm/Support/Format.h"
#include "llvm/Support/FormatVariadic.h"
#include "llvm/Support/ToolOutputFile.h"

using namespace mlir;
using namespace mlir::sparse_opt;

namespace {

void writeText(llvm::raw_ostream &os, ArrayRef<LayerReport> layers) {
  bool decisions = llvm::any_of(
      layers, [](const LayerReport &layer) { return layer.decision; });
  os << "# sparse-opt weight report: one row per layer. rows = output "
        "features, cols = reduction; row nnz min/mean/max (cv = std/mean); "
        "N:M patterns the weight conforms to; blocks RxC: non-zero block "
        "share / fill";
  bool schedules = llvm::any_of(layers, [](const LayerReport &layer) {
    return layer.decision && layer.decision->schedule;
  });
  if (decisions)
    os << "; N = activations (* = assumed, dynamic in the IR), the format "
          "chosen and why, "
       << (schedules ? "the kernel schedule (parallel or serial, n_tile = "
                       "column tile in vectors, k_block = K block, 0: off) "
                       "and why, "
                     : "")
       << "predicted time per candidate";
  os << "\n";
  for (const LayerReport &layer : layers) {
    const WeightStats &s = layer.stats;
    os << layer.name << "  " << layer.opName << " operand " << layer.operand
       << "  " << s.rows << "x" << s.cols << "  sparsity "
       << llvm::format("%.4f", 1.0 - s.density) << "  nnz " << s.nonZeros
       << "  row nnz " << s.minRowNonZeros << "/"
       << llvm::format("%.1f", s.meanRowNonZeros) << "/" << s.maxRowNonZeros
       << " (cv " << llvm::format("%.2f", s.rowVariation) << ", "
       << s.emptyRows << " empty)  N:M";
    bool any = false;
    for (const NmConformance &nm : s.nm)
      if (nm.conforms()) {
        os << " " << nm.pattern.str();
        any = true;
      }
    if (!any)
      os << " none";
    os << "  blocks";
    for (const BlockFill &block : s.blocks)
      os << " " << block.shape.str() << ":"
         << llvm::format("%.2f", block.share()) << "/"
         << llvm::format("%.2f", block.fill);
    if (const std::optional<FormatDecision> &d = layer.decision) {
      os << "  N " << d->n << (d->nAssumed ? "*" : "") << "  -> " << d->format
         << " (" << d->reason << ")";
      if (const std::optional<KernelScheduleChoice> &k = d->schedule) {
        os << "  schedule " << (k->parallel ? "parallel" : "serial");
        if (k->minParallelWork)
          os << " from " << *k->minParallelWork << " steps";
        os << " (" << k->parallelReason << ")";
        if (k->nTile)
          os << ", n_tile " << *k->nTile << " (" << k->nTileReason << ")";
        if (k->kBlock)
          os << ", k_block " << *k->kBlock << " (" << k->kBlockReason << ")";
        if (!k->splitReason.empty())
          os << ", rows " << k->splitReason;
      }
      if (!d->predictions.empty()) {
        os << "  predicted";
        for (const auto &[format, seconds] : d->predictions)
          os << " " << format << " " << llvm::format("%.4g", seconds * 1e3)
             << " ms";
      }
    }
    os << "\n";
  }
}

void writeJson(llvm::raw_ostream &os, ArrayRef<LayerReport> layers) {
  llvm::json::Array rows;
  for (const LayerReport &layer : layers) {
    llvm::json::Object row = layer.stats.toJson();
    row["layer"] = layer.name;
    row["op"] = layer.opName;
    row["operand"] = int64_t(layer.operand);
    if (const std::optional<FormatDecision> &d = layer.decision) {
      llvm::json::Array predictions;
      for (const auto &[format, seconds] : d->predictions)
        predictions.push_back(
            llvm::json::Object{{"format", format}, {"seconds", seconds}});
      row["n"] = d->n;
      row["n_assumed"] = d->nAssumed;
      row["format"] = d->format;
      row["reason"] = d->reason;
      row["predicted"] = std::move(predictions);
      if (const std::optional<KernelScheduleChoice> &k = d->schedule) {
        llvm::json::Object schedule{{"parallel", k->parallel},
                                    {"parallel_reason", k->parallelReason}};
        if (k->minParallelWork)
          schedule["min_parallel_work"] = *k->minParallelWork;
        if (k->nTile) {
          schedule["n_tile"] = int64_t(*k->nTile);
          schedule["n_tile_reason"] = k->nTileReason;
        }
        if (k->kBlock) {
          schedule["k_block"] = int64_t(*k->kBlock);
          schedule["k_block_reason"] = k->kBlockReason;
        }
        if (!k->splitReason.empty()) {
          schedule["nnz_balanced"] = k->nnzBalanced;
          schedule["split_reason"] = k->splitReason;
        }
        row["schedule"] = std::move(schedule);
      }
    }
    rows.push_back(std::move(row));
  }
  os << llvm::formatv("{0:2}", llvm::json::Value(llvm::json::Object{
                                   {"layers", std::move(rows)}}))
     << "\n";
}

} // namespace

LogicalResult mlir::sparse_opt::checkReportFormat(Operation *anchor,
                                                  StringRef pass,
                                                  StringRef format) {
  if (format == "text" || format == "json")
    return success();
  return anchor->emitError()
         << pass << ": report-format must be 'text' or 'json', got '"
         << format << "'";
}

LogicalResult mlir::sparse_opt::writeWeightReport(
    Operation *anchor, StringRef pass, StringRef path, StringRef format,
    ArrayRef<LayerReport> layers) {
  std::string error;
  std::unique_ptr<llvm::ToolOutputFile> file = openOutputFile(path, &error);
  if (!file)
    return anchor->emitError()
           << pass << ": cannot write the report: " << error;
  if (format == "json")
    writeJson(file->os(), layers);
  else
    writeText(file->os(), layers);
  file->keep();
  return success();
}
