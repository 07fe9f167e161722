#!/usr/bin/env python3
"""Whole-model calls with and without the libraries' buffer cache (pipeline
option `reuse-large-buffers`): one model built by sparse_opt.models and
pruned, compiled twice, each build timed in processes of its own that load
nothing else, as an application's would, with its minor page faults per
call and peak resident memory (getrusage) and its outputs compared with the other build's (they must
be identical: only where the buffers come from differs).

    bench/allocations.py [--model resnet50] [--prune magnitude]
                         [--sparsity 0.7] [--formats csr] [--threads 1]
                         [--repeat 5] [--rounds 3]

Not in one process with onnxruntime (bench/model.py): freeing its own large
blocks raises glibc's dynamic mmap and trim thresholds for the whole
process, after which our temporaries stop being unmapped there too. Each
round starts one process per build, alternately; a build's time is its best
call over all rounds. Prints a Markdown table.
"""

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from common import PRUNINGS, ROOT, benchmark_environment, set_threads

sys.path.insert(0, os.path.join(ROOT, "python"))

from sparse_opt import Library, models, prune  # noqa: E402
from sparse_opt.onnx_frontend import (CompiledModel, compile_onnx,  # noqa: E402
                                      random_inputs)

VARIANTS = {"reused": "reuse-large-buffers=true",
            "malloc": "reuse-large-buffers=false"}


def child(spec_path):
    """Times one build in this fresh process: the spec (JSON) names the
    library, entry, inputs and where to write the outputs."""
    with open(spec_path) as f:
        spec = json.load(f)
    inputs = dict(np.load(spec["inputs"]))
    model = CompiledModel(Library(spec["library"]), spec["entry"],
                          spec["input_names"], spec["output_names"])
    set_threads(model.library, spec["threads"])
    outputs = model.run(inputs)
    model.run(inputs)
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    best = float("inf")
    for _ in range(spec["repeat"]):
        start = time.perf_counter()
        model.run(inputs)
        best = min(best, time.perf_counter() - start)
    faults = resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
    np.savez(spec["outputs"], **outputs)
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps(dict(seconds=best, faults=faults / spec["repeat"],
                          peak_mib=peak_mib)))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", choices=sorted(models.BUILDERS),
                        default="resnet50")
    parser.add_argument("--prune", choices=sorted(PRUNINGS) + ["none"],
                        default="magnitude")
    parser.add_argument("--sparsity", type=float, default=0.7)
    parser.add_argument("--formats", default="csr",
                        help="the weight-formats of both builds")
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child)
        return
    os.environ.update(benchmark_environment())
    work = tempfile.mkdtemp(prefix="sparse-opt-allocations-")
    model = models.BUILDERS[args.model](seed=args.seed)
    if args.prune != "none":
        prune.prune_model(model, **PRUNINGS[args.prune](args.sparsity))
    path = os.path.join(work, "model.onnx")
    models.save_model(model, path)
    inputs = random_inputs(path, seed=args.seed)
    np.savez(os.path.join(work, "inputs.npz"), **inputs)
    specs = {}
    for name, options in VARIANTS.items():
        library = os.path.join(work, f"{name}.so")
        compiled = compile_onnx(
            path, library, header=False,
            pipeline_options=f"weight-formats={args.formats} {options}")
        specs[name] = os.path.join(work, f"{name}.json")
        with open(specs[name], "w") as f:
            json.dump(dict(library=library, entry=compiled.entry,
                           input_names=compiled.input_names,
                           output_names=compiled.output_names,
                           inputs=os.path.join(work, "inputs.npz"),
                           outputs=os.path.join(work, f"{name}-out.npz"),
                           threads=args.threads, repeat=args.repeat), f)
        compiled.library.close()
    seconds = dict.fromkeys(VARIANTS, float("inf"))
    faults = dict.fromkeys(VARIANTS, 0.0)
    peak = dict.fromkeys(VARIANTS, 0.0)
    for _ in range(args.rounds):
        for name in VARIANTS:
            done = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--child",
                 specs[name]], capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(f"error: the {name} build failed:\n{done.stderr}")
            result = json.loads(done.stdout.splitlines()[-1])
            seconds[name] = min(seconds[name], result["seconds"])
            faults[name] = max(faults[name], result["faults"])
            peak[name] = max(peak[name], result["peak_mib"])
    outputs = {name: np.load(os.path.join(work, f"{name}-out.npz"))
               for name in VARIANTS}
    for key in outputs["malloc"].files:
        if not np.array_equal(outputs["reused"][key], outputs["malloc"][key]):
            sys.exit(f"error: output {key} differs between the builds")
    print(f"\n{args.model}, {args.prune}"
          f"{'' if args.prune in ('nm', 'none') else f' {args.sparsity}'}, "
          f"weight-formats={args.formats}, {args.threads} thread(s), best of "
          f"{args.repeat} calls x {args.rounds} processes each; outputs "
          f"identical\n")
    print("| build | ms per call | minor page faults per call | peak "
          "resident MiB |")
    print("|---|---|---|---|")
    for name in VARIANTS:
        print(f"| {name} ({VARIANTS[name]}) | {seconds[name] * 1e3:.1f} | "
              f"{faults[name]:.0f} | {peak[name]:.0f} |")
    print(f"\nreused vs malloc: {seconds['malloc'] / seconds['reused']:.2f}x")


if __name__ == "__main__":
    main()
