"""CsrMatrix: conversions, the runtime's readers and generator, validation."""

import numpy as np
import pytest

from sparse_opt import CsrMatrix

DENSE = np.array([[0, 2, 0, 1],
                  [0, 0, 0, 0],
                  [3, 0, 0, 0.5]], dtype=np.float32)


def test_from_dense_and_back():
    a = CsrMatrix.from_dense(DENSE)
    assert a.shape == (3, 4) and a.nnz == 4
    np.testing.assert_array_equal(a.indptr, [0, 2, 2, 4])
    np.testing.assert_array_equal(a.indices, [1, 3, 0, 3])
    np.testing.assert_array_equal(a.values, [2, 1, 3, 0.5])
    assert (a.indptr.dtype, a.indices.dtype, a.values.dtype) == (
        np.int64, np.int64, np.float32)
    np.testing.assert_array_equal(a.to_dense(), DENSE)


def test_arrays_are_copied_and_read_only():
    indptr = np.array([0, 1])
    a = CsrMatrix(1, 2, indptr, [1], [5.0])
    indptr[1] = 7
    assert a.indptr[1] == 1
    with pytest.raises(ValueError):
        a.values[0] = 1


def test_random_is_exact_and_reproducible():
    a = CsrMatrix.random(50, 40, 0.25, seed=7)
    assert a.nnz == 500  # round(0.25 * 50 * 40)
    assert np.all((a.values >= -1) & (a.values < 1))
    b = CsrMatrix.random(50, 40, 0.25, seed=7)
    np.testing.assert_array_equal(a.to_dense(), b.to_dense())
    assert CsrMatrix.random(50, 40, 0.25, seed=8).to_dense().tolist() != \
        a.to_dense().tolist()


def test_read_smtx_and_mtx(tmp_path):
    smtx = tmp_path / "a.smtx"
    smtx.write_text("3, 4, 4\n0 2 2 4\n1 3 0 3\n")
    a = CsrMatrix.read(smtx)
    pattern = (DENSE != 0).astype(np.float32)
    np.testing.assert_array_equal(a.to_dense(), pattern)
    mtx = tmp_path / "a.mtx"
    mtx.write_text("%%MatrixMarket matrix coordinate real general\n"
                   "% a comment\n3 4 4\n3 4 0.5\n1 2 2\n3 1 3\n1 4 1\n")
    np.testing.assert_array_equal(CsrMatrix.read(mtx).to_dense(), DENSE)


@pytest.mark.parametrize("indptr,indices,message", [
    ([0, 1], [0], "indptr has 2 entries"),
    ([0, 2, 1, 2], [0, 1], "never decrease"),
    ([0, 1, 1, 3], [0, 1], "indptr ends at 3"),
    ([0, 1, 1, 2], [0, 4], r"\[0, 4\)"),
    ([0, 2, 2, 2], [3, 1], "sorted and distinct"),
    ([0, 2, 2, 2], [1, 1], "sorted and distinct"),
])
def test_invalid_structure_is_rejected(indptr, indices, message):
    with pytest.raises(ValueError, match=message):
        CsrMatrix(3, 4, indptr, indices, np.ones(len(indices)))


def test_columns_may_restart_at_each_row():
    a = CsrMatrix(2, 4, [0, 2, 4], [2, 3, 0, 1], np.ones(4))
    assert a.nnz == 4
