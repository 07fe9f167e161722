//===- CpuTarget.cpp - Host / named CPU description -----------------------===//

#include "sparse-opt/Target/CpuTarget.h"

#include "llvm/ADT/StringMap.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/Triple.h"

#include <memory>
#include <mutex>

using namespace llvm;

namespace mlir::sparse_opt {

void initializeNativeTarget() {
  static std::once_flag once;
  std::call_once(once, [] {
    InitializeNativeTarget();
    InitializeNativeTargetAsmPrinter();
    InitializeNativeTargetAsmParser();
  });
}

static std::string hostFeatureString() {
  std::string result;
  for (const auto &feature : sys::getHostCPUFeatures()) {
    if (!result.empty())
      result += ',';
    result += (feature.second ? "+" : "-") + feature.first().str();
  }
  return result;
}

/// Widest float vector register the subtarget can use, by ISA family.
static unsigned widestVectorBits(const Triple &triple,
                                 const MCSubtargetInfo &subtarget) {
  if (triple.isX86()) {
    if (subtarget.checkFeatures("+avx512f"))
      return 512;
    if (subtarget.checkFeatures("+avx"))
      return 256;
    if (subtarget.checkFeatures("+sse2"))
      return 128;
    return 0;
  }
  if (triple.isAArch64())
    return subtarget.checkFeatures("+neon") ? 128 : 0;
  return 0;
}

static bool isKnownFeature(const MCSubtargetInfo &subtarget, StringRef name) {
  return llvm::any_of(subtarget.getAllProcessorFeatures(),
                      [&](const SubtargetFeatureKV &kv) {
                        return name == kv.Key;
                      });
}

Expected<CpuTarget> CpuTarget::resolve(StringRef cpu, StringRef features) {
  initializeNativeTarget();
  CpuTarget target;
  target.triple = sys::getProcessTriple();
  Triple triple(target.triple);

  std::string error;
  const Target *llvmTarget = TargetRegistry::lookupTarget(triple, error);
  if (!llvmTarget)
    return createStringError(inconvertibleErrorCode(),
                             "no LLVM target for '" + target.triple +
                                 "': " + error);

  bool isHost = cpu.empty() || cpu == "host";
  target.cpu = isHost ? sys::getHostCPUName().str() : cpu.str();
  target.features = isHost ? hostFeatureString() : "";
  if (!features.empty()) {
    if (!target.features.empty())
      target.features += ',';
    target.features += features.str();
  }

  // Validate names on a generic subtarget first: creating one for an unknown
  // CPU or feature prints LLVM's own warning and carries on.
  std::unique_ptr<MCSubtargetInfo> generic(
      llvmTarget->createMCSubtargetInfo(triple, "", ""));
  if (!generic)
    return createStringError(inconvertibleErrorCode(),
                             "cannot describe CPUs of '" + target.triple + "'");
  if (!generic->isCPUStringValid(target.cpu))
    return createStringError(inconvertibleErrorCode(),
                             "unknown CPU '" + target.cpu + "' for '" +
                                 target.triple +
                                 "' (use an LLVM CPU name such as "
                                 "'x86-64-v3', 'skylake-avx512' or 'host')");
  SmallVector<StringRef> requested;
  features.split(requested, ',');
  for (StringRef feature : requested) {
    feature = feature.trim();
    if (feature.empty())
      continue;
    if ((feature[0] != '+' && feature[0] != '-') ||
        !isKnownFeature(*generic, feature.drop_front()))
      return createStringError(inconvertibleErrorCode(),
                               "unknown target feature '" + feature.str() +
                                   "' (expected '+name' or '-name' with an "
                                   "LLVM feature name such as '+avx2')");
  }

  std::unique_ptr<MCSubtargetInfo> subtarget(llvmTarget->createMCSubtargetInfo(
      triple, target.cpu, target.features));
  if (!subtarget)
    return createStringError(inconvertibleErrorCode(),
                             "cannot describe CPU '" + target.cpu + "'");
  target.vectorBits = widestVectorBits(triple, *subtarget);
  return target;
}

} // namespace mlir::sparse_opt
