#!/usr/bin/env bash
# From a fresh machine: installs the packages, builds, runs every test
# (GoogleTest units, the lit suite, the executing kernel tests). The last
# line is CTest's summary.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh"
cd "${BUILD_DIR:-$root/build}"
ctest --output-on-failure
