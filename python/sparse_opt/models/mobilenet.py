"""MobileNetV2 with torchvision's topology, as torch.onnx.export writes it
in eval mode: Conv (no bias) + BatchNormalization + ReLU6 (Clip with min 0
and max 6 given as inputs, opset >= 11), inverted residual blocks with
depthwise 3x3 convolutions (group = channels), GlobalAveragePool, Flatten,
Gemm (the classifier's Dropout is the identity in inference and is not
exported)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import onnx

from ._graph import FLOAT, GraphBuilder

# t (expansion), c (output channels), n (repeats), s (first stride): the
# table of the MobileNetV2 paper and torchvision.
INVERTED_RESIDUAL_SETTING = (
    (1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2),
    (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


def make_divisible(value: float, divisor: int = 8) -> int:
    """torchvision's _make_divisible: round to a multiple of ``divisor``,
    never going down by more than 10%."""
    rounded = max(divisor, int(value + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * value:
        rounded += divisor
    return rounded


def build_mobilenet_v2(*, batch: int | str = 1,
                       image_size: int | Sequence[int] = 224,
                       num_classes: int = 1000, width_mult: float = 1.0,
                       setting: Sequence[Sequence[int]] =
                       INVERTED_RESIDUAL_SETTING,
                       seed: int = 0) -> onnx.ModelProto:
    """Input ``input`` [batch, 3, H, W] float32, output ``logits``
    [batch, num_classes]. The defaults are MobileNetV2 1.0 (3.5 M
    parameters); ``width_mult`` scales every channel count as torchvision
    does, ``setting`` replaces the t/c/n/s table."""
    height, width = ((image_size, image_size) if isinstance(image_size, int)
                     else tuple(image_size))
    g = GraphBuilder("mobilenet_v2", seed)
    # ReLU6's bounds, shared by every Clip as in exported models.
    low = g.constant("relu6_min", np.array(0.0, dtype=np.float32))
    high = g.constant("relu6_max", np.array(6.0, dtype=np.float32))

    def conv_bn_relu6(x, cin, cout, kernel, stride, groups, name):
        with g.scope(name):
            y = g.conv(x, cin, cout, kernel, stride=stride, groups=groups,
                       name="0")
            y = g.batch_norm(y, cout, name="1")
            return g.node("Clip", [y, low, high], name="2")

    x = g.input("input", FLOAT, [batch, 3, height, width])
    channels = make_divisible(32 * width_mult)
    last_channels = make_divisible(1280 * max(1.0, width_mult))
    x = conv_bn_relu6(x, 3, channels, 3, 2, 1, "features.0")
    index = 1
    for t, c, n, s in setting:
        out_channels = make_divisible(c * width_mult)
        for repeat in range(n):
            stride = s if repeat == 0 else 1
            hidden = int(round(channels * t))
            with g.scope(f"features.{index}"):
                y = x
                layer = 0
                if t != 1:
                    y = conv_bn_relu6(y, channels, hidden, 1, 1, 1,
                                      f"conv.{layer}")
                    layer += 1
                y = conv_bn_relu6(y, hidden, hidden, 3, stride, hidden,
                                  f"conv.{layer}")
                y = g.conv(y, hidden, out_channels, 1, name=f"conv.{layer + 1}")
                y = g.batch_norm(y, out_channels, name=f"conv.{layer + 2}")
                if stride == 1 and channels == out_channels:
                    y = g.node("Add", [x, y], name="add")
            x = y
            channels = out_channels
            index += 1
    x = conv_bn_relu6(x, channels, last_channels, 1, 1, 1, f"features.{index}")
    x = g.node("GlobalAveragePool", [x], name="pool")
    x = g.node("Flatten", [x], name="flatten", axis=1)
    x = g.linear_gemm(x, last_channels, num_classes, name="classifier.1",
                      gain=1.0)
    g.output(x, "logits", FLOAT, [batch, num_classes])
    return g.model(f"MobileNetV2 (width {width_mult})")
