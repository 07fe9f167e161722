//===- Error.cpp - Thread-local error reporting of the runtime ------------===//

#include "Error.h"

#include "sparse-opt-c/Runtime.h"

namespace {
// One message per thread so that concurrent callers do not see each other's
// failures.
thread_local std::string lastError;
} // namespace

int sparse_opt::runtime::fail(std::string message) {
  lastError = std::move(message);
  return -1;
}

const char *so_last_error(void) { return lastError.c_str(); }
