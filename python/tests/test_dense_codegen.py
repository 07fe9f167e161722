"""Dense products (sparse-opt-dense-kernels) and the other dense ops
(sparse-opt-dense-loops) compiled by the CPU pipeline, checked against numpy.

The shapes cover the register tiles' edges: M, N and K below, at and just
above the tile and block sizes (6 rows, 2 or 4 vectors, 144-row and
128-column blocks, 128-deep K blocks), N = 1, K = 1, odd sizes, dynamic
sizes, A transposed, an init accumulated into, batches; the other ops cover
elementwise ops with partial vectors, broadcasts, inner and outer
reductions (whole vectors and sizes that are not), transposes, math
functions, integer and i1 ops, and a large op cut into parallel chunks. Each runs
on 1 and 2 threads.
"""

import numpy as np
import pytest

import sparse_opt

rng = np.random.default_rng(7)


def matmul_source(name, m, k, n, *, transposed_a=False, init=False):
    """C = A B (or A^T B with A stored K x M), into zeros or onto `init`."""
    a_shape = f"{k}x{m}" if transposed_a else f"{m}x{k}"
    maps = ""
    if transposed_a:
        maps = ("indexing_maps = [affine_map<(m, n, k) -> (k, m)>, "
                "affine_map<(m, n, k) -> (k, n)>, "
                "affine_map<(m, n, k) -> (m, n)>] ")
    if init:
        return f"""
func.func @{name}(%a: tensor<{a_shape}xf32>, %b: tensor<{k}x{n}xf32>,
                  %c: tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
    attributes {{llvm.emit_c_interface}} {{
  %r = linalg.matmul {maps}ins(%a, %b : tensor<{a_shape}xf32>, tensor<{k}x{n}xf32>)
                     outs(%c : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  return %r : tensor<{m}x{n}xf32>
}}
"""
    return f"""
func.func @{name}(%a: tensor<{a_shape}xf32>, %b: tensor<{k}x{n}xf32>)
    -> tensor<{m}x{n}xf32> attributes {{llvm.emit_c_interface}} {{
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<{m}x{n}xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  %r = linalg.matmul {maps}ins(%a, %b : tensor<{a_shape}xf32>, tensor<{k}x{n}xf32>)
                     outs(%z : tensor<{m}x{n}xf32>) -> tensor<{m}x{n}xf32>
  return %r : tensor<{m}x{n}xf32>
}}
"""


MATMUL_SHAPES = [
    (1, 1, 1), (1, 64, 300), (5, 3, 7), (6, 128, 16), (7, 129, 17),
    (13, 31, 65), (100, 77, 33), (145, 257, 129), (64, 300, 1),
    (290, 64, 200), (12, 1, 40),
]

DYNAMIC_MATMUL = """
func.func @dynamic(%a: tensor<?x?xf32>, %b: tensor<?x?xf32>) -> tensor<?x?xf32>
    attributes {llvm.emit_c_interface} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %m = tensor.dim %a, %c0 : tensor<?x?xf32>
  %n = tensor.dim %b, %c1 : tensor<?x?xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty(%m, %n) : tensor<?x?xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<?x?xf32>) -> tensor<?x?xf32>
  %r = linalg.matmul ins(%a, %b : tensor<?x?xf32>, tensor<?x?xf32>)
                     outs(%z : tensor<?x?xf32>) -> tensor<?x?xf32>
  return %r : tensor<?x?xf32>
}
func.func @batched(%a: tensor<3x37x20xf32>, %b: tensor<3x20x45xf32>)
    -> tensor<3x37x45xf32> attributes {llvm.emit_c_interface} {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<3x37x45xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<3x37x45xf32>) -> tensor<3x37x45xf32>
  %r = linalg.batch_matmul ins(%a, %b : tensor<3x37x20xf32>, tensor<3x20x45xf32>)
                           outs(%z : tensor<3x37x45xf32>) -> tensor<3x37x45xf32>
  return %r : tensor<3x37x45xf32>
}
func.func @weight(%a: tensor<9x4xf32>) -> tensor<9x3xf32>
    attributes {llvm.emit_c_interface} {
  %w = arith.constant dense<[[1.0, -2.0, 0.5], [0.0, 3.0, 1.0],
                             [2.0, 0.25, -1.0], [4.0, 0.0, 2.0]]> : tensor<4x3xf32>
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<9x3xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<9x3xf32>) -> tensor<9x3xf32>
  %r = linalg.matmul ins(%a, %w : tensor<9x4xf32>, tensor<4x3xf32>)
                     outs(%z : tensor<9x3xf32>) -> tensor<9x3xf32>
  return %r : tensor<9x3xf32>
}
"""

WEIGHT = np.array([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0], [2.0, 0.25, -1.0],
                   [4.0, 0.0, 2.0]], dtype=np.float32)


def product_source():
    parts = [DYNAMIC_MATMUL]
    for m, k, n in MATMUL_SHAPES:
        parts.append(matmul_source(f"mm_{m}_{k}_{n}", m, k, n))
    parts.append(matmul_source("mm_at", 50, 70, 90, transposed_a=True))
    parts.append(matmul_source("mm_init", 20, 30, 40, init=True))
    return "".join(parts)


def random(*shape):
    return rng.standard_normal(shape, dtype=np.float32)


def assert_product_close(result, expected, depth):
    # Float32 sums of `depth` products in another order than numpy's.
    tolerance = 1e-5 * max(depth, 1) ** 0.5 * max(np.abs(expected).max(), 1)
    np.testing.assert_allclose(result, expected, rtol=0, atol=tolerance)


@pytest.fixture(scope="module")
def products(tmp_path_factory):
    path = tmp_path_factory.mktemp("dense") / "products.so"
    with sparse_opt.compile(product_source(), path) as lib:
        yield lib


@pytest.mark.parametrize("threads", [1, 2])
def test_matmul_shapes(products, threads):
    products.num_threads = threads
    for m, k, n in MATMUL_SHAPES:
        a, b = random(m, k), random(k, n)
        assert_product_close(products.run(f"mm_{m}_{k}_{n}", a, b), a @ b, k)


@pytest.mark.parametrize("threads", [1, 2])
def test_matmul_forms(products, threads):
    products.num_threads = threads
    for m, k, n in [(1, 1, 1), (40, 130, 3), (150, 20, 260)]:
        a, b = random(m, k), random(k, n)
        assert_product_close(products.run("dynamic", a, b), a @ b, k)
    a, b = random(3, 37, 20), random(3, 20, 45)
    assert_product_close(products.run("batched", a, b), a @ b, 20)
    a_t, b = random(70, 50), random(70, 90)
    assert_product_close(products.run("mm_at", a_t, b), a_t.T @ b, 70)
    a, b, c = random(20, 30), random(30, 40), random(20, 40)
    assert_product_close(products.run("mm_init", a, b, c), c + a @ b, 30)
    a = random(9, 4)
    assert_product_close(products.run("weight", a), a @ WEIGHT, 4)


@pytest.mark.parametrize("openmp", ["true", "false"])
def test_matmul_blocks_free_their_panels(tmp_path, openmp):
    """Each block of a dense product packs B into a stack buffer, which a
    serial loop must free at the end of the block (sparse-opt-free-loop-
    allocas): 1600 blocks of 6 x 16 with 128-deep panels keep 13-52 MB of
    stack otherwise, past a main thread's 8 MB (a crash, as ResNet-50's
    dense build crashed on one thread on AVX-512). One thread takes the
    serial twin; `openmp=false` has serial loops only."""
    m, k, n = 600, 64, 256
    a, b = random(m, k), random(k, n)
    with sparse_opt.compile(
            matmul_source("blocks", m, k, n), tmp_path / "blocks.so",
            pipeline_options=f"dense-row-block=6 dense-column-block=16 "
                             f"openmp={openmp}") as lib:
        if lib.num_threads is not None:
            lib.num_threads = 1
        for _ in range(3):
            assert_product_close(lib.run("blocks", a, b), a @ b, k)


OTHER_OPS = """
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d0)>
#col = affine_map<(d0, d1) -> (d1)>
func.func @gelu_bias(%x: tensor<37x45xf32>, %bias: tensor<45xf32>) -> tensor<37x45xf32>
    attributes {llvm.emit_c_interface} {
  %e = tensor.empty() : tensor<37x45xf32>
  %half = arith.constant 0.5 : f32
  %one = arith.constant 1.0 : f32
  %isqrt2 = arith.constant 0.707106781 : f32
  %r = linalg.generic {indexing_maps = [#id2, #col, #id2],
                       iterator_types = ["parallel", "parallel"]}
      ins(%x, %bias : tensor<37x45xf32>, tensor<45xf32>) outs(%e : tensor<37x45xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %s = arith.addf %a, %b : f32
    %t = arith.mulf %s, %isqrt2 : f32
    %f = math.erf %t : f32
    %g = arith.addf %f, %one : f32
    %h = arith.mulf %s, %g : f32
    %y = arith.mulf %h, %half : f32
    linalg.yield %y : f32
  } -> tensor<37x45xf32>
  return %r : tensor<37x45xf32>
}
func.func @softmax(%x: tensor<19x32xf32>) -> tensor<19x32xf32>
    attributes {llvm.emit_c_interface} {
  %low = arith.constant 0xFF800000 : f32
  %zero = arith.constant 0.0 : f32
  %em = tensor.empty() : tensor<19xf32>
  %m0 = linalg.fill ins(%low : f32) outs(%em : tensor<19xf32>) -> tensor<19xf32>
  %max = linalg.generic {indexing_maps = [#id2, #row],
                         iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<19x32xf32>) outs(%m0 : tensor<19xf32>) {
  ^bb0(%a: f32, %o: f32):
    %y = arith.maximumf %a, %o : f32
    linalg.yield %y : f32
  } -> tensor<19xf32>
  %ee = tensor.empty() : tensor<19x32xf32>
  %exp = linalg.generic {indexing_maps = [#id2, #row, #id2],
                         iterator_types = ["parallel", "parallel"]}
      ins(%x, %max : tensor<19x32xf32>, tensor<19xf32>) outs(%ee : tensor<19x32xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %d = arith.subf %a, %b : f32
    %y = math.exp %d : f32
    linalg.yield %y : f32
  } -> tensor<19x32xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%em : tensor<19xf32>) -> tensor<19xf32>
  %sum = linalg.generic {indexing_maps = [#id2, #row],
                         iterator_types = ["parallel", "reduction"]}
      ins(%exp : tensor<19x32xf32>) outs(%s0 : tensor<19xf32>) {
  ^bb0(%a: f32, %o: f32):
    %y = arith.addf %a, %o : f32
    linalg.yield %y : f32
  } -> tensor<19xf32>
  %r = linalg.generic {indexing_maps = [#id2, #row, #id2],
                       iterator_types = ["parallel", "parallel"]}
      ins(%exp, %sum : tensor<19x32xf32>, tensor<19xf32>) outs(%ee : tensor<19x32xf32>) {
  ^bb0(%a: f32, %b: f32, %o: f32):
    %y = arith.divf %a, %b : f32
    linalg.yield %y : f32
  } -> tensor<19x32xf32>
  return %r : tensor<19x32xf32>
}
func.func @row_sums(%x: tensor<23x21xf32>) -> tensor<23xf32>
    attributes {llvm.emit_c_interface} {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<23xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e : tensor<23xf32>) -> tensor<23xf32>
  %sum = linalg.generic {indexing_maps = [#id2, #row],
                         iterator_types = ["parallel", "reduction"]}
      ins(%x : tensor<23x21xf32>) outs(%s0 : tensor<23xf32>) {
  ^bb0(%a: f32, %o: f32):
    %y = arith.addf %a, %o : f32
    linalg.yield %y : f32
  } -> tensor<23xf32>
  return %sum : tensor<23xf32>
}
func.func @column_max(%x: tensor<300x70xf32>) -> tensor<70xf32>
    attributes {llvm.emit_c_interface} {
  %low = arith.constant 0xFF800000 : f32
  %e = tensor.empty() : tensor<70xf32>
  %m0 = linalg.fill ins(%low : f32) outs(%e : tensor<70xf32>) -> tensor<70xf32>
  %max = linalg.generic {indexing_maps = [#id2, #col],
                         iterator_types = ["reduction", "parallel"]}
      ins(%x : tensor<300x70xf32>) outs(%m0 : tensor<70xf32>) {
  ^bb0(%a: f32, %o: f32):
    %y = arith.maximumf %a, %o : f32
    linalg.yield %y : f32
  } -> tensor<70xf32>
  return %max : tensor<70xf32>
}
func.func @transpose(%x: tensor<130x67xf32>) -> tensor<67x130xf32>
    attributes {llvm.emit_c_interface} {
  %e = tensor.empty() : tensor<67x130xf32>
  %t = linalg.transpose ins(%x : tensor<130x67xf32>) outs(%e : tensor<67x130xf32>)
       permutation = [1, 0]
  return %t : tensor<67x130xf32>
}
func.func @tanh_log(%x: tensor<1000003xf32>) -> tensor<1000003xf32>
    attributes {llvm.emit_c_interface} {
  %e = tensor.empty() : tensor<1000003xf32>
  %r = linalg.generic {indexing_maps = [affine_map<(d0) -> (d0)>, affine_map<(d0) -> (d0)>],
                       iterator_types = ["parallel"]}
      ins(%x : tensor<1000003xf32>) outs(%e : tensor<1000003xf32>) {
  ^bb0(%a: f32, %o: f32):
    %t = math.tanh %a : f32
    %m = math.absf %a : f32
    %l = math.log1p %m : f32
    %y = arith.addf %t, %l : f32
    linalg.yield %y : f32
  } -> tensor<1000003xf32>
  return %r : tensor<1000003xf32>
}
func.func @int_ops(%a: tensor<50x33xi32>, %b: tensor<50x33xi64>) -> tensor<50x33xi64>
    attributes {llvm.emit_c_interface} {
  %e = tensor.empty() : tensor<50x33xi64>
  %three = arith.constant 3 : i64
  %r = linalg.generic {indexing_maps = [#id2, #id2, #id2],
                       iterator_types = ["parallel", "parallel"]}
      ins(%a, %b : tensor<50x33xi32>, tensor<50x33xi64>) outs(%e : tensor<50x33xi64>) {
  ^bb0(%x: i32, %y: i64, %o: i64):
    %w = arith.extsi %x : i32 to i64
    %p = arith.muli %w, %three : i64
    %c = arith.cmpi sgt, %p, %y : i64
    %s = arith.select %c, %p, %y : i64
    linalg.yield %s : i64
  } -> tensor<50x33xi64>
  return %r : tensor<50x33xi64>
}
func.func @nonzero(%a: tensor<3x40xi64>) -> tensor<3x40xi1>
    attributes {llvm.emit_c_interface} {
  %e = tensor.empty() : tensor<3x40xi1>
  %zero = arith.constant 0 : i64
  %r = linalg.generic {indexing_maps = [#id2, #id2],
                       iterator_types = ["parallel", "parallel"]}
      ins(%a : tensor<3x40xi64>) outs(%e : tensor<3x40xi1>) {
  ^bb0(%x: i64, %o: i1):
    %c = arith.cmpi ne, %x, %zero : i64
    linalg.yield %c : i1
  } -> tensor<3x40xi1>
  return %r : tensor<3x40xi1>
}
"""


@pytest.fixture(scope="module")
def other_ops(tmp_path_factory):
    path = tmp_path_factory.mktemp("dense") / "ops.so"
    with sparse_opt.compile(OTHER_OPS, path) as lib:
        yield lib


def erf(values):
    from math import erf as scalar_erf
    return np.vectorize(scalar_erf)(values.astype(np.float64))


@pytest.mark.parametrize("threads", [1, 2])
def test_other_ops(other_ops, threads):
    other_ops.num_threads = threads
    x, bias = random(37, 45), random(45)
    s = (x + bias).astype(np.float64)
    np.testing.assert_allclose(other_ops.run("gelu_bias", x, bias),
                               0.5 * s * (1 + erf(s / np.sqrt(2))),
                               rtol=1e-5, atol=1e-6)
    x = 4 * random(19, 32)
    e = np.exp(x - x.max(axis=1, keepdims=True))
    np.testing.assert_allclose(other_ops.run("softmax", x),
                               e / e.sum(axis=1, keepdims=True),
                               rtol=1e-5, atol=1e-7)
    x = random(23, 21)
    np.testing.assert_allclose(other_ops.run("row_sums", x), x.sum(axis=1),
                               rtol=1e-5, atol=1e-5)
    x = random(300, 70)
    np.testing.assert_array_equal(other_ops.run("column_max", x), x.max(axis=0))
    x = random(130, 67)
    np.testing.assert_array_equal(other_ops.run("transpose", x), x.T)
    x = 3 * random(1000003)
    np.testing.assert_allclose(other_ops.run("tanh_log", x),
                               np.tanh(x) + np.log1p(np.abs(x)),
                               rtol=1e-5, atol=1e-6)
    a = rng.integers(-1000, 1000, (50, 33), dtype=np.int32)
    b = rng.integers(-3000, 3000, (50, 33), dtype=np.int64)
    np.testing.assert_array_equal(other_ops.run("int_ops", a, b),
                                  np.maximum(3 * a.astype(np.int64), b))
    # i1 results (a byte each in memory, bit-packed in LLVM vectors).
    a = rng.integers(0, 3, (3, 40), dtype=np.int64)
    np.testing.assert_array_equal(other_ops.run("nonzero", a), a != 0)


# Depthwise convolutions (linalg.depthwise_conv_2d_nchw_chw, the input
# already padded): N, C, H, W, KH, KW, strides, dilations. They cover the
# vector loops' edges: output widths below, at and above a vector (8 or 16
# lanes) with a masked rest, output heights that leave rows after the
# 4-row tiles, strides 1 (loads), 2 (loads and a shuffle, a gather for the
# masked rest) and 3 (gathers), dilation, KH != KW, two images, and one
# large enough to run in parallel.
DEPTHWISE_SHAPES = [
    (1, 3, 9, 9, 3, 3, (1, 1), (1, 1)),
    (1, 5, 40, 35, 3, 3, (1, 1), (1, 1)),
    (2, 4, 21, 37, 3, 3, (2, 2), (1, 1)),
    (1, 3, 35, 67, 3, 3, (2, 2), (1, 1)),
    (1, 2, 17, 30, 3, 5, (3, 2), (1, 1)),
    (1, 3, 20, 50, 3, 3, (1, 3), (2, 2)),
    (1, 32, 114, 114, 3, 3, (1, 1), (1, 1)),
]


def depthwise_output_size(size, kernel, stride, dilation):
    return (size - dilation * (kernel - 1) - 1) // stride + 1


def depthwise_source():
    parts = []
    for i, (n, c, h, w, kh, kw, strides, dilations) in enumerate(
            DEPTHWISE_SHAPES):
        oh = depthwise_output_size(h, kh, strides[0], dilations[0])
        ow = depthwise_output_size(w, kw, strides[1], dilations[1])
        x, f, o = (f"tensor<{n}x{c}x{h}x{w}xf32>", f"tensor<{c}x{kh}x{kw}xf32>",
                   f"tensor<{n}x{c}x{oh}x{ow}xf32>")
        parts.append(f"""
func.func @dw{i}(%x: {x}, %f: {f}, %init: {o}) -> {o}
    attributes {{llvm.emit_c_interface}} {{
  %r = linalg.depthwise_conv_2d_nchw_chw
      {{dilations = dense<[{dilations[0]}, {dilations[1]}]> : tensor<2xi64>,
        strides = dense<[{strides[0]}, {strides[1]}]> : tensor<2xi64>}}
      ins(%x, %f : {x}, {f}) outs(%init : {o}) -> {o}
  return %r : {o}
}}
""")
    return "".join(parts)


def depthwise_reference(x, f, init, strides, dilations):
    _, _, oh, ow = init.shape
    kh, kw = f.shape[1:]
    out = init.astype(np.float64)
    for i in range(kh):
        for j in range(kw):
            rows = slice(i * dilations[0],
                         i * dilations[0] + (oh - 1) * strides[0] + 1,
                         strides[0])
            cols = slice(j * dilations[1],
                         j * dilations[1] + (ow - 1) * strides[1] + 1,
                         strides[1])
            out += x[:, :, rows, cols] * f[None, :, i, j, None, None]
    return out


@pytest.fixture(scope="module")
def depthwise(tmp_path_factory):
    path = tmp_path_factory.mktemp("dense") / "depthwise.so"
    with sparse_opt.compile(depthwise_source(), path) as lib:
        yield lib


@pytest.mark.parametrize("threads", [1, 2])
def test_depthwise_convolutions(depthwise, threads):
    depthwise.num_threads = threads
    for i, (n, c, h, w, kh, kw, strides, dilations) in enumerate(
            DEPTHWISE_SHAPES):
        oh = depthwise_output_size(h, kh, strides[0], dilations[0])
        ow = depthwise_output_size(w, kw, strides[1], dilations[1])
        x, f, init = random(n, c, h, w), random(c, kh, kw), random(n, c, oh, ow)
        np.testing.assert_allclose(
            depthwise.run(f"dw{i}", x, f, init),
            depthwise_reference(x, f, init, strides, dilations),
            rtol=1e-5, atol=1e-5)
