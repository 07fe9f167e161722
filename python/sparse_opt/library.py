"""Loading a library built by sparse-compile and calling its kernels."""

from __future__ import annotations

import contextlib
import ctypes
import operator
import os
import weakref
from dataclasses import dataclass

import numpy as np

from . import _dense_call
from ._runtime import SoCsrOperand, check, last_error, runtime
from ._signature import Signature, parse_signature
from .csr import CsrMatrix
from .errors import SparseOptError


@dataclass(frozen=True)
class _Kind:
    """A kernel form the runtime's call helpers pass operands to."""

    name: str     # as in messages
    method: str   # the Library method that calls it
    operand: str  # the dense operand's parameter name
    rank: int     # of the dense operand and of the result


_SPMM = _Kind("SpMM", "spmm", "b", 2)
_SPMV = _Kind("SpMV", "spmv", "x", 1)


class Library:
    """A shared library built by ``sparse-compile``, opened with the runtime's
    ``so_library_open`` (``RTLD_NOW | RTLD_LOCAL``; a bare file name is
    relative to the working directory).

    Close it with ``close()`` or a ``with`` block; otherwise it is closed
    when garbage collected. Results are copied into numpy arrays, so they
    stay valid after the library is closed.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = os.fspath(path)
        handle = runtime().so_library_open(os.fsencode(self.path))
        if not handle:
            raise SparseOptError(last_error())
        self._handle = handle
        self._closer = weakref.finalize(self, runtime().so_library_close,
                                        handle)

    def close(self) -> None:
        """Unloads the library; further calls raise ValueError. Idempotent."""
        self._closer()

    @property
    def closed(self) -> bool:
        return not self._closer.alive

    def __enter__(self) -> Library:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Library({self.path!r}{', closed' if self.closed else ''})"

    def _live_handle(self) -> int:
        if self.closed:
            raise ValueError(f"{self.path}: library is closed")
        return self._handle

    def signature(self, entry: str) -> str | None:
        """The MLIR function type ``entry`` was compiled from, such as
        ``(tensor<8x6xf32, #sparse_tensor.encoding<{...}>>, tensor<6x?xf32>)
        -> tensor<8x?xf32>``, or None if the library records none."""
        text = runtime().so_library_signature(self._live_handle(),
                                              entry.encode())
        return text.decode() if text is not None else None

    @property
    def num_threads(self) -> int | None:
        """The number of OpenMP threads the library's kernels use, or None if
        the library has no thread control (built without OpenMP). Setting
        0 restores the OpenMP default."""
        count = runtime().so_library_get_num_threads(self._live_handle())
        return count if count >= 0 else None

    @num_threads.setter
    def num_threads(self, count: int) -> None:
        check(runtime().so_library_set_num_threads(self._live_handle(),
                                                   operator.index(count)))

    def run(self, entry: str, *arrays):
        """Calls ``entry``, whose operands and results are all dense tensors
        (any rank, element types f32, f64, i1 (bool), i8..i64, ui8..ui64,
        index (int64)), with ``arrays`` in the order of its operands.

        Returns the one result as a numpy array, or a tuple of arrays when
        the entry has zero or several results; they are copies, valid after
        the library is closed. The arrays are checked against the entry's
        recorded signature first (ValueError naming the operand: count,
        rank, static dimensions, and an exact dtype match; lists and scalars
        are converted to the operand's dtype). The caller's arrays are never
        written: the kernel gets private copies. A library without
        signatures cannot be called this way (SparseOptError)."""
        function, where, signature, arguments = self._dense_entry(
            entry, arrays, "Library.run")
        results = _dense_call.call_dense(function, where, signature,
                                         arguments)
        return results[0] if len(results) == 1 else tuple(results)

    def bind(self, entry: str, *arrays):
        """``entry`` (as for ``run``) bound to private copies of ``arrays``,
        checked and prepared once: calling the returned function runs the
        kernel and frees its results without copying anything, for timing
        loops (the time of a call is then the kernel's plus a ctypes call).
        It keeps the library open's handle: close the library only after
        the last call. The copies are the function's ``operands`` (a
        list), e.g. to read them back into the caches between timed
        calls."""
        function, _, signature, arguments = self._dense_entry(
            entry, arrays, "Library.bind")
        call = _dense_call.DenseCall(function, signature, arguments)

        def run_once() -> None:
            self._live_handle()
            call.invoke()
            call.release()

        run_once.operands = arguments
        return run_once

    def _dense_entry(self, entry: str, arrays, caller: str):
        """The address, message prefix, signature and prepared arguments of
        a dense ``entry``, after the checks ``run`` documents."""
        function = runtime().so_library_lookup(self._live_handle(),
                                               entry.encode())
        if not function:
            raise SparseOptError(last_error())
        where = f"{self.path}: entry '{entry}'"
        text = self.signature(entry)
        if text is None:
            raise SparseOptError(f"{where} has no recorded signature; "
                                 f"{caller} needs one to pass operands")
        signature = parse_signature(text)
        _dense_call.check_dense_signature(where, text, signature)
        arguments = _dense_call.prepare_arguments(where, signature, arrays)
        return function, where, signature, arguments

    def spmm(self, entry: str, a: CsrMatrix, b) -> np.ndarray:
        """``a @ b`` through SpMM entry point ``entry``: ``a`` is M x K,
        ``b`` K x N (converted to contiguous float32); returns M x N
        float32. Shapes are checked against the entry's signature first
        (ValueError): the kernel itself would read out of bounds."""
        b = np.ascontiguousarray(b, dtype=np.float32)
        function, index_bits = self._prepare(entry, _SPMM, a, b)
        c = np.empty((a.rows, b.shape[1]), dtype=np.float32)
        with _operand(a, index_bits) as operand:
            check(runtime().so_call_spmm_prepared(
                function, ctypes.byref(operand), b.ctypes.data, b.shape[1],
                c.ctypes.data))
        return c

    def spmv(self, entry: str, a: CsrMatrix, x) -> np.ndarray:
        """``a @ x`` through SpMV entry point ``entry``: ``a`` is M x K, ``x``
        K floats (converted to contiguous float32); returns M float32.
        Checked like spmm."""
        x = np.ascontiguousarray(x, dtype=np.float32)
        function, index_bits = self._prepare(entry, _SPMV, a, x)
        y = np.empty(a.rows, dtype=np.float32)
        with _operand(a, index_bits) as operand:
            check(runtime().so_call_spmv_prepared(
                function, ctypes.byref(operand), x.ctypes.data, y.ctypes.data))
        return y

    def _prepare(self, entry: str, kind: _Kind, a: CsrMatrix,
                 dense: np.ndarray) -> tuple[int, int]:
        """The address of ``entry`` and the index width of its sparse
        operand, after checking the operands against its signature."""
        if not isinstance(a, CsrMatrix):
            raise TypeError(f"a must be a CsrMatrix, not {type(a).__name__}")
        function = runtime().so_library_lookup(self._live_handle(),
                                               entry.encode())
        if not function:
            raise SparseOptError(last_error())
        where = f"{self.path}: entry '{entry}'"
        text = self.signature(entry)
        static_n = None
        index_bits = 64  # `index`: what a library without a signature uses
        if text is not None:
            signature = _checked_form(where, text, kind)
            sparse, dense_type = signature.inputs
            if not _fits(a.shape, sparse.shape):
                raise ValueError(
                    f"{where} was compiled for a {_shape_text(sparse.shape)} "
                    f"matrix, not {_shape_text(a.shape)}")
            static_n = dense_type.shape[1] if kind.rank == 2 else None
            index_bits = _index_bits(where, sparse)
        _check_dense(where, kind, dense, a.cols, static_n)
        return function, index_bits


def _checked_form(where: str, text: str, kind: _Kind) -> Signature:
    """The parsed signature, if it is that of a ``kind`` kernel the
    runtime's call helpers can pass operands to; ValueError otherwise."""
    signature = parse_signature(text)
    if _has_form(signature, kind.rank):
        return signature
    other = _SPMV if kind == _SPMM else _SPMM
    hint = (f"; it is an {other.name} entry: use Library.{other.method}"
            if _has_form(signature, other.rank) else "")
    raise ValueError(
        f"{where} is not an {kind.name} kernel (one CSR f32 matrix and a "
        f"rank-{kind.rank} dense f32 tensor in, a rank-{kind.rank} dense f32 "
        f"tensor out): its signature is {text}{hint}")


def _has_form(signature: Signature, rank: int) -> bool:
    if len(signature.inputs) != 2 or len(signature.results) != 1:
        return False
    sparse, dense = signature.inputs
    result = signature.results[0]
    return (sparse is not None and dense is not None and result is not None
            and sparse.is_csr and dense.encoding is None
            and result.encoding is None and len(dense.shape) == rank
            and len(result.shape) == rank
            and {sparse.element_type, dense.element_type,
                 result.element_type} == {"f32"})


def _index_bits(where: str, sparse) -> int:
    """The one index width the runtime passes positions and coordinates
    with (so_csr_operand_init supports 32 or 64 bits for both)."""
    positions = sparse.index_width("posWidth")
    coordinates = sparse.index_width("crdWidth")
    if positions != coordinates or positions not in (32, 64):
        raise SparseOptError(
            f"{where} has {positions}-bit positions and {coordinates}-bit "
            f"coordinates; the runtime passes 32- or 64-bit indices of one "
            f"width")
    return positions


def _check_dense(where: str, kind: _Kind, dense: np.ndarray, cols: int,
                 static_n: int | None) -> None:
    name, rank = kind.operand, kind.rank
    if dense.ndim != rank:
        raise ValueError(f"{name} must be {rank}-D, got shape {dense.shape}")
    if dense.shape[0] != cols:
        raise ValueError(
            f"{name} has shape {dense.shape}: its first dimension must be "
            f"{cols}, the number of columns of the matrix")
    if rank == 2:
        n = dense.shape[1]
        if n == 0:
            raise ValueError("b has no columns: kernels need N >= 1")
        if static_n is not None and n != static_n:
            raise ValueError(f"{where} was compiled for N = {static_n}, but "
                             f"b has {n} columns")


def _fits(shape: tuple[int, ...], expected: tuple[int | None, ...]) -> bool:
    return len(shape) == len(expected) and all(
        e is None or e == s for s, e in zip(shape, expected))


def _shape_text(shape: tuple[int | None, ...]) -> str:
    return " x ".join("?" if d is None else str(d) for d in shape)


@contextlib.contextmanager
def _operand(a: CsrMatrix, index_bits: int):
    """The runtime's descriptors of ``a`` (32-bit indices are converted by
    the runtime), released on exit; they borrow ``a``'s arrays."""
    matrix = a._as_runtime()
    operand = SoCsrOperand()
    check(runtime().so_csr_operand_init(ctypes.byref(matrix), index_bits,
                                        ctypes.byref(operand)))
    try:
        yield operand
    finally:
        runtime().so_csr_operand_release(ctypes.byref(operand))
