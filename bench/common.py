"""What the benchmark scripts share: the compared pipeline variants, the
whole-model prunings, the benchmark environment, the tools, best-of timing,
geomeans, the CSV output and calibrate.py's harness for single products."""

import csv
import math
import os
import sys
import time
import types

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

# Pipeline options of the compared variants (sparse-compile --pipeline-options).
VARIANTS = {
    "sparse-opt": "",
    "upstream": "sparse-kernels=false",
}

# How the whole-model benchmarks prune (sparse_opt.prune.prune_model's
# arguments for a sparsity): unstructured, 4x4 blocks, 2:4.
PRUNINGS = {
    "magnitude": lambda s: dict(method="magnitude", sparsity=s),
    "block": lambda s: dict(method="block", sparsity=s, block=(4, 4)),
    "nm": lambda s: dict(method="nm", nm=(2, 4)),
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


def best_of(repeat, call):
    """The shortest of `repeat` timed calls of `call`, after one warm-up
    call (seconds)."""
    call()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return min(times)


def interleaved_rounds(calls, rounds, repeat, before=None):
    """{name: [seconds per round]}: `rounds` rounds over `calls` ({name:
    call}), each call's best of `repeat` in each round (best_of), the
    variants in turns so that a burst of load from other processes hits
    them alike. `before(name)`, if given, runs before each variant's turn
    (e.g. to set its thread count)."""
    times = {name: [] for name in calls}
    for _ in range(rounds):
        for name, call in calls.items():
            if before:
                before(name)
            times[name].append(best_of(repeat, call))
    return times


def round_ratios(times, baselines, candidate):
    """Per round, the fastest of `baselines` over `candidate` (> 1: the
    candidate was faster in that round), from interleaved_rounds' times.
    Ratios within one round share that round's load, so their spread is
    the noise a best-of-rounds ratio should be judged against."""
    return [min(times[b][r] for b in baselines) / times[candidate][r]
            for r in range(len(times[candidate]))]


def geomean(values):
    return math.exp(sum(math.log(v) for v in values) / len(values))


def find_tools(build):
    """(sparse-compile, sparse-run, make-kernel.py) of the build directory;
    exits with a message if the build is missing."""
    tools = (os.path.join(build, "bin", "sparse-compile"),
             os.path.join(build, "bin", "sparse-run"),
             os.path.join(ROOT, "scripts", "make-kernel.py"))
    for tool in tools[:2]:
        if not os.access(tool, os.X_OK):
            sys.exit(f"error: {tool} not found; build first (scripts/build.sh)")
    return tools


def write_csv(path, rows):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=list(rows[0].keys()))
        writer.writeheader()
        writer.writerows(rows)


def speedup_plot(path, draw, *, title, xlabel, ylabel, legend_size=None):
    """Writes a PNG of speedups (log scale, a line at 1) versus sparsity:
    `draw(axis)` plots the series. Without matplotlib, says so and writes
    nothing."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print(f"\n(no plot: install matplotlib for {path})")
        return
    figure, axis = plt.subplots(figsize=(7, 4.5))
    draw(axis)
    axis.axhline(1.0, color="gray", linewidth=0.8)
    axis.set_yscale("log")
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.set_title(title)
    axis.legend(fontsize=legend_size)
    figure.tight_layout()
    figure.savefig(path, dpi=120)
    print(f"\nplot: {path}")


def product_harness(seed, repeat):
    """scripts/calibrate.py as a module and a Calibration with its harness
    (one thread, weights cold, operands warm, results checked against
    numpy) for timing single products: prepare_product(...), then
    prepare_call_overhead() and time_all(rounds)."""
    sys.path.insert(0, os.path.join(ROOT, "scripts"))
    import calibrate
    # The harness reads these of calibrate.py's command-line arguments.
    options = types.SimpleNamespace(
        target_cpu="host", target_features="", threads=1, static_n=False,
        repeat=repeat, warm_weights=False, budget=1.0, seed=seed)
    calibrate.args = options
    return calibrate, calibrate.Calibration(options, dict(calibrate.FULL))


def set_threads(library, threads):
    """Runs `library` (a sparse_opt Library) on `threads` OpenMP threads. A
    library compiled without OpenMP (`openmp=false`) has no thread control
    and runs on one thread: fine for 1, an error (exit) for more."""
    if library.num_threads is None:
        if threads != 1:
            sys.exit(f"error: {library.path} has no thread control (compiled "
                     f"without OpenMP); it runs on one thread, not {threads}")
        return
    library.num_threads = threads
