#!/usr/bin/env python3
"""Whole models: a model built by sparse_opt.models, pruned by
sparse_opt.prune, compiled by sparse-compile once per weight-format choice
(dense, CSR, the cost model's automatic choice, ...), run next to
onnxruntime on the same inputs, every output checked against onnxruntime.

    bench/model.py [--model bert] [--sparsity 0.9] [--prune magnitude]
                   [--formats dense,csr] [--threads 1,2] [--repeat 10] [--rounds 1]
                   [--model-option layers=4 ...]

--formats lists `weight-formats` values of the pipeline (dense, csr, auto,
bsr:RxC, nm:N:M); a fixed sparse format keeps weights below 0.3 sparsity
dense (`weight-min-sparsity`: layers pruning left dense), auto decides by
itself. --variant NAME=OPTIONS adds a build with other pipeline options.
Models: bert, mlp, resnet50, mobilenetv2 (sparse_opt.models). --prune is
magnitude (to --sparsity), nm (2:4), block (4x4 blocks, to --sparsity) or
none. Each row of the table gives every variant's time, its ratio to
onnxruntime and, with auto among them, auto against the faster of dense
and csr. bench/formats.py sweeps models, prunings and sparsities.

The libraries run in this process through sparse_opt.onnx_frontend's
CompiledModel (the time of a call includes copying the inputs and results,
well under 1% of a model call); thread counts are set per library
(Library.num_threads) and per onnxruntime session (intra_op_num_threads).
Prints a Markdown table.
"""

import argparse
import os
import sys
import tempfile
import time

import numpy as np

from common import (PRUNINGS, ROOT, benchmark_environment, best_of,
                    interleaved_rounds, round_ratios, set_threads)

sys.path.insert(0, os.path.join(ROOT, "python"))

from sparse_opt import models, prune  # noqa: E402
from sparse_opt.onnx_frontend import (compile_onnx, random_inputs,  # noqa: E402
                                      run_onnxruntime)

# The default model: a 4-layer BERT encoder (hidden 512, 8 heads, FFN 2048,
# sequence 128): its 24 projection weights are what pruning sparsifies.
DEFAULT_OPTIONS = {
    "bert": dict(num_layers=4, hidden=512, heads=8, intermediate=2048,
                 seq_len=128, vocab_size=2000),
    "mlp": dict(in_features=1024, hidden=(4096, 4096), out_features=1000,
                batch=64),
    "resnet50": {},
    "mobilenetv2": {},
}


def parse_model_options(pairs):
    options = {}
    for pair in pairs:
        key, _, value = pair.partition("=")
        if not value:
            sys.exit(f"error: --model-option expects KEY=VALUE, found '{pair}'")
        options[key.replace("-", "_")] = eval(value, {}, {})  # numbers, tuples
    return options


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=sorted(DEFAULT_OPTIONS),
                        default="bert")
    parser.add_argument("--model-option", action="append", default=[],
                        help="builder option KEY=VALUE (overrides defaults)")
    parser.add_argument("--sparsity", type=float, default=0.9)
    parser.add_argument("--prune", choices=sorted(PRUNINGS) + ["none"],
                        default="magnitude")
    parser.add_argument("--formats", default="dense,csr",
                        help="comma-separated weight-formats to compile "
                             "with (dense, csr, auto, bsr:RxC, nm:N:M)")
    parser.add_argument("--variant", action="append", default=[],
                        help="NAME=PIPELINE-OPTIONS: also compile with these "
                             "pipeline options (e.g. direct=conv-to-matmul=none)")
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=1,
                        help="rounds over all variants, each variant's best "
                             "kept (interleaves them, so that a burst of "
                             "load on the machine does not decide a ratio)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    os.environ.update(benchmark_environment())
    import onnxruntime

    options = {**DEFAULT_OPTIONS[args.model],
               **parse_model_options(args.model_option)}
    build = models.BUILDERS[args.model]
    work = tempfile.mkdtemp(prefix="sparse-opt-model-")
    model = build(seed=args.seed, **options)
    if args.prune != "none":
        prune.prune_model(model, **PRUNINGS[args.prune](args.sparsity))
    pipelines = {}
    for name in (f for f in args.formats.split(",") if f):
        pipelines[name] = f"weight-formats={name}"
        if name not in ("dense", "auto"):
            pipelines[name] += " weight-min-sparsity=0.3"
    for variant in args.variant:
        name, _, options = variant.partition("=")
        if not name or name in pipelines:
            sys.exit(f"error: --variant expects a new NAME=PIPELINE-OPTIONS, "
                     f"found '{variant}'")
        pipelines[name] = options
    path = os.path.join(work, "model.onnx")
    models.save_model(model, path)
    inputs = random_inputs(path, seed=args.seed)
    expected = run_onnxruntime(path, inputs)
    # As the model tests (python/tests/test_onnx_frontend.py): float32
    # differences of summation order and exp / erf approximations add up
    # over the layers.
    scale = max(float(np.abs(v).max()) for v in expected.values())
    tolerances = dict(rtol=1e-3, atol=max(1e-5, 1e-4 * scale))

    # onnxruntime first: once a compiled library has run, libomp's workers
    # spin for a while after each call and would take the second core from
    # onnxruntime's own thread pool.
    thread_counts = [int(t) for t in args.threads.split(",")]
    reference = {}
    for threads in thread_counts:
        session_options = onnxruntime.SessionOptions()
        session_options.intra_op_num_threads = threads
        session = onnxruntime.InferenceSession(
            path, session_options, providers=["CPUExecutionProvider"])
        reference[threads] = best_of(args.repeat,
                                     lambda: session.run(None, inputs))

    compiled = {}
    for name, pipeline in pipelines.items():
        start = time.perf_counter()
        compiled[name] = compile_onnx(path, os.path.join(work, f"{name}.so"),
                                      pipeline_options=pipeline)
        print(f"compiled {name} in {time.perf_counter() - start:.1f} s",
              file=sys.stderr)
    print(f"\n{args.model} {options}, pruned ({args.prune}"
          f"{'' if args.prune in ('nm', 'none') else f' to {args.sparsity}'}), "
          f"best of {args.repeat} x {args.rounds} rounds; the machine is shared, so ratios are "
          f"indicative\n")
    auto_vs = "auto" in compiled and {"dense", "csr"} <= set(compiled)
    print("| threads | onnxruntime ms | "
          + " | ".join(f"{name} ms" for name in compiled) + " | "
          + " | ".join(f"{name} vs onnxruntime" for name in compiled)
          + (" | auto vs best of dense, csr" if auto_vs else "")
          + " | max error |")
    print("|---|---|" + "---|" * (2 * len(compiled) + auto_vs + 1))
    for threads in thread_counts:
        error = 0.0
        for name, model in compiled.items():
            set_threads(model.library, threads)
            results = model.run(inputs)
            for output, want in expected.items():
                actual = results[output]
                if not np.allclose(actual, want, **tolerances):
                    sys.exit(f"error: {name} output differs from onnxruntime "
                             f"beyond {tolerances}")
                error = max(error, float(np.abs(actual - want).max()))
        per_round = interleaved_rounds(
            {name: (lambda model=model: model.run(inputs))
             for name, model in compiled.items()},
            args.rounds, args.repeat,
            before=lambda name: set_threads(compiled[name].library, threads))
        timed = {name: min(t) for name, t in per_round.items()}
        row = [f"{threads}", f"{reference[threads] * 1e3:.2f}"]
        row += [f"{timed[name] * 1e3:.2f}" for name in compiled]
        row += [f"{reference[threads] / timed[name]:.2f}x"
                for name in compiled]
        if auto_vs:
            ratios = round_ratios(per_round, ("dense", "csr"), "auto")
            row.append(f"{min(timed['dense'], timed['csr']) / timed['auto']:.2f}x"
                       f" (rounds {min(ratios):.2f}-{max(ratios):.2f}, "
                       f"faster in {sum(r > 1 for r in ratios)}/{len(ratios)})")
        row.append(f"{error:.1e}")
        print("| " + " | ".join(row) + " |")


if __name__ == "__main__":
    main()
