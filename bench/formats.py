#!/usr/bin/env python3
"""Whole models, the automatic weight-format choice against all-dense and
all-CSR: ResNet-50, MobileNetV2 and BERT-base (sparse_opt.models), pruned
unstructured, in 4x4 blocks (each at every --sparsity) and 2:4, each
compiled with

- dense: `weight-formats=dense`, every weight dense (one library per model,
  of the unpruned weights, checked on those: its time does not depend on
  the zeros);
- csr: `weight-formats=csr weight-min-sparsity=0.3`, every pruned weight
  CSR (a layer pruning left dense, e.g. a depthwise filter, stays dense);
- auto: `weight-formats=auto`, the calibrated cost model's choice per layer
  (the shipped cost-models/ file unless --cost-model);

    bench/formats.py [--models resnet50,mobilenetv2,bert]
                     [--sparsity 0.5,0.7,0.8,0.9,0.95] [--prune magnitude,block,nm]
                     [--threads 1] [--repeat 5] [--rounds 3]
                     [--model-option bert:num_layers=4 ...] [--cost-model FILE]
                     [--csv bench/results/formats.csv]

Convolutions become im2col products in every variant (`conv-to-matmul=all`,
the pipeline default), so that the three differ only in the storage of the
weights. Every library's outputs are checked against onnxruntime on the same
inputs before it is timed. Per pruned model the three libraries are timed
in --rounds rounds, each the best of --repeat calls after a warm-up, the
best round kept (a burst of load from other processes then hits all three
alike). Each round also gives its own ratio of the faster baseline to auto;
their spread (min / median / max, and in how many rounds auto was faster)
is the noise the best-of-rounds ratio is to be judged against. Prints a
Markdown table with that and what auto chose (layers per format, from the
`--sparse-opt-report` JSON), and writes every row to the CSV.
"""

import argparse
import collections
import json
import os
import statistics
import sys
import tempfile
import time

import numpy as np

from common import (PRUNINGS, ROOT, benchmark_environment, geomean,
                    interleaved_rounds, round_ratios, set_threads, write_csv)

sys.path.insert(0, os.path.join(ROOT, "python"))

from sparse_opt import models, prune  # noqa: E402
from sparse_opt.onnx_frontend import (compile_onnx, random_inputs,  # noqa: E402
                                      run_onnxruntime)

# The project's models at their real sizes: batch 1, 224 x 224 images,
# BERT-base at sequence 128.
MODEL_OPTIONS = {"resnet50": {}, "mobilenetv2": {}, "bert": {}}
PIPELINES = {
    "dense": "weight-formats=dense",
    "csr": "weight-formats=csr weight-min-sparsity=0.3",
    "auto": "weight-formats=auto",
}


def parse_model_options(pairs):
    options = {name: dict(o) for name, o in MODEL_OPTIONS.items()}
    for pair in pairs:
        name, _, assignment = pair.partition(":")
        key, _, value = assignment.partition("=")
        if name not in options or not value:
            sys.exit(f"error: --model-option expects MODEL:KEY=VALUE with "
                     f"MODEL one of {sorted(options)}, found '{pair}'")
        options[name][key.replace("-", "_")] = eval(value, {}, {})
    return options


def chosen_formats(report_path):
    """'csr 52, dense 2' from a --sparse-opt-report JSON file."""
    with open(report_path) as f:
        layers = json.load(f)["layers"]
    counts = collections.Counter(layer.get("format", "?") for layer in layers)
    return ", ".join(f"{fmt} {count}" for fmt, count in counts.most_common())


def check(name, compiled, inputs, expected):
    results = compiled.run(inputs)
    # float32 differences of summation order and exp / erf approximations
    # add up over the layers (as in python/tests/test_onnx_frontend.py).
    scale = max(float(np.abs(v).max()) for v in expected.values())
    for output, want in expected.items():
        if not np.allclose(results[output], want, rtol=1e-3,
                           atol=max(1e-5, 1e-4 * scale)):
            error = float(np.abs(results[output] - want).max())
            sys.exit(f"error: {name}: output {output} differs from "
                     f"onnxruntime (max error {error:.3g})")


def bench_model(name, options, args, work):
    build = models.BUILDERS[name]
    base = build(seed=args.seed, **options)
    path = os.path.join(work, f"{name}.onnx")
    models.save_model(base, path)
    inputs = random_inputs(path, seed=args.seed)

    def compile_variant(model_path, variant, tag):
        report = os.path.join(work, f"{tag}-{variant}.json")
        pipeline = f"{PIPELINES[variant]} {args.pipeline_options}".strip()
        if variant == "auto" and args.cost_model:
            pipeline += f" cost-model={args.cost_model}"
        start = time.perf_counter()
        compiled = compile_onnx(
            model_path, os.path.join(work, f"{tag}-{variant}.so"),
            pipeline_options=pipeline, header=False,
            extra_arguments=[f"--sparse-opt-report={report}",
                             "--sparse-opt-report-format=json"])
        print(f"  {tag} {variant}: compiled in "
              f"{time.perf_counter() - start:.0f} s", file=sys.stderr)
        return compiled, report

    dense, _ = compile_variant(path, "dense", name)
    check(f"{name} dense", dense, inputs, run_onnxruntime(path, inputs))
    rows = []
    for method in args.prune:
        for sparsity in ([None] if method == "nm" else args.sparsity):
            model = build(seed=args.seed, **options)
            prune.prune_model(model, **PRUNINGS[method](sparsity))
            label = "2:4" if method == "nm" else f"{method} {sparsity}"
            tag = f"{name}-{method}-{sparsity}"
            pruned_path = os.path.join(work, f"{tag}.onnx")
            models.save_model(model, pruned_path)
            expected = run_onnxruntime(pruned_path, inputs)
            libraries = {"dense": dense}
            reports = {}
            for variant in ("csr", "auto"):
                libraries[variant], reports[variant] = compile_variant(
                    pruned_path, variant, tag)
                check(f"{name} {label} {variant}", libraries[variant],
                      inputs, expected)
            for threads in args.threads:
                per_round = interleaved_rounds(
                    {variant: (lambda library=library: library.run(inputs))
                     for variant, library in libraries.items()},
                    args.rounds, args.repeat,
                    before=lambda variant: set_threads(
                        libraries[variant].library, threads))
                timed = {v: min(t) for v, t in per_round.items()}
                ratios = round_ratios(per_round, ("dense", "csr"), "auto")
                best = min(timed["dense"], timed["csr"])
                rows.append(dict(
                    model=name, pruning=label, threads=threads,
                    dense_ms=timed["dense"] * 1e3, csr_ms=timed["csr"] * 1e3,
                    auto_ms=timed["auto"] * 1e3,
                    auto_vs_best=best / timed["auto"],
                    rounds_min=min(ratios),
                    rounds_median=statistics.median(ratios),
                    rounds_max=max(ratios),
                    rounds_auto_faster=sum(r > 1 for r in ratios),
                    auto_vs_dense=timed["dense"] / timed["auto"],
                    auto_vs_csr=timed["csr"] / timed["auto"],
                    auto_chose=chosen_formats(reports["auto"]),
                    csr_chose=chosen_formats(reports["csr"])))
                print(f"  {rows[-1]}", file=sys.stderr)
            for variant in ("csr", "auto"):
                libraries[variant].close()
                os.remove(os.path.join(work, f"{tag}-{variant}.so"))
    dense.close()
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--models", default=",".join(MODEL_OPTIONS))
    parser.add_argument("--sparsity", default="0.5,0.7,0.8,0.9,0.95")
    parser.add_argument("--prune", default=",".join(PRUNINGS))
    parser.add_argument("--threads", default="1")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--model-option", action="append", default=[],
                        help="builder option MODEL:KEY=VALUE")
    parser.add_argument("--cost-model", default="",
                        help="cost model file for auto (default: shipped)")
    parser.add_argument("--pipeline-options", default="",
                        help="more pipeline options for every variant")
    parser.add_argument("--csv", default=os.path.join(
        ROOT, "bench", "results", "formats.csv"))
    args = parser.parse_args()
    names = args.models.split(",")
    options = parse_model_options(args.model_option)
    unknown = sorted(set(names) - set(MODEL_OPTIONS))
    args.prune = args.prune.split(",")
    unknown += sorted(set(args.prune) - set(PRUNINGS))
    if unknown:
        sys.exit(f"error: unknown models or prunings {unknown}; models: "
                 f"{list(MODEL_OPTIONS)}, prunings: {list(PRUNINGS)}")
    args.sparsity = [float(s) for s in args.sparsity.split(",")]
    args.threads = [int(t) for t in args.threads.split(",")]
    os.environ.update(benchmark_environment())
    os.environ.setdefault("KMP_BLOCKTIME", "0")

    rows = []
    with tempfile.TemporaryDirectory(prefix="sparse-opt-formats-") as work:
        for name in names:
            rows += bench_model(name, options[name], args, work)
    write_csv(args.csv, rows)

    print(f"\nWhole models, batch 1, best of {args.rounds} rounds of "
          f"{args.repeat} calls; auto vs best = min(dense, csr) / auto\n")
    print("| model | pruning | threads | dense ms | csr ms | auto ms "
          "| auto vs best | per round: min / median / max | auto faster "
          "| auto chose | csr build |")
    print("|---" * 11 + "|")
    for r in rows:
        print(f"| {r['model']} | {r['pruning']} | {r['threads']} "
              f"| {r['dense_ms']:.1f} | {r['csr_ms']:.1f} "
              f"| {r['auto_ms']:.1f} | {r['auto_vs_best']:.2f}x "
              f"| {r['rounds_min']:.2f} / {r['rounds_median']:.2f} / "
              f"{r['rounds_max']:.2f} "
              f"| {r['rounds_auto_faster']}/{args.rounds} "
              f"| {r['auto_chose']} | {r['csr_chose']} |")
    print(f"\ngeomean auto vs best: "
          f"{geomean([r['auto_vs_best'] for r in rows]):.2f}x; worst "
          f"{min(r['auto_vs_best'] for r in rows):.2f}x")


if __name__ == "__main__":
    main()
