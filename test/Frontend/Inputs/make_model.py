#!/usr/bin/env python3
"""Writes the small ONNX models the frontend's lit tests import.

    make_model.py CASE OUT.onnx

Each case is a function below building one graph with the `onnx` package
(seeded weights); `external` also writes the weights as ONNX external data
next to the model.
"""

import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
RNG = np.random.default_rng(0)


def weight(name, *shape):
    return numpy_helper.from_array(
        RNG.standard_normal(shape).astype(np.float32), name)


def ints(name, values):
    return numpy_helper.from_array(np.array(values, dtype=np.int64), name)


def value(name, shape, elem=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, elem, shape)


def model(nodes, inputs, outputs, initializers=(), opset=OPSET):
    graph = helper.make_graph(nodes, "test", inputs, outputs,
                              list(initializers))
    m = helper.make_model(graph, opset_imports=[helper.make_opsetid("", opset)])
    m.ir_version = 8
    return m


def mlp():
    """Gemm (transB weight) + Relu + MatMul (weight) + Add bias + Sigmoid."""
    nodes = [
        helper.make_node("Gemm", ["x", "w1", "b1"], ["h"], name="fc1",
                         transB=1),
        helper.make_node("Relu", ["h"], ["r"], name="relu1"),
        helper.make_node("MatMul", ["r", "w2"], ["m"], name="fc2"),
        helper.make_node("Add", ["m", "b2"], ["a"], name="bias2"),
        helper.make_node("Sigmoid", ["a"], ["y"], name="out"),
    ]
    return model(nodes, [value("x", [2, 8])], [value("y", [2, 4])],
                 [weight("w1", 16, 8), weight("b1", 16), weight("w2", 16, 4),
                  weight("b2", 4)])


def transposed_weight():
    """MatMul(x, Transpose(W)) and a reshaped bias, as some exporters write
    linear layers: the weight must still reach linalg.matmul as a constant."""
    nodes = [
        helper.make_node("Transpose", ["w"], ["wt"], name="wt", perm=[1, 0]),
        helper.make_node("MatMul", ["x", "wt"], ["m"], name="fc"),
        helper.make_node("Reshape", ["b", "shape"], ["b2"], name="rb"),
        helper.make_node("Add", ["m", "b2"], ["y"], name="bias"),
    ]
    return model(nodes, [value("x", [3, 32])], [value("y", [3, 16])],
                 [weight("w", 16, 32), weight("b", 16),
                  ints("shape", [1, 16])])


def gemm_alpha_beta():
    nodes = [helper.make_node("Gemm", ["a", "b", "c"], ["y"], name="gemm",
                              alpha=0.5, beta=2.0, transA=1)]
    return model(nodes, [value("a", [3, 2]), value("b", [3, 4]),
                         value("c", [1, 4])], [value("y", [2, 4])])


def matmul_batched():
    """Attention-style batched products and a 3-D x 2-D weight product."""
    nodes = [
        helper.make_node("MatMul", ["q", "k"], ["s"], name="scores"),
        helper.make_node("MatMul", ["s", "w"], ["y"], name="project"),
    ]
    return model(nodes, [value("q", [2, 3, 4, 5]), value("k", [2, 3, 5, 4])],
                 [value("y", [2, 3, 4, 6])], [weight("w", 4, 6)])


def broadcast():
    nodes = [
        helper.make_node("Sub", ["x", "row"], ["s"], name="sub"),
        helper.make_node("Mul", ["s", "col"], ["m"], name="mul"),
        helper.make_node("Div", ["m", "two"], ["d"], name="div"),
        helper.make_node("Clip", ["d", "lo", "hi"], ["c"], name="clip"),
        helper.make_node("Tanh", ["c"], ["y"], name="tanh"),
    ]
    return model(nodes, [value("x", [2, 3, 4]), value("row", [4]),
                         value("col", [3, 1])], [value("y", [2, 3, 4])],
                 [numpy_helper.from_array(np.array(2.0, np.float32), "two"),
                  numpy_helper.from_array(np.array(-0.5, np.float32), "lo"),
                  numpy_helper.from_array(np.array(0.5, np.float32), "hi")])


def conv_bn():
    """Conv + BatchNormalization (folded) + Relu + MaxPool + Global pool."""
    nodes = [
        helper.make_node("Conv", ["x", "w"], ["c"], name="conv",
                         pads=[1, 1, 1, 1], strides=[2, 2]),
        helper.make_node("BatchNormalization",
                         ["c", "scale", "bias", "mean", "var"], ["b"],
                         name="bn", epsilon=1e-3),
        helper.make_node("Relu", ["b"], ["r"], name="relu"),
        helper.make_node("MaxPool", ["r"], ["p"], name="pool",
                         kernel_shape=[3, 3], strides=[2, 2], pads=[1, 1, 1, 1]),
        helper.make_node("GlobalAveragePool", ["p"], ["g"], name="gap"),
        helper.make_node("Flatten", ["g"], ["y"], name="flatten"),
    ]
    var = numpy_helper.from_array(
        RNG.uniform(0.5, 1.5, 8).astype(np.float32), "var")
    return model(nodes, [value("x", [1, 3, 16, 16])], [value("y", [1, 8])],
                 [weight("w", 8, 3, 3, 3), weight("scale", 8),
                  weight("bias", 8), weight("mean", 8), var])


def maxpool_indices():
    """MaxPool with its Indices output, column-major (storage_order 1)."""
    nodes = [helper.make_node("MaxPool", ["x"], ["y", "i"], name="pool",
                              kernel_shape=[3, 2], strides=[2, 1],
                              pads=[1, 0, 1, 1], storage_order=1)]
    return model(nodes, [value("x", [2, 3, 6, 5])],
                 [value("y", [2, 3, 3, 5]),
                  value("i", [2, 3, 3, 5], TensorProto.INT64)], opset=12)


def depthwise():
    """MobileNetV2 block pieces: depthwise and grouped conv, Clip(0, 6),
    AveragePool with padding, Concat."""
    nodes = [
        helper.make_node("Conv", ["x", "dw"], ["d"], name="depthwise",
                         group=4, pads=[1, 1, 1, 1]),
        helper.make_node("Clip", ["d", "zero", "six"], ["r"], name="relu6"),
        helper.make_node("Conv", ["r", "gw", "gb"], ["g"], name="grouped",
                         group=2, auto_pad="SAME_UPPER"),
        helper.make_node("AveragePool", ["g"], ["a"], name="avg",
                         kernel_shape=[2, 2], pads=[0, 0, 1, 1]),
        helper.make_node("Concat", ["a", "a"], ["y"], name="concat", axis=1),
    ]
    return model(nodes, [value("x", [1, 4, 6, 6])], [value("y", [1, 12, 6, 6])],
                 [weight("dw", 4, 1, 3, 3), weight("gw", 6, 2, 3, 3),
                  weight("gb", 6),
                  numpy_helper.from_array(np.array(0.0, np.float32), "zero"),
                  numpy_helper.from_array(np.array(6.0, np.float32), "six")])


def transformer():
    """BERT pieces: embedding Gather, Shape arithmetic feeding Reshape,
    Transpose, Softmax, Split, decomposed LayerNorm, Erf GELU, Where."""
    s, h, heads = 4, 8, 2
    nodes = [
        helper.make_node("Gather", ["emb", "ids"], ["e"], name="embed"),
        helper.make_node("LayerNormalization", ["e", "gamma", "beta"], ["ln"],
                         name="ln0", axis=-1, epsilon=1e-12),
        helper.make_node("MatMul", ["ln", "wqkv"], ["qkv"], name="qkv"),
        helper.make_node("Split", ["qkv", "split"], ["q", "k", "v"],
                         name="split", axis=-1),
        # Shape arithmetic: [B, S, heads, h / heads] from Shape(q).
        helper.make_node("Shape", ["q"], ["qs"], name="shape"),
        helper.make_node("Gather", ["qs", "zero"], ["b"], name="batch"),
        helper.make_node("Gather", ["qs", "one"], ["sl"], name="seq"),
        helper.make_node("Unsqueeze", ["b", "axes0"], ["b1"], name="ub"),
        helper.make_node("Unsqueeze", ["sl", "axes0"], ["s1"], name="us"),
        helper.make_node("Concat", ["b1", "s1", "hd"], ["newshape"],
                         name="cat", axis=0),
        helper.make_node("Reshape", ["q", "newshape"], ["q4"], name="rq"),
        helper.make_node("Reshape", ["k", "newshape"], ["k4"], name="rk"),
        helper.make_node("Transpose", ["q4"], ["qt"], name="tq",
                         perm=[0, 2, 1, 3]),
        helper.make_node("Transpose", ["k4"], ["kt"], name="tk",
                         perm=[0, 2, 3, 1]),
        helper.make_node("MatMul", ["qt", "kt"], ["scores"], name="qk"),
        helper.make_node("Where", ["mask", "scores", "neg"], ["masked"],
                         name="mask"),
        helper.make_node("Softmax", ["masked"], ["p"], name="softmax",
                         axis=-1),
        helper.make_node("ReduceSum", ["p", "axes_last"], ["psum"],
                         name="rowsum", keepdims=0),
        # Decomposed LayerNorm + Erf GELU on v.
        helper.make_node("ReduceMean", ["v"], ["mu"], name="mean", axes=[-1]),
        helper.make_node("Sub", ["v", "mu"], ["dv"], name="center"),
        helper.make_node("Pow", ["dv", "two"], ["sq"], name="square"),
        helper.make_node("ReduceMean", ["sq"], ["var"], name="var", axes=[-1]),
        helper.make_node("Add", ["var", "eps"], ["ve"], name="addeps"),
        helper.make_node("Sqrt", ["ve"], ["sd"], name="sqrt"),
        helper.make_node("Div", ["dv", "sd"], ["nv"], name="norm"),
        helper.make_node("Div", ["nv", "sqrt2"], ["g0"], name="gdiv"),
        helper.make_node("Erf", ["g0"], ["g1"], name="erf"),
        helper.make_node("Add", ["g1", "onef"], ["g2"], name="gadd"),
        helper.make_node("Mul", ["nv", "g2"], ["g3"], name="gmul"),
        helper.make_node("Mul", ["g3", "half"], ["gelu"], name="ghalf"),
    ]
    inits = [
        weight("emb", 16, h), weight("gamma", h), weight("beta", h),
        weight("wqkv", h, 3 * h), ints("split", [h, h, h]),
        ints("zero", 0), ints("one", 1), ints("axes0", [0]),
        ints("hd", [heads, h // heads]), ints("axes_last", [-1]),
        numpy_helper.from_array(np.array(-1e9, np.float32), "neg"),
        numpy_helper.from_array(np.array(2.0, np.float32), "two"),
        numpy_helper.from_array(np.array(1e-12, np.float32), "eps"),
        numpy_helper.from_array(np.array(np.sqrt(2), np.float32), "sqrt2"),
        numpy_helper.from_array(np.array(1.0, np.float32), "onef"),
        numpy_helper.from_array(np.array(0.5, np.float32), "half"),
    ]
    return model(nodes,
                 [value("ids", [1, s], TensorProto.INT64),
                  value("mask", [1, 1, 1, s], TensorProto.BOOL)],
                 [value("psum", [1, heads, s]), value("gelu", [1, s, h])],
                 inits)


def opset_new():
    """Opset 21 forms: Reduce* axes and Split's num_outputs (uneven parts)
    as introduced in opset 18, Pad with axes, LayerNormalization."""
    nodes = [
        helper.make_node("ReduceMean", ["x", "axes"], ["m"], name="mean",
                         keepdims=1),
        helper.make_node("Sub", ["x", "m"], ["c"], name="center"),
        helper.make_node("ReduceMax", ["c", "axes"], ["mx"], name="max",
                         keepdims=0),
        helper.make_node("Split", ["c"], ["s0", "s1", "s2"], name="split",
                         axis=2, num_outputs=3),
        helper.make_node("Pad", ["s2", "pads", "pv", "padaxes"], ["p"],
                         name="pad"),
        helper.make_node("LayerNormalization", ["s0", "g"], ["ln"],
                         name="ln", axis=-1),
    ]
    return model(nodes, [value("x", [2, 3, 7])],
                 [value("mx", [2, 3]), value("s1", [2, 3, 3]),
                  value("p", [2, 3, 4]), value("ln", [2, 3, 3])],
                 [ints("axes", [-1]), ints("pads", [1, 2]),
                  numpy_helper.from_array(np.array(0.5, np.float32), "pv"),
                  ints("padaxes", [2]), weight("g", 3)], opset=21)


def opset_old():
    """Opset 11 forms: Squeeze / Unsqueeze / Split / ReduceSum axes as
    attributes, Softmax's coerced 2-D semantics."""
    nodes = [
        helper.make_node("Unsqueeze", ["x"], ["u"], name="unsqueeze",
                         axes=[0, 3]),
        helper.make_node("Squeeze", ["u"], ["q"], name="squeeze", axes=[0]),
        helper.make_node("Split", ["q"], ["a", "b"], name="split", axis=1,
                         split=[1, 3]),
        helper.make_node("ReduceSum", ["b"], ["r"], name="sum", axes=[1],
                         keepdims=0),
        helper.make_node("Softmax", ["q"], ["sm"], name="softmax", axis=1),
    ]
    return model(nodes, [value("x", [2, 4, 5])],
                 [value("a", [2, 1, 1, 5]), value("r", [2, 1, 5]),
                  value("sm", [2, 4, 1, 5])], opset=11)


def external():
    """A MatMul whose weight is ONNX external data in weights.bin."""
    m = model([helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")],
              [value("x", [2, 32])], [value("y", [2, 16])],
              [weight("w", 32, 16)])
    return m


def dynamic():
    """A symbolic batch dimension: needs --input-shape."""
    return model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                 [value("x", ["batch", 4])], [value("y", ["batch", 4])])


def unsupported():
    """Two unsupported op types (three nodes) next to supported ones."""
    nodes = [
        helper.make_node("Relu", ["x"], ["r"], name="relu"),
        helper.make_node("NonZero", ["r"], ["nz"], name="nonzero_1"),
        helper.make_node("Hardmax", ["r"], ["h"], name="hardmax_1"),
        helper.make_node("NonZero", ["h"], ["y"], name="nonzero_2"),
    ]
    return model(nodes, [value("x", [2, 4])],
                 [value("y", [2, None], TensorProto.INT64)])


def dropout_training(ratio=None):
    """Dropout with training_mode true: with the default ratio (0.5) it
    drops at random and is refused; with ratio 0 it drops nothing."""
    inits = [numpy_helper.from_array(np.array(True), "training")]
    inputs = ["x", "", "training"]
    if ratio is not None:
        inits.append(numpy_helper.from_array(np.array(ratio, np.float32),
                                             "ratio"))
        inputs[1] = "ratio"
    node = helper.make_node("Dropout", inputs, ["y"], name="drop")
    return model([node], [value("x", [2, 4])], [value("y", [2, 4])], inits)


def dropout_training_zero_ratio():
    return dropout_training(ratio=0.0)


def inconsistent():
    """MatMul operands whose contraction sizes differ."""
    return model([helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")],
                 [value("x", [2, 5])], [value("y", [2, 3])],
                 [weight("w", 4, 3)])


def missing_input():
    """A MatMul with one operand."""
    return model([helper.make_node("MatMul", ["x"], ["y"], name="fc")],
                 [value("x", [2, 5])], [value("y", [2, 3])])


def undefined_input():
    """A node reading a value nothing defines."""
    return model([helper.make_node("Relu", ["nowhere"], ["y"], name="relu")],
                 [value("x", [2, 5])], [value("y", [2, 5])])


def short_initializer():
    """A 4x3 float weight holding 8 bytes."""
    # onnx.helper validates sizes; build the proto by hand.
    w = TensorProto(name="w", data_type=TensorProto.FLOAT, dims=[4, 3],
                    raw_data=b"\0" * 8)
    return model([helper.make_node("MatMul", ["x", "w"], ["y"], name="fc")],
                 [value("x", [2, 4])], [value("y", [2, 3])], [w])


def wrong_output_shape():
    return model([helper.make_node("Relu", ["x"], ["y"], name="relu")],
                 [value("x", [2, 4])], [value("y", [4, 2])])


CASES = {f.__name__: f for f in [
    mlp, transposed_weight, gemm_alpha_beta, matmul_batched, broadcast, conv_bn,
    maxpool_indices, depthwise,
    transformer, opset_new, opset_old, external, dynamic, unsupported,
    dropout_training, dropout_training_zero_ratio, inconsistent,
    missing_input, undefined_input, short_initializer, wrong_output_shape]}


def main():
    case, path = sys.argv[1], sys.argv[2]
    m = CASES[case]()
    if case == "external":
        onnx.save_model(m, path, save_as_external_data=True,
                        all_tensors_to_one_file=True, location="weights.bin",
                        size_threshold=0)
    else:
        onnx.save_model(m, path)


if __name__ == "__main__":
    main()
