"""A small multilayer perceptron, as torch.onnx.export writes nn.Sequential
of Linear and ReLU: Gemm(transB=1) + Relu per hidden layer."""

from __future__ import annotations

from collections.abc import Sequence

import onnx

from ._graph import FLOAT, GraphBuilder


def build_mlp(*, in_features: int = 256, hidden: Sequence[int] = (512, 256),
              out_features: int = 10, batch: int | str = 1,
              linear: str = "gemm", activation: str = "relu",
              seed: int = 0) -> onnx.ModelProto:
    """Input ``input`` [batch, in_features] float32, output ``logits``
    [batch, out_features]. ``linear`` is ``"gemm"`` (Gemm, transB=1) or
    ``"matmul"`` (MatMul + Add); ``activation`` is ``"relu"``,
    ``"sigmoid"`` or ``"tanh"``. A ``str`` batch is a symbolic dimension
    (give it a value with --input-shape when importing)."""
    if linear not in ("gemm", "matmul"):
        raise ValueError(f"linear must be 'gemm' or 'matmul', not {linear!r}")
    activations = {"relu": "Relu", "sigmoid": "Sigmoid", "tanh": "Tanh"}
    if activation not in activations:
        raise ValueError(f"activation must be one of {sorted(activations)}, "
                         f"not {activation!r}")
    g = GraphBuilder("mlp", seed)
    x = g.input("input", FLOAT, [batch, in_features])
    widths = [in_features, *hidden, out_features]
    for index, (fan_in, fan_out) in enumerate(zip(widths, widths[1:])):
        name = f"fc{index + 1}"
        last = index == len(widths) - 2
        gain = 1.0 if last or activation != "relu" else 2.0
        if linear == "gemm":
            x = g.linear_gemm(x, fan_in, fan_out, name=name, gain=gain)
        else:
            x = g.linear_matmul(x, fan_in, fan_out, name=name, gain=gain)
        if not last:
            x = g.node(activations[activation], [x], name=f"{name}/act")
    g.output(x, "logits", FLOAT, [batch, out_features])
    return g.model(f"MLP {widths}, {linear}, {activation}")
