//===- SharedLibraryLinker.cpp - Link objects into a .so ------------------===//

#include "sparse-opt/Compiler/SharedLibraryLinker.h"

#include "sparse-opt/Config.h"

#include "lld/Common/Driver.h"
#include "llvm/ADT/SmallVector.h"
#include "llvm/ADT/StringSet.h"
#include "llvm/Support/Path.h"
#include "llvm/Support/raw_ostream.h"

#include <mutex>

LLD_HAS_DRIVER(elf)

using namespace llvm;

namespace mlir::sparse_opt {

Error linkSharedLibrary(ArrayRef<std::string> objects, StringRef output,
                        const SharedLibraryLinkOptions &options) {
  // Owns every string the argv below points into.
  SmallVector<std::string> storage;
  auto add = [&](const Twine &arg) { storage.push_back(arg.str()); };

  add("ld.lld");
  add("-shared");
  add("--no-undefined");
  add("--as-needed");
  add("-z");
  add("now");
  add("-o");
  add(output);
  add("-soname");
  add(sys::path::filename(output));
  for (const std::string &object : objects)
    add(object);
  // The memref allocation functions (reuse-large-buffers); only referenced
  // members are linked, none when the module calls malloc and free itself.
  add(SPARSE_OPT_BUFFER_CACHE_LIBRARY);
  if (options.linkOpenMP) {
    add("-L" + Twine(SPARSE_OPT_OPENMP_LIBDIR));
    add("-rpath");
    add(SPARSE_OPT_OPENMP_LIBDIR);
    add("-lomp");
  }
  SmallVector<StringRef> directories, libraries;
  StringRef(SPARSE_OPT_C_LINK_DIRECTORIES).split(directories, ';', -1, false);
  StringRef(SPARSE_OPT_C_LINK_LIBRARIES).split(libraries, ';', -1, false);
  for (StringRef directory : directories)
    add("-L" + directory);
  add("-lm");
  StringSet<> seen;
  for (StringRef library : libraries)
    if (seen.insert(library).second)
      add("-l" + library);

  SmallVector<const char *> argv;
  for (const std::string &arg : storage)
    argv.push_back(arg.c_str());

  // LLD keeps global state per link; one link at a time per process.
  static std::mutex lldMutex;
  std::lock_guard<std::mutex> lock(lldMutex);
  std::string diagnostics;
  raw_string_ostream diagnosticStream(diagnostics);
  lld::Result result = lld::lldMain(argv, diagnosticStream, diagnosticStream,
                                    {{lld::Gnu, &lld::elf::link}});
  if (result.retCode != 0)
    return createStringError(inconvertibleErrorCode(),
                             "linking '" + output.str() +
                                 "' failed:\n" + diagnostics);
  return Error::success();
}

} // namespace mlir::sparse_opt
