#!/usr/bin/env python3
"""SpMM on the DLMC matrices: sparse-opt's kernels, the upstream
sparsifier's, Eigen's, LIBXSMM's and dense OpenBLAS, on 1 and 2 threads, for
several N.

For every DLMC matrix of the chosen models and pruning methods this compiles
the SpMM kernel for its shape with sparse-compile in two variants (once per
shape): the default pipeline (sparse-opt-csr-kernels) and
`sparse-kernels=false` (the upstream sparsifier's loops, with the same OpenMP
threads and vector width). It runs both with sparse-run for every N on 1 and
2 threads, each result checked against the double-precision reference, next
to OpenBLAS sgemm on the same shape and thread count and (with the
default pipeline's runs) to Eigen's sparse x dense product on the same CSR
matrix, also checked (sparse-run --eigen-baseline; Eigen's SpMV for N = 1;
values drawn with a fixed seed), and, where sparse-run was built with
Debian's libxsmm-dev, to LIBXSMM's spmdm (sparse-run --libxsmm-baseline,
checked too; --libxsmm off leaves it out). Per-run rows go to the CSV; geomeans per N and sparsity level
go to a Markdown table on stdout; with matplotlib installed, speedup over
dense versus sparsity goes to a PNG next to the CSV.

  bench/spmm.py [--n 1,32,128,256] [--repeat 10]
                [--methods magnitude_pruning,random_pruning]
                [--libxsmm auto|on|off] [--ours-options OPTIONS]
  bench/spmm.py --formats bsr:4x4,bsr:8x1,nm:2:4 [--n ...] [--limit K]

With --formats, structured weights instead (DLMC's pruning is
unstructured, so they are derived from it; docs/performance.md): for BSR
R x C, each DLMC matrix whose shape the blocks tile, block-pruned to the same
density (the round(nnz / (R*C)) blocks of largest norm, whole, values from the
seed: sparse-run --structure); for N:M, each DLMC shape filled with random
values and pruned to N:M by magnitude, i.e. at the sparsity 1 - N/M that N:M
implies. On each such weight it compares our kernel for the format with our
CSR kernel on the same weight, the upstream sparsifier on the same format
(`sparse-kernels=false`) and dense OpenBLAS sgemm, on 1 and 2 threads.

Timings are best-of-R after warm-up; every ratio compares runs of the same
script run on the same machine. Thread scaling (2T / 1T, ours and Eigen's)
is reported over the matrices with M x K >= 512 x 512 only, where there is
work to split.
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


SCALING_MIN_ELEMENTS = 512 * 512


def read_shape(path):
    with open(path) as f:
        rows, cols, nnz = (int(x) for x in f.readline().replace(",", " ").split())
    return rows, cols, nnz




def find_matrices(args):
    matrices = []
    for model in args.models.split(","):
        for method in args.methods.split(","):
            base = os.path.join(args.dlmc, model, method)
            if not os.path.isdir(base):
                sys.exit(f"error: no folder {base}")
            for level in sorted(os.listdir(base)):
                for name in sorted(os.listdir(os.path.join(base, level))):
                    path = os.path.join(base, level, name)
                    rows, cols, _ = read_shape(path)
                    matrices.append((model, method, level, path, rows, cols))
    return matrices


def run_all(args, matrices, tools, env, tmp):
    compile_tool, run_tool, make_kernel = tools
    libraries = {}
    results = []
    for index, (model, method, level, path, rows, cols) in enumerate(matrices):
        print(f"[{index + 1}/{len(matrices)}] {model}/{method}/{level}/"
              f"{os.path.basename(path)}", file=sys.stderr)
        for variant, pipeline_options in VARIANTS.items():
            if variant == "sparse-opt" and args.ours_options:
                pipeline_options = args.ours_options
            key = (rows, cols, variant)
            if key not in libraries:
                mlir = os.path.join(tmp, f"spmm_{rows}x{cols}.mlir")
                lib = os.path.join(tmp, f"spmm_{rows}x{cols}_{variant}.so")
                subprocess.run([sys.executable, make_kernel, "spmm", "--rows",
                                str(rows), "--cols", str(cols), "-o", mlir],
                               check=True)
                subprocess.run([compile_tool, mlir, "-o", lib, "--no-header",
                                f"--pipeline-options={pipeline_options}"],
                               check=True)
                libraries[key] = lib
            # The libraries once per matrix and N, with our kernels' runs.
            eigen = []
            if variant == "sparse-opt":
                eigen = ["--eigen-baseline"]
                if args.libxsmm:
                    eigen.append("--libxsmm-baseline")
            for n in args.n:
                result = subprocess.run(
                    [run_tool, libraries[key], "--entry", "spmm", "--kind", "spmm",
                     "--matrix", path, "--n", str(n), "--threads", "1,2",
                     "--repeat", str(args.repeat), "--dense-baseline", *eigen,
                     "--csv", "-"],
                    check=False, capture_output=True, text=True, env=env)
                if result.returncode != 0:
                    sys.exit(f"error: sparse-run failed on {path} ({variant}, "
                             f"N = {n}):\n{result.stderr}")
                for row in csv.DictReader(io.StringIO(result.stdout)):
                    row.update(model=model, method=method, level=level,
                               variant=variant)
                    results.append(row)
    return results


def libxsmm_baseline(choice, run_tool):
    """Whether to time LIBXSMM (`--libxsmm auto|on|off`), from the
    baselines sparse-run lists."""
    if choice == "off":
        return False
    listed = subprocess.run([run_tool, "--list-baselines"], check=True,
                            capture_output=True, text=True).stdout.split()
    if "libxsmm" in listed:
        return True
    if choice == "on":
        sys.exit("error: --libxsmm on, but sparse-run was built without "
                 "LIBXSMM (install libxsmm-dev: scripts/setup.sh, and rebuild)")
    print("note: sparse-run was built without LIBXSMM (libxsmm-dev): no "
          "LIBXSMM baseline", file=sys.stderr)
    return False


def compile_kernel(tools, tmp, libraries, rows, cols, fmt, pipeline_options):
    """The SpMM library for a rows x cols weight in format `fmt`, compiled
    once per (shape, format, options); None if the compiler rejects it (the
    upstream sparsifier does not handle every block shape)."""
    compile_tool, _, make_kernel = tools
    key = (rows, cols, fmt, pipeline_options)
    if key not in libraries:
        stem = f"spmm_{rows}x{cols}_{fmt.replace(':', '_')}_{len(libraries)}"
        mlir = os.path.join(tmp, stem + ".mlir")
        lib = os.path.join(tmp, stem + ".so")
        subprocess.run([sys.executable, make_kernel, "spmm", "--rows",
                        str(rows), "--cols", str(cols), "--format", fmt,
                        "-o", mlir], check=True)
        result = subprocess.run(
            [compile_tool, mlir, "-o", lib, "--no-header",
             f"--pipeline-options={pipeline_options}"],
            capture_output=True, text=True)
        if result.returncode != 0:
            print(f"  ({fmt}, '{pipeline_options}': sparse-compile failed, "
                  f"skipped: {result.stderr.strip().splitlines()[-1:]})",
                  file=sys.stderr)
        libraries[key] = lib if result.returncode == 0 else None
    return libraries[key]


def parse_format(text):
    """("bsr", R, C) or ("nm", N, M) from bsr:RxC / nm:N:M."""
    kind, _, rest = text.partition(":")
    try:
        if kind == "bsr":
            r, c = (int(x) for x in rest.split("x"))
            return ("bsr", r, c)
        if kind == "nm":
            n, m = (int(x) for x in rest.split(":"))
            if 0 < n <= m:
                return ("nm", n, m)
    except ValueError:
        pass
    sys.exit(f"error: --formats expects bsr:RxC or nm:N:M, got {text!r}")


def structured_weights(args, matrices, fmt):
    """(label, level, sparse-run weight arguments, rows, cols) of the
    weights to run `fmt` on: see the module's description."""
    kind, a, b = fmt
    weights = []
    if kind == "bsr":
        for model, method, level, path, rows, cols in matrices:
            if rows % a == 0 and cols % b == 0:
                weights.append((f"{model}/{method}/{level}/"
                                f"{os.path.basename(path)}", level,
                                ["--matrix", path], rows, cols))
    else:
        level = f"{1 - a / b:g}"
        for rows, cols in sorted({(r, c) for *_, r, c in matrices}):
            if cols % b == 0:
                weights.append((f"random {rows}x{cols}", level,
                                ["--random", f"{rows}x{cols}:1.0"], rows,
                                cols))
    if not args.limit:
        return weights
    per_level = defaultdict(int)
    limited = []
    for weight in weights:
        per_level[weight[1]] += 1
        if per_level[weight[1]] <= args.limit:
            limited.append(weight)
    return limited


def run_formats(args, matrices, tools, env, tmp):
    """The --formats comparison: per weight, format and N, the rows of our
    kernel for the format, our CSR kernel, the upstream sparsifier on the
    format and (in our kernel's run) dense sgemm."""
    run_tool = tools[1]
    libraries = {}
    results = []
    for text in args.formats:
        fmt = parse_format(text)
        weights = structured_weights(args, matrices, fmt)
        for index, (label, level, weight, rows, cols) in enumerate(weights):
            print(f"[{text} {index + 1}/{len(weights)}] {label}",
                  file=sys.stderr)
            variants = {
                text: (text, VARIANTS["sparse-opt"]),
                "csr": ("csr", VARIANTS["sparse-opt"]),
                "upstream " + text: (text, VARIANTS["upstream"]),
            }
            for variant, (kernel_format, options) in variants.items():
                lib = compile_kernel(tools, tmp, libraries, rows, cols,
                                     kernel_format, options)
                if lib is None:
                    continue
                dense = ["--dense-baseline"] if variant == text else []
                for n in args.n:
                    result = subprocess.run(
                        [run_tool, lib, "--entry", "spmm", "--kind", "spmm",
                         *weight, "--structure", text, "--n", str(n),
                         "--threads", "1,2", "--repeat", str(args.repeat),
                         *dense, "--csv", "-"],
                        check=False, capture_output=True, text=True, env=env)
                    if result.returncode != 0:
                        sys.exit(f"error: sparse-run failed on {label} "
                                 f"({variant}, N = {n}):\n{result.stderr}")
                    for row in csv.DictReader(io.StringIO(result.stdout)):
                        row.update(format=text, level=level, weight=label,
                                   variant=variant)
                        results.append(row)
    return results


def print_formats_table(results, args, env):
    """Geomeans per format, N and sparsity level: GF/s of each variant and
    the format kernel's speedups over the others (1 thread), 2T / 1T."""
    runs = defaultdict(dict)
    for row in results:
        runs[(row["format"], int(row["N"]), row["level"], row["weight"],
              int(row["threads"]))][row["variant"]] = row
    groups = defaultdict(lambda: defaultdict(list))
    for (fmt, n, level, weight, threads), by_variant in runs.items():
        ours = by_variant.get(fmt)
        if ours is None:
            continue
        stats = groups[(fmt, n, level)]
        t = str(threads)
        stats["gflops_" + t].append(float(ours["gflops"]))
        stats["dense_" + t].append(float(ours["speedup_vs_dense"]))
        for other, name in (("csr", "csr"), ("upstream " + fmt, "upstream")):
            if other in by_variant:
                stats[name + "_gflops_" + t].append(
                    float(by_variant[other]["gflops"]))
                stats["vs_" + name + "_" + t].append(
                    float(by_variant[other]["best_s"]) / float(ours["best_s"]))
        if threads == 2:
            one = runs[(fmt, n, level, weight, 1)][fmt]
            stats["scaling"].append(float(one["best_s"]) / float(ours["best_s"]))

    def mean(values, suffix=""):
        return f"{geomean(values):.2f}{suffix}" if values else "-"

    print(f"\nStructured SpMM, best of {args.repeat}, geomean per format, N "
          f"and sparsity; OMP_PROC_BIND={env['OMP_PROC_BIND']} "
          f"OMP_PLACES={env['OMP_PLACES']} "
          f"OPENBLAS_CORETYPE={env.get('OPENBLAS_CORETYPE', '(unset)')}\n")
    print("| format | N | sparsity | weights | GF/s 1T | CSR GF/s 1T "
          "| upstream GF/s 1T | vs CSR 1T | vs upstream 1T | vs dense 1T "
          "| vs CSR 2T | vs dense 2T | 2T / 1T |")
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for (fmt, n, level), s in sorted(groups.items(), key=lambda kv: (
            kv[0][0], kv[0][1], float(kv[0][2]))):
        print(f"| {fmt} | {n} | {level} | {len(s['gflops_1'])} "
              f"| {mean(s['gflops_1'])} | {mean(s['csr_gflops_1'])} "
              f"| {mean(s['upstream_gflops_1'])} | {mean(s['vs_csr_1'], 'x')} "
              f"| {mean(s['vs_upstream_1'], 'x')} | {mean(s['dense_1'], 'x')} "
              f"| {mean(s['vs_csr_2'], 'x')} | {mean(s['dense_2'], 'x')} "
              f"| {mean(s['scaling'], 'x')} |")


def summarize(results):
    """Per (N, level): lists of per-run ratios and rates, for geomeans."""
    runs = defaultdict(dict)
    for row in results:
        key = (int(row["N"]), row["level"], row["model"], row["method"],
               row["matrix"], int(row["threads"]))
        runs[key][row["variant"]] = row
    levels = defaultdict(lambda: defaultdict(list))
    for (n, level, model, method, matrix, threads), by_variant in runs.items():
        ours, upstream = by_variant["sparse-opt"], by_variant["upstream"]
        stats = levels[(n, level)]
        t = str(threads)
        stats["gflops_" + t].append(float(ours["gflops"]))
        stats["upstream_gflops_" + t].append(float(upstream["gflops"]))
        stats["eigen_gflops_" + t].append(
            2.0 * int(ours["nnz"]) * n / float(ours["eigen_best_s"]) / 1e9)
        stats["vs_eigen_" + t].append(float(ours["speedup_vs_eigen"]))
        if ours.get("libxsmm_best_s"):
            stats["libxsmm_gflops_" + t].append(
                2.0 * int(ours["nnz"]) * n / float(ours["libxsmm_best_s"])
                / 1e9)
            stats["vs_libxsmm_" + t].append(
                float(ours["speedup_vs_libxsmm"]))
        stats["dense_gflops_" + t].append(
            2.0 * int(ours["M"]) * int(ours["K"]) * n
            / float(ours["dense_best_s"]) / 1e9)
        stats["vs_upstream_" + t].append(
            float(upstream["best_s"]) / float(ours["best_s"]))
        stats["vs_dense_" + t].append(float(ours["speedup_vs_dense"]))
        if threads == 2 and int(ours["M"]) * int(ours["K"]) >= SCALING_MIN_ELEMENTS:
            one = runs[(n, level, model, method, matrix, 1)]["sparse-opt"]
            stats["scaling"].append(float(one["best_s"]) / float(ours["best_s"]))
            stats["eigen_scaling"].append(
                float(one["eigen_best_s"]) / float(ours["eigen_best_s"]))
    return levels


def print_table(levels, args, env):
    print(f"\nSpMM, best of {args.repeat}, geomean over the DLMC matrices "
          f"({args.models}; {args.methods}) of each sparsity level; "
          f"OMP_PROC_BIND={env['OMP_PROC_BIND']} OMP_PLACES={env['OMP_PLACES']} "
          f"OPENBLAS_CORETYPE={env.get('OPENBLAS_CORETYPE', '(unset)')}"
          + (f"; sparse-opt with --pipeline-options={args.ours_options}"
             if args.ours_options else "") + "\n")
    libxsmm = any(s["vs_libxsmm_1"] for s in levels.values())
    print("| N | sparsity | runs | GF/s 1T | upstream GF/s 1T | Eigen GF/s 1T "
          + ("| LIBXSMM GF/s 1T " if libxsmm else "")
          + "| dense GF/s 1T | vs upstream 1T | vs Eigen 1T "
          + ("| vs LIBXSMM 1T " if libxsmm else "")
          + "| vs dense 1T | vs upstream 2T | vs Eigen 2T "
          + ("| vs LIBXSMM 2T " if libxsmm else "")
          + "| vs dense 2T | 2T / 1T (M x K >= 512 x 512) | Eigen 2T / 1T |")
    print("|---" * (15 + 3 * libxsmm) + "|")

    def mean(values, digits=2, suffix="x"):
        return f"{geomean(values):.{digits}f}{suffix}" if values else "-"

    for (n, level), s in sorted(levels.items(), key=lambda kv: (kv[0][0], float(kv[0][1]))):
        print(f"| {n} | {level} | {len(s['gflops_1'])} "
              f"| {mean(s['gflops_1'], 1, '')} "
              f"| {mean(s['upstream_gflops_1'], 1, '')} "
              f"| {mean(s['eigen_gflops_1'], 1, '')} "
              + (f"| {mean(s['libxsmm_gflops_1'], 1, '')} " if libxsmm else "")
              + f"| {mean(s['dense_gflops_1'], 1, '')} "
              f"| {mean(s['vs_upstream_1'])} | {mean(s['vs_eigen_1'])} "
              + (f"| {mean(s['vs_libxsmm_1'])} " if libxsmm else "")
              + f"| {mean(s['vs_dense_1'])} "
              f"| {mean(s['vs_upstream_2'])} | {mean(s['vs_eigen_2'])} "
              + (f"| {mean(s['vs_libxsmm_2'])} " if libxsmm else "")
              + f"| {mean(s['vs_dense_2'])} "
              f"| {mean(s['scaling'])} | {mean(s['eigen_scaling'])} |")


def plot(levels, path):
    widest = max(n for n, _ in levels)

    def draw(axis):
        for n in sorted({n for n, _ in levels}):
            points = sorted((float(level), geomean(s["vs_dense_1"]))
                            for (m, level), s in levels.items() if m == n)
            axis.plot([p[0] for p in points], [p[1] for p in points],
                      marker="o", label=f"sparse-opt, N = {n}")
        upstream = sorted((float(level), geomean([d / u for d, u in zip(
            s["vs_dense_1"], s["vs_upstream_1"])]))
            for (n, level), s in levels.items() if n == widest)
        axis.plot([p[0] for p in upstream], [p[1] for p in upstream],
                  marker="x", linestyle="--",
                  label=f"upstream sparsifier, N = {widest}")
        eigen = sorted((float(level), geomean([d / e for d, e in zip(
            s["vs_dense_1"], s["vs_eigen_1"])]))
            for (n, level), s in levels.items() if n == widest)
        axis.plot([p[0] for p in eigen], [p[1] for p in eigen], marker="+",
                  linestyle=":", label=f"Eigen, N = {widest}")
        libxsmm = sorted((float(level), geomean([d / x for d, x in zip(
            s["vs_dense_1"], s["vs_libxsmm_1"])]))
            for (n, level), s in levels.items()
            if n == widest and s["vs_libxsmm_1"])
        if libxsmm:
            axis.plot([p[0] for p in libxsmm], [p[1] for p in libxsmm],
                      marker="s", linestyle="-.",
                      label=f"LIBXSMM spmdm, N = {widest}")

    speedup_plot(path, draw, title="SpMM on DLMC, geomean per sparsity level",
                 xlabel="sparsity",
                 ylabel="speedup over dense sgemm (1 thread)")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dlmc", default=os.path.join(ROOT, "..", "shared", "dlmc"))
    parser.add_argument("--build", default=os.path.join(ROOT, "build"))
    parser.add_argument("--n", default="1,32,128,256",
                        help="comma-separated dense widths N")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--methods", default="magnitude_pruning,random_pruning",
                        help="comma-separated DLMC pruning methods")
    parser.add_argument("--models", default="transformer,rn50")
    parser.add_argument("--csv", default=None,
                        help="default: bench/results/spmm.csv, or "
                             "spmm-formats.csv with --formats")
    parser.add_argument("--formats", default="",
                        help="comma-separated bsr:RxC / nm:N:M: benchmark "
                             "structured weights in these formats instead")
    parser.add_argument("--libxsmm", choices=("auto", "on", "off"),
                        default="auto",
                        help="LIBXSMM's spmdm as a second library baseline: "
                             "auto (the default) when sparse-run was built "
                             "with libxsmm-dev, on (an error without it), "
                             "off")
    parser.add_argument("--ours-options", default="",
                        help="--pipeline-options for sparse-opt's variant "
                             "(default: none), e.g. min-parallel-work=0 to "
                             "time it without the kernels' serial twin")
    parser.add_argument("--limit", type=int, default=0,
                        help="with --formats: at most this many weights per "
                             "format and sparsity level (0: all), for a quick "
                             "check")
    args = parser.parse_args()
    args.n = [int(n) for n in args.n.split(",")]
    args.formats = [f for f in args.formats.split(",") if f]
    if args.csv is None:
        args.csv = os.path.join(ROOT, "bench", "results",
                                "spmm-formats.csv" if args.formats
                                else "spmm.csv")

    tools = find_tools(args.build)
    args.libxsmm = libxsmm_baseline(args.libxsmm, tools[1])
    if not os.path.isdir(args.dlmc):
        sys.exit(f"error: DLMC matrices not found at {args.dlmc}")

    matrices = find_matrices(args)
    env = benchmark_environment()
    if args.formats:
        with tempfile.TemporaryDirectory() as tmp:
            results = run_formats(args, matrices, tools, env, tmp)
        write_csv(args.csv, results)
        print_formats_table(results, args, env)
        print(f"CSV: {args.csv}")
        return
    with tempfile.TemporaryDirectory() as tmp:
        results = run_all(args, matrices, tools, env, tmp)

    write_csv(args.csv, results)

    levels = summarize(results)
    print_table(levels, args, env)
    plot(levels, os.path.splitext(args.csv)[0] + ".png")
    print(f"CSV: {args.csv}")


if __name__ == "__main__":
    main()
