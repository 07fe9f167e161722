"""compile() options, locating the tools, and the kernel generator."""

import platform
import subprocess
import sys

import numpy as np
import pytest

import sparse_opt
from layout import REPOSITORY
from sparse_opt import CsrMatrix, SparseOptError, kernel_source, matrix_shape
from sparse_opt import _tools


def test_header_placement(tmp_path):
    source = kernel_source("spmv", 4, 4)
    sparse_opt.compile(source, tmp_path / "a.so").close()
    assert "_mlir_ciface_spmv" in (tmp_path / "a.h").read_text()
    sparse_opt.compile(source, tmp_path / "b.so", header=False).close()
    assert not (tmp_path / "b.h").exists()
    sparse_opt.compile(source, tmp_path / "c.so",
                       header=tmp_path / "api.h").close()
    assert (tmp_path / "api.h").exists() and not (tmp_path / "c.h").exists()


def test_signature(tmp_path):
    with sparse_opt.compile(kernel_source("spmm", 8, 6, index_bits=64),
                            tmp_path / "k.so") as library:
        signature = library.signature("spmm")
        assert signature.startswith("(tensor<8x6xf32, #sparse_tensor.encoding")
        assert signature.endswith("-> tensor<8x?xf32>")
        assert library.signature("absent") is None


def check_spmv(library):
    a = CsrMatrix.random(30, 20, 0.3, seed=1)
    x = np.linspace(-1, 1, 20, dtype=np.float32)
    np.testing.assert_allclose(library.spmv("spmv", a, x), a.to_dense() @ x,
                               rtol=1e-5, atol=1e-6)


def test_thread_and_pipeline_options(tmp_path):
    """A default thread count and pipeline options given as a mapping (an
    unknown or misspelled option would fail the compile)."""
    with sparse_opt.compile(
            kernel_source("spmv", 30, 20), tmp_path / "k.so", num_threads=1,
            pipeline_options={"vector-length": 4,
                              "reassociate-fp-reductions": False}) as library:
        assert library.num_threads == 1
        check_spmv(library)


@pytest.mark.skipif(platform.machine() != "x86_64",
                    reason="uses x86 CPU and feature names")
def test_target_options(tmp_path):
    with sparse_opt.compile(kernel_source("spmv", 30, 20), tmp_path / "k.so",
                            target_cpu="x86-64-v2",
                            target_features=["-avx2", "-fma"]) as library:
        check_spmv(library)


def test_library_without_openmp_has_no_thread_control(tmp_path):
    with sparse_opt.compile(kernel_source("spmv", 4, 4), tmp_path / "k.so",
                            pipeline_options="openmp=false") as library:
        assert library.num_threads is None
        with pytest.raises(SparseOptError):
            library.num_threads = 2


def test_build_dir_from_environment_is_the_only_place_searched(
        tmp_path, monkeypatch):
    monkeypatch.setenv(_tools.BUILD_DIR_ENV, str(tmp_path))
    with pytest.raises(FileNotFoundError,
                       match=rf"sparse-compile not found; searched: "
                             rf"{tmp_path}/bin/sparse-compile\. "):
        sparse_opt.compile(kernel_source("spmv", 4, 4), tmp_path / "k.so")
    with pytest.raises(FileNotFoundError,
                       match=rf"searched: {tmp_path}/lib/libSparseOptRuntime"):
        _tools.find_runtime_library()


def test_matrix_shape(tmp_path):
    smtx = tmp_path / "a.smtx"
    smtx.write_text("3, 4, 1\n0 1 1 1\n2\n")
    assert matrix_shape(smtx) == (3, 4)
    mtx = tmp_path / "a.mtx"
    mtx.write_text("%%MatrixMarket matrix coordinate real general\n%\n5 6 0\n")
    assert matrix_shape(mtx) == (5, 6)
    mtx.write_text("%%MatrixMarket matrix coordinate real general\nfive 6 0\n")
    with pytest.raises(ValueError, match=rf"{mtx}:2: expected 'rows, cols"):
        matrix_shape(mtx)


def test_make_kernel_script_uses_the_package_templates():
    script = REPOSITORY / "scripts" / "make-kernel.py"
    written = subprocess.run(
        [sys.executable, str(script), "spmv", "--rows", "12", "--cols", "5",
         "--index-bits", "64", "--name", "mv"],
        check=True, capture_output=True, text=True).stdout
    assert written == kernel_source("spmv", 12, 5, index_bits=64, name="mv")
