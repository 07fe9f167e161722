"""Locating sparse-compile and the runtime library.

There are no MLIR Python bindings here: the package drives the
``sparse-compile`` executable and loads ``libSparseOptRuntime.so`` with
ctypes, so it must find a build of the C++ project. The search order is

1. ``$SPARSE_OPT_BUILD_DIR`` (``bin/`` and ``lib/`` below it). When set it is
   the only place searched: silently falling back to another build would
   mix a compiler and a runtime of different versions.
2. The repository's ``build/`` directory, relative to this package's source
   (what a checkout with ``pip install -e python`` uses).
3. ``PATH`` for ``sparse-compile``; the runtime in ``../lib`` next to the
   ``sparse-compile`` found there (an installed prefix).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

BUILD_DIR_ENV = "SPARSE_OPT_BUILD_DIR"
RUNTIME_LIBRARY = "libSparseOptRuntime.so"
COMPILER = "sparse-compile"
ONNX_IMPORTER = "sparse-import-onnx"

_REPOSITORY_BUILD_DIR = Path(__file__).resolve().parents[2] / "build"


def _build_dir() -> tuple[Path, bool]:
    """The build directory to search first, and whether the environment
    chose it (which rules out every other place)."""
    chosen = os.environ.get(BUILD_DIR_ENV)
    if chosen:
        return Path(chosen), True
    return _REPOSITORY_BUILD_DIR, False


def _not_found(what: str, searched: list[str]) -> FileNotFoundError:
    return FileNotFoundError(
        f"{what} not found; searched: {'; '.join(searched)}. Build sparse-opt "
        f"(scripts/build.sh) or set {BUILD_DIR_ENV} to its build directory.")


def find_executable(name: str) -> Path:
    """The path of the project's tool ``name`` (``sparse-compile``,
    ``sparse-import-onnx``, ...; see the module docstring for the search
    order); FileNotFoundError naming every place searched if it is
    nowhere."""
    build_dir, from_environment = _build_dir()
    candidate = build_dir / "bin" / name
    if candidate.is_file() and os.access(candidate, os.X_OK):
        return candidate
    searched = [str(candidate)]
    if not from_environment:
        on_path = shutil.which(name)
        if on_path:
            return Path(on_path)
        searched.append(f"{name} on PATH")
    raise _not_found(name, searched)


def find_compiler() -> Path:
    """The path of ``sparse-compile`` (find_executable)."""
    return find_executable(COMPILER)


def find_runtime_library() -> Path:
    """The path of ``libSparseOptRuntime.so`` (see the module docstring for
    the search order); FileNotFoundError naming every place searched if it
    is nowhere."""
    build_dir, from_environment = _build_dir()
    candidate = build_dir / "lib" / RUNTIME_LIBRARY
    if candidate.is_file():
        return candidate
    searched = [str(candidate)]
    if not from_environment:
        compiler = shutil.which(COMPILER)
        if compiler:
            prefix = Path(compiler).resolve().parents[1]
            candidate = prefix / "lib" / RUNTIME_LIBRARY
            if candidate.is_file():
                return candidate
            searched.append(str(candidate))
        else:
            searched.append(f"lib/ next to {COMPILER} on PATH ({COMPILER} "
                            f"is not on PATH)")
    raise _not_found(RUNTIME_LIBRARY, searched)
