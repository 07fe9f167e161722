#!/usr/bin/env python3
"""SDDMM (the scores of sparse attention) on attention masks: sparse-opt's
kernels, the upstream sparsifier's, and dense sgemm + mask, on 1 and 2
threads.

R = S o (Q K^T) for an n x n mask S, Q and K n x D (D = 64). For each mask
family (window: a band |i - j| <= W; random: uniformly random entries;
bigbird: BigBird's blocks, a window of blocks, global block rows and
columns, random blocks; see so_mask_bigbird), each n and each target
sparsity, the mask parameters are chosen to come closest to the target
(the actual sparsity is reported). The SDDMM kernel is compiled for each n
with sparse-compile in two variants: the default pipeline and
`sparse-kernels=false` (the upstream sparsifier's loops, same OpenMP threads
and vector width). Each runs with sparse-run on 1 and 2 threads, every value
checked against the double-precision reference; with the default variant's
runs sparse-run also times "dense + mask", what attention does without a
sparse kernel: OpenBLAS sgemm Q K^T into a dense n x n matrix, then the
gather of the mask's entries (timed together, checked too). Per-run rows go
to the CSV; geomeans over n per mask and sparsity level go to a Markdown
table on stdout; with matplotlib, speedup over dense + mask versus sparsity
goes to a PNG next to the CSV.

  bench/sddmm.py [--n 512,1024,2048] [--depth 64] [--repeat 10]
                 [--masks window,random,bigbird]
                 [--levels 0.5,0.7,0.8,0.9,0.95,0.98]

Timings are best-of-R after warm-up; every ratio compares runs of the same
script run on the same machine.
"""

import argparse
import csv
import io
import os
import subprocess
import sys
import tempfile
from collections import defaultdict

from common import (ROOT, VARIANTS, benchmark_environment, find_tools,
                    geomean, speedup_plot, write_csv)


MASKS = ("window", "random", "bigbird")
# BigBird block sizes tried, largest first (BigBird itself uses 64).
BIGBIRD_BLOCKS = (64, 32, 16, 8)
# How far (relative to the target density) a mask may miss its target before
# a less preferred shape is taken.
DENSITY_TOLERANCE = 0.15




def window_nnz(n, w):
    """Entries of so_mask_window(n, w)."""
    w = min(w, n - 1)
    return (2 * w + 1) * n - w * (w + 1)


def bigbird_fixed(blocks, window, global_blocks):
    """For each block row of so_mask_bigbird's pattern: the number of blocks
    kept whatever the random ones (None for a global, dense, block row)."""
    fixed = []
    for bi in range(blocks):
        if bi < global_blocks:
            fixed.append(None)
            continue
        low, high = max(0, bi - window), min(blocks - 1, bi + window)
        globals_in_window = max(0, min(global_blocks - 1, high) - low + 1)
        fixed.append(high - low + 1 + global_blocks - globals_in_window)
    return fixed


def bigbird_nnz(n, block, window, global_blocks, random_blocks, fixed=None):
    """Entries of so_mask_bigbird(n, block, ...), for block dividing n: every
    block row below the global ones keeps its window and global blocks and
    min(random, what is left) random ones (Runtime.h)."""
    blocks = n // block
    if fixed is None:
        fixed = bigbird_fixed(blocks, window, global_blocks)
    kept = sum(blocks if f is None else min(blocks, f + random_blocks)
               for f in fixed)
    return kept * block * block


def choose_mask(kind, n, level):
    """The --mask spec whose sparsity comes closest to `level` (see the
    module docstring), and its expected sparsity."""
    cells = n * n
    target = (1 - level) * cells
    if kind == "random":
        return f"random:{1 - level:g}", level
    if kind == "window":
        w = min(range(n), key=lambda w: abs(window_nnz(n, w) - target))
        return f"window:{w}", 1 - window_nnz(n, w) / cells
    # BigBird: prefer its full structure (a window, global and random
    # blocks), then the largest block, within the tolerance; otherwise the
    # closest of any shape.
    candidates = []
    for block in BIGBIRD_BLOCKS:
        if n % block:
            continue
        blocks = n // block
        for window in range(blocks):
            if window_nnz(blocks, window) * block * block > 2 * target:
                break
            for global_blocks in range(3):
                fixed = bigbird_fixed(blocks, window, global_blocks)
                for random_blocks in range(blocks + 1):
                    nnz = bigbird_nnz(n, block, window, global_blocks,
                                      random_blocks, fixed)
                    full = (window >= 1 and global_blocks >= 1
                            and random_blocks >= 1)
                    candidates.append((abs(nnz - target) / target, full, block,
                                       (block, window, global_blocks,
                                        random_blocks), nnz))
                    if nnz > target:
                        break
    within = [c for c in candidates if c[0] <= DENSITY_TOLERANCE]
    if within:
        best = min(within, key=lambda c: (not c[1], -c[2], c[0]))
    else:
        best = min(candidates, key=lambda c: c[0])
    spec = "bigbird:" + ",".join(str(x) for x in best[3])
    return spec, 1 - best[4] / cells


def run_all(args, tools, env, tmp):
    compile_tool, run_tool, make_kernel = tools
    libraries = {}
    results = []
    configurations = [(mask, n, level) for mask in args.masks for n in args.n
                      for level in args.levels]
    for index, (mask, n, level) in enumerate(configurations):
        spec, expected = choose_mask(mask, n, level)
        print(f"[{index + 1}/{len(configurations)}] {mask} n={n} "
              f"sparsity {level}: --mask {spec} (sparsity {expected:.4f})",
              file=sys.stderr)
        for variant, pipeline_options in VARIANTS.items():
            key = (n, variant)
            if key not in libraries:
                mlir = os.path.join(tmp, f"sddmm_{n}.mlir")
                lib = os.path.join(tmp, f"sddmm_{n}_{variant}.so")
                subprocess.run([sys.executable, make_kernel, "sddmm", "--rows",
                                str(n), "--cols", str(n), "--depth",
                                str(args.depth), "-o", mlir], check=True)
                subprocess.run([compile_tool, mlir, "-o", lib, "--no-header",
                                f"--pipeline-options={pipeline_options}"],
                               check=True)
                libraries[key] = lib
            dense = ["--dense-baseline"] if variant == "sparse-opt" else []
            result = subprocess.run(
                [run_tool, libraries[key], "--entry", "sddmm", "--kind",
                 "sddmm", "--mask", spec, "--n", str(n), "--threads", "1,2",
                 "--repeat", str(args.repeat), *dense, "--csv", "-"],
                check=False, capture_output=True, text=True, env=env)
            if result.returncode != 0:
                sys.exit(f"error: sparse-run failed on --mask {spec} --n {n} "
                         f"({variant}):\n{result.stderr}")
            for row in csv.DictReader(io.StringIO(result.stdout)):
                row.update(mask=mask, level=str(level), spec=spec,
                           variant=variant)
                results.append(row)
    return results


def summarize(results):
    """Per (mask, level): lists of per-run ratios and rates, for geomeans."""
    runs = defaultdict(dict)
    for row in results:
        key = (row["mask"], row["level"], int(row["M"]), int(row["threads"]))
        runs[key][row["variant"]] = row
    levels = defaultdict(lambda: defaultdict(list))
    for (mask, level, n, threads), by_variant in runs.items():
        ours, upstream = by_variant["sparse-opt"], by_variant["upstream"]
        stats = levels[(mask, level)]
        t = str(threads)
        depth = int(ours["N"])
        stats["gflops_" + t].append(float(ours["gflops"]))
        stats["upstream_gflops_" + t].append(float(upstream["gflops"]))
        stats["dense_gflops_" + t].append(
            2.0 * n * n * depth / float(ours["dense_best_s"]) / 1e9)
        stats["vs_upstream_" + t].append(
            float(upstream["best_s"]) / float(ours["best_s"]))
        stats["vs_dense_" + t].append(float(ours["speedup_vs_dense"]))
        stats["upstream_vs_dense_" + t].append(
            float(ours["dense_best_s"]) / float(upstream["best_s"]))
        if threads == 1:
            stats["sparsity"].append(float(ours["sparsity"]))
            stats["n"].append(n)
        else:
            one = runs[(mask, level, n, 1)]["sparse-opt"]
            stats["scaling"].append(float(one["best_s"]) / float(ours["best_s"]))
    return levels


def print_table(levels, args, env):
    print(f"\nSDDMM, D = {args.depth}, best of {args.repeat}, geomean over "
          f"n = {', '.join(str(n) for n in args.n)} per mask and target "
          f"sparsity; OMP_PROC_BIND={env['OMP_PROC_BIND']} "
          f"OMP_PLACES={env['OMP_PLACES']} "
          f"OPENBLAS_CORETYPE={env.get('OPENBLAS_CORETYPE', '(unset)')}\n")
    print("| mask | sparsity | actual sparsity | runs | GF/s 1T "
          "| upstream GF/s 1T | dense GF/s 1T | vs upstream 1T | vs dense 1T "
          "| upstream vs dense 1T | vs upstream 2T | vs dense 2T | 2T / 1T |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    order = {mask: i for i, mask in enumerate(MASKS)}
    for (mask, level), s in sorted(levels.items(),
                                   key=lambda kv: (order[kv[0][0]],
                                                   float(kv[0][1]))):
        low, high = min(s["sparsity"]), max(s["sparsity"])
        actual = (f"{low:.3f}" if f"{low:.3f}" == f"{high:.3f}"
                  else f"{low:.3f}-{high:.3f}")
        print(f"| {mask} | {level} | {actual} | {len(s['gflops_1'])} "
              f"| {geomean(s['gflops_1']):.1f} "
              f"| {geomean(s['upstream_gflops_1']):.1f} "
              f"| {geomean(s['dense_gflops_1']):.1f} "
              f"| {geomean(s['vs_upstream_1']):.2f}x "
              f"| {geomean(s['vs_dense_1']):.2f}x "
              f"| {geomean(s['upstream_vs_dense_1']):.2f}x "
              f"| {geomean(s['vs_upstream_2']):.2f}x "
              f"| {geomean(s['vs_dense_2']):.2f}x "
              f"| {geomean(s['scaling']):.2f}x |")


def plot(levels, path):
    def draw(axis):
        for mask in MASKS:
            points = sorted((geomean(s["sparsity"]), geomean(s["vs_dense_1"]),
                             geomean(s["upstream_vs_dense_1"]))
                            for (m, _), s in levels.items() if m == mask)
            if not points:
                continue
            line, = axis.plot([p[0] for p in points], [p[1] for p in points],
                              marker="o", label=f"sparse-opt, {mask}")
            axis.plot([p[0] for p in points], [p[2] for p in points],
                      marker="x", linestyle="--", color=line.get_color(),
                      label=f"upstream sparsifier, {mask}")

    speedup_plot(path, draw,
                 title="SDDMM, D = 64, geomean over n per mask and sparsity",
                 xlabel="sparsity of the mask",
                 ylabel="speedup over dense sgemm + mask (1 thread)",
                 legend_size="small")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--n", default="512,1024,2048",
                        help="comma-separated mask sizes (sequence lengths)")
    parser.add_argument("--depth", type=int, default=64,
                        help="columns of Q and K (head dimension)")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--masks", default=",".join(MASKS))
    parser.add_argument("--levels", default="0.5,0.7,0.8,0.9,0.95,0.98",
                        help="comma-separated target sparsities")
    parser.add_argument("--csv", default=os.path.join(ROOT, "bench", "results",
                                                      "sddmm.csv"))
    args = parser.parse_args()
    args.n = [int(n) for n in args.n.split(",")]
    args.masks = args.masks.split(",")
    args.levels = [float(level) for level in args.levels.split(",")]
    for mask in args.masks:
        if mask not in MASKS:
            parser.error(f"unknown mask {mask!r}; expected one of "
                         f"{', '.join(MASKS)}")
    if any(not 0 <= level < 1 for level in args.levels):
        parser.error("sparsity levels must be in [0, 1)")

    tools = find_tools(args.build)

    env = benchmark_environment()
    with tempfile.TemporaryDirectory() as tmp:
        results = run_all(args, tools, env, tmp)

    write_csv(args.csv, results)

    levels = summarize(results)
    print_table(levels, args, env)
    plot(levels, os.path.splitext(args.csv)[0] + ".png")
    print(f"CSV: {args.csv}")


if __name__ == "__main__":
    main()
