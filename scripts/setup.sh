#!/usr/bin/env bash
# Installs what sparse-opt needs to build and test (Debian bookworm). Safe to
# re-run: it asks apt only for packages that are missing.
set -euo pipefail

PACKAGES=(
  cmake ninja-build python3 python3-pip
  clang-22 lld-22 liblld-22-dev llvm-22-dev llvm-22-tools
  libmlir-22-dev mlir-22-tools libomp-22-dev
  libopenblas-dev libeigen3-dev libxsmm-dev libgtest-dev
  libonnx-dev libprotobuf-dev libonnx-testdata
)

missing=()
for package in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" \
    || missing+=("$package")
done

if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  SUDO=""
  if [[ $(id -u) -ne 0 ]]; then SUDO="sudo"; fi
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    "${missing[@]}" >/dev/null
fi

# The Python package (python/) and its tests need numpy and pytest, the ONNX
# model builders onnx, and the frontend's reference onnxruntime, in the
# interpreter that `python3` names (the one CMake finds for CTest), which is
# why they come from pip rather than apt. Debian marks its Python as
# externally managed (PEP 668); PIP_BREAK_SYSTEM_PACKAGES lets pip install
# into it and changes nothing for any other Python.
missing_python=()
for module in numpy pytest onnx onnxruntime; do
  python3 -c "import $module" 2>/dev/null || missing_python+=("$module")
done
if ((${#missing_python[@]})); then
  echo "setup: installing Python packages ${missing_python[*]}"
  PIP_BREAK_SYSTEM_PACKAGES=1 PIP_ROOT_USER_ACTION=ignore \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    python3 -m pip install -q "${missing_python[@]}"
fi
echo "setup: all packages present"
