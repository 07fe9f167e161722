"""SDDMM kernels from ``kernel_source("sddmm", ...)``: the module parses and
verifies with sparse-opt, compiles with sparse-compile, records the
signature sparse-run and the runtime check, and computes R = S o (Q K^T).

The package has no ``Library.sddmm`` yet: the kernel is called through the
runtime's ``so_call_sddmm``, declared here. Tolerance as in test_kernels.py:
|r - ref| <= 1e-5 * sum_k |q_ik k_jk| per entry, ref in float64.
"""

import ctypes
import subprocess
import sys

import numpy as np
import pytest

import sparse_opt
from layout import REPOSITORY
from sparse_opt import CsrMatrix, kernel_source, kernels
from sparse_opt._runtime import SoCsrOperand, check, runtime
from sparse_opt._tools import find_compiler

RTOL = 1e-5


def sparse_opt_tool():
    return find_compiler().parent / "sparse-opt"


def call_sddmm(library, entry, s: CsrMatrix, q, k, index_bits):
    """R's values (S's entry order) through the runtime's so_call_sddmm."""
    function = runtime().so_call_sddmm
    function.restype = ctypes.c_int
    function.argtypes = [ctypes.c_void_p, ctypes.POINTER(SoCsrOperand),
                         ctypes.c_void_p, ctypes.c_void_p, ctypes.c_int64,
                         ctypes.c_void_p]
    address = runtime().so_library_lookup(library._live_handle(),
                                          entry.encode())
    assert address
    matrix = s._as_runtime()
    operand = SoCsrOperand()
    check(runtime().so_csr_operand_init(ctypes.byref(matrix), index_bits,
                                        ctypes.byref(operand)))
    values = np.full(s.nnz, np.nan, dtype=np.float32)
    try:
        check(function(address, ctypes.byref(operand), q.ctypes.data,
                       k.ctypes.data, q.shape[1], values.ctypes.data))
    finally:
        runtime().so_csr_operand_release(ctypes.byref(operand))
    return values


def assert_close(values, s: CsrMatrix, q, k):
    rows = np.repeat(np.arange(s.rows), np.diff(s.indptr))
    products = (q[rows].astype(np.float64)
                * k[s.indices].astype(np.float64))
    reference = products.sum(axis=1)
    bound = RTOL * np.abs(products).sum(axis=1)
    error = np.abs(values - reference)
    assert np.all(error <= bound), (
        f"entry {np.argmax(error - bound)}: got "
        f"{values[np.argmax(error - bound)]}, expected "
        f"{reference[np.argmax(error - bound)]}")


# (rows, cols, depth, index bits, density): D = 37 and 1 are not multiples of
# the vector width, 64 is attention's; density 0.02 leaves empty rows.
CASES = [
    (37, 77, 37, 32, 0.3),
    (64, 64, 64, 64, 0.1),
    (100, 30, 1, 32, 0.02),
    (16, 48, 16, 64, 1.0),
]


@pytest.mark.parametrize("rows,cols,depth,index_bits,density", CASES)
def test_sddmm_parses_compiles_and_matches_numpy(tmp_path, rows, cols, depth,
                                                  index_bits, density):
    source = kernel_source("sddmm", rows, cols, depth=depth,
                           index_bits=index_bits)
    parsed = subprocess.run([str(sparse_opt_tool()), "-"], input=source,
                            capture_output=True, text=True)
    assert parsed.returncode == 0, parsed.stderr
    assert "linalg.generic" in parsed.stdout
    with sparse_opt.compile(source, tmp_path / "sddmm.so") as library:
        signature = library.signature("sddmm")
        assert signature.startswith(
            f"(tensor<{rows}x{depth}xf32>, tensor<{cols}x{depth}xf32>, "
            f"tensor<{rows}x{cols}xf32, #sparse_tensor.encoding<")
        assert f"posWidth = {index_bits}, crdWidth = {index_bits}" in signature
        assert signature.count("#sparse_tensor.encoding") == 2
        s = CsrMatrix.random(rows, cols, density, seed=rows + depth)
        before = s.values.copy()
        rng = np.random.default_rng(depth)
        q = rng.uniform(-1, 1, (rows, depth)).astype(np.float32)
        k = rng.uniform(-1, 1, (cols, depth)).astype(np.float32)
        values = call_sddmm(library, "sddmm", s, q, k, index_bits)
        assert_close(values, s, q, k)
        # S's values do not enter the result, and are left alone.
        np.testing.assert_array_equal(s.values, before)


def test_sddmm_source_and_name():
    source = kernel_source("sddmm", 8, 6, depth=4, name="scores")
    assert "func.func @scores(%q: tensor<8x4xf32>, %k: tensor<6x4xf32>," in (
        source)
    assert "posWidth = 32, crdWidth = 32" in source
    assert "sddmm" in kernels.KINDS


@pytest.mark.parametrize("arguments,message", [
    (dict(), "sddmm needs a positive depth, got None"),
    (dict(depth=0), "sddmm needs a positive depth, got 0"),
    (dict(depth=4, weights=object()), "weights do not apply"),
])
def test_sddmm_source_errors(arguments, message):
    with pytest.raises(ValueError, match=message):
        kernel_source("sddmm", 8, 6, **arguments)


def test_depth_is_for_sddmm_only():
    with pytest.raises(ValueError, match="depth applies to sddmm kernels "
                                         "only, not spmm"):
        kernel_source("spmm", 8, 6, depth=4)


def test_make_kernel_script(tmp_path):
    """scripts/make-kernel.py sddmm writes what kernel_source does."""
    script = str(REPOSITORY / "scripts" / "make-kernel.py")
    output = tmp_path / "k.mlir"
    subprocess.run([sys.executable, script, "sddmm", "--rows", "8", "--cols", "6",
                    "--depth", "4", "--index-bits", "64", "--name", "att",
                    "-o", str(output)], check=True)
    assert output.read_text() == kernel_source("sddmm", 8, 6, depth=4,
                                               index_bits=64, name="att")
    failed = subprocess.run([sys.executable, script, "sddmm", "--rows", "8",
                             "--cols", "6"], capture_output=True, text=True)
    assert failed.returncode == 2
    assert "sddmm needs --depth" in failed.stderr
