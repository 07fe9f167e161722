"""Kernels with the weight embedded as a constant (kernels.py ``weights=``,
``make-kernel.py --embed-weights``).

The generator must reproduce the C runtime's matrices bit for bit (readers,
splitmix64 values) and write values that parse back to the same float32
bits; the compiled kernel is called through ``so_call_dense_spmm`` /
``so_call_dense_spmv``. With B the identity, C = A exactly (each element is
one product by 1 plus zeros), which checks the embedded values bit for bit.
"""

import ctypes
import struct
import subprocess
import sys

import numpy as np
import pytest

import sparse_opt
from layout import DLMC, REPOSITORY
from sparse_opt import CsrMatrix, kernels
from sparse_opt._runtime import check, runtime

F32_MAX = np.finfo(np.float32).max
F32_TINY = np.finfo(np.float32).tiny  # smallest normal


def bits(values):
    return np.asarray(values, dtype=np.float32).view(np.uint32).tolist()


def call_dense(library, entry, dense, rows):
    """The entry's result for B (2-D) or x (1-D) through the runtime."""
    function = runtime().so_library_lookup(library._live_handle(),
                                           entry.encode())
    assert function, entry
    dense = np.ascontiguousarray(dense, dtype=np.float32)
    if dense.ndim == 2:
        result = np.empty((rows, dense.shape[1]), dtype=np.float32)
        check(runtime().so_call_dense_spmm(function, dense.ctypes.data,
                                           dense.shape[0], dense.shape[1],
                                           rows, result.ctypes.data))
    else:
        result = np.empty(rows, dtype=np.float32)
        check(runtime().so_call_dense_spmv(function, dense.ctypes.data,
                                           dense.shape[0], rows,
                                           result.ctypes.data))
    return result


@pytest.mark.parametrize("seed", [0, 1, 2**64 - 1])
def test_random_values_match_the_runtime(seed):
    a = CsrMatrix.random(40, 30, 0.5, seed=seed)
    assert bits(kernels.random_values(a.nnz, seed)) == bits(a.values)


MTX_FILES = {
    "general.mtx": "%%MatrixMarket matrix coordinate real general\n"
                   "% duplicates, signs, exponents\n"
                   "4 5 9\n"
                   "1 1 1e8\n1 1 -1e8\n1 1 1\n"
                   "2 3 +2.5\n2 3 -.5\n4 5 1.\n3 1 +-3.25e2\n"
                   "4 1 1e-40\n4 5 3.4028234e38\n",
    "symmetric.mtx": "%%MatrixMarket matrix coordinate real symmetric\n"
                     "3 3 4\n1 1 0.1\n2 1 0.2\n3 2 -0.3\n3 3 0.7\n",
    "skew.mtx": "%%MatrixMarket matrix coordinate integer skew-symmetric\n"
                "3 3 3\n2 1 16777217\n3 1 -9223372036854775808\n"
                "3 2 9007199254740993\n",
    "pattern.mtx": "%%MatrixMarket matrix coordinate pattern general\n"
                   "3 4 4\n3 4\n1 2\n\n3 4\n2 2\n",
    "empty.mtx": "%%MatrixMarket matrix coordinate real general\n3 4 0\n",
    "a.smtx": "3, 4, 5\n0 2 2 5\n1 3 0 1 2\n",
    "empty.smtx": "3, 4, 0\n0 0 0 0\n",
}


@pytest.mark.parametrize("name", sorted(MTX_FILES))
def test_read_weights_matches_the_runtime(tmp_path, name):
    path = tmp_path / name
    path.write_text(MTX_FILES[name])
    runtime_matrix = CsrMatrix.read(path)
    for seed in (None, 7):
        weights = kernels.read_weights(path, seed=seed)
        assert (weights.rows, weights.cols) == runtime_matrix.shape
        assert weights.indptr == runtime_matrix.indptr.tolist()
        assert weights.indices == runtime_matrix.indices.tolist()
        has_values = name.endswith(".mtx") and "pattern" not in name
        if seed is None and has_values:
            expected = runtime_matrix.values
            assert "values from the file" in weights.source
        else:
            expected = kernels.random_values(weights.nnz, seed or 1)
            assert f"splitmix64 seed {seed or 1}" in weights.source
        assert bits(weights.values) == bits(expected)


@pytest.mark.skipif(not DLMC.is_dir(),
                    reason=f"DLMC matrices not found at {DLMC}")
def test_read_weights_dlmc():
    path = DLMC / "rn50/random_pruning/0.98/initial_conv.smtx"
    runtime_matrix = CsrMatrix.read(path)
    weights = kernels.read_weights(path, seed=3)
    assert weights.indptr == runtime_matrix.indptr.tolist()
    assert weights.indices == runtime_matrix.indices.tolist()
    assert bits(weights.values) == bits(kernels.random_values(weights.nnz, 3))


@pytest.mark.parametrize("text,message", [
    ("3, 4, 2\n0 1 2\n0 1\n", r"x.smtx:2: expected 4 row offsets, found 3"),
    ("3, 4, 2\n0 1 1 2\n0 4\n", r"x.smtx:3: expected ascending distinct "
                                r"column indices below ncols = 4"),
    ("3, 4, 2\n0 1 1 2\n0 x\n", r"x.smtx:3: expected 2 column indices, "
                                r"found the token 'x'"),
    ("3 4 2\n", r"x.smtx:1: expected 'nrows, ncols, nnz'"),
])
def test_read_weights_errors(tmp_path, text, message):
    path = tmp_path / "x.smtx"
    path.write_text(text)
    with pytest.raises(ValueError, match=message):
        kernels.read_weights(path)
    with pytest.raises(sparse_opt.SparseOptError):
        CsrMatrix.read(path)  # the runtime rejects them too


def test_read_weights_mtx_errors(tmp_path):
    path = tmp_path / "x.mtx"
    header = "%%MatrixMarket matrix coordinate real general\n2 2 1\n"
    for body, message in [("3 1 1.0\n", r"x.mtx:3: expected a row index"),
                          ("1 1 abc\n", r"x.mtx:3: expected a real value"),
                          ("1 1 1e39\n", r"x.mtx:3: expected a finite"),
                          ("", r"expected 1 entries, found 0"),
                          ("1 1 1\n1 2 1\n", r"x.mtx:4: expected end of file")]:
        path.write_text(header + body)
        with pytest.raises(ValueError, match=message):
            kernels.read_weights(path)
    path = tmp_path / "x.txt"
    path.write_text("")
    with pytest.raises(ValueError, match="unknown matrix file extension"):
        kernels.read_weights(path)


def test_format_f32_round_trips():
    rng = np.random.default_rng(0)
    patterns = rng.integers(0, 0x7F800000, 20000, dtype=np.uint32)
    values = np.concatenate([
        patterns.view(np.float32), -patterns.view(np.float32),
        np.array([0.0, -0.0, 1.0, -1.0, 2.5, 1e-45, F32_TINY, F32_MAX,
                  -F32_MAX, 0.1, 1 / 3, 16777217.0], dtype=np.float32)])
    for value in values:
        text = kernels.format_f32(float(value))
        mantissa = text.partition("e")[0]
        assert "." in mantissa, text
        assert bits([float(text)]) == bits([value]), (value, text)
    with pytest.raises(ValueError, match="non-finite"):
        kernels.format_f32(float("inf"))


def test_kernel_source_checks_weights():
    a = CsrMatrix.random(5, 4, 0.5, seed=1)
    with pytest.raises(ValueError, match="weights of shape 5x4 for a 4x5"):
        kernels.kernel_source("spmm", 4, 5, weights=a)
    unsorted = kernels.Weights(2, 3, [0, 2, 2], [2, 1], [1.0, 2.0])
    with pytest.raises(ValueError, match="ascending distinct column"):
        kernels.kernel_source("spmm", 2, 3, weights=unsorted)
    short = kernels.Weights(2, 3, [0, 2], [0, 1], [1.0, 2.0])
    with pytest.raises(ValueError, match="expected 3 non-decreasing"):
        kernels.kernel_source("spmm", 2, 3, weights=short)
    empty = kernels.Weights(2, 3, [0, 0, 0], [], [])
    assert "arith.constant sparse<> : tensor<2x3xf32>" in \
        kernels.kernel_source("spmv", 2, 3, weights=empty)


def test_embedded_values_are_exact(tmp_path):
    """B = I gives C = A bit for bit, so every embedded value (subnormal,
    largest, negative, one needing 9 digits) parsed back exactly."""
    rows, cols = 7, 9
    dense = np.zeros((rows, cols), dtype=np.float32)
    special = [1e-45, -F32_TINY, F32_MAX, -F32_MAX, 0.1, 1 / 3, -2.5,
               16777216.0, 1.00000012]
    for j, value in enumerate(special):
        dense[j % rows, j] = value
    rng = np.random.default_rng(3)
    mask = rng.random((rows, cols)) < 0.5
    dense[mask] = rng.standard_normal(mask.sum()).astype(np.float32)
    a = CsrMatrix.from_dense(dense)
    source = kernels.kernel_source("spmm", rows, cols, weights=a)
    with sparse_opt.compile(source, tmp_path / "k.so") as library:
        assert library.signature("spmm") == \
            f"(tensor<{cols}x?xf32>) -> tensor<{rows}x?xf32>"
        c = call_dense(library, "spmm", np.eye(cols, dtype=np.float32), rows)
    assert bits(c) == bits(dense)


@pytest.mark.parametrize("kind,n", [("spmm", 1), ("spmm", 33), ("spmv", 0)])
def test_embedded_kernel_matches_numpy(tmp_path, kind, n):
    a = CsrMatrix.random(300, 77, 0.1, seed=4)
    source = kernels.kernel_source(kind, 300, 77, weights=a)
    rng = np.random.default_rng(n)
    dense = rng.uniform(-1, 1, (77, n) if n else 77).astype(np.float32)
    with sparse_opt.compile(source, tmp_path / "k.so") as library:
        for threads in (1, 2):
            library.num_threads = threads
            result = call_dense(library, kind, dense, 300)
            reference = a.to_dense().astype(np.float64) @ dense
            bound = 1e-5 * (np.abs(a.to_dense()).astype(np.float64)
                            @ np.abs(dense))
            assert np.all(np.abs(result - reference) <= bound)


def test_make_kernel_embed_weights(tmp_path):
    path = tmp_path / "a.mtx"
    path.write_text(MTX_FILES["general.mtx"])
    script = REPOSITORY / "scripts" / "make-kernel.py"

    def make(*args):
        return subprocess.run(
            [sys.executable, str(script), *args], capture_output=True,
            text=True)

    written = make("spmv", "--embed-weights", str(path), "--seed", "3")
    assert written.returncode == 0, written.stderr
    assert written.stdout == kernels.kernel_source(
        "spmv", 4, 5, weights=kernels.read_weights(path, seed=3))
    assert "func.func @spmv(%x: tensor<5xf32>) -> tensor<4xf32>" in \
        written.stdout
    assert "// Weight: a.mtx, values from splitmix64 seed 3" in written.stdout
    assert make("spmm", "--rows", "4", "--cols", "5", "--seed",
                "3").returncode == 2
    failed = make("spmm", "--embed-weights", str(tmp_path / "missing.smtx"))
    assert failed.returncode == 1 and "error:" in failed.stderr
