"""A small helper for writing ONNX graphs with the ``onnx.helper`` API.

Each node gets a unique, readable name (``layer1.0/conv1``) and an output
named after it; weights are drawn from one seeded numpy generator in the
order the builder asks for them, so a (builder, options, seed) triple always
gives the same model.
"""

from __future__ import annotations

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

# Opset 17 is what torch.onnx.export writes by default (torch 2.x) and the
# first with LayerNormalization; Gelu (opset 20) is therefore written as its
# Erf form, as exporters targeting 17 do.
OPSET = 17
# The IR version onnxruntime 1.32 and onnx 1.23 both read for opset 17.
IR_VERSION = 8


class GraphBuilder:
    """Collects nodes, initializers, inputs and outputs of one graph."""

    def __init__(self, name: str, seed: int):
        self.name = name
        self.rng = np.random.default_rng(seed)
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.inputs: list[onnx.ValueInfoProto] = []
        self.outputs: list[onnx.ValueInfoProto] = []
        self._names: set[str] = set()
        self._scope: list[str] = []

    # Names ----------------------------------------------------------------
    def scope(self, name: str) -> "_Scope":
        """``with g.scope("layer1.0"):`` prefixes the names made inside."""
        return _Scope(self, name)

    def unique(self, name: str) -> str:
        """``name`` in the current scope, suffixed to be unique."""
        full = "/".join(self._scope + [name])
        candidate, count = full, 1
        while candidate in self._names:
            candidate = f"{full}_{count}"
            count += 1
        self._names.add(candidate)
        return candidate

    # Graph pieces ---------------------------------------------------------
    def input(self, name: str, elem_type: int, shape) -> str:
        self.inputs.append(helper.make_tensor_value_info(name, elem_type,
                                                         shape))
        self._names.add(name)
        return name

    def output(self, value: str, name: str, elem_type: int, shape) -> str:
        """Marks ``value`` as a graph output called ``name`` (through an
        Identity when the names differ)."""
        if value != name:
            self.nodes.append(helper.make_node("Identity", [value], [name],
                                               name=self.unique(name)))
        self.outputs.append(helper.make_tensor_value_info(name, elem_type,
                                                          shape))
        return name

    def constant(self, name: str, array: np.ndarray) -> str:
        """An initializer holding ``array`` (its dtype kept)."""
        unique = self.unique(name)
        self.initializers.append(numpy_helper.from_array(np.asarray(array),
                                                         unique))
        return unique

    def weight(self, name: str, shape, fan_in: int, gain: float = 2.0) -> str:
        """A float32 weight drawn from N(0, gain / fan_in) (He init for
        gain 2, what keeps activations O(1) through ReLU layers)."""
        std = np.sqrt(gain / max(fan_in, 1))
        return self.constant(name, (self.rng.standard_normal(shape) * std)
                             .astype(np.float32))

    def uniform(self, name: str, shape, low: float, high: float) -> str:
        return self.constant(name, self.rng.uniform(low, high, shape)
                             .astype(np.float32))

    def node(self, op: str, inputs: list[str], name: str | None = None,
             outputs: int = 1, **attributes) -> str | list[str]:
        """Adds ``op`` and returns its output name (a list if several)."""
        node_name = self.unique(name or op.lower())
        names = [node_name if outputs == 1 else f"{node_name}:{i}"
                 for i in range(outputs)]
        self.nodes.append(helper.make_node(op, inputs, names, name=node_name,
                                           **attributes))
        return names[0] if outputs == 1 else names

    def model(self, doc: str = "") -> onnx.ModelProto:
        graph = helper.make_graph(self.nodes, self.name, self.inputs,
                                  self.outputs, self.initializers,
                                  doc_string=doc)
        model = helper.make_model(
            graph, producer_name="sparse_opt.models",
            opset_imports=[helper.make_opsetid("", OPSET)])
        model.ir_version = IR_VERSION
        return model

    # Layers shared by the builders ---------------------------------------
    def batch_norm(self, x: str, channels: int, name: str = "bn",
                   scale_range: tuple[float, float] = (0.5, 1.5)) -> str:
        """BatchNormalization in inference form with running statistics
        drawn so that it is not the identity (what a trained model has)."""
        with self.scope(name):
            scale = self.uniform("weight", channels, *scale_range)
            bias = self.uniform("bias", channels, -0.1, 0.1)
            mean = self.uniform("running_mean", channels, -0.1, 0.1)
            var = self.uniform("running_var", channels, 0.5, 1.5)
        return self.node("BatchNormalization", [x, scale, bias, mean, var],
                         name=name, epsilon=1e-5)

    def conv(self, x: str, in_channels: int, out_channels: int, kernel: int,
             stride: int = 1, groups: int = 1, name: str = "conv",
             bias: bool = False) -> str:
        """A square convolution with torch's 'same-ish' padding k // 2."""
        fan_in = in_channels // groups * kernel * kernel
        with self.scope(name):
            weight = self.weight("weight", (out_channels, in_channels // groups,
                                            kernel, kernel), fan_in)
            inputs = [x, weight]
            if bias:
                inputs.append(self.uniform("bias", out_channels, -0.1, 0.1))
        pad = kernel // 2
        return self.node("Conv", inputs, name=name,
                         kernel_shape=[kernel, kernel],
                         strides=[stride, stride], pads=[pad] * 4,
                         dilations=[1, 1], group=groups)

    def linear_gemm(self, x: str, in_features: int, out_features: int,
                    name: str = "fc", gain: float = 2.0) -> str:
        """torch.nn.Linear as exported: Gemm(x, W[out, in], b, transB=1)."""
        with self.scope(name):
            weight = self.weight("weight", (out_features, in_features),
                                 in_features, gain)
            bias = self.uniform("bias", out_features, -0.1, 0.1)
        return self.node("Gemm", [x, weight, bias], name=name, alpha=1.0,
                         beta=1.0, transB=1)

    def linear_matmul(self, x: str, in_features: int, out_features: int,
                      name: str = "dense", gain: float = 1.0) -> str:
        """A Linear on a rank >= 2 activation as exported: MatMul with the
        transposed weight W^T[in, out] as an initializer, then Add bias."""
        with self.scope(name):
            weight = self.weight("weight", (in_features, out_features),
                                 in_features, gain)
            bias = self.uniform("bias", out_features, -0.1, 0.1)
        product = self.node("MatMul", [x, weight], name=f"{name}/MatMul")
        return self.node("Add", [product, bias], name=f"{name}/Add")


class _Scope:
    def __init__(self, builder: GraphBuilder, name: str):
        self.builder, self.name = builder, name

    def __enter__(self):
        self.builder._scope.append(self.name)

    def __exit__(self, *exc_info):
        self.builder._scope.pop()


FLOAT = TensorProto.FLOAT
INT64 = TensorProto.INT64
