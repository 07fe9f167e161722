"""Reading the tensor signature a compiled entry point was built from.

sparse-compile stores each entry's MLIR function type in the library
(``so_library_signature``), e.g.::

    (tensor<8x6xf32, #sparse_tensor.encoding<{ map = (d0, d1) -> (d0 : dense,
    d1 : compressed), posWidth = 32, crdWidth = 32 }>>, tensor<6x?xf32>)
    -> tensor<8x?xf32>

The calling ABI carries no shapes for the sparse operand, so this text is the
only way to check a call before the kernel reads out of bounds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OPENING, _CLOSING = "(<{[", ")>}]"
_TENSOR = re.compile(
    r"tensor<(?P<dims>(?:(?:\d+|\?)x)*)(?P<element>[a-z]\w*)"
    r"(?:,\s*#sparse_tensor\.encoding<\{(?P<encoding>[^{}]*)\}>)?>")
_CSR_MAP = "(d0,d1)->(d0:dense,d1:compressed)"


@dataclass(frozen=True)
class TensorType:
    """One ``tensor<...>`` type: dimensions (None where dynamic), element
    type, and the body of its sparse encoding (None for a dense tensor)."""

    shape: tuple[int | None, ...]
    element_type: str
    encoding: str | None

    @property
    def is_csr(self) -> bool:
        """Whether this is a matrix stored as CSR (dense rows, compressed
        columns): the one sparse format the runtime's call helpers pass."""
        if self.encoding is None or len(self.shape) != 2:
            return False
        found = re.search(r"map\s*=\s*(\([^)]*\)\s*->\s*\([^)]*\))",
                          self.encoding)
        return found is not None and re.sub(r"\s", "", found[1]) == _CSR_MAP

    def index_width(self, key: str) -> int:
        """The bit width ``key`` (posWidth or crdWidth) gives this sparse
        tensor: 0 or absent means ``index``, 64 bits."""
        found = re.search(rf"\b{key}\s*=\s*(\d+)", self.encoding or "")
        width = int(found[1]) if found else 0
        return width or 64


@dataclass(frozen=True)
class Signature:
    """An entry point's function type; a non-tensor type is None."""

    inputs: tuple[TensorType | None, ...]
    results: tuple[TensorType | None, ...]


def parse_signature(text: str) -> Signature:
    """Parses an MLIR function type ``(T, ...) -> R`` or ``-> (R, ...)``."""
    arrow = _find_top_level(text, "->")
    if arrow < 0:
        raise ValueError(f"not a function type: {text!r}")
    return Signature(
        tuple(_tensor_type(t) for t in _type_list(text[:arrow])),
        tuple(_tensor_type(t) for t in _type_list(text[arrow + 2:])))


def _type_list(text: str) -> list[str]:
    """The types of ``(A, B)`` or of a lone ``A``."""
    text = text.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1].strip()
    types = []
    while text:
        comma = _find_top_level(text, ",")
        if comma < 0:
            types.append(text)
            break
        types.append(text[:comma].strip())
        text = text[comma + 1:].strip()
    return types


def _find_top_level(text: str, token: str) -> int:
    """The index of the first ``token`` outside any brackets, or -1. The
    ``>`` of an arrow (the encoding's ``map = (d0, d1) -> (...)``) closes
    nothing."""
    depth = 0
    for i, char in enumerate(text):
        if depth == 0 and text.startswith(token, i):
            return i
        if char in _OPENING:
            depth += 1
        elif char in _CLOSING and not (char == ">" and text[i - 1:i] == "-"):
            depth -= 1
    return -1


def _tensor_type(text: str) -> TensorType | None:
    match = _TENSOR.fullmatch(text.strip())
    if not match:
        return None
    shape = tuple(None if d == "?" else int(d)
                  for d in match["dims"].split("x")[:-1])
    return TensorType(shape, match["element"], match["encoding"])
