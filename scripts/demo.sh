#!/usr/bin/env bash
# From a fresh machine: installs, builds, compiles examples/spmm.mlir to a
# shared library and runs it on a real pruned weight (DLMC Transformer
# ffn_conv1, 2048 x 512, 90% sparse) against a dense OpenBLAS sgemm.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD_DIR:-$root/build}
matrix=${MATRIX:-$root/../shared/dlmc/transformer/magnitude_pruning/0.9/body_encoder_layer_0_ffn_conv1_fully_connected.smtx}

"$root/scripts/setup.sh"
"$root/scripts/build.sh"

# Threads pinned one per core: unpinned, the OS migrates OpenMP workers
# between calls and short kernels lose much of their second thread.
export OMP_PROC_BIND=${OMP_PROC_BIND:-close} OMP_PLACES=${OMP_PLACES:-cores}
# Debian's OpenBLAS 0.3.21 does not recognize recent CPUs and falls back to
# pre-AVX kernels; name the right ones so the dense baseline is fair.
if [[ -z ${OPENBLAS_CORETYPE:-} ]]; then
  if grep -qw avx512f /proc/cpuinfo; then export OPENBLAS_CORETYPE=SkylakeX
  elif grep -qw avx2 /proc/cpuinfo; then export OPENBLAS_CORETYPE=Haswell; fi
fi

out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
echo "== sparse-compile examples/spmm.mlir -o spmm.so"
"$build/bin/sparse-compile" "$root/examples/spmm.mlir" -o "$out/spmm.so"
echo "== sparse-run on $(basename "$matrix") (N = 256), checked against a reference"
echo "   OMP_PROC_BIND=$OMP_PROC_BIND OMP_PLACES=$OMP_PLACES OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-(unset)}"
"$build/bin/sparse-run" "$out/spmm.so" --entry spmm --kind spmm \
  --matrix "$matrix" --n 256 --threads 1,2 --repeat 20 --dense-baseline
