#!/usr/bin/env python3
"""The SpMM kernels' narrow column tiles, this build against another: CSR
and N:M products whose N leaves tiles narrower than n-tile (N = 49, 112,
196, 784 on ResNet-50's and MobileNetV2's shapes; 768 x 768 at N = 128,
whole tiles only, as the control), each compiled by both builds' sparse-
compile and timed in the same rounds. How the accumulator sets of narrow
tiles (docs/pipelines.md, CSR SpMM) were measured:

    bench/tail_tiles.py --baseline OTHER_BUILD [--repeat 7] [--rounds 5]
                        [--csv PATH]

OTHER_BUILD is a build directory of another revision (its bin/sparse-
compile; e.g. a `git worktree` of the parent commit built with
scripts/build.sh). Weights are random (fixed seed): CSR uniformly at 0.7
and 0.9, N:M 2:4 and 4:8. Every product is W B, timed with
scripts/calibrate.py's harness (result checked against numpy, best of
--repeat calls over --rounds rounds, caches flushed before each call, the
harness's own call time taken off). Prints a Markdown table and writes the
CSV (default bench/results/tail_tiles.csv).
"""

import argparse
import os

import numpy as np

from common import ROOT, benchmark_environment, product_harness, write_csv

# (rows, cols, [N]): N = 49 has 4-, 2-vector and masked tiles only (8
# lanes, n-tile 8), 112 a full tile then 4 and 2, 196 three full tiles and
# a masked vector, 784 twelve and a 2-vector tile, 128 two full tiles.
SHAPES = [(64, 576, [112]), (2048, 512, [49]), (512, 2048, [49]),
          (1024, 256, [196]), (256, 2304, [196]), (128, 1152, [784]),
          (160, 960, [49]), (768, 768, [128])]
WEIGHTS = [("csr", 0.7), ("csr", 0.9), ("nm:2:4", 0.5), ("nm:4:8", 0.5)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True,
                        help="the other build directory")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--csv", default=os.path.join(
        ROOT, "bench", "results", "tail_tiles.csv"))
    args = parser.parse_args()
    baseline = os.path.join(args.baseline, "bin", "sparse-compile")
    if not os.access(baseline, os.X_OK):
        parser.error(f"--baseline: {baseline} is not an executable")
    os.environ.update(benchmark_environment())
    calibrate, calibration = product_harness(args.seed, args.repeat)
    compilers = {"baseline": baseline, "this": calibration.compiler}

    rng = np.random.default_rng(args.seed)
    samples = []
    for rows, cols, n_values in SHAPES:
        for fmt, sparsity in WEIGHTS:
            weight = calibrate.random_weight(calibrate.parse_format(fmt),
                                             rows, cols, sparsity, rng)
            for build, compiler in compilers.items():
                calibration.compiler = compiler
                first = len(samples)
                calibration.prepare_product("left", fmt, rows, cols,
                                            sparsity, samples, weight,
                                            n_values=n_values)
                for sample in samples[first:]:
                    sample["build"] = build
    calibration.compiler = compilers["this"]
    overhead = calibration.prepare_call_overhead()
    calibration.time_all(args.rounds)

    times = {}
    for s in samples:
        key = (s["rows"], s["cols"], s["n"], s["format"],
               round(s["sparsity"], 2))
        times.setdefault(key, {})[s["build"]] = \
            s["seconds"] - overhead["seconds"]
    print("| weight | N | format | sparsity | baseline ms | this ms | "
          "speedup |")
    print("|---|---|---|---|---|---|---|")
    rows_out = []
    for (rows, cols, n, fmt, sparsity), t in times.items():
        speedup = t["baseline"] / t["this"]
        print(f"| {rows}x{cols} | {n} | {fmt} | {sparsity:g} | "
              f"{t['baseline'] * 1e3:.3f} | {t['this'] * 1e3:.3f} | "
              f"{speedup:.2f}x |")
        rows_out.append(dict(rows=rows, cols=cols, n=n, format=fmt,
                             sparsity=sparsity,
                             baseline_seconds=t["baseline"],
                             this_seconds=t["this"], speedup=speedup))
    write_csv(args.csv, rows_out)


if __name__ == "__main__":
    main()
