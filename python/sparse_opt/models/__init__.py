"""ONNX models with seeded random weights, for tests, examples and
benchmarks: ``build_mlp``, ``build_resnet50``, ``build_mobilenet_v2``,
``build_bert`` (and ``build_attention``, one BERT layer's attention
alone). They are written with the ``onnx`` package's helper API in
the form exporters (torch.onnx.export, opset 17) give them; see
docs/frontend.md. The command line is ``python3 -m sparse_opt.models``.
"""

from ._graph import IR_VERSION, OPSET
from ._io import save_model
from .attention_patterns import attention_pattern, parse_attention_pattern
from .bert import build_attention, build_bert
from .mlp import build_mlp
from .mobilenet import build_mobilenet_v2
from .resnet import build_resnet50

BUILDERS = {
    "mlp": build_mlp,
    "resnet50": build_resnet50,
    "mobilenetv2": build_mobilenet_v2,
    "bert": build_bert,
}

__all__ = ["BUILDERS", "IR_VERSION", "OPSET", "attention_pattern",
           "build_attention", "build_bert", "build_mlp", "build_mobilenet_v2", "build_resnet50",
           "parse_attention_pattern", "save_model"]
