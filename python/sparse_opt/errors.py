"""Exceptions raised by sparse_opt."""

from __future__ import annotations


class SparseOptError(RuntimeError):
    """A failure reported by the sparse-opt runtime or compiler.

    Runtime failures carry the text of ``so_last_error()``, which names the
    file and line for matrix files (``PATH:LINE: expected ..., found ...``)
    and the library path for loading and lookup errors.
    """


class CompileError(SparseOptError):
    """``sparse-compile`` rejected its input or failed.

    ``str(error)`` is the tool's diagnostic output, whose MLIR errors read
    ``FILE:LINE:COL: error: ...`` (``<stdin>`` for a source given as text).
    """

    def __init__(self, stderr: str, returncode: int, command: list[str]):
        super().__init__(stderr.strip() or
                         f"sparse-compile exited with status {returncode}")
        self.stderr = stderr
        self.returncode = returncode
        self.command = command
