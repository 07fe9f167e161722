"""Every failure comes back as a Python exception that says where."""

import numpy as np
import pytest

import sparse_opt
from sparse_opt import (CompileError, CsrMatrix, Library, SparseOptError,
                        kernel_source)

BAD_MLIR = "func.func @f() {\n  %0 = foo\n}\n"


def test_bad_mlir_text_reports_line_and_column(tmp_path):
    with pytest.raises(CompileError, match=r"<stdin>:2:8: error: custom op "
                                           r"'foo' is unknown") as caught:
        sparse_opt.compile(BAD_MLIR, tmp_path / "bad.so")
    assert caught.value.returncode != 0
    assert "<stdin>:2:8" in caught.value.stderr
    assert not (tmp_path / "bad.so").exists()


def test_bad_mlir_file_reports_its_path(tmp_path):
    source = tmp_path / "bad.mlir"
    source.write_text(BAD_MLIR)
    with pytest.raises(CompileError, match=rf"{source}:2:8: error"):
        sparse_opt.compile(source, tmp_path / "bad.so")


def test_bad_option_is_a_compile_error(tmp_path):
    with pytest.raises(CompileError, match="unknown CPU 'no-such-cpu'"):
        sparse_opt.compile(kernel_source("spmv", 4, 4), tmp_path / "k.so",
                           target_cpu="no-such-cpu")


def test_source_is_never_overwritten(tmp_path):
    source = tmp_path / "k.mlir"
    text = kernel_source("spmv", 4, 4)
    source.write_text(text)
    with pytest.raises(ValueError, match="is the source file"):
        sparse_opt.compile(source, source)
    with pytest.raises(ValueError, match="is the source file"):
        sparse_opt.compile(source, tmp_path / "k.so", header=source)
    assert source.read_text() == text
    assert not (tmp_path / "k.so").exists()


def test_missing_source_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.mlir"):
        sparse_opt.compile(tmp_path / "missing.mlir", tmp_path / "k.so")


@pytest.mark.parametrize("suffix,text,location", [
    (".smtx", "2, 3, 2\n0 1 2\n0 5\n", ":3: expected a column index below"),
    (".smtx", "2, 3, 2\n0 1\n", ":2: expected 3 row offsets"),
    (".mtx", "%%MatrixMarket matrix coordinate real general\n2 2 2\n1 1 x\n",
     ":3: expected"),
])
def test_malformed_matrix_file_reports_path_and_line(tmp_path, suffix, text,
                                                     location):
    path = tmp_path / f"m{suffix}"
    path.write_text(text)
    with pytest.raises(SparseOptError, match=rf"^{path}{location}"):
        CsrMatrix.read(path)


def test_missing_matrix_file(tmp_path):
    with pytest.raises(SparseOptError, match="missing.smtx"):
        CsrMatrix.read(tmp_path / "missing.smtx")


def test_missing_library_file(tmp_path):
    with pytest.raises(SparseOptError,
                       match=rf"{tmp_path}/missing.so: cannot load library"):
        Library(tmp_path / "missing.so")


def test_not_a_library(tmp_path):
    path = tmp_path / "text.so"
    path.write_text("not ELF")
    with pytest.raises(SparseOptError, match="cannot load library"):
        Library(path)


def test_missing_entry(kernel):
    with pytest.raises(SparseOptError,
                       match="no entry point '_mlir_ciface_x'"):
        kernel("spmm", 8, 6).spmm("x", CsrMatrix.random(8, 6, 0.5),
                                  np.ones((6, 2)))


@pytest.mark.parametrize("rows,cols,dense_shape,message", [
    (9, 6, (6, 2), "compiled for a 8 x 6 matrix, not 9 x 6"),
    (8, 5, (5, 2), "compiled for a 8 x 6 matrix, not 8 x 5"),
    (8, 6, (5, 2), r"b has shape \(5, 2\): its first dimension must be 6"),
    (8, 6, (6,), "b must be 2-D"),
    (8, 6, (6, 0), "N >= 1"),
])
def test_spmm_shape_mismatch(kernel, rows, cols, dense_shape, message):
    with pytest.raises(ValueError, match=message):
        kernel("spmm", 8, 6).spmm("spmm", CsrMatrix.random(rows, cols, 0.5),
                                  np.ones(dense_shape))


@pytest.mark.parametrize("rows,cols,dense_shape,message", [
    (8, 7, (7,), "compiled for a 8 x 6 matrix, not 8 x 7"),
    (8, 6, (7,), r"x has shape \(7,\): its first dimension must be 6"),
    (8, 6, (6, 1), "x must be 1-D"),
])
def test_spmv_shape_mismatch(kernel, rows, cols, dense_shape, message):
    with pytest.raises(ValueError, match=message):
        kernel("spmv", 8, 6).spmv("spmv", CsrMatrix.random(rows, cols, 0.5),
                                  np.ones(dense_shape))


def test_wrong_kind_names_the_right_method(kernel):
    a = CsrMatrix.random(8, 6, 0.5)
    with pytest.raises(ValueError,
                       match="not an SpMV kernel.*use Library.spmm"):
        kernel("spmm", 8, 6).spmv("spmm", a, np.ones(6))
    with pytest.raises(ValueError,
                       match="not an SpMM kernel.*use Library.spmv"):
        kernel("spmv", 8, 6).spmm("spmv", a, np.ones((6, 2)))


def test_dense_matrix_is_not_a_csr_matrix(kernel):
    with pytest.raises(TypeError, match="CsrMatrix"):
        kernel("spmv", 8, 6).spmv("spmv", np.ones((8, 6)), np.ones(6))


def test_closed_library(tmp_path):
    library = sparse_opt.compile(kernel_source("spmv", 4, 4),
                                 tmp_path / "k.so")
    with library:
        assert not library.closed
    assert library.closed
    library.close()  # idempotent
    with pytest.raises(ValueError, match="library is closed"):
        library.signature("spmv")


# A static batch N = 4, no posWidth / crdWidth (64-bit `index` positions and
# coordinates), and a CSC operand, which the call helpers cannot pass.
HAND_WRITTEN = """
#CSR = #sparse_tensor.encoding<{
  map = (d0, d1) -> (d0 : dense, d1 : compressed) }>
#CSC = #sparse_tensor.encoding<{
  map = (d0, d1) -> (d1 : dense, d0 : compressed) }>
module {
  func.func @static_n(%a: tensor<8x6xf32, #CSR>, %b: tensor<6x4xf32>)
      -> tensor<8x4xf32> attributes { llvm.emit_c_interface } {
    %zero = arith.constant 0.0 : f32
    %empty = tensor.empty() : tensor<8x4xf32>
    %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<8x4xf32>)
        -> tensor<8x4xf32>
    %c = linalg.matmul ins(%a, %b : tensor<8x6xf32, #CSR>, tensor<6x4xf32>)
        outs(%init : tensor<8x4xf32>) -> tensor<8x4xf32>
    return %c : tensor<8x4xf32>
  }
  func.func @csc(%a: tensor<8x6xf32, #CSC>, %x: tensor<6xf32>)
      -> tensor<8xf32> attributes { llvm.emit_c_interface } {
    %zero = arith.constant 0.0 : f32
    %empty = tensor.empty() : tensor<8xf32>
    %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<8xf32>)
        -> tensor<8xf32>
    %y = linalg.matvec ins(%a, %x : tensor<8x6xf32, #CSC>, tensor<6xf32>)
        outs(%init : tensor<8xf32>) -> tensor<8xf32>
    return %y : tensor<8xf32>
  }
}
"""


def test_signature_details_are_enforced(tmp_path):
    a = CsrMatrix.random(8, 6, 0.5, seed=4)
    with sparse_opt.compile(HAND_WRITTEN, tmp_path / "k.so") as library:
        b = np.ones((6, 4), dtype=np.float32)
        np.testing.assert_allclose(library.spmm("static_n", a, b),
                                   a.to_dense() @ b, rtol=1e-5, atol=1e-6)
        with pytest.raises(ValueError, match="compiled for N = 4, but b has "
                                             "3 columns"):
            library.spmm("static_n", a, np.ones((6, 3)))
        with pytest.raises(ValueError, match="not an SpMV kernel.*"
                           r"\(d1 : dense, d0 : compressed\)"):
            library.spmv("csc", a, np.ones(6))
