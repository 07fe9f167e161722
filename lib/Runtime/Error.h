//===- Error.h - Thread-local error reporting of the runtime ----*- C++ -*-===//
//
// Every failing C entry point records a message here (read back through
// so_last_error) and returns the non-zero value fail() gives it.
//
//===----------------------------------------------------------------------===//

#ifndef SPARSE_OPT_LIB_RUNTIME_ERROR_H
#define SPARSE_OPT_LIB_RUNTIME_ERROR_H

#include <string>

namespace sparse_opt::runtime {

/// Records `message` as this thread's last error and returns -1, so that
/// callers can write `return fail(...)`.
int fail(std::string message);

} // namespace sparse_opt::runtime

#endif // SPARSE_OPT_LIB_RUNTIME_ERROR_H
