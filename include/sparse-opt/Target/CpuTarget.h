//===- CpuTarget.h - Host / named CPU description ---------------*- C++ -*-===//
//
// Resolves the CPU the generated code is for ("host" or an LLVM CPU name plus
// feature string) into what the pipeline and the code generator need: the
// target triple, the exact feature string and the widest vector register.
// The pipeline and `sparse-compile` both go through this so that the vector
// length used by sparsification always matches the machine code features.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSE_OPT_TARGET_CPUTARGET_H
#define SPARSE_OPT_TARGET_CPUTARGET_H

#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace mlir::sparse_opt {

struct CpuTarget {
  std::string triple;
  /// LLVM CPU name ("host" is resolved to the detected name).
  std::string cpu;
  /// Comma-separated LLVM feature string, e.g. "+avx2,+fma,-avx512f".
  std::string features;
  /// Widest SIMD register usable for floating point, in bits (0: none).
  unsigned vectorBits = 0;

  /// Resolves `cpu` ("host" or an LLVM CPU name for the host's architecture)
  /// and extra `features` (appended to the CPU's own).
  static llvm::Expected<CpuTarget> resolve(llvm::StringRef cpu,
                                           llvm::StringRef features);

  /// Number of lanes of `elementBits`-wide elements in one vector register.
  unsigned lanesFor(unsigned elementBits) const {
    return elementBits ? vectorBits / elementBits : 0;
  }
};

/// Registers the native LLVM target once per process.
void initializeNativeTarget();

} // namespace mlir::sparse_opt

#endif // SPARSE_OPT_TARGET_CPUTARGET_H
