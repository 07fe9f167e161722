"""Library.run: entries whose operands and results are dense tensors.

Hand-written MLIR functions cover the calling ABI's cases: one result, several
results (a struct of descriptors), rank 0 to 4, dynamic dimensions, f32 /
f64 / i64 / i32 / i1 elements, results that are an argument or a constant
(not to be freed), and the argument checks.
"""

import os

import numpy as np
import pytest

import sparse_opt

SOURCE = """
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @add4(%a: tensor<2x3x4x5xf32>, %b: tensor<2x3x4x5xf32>)
    -> tensor<2x3x4x5xf32> attributes {llvm.emit_c_interface} {
  %e = tensor.empty() : tensor<2x3x4x5xf32>
  %r = linalg.add ins(%a, %b : tensor<2x3x4x5xf32>, tensor<2x3x4x5xf32>)
                  outs(%e : tensor<2x3x4x5xf32>) -> tensor<2x3x4x5xf32>
  return %r : tensor<2x3x4x5xf32>
}
func.func @matmul(%a: tensor<?x6xf32>, %b: tensor<6x?xf32>) -> tensor<?x?xf32>
    attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = tensor.dim %a, %c0 : tensor<?x6xf32>
  %n = tensor.dim %b, %c1 : tensor<6x?xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m, %n) : tensor<?x?xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<?x?xf32>) -> tensor<?x?xf32>
  %r = linalg.matmul ins(%a, %b : tensor<?x6xf32>, tensor<6x?xf32>)
                     outs(%z : tensor<?x?xf32>) -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}
func.func @sum_and_max(%a: tensor<4x3xf64>) -> (tensor<f64>, tensor<3xf64>)
    attributes {llvm.emit_c_interface} {
  %zero = arith.constant 0.0 : f64
  %low = arith.constant -1.0e300 : f64
  %e0 = tensor.empty() : tensor<f64>
  %s0 = linalg.fill ins(%zero : f64) outs(%e0 : tensor<f64>) -> tensor<f64>
  %sum = linalg.reduce ins(%a : tensor<4x3xf64>) outs(%s0 : tensor<f64>)
      dimensions = [0, 1]
      (%x: f64, %acc: f64) { %y = arith.addf %x, %acc : f64
                             linalg.yield %y : f64 }
  %e1 = tensor.empty() : tensor<3xf64>
  %m0 = linalg.fill ins(%low : f64) outs(%e1 : tensor<3xf64>) -> tensor<3xf64>
  %max = linalg.reduce ins(%a : tensor<4x3xf64>) outs(%m0 : tensor<3xf64>)
      dimensions = [0]
      (%x: f64, %acc: f64) { %y = arith.maximumf %x, %acc : f64
                             linalg.yield %y : f64 }
  return %sum, %max : tensor<f64>, tensor<3xf64>
}
func.func @select(%c: tensor<5xi1>, %a: tensor<5xi32>, %b: tensor<5xi32>)
    -> (tensor<5xi32>, tensor<5xi1>, tensor<5xi32>)
    attributes {llvm.emit_c_interface} {
  %e = tensor.empty() : tensor<5xi32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>,
                                        affine_map<(d0) -> (d0)>,
                                        affine_map<(d0) -> (d0)>,
                                        affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"]}
      ins(%c, %a, %b : tensor<5xi1>, tensor<5xi32>, tensor<5xi32>)
      outs(%e : tensor<5xi32>) {
  ^bb0(%x: i1, %y: i32, %z: i32, %o: i32):
    %s = arith.select %x, %y, %z : i32
    linalg.yield %s : i32
  } -> tensor<5xi32>
  %e1 = tensor.empty() : tensor<5xi1>
  %n = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>,
                                        affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"]}
      ins(%c : tensor<5xi1>) outs(%e1 : tensor<5xi1>) {
  ^bb0(%x: i1, %o: i1):
    %t = arith.constant true
    %y = arith.xori %x, %t : i1
    linalg.yield %y : i1
  } -> tensor<5xi1>
  return %r, %n, %r : tensor<5xi32>, tensor<5xi1>, tensor<5xi32>
}
func.func @identity(%a: tensor<3xi64>) -> tensor<3xi64>
    attributes {llvm.emit_c_interface} {
  return %a : tensor<3xi64>
}
func.func @constants() -> (tensor<2x2xi64>, tensor<f32>)
    attributes {llvm.emit_c_interface} {
  %a = arith.constant dense<[[1, 2], [3, 4]]> : tensor<2x2xi64>
  %b = arith.constant dense<2.5> : tensor<f32>
  return %a, %b : tensor<2x2xi64>, tensor<f32>
}
func.func @transpose(%a: tensor<3x4xf32>) -> tensor<4x3xf32>
    attributes {llvm.emit_c_interface} {
  %e = tensor.empty() : tensor<4x3xf32>
  %t = linalg.transpose ins(%a : tensor<3x4xf32>) outs(%e : tensor<4x3xf32>)
       permutation = [1, 0]
  return %t : tensor<4x3xf32>
}
func.func @scale_in_place(%a: tensor<4xf32>) -> tensor<4xf32>
    attributes {llvm.emit_c_interface} {
  %two = arith.constant 2.0 : f32
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"]} outs(%a : tensor<4xf32>) {
  ^bb0(%x: f32):
    %y = arith.mulf %x, %two : f32
    linalg.yield %y : f32
  } -> tensor<4xf32>
  return %r : tensor<4xf32>
}
"""


def resident_bytes():
    """The process's current resident set (not the peak, which earlier
    tests may have raised)."""
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


@pytest.fixture(scope="module")
def library(tmp_path_factory):
    directory = tmp_path_factory.mktemp("dense")
    with sparse_opt.compile(SOURCE, directory / "dense.so") as lib:
        yield lib


def test_rank4_elementwise(library):
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 2, 3, 4, 5), dtype=np.float32)
    np.testing.assert_array_equal(library.run("add4", a, b), a + b)


@pytest.mark.parametrize("m,n", [(1, 1), (3, 7), (17, 2)])
def test_matmul_dynamic_dimensions(library, m, n):
    rng = np.random.default_rng(m * n)
    a = rng.standard_normal((m, 6), dtype=np.float32)
    b = rng.standard_normal((6, n), dtype=np.float32)
    c = library.run("matmul", a, b)
    assert c.shape == (m, n) and c.dtype == np.float32
    np.testing.assert_allclose(c, a.astype(np.float64) @ b, rtol=1e-5,
                               atol=1e-5)


def test_non_contiguous_arguments_are_passed_by_value(library):
    a = np.arange(24, dtype=np.float32).reshape(6, 4).T  # 4 x 6, F order
    b = np.eye(6, dtype=np.float32)[:, ::2]               # strided
    np.testing.assert_array_equal(library.run("matmul", a, b), a @ b)


def test_rank0_and_several_results(library):
    a = np.arange(12, dtype=np.float64).reshape(4, 3) - 5
    total, maxima = library.run("sum_and_max", a)
    assert total.shape == () and total.dtype == np.float64
    assert total == a.sum()
    np.testing.assert_array_equal(maxima, a.max(axis=0))


def test_bool_and_int32(library):
    c = np.array([True, False, True, True, False])
    a = np.arange(5, dtype=np.int32)
    b = -np.arange(5, dtype=np.int32)
    chosen, negated, again = library.run("select", c, a, b)
    np.testing.assert_array_equal(chosen, np.where(c, a, b))
    np.testing.assert_array_equal(negated, ~c)
    assert negated.dtype == np.bool_
    # The same buffer returned twice: two independent copies, freed once.
    np.testing.assert_array_equal(again, chosen)
    assert again is not chosen


def test_returned_argument_and_constants(library):
    x = np.array([7, -8, 2**40], dtype=np.int64)
    y = library.run("identity", x)
    np.testing.assert_array_equal(y, x)
    y[0] = 0
    assert x[0] == 7  # a copy, not the caller's array
    matrix, scalar = library.run("constants")
    np.testing.assert_array_equal(matrix, [[1, 2], [3, 4]])
    assert scalar.dtype == np.float32 and scalar == 2.5
    # Constants are not freed: calling again still reads them.
    np.testing.assert_array_equal(library.run("constants")[0], matrix)


def test_strided_result_view(library):
    a = np.arange(12, dtype=np.float32).reshape(3, 4)
    np.testing.assert_array_equal(library.run("transpose", a), a.T)


def test_the_callers_array_is_not_written(library):
    a = np.arange(4, dtype=np.float32)
    np.testing.assert_array_equal(library.run("scale_in_place", a), 2 * a)
    np.testing.assert_array_equal(a, np.arange(4, dtype=np.float32))


def test_lists_are_converted(library):
    np.testing.assert_array_equal(library.run("identity", [1, 2, 3]),
                                  [1, 2, 3])


def test_results_are_freed(library):
    """1000 calls with 64 KiB results each must not grow the process by
    anything near the 64 MiB they allocate."""
    a = np.ones((128, 6), dtype=np.float32)
    b = np.ones((6, 128), dtype=np.float32)
    for _ in range(20):  # warm up the allocator
        library.run("matmul", a, b)
    before = resident_bytes()
    for _ in range(1000):
        library.run("matmul", a, b)
    assert resident_bytes() - before < 16 * 2**20


def test_bound_calls_free_their_results(library):
    """Library.bind: checked like run, then calls without copies; 1000 of
    them must not keep the 64 MiB of results they allocate."""
    a = np.ones((128, 6), dtype=np.float32)
    b = np.ones((6, 128), dtype=np.float32)
    call = library.bind("matmul", a, b)
    # Its operands are private copies: changing a does not change them.
    assert [o.shape for o in call.operands] == [(128, 6), (6, 128)]
    a[0, 0] = 2
    assert call.operands[0][0, 0] == 1
    for _ in range(20):
        call()
    before = resident_bytes()
    for _ in range(1000):
        assert call() is None
    assert resident_bytes() - before < 16 * 2**20
    # Constants and returned arguments are not freed either.
    constants = library.bind("constants")
    for _ in range(3):
        constants()
    np.testing.assert_array_equal(library.run("constants")[0], [[1, 2], [3, 4]])
    with pytest.raises(ValueError, match=r"argument 0 must have shape \?x6"):
        library.bind("matmul", np.ones((2, 5), np.float32), b)


def test_bound_call_after_close(tmp_path):
    library = sparse_opt.compile(SOURCE, tmp_path / "bound.so", header=False)
    call = library.bind("identity", np.arange(3))
    call()
    library.close()
    with pytest.raises(ValueError, match="library is closed"):
        call()


@pytest.mark.parametrize("call,message", [
    (lambda lib: lib.run("matmul", np.ones((2, 6), np.float32)),
     "takes 2 argument(s) (tensor<?x6xf32>, tensor<6x?xf32>), got 1"),
    (lambda lib: lib.run("matmul", np.ones((2, 5), np.float32),
                         np.ones((6, 2), np.float32)),
     "argument 0 must have shape ?x6 for tensor<?x6xf32>, got 2x5"),
    (lambda lib: lib.run("matmul", np.ones((2, 6)), np.ones((6, 2))),
     "argument 0 must be float32 for tensor<?x6xf32>, got float64"),
    (lambda lib: lib.run("add4", np.ones((3, 4, 5), np.float32),
                         np.ones((2, 3, 4, 5), np.float32)),
     "argument 0 must have shape 2x3x4x5"),
    (lambda lib: lib.run("select", np.ones(5, np.int32), np.ones(5, np.int32),
                         np.ones(5, np.int32)),
     "argument 0 must be bool for tensor<5xi1>, got int32"),
])
def test_argument_errors(library, call, message):
    with pytest.raises(ValueError) as error:
        call(library)
    assert message in str(error.value)
    assert "entry '" in str(error.value)


def test_unknown_entry(library):
    with pytest.raises(sparse_opt.SparseOptError, match="no entry point"):
        library.run("nope")


def test_sparse_entries_are_refused(kernel):
    library = kernel("spmm", 8, 6)
    with pytest.raises(ValueError, match="sparse tensor; call a CSR entry"):
        library.run("spmm", np.ones(3, np.int32), np.ones(3, np.int32),
                    np.ones(3, np.float32), np.ones((6, 2), np.float32))
