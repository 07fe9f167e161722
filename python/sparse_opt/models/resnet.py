"""ResNet with torchvision's topology (ResNet v1.5: the stride of a
downsampling Bottleneck is on its 3x3 convolution), as torch.onnx.export
writes it in eval mode: Conv (no bias) + BatchNormalization + Relu,
MaxPool, GlobalAveragePool, Flatten, Gemm."""

from __future__ import annotations

from collections.abc import Sequence

import onnx

from ._graph import FLOAT, GraphBuilder

RESNET50_LAYERS = (3, 4, 6, 3)


def build_resnet50(*, batch: int | str = 1, image_size: int | Sequence[int] = 224,
                   num_classes: int = 1000,
                   layers: Sequence[int] = RESNET50_LAYERS,
                   base_width: int = 64, seed: int = 0) -> onnx.ModelProto:
    """Input ``input`` [batch, 3, H, W] float32, output ``logits``
    [batch, num_classes]. The defaults are ResNet-50 (25.6 M parameters);
    ``layers`` (Bottleneck blocks per stage) and ``base_width`` (channels
    of the first stage's 3x3 convolutions, 64 in ResNet-50) make smaller
    variants of the same topology for tests."""
    height, width = ((image_size, image_size) if isinstance(image_size, int)
                     else tuple(image_size))
    if len(layers) != 4 or min(layers) < 1:
        raise ValueError(f"layers must be 4 positive block counts, got "
                         f"{tuple(layers)}")
    g = GraphBuilder("resnet50", seed)
    x = g.input("input", FLOAT, [batch, 3, height, width])
    x = g.conv(x, 3, base_width, 7, stride=2, name="conv1")
    x = g.batch_norm(x, base_width, name="bn1")
    x = g.node("Relu", [x], name="relu")
    x = g.node("MaxPool", [x], name="maxpool", kernel_shape=[3, 3],
               strides=[2, 2], pads=[1, 1, 1, 1])
    channels = base_width
    for stage, blocks in enumerate(layers):
        planes = base_width * 2 ** stage
        for block in range(blocks):
            stride = 2 if stage > 0 and block == 0 else 1
            with g.scope(f"layer{stage + 1}.{block}"):
                x = _bottleneck(g, x, channels, planes, stride)
            channels = planes * 4
    x = g.node("GlobalAveragePool", [x], name="avgpool")
    x = g.node("Flatten", [x], name="flatten", axis=1)
    x = g.linear_gemm(x, channels, num_classes, name="fc", gain=1.0)
    g.output(x, "logits", FLOAT, [batch, num_classes])
    return g.model(f"ResNet (Bottleneck {tuple(layers)}, width {base_width})")


def _bottleneck(g: GraphBuilder, x: str, in_channels: int, planes: int,
                stride: int) -> str:
    """1x1 reduce, 3x3 (strided), 1x1 expand by 4, plus the shortcut (a
    strided 1x1 Conv + BN where the shape changes)."""
    out_channels = planes * 4
    y = g.conv(x, in_channels, planes, 1, name="conv1")
    y = g.node("Relu", [g.batch_norm(y, planes, name="bn1")], name="relu1")
    y = g.conv(y, planes, planes, 3, stride=stride, name="conv2")
    y = g.node("Relu", [g.batch_norm(y, planes, name="bn2")], name="relu2")
    y = g.conv(y, planes, out_channels, 1, name="conv3")
    # A small last scale keeps the residual sum from growing with depth (a
    # trained ResNet's, or torchvision's zero_init_residual, does the same).
    y = g.batch_norm(y, out_channels, name="bn3", scale_range=(0.1, 0.3))
    if stride != 1 or in_channels != out_channels:
        shortcut = g.conv(x, in_channels, out_channels, 1, stride=stride,
                          name="downsample.0")
        shortcut = g.batch_norm(shortcut, out_channels, name="downsample.1")
    else:
        shortcut = x
    y = g.node("Add", [y, shortcut], name="add")
    return g.node("Relu", [y], name="relu3")
