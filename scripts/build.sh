#!/usr/bin/env bash
# Configures and builds sparse-opt in ./build (or $BUILD_DIR) with Ninja.
# Extra arguments go to CMake, e.g. -DSPARSE_OPT_ENABLE_ASAN=ON.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
llvm_prefix=$(llvm-config-22 --prefix)

cmake -G Ninja -S "$root" -B "$build" \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_C_COMPILER=clang-22 -DCMAKE_CXX_COMPILER=clang++-22 \
  -DMLIR_DIR="$llvm_prefix/lib/cmake/mlir" \
  -DLLVM_EXTERNAL_LIT="$llvm_prefix/bin/lit" \
  "$@" >/dev/null
# Two compile jobs per core at most: libMLIR headers are heavy.
ninja -C "$build" -j "${JOBS:-$(nproc)}"
