"""python3 -m sparse_opt.models NAME -o MODEL.onnx [options]: writes one of
the builders' models (see docs/frontend.md)."""

from __future__ import annotations

import argparse
import os
import sys

import numpy as np

from . import BUILDERS, OPSET, save_model


def _dims(text: str) -> tuple[int, ...]:
    try:
        dims = tuple(int(d) for d in text.lower().split("x"))
    except ValueError:
        dims = ()
    if not dims or min(dims) < 1:
        raise argparse.ArgumentTypeError(
            f"expected positive sizes joined by 'x' (e.g. 224 or 160x128), "
            f"got {text!r}")
    return dims


def _batch(text: str) -> int | str:
    """A positive batch size or a symbolic name (a dynamic dimension)."""
    if text.isdigit() and int(text) > 0:
        return int(text)
    if text.isidentifier():
        return text
    raise argparse.ArgumentTypeError(
        f"expected a positive integer or a dimension name, got {text!r}")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python3 -m sparse_opt.models",
        description=f"Write an ONNX model (opset {OPSET}) with seeded random "
                    f"weights.")
    parser.add_argument("name", choices=sorted(BUILDERS))
    parser.add_argument("-o", "--output", required=True, help="model file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--external-data", action="store_true",
                        help="weights in OUTPUT.data next to the model")
    parser.add_argument("--force", action="store_true",
                        help="overwrite OUTPUT if it exists")
    parser.add_argument("--batch", type=_batch, default=1,
                        help="batch size, or a name for a dynamic batch")
    parser.add_argument("--num-classes", type=int,
                        help="resnet50, mobilenetv2, mlp: outputs (1000 / "
                             "1000 / 10)")
    cnn = parser.add_argument_group("resnet50 / mobilenetv2")
    cnn.add_argument("--image-size", type=_dims,
                     help="H or HxW (224)")
    cnn.add_argument("--width-mult", type=float,
                     help="mobilenetv2 width multiplier (1.0)")
    cnn.add_argument("--base-width", type=int,
                     help="resnet50 first-stage width (64)")
    cnn.add_argument("--layers", type=_dims,
                     help="resnet50 blocks per stage (3x4x6x3)")
    mlp = parser.add_argument_group("mlp")
    mlp.add_argument("--in-features", type=int, help="(256)")
    mlp.add_argument("--hidden", type=_dims, help="widths, e.g. 512x256")
    mlp.add_argument("--linear", choices=["gemm", "matmul"])
    mlp.add_argument("--activation", choices=["relu", "sigmoid", "tanh"])
    bert = parser.add_argument_group("bert")
    bert.add_argument("--num-layers", type=int, help="(12)")
    bert.add_argument("--hidden-size", type=int, help="(768)")
    bert.add_argument("--heads", type=int, help="(12)")
    bert.add_argument("--intermediate", type=int, help="(4 x hidden)")
    bert.add_argument("--seq-len", type=int, help="(128)")
    bert.add_argument("--vocab-size", type=int, help="(30522)")
    bert.add_argument("--layer-norm", choices=["fused", "decomposed"])
    bert.add_argument("--attention-mask", choices=["add", "where", "none"])
    bert.add_argument("--no-token-type-ids", action="store_true")
    bert.add_argument("--shape-ops", choices=["static", "dynamic"])
    bert.add_argument("--attention-pattern", metavar="SPEC",
                      help="static sparse attention pattern, e.g. window:64 "
                           "or bigbird:window=64,global=2,random=3")
    bert.add_argument("--pattern-form", choices=["add", "where"],
                      help="how the pattern mask is applied (the padding "
                           "mask's form)")
    return parser


# Command-line option -> {model: builder keyword}.
_CNN = {"resnet50", "mobilenetv2"}
_OPTIONS = {
    "num_classes": {"resnet50": "num_classes", "mobilenetv2": "num_classes",
                    "mlp": "out_features"},
    "image_size": dict.fromkeys(_CNN, "image_size"),
    "width_mult": {"mobilenetv2": "width_mult"},
    "base_width": {"resnet50": "base_width"},
    "layers": {"resnet50": "layers"},
    "in_features": {"mlp": "in_features"},
    "hidden": {"mlp": "hidden"},
    "linear": {"mlp": "linear"},
    "activation": {"mlp": "activation"},
    "num_layers": {"bert": "num_layers"},
    "hidden_size": {"bert": "hidden"},
    "heads": {"bert": "heads"},
    "intermediate": {"bert": "intermediate"},
    "seq_len": {"bert": "seq_len"},
    "vocab_size": {"bert": "vocab_size"},
    "layer_norm": {"bert": "layer_norm"},
    "attention_mask": {"bert": "attention_mask"},
    "shape_ops": {"bert": "shape_ops"},
    "attention_pattern": {"bert": "attention_pattern"},
    "pattern_form": {"bert": "pattern_form"},
}


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    keywords = {"seed": args.seed, "batch": args.batch}
    for option, models in _OPTIONS.items():
        value = getattr(args, option)
        if value is None:
            continue
        if args.name not in models:
            parser.error(f"--{option.replace('_', '-')} does not apply to "
                         f"{args.name}")
        if option == "image_size":
            if len(value) > 2:
                parser.error("--image-size is H or HxW")
            value = value[0] if len(value) == 1 else value
        if option == "attention_mask" and value == "none":
            value = None
        keywords[models[args.name]] = value
    if args.no_token_type_ids:
        if args.name != "bert":
            parser.error("--no-token-type-ids applies to bert only")
        keywords["token_type_ids"] = False
    if os.path.exists(args.output) and not args.force:
        parser.error(f"{args.output} exists; pass --force to overwrite it")
    try:
        model = BUILDERS[args.name](**keywords)
        written = save_model(model, args.output,
                             external_data=args.external_data,
                             overwrite=args.force)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    parameters = sum(int(np.prod(t.dims)) for t in model.graph.initializer)
    inputs = ", ".join(
        f"{i.name}[{'x'.join(d.dim_param or str(d.dim_value) for d in i.type.tensor_type.shape.dim)}]"
        for i in model.graph.input)
    print(f"{args.name}: {parameters:,} parameters, inputs {inputs}, "
          f"wrote {', '.join(map(str, written))}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
