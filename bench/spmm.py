#!/usr/bin/env python3
"""SpMM on the DLMC matrices: sparse-opt's kernels, the upstream
sparsifier's, and dense OpenBLAS, on 1 and 2 threads.

For every DLMC matrix with M x K >= --min-elements (default 512 x 512) this
compiles the SpMM kernel for its shape with sparse-compile twice (once per
shape and variant): with the default pipeline (sparse-opt-csr-spmm) and with
`sparse-kernels=false` (the upstream sparsifier's loops, same OpenMP and
vector width). It runs both with sparse-run on 1 and 2 threads, each result
checked against the reference, next to OpenBLAS sgemm on the same shape and
thread count. Per matrix rows go to the CSV; geomeans per sparsity level go
to a Markdown table on stdout.

  bench/spmm.py [--n 256] [--repeat 10] [--methods magnitude_pruning]

Timings are best-of-R; every ratio compares runs of the same script run on
the same machine.
"""

import argparse
import csv
import io
import math
import os
import subprocess
import sys
import tempfile
from collections import defaultdict

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def read_shape(path):
    with open(path) as f:
        rows, cols, nnz = (int(x) for x in f.readline().replace(",", " ").split())
    return rows, cols, nnz


# Pipeline options of the compared variants (sparse-compile --pipeline-options).
VARIANTS = {
    "sparse-opt": "",
    "upstream": "sparse-kernels=false",
}


def benchmark_environment():
    """Threads pinned, one per core (the benchmark protocol: without pinning
    the OS migrates OpenMP workers between calls and small kernels lose their
    second thread), and OpenBLAS on the kernels of this CPU: Debian's 0.3.21
    does not recognize recent CPUs and falls back to pre-AVX kernels."""
    env = dict(os.environ)
    env.setdefault("OMP_PROC_BIND", "close")
    env.setdefault("OMP_PLACES", "cores")
    if "OPENBLAS_CORETYPE" not in env:
        with open("/proc/cpuinfo") as f:
            flags = set(f.read().split())
        if "avx512f" in flags:
            env["OPENBLAS_CORETYPE"] = "SkylakeX"
        elif "avx2" in flags:
            env["OPENBLAS_CORETYPE"] = "Haswell"
    return env


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dlmc", default=os.path.join(ROOT, "..", "shared", "dlmc"))
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--n", type=int, default=256)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--methods", default="magnitude_pruning",
                        help="comma-separated DLMC pruning methods")
    parser.add_argument("--models", default="transformer,rn50")
    parser.add_argument("--min-elements", type=int, default=512 * 512)
    parser.add_argument("--csv", default=os.path.join(ROOT, "bench", "results",
                                                      "spmm.csv"))
    args = parser.parse_args()

    compile_tool = os.path.join(args.build, "bin", "sparse-compile")
    run_tool = os.path.join(args.build, "bin", "sparse-run")
    make_kernel = os.path.join(ROOT, "scripts", "make-kernel.py")
    for tool in (compile_tool, run_tool):
        if not os.access(tool, os.X_OK):
            sys.exit(f"error: {tool} not found; build first (scripts/build.sh)")
    if not os.path.isdir(args.dlmc):
        sys.exit(f"error: DLMC matrices not found at {args.dlmc}")

    matrices = []
    for model in args.models.split(","):
        for method in args.methods.split(","):
            base = os.path.join(args.dlmc, model, method)
            if not os.path.isdir(base):
                sys.exit(f"error: no folder {base}")
            for sparsity in sorted(os.listdir(base)):
                for name in sorted(os.listdir(os.path.join(base, sparsity))):
                    path = os.path.join(base, sparsity, name)
                    rows, cols, _ = read_shape(path)
                    if rows * cols >= args.min_elements:
                        matrices.append((model, method, sparsity, path, rows, cols))

    os.makedirs(os.path.dirname(args.csv), exist_ok=True)
    rows_out = []
    env = benchmark_environment()
    with tempfile.TemporaryDirectory() as tmp:
        libraries = {}
        for index, (model, method, sparsity, path, rows, cols) in enumerate(matrices):
            print(f"[{index + 1}/{len(matrices)}] {model}/{method}/{sparsity}/"
                  f"{os.path.basename(path)}", file=sys.stderr)
            for variant, pipeline_options in VARIANTS.items():
                key = (rows, cols, variant)
                if key not in libraries:
                    mlir = os.path.join(tmp, f"spmm_{rows}x{cols}.mlir")
                    lib = os.path.join(tmp, f"spmm_{rows}x{cols}_{variant}.so")
                    subprocess.run([sys.executable, make_kernel, "spmm", "--rows", str(rows),
                                    "--cols", str(cols), "-o", mlir], check=True)
                    subprocess.run([compile_tool, mlir, "-o", lib, "--no-header",
                                    f"--pipeline-options={pipeline_options}"], check=True)
                    libraries[key] = lib
                result = subprocess.run(
                    [run_tool, libraries[key], "--entry", "spmm", "--kind", "spmm",
                     "--matrix", path, "--n", str(args.n),
                     "--threads", "1,2", "--repeat", str(args.repeat),
                     "--dense-baseline", "--csv", "-"],
                    check=False, capture_output=True, text=True, env=env)
                if result.returncode != 0:
                    sys.exit(f"error: sparse-run failed on {path} ({variant}):\n"
                             f"{result.stderr}")
                for row in csv.DictReader(io.StringIO(result.stdout)):
                    row.update(model=model, method=method, level=sparsity,
                               variant=variant)
                    rows_out.append(row)

    with open(args.csv, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows_out[0].keys()))
        writer.writeheader()
        writer.writerows(rows_out)

    # Per matrix and thread count: best time of each variant and of dense.
    best = defaultdict(dict)
    for row in rows_out:
        key = (row["model"], row["level"], row["matrix"], int(row["threads"]))
        best[key][row["variant"]] = row
    per_level = defaultdict(lambda: defaultdict(list))
    for (model, level, _, threads), runs in best.items():
        ours, upstream = runs["sparse-opt"], runs["upstream"]
        stats = per_level[(model, level)]
        stats[f"gflops_{threads}"].append(float(ours["gflops"]))
        stats[f"upstream_gflops_{threads}"].append(float(upstream["gflops"]))
        stats[f"vs_upstream_{threads}"].append(
            float(upstream["best_s"]) / float(ours["best_s"]))
        stats[f"vs_dense_{threads}"].append(float(ours["speedup_vs_dense"]))
        stats[f"dense_gflops_{threads}"].append(
            2.0 * int(ours["M"]) * int(ours["K"]) * int(ours["N"])
            / float(ours["dense_best_s"]) / 1e9)
    for (model, level, matrix, threads), runs in best.items():
        if threads == 2:
            one = best[(model, level, matrix, 1)]["sparse-opt"]
            per_level[(model, level)]["threads"].append(
                float(one["best_s"]) / float(runs["sparse-opt"]["best_s"]))

    print(f"\nSpMM, N = {args.n}, best of {args.repeat}, geomean over the "
          f"matrices of each level with M x K >= {args.min_elements}; "
          f"OMP_PROC_BIND={env['OMP_PROC_BIND']} OMP_PLACES={env['OMP_PLACES']} "
          f"OPENBLAS_CORETYPE={env.get('OPENBLAS_CORETYPE', '(unset)')}\n")
    print("| model | sparsity | matrices | GF/s 1T | upstream GF/s 1T | dense GF/s 1T "
          "| vs upstream 1T | vs dense 1T | vs upstream 2T | vs dense 2T | 2T / 1T |")
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    for (model, level), stats in sorted(per_level.items()):
        print(f"| {model} | {level} | {len(stats['gflops_1'])} "
              f"| {geomean(stats['gflops_1']):.1f} "
              f"| {geomean(stats['upstream_gflops_1']):.1f} "
              f"| {geomean(stats['dense_gflops_1']):.1f} "
              f"| {geomean(stats['vs_upstream_1']):.2f}x "
              f"| {geomean(stats['vs_dense_1']):.2f}x "
              f"| {geomean(stats['vs_upstream_2']):.2f}x "
              f"| {geomean(stats['vs_dense_2']):.2f}x "
              f"| {geomean(stats['threads']):.2f}x |")
    everything = [v for stats in per_level.values() for v in stats["threads"]]
    print(f"\nAll {len(everything)} matrices, sparse-opt kernels: 2 threads are "
          f"{geomean(everything):.2f}x faster than 1 (geomean; min "
          f"{min(everything):.2f}x, max {max(everything):.2f}x). CSV: {args.csv}")


if __name__ == "__main__":
    main()
