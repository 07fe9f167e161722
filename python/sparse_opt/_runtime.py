"""ctypes bindings of the C runtime (include/sparse-opt-c/Runtime.h).

Only what the package calls is declared. Every prototype is spelled out so
that ctypes converts arguments to the C types instead of guessing (a Python
int passed to an ``int64_t`` parameter would otherwise be truncated to
``int``). Pointers to numpy data are passed as ``c_void_p`` addresses.
"""

from __future__ import annotations

import ctypes
import functools
from ctypes import (POINTER, Structure, c_char_p, c_double, c_int, c_int64,
                    c_uint64, c_void_p)

from ._tools import find_runtime_library
from .errors import SparseOptError


class SoMemRef1D(Structure):
    _fields_ = [("allocated", c_void_p), ("aligned", c_void_p),
                ("offset", c_int64), ("sizes", c_int64 * 1),
                ("strides", c_int64 * 1)]


class SoCsr(Structure):
    _fields_ = [("rows", c_int64), ("cols", c_int64), ("nnz", c_int64),
                ("row_ptr", c_void_p), ("col_idx", c_void_p),
                ("values", c_void_p)]


class SoCsrOperand(Structure):
    _fields_ = [("rows", c_int64), ("cols", c_int64), ("nnz", c_int64),
                ("index_bits", c_int), ("pos", SoMemRef1D),
                ("crd", SoMemRef1D), ("val", SoMemRef1D)]


_PROTOTYPES = {
    "so_last_error": (c_char_p, []),
    "so_csr_free": (None, [POINTER(SoCsr)]),
    "so_memref_release": (None, [c_void_p]),
    "so_csr_random": (c_int, [c_int64, c_int64, c_double, c_uint64,
                              POINTER(SoCsr)]),
    "so_csr_read": (c_int, [c_char_p, POINTER(SoCsr)]),
    "so_csr_operand_init": (c_int, [POINTER(SoCsr), c_int,
                                    POINTER(SoCsrOperand)]),
    "so_csr_operand_release": (None, [POINTER(SoCsrOperand)]),
    "so_call_spmm_prepared": (c_int, [c_void_p, POINTER(SoCsrOperand),
                                      c_void_p, c_int64, c_void_p]),
    "so_call_spmv_prepared": (c_int, [c_void_p, POINTER(SoCsrOperand),
                                      c_void_p, c_void_p]),
    "so_call_dense_spmm": (c_int, [c_void_p, c_void_p, c_int64, c_int64,
                                   c_int64, c_void_p]),
    "so_call_dense_spmv": (c_int, [c_void_p, c_void_p, c_int64, c_int64,
                                   c_void_p]),
    "so_library_open": (c_void_p, [c_char_p]),
    "so_library_lookup": (c_void_p, [c_void_p, c_char_p]),
    "so_library_signature": (c_char_p, [c_void_p, c_char_p]),
    "so_library_set_num_threads": (c_int, [c_void_p, c_int]),
    "so_library_get_num_threads": (c_int, [c_void_p]),
    "so_library_close": (None, [c_void_p]),
}


@functools.lru_cache(maxsize=None)
def runtime() -> ctypes.CDLL:
    """The runtime library, loaded on first use (importing the package does
    not need a build) and then shared by every caller in the process."""
    library = ctypes.CDLL(str(find_runtime_library()))
    for name, (restype, argtypes) in _PROTOTYPES.items():
        function = getattr(library, name)
        function.restype = restype
        function.argtypes = argtypes
    return library


def last_error() -> str:
    """The runtime's description of the last failure on this thread."""
    return runtime().so_last_error().decode(errors="replace")


def check(status: int) -> None:
    """Raises SparseOptError with the runtime's message if a call failed."""
    if status != 0:
        raise SparseOptError(last_error())
