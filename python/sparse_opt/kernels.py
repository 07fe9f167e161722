"""The MLIR of SpMM / SpMV kernels for one weight shape.

The stable sparse ABI needs the sparse operand's shape to be static, so a
kernel is specialized to the rows x cols of its weight; the dense dimension N
stays dynamic (one library serves every batch size).

This module needs nothing but the standard library: ``scripts/make-kernel.py``
(used by the lit tests) loads it by file path without numpy.
"""

from __future__ import annotations

import os

_ENCODING = ("#CSR = #sparse_tensor.encoding<{{ map = (d0, d1) -> "
             "(d0 : dense, d1 : compressed), posWidth = {bits}, "
             "crdWidth = {bits} }}>")

_SPMM = """{encoding}

// C[M,N] = A[M,K] * B[K,N] with A sparse (CSR) and N chosen by the caller.
module {{
  func.func @{name}(%a: tensor<{m}x{k}xf32, #CSR>, %b: tensor<{k}x?xf32>)
      -> tensor<{m}x?xf32> attributes {{ llvm.emit_c_interface }} {{
    %c1 = arith.constant 1 : index
    %n = tensor.dim %b, %c1 : tensor<{k}x?xf32>
    %zero = arith.constant 0.0 : f32
    %empty = tensor.empty(%n) : tensor<{m}x?xf32>
    %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<{m}x?xf32>)
        -> tensor<{m}x?xf32>
    %c = linalg.matmul
        ins(%a, %b : tensor<{m}x{k}xf32, #CSR>, tensor<{k}x?xf32>)
        outs(%init : tensor<{m}x?xf32>) -> tensor<{m}x?xf32>
    return %c : tensor<{m}x?xf32>
  }}
}}
"""

_SPMV = """{encoding}

// y[M] = A[M,K] * x[K] with A sparse (CSR).
module {{
  func.func @{name}(%a: tensor<{m}x{k}xf32, #CSR>, %x: tensor<{k}xf32>)
      -> tensor<{m}xf32> attributes {{ llvm.emit_c_interface }} {{
    %zero = arith.constant 0.0 : f32
    %empty = tensor.empty() : tensor<{m}xf32>
    %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<{m}xf32>)
        -> tensor<{m}xf32>
    %y = linalg.matvec ins(%a, %x : tensor<{m}x{k}xf32, #CSR>, tensor<{k}xf32>)
        outs(%init : tensor<{m}xf32>) -> tensor<{m}xf32>
    return %y : tensor<{m}xf32>
  }}
}}
"""

_TEMPLATES = {"spmm": _SPMM, "spmv": _SPMV}
KINDS = tuple(sorted(_TEMPLATES))


def kernel_source(kind: str, rows: int, cols: int, *, index_bits: int = 32,
                  name: str | None = None) -> str:
    """The MLIR module of one kernel: ``kind`` is ``"spmm"`` (C = A B, N
    dynamic) or ``"spmv"`` (y = A x) for a ``rows`` x ``cols`` CSR weight A
    with ``index_bits``-wide (32 or 64) positions and coordinates; the entry
    point is called ``name`` (default: ``kind``)."""
    if kind not in _TEMPLATES:
        raise ValueError(
            f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if rows <= 0 or cols <= 0:
        raise ValueError(f"shape must be positive, got {rows}x{cols}")
    if index_bits not in (32, 64):
        raise ValueError(f"index_bits must be 32 or 64, got {index_bits}")
    return _TEMPLATES[kind].format(
        encoding=_ENCODING.format(bits=index_bits), name=name or kind,
        m=rows, k=cols)


def matrix_shape(path: str | os.PathLike) -> tuple[int, int]:
    """rows, cols from the header of a ``.smtx`` or ``.mtx`` file (its first
    line that is neither blank nor a ``%`` comment); reads nothing more, so
    it is cheap on large files. ValueError reading ``PATH:LINE: ...`` if the
    header is missing or malformed."""
    with open(path) as f:
        for number, line in enumerate(f, start=1):
            if line.startswith("%") or not line.strip():
                continue
            fields = line.replace(",", " ").split()
            if len(fields) >= 2 and all(f.isdigit() for f in fields[:2]):
                return int(fields[0]), int(fields[1])
            raise ValueError(
                f"{os.fspath(path)}:{number}: expected 'rows, cols, nnz' "
                f"header, found {line.strip()!r}")
    raise ValueError(f"{os.fspath(path)}: expected 'rows, cols, nnz' header, "
                     f"found an empty file")
