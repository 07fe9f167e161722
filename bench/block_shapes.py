#!/usr/bin/env python3
"""One weight, two block shapes: a weight pruned in R x C blocks stored as
BSR R x C and as BSR R x 1 (the same values, four or eight times the
blocks), on ResNet-50's and BERT-base's layer shapes and N; the evidence
for sparse-opt-select-weight-formats passing over the narrower block
(docs/cost-model.md, "Between block shapes of one weight").

    bench/block_shapes.py [--sparsity 0.5,0.9] [--blocks 4x4,8x8]
                          [--repeat 7] [--rounds 3] [--csv PATH]

Each product is W B with W constant (rows x cols, random whole blocks to
about the sparsity, fixed seed) and B (cols x N), compiled and timed with
scripts/calibrate.py's harness: the result checked against numpy, every
time the best of --repeat calls over --rounds rounds, the caches flushed
before each call (the weight from memory, B warm), the harness's own call
time taken off. 8 x 8 blocks only at the lowest sparsity. Prints a
Markdown table (the ratio is the narrow block's time over the wide one's:
above 1, the wide block is faster) and writes the CSV (default
bench/results/block_shapes.csv).
"""

import argparse
import os

import numpy as np

from common import ROOT, benchmark_environment, product_harness, write_csv

# (rows, cols, [N]): ResNet-50's im2col products at batch 1 (64 x 576 as
# the panels of 112 columns it runs in) and BERT-base's projections.
SHAPES = [(64, 64, [3136]), (64, 576, [112]), (128, 1152, [784]),
          (256, 2304, [196]), (512, 128, [784]), (1024, 256, [196]),
          (2048, 512, [49]), (768, 768, [1, 128]), (3072, 768, [128])]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sparsity", default="0.5,0.9")
    parser.add_argument("--blocks", default="4x4,8x8",
                        help="wide block shapes R x C, each against R x 1")
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--csv", default=os.path.join(
        ROOT, "bench", "results", "block_shapes.csv"))
    args = parser.parse_args()
    os.environ.update(benchmark_environment())
    calibrate, calibration = product_harness(args.seed, args.repeat)
    sparsities = sorted(float(s) for s in args.sparsity.split(","))
    blocks = []
    for text in args.blocks.split(","):
        fmt = calibrate.parse_format("bsr:" + text)
        if fmt[0] != "bsr" or fmt[2] == 1:
            parser.error(f"--blocks: {text} has no narrower R x 1 block")
        blocks.append(fmt[1:])

    rng = np.random.default_rng(args.seed)
    samples = []
    for rows, cols, n_values in SHAPES:
        for sparsity in sparsities:
            for r, c in blocks:
                if rows % r or cols % c or (r, c) != blocks[0] and \
                        sparsity != sparsities[0]:
                    continue
                weight = calibrate.random_weight(("bsr", r, c), rows, cols,
                                                 sparsity, rng)
                for fmt in (f"bsr:{r}x{c}", f"bsr:{r}x1"):
                    first = len(samples)
                    calibration.prepare_product("left", fmt, rows, cols,
                                                sparsity, samples, weight,
                                                n_values=n_values)
                    for sample in samples[first:]:
                        sample["layer"] = (rows, cols, sample["n"],
                                           sparsity, f"{r}x{c}")
    overhead = calibration.prepare_call_overhead()
    calibration.time_all(args.rounds)

    pairs = {}
    for sample in samples:
        pairs.setdefault(sample["layer"], []).append(
            sample["seconds"] - overhead["seconds"])
    print("| weight | N | sparsity | blocks | wide ms | R x 1 ms | "
          "R x 1 / wide |")
    print("|---|---|---|---|---|---|---|")
    rows_out = []
    for (rows, cols, n, sparsity, block), (wide, narrow) in pairs.items():
        print(f"| {rows}x{cols} | {n} | {sparsity:g} | {block} | "
              f"{wide * 1e3:.3f} | {narrow * 1e3:.3f} | "
              f"{narrow / wide:.2f} |")
        rows_out.append(dict(rows=rows, cols=cols, n=n, sparsity=sparsity,
                             block=block, wide_seconds=wide,
                             narrow_seconds=narrow, ratio=narrow / wide))
    ratios = [row["ratio"] for row in rows_out]
    print(f"\nR x 1 / wide: {min(ratios):.2f}-{max(ratios):.2f}, the wide "
          f"block faster in {sum(r > 1 for r in ratios)} of {len(ratios)}")
    write_csv(args.csv, rows_out)


if __name__ == "__main__":
    main()
