#!/usr/bin/env python3
"""Sparse convolutions on ResNet-50's layer shapes: im2col + CSR SpMM
(sparse-opt-convolution-to-matmul, then sparse-opt-select-weight-formats)
against the dense convolution as sparse-opt compiles it (im2col + the
dense kernel) and against onnxruntime, in one run.

    bench/conv.py [--layers stem,layer1.conv2,...] [--sparsity 0.7,0.9]
                  [--threads 1,2] [--repeat 5] [--rounds 5] [--batch 1]
                  [--csv PATH] [--csr-options "spmm-k-block=0"]
                  [--versus-options "conv-panel-bytes=0"]

Each layer is one ONNX Conv with a bias (a ResNet-50 convolution with its
batch-norm folded in), at 224 x 224 input resolution and batch 1 by default,
its weight magnitude-pruned per layer by sparse_opt.prune to each sparsity.
For each layer it times, on each thread count, these variants in turn,
--rounds times, each time the best of --repeat calls after one warm-up call,
keeping each variant's best (a call includes copying the input and the
result in and out; no thread pool spins between calls, so the variants
share the cores fairly):

- onnxruntime's CPU provider on the pruned model (dense kernels: its time
  does not depend on the zeros, so it is timed on one pruned model);
- sparse-opt, dense: sparse-compile with the default options (im2col +
  the dense register-tiled kernel, conv-to-matmul=all);
- sparse-opt, CSR: sparse-compile with weight-formats=csr
  weight-min-sparsity=0 (every
  filter converted, whatever its sparsity) and --csr-options at each
  sparsity;
- with --versus-options: CSR builds with those options instead (e.g. the
  patches built whole, conv-panel-bytes=0), and the gain of the default
  ones over them;
- im2col only: the same CSR build of a filter with one non-zero, whose
  product costs nothing: the patches copy, the bias and the call, i.e. what
  a direct sparse convolution could save at most.

Every output is checked against onnxruntime (rtol 1e-3, atol 1e-4 x the
largest output). Prints a Markdown table and writes every row to the CSV
(default bench/results/conv.csv). The machine this was written on is shared
and noisy: compare ratios within one run.
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np

from common import (ROOT, benchmark_environment, best_of, geomean,
                    set_threads, write_csv)

sys.path.insert(0, os.path.join(ROOT, "python"))

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from sparse_opt import models, prune  # noqa: E402
from sparse_opt.onnx_frontend import compile_onnx, run_onnxruntime  # noqa: E402

# ResNet-50 (v1.5) convolutions at 224 x 224: name -> (input channels,
# output channels, kernel, stride, input size). Padding is kernel // 2.
LAYERS = {
    "stem": (3, 64, 7, 2, 224),
    "layer1.conv1": (64, 64, 1, 1, 56),
    "layer1.conv2": (64, 64, 3, 1, 56),
    "layer1.conv3": (64, 256, 1, 1, 56),
    "layer2.conv2": (128, 128, 3, 2, 56),
    "layer3.conv1": (1024, 256, 1, 1, 14),
    "layer3.conv2": (256, 256, 3, 1, 14),
    "layer4.conv2": (512, 512, 3, 1, 7),
}


def conv_model(layer, batch, seed):
    in_channels, out_channels, kernel, stride, size = LAYERS[layer]
    rng = np.random.default_rng(seed)
    weight = (rng.standard_normal((out_channels, in_channels, kernel, kernel))
              * np.sqrt(2.0 / (in_channels * kernel * kernel))
              ).astype(np.float32)
    bias = rng.uniform(-0.1, 0.1, out_channels).astype(np.float32)
    pad = kernel // 2
    node = helper.make_node("Conv", ["input", "weight", "bias"], ["output"],
                            name=layer, kernel_shape=[kernel, kernel],
                            strides=[stride, stride], pads=[pad] * 4)
    graph = helper.make_graph(
        [node], layer,
        [helper.make_tensor_value_info("input", TensorProto.FLOAT,
                                       [batch, in_channels, size, size])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(weight, "weight"),
         numpy_helper.from_array(bias, "bias")])
    return helper.make_model(graph, opset_imports=[
        helper.make_opsetid("", models.OPSET)], ir_version=models.IR_VERSION)


def one_nonzero(model):
    """`model` with its filter zeroed but for one element."""
    weight = model.graph.initializer[0]
    values = np.zeros_like(numpy_helper.to_array(weight))
    values.flat[0] = 1.0
    weight.CopyFrom(numpy_helper.from_array(values, weight.name))
    return model


def checked(name, compiled, inputs, expected):
    actual = compiled.run(inputs)["output"]
    want = expected["output"]
    atol = max(1e-5, 1e-4 * float(np.abs(want).max()))
    if not np.allclose(actual, want, rtol=1e-3, atol=atol):
        sys.exit(f"error: {name}: output differs from onnxruntime (max "
                 f"error {float(np.abs(actual - want).max()):.3g})")


def bench_layer(layer, args, work, thread_counts):
    import onnxruntime

    in_channels, out_channels, kernel, stride, size = LAYERS[layer]
    out_size = (size + 2 * (kernel // 2) - kernel) // stride + 1
    flops = 2 * args.batch * out_channels * in_channels * kernel * kernel \
        * out_size * out_size
    rng = np.random.default_rng(args.seed)
    inputs = {"input": rng.standard_normal(
        (args.batch, in_channels, size, size)).astype(np.float32)}

    paths = {}
    for sparsity in args.sparsity:
        model = conv_model(layer, args.batch, args.seed)
        prune.prune_model(model, method="magnitude", sparsity=sparsity)
        paths[sparsity] = os.path.join(work, f"{layer}-{sparsity}.onnx")
        models.save_model(model, paths[sparsity])
    paths["im2col"] = os.path.join(work, f"{layer}-im2col.onnx")
    models.save_model(one_nonzero(conv_model(layer, args.batch, args.seed)),
                      paths["im2col"])
    expected = {key: run_onnxruntime(path, inputs)
                for key, path in paths.items()}

    def build(key, pipeline, tag):
        start = time.perf_counter()
        compiled = compile_onnx(paths[key], os.path.join(
            work, f"{layer}-{key}-{tag}.so"),
            pipeline_options=pipeline, header=False)
        print(f"  compiled {layer} {key} {pipeline or 'dense'} in "
              f"{time.perf_counter() - start:.1f} s", file=sys.stderr)
        checked(f"{layer} {key} {pipeline or 'dense'}", compiled, inputs,
                expected[key])
        return compiled

    dense = build(args.sparsity[0], None, "dense")
    csr = {key: build(key, f"weight-formats=csr weight-min-sparsity=0 {args.csr_options}".strip(),
                      "csr")
           for key in [*args.sparsity, "im2col"]}
    if args.versus_options is not None:
        for sparsity in args.sparsity:
            csr[("versus", sparsity)] = build(
                sparsity, f"weight-formats=csr weight-min-sparsity=0 "
                f"{args.versus_options}", "vs")
    rows = []
    for threads in thread_counts:
        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        # No spinning between calls, neither here nor in libomp
        # (KMP_BLOCKTIME=0): the variants take turns on the same cores.
        options.add_session_config_entry("session.intra_op.allow_spinning",
                                         "0")
        session = onnxruntime.InferenceSession(
            paths[args.sparsity[0]], options,
            providers=["CPUExecutionProvider"])
        variants = {"onnxruntime": (lambda: session.run(None, inputs),
                                    args.repeat)}
        set_threads(dense.library, threads)
        variants["dense"] = (lambda: dense.run(inputs), args.repeat)
        for key, compiled in csr.items():
            set_threads(compiled.library, threads)
            variants[key] = (lambda compiled=compiled: compiled.run(inputs),
                             args.repeat)
        # Rounds over all variants, the best of each kept: a burst of load
        # from other processes then hits every variant alike.
        timed = {key: float("inf") for key in variants}
        for _ in range(args.rounds):
            for key, (call, repeat) in variants.items():
                timed[key] = min(timed[key], best_of(repeat, call))
        reference, dense_time = timed["onnxruntime"], timed["dense"]
        for sparsity in args.sparsity:
            rows.append(dict(
                layer=layer, shape=f"{in_channels}->{out_channels} "
                f"{kernel}x{kernel}/{stride} {size}x{size}",
                gflop=flops / 1e9, sparsity=sparsity, threads=threads,
                onnxruntime_ms=reference * 1e3,
                dense_ms=dense_time * 1e3, csr_ms=timed[sparsity] * 1e3,
                im2col_ms=timed["im2col"] * 1e3,
                csr_vs_dense=dense_time / timed[sparsity],
                csr_vs_onnxruntime=reference / timed[sparsity],
                im2col_share=timed["im2col"] / timed[sparsity],
                versus_ms=timed.get(("versus", sparsity), 0.0) * 1e3,
                versus_gain=timed.get(("versus", sparsity), 0.0)
                / timed[sparsity]))
    for compiled in [dense, *csr.values()]:
        compiled.close()
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layers", default=",".join(LAYERS))
    parser.add_argument("--sparsity", default="0.7,0.8,0.9,0.95")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--batch", type=int, default=1)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--csr-options", default="",
                        help="more pipeline options of the CSR builds")
    parser.add_argument("--versus-options", default=None,
                        help="also time CSR builds with these options "
                             "instead, e.g. conv-panel-bytes=0")
    parser.add_argument("--csv", default=os.path.join(ROOT, "bench", "results",
                                                      "conv.csv"))
    args = parser.parse_args()
    args.sparsity = [float(s) for s in args.sparsity.split(",")]
    layers = args.layers.split(",")
    unknown = sorted(set(layers) - set(LAYERS))
    if unknown:
        sys.exit(f"error: unknown layers {unknown}; known: {list(LAYERS)}")
    os.environ.update(benchmark_environment())
    os.environ.setdefault("KMP_BLOCKTIME", "0")
    thread_counts = [int(t) for t in args.threads.split(",")]

    rows = []
    with tempfile.TemporaryDirectory(prefix="sparse-opt-conv-") as work:
        for layer in layers:
            rows += bench_layer(layer, args, work, thread_counts)
    write_csv(args.csv, rows)

    print(f"\nResNet-50 convolutions, batch {args.batch}, bias (folded "
          f"batch-norm), magnitude-pruned per layer, best of {args.rounds} "
          f"rounds of {args.repeat} calls; CSR options: "
          f"'{args.csr_options}'\n")
    versus = args.versus_options is not None
    print("| layer | shape | GFLOP | sparsity | threads | onnxruntime ms "
          "| sparse-opt dense ms | im2col + CSR ms | im2col only ms "
          "| CSR vs dense | CSR vs onnxruntime | im2col share |"
          + (f" CSR with '{args.versus_options}' ms | CSR gain |"
             if versus else ""))
    print("|---" * (14 if versus else 12) + "|")
    for r in rows:
        print(f"| {r['layer']} | {r['shape']} | {r['gflop']:.3f} "
              f"| {r['sparsity']} | {r['threads']} "
              f"| {r['onnxruntime_ms']:.2f} | {r['dense_ms']:.2f} "
              f"| {r['csr_ms']:.2f} | {r['im2col_ms']:.2f} "
              f"| {r['csr_vs_dense']:.2f}x | {r['csr_vs_onnxruntime']:.2f}x "
              f"| {r['im2col_share']:.0%} |"
              + (f" {r['versus_ms']:.2f} | {r['versus_gain']:.2f}x |"
                 if versus else ""))
    print("\n| sparsity | threads | geomean CSR vs onnxruntime "
          "| geomean CSR vs dense | geomean im2col share |"
          + (" geomean CSR gain |" if versus else ""))
    print("|---" * (6 if versus else 5) + "|")
    for sparsity in args.sparsity:
        for threads in thread_counts:
            group = [r for r in rows if r["sparsity"] == sparsity
                     and r["threads"] == threads]
            print(f"| {sparsity} | {threads} "
                  f"| {geomean([r['csr_vs_onnxruntime'] for r in group]):.2f}x "
                  f"| {geomean([r['csr_vs_dense'] for r in group]):.2f}x "
                  f"| {geomean([r['im2col_share'] for r in group]):.0%} |"
                  + (f" {geomean([r['versus_gain'] for r in group]):.2f}x |"
                     if versus else ""))
    print(f"\nCSV: {args.csv}")


if __name__ == "__main__":
    main()
