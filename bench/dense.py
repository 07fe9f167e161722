#!/usr/bin/env python3
"""Dense products as sparse-opt compiles them (sparse-opt-dense-kernels)
against OpenBLAS sgemm (numpy's matmul), in the same process, on the shapes
of the project's models: BERT-base projections and FFN (sequence 128),
attention batch products, ResNet-50 1x1 / im2col convolutions, and square
ones.

    bench/dense.py [--threads 1,2] [--repeat 20] [--shapes MxKxN[xB],...]

Every result is checked against numpy. A call of the library goes through
sparse_opt's Library.run, which also builds descriptors and copies the
result out (tens of microseconds); the default shapes take milliseconds, so
that is within a few percent. numpy's OpenBLAS gets the same thread count
(threadpoolctl when installed, else OPENBLAS_NUM_THREADS per run). Prints a
Markdown table: GF/s (2 M N K x batches / time, best of --repeat) and the
ratio to sgemm.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time

from common import ROOT, benchmark_environment, geomean, set_threads

DEFAULT_SHAPES = [
    "128x768x768", "128x768x3072", "128x3072x768",      # BERT-base layers
    "128x64x128x12", "128x128x64x12",                   # attention, 12 heads
    "3136x64x256", "784x1152x128", "196x2304x256",      # ResNet-50 im2col
    "512x512x512", "1024x1024x1024",
]

SOURCE = """
func.func @mm(%a: tensor<{a}xf32>, %b: tensor<{b}xf32>) -> tensor<{c}xf32>
    attributes {{llvm.emit_c_interface}} {{
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<{c}xf32>
  %z = linalg.fill ins(%zero : f32) outs(%e : tensor<{c}xf32>) -> tensor<{c}xf32>
  %r = linalg.{op} ins(%a, %b : tensor<{a}xf32>, tensor<{b}xf32>)
                   outs(%z : tensor<{c}xf32>) -> tensor<{c}xf32>
  return %r : tensor<{c}xf32>
}}
"""


def parse_shape(text):
    sizes = [int(x) for x in text.split("x")]
    if len(sizes) not in (3, 4) or min(sizes) < 1:
        sys.exit(f"error: --shapes expects MxKxN or MxKxNxBATCH, found '{text}'")
    return sizes if len(sizes) == 4 else sizes + [0]


def best_of(repeat, call):
    call()
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        best = min(best, time.perf_counter() - start)
    return best


def run_one(args):
    """Child process: one shape, one thread count (OpenBLAS reads its
    thread count when numpy loads)."""
    import numpy as np
    sys.path.insert(0, os.path.join(ROOT, "python"))
    import sparse_opt

    m, k, n, batch = parse_shape(args.shape)
    lead = f"{batch}x" if batch else ""
    source = SOURCE.format(a=f"{lead}{m}x{k}", b=f"{lead}{k}x{n}",
                           c=f"{lead}{m}x{n}",
                           op="batch_matmul" if batch else "matmul")
    rng = np.random.default_rng(0)
    a = rng.standard_normal((batch, m, k) if batch else (m, k), dtype=np.float32)
    b = rng.standard_normal((batch, k, n) if batch else (k, n), dtype=np.float32)
    with tempfile.TemporaryDirectory() as work:
        with sparse_opt.compile(source, os.path.join(work, "mm.so"),
                                header=False) as lib:
            set_threads(lib, args.threads)
            expected = a @ b
            got = lib.run("mm", a, b)
            error = float(np.abs(got - expected).max() / np.abs(expected).max())
            if error > 1e-4:
                sys.exit(f"error: {args.shape}: relative error {error:.2e}")
            ours = best_of(args.repeat, lambda: lib.run("mm", a, b))
    out = np.empty_like(expected)
    blas = best_of(args.repeat, lambda: np.matmul(a, b, out=out))
    flops = 2.0 * m * n * k * max(batch, 1)
    print(f"{flops / ours / 1e9:.2f} {flops / blas / 1e9:.2f} {error:.1e}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--shapes", default=",".join(DEFAULT_SHAPES))
    parser.add_argument("--shape", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.shape:
        args.threads = int(args.threads)
        return run_one(args)

    shapes = args.shapes.split(",")
    for shape in shapes:
        parse_shape(shape)
    threads = [int(t) for t in args.threads.split(",")]
    print("| shape (M x K x N [x batch]) | threads | sparse-opt GF/s | "
          "OpenBLAS GF/s | sparse-opt / OpenBLAS |")
    print("|---|---|---|---|---|")
    ratios = {t: [] for t in threads}
    for shape in shapes:
        for t in threads:
            env = benchmark_environment()
            env["OPENBLAS_NUM_THREADS"] = str(t)
            done = subprocess.run(
                [sys.executable, os.path.abspath(__file__), "--shape", shape,
                 "--threads", str(t), "--repeat", str(args.repeat)],
                env=env, capture_output=True, text=True)
            if done.returncode != 0:
                sys.exit(done.stderr.strip() or f"error: {shape} failed")
            ours, blas, _ = done.stdout.split()
            ratio = float(ours) / float(blas)
            ratios[t].append(ratio)
            print(f"| {shape} | {t} | {ours} | {blas} | {ratio:.2f}x |",
                  flush=True)
    for t in threads:
        print(f"| geomean | {t} | | | {geomean(ratios[t]):.2f}x |")


if __name__ == "__main__":
    main()
