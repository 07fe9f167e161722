"""Sparse convolutions: sparse-opt-convolution-to-matmul turns convolutions
with pruned constant filters into products that
sparse-opt-select-weight-formats stores as CSR (pipeline options
weight-formats=csr weight-min-sparsity=...). The compiled models must
still match onnxruntime, and the IR checks below show that the convolutions really were rewritten (the IR
itself is checked in test/Transforms/convolution-to-matmul.mlir).

NCHW comes through the ONNX importer (which makes conv_2d_nchw_fchw and,
for groups, conv_2d_ngchw_gfchw); NHWC (conv_2d_nhwc_hwcf / _fhwc) comes
from MLIR written here, compared with onnxruntime on the same convolution
in NCHW.
"""

import subprocess

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

import sparse_opt
from sparse_opt import models, prune
from sparse_opt._tools import find_executable
from sparse_opt.onnx_frontend import import_onnx, run_onnxruntime

from test_onnx_frontend import check_model

pytest.importorskip("onnxruntime")

CSR_WEIGHTS = "weight-formats=csr weight-min-sparsity=0.7"


def rewritten(mlir, min_sparsity=0.7):
    """The IR after the pipeline's first two steps for weight-formats=csr
    weight-min-sparsity=`min_sparsity`: convolutions to products, then
    sparse weights to CSR."""
    return subprocess.run(
        [find_executable("sparse-opt"), str(mlir),
         f"--sparse-opt-convolution-to-matmul=min-sparsity={min_sparsity}",
         "--sparse-opt-select-weight-formats=formats=csr "
         f"min-sparsity={min_sparsity}"],
        check=True, capture_output=True, text=True).stdout


def check_with_csr_weights(tmp_path, model, require_ops, min_sparsity=0.7):
    """Compiles the pruned `model` with CSR weights from `min_sparsity`,
    checks it against onnxruntime and returns the rewritten IR of its
    import."""
    check_model(tmp_path, model, require_ops, tolerances="model",
                pipeline_options="weight-formats=csr "
                f"weight-min-sparsity={min_sparsity}")
    return rewritten(import_onnx(tmp_path / "model.onnx",
                                 tmp_path / "model.mlir"), min_sparsity)


def conv_node(rng, initializers, name, x, in_channels, out_channels,
              kernel, strides=(1, 1), dilations=(1, 1), pads=(0, 0, 0, 0),
              group=1, bias=False):
    weight = rng.standard_normal(
        (out_channels, in_channels // group, *kernel)).astype(np.float32)
    weight *= np.sqrt(2.0 / weight[0].size)
    initializers.append(numpy_helper.from_array(weight, f"{name}.weight"))
    inputs = [x, f"{name}.weight"]
    if bias:
        initializers.append(numpy_helper.from_array(
            rng.uniform(-0.1, 0.1, out_channels).astype(np.float32),
            f"{name}.bias"))
        inputs.append(f"{name}.bias")
    return helper.make_node("Conv", inputs, [name], name=name,
                            kernel_shape=list(kernel), strides=list(strides),
                            dilations=list(dilations), pads=list(pads),
                            group=group)


def small_cnn(batch):
    """Six convolutions covering the cases of the rewrite: 3x3 padded with
    a bias, strided with asymmetric padding, dilated and grouped, 1x1,
    strided 1x1, and a 1x3 kernel; ReLUs between them."""
    rng = np.random.default_rng(0)
    initializers, nodes = [], []
    layers = [
        dict(in_channels=3, out_channels=16, kernel=(3, 3),
             pads=(1, 1, 1, 1), bias=True),
        dict(in_channels=16, out_channels=32, kernel=(3, 3), strides=(2, 2),
             pads=(0, 0, 1, 1)),
        dict(in_channels=32, out_channels=32, kernel=(3, 3),
             dilations=(2, 2), pads=(2, 2, 2, 2), group=2, bias=True),
        dict(in_channels=32, out_channels=48, kernel=(1, 1)),
        dict(in_channels=48, out_channels=48, kernel=(1, 1), strides=(2, 2),
             bias=True),
        dict(in_channels=48, out_channels=24, kernel=(1, 3),
             pads=(0, 1, 0, 1)),
    ]
    x = "input"
    for i, layer in enumerate(layers):
        nodes.append(conv_node(rng, initializers, f"conv{i}", x, **layer))
        x = f"conv{i}"
        if i + 1 < len(layers):
            nodes.append(helper.make_node("Relu", [x], [f"relu{i}"]))
            x = f"relu{i}"
    graph = helper.make_graph(
        nodes, "small_cnn",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                       [batch, 3, 12, 12])],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT,
                                       [batch, 24, 3, 3])],
        initializers)
    return helper.make_model(graph, opset_imports=[
        helper.make_opsetid("", models.OPSET)], ir_version=models.IR_VERSION)


@pytest.mark.parametrize("batch", [1, 2])
def test_pruned_small_cnn(tmp_path, require_ops, batch):
    model = small_cnn(batch)
    prune.prune_model(model, method="magnitude", sparsity=0.9)
    ir = check_with_csr_weights(tmp_path, model, require_ops)
    assert "linalg.conv_2d" not in ir
    # One CSR weight per convolution, two for the grouped one.
    assert ir.count("sparse_tensor.convert") == 7


@pytest.mark.parametrize("stride,dilation,with_bias,batch", [
    (1, 1, True, 2), (2, 1, False, 1), (1, 2, True, 1)])
def test_convolution_in_panels(tmp_path, require_ops, stride, dilation,
                               with_bias, batch):
    """Patches over conv-panel-bytes (here 32 KiB) are built in panels of
    output rows: 72 x 32 floats per output row, so panels of 2 rows (64
    columns), 16 per image."""
    size = 31 * stride + 2 * dilation - 1  # 32 x 32 out with a pad of 1
    initializers = []
    node = conv_node(np.random.default_rng(stride + dilation), initializers,
                     "conv", "input", 8, 16, (3, 3), (stride, stride),
                     (dilation, dilation), (1, 1, 1, 1), bias=with_bias)
    graph = helper.make_graph(
        [node], "conv",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                       [batch, 8, size, size])],
        [helper.make_tensor_value_info("conv", TensorProto.FLOAT,
                                       [batch, 16, 32, 32])],
        initializers)
    model = helper.make_model(graph, opset_imports=[
        helper.make_opsetid("", models.OPSET)], ir_version=models.IR_VERSION)
    prune.prune_model(model, method="magnitude", sparsity=0.8)
    check_model(tmp_path, model, require_ops, tolerances="model",
                pipeline_options=f"{CSR_WEIGHTS} conv-panel-bytes=32768")
    ir = subprocess.run(
        [find_executable("sparse-opt"),
         str(import_onnx(tmp_path / "model.onnx", tmp_path / "model.mlir")),
         "--sparse-opt-convolution-to-matmul=panel-bytes=32768"],
        check=True, capture_output=True, text=True).stdout
    assert ir.count("scf.for") == 2
    assert "tensor.insert_slice" in ir and "linalg.conv_2d" not in ir


def test_small_cnn_dense_im2col(tmp_path, require_ops):
    """conv-to-matmul=all: unpruned filters too, as dense products."""
    check_model(tmp_path, small_cnn(2), require_ops, tolerances="model",
                pipeline_options="conv-to-matmul=all")


SMALL_RESNET = dict(image_size=32, layers=(1, 1, 1, 1), base_width=8,
                    num_classes=10)


@pytest.mark.parametrize("batch,method,min_sparsity", [
    (1, dict(method="magnitude", sparsity=0.9), 0.7),
    (2, dict(method="magnitude", sparsity=0.9), 0.7),
    (1, dict(method="nm", nm=(2, 4)), 0.5),
], ids=["magnitude-0.9-batch1", "magnitude-0.9-batch2", "2:4-batch1"])
def test_pruned_small_resnet_with_sparse_convolutions(
        tmp_path, require_ops, batch, method, min_sparsity):
    model = models.build_resnet50(batch=batch, **SMALL_RESNET)
    pruned = prune.prune_model(model, **method)
    ir = check_with_csr_weights(tmp_path, model, require_ops, min_sparsity)
    # Every pruned convolution (17 with batch-norm folded in, but for 2:4
    # the stem's 3 x 7 x 7 = 147 columns, which 2:4 skips) and the
    # classifier.
    skipped = [w.name for w in pruned if w.skipped]
    assert skipped == ([] if method["method"] == "magnitude"
                       else ["conv1/weight"])
    assert ir.count("linalg.conv_2d") == len(skipped)
    assert ir.count("sparse_tensor.convert") == 18 - len(skipped)


def test_pruned_small_mobilenet_v2(tmp_path, require_ops):
    """Pointwise convolutions become CSR products; depthwise ones stay
    convolutions."""
    model = models.build_mobilenet_v2(image_size=32, width_mult=0.35,
                                      num_classes=10)
    prune.prune_model(model, method="magnitude", sparsity=0.9)
    ir = check_with_csr_weights(tmp_path, model, require_ops)
    assert "linalg.conv_2d_nchw_fchw" not in ir
    assert "linalg.depthwise_conv_2d_nchw_chw" in ir
    assert ir.count("sparse_tensor.convert") > 30


def hex_constant(array):
    return ('dense<"0x' + array.astype("<f4").tobytes().hex().upper() +
            f'"> : tensor<{"x".join(map(str, array.shape))}xf32>')


def nhwc_convolution(filter_layout, x_shape, weight, bias, stride, dilation):
    """MLIR for one NHWC convolution of an input of `x_shape` (padded by the
    caller: tensor.pad would bufferize to a call of `memrefCopy`, which the
    libraries do not link, so the importer pads with a linalg.generic)
    with a constant filter (`weight` as F x C x KH x KW, stored in
    `filter_layout`), the init the bias broadcast or zero."""
    n, h, w, c = x_shape
    f, _, kh, kw = weight.shape
    ho = (h - dilation * (kh - 1) - 1) // stride + 1
    wo = (w - dilation * (kw - 1) - 1) // stride + 1
    stored = (weight.transpose(2, 3, 1, 0) if filter_layout == "hwcf"
              else weight.transpose(0, 2, 3, 1))
    x_type = f"tensor<{n}x{h}x{w}x{c}xf32>"
    out = f"tensor<{n}x{ho}x{wo}x{f}xf32>"
    if bias is None:
        init = f"""%zero = arith.constant 0.0 : f32
  %e = tensor.empty() : {out}
  %init = linalg.fill ins(%zero : f32) outs(%e : {out}) -> {out}"""
    else:
        init = f"""%b = arith.constant {hex_constant(bias)}
  %e = tensor.empty() : {out}
  %init = linalg.generic {{indexing_maps = [
      affine_map<(n, h, w, f) -> (f)>, affine_map<(n, h, w, f) -> (n, h, w, f)>],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}}
      ins(%b : tensor<{f}xf32>) outs(%e : {out}) {{
  ^bb0(%in: f32, %o: f32):
    linalg.yield %in : f32
  }} -> {out}"""
    return f"""
func.func @conv(%x: {x_type}) -> {out} attributes {{llvm.emit_c_interface}} {{
  %w = arith.constant {hex_constant(stored)}
  {init}
  %y = linalg.conv_2d_nhwc_{filter_layout} {{dilations = dense<{dilation}> : tensor<2xi64>,
                                strides = dense<{stride}> : tensor<2xi64>}}
      ins(%x, %w : {x_type}, tensor<{"x".join(map(str, stored.shape))}xf32>)
      outs(%init : {out}) -> {out}
  return %y : {out}
}}
"""


def onnx_convolution(path, x_shape, weight, bias, stride, dilation, pad):
    """The same convolution as an NCHW ONNX model, for onnxruntime."""
    n, h, w, c = x_shape
    initializers = [numpy_helper.from_array(weight, "weight")]
    inputs = ["x", "weight"]
    if bias is not None:
        initializers.append(numpy_helper.from_array(bias, "bias"))
        inputs.append("bias")
    node = helper.make_node("Conv", inputs, ["y"], strides=[stride] * 2,
                            dilations=[dilation] * 2, pads=[pad] * 4)
    graph = helper.make_graph(
        [node], "conv",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [n, c, h, w])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
        initializers)
    onnx.save(helper.make_model(graph, opset_imports=[
        helper.make_opsetid("", models.OPSET)], ir_version=models.IR_VERSION),
        path)


@pytest.mark.parametrize(
    "filter_layout,batch,kernel,stride,dilation,pad,with_bias", [
        ("hwcf", 1, 3, 1, 1, 1, True),
        ("fhwc", 2, 3, 2, 1, 1, False),
        ("hwcf", 2, 3, 1, 2, 2, True),
        ("fhwc", 1, 1, 1, 1, 0, True),
        ("hwcf", 2, 1, 2, 1, 0, False),
    ])
def test_pruned_nhwc_convolution(tmp_path, filter_layout, batch, kernel,
                                 stride, dilation, pad, with_bias):
    rng = np.random.default_rng(kernel * 10 + stride)
    x_shape = (batch, 9, 10, 16)
    weight = rng.standard_normal((24, 16, kernel, kernel)).astype(np.float32)
    weight[rng.random(weight.shape) < 0.9] = 0.0
    bias = (rng.uniform(-0.5, 0.5, 24).astype(np.float32) if with_bias
            else None)
    padded_shape = (batch, 9 + 2 * pad, 10 + 2 * pad, 16)
    source = nhwc_convolution(filter_layout, padded_shape, weight, bias,
                              stride, dilation)
    (tmp_path / "conv.mlir").write_text(source)
    ir = rewritten(tmp_path / "conv.mlir")
    assert "linalg.conv_2d" not in ir
    assert ir.count("sparse_tensor.convert") == 1

    x = rng.standard_normal(x_shape).astype(np.float32)
    onnx_convolution(tmp_path / "conv.onnx", x_shape, weight, bias, stride,
                     dilation, pad)
    expected = run_onnxruntime(tmp_path / "conv.onnx",
                               {"x": x.transpose(0, 3, 1, 2)})["y"]
    with sparse_opt.compile(source, tmp_path / "conv.so",
                            pipeline_options=CSR_WEIGHTS) as library:
        actual = library.run("conv", np.pad(
            x, [(0, 0), (pad, pad), (pad, pad), (0, 0)]))
    np.testing.assert_allclose(actual.transpose(0, 3, 1, 2), expected,
                               rtol=1e-4, atol=1e-5)


def test_temporaries_are_freed(tmp_path):
    """A 3x3 convolution of 64 channels at 56 x 56 allocates 7 MiB of
    patches per call; 40 calls must not grow the process by anything near
    the 280 MiB (the pipeline once leaked every temporary)."""
    from test_dense_call import resident_bytes

    rng = np.random.default_rng(0)
    weight = rng.standard_normal((64, 64, 3, 3)).astype(np.float32)
    weight[rng.random(weight.shape) < 0.9] = 0.0
    source = nhwc_convolution("fhwc", (1, 58, 58, 64), weight, None, 1, 1)
    x = rng.standard_normal((1, 58, 58, 64)).astype(np.float32)
    with sparse_opt.compile(source, tmp_path / "conv.so",
                            pipeline_options=CSR_WEIGHTS) as library:
        for _ in range(5):  # warm up the allocator
            library.run("conv", x)
        before = resident_bytes()
        for _ in range(40):
            library.run("conv", x)
        assert resident_bytes() - before < 32 * 2**20
