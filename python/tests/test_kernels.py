"""Compiled SpMM / SpMV kernels against a numpy reference.

Tolerance: every element must satisfy |c - ref| <= 1e-5 * sum_k |a_ik b_kj|
with ref computed in float64. The rounding error of a float32 sum scales
with the sum of the absolute values of its terms, not with the result (which
may cancel to ~0), so this is the bound to use; it is the check sparse-run
makes. Empty rows must come out exactly 0.
"""

import numpy as np
import pytest

from layout import DLMC
from sparse_opt import CsrMatrix

RTOL = 1e-5


def assert_close(result, a, dense):
    reference = a.to_dense().astype(np.float64) @ dense.astype(np.float64)
    bound = RTOL * (np.abs(a.to_dense()).astype(np.float64)
                    @ np.abs(dense).astype(np.float64))
    assert result.dtype == np.float32
    assert result.shape == reference.shape
    error = np.abs(result - reference)
    worst = np.unravel_index(np.argmax(error - bound), error.shape)
    assert np.all(error <= bound), (
        f"element {worst}: got {result[worst]}, expected {reference[worst]}")


def with_empty_rows(matrix, every):
    """``matrix`` with every ``every``-th row (and the first and last)
    emptied."""
    dense = matrix.to_dense()
    dense[::every] = 0
    dense[-1] = 0
    return CsrMatrix.from_dense(dense)


# (rows, cols, n, index bits): K = 77 and 33 are not multiples of the 16
# vector lanes of AVX-512, N = 1 is the narrowest batch.
SPMM_CASES = [
    (37, 77, 5, 32),
    (64, 33, 1, 64),
    (16, 48, 16, 32),
    (300, 77, 3, 64),
]


@pytest.mark.parametrize("rows,cols,n,index_bits", SPMM_CASES)
def test_spmm_matches_numpy(kernel, rows, cols, n, index_bits):
    library = kernel("spmm", rows, cols, index_bits)
    rng = np.random.default_rng(rows * cols + n)
    a = CsrMatrix.random(rows, cols, 0.3, seed=rows)
    b = rng.uniform(-1, 1, (cols, n)).astype(np.float32)
    assert_close(library.spmm("spmm", a, b), a, b)


@pytest.mark.parametrize("rows,cols,index_bits",
                         [(300, 77, 32), (19, 100, 64), (8, 1, 32)])
def test_spmv_matches_numpy(kernel, rows, cols, index_bits):
    library = kernel("spmv", rows, cols, index_bits)
    a = CsrMatrix.random(rows, cols, 0.2, seed=cols)
    x = np.random.default_rng(rows).uniform(-1, 1, cols).astype(np.float32)
    assert_close(library.spmv("spmv", a, x), a, x)


@pytest.mark.parametrize("index_bits", [32, 64])
def test_empty_rows_give_zeros(kernel, index_bits):
    a = with_empty_rows(CsrMatrix.random(37, 77, 0.1, seed=5), every=3)
    b = np.random.default_rng(1).uniform(-1, 1, (77, 4)).astype(np.float32)
    c = kernel("spmm", 37, 77, index_bits).spmm("spmm", a, b)
    assert_close(c, a, b)
    assert not c[::3].any() and not c[-1].any()
    x = b[:, 0]
    y = kernel("spmv", 37, 77, index_bits).spmv("spmv", a, x)
    assert_close(y, a, x)
    assert not y[::3].any()


def test_matrix_without_entries(kernel):
    a = CsrMatrix.from_dense(np.zeros((37, 77)))
    b = np.ones((77, 2), dtype=np.float32)
    assert not kernel("spmm", 37, 77).spmm("spmm", a, b).any()


def test_inputs_are_converted_and_left_unchanged(kernel):
    """float64 and non-contiguous operands are converted to contiguous
    float32 copies; the caller's arrays are not touched."""
    a = CsrMatrix.random(37, 77, 0.3, seed=2)
    b64 = np.random.default_rng(2).uniform(-1, 1, (5, 77)).T  # Fortran order
    before = b64.copy()
    c = kernel("spmm", 37, 77).spmm("spmm", a, b64)
    assert_close(c, a, b64.astype(np.float32))
    np.testing.assert_array_equal(b64, before)


def test_thread_count_does_not_change_results(kernel):
    library = kernel("spmm", 300, 77)
    a = CsrMatrix.random(300, 77, 0.3, seed=9)
    b = np.random.default_rng(9).uniform(-1, 1, (77, 8)).astype(np.float32)
    results = {}
    for threads in (1, 2):
        library.num_threads = threads
        assert library.num_threads == threads
        results[threads] = library.spmm("spmm", a, b)
    library.num_threads = 0  # back to the OpenMP default for other tests
    assert library.num_threads >= 1
    # Threads split the rows; each row is summed the same way on any thread.
    np.testing.assert_array_equal(results[1], results[2])
    assert_close(results[1], a, b)


DLMC_MATRICES = [
    ("spmm", "transformer/magnitude_pruning/0.9/"
             "body_encoder_layer_0_ffn_conv1_fully_connected.smtx", 32),
    ("spmv", "rn50/random_pruning/0.98/initial_conv.smtx", 64),
]


@pytest.mark.skipif(not DLMC.is_dir(),
                    reason=f"DLMC matrices not found at {DLMC}")
@pytest.mark.parametrize("kind,name,index_bits", DLMC_MATRICES)
def test_dlmc_matrix(kernel, kind, name, index_bits):
    pattern = CsrMatrix.read(DLMC / name)
    rng = np.random.default_rng(0)
    # .smtx files hold a pattern only: draw the values.
    a = CsrMatrix(pattern.rows, pattern.cols, pattern.indptr, pattern.indices,
                  rng.uniform(-1, 1, pattern.nnz))
    library = kernel(kind, a.rows, a.cols, index_bits)
    if kind == "spmm":
        b = rng.uniform(-1, 1, (a.cols, 32)).astype(np.float32)
        assert_close(library.spmm("spmm", a, b), a, b)
    else:
        x = rng.uniform(-1, 1, a.cols).astype(np.float32)
        assert_close(library.spmv("spmv", a, x), a, x)
