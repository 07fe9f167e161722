"""CSR matrices: the sparse operand of the compiled kernels."""

from __future__ import annotations

import ctypes
import operator
import os

import numpy as np

from ._runtime import SoCsr, check, runtime

_MAX_SEED = 2**64 - 1


class CsrMatrix:
    """A ``rows`` x ``cols`` matrix in compressed sparse row form.

    The entries of row ``i`` are ``indices[indptr[i]:indptr[i + 1]]`` with
    ``values`` at the same positions. The constructor copies its arrays to
    ``int64`` / ``float32`` and validates them (offsets, index range, sorted
    distinct columns per row) because compiled kernels trust the structure
    and would read out of bounds otherwise; the stored arrays are read-only
    so the matrix stays valid.
    """

    __slots__ = ("rows", "cols", "indptr", "indices", "values")

    def __init__(self, rows: int, cols: int, indptr, indices, values):
        self.rows = operator.index(rows)
        self.cols = operator.index(cols)
        if self.rows < 0 or self.cols < 0:
            raise ValueError(f"negative shape {self.rows} x {self.cols}")
        self.indptr = _frozen_vector(indptr, np.int64, "indptr")
        self.indices = _frozen_vector(indices, np.int64, "indices")
        self.values = _frozen_vector(values, np.float32, "values")
        self._validate()

    def _validate(self) -> None:
        indptr, indices = self.indptr, self.indices
        if len(indptr) != self.rows + 1:
            raise ValueError(f"indptr has {len(indptr)} entries, expected "
                             f"rows + 1 = {self.rows + 1}")
        if indptr[0] != 0 or np.any(np.diff(indptr) < 0):
            raise ValueError("indptr must start at 0 and never decrease")
        nnz = int(indptr[-1])
        if len(indices) != nnz or len(self.values) != nnz:
            raise ValueError(
                f"indptr ends at {nnz} but there are {len(indices)} indices "
                f"and {len(self.values)} values")
        if nnz and (indices.min() < 0 or indices.max() >= self.cols):
            raise ValueError(f"column indices must lie in [0, {self.cols})")
        # Consecutive entries of one row must have increasing columns; the
        # first entry of each row may be anything.
        increasing = np.diff(indices) > 0
        row_starts = indptr[1:-1]
        row_starts = row_starts[(row_starts > 0) & (row_starts < nnz)]
        increasing[row_starts - 1] = True
        if not increasing.all():
            raise ValueError(
                "column indices must be sorted and distinct within each row")

    @property
    def shape(self) -> tuple[int, int]:
        return (self.rows, self.cols)

    @property
    def nnz(self) -> int:
        return len(self.values)

    def __repr__(self) -> str:
        return f"CsrMatrix({self.rows} x {self.cols}, nnz={self.nnz})"

    @classmethod
    def from_dense(cls, dense) -> CsrMatrix:
        """The nonzeros of a 2-D array, as float32."""
        dense = np.asarray(dense, dtype=np.float32)
        if dense.ndim != 2:
            raise ValueError(f"expected a 2-D array, got {dense.ndim}-D")
        rows, cols = np.nonzero(dense)  # row-major order: sorted per row
        indptr = np.zeros(dense.shape[0] + 1, dtype=np.int64)
        np.cumsum(np.bincount(rows, minlength=dense.shape[0]), out=indptr[1:])
        return cls(dense.shape[0], dense.shape[1], indptr, cols,
                   dense[rows, cols])

    def to_dense(self) -> np.ndarray:
        """The matrix as a float32 ``rows`` x ``cols`` array."""
        dense = np.zeros(self.shape, dtype=np.float32)
        row_of_entry = np.repeat(np.arange(self.rows), np.diff(self.indptr))
        dense[row_of_entry, self.indices] = self.values
        return dense

    @classmethod
    def read(cls, path: str | os.PathLike) -> CsrMatrix:
        """Reads a DLMC ``.smtx`` or Matrix Market ``.mtx`` file (chosen by
        extension) with the runtime's validating readers, so a malformed file
        raises SparseOptError reading ``PATH:LINE: expected ..., found ...``.
        ``.smtx`` files hold a pattern only: every value is 1.0."""
        matrix = SoCsr()
        check(runtime().so_csr_read(os.fsencode(path), ctypes.byref(matrix)))
        return cls._take(matrix)

    @classmethod
    def random(cls, rows: int, cols: int, density: float,
               seed: int = 0) -> CsrMatrix:
        """Exactly ``round(density * rows * cols)`` entries at uniformly
        random positions, values uniform in [-1, 1). Drawn by the runtime's
        ``so_csr_random``, so the same seed gives the same matrix here, in
        sparse-run and on every platform."""
        if not 0 <= seed <= _MAX_SEED:
            raise ValueError(f"seed must be in [0, 2**64), got {seed}")
        matrix = SoCsr()
        check(runtime().so_csr_random(rows, cols, density, seed,
                                      ctypes.byref(matrix)))
        return cls._take(matrix)

    @classmethod
    def _take(cls, matrix: SoCsr) -> CsrMatrix:
        """Copies a runtime-owned matrix into numpy arrays (the constructor
        copies the views) and frees it."""
        try:
            return cls(matrix.rows, matrix.cols,
                       _view(matrix.row_ptr, matrix.rows + 1, np.int64),
                       _view(matrix.col_idx, matrix.nnz, np.int64),
                       _view(matrix.values, matrix.nnz, np.float32))
        finally:
            runtime().so_csr_free(ctypes.byref(matrix))

    def _as_runtime(self) -> SoCsr:
        """A runtime view of this matrix that borrows its arrays: use it only
        while this matrix is alive."""
        return SoCsr(self.rows, self.cols, self.nnz, self.indptr.ctypes.data,
                     self.indices.ctypes.data, self.values.ctypes.data)


def _frozen_vector(array, dtype, name: str) -> np.ndarray:
    vector = np.array(array, dtype=dtype, copy=True, order="C")
    if vector.ndim != 1:
        raise ValueError(f"{name} must be 1-D, got shape {vector.shape}")
    vector.setflags(write=False)
    return vector


def _view(address: int | None, count: int, dtype) -> np.ndarray:
    """A numpy view of ``count`` elements of C memory at ``address``, which
    may be NULL when ``count`` is 0."""
    if not count:
        return np.empty(0, dtype=dtype)
    size = count * np.dtype(dtype).itemsize
    return np.frombuffer((ctypes.c_char * size).from_address(address), dtype)
