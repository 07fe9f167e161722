//===- Library.cpp - Loading libraries built by sparse-compile ------------===//

#include "Error.h"

#include "sparse-opt-c/Runtime.h"

#include <dlfcn.h>

#include <cstring>
#include <string>

using sparse_opt::runtime::fail;

struct SoLibrary {
  void *handle;
  std::string path;
  // Thread control exported by every library sparse-compile builds; NULL for
  // other libraries.
  void (*setNumThreads)(int32_t);
  int32_t (*getNumThreads)(void);
};

namespace {
/// The pending dlerror() text, or a fallback when there is none.
std::string dlErrorText() {
  const char *text = dlerror();
  return text ? text : "unknown dynamic loader error";
}
} // namespace

SoLibrary *so_library_open(const char *path) {
  if (!path) {
    fail("so_library_open: NULL path");
    return nullptr;
  }
  // A bare file name would make dlopen search the library path instead of
  // the working directory.
  std::string file = std::strchr(path, '/') ? path : std::string("./") + path;
  dlerror(); // Clear any stale error so the message below is ours.
  void *handle = dlopen(file.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) {
    fail(std::string(path) + ": cannot load library: " + dlErrorText());
    return nullptr;
  }
  auto *lib = new SoLibrary{handle, path, nullptr, nullptr};
  lib->setNumThreads = reinterpret_cast<void (*)(int32_t)>(
      dlsym(handle, "sparse_opt_set_num_threads"));
  lib->getNumThreads = reinterpret_cast<int32_t (*)(void)>(
      dlsym(handle, "sparse_opt_get_num_threads"));
  return lib;
}

void *so_library_lookup(SoLibrary *lib, const char *name) {
  if (!lib || !name) {
    fail("so_library_lookup: NULL argument");
    return nullptr;
  }
  std::string ciface = std::string("_mlir_ciface_") + name;
  if (void *symbol = dlsym(lib->handle, ciface.c_str()))
    return symbol;
  if (void *symbol = dlsym(lib->handle, name))
    return symbol;
  fail(lib->path + ": no entry point '" + ciface + "' or '" + name + "'");
  return nullptr;
}

const char *so_library_signature(SoLibrary *lib, const char *name) {
  if (!lib || !name) {
    fail("so_library_signature: NULL argument");
    return nullptr;
  }
  std::string symbol = std::string("sparse_opt_signature_") + name;
  auto *signature =
      static_cast<const char *>(dlsym(lib->handle, symbol.c_str()));
  if (!signature)
    fail(lib->path + ": no signature '" + symbol + "'");
  return signature;
}

int so_library_set_num_threads(SoLibrary *lib, int n) {
  if (!lib)
    return fail("so_library_set_num_threads: NULL library");
  if (!lib->setNumThreads)
    return fail(lib->path + ": library does not export "
                            "sparse_opt_set_num_threads");
  lib->setNumThreads(n > 0 ? n : 0);
  return 0;
}

int so_library_get_num_threads(SoLibrary *lib) {
  if (!lib)
    return fail("so_library_get_num_threads: NULL library");
  if (!lib->getNumThreads)
    return fail(lib->path + ": library does not export "
                            "sparse_opt_get_num_threads");
  return lib->getNumThreads();
}

void so_library_close(SoLibrary *lib) {
  if (!lib)
    return;
  dlclose(lib->handle);
  delete lib;
}
