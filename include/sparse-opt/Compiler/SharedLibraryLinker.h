//===- SharedLibraryLinker.h - Link objects into a .so ----------*- C++ -*-===//
//
// Links object files into an ELF shared library with LLD, in process. The
// library depends on the OpenMP runtime and the C library only, both found
// where the C compiler sparse-opt was built with finds them.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSE_OPT_COMPILER_SHAREDLIBRARYLINKER_H
#define SPARSE_OPT_COMPILER_SHAREDLIBRARYLINKER_H

#include "llvm/ADT/ArrayRef.h"
#include "llvm/ADT/StringRef.h"
#include "llvm/Support/Error.h"

#include <string>

namespace mlir::sparse_opt {

struct SharedLibraryLinkOptions {
  /// Link against the OpenMP runtime (libomp) and record its directory as
  /// the library's run path.
  bool linkOpenMP = true;
};

/// Links `objects` into the shared library `output`. Unresolved symbols are
/// an error here rather than at load time.
llvm::Error linkSharedLibrary(llvm::ArrayRef<std::string> objects,
                              llvm::StringRef output,
                              const SharedLibraryLinkOptions &options);

} // namespace mlir::sparse_opt

#endif // SPARSE_OPT_COMPILER_SHAREDLIBRARYLINKER_H
