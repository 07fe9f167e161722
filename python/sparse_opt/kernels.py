"""The MLIR of SpMM / SpMV / SDDMM kernels for one weight (or pattern) shape.

The stable sparse ABI needs the sparse operand's shape to be static, so a
kernel is specialized to the rows x cols of its weight; the dense dimension N
stays dynamic (one library serves every batch size). An SDDMM kernel (the
scores of sparse attention) is specialized to its pattern's shape and to the
depth D of Q and K.

A kernel can also embed its weight: the entry then takes only the dense
operand, and the weight is an ``arith.constant sparse<...>`` converted to CSR
in the body (``kernel_source(..., weights=...)``). ``read_weights`` builds
such a weight from a ``.smtx`` / ``.mtx`` file exactly as the C runtime does
(``so_csr_read`` + ``so_csr_fill_random``), bit for bit, so that sparse-run
can check the compiled kernel against the same matrix.

This module needs nothing but the standard library: ``scripts/make-kernel.py``
(used by the lit tests) loads it by file path without numpy.
"""

from __future__ import annotations

import math
import os
import re
import struct
from typing import NamedTuple

_ENCODING = ("#CSR = #sparse_tensor.encoding<{{ map = (d0, d1) -> "
             "(d0 : dense, d1 : compressed), posWidth = {bits}, "
             "crdWidth = {bits} }}>")

# The other weight formats, by the name of their encoding alias: BSR with
# R x C blocks and N:M (at most N non-zeros in each group of M columns).
_FORMAT_ENCODINGS = {
    "bsr": ("#BSR", "#BSR = #sparse_tensor.encoding<{{ map = (d0, d1) -> "
                    "({levels}), posWidth = {bits}, crdWidth = {bits} }}>"),
    "nm": ("#NM", "#NM = #sparse_tensor.encoding<{{ map = (d0, d1) -> "
                  "(d0 : dense, d1 floordiv {m} : dense, "
                  "d1 mod {m} : structured[{n}, {m}]), "
                  "posWidth = {bits}, crdWidth = {bits} }}>"),
}


def parse_format(text: str) -> tuple:
    """``"csr"``, ``"bsr:RxC"`` or ``"nm:N:M"`` as ``("csr",)``,
    ``("bsr", R, C)`` or ``("nm", N, M)``; ValueError otherwise."""
    match = (re.fullmatch(r"csr", text) or
             re.fullmatch(r"bsr:([0-9]+)x([0-9]+)", text) or
             re.fullmatch(r"nm:([0-9]+):([0-9]+)", text))
    if not match:
        raise ValueError(f"format must be csr, bsr:RxC or nm:N:M, "
                         f"got {text!r}")
    name = text.split(":")[0]
    numbers = tuple(int(group) for group in match.groups())
    if any(number <= 0 for number in numbers) or (
            name == "nm" and numbers[0] > numbers[1]):
        raise ValueError(f"format {text!r}: expected positive sizes"
                         + (" and N <= M" if name == "nm" else ""))
    if name == "bsr" and numbers == (1, 1):
        return ("csr",)  # 1x1 blocks are CSR
    return (name, *numbers)


def _check_format_shape(fmt: tuple, rows: int, cols: int) -> None:
    if fmt[0] == "bsr" and (rows % fmt[1] or cols % fmt[2]):
        raise ValueError(f"{fmt[1]}x{fmt[2]} blocks do not tile a "
                         f"{rows}x{cols} weight")
    if fmt[0] == "nm" and cols % fmt[2]:
        raise ValueError(f"groups of {fmt[2]} columns do not tile "
                         f"{cols} columns (N:M needs K a multiple of M)")


def _bsr_levels(r: int, c: int) -> str:
    """The levels of R x C blocks. MLIR folds `floordiv 1` and `mod 1`, so
    a block of one row or column goes without that level (same buffers)."""
    levels = [f"d0 floordiv {r} : dense" if r > 1 else "d0 : dense",
              f"d1 floordiv {c} : compressed" if c > 1 else "d1 : compressed"]
    if r > 1:
        levels.append(f"d0 mod {r} : dense")
    if c > 1:
        levels.append(f"d1 mod {c} : dense")
    return ", ".join(levels)


def _with_format(text: str, fmt: tuple, index_bits: int) -> str:
    """`text`, written for a CSR weight, with the weight in format `fmt`."""
    if fmt[0] == "csr":
        return text
    alias, encoding = _FORMAT_ENCODINGS[fmt[0]]
    if fmt[0] == "bsr":
        encoding = encoding.format(levels=_bsr_levels(fmt[1], fmt[2]),
                                   bits=index_bits)
        label = f"BSR {fmt[1]}x{fmt[2]}"
    else:
        encoding = encoding.format(n=fmt[1], m=fmt[2], bits=index_bits)
        label = f"{fmt[1]}:{fmt[2]}"
    lines = text.split("\n")
    lines[0] = encoding
    return "\n".join(lines).replace("#CSR", alias).replace("(CSR)",
                                                           f"({label})")

# Each kernel is a comment, an entry signature and a body. With the weight
# as an argument the entry takes A (pos / crd / val in the library ABI); with
# the weight embedded, %a is a constant converted to CSR and the entry takes
# the dense operand only.
_KERNELS = {
    "spmm": dict(
        doc="C[M,N] = A[M,K] * B[K,N] with A {weight} and N chosen by the "
            "caller.",
        operand="%b: tensor<{k}x?xf32>",
        result="tensor<{m}x?xf32>",
        body="""    %c1 = arith.constant 1 : index
    %n = tensor.dim %b, %c1 : tensor<{k}x?xf32>
    %zero = arith.constant 0.0 : f32
    %empty = tensor.empty(%n) : tensor<{m}x?xf32>
    %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<{m}x?xf32>)
        -> tensor<{m}x?xf32>
    %c = linalg.matmul
        ins(%a, %b : tensor<{m}x{k}xf32, #CSR>, tensor<{k}x?xf32>)
        outs(%init : tensor<{m}x?xf32>) -> tensor<{m}x?xf32>
    return %c : tensor<{m}x?xf32>
"""),
    "spmv": dict(
        doc="y[M] = A[M,K] * x[K] with A {weight}.",
        operand="%x: tensor<{k}xf32>",
        result="tensor<{m}xf32>",
        body="""    %zero = arith.constant 0.0 : f32
    %empty = tensor.empty() : tensor<{m}xf32>
    %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<{m}xf32>)
        -> tensor<{m}xf32>
    %y = linalg.matvec ins(%a, %x : tensor<{m}x{k}xf32, #CSR>, tensor<{k}xf32>)
        outs(%init : tensor<{m}xf32>) -> tensor<{m}xf32>
    return %y : tensor<{m}xf32>
"""),
}

_EMBEDDED_PRELUDE = """    %w = arith.constant {weights} : tensor<{m}x{k}xf32>
    %a = sparse_tensor.convert %w
        : tensor<{m}x{k}xf32> to tensor<{m}x{k}xf32, #CSR>
"""


def _module(kind: str, fields: dict, embedded_weights: str | None,
            source: str) -> str:
    kernel = _KERNELS[kind]
    if embedded_weights is None:
        weight = "sparse (CSR)"
        arguments = "%a: tensor<{m}x{k}xf32, #CSR>, " + kernel["operand"]
        prelude = ""
    else:
        weight = "a constant sparse weight (CSR) embedded below"
        arguments = kernel["operand"]
        prelude = _EMBEDDED_PRELUDE
    doc = kernel["doc"].format(weight=weight)
    # The line breaks where the signature gets long.
    signature = (f"@{{name}}({arguments})\n      -> {kernel['result']} "
                 if embedded_weights is None else
                 f"@{{name}}({arguments}) -> {kernel['result']}\n      ")
    text = (f"{{encoding}}\n\n// {doc}{source}\nmodule {{{{\n"
            f"  func.func {signature}attributes "
            f"{{{{ llvm.emit_c_interface }}}} {{{{\n"
            + prelude + kernel["body"] + "  }}\n}}\n")
    return text.format(**fields, weights=embedded_weights)


# SDDMM: R = S o (Q K^T). The result has S's pattern; each stored entry
# (i, j) becomes sum_k Q[i,k] * K[j,k] (S's own values do not enter it:
# `sparse_tensor.unary` yields the product for stored entries only, and
# `sparse_tensor.reduce` sums it over k starting from 0). K is N x D,
# row-major, as attention keeps it. In the library ABI the entry takes Q, K,
# S's pos / crd / val buffers and three buffers that receive the result
# (runtime.md, "SDDMM").
_SDDMM = """{encoding}
#sddmm = {{
  indexing_maps = [
    affine_map<(i,j,k) -> (i,k)>,  // Q
    affine_map<(i,j,k) -> (j,k)>,  // K (row-major, as attention keeps it)
    affine_map<(i,j,k) -> (i,j)>   // S: the sparse pattern, and the result
  ],
  iterator_types = ["parallel", "parallel", "reduction"]
}}

// R = S o (Q K^T): for every entry (i, j) stored in the {m}x{n} CSR pattern
// S, R[i,j] = sum_k Q[i,k] * K[j,k] with Q {m}x{d} and K {n}x{d}; R has S's
// pattern, S's values are ignored.
module {{
  func.func @{name}(%q: tensor<{m}x{d}xf32>, %k: tensor<{n}x{d}xf32>,
      %s: tensor<{m}x{n}xf32, #CSR>) -> tensor<{m}x{n}xf32, #CSR>
      attributes {{ llvm.emit_c_interface }} {{
    %r = linalg.generic #sddmm
        ins(%q, %k : tensor<{m}x{d}xf32>, tensor<{n}x{d}xf32>)
        outs(%s : tensor<{m}x{n}xf32, #CSR>) {{
      ^bb0(%a: f32, %b: f32, %x: f32):
        %f0 = arith.constant 0.0 : f32
        %u = sparse_tensor.unary %x : f32 to f32
          present={{
            ^bb0(%p: f32):
              %m = arith.mulf %a, %b : f32
              sparse_tensor.yield %m : f32
          }}
          absent={{}}
        %sum = sparse_tensor.reduce %x, %u, %f0 : f32 {{
          ^bb0(%p: f32, %t: f32):
            %add = arith.addf %p, %t : f32
            sparse_tensor.yield %add : f32
        }}
        linalg.yield %sum : f32
    }} -> tensor<{m}x{n}xf32, #CSR>
    return %r : tensor<{m}x{n}xf32, #CSR>
  }}
}}
"""

KINDS = tuple(sorted([*_KERNELS, "sddmm"]))


def kernel_source(kind: str, rows: int, cols: int, *, index_bits: int = 32,
                  name: str | None = None, weights=None,
                  depth: int | None = None, format: str = "csr") -> str:
    """The MLIR module of one kernel: ``kind`` is ``"spmm"`` (C = A B, N
    dynamic) or ``"spmv"`` (y = A x) for a ``rows`` x ``cols`` CSR weight A,
    or ``"sddmm"`` (R = S o (Q K^T), the scores of sparse attention) for a
    ``rows`` x ``cols`` CSR pattern S and Q, K of ``depth`` columns (required
    for ``"sddmm"`` only); positions and coordinates are ``index_bits``-wide
    (32 or 64); the entry point is called ``name`` (default: ``kind``).

    Without ``weights`` the entry takes A as an argument (its pos, crd and
    val buffers in the library ABI). With ``weights``, a CSR matrix of that
    shape with sorted distinct columns per row (anything with ``indptr``,
    ``indices`` and ``values``: a ``Weights`` from ``read_weights``, a
    ``sparse_opt.CsrMatrix``), A is embedded as a constant and the entry
    takes only B (or x); values are written so that they parse back to the
    same float32 bits. A ``source`` attribute, if the weights have one, is
    named in a comment.

    ``format`` is the weight's storage: ``"csr"``, ``"bsr:RxC"`` (R x C
    blocks; R and C must divide the shape) or ``"nm:N:M"`` (at most N
    non-zeros in each group of M columns; M must divide ``cols``). An
    embedded N:M weight must conform (the compiler rejects it otherwise)."""
    if kind not in KINDS:
        raise ValueError(
            f"kind must be one of {', '.join(KINDS)}, got {kind!r}")
    if rows <= 0 or cols <= 0:
        raise ValueError(f"shape must be positive, got {rows}x{cols}")
    if index_bits not in (32, 64):
        raise ValueError(f"index_bits must be 32 or 64, got {index_bits}")
    fmt = parse_format(format)
    if kind == "sddmm" and fmt[0] != "csr":
        raise ValueError("sddmm kernels take a CSR pattern")
    _check_format_shape(fmt, rows, cols)
    if kind == "sddmm":
        if depth is None or depth <= 0:
            raise ValueError(f"sddmm needs a positive depth, got {depth}")
        if weights is not None:
            raise ValueError("sddmm kernels take their pattern as an "
                             "argument: weights do not apply")
        return _SDDMM.format(encoding=_ENCODING.format(bits=index_bits),
                             name=name or kind, m=rows, n=cols, d=depth)
    if depth is not None:
        raise ValueError(f"depth applies to sddmm kernels only, not {kind}")
    fields = dict(encoding=_ENCODING.format(bits=index_bits),
                  name=name or kind, m=rows, k=cols)
    if weights is None:
        return _with_format(_module(kind, fields, None, ""), fmt, index_bits)
    source = getattr(weights, "source", "")
    return _with_format(
        _module(kind, fields, _sparse_attribute(weights, rows, cols),
                f"\n// Weight: {source}" if source else ""), fmt, index_bits)


# Entries per line of an embedded weight.
_PER_LINE = 8


def _sparse_attribute(weights, rows: int, cols: int) -> str:
    """``sparse<[[i, j], ...], [v, ...]>`` (``sparse<>`` when empty) for a
    CSR matrix, after checking that it is a valid rows x cols one."""
    indptr = [int(p) for p in weights.indptr]
    indices = [int(j) for j in weights.indices]
    values = [float(v) for v in weights.values]
    shape = (getattr(weights, "rows", rows), getattr(weights, "cols", cols))
    if shape != (rows, cols):
        raise ValueError(f"weights of shape {shape[0]}x{shape[1]} for a "
                         f"{rows}x{cols} kernel")
    nnz = len(indices)
    if (len(indptr) != rows + 1 or indptr[0] != 0 or indptr[-1] != nnz
            or len(values) != nnz
            or any(indptr[i] > indptr[i + 1] for i in range(rows))):
        raise ValueError(
            f"weights: expected {rows + 1} non-decreasing row offsets from 0 "
            f"to the number of indices and values ({nnz}, {len(values)})")
    if not nnz:
        return "sparse<>"
    coordinates = []
    for row in range(rows):
        previous = -1
        for p in range(indptr[row], indptr[row + 1]):
            col = indices[p]
            if not previous < col < cols:
                raise ValueError(
                    f"weights: expected ascending distinct column indices "
                    f"in [0, {cols}) within each row, found {col} in row "
                    f"{row}")
            previous = col
            coordinates.append(f"[{row}, {col}]")
    texts = [format_f32(v) for v in values]
    indent = "\n        "

    def lines(items):
        return ("," + indent).join(
            ", ".join(items[i:i + _PER_LINE])
            for i in range(0, len(items), _PER_LINE))

    return (f"sparse<{indent}[{lines(coordinates)}],{indent}"
            f"[{lines(texts)}]>")


def _to_f32(value: float) -> float:
    """``value`` rounded to float32 (round to nearest even, as a C cast)."""
    return struct.unpack("<f", struct.pack("<f", value))[0]


def format_f32(value: float) -> str:
    """An MLIR float literal that parses back to ``value`` rounded to float32,
    bit for bit (sign of zero included), as short as is safe: a candidate is
    used only if it lies within a quarter of float32's smallest gap next to
    the value, so any correctly or doubly rounding parser reads it back."""
    value = _to_f32(value)
    if not math.isfinite(value):
        raise ValueError(f"cannot embed the non-finite value {value}")
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    exponent = math.frexp(value)[1]  # 2**(exponent-1) <= |value| < 2**exponent
    # Half the gap below a power of two is 2**(exponent-26); a quarter of
    # that, or of the subnormal spacing 2**-149.
    margin = math.ldexp(1.0, max(exponent - 27, -151))
    text = None
    for candidate in (repr(value), f"{value:.7g}", f"{value:.8g}"):
        if (len(candidate.lstrip("-").replace(".", "").split("e")[0]) <= 9
                and abs(float(candidate) - value) <= margin):
            text = candidate
            break
    if text is None:
        text = f"{value:.9g}"
    # MLIR needs a '.' in a float literal, before any exponent.
    mantissa, e, power = text.partition("e")
    if "." not in mantissa:
        mantissa += ".0"
    return mantissa + e + power


class Weights(NamedTuple):
    """A ``rows`` x ``cols`` CSR matrix in plain Python lists (the entries of
    row ``i`` are ``indices[indptr[i]:indptr[i + 1]]``, sorted and distinct,
    with float32 ``values``), and a description of where it came from."""

    rows: int
    cols: int
    indptr: list
    indices: list
    values: list
    source: str = ""

    @property
    def nnz(self) -> int:
        return len(self.indices)


_MASK64 = (1 << 64) - 1


def random_values(count: int, seed: int) -> list:
    """``so_fill_random(data, count, seed)`` in Python: ``count`` floats
    uniform in [-1, 1), value k being (top 24 bits of the k-th splitmix64
    output) * 2**-23 - 1; bit-identical to the C runtime's."""
    if count < 0:
        raise ValueError(f"negative count {count}")
    if not 0 <= seed <= _MASK64:
        raise ValueError(f"seed must be an unsigned 64-bit integer, got {seed}")
    state = seed
    values = []
    append = values.append
    for _ in range(count):
        state = (state + 0x9E3779B97F4A7C15) & _MASK64
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK64
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK64
        z ^= z >> 31
        append(((z >> 40) - (1 << 23)) / 8388608.0)  # exact: * 2**-23
    return values


def read_weights(path: str | os.PathLike, *, seed: int | None = None
                 ) -> Weights:
    """The CSR matrix the C runtime reads from ``path`` (``.smtx`` or
    ``.mtx``, by extension), with the same validation and the same entry
    order (``.mtx``: any order, symmetric files expanded, duplicates summed in
    float32 in ascending order of value).

    Values: those of a ``real`` / ``integer`` ``.mtx`` file when ``seed`` is
    None; otherwise (and always for ``.smtx`` and ``pattern`` files, which
    hold no values) ``random_values(nnz, seed)`` in CSR order, seed 1 when
    None: the matrix ``sparse-run --matrix PATH --seed SEED`` builds (its
    default seed is 1). ValueError reading ``PATH:LINE: expected ...,
    found ...`` for a malformed file."""
    name = os.fspath(path)
    extension = os.path.splitext(name)[1].lower()
    if extension not in (".smtx", ".mtx"):
        raise ValueError(f"{name}: unknown matrix file extension "
                         f"{extension or '(none)'}, expected .smtx or .mtx")
    with open(path, "rb") as f:
        text = f.read().decode("latin-1")
    if extension == ".smtx":
        rows, cols, indptr, indices = _read_smtx(name, text)
        values = None
    else:
        rows, cols, indptr, indices, values = _read_mtx(name, text)
    basename = os.path.basename(name)
    if values is None or seed is not None:
        seed = 1 if seed is None else seed
        values = random_values(len(indices), seed)
        source = f"{basename}, values from splitmix64 seed {seed}"
    else:
        source = f"{basename}, values from the file"
    return Weights(rows, cols, indptr, indices, values, source)


def structured_weights(weights: Weights, structure: str,
                       refill_seed: int | None) -> Weights:
    """The structured weight ``sparse-run --structure STRUCTURE`` derives
    from ``weights``, bit for bit (the runtime's so_csr_prune_blocks /
    so_csr_prune_nm): ``"bsr:RxC"`` keeps round(nnz / (R*C)) whole R x C
    blocks of largest Frobenius norm (ties: the first in row-major block
    order), their values then redrawn with ``random_values(nnz,
    refill_seed)`` unless ``refill_seed`` is None (sparse-run redraws them
    unless --file-values); ``"nm:N:M"`` keeps the N entries of largest
    magnitude in each group of M columns (ties: the lower column)."""
    fmt = parse_format(structure)
    if fmt[0] == "csr":
        raise ValueError("a structure is bsr:RxC or nm:N:M, not csr")
    _check_format_shape(fmt, weights.rows, weights.cols)
    rows, cols = weights.rows, weights.cols
    entries = []
    if fmt[0] == "bsr":
        r, c = fmt[1], fmt[2]
        col_blocks = cols // c
        norms = [0.0] * ((rows // r) * col_blocks)
        for i in range(rows):
            for k in range(weights.indptr[i], weights.indptr[i + 1]):
                value = weights.values[k]
                norms[(i // r) * col_blocks + weights.indices[k] // c] += (
                    value * value)
        keep = (weights.nnz + r * c // 2) // (r * c)
        order = sorted(range(len(norms)), key=lambda block: -norms[block])
        kept = set(order[:keep])
        for i in range(rows):
            row = dict(zip(weights.indices[weights.indptr[i]:
                                           weights.indptr[i + 1]],
                           weights.values[weights.indptr[i]:
                                          weights.indptr[i + 1]]))
            entries.append([(j, row.get(j, 0.0))
                            for block in range(col_blocks)
                            if (i // r) * col_blocks + block in kept
                            for j in range(block * c, block * c + c)])
    else:
        n, m = fmt[1], fmt[2]
        for i in range(rows):
            groups = {}
            for k in range(weights.indptr[i], weights.indptr[i + 1]):
                groups.setdefault(weights.indices[k] // m, []).append(
                    (weights.indices[k], weights.values[k]))
            row = []
            for group in sorted(groups):
                largest = sorted(groups[group], key=lambda e: -abs(e[1]))[:n]
                row.extend(sorted(largest))
            entries.append(row)
    indptr, indices, values = [0], [], []
    for row in entries:
        indices.extend(j for j, _ in row)
        values.extend(v for _, v in row)
        indptr.append(len(indices))
    if fmt[0] == "bsr" and refill_seed is not None:
        values = random_values(len(indices), refill_seed)
    source = f"{weights.source}, {structure} structure" if weights.source \
        else f"{structure} structure"
    return Weights(rows, cols, indptr, indices, values, source)


_INT64_MAX = (1 << 63) - 1
_DIGITS_AND_BLANKS = re.compile(r"[0-9 \t\r]*")
_BLANKS = " \t\r"


def _found(token: str) -> str:
    """A token quoted (and shortened) for "found ..." in error messages."""
    if not token:
        return "end of line"
    return repr(token[:40] + ("..." if len(token) > 40 else ""))


def _read_smtx(path: str, text: str):
    """rows, cols, indptr, indices of a DLMC file (see so_csr_read_smtx)."""
    lines = text.split("\n")

    def error(number, expected, found):
        return ValueError(f"{path}:{number}: expected {expected}, found "
                          f"{found}")

    header = re.fullmatch(r"[ \t\r]*(\d+)[ \t\r]*,[ \t\r]*(\d+)[ \t\r]*,"
                          r"[ \t\r]*(\d+)[ \t\r]*", lines[0])
    if not header:
        raise error(1, "'nrows, ncols, nnz'", _found(lines[0].strip(_BLANKS)))
    rows, cols, nnz = (int(g) for g in header.groups())
    if max(rows, cols, nnz) > _INT64_MAX or rows == _INT64_MAX:
        raise error(1, "sizes that fit in 64 bits", lines[0].strip())
    if nnz > rows * cols:
        raise error(1, "at most nrows * ncols nonzeros",
                    f"{nnz} for {rows} x {cols}")

    def numbers(number, count, what):
        line = lines[number - 1] if number <= len(lines) else None
        if line is None:  # a missing last line is fine when it'd be empty
            if count:
                raise error(number, f"{count} {what}", "end of file")
            return []
        if not _DIGITS_AND_BLANKS.fullmatch(line):
            bad = next(t for t in line.split()
                       if not (t.isascii() and t.isdigit()))
            raise error(number, f"{count} {what}", f"the token {_found(bad)}")
        values = [int(t) for t in line.split()]
        if len(values) != count:
            raise error(number, f"{count} {what}", str(len(values)))
        return values

    indptr = numbers(2, rows + 1, "row offsets")
    if indptr[0] != 0:
        raise error(2, "the first row offset to be 0", str(indptr[0]))
    for i in range(1, rows + 1):
        if not indptr[i - 1] <= indptr[i] <= nnz:
            raise error(2, f"non-decreasing row offsets at most nnz = {nnz}",
                        f"{indptr[i]} after {indptr[i - 1]} (offset {i})")
    if indptr[rows] != nnz:
        raise error(2, f"the last row offset to equal nnz = {nnz}",
                    str(indptr[rows]))
    indices = numbers(3, nnz, "column indices")
    for row in range(rows):
        previous = -1
        for k in range(indptr[row], indptr[row + 1]):
            col = indices[k]
            if not previous < col < cols:
                raise error(3, f"ascending distinct column indices below "
                               f"ncols = {cols}",
                            f"{col} (entry {k}, row {row})")
            previous = col
    for number in range(4, len(lines) + 1):
        if lines[number - 1].strip(_BLANKS):
            raise error(number, "end of file",
                        _found(lines[number - 1].split()[0]))
    return rows, cols, indptr, indices


# The real numbers std::from_chars reads (general format), with the one
# leading '+' the runtime strips.
_REAL = re.compile(r"\+?-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")
_FLOAT_MAX = struct.unpack("<f", bytes.fromhex("ffff7f7f"))[0]


def _int_to_f32(value: int) -> float:
    """static_cast<float>(int64_t): the integer rounded to float32 once."""
    magnitude = abs(value)
    shift = magnitude.bit_length() - 24
    if shift > 0:
        quotient, remainder = divmod(magnitude, 1 << shift)
        half = 1 << (shift - 1)
        if remainder > half or (remainder == half and quotient & 1):
            quotient += 1
        magnitude = quotient << shift
    return math.copysign(float(magnitude), value) if value else 0.0


def _read_mtx(path: str, text: str):
    """rows, cols, indptr, indices, values (None for pattern files) of a
    Matrix Market coordinate file (see so_csr_read_mtx)."""
    lines = text.split("\n")

    def error(number, expected, found):
        return ValueError(f"{path}:{number}: expected {expected}, found "
                          f"{found}")

    banner = lines[0].split()
    expected_banner = "the banner '%%MatrixMarket matrix coordinate ...'"
    if not banner or banner[0].lower() != "%%matrixmarket":
        raise error(1, expected_banner, _found(lines[0].strip(_BLANKS)))
    banner = [word.lower() for word in banner[1:]]
    if (len(banner) != 4 or banner[:2] != ["matrix", "coordinate"]
            or banner[2] not in ("real", "integer", "pattern")
            or banner[3] not in ("general", "symmetric", "skew-symmetric")):
        raise error(1, "'matrix coordinate real|integer|pattern "
                       "general|symmetric|skew-symmetric'",
                    _found(" ".join(banner)))
    field, symmetry = banner[2], banner[3]

    number = 1
    while number < len(lines) and (not lines[number].strip(_BLANKS) or
                                   lines[number].lstrip(_BLANKS)[:1] == "%"):
        number += 1
    size = lines[number].split() if number < len(lines) else []
    if len(size) != 3 or not all(t.isascii() and t.isdigit() for t in size):
        raise error(number + 1, "'rows columns entries'",
                    _found(" ".join(size)) if size else "end of file")
    rows, cols, nnz = (int(t) for t in size)
    if max(rows, cols, nnz) > _INT64_MAX or rows == _INT64_MAX:
        raise error(number + 1, "sizes that fit in 64 bits", " ".join(size))
    if symmetry != "general" and rows != cols:
        raise error(number + 1, "a square matrix for a symmetric file",
                    f"{rows} x {cols}")
    if nnz > rows * cols:
        raise error(number + 1, "at most rows * columns entries",
                    f"{nnz} for {rows} x {cols}")

    per_row = [[] for _ in range(rows)]  # (col, value) in file order
    width = 2 if field == "pattern" else 3
    read = 0
    for number in range(number + 2, len(lines) + 1):
        tokens = lines[number - 1].split()
        if not tokens:
            continue
        if read == nnz:
            raise error(number, f"end of file after {nnz} entries",
                        _found(tokens[0]))
        if len(tokens) != width or not all(
                t.isascii() and t.isdigit() for t in tokens[:2]):
            raise error(number, f"'row column{'' if width == 2 else ' value'}'",
                        _found(lines[number - 1].strip(_BLANKS)))
        row, col = int(tokens[0]), int(tokens[1])
        if not 1 <= row <= rows:
            raise error(number, f"a row index in [1, {rows}]", str(row))
        if not 1 <= col <= cols:
            raise error(number, f"a column index in [1, {cols}]", str(col))
        if symmetry == "symmetric" and row < col:
            raise error(number, "an entry on or below the diagonal of a "
                                "symmetric matrix", f"({row}, {col})")
        if symmetry == "skew-symmetric" and row <= col:
            raise error(number, "an entry below the diagonal of a "
                                "skew-symmetric matrix", f"({row}, {col})")
        value = 1.0
        if field == "integer":
            token = tokens[2]
            if not re.fullmatch(r"[-+]?\d+", token) or not (
                    -_INT64_MAX - 1 <= int(token) <= _INT64_MAX):
                raise error(number, "an integer value", _found(token))
            value = _int_to_f32(int(token))
        elif field == "real":
            token = tokens[2]
            if not _REAL.fullmatch(token):
                raise error(number, "a real value", _found(token))
            parsed = float(token[1:] if token[0] == "+" else token)
            if abs(parsed) > _FLOAT_MAX:
                raise error(number, "a finite value in float range",
                            _found(token))
            value = _to_f32(parsed)
        per_row[row - 1].append((col - 1, value))
        if symmetry != "general" and row != col:
            per_row[col - 1].append(
                (row - 1, -value if symmetry == "skew-symmetric" else value))
        read += 1
    if read != nnz:
        raise error(len(lines), f"{nnz} entries", str(read))

    # Sort each row by column, then value, and merge duplicates, summing
    # their values in float32 in that order, as the runtime does.
    indptr, indices, values = [0], [], []
    for entries in per_row:
        entries.sort()
        start = len(indices)
        for col, value in entries:
            if len(indices) > start and indices[-1] == col:
                if field != "pattern":
                    values[-1] = _to_f32(values[-1] + value)
            else:
                indices.append(col)
                values.append(value)
        indptr.append(len(indices))
    return rows, cols, indptr, indices, None if field == "pattern" else values


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
