"""Python interface of sparse-opt, the MLIR sparse compiler.

There are no MLIR Python bindings: ``compile`` runs the ``sparse-compile``
executable, and ``Library`` / ``CsrMatrix`` call the C runtime
(``libSparseOptRuntime.so``) through ctypes. Both are found in
``$SPARSE_OPT_BUILD_DIR``, else the repository's ``build/``, else on PATH.
See docs/python.md.

The ONNX modules (``sparse_opt.models``, ``sparse_opt.prune``,
``sparse_opt.onnx_frontend``) need the ``onnx`` package and are imported
only when used; see docs/frontend.md.
"""

from .compiler import compile
from .csr import CsrMatrix
from .errors import CompileError, SparseOptError
from .kernels import kernel_source, matrix_shape, read_weights
from .library import Library

__all__ = ["CompileError", "CsrMatrix", "Library", "SparseOptError",
           "compile", "kernel_source", "matrix_shape", "read_weights"]
