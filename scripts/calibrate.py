#!/usr/bin/env python3
"""Calibrates the cost model of the weight format selection on this machine.

Runs micro-benchmarks of the code this compiler generates for one layer's
product with a constant weight, in every format, over weight shapes,
sparsities and activation counts N, and fits a linear model per format and
kernel regime (N = 1: row dot products; N > 1: register-tiled kernels) by
non-negative least squares on relative errors; writes it as the JSON
`sparse-opt-select-weight-formats` reads (docs/cost-model.md).

  scripts/calibrate.py -o cost-models/x86-64-avx512.json
  scripts/calibrate.py -o avx2.json --target-cpu haswell
  scripts/calibrate.py -o /tmp/quick.json --quick        # ~1 minute, tests
  scripts/calibrate.py -o m.json --samples m.csv         # keep the samples
  scripts/calibrate.py -o m.json --refit m.csv           # fit them again

What is measured, each kernel compiled by sparse-compile from a module with
the weight as a constant (as the ONNX importer leaves it) and called through
the Python package on 64-byte aligned operands, its result checked against
numpy:

* sparse formats: `W B` with W (rows x cols) constant and B (cols x N): the
  product our kernels run (`weight-formats=FORMAT` rewrites it in place);
* dense: `X W` with X (N x cols) and W (cols x rows) constant, the form of
  a linear layer, compiled as the dense pipeline compiles it (not a BLAS);
  at the convolution shapes (`wide_shapes`: small weights, N = 49 to
  3136, dense and CSR only) `W B`, the form im2col products run in;
* the transposes a sparse `X W` adds around the kernel, fitted as their
  own model: the time of a CSR `X W` minus that of the same weight as
  `W B`, for a few shapes;
* validation: a few sparse `X W` layers end to end, compared with the
  model's kernel + transposes prediction (reported, not fitted);
* the harness's own time per call (an entry returning its argument),
  taken off every sample: a layer inside a model does not pay it.

Weights are random with a fixed seed: CSR uniformly sparse, BSR R x C whole
random blocks, N:M exactly N random non-zeros per group of M. Every time is
the best of --repeat calls after a warm-up call (fewer when calls are slow,
--budget). Before each timed call the caches are flushed, then the
harness's own call path and the operands are warmed again: inside a model
whose weights exceed the caches, a layer's weight comes from memory, not
from the call before, while its activations were just written by the layer
before it (--warm-weights times repeated calls instead). The machine's load distorts the numbers: calibrate on a quiet
machine.
"""

import argparse
import datetime
import json
import math
import os
import platform
import re
import subprocess
import sys
import tempfile
import time

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "python"))

from sparse_opt import Library  # noqa: E402
from sparse_opt._tools import BUILD_DIR_ENV, find_compiler  # noqa: E402

# The fits: features per format family and regime. The feature names and
# their values are those of lib/CostModel/CostModel.cpp (docs/cost-model.md).
FIT_FEATURES = {
    "dense": {"vector": ["calls", "rows", "stored", "stored_l2_miss",
                         "stored_outer_miss"],
              "matrix": ["calls", "stored", "stored_n", "stored_n_l2_miss",
                         "stored_n_outer_miss", "stored_vectors",
                         "outputs"]},
    "sparse": {"vector": ["calls", "rows", "stored", "stored_l2_miss",
                          "stored_outer_miss"],
               "matrix": ["calls", "rows", "stored", "stored_vectors",
                          "stored_vectors_k_blocked",
                          "stored_vectors_k_blocked_outer_miss",
                          "stored_tiles", "output_vectors"]},
}
# How the sparse SpMM fits count the misses of B's rows (added to
# FIT_FEATURES["sparse"]["matrix"]): over all of B, or over the B rows the
# kernel cycles through, one K-block panel of its column tile when it runs
# K-blocked. Which one describes a CPU's kernels is measured: a calibration
# keeps the one whose choices over its own weights lose least
# (choice_regrets), the first on a tie.
B_MISS_FEATURES = {
    "operand": ["stored_vectors_l1_miss", "stored_vectors_l2_miss",
                "stored_vectors_outer_miss"],
    "panel": ["stored_vectors_panel_l1_miss", "stored_vectors_panel_l2_miss",
              "stored_vectors_panel_outer_miss"],
}
# Candidates for the effective capacity beyond L2 (outer_cache_bytes): the
# one whose fits have the smallest errors is kept.
OUTER_CACHE_CANDIDATES = [int(m * 2**20) for m in
                          (1, 1.5, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)]
TRANSPOSE_FEATURES = ["calls", "elements", "paged_elements"]
# Buffers above glibc's default mmap threshold are page-faulted in again on
# every call when freed inside it (CostModel.cpp, kPagedBufferBytes).
PAGED_BUFFER_BYTES = 128 * 1024


def transpose_values(n, rows, cols):
    """The transpose features of the two transposes around a sparse X W:
    X^T (N x cols) and the product (rows x N)."""
    buffers = (n * cols, n * rows)
    return {"calls": 2.0, "elements": float(sum(buffers)),
            "paged_elements": float(sum(b for b in buffers
                                        if 4 * b > PAGED_BUFFER_BYTES))}

FULL = dict(
    shapes=[(64, 128), (256, 256), (768, 768), (3072, 768), (768, 3072),
            (512, 2048)],
    # More for dense alone: one compilation per shape, and too few shapes
    # leave its per-call and per-element costs confounded.
    dense_shapes=[(128, 128), (1024, 256), (256, 1024)],
    n=[1, 8, 32, 128, 256],
    # Convolutions as im2col products at batch 1 (ResNet-50's 1x1 and 3x3
    # filters at 56x56 and 28x28 outputs): small weights times many
    # columns, (rows, cols, [N]), dense (as W B, the form convolutions run
    # in) and `wide_formats` only. Whether such a layer is worth CSR is
    # decided here: `n` stops at 256, and extrapolated to these N the fits
    # kept 11 of ResNet-50's layers dense at 0.7 sparsity that run faster
    # as CSR. Not BSR / N:M: fitted to these samples too, the BSR fits
    # stored 25 of ResNet-50's 4x4-block weights as 4x1, and the whole
    # model at 0.5 ran 1.09x instead of 1.27x faster than dense. Not B
    # (cols x N) beyond 8 MB (128 x 1152 and 256 x 2304 at N = 3136): it
    # comes from memory there, at costs these linear features do not
    # follow (docs/cost-model.md, limits). The expanding 1x1 filters (256 x
    # 64 at 56x56, 512 x 128 at 28x28, 2048 x 512 at 7x7): without them
    # the dense fit, free to charge its time to outputs (rows x N) rather
    # than multiply-adds, predicted 256 x 64 at N = 3136 1.6x slow and sent
    # 14 of ResNet-50's layers at 0.5 to CSR, which ran them 0.7-0.84x
    # dense (docs/performance.md, "Where the mixed rows stand"). The 14x14
    # and 7x7 stages (N = 196, 49) and the 3x3 filters at 56x56 in the
    # panels of two output rows they run in (N = 112): without them the
    # Zen 4 fits sent ResNet-50's 14x14 stage at 0.5 to CSR, with which the
    # whole model ran 4.8 ms (5%) slower than dense (docs/performance.md,
    # "On Zen 4: the mixed rows").
    wide_shapes=[(64, 256, [784, 3136]), (64, 576, [112, 784, 3136]),
                 (128, 1152, [784]), (256, 2304, [196, 784]),
                 (256, 64, [784, 3136]), (512, 128, [784]),
                 (2048, 512, [49]), (64, 64, [3136]), (1024, 256, [196]),
                 (256, 1024, [196]), (512, 2048, [49]), (512, 4608, [49])],
    wide_formats=["csr"],
    sparsities=[0.5, 0.7, 0.8, 0.9, 0.95, 0.98],
    formats=["csr", "bsr:1x4", "bsr:4x1", "bsr:4x4", "bsr:8x1", "bsr:16x1",
             "bsr:8x8", "nm:2:4", "nm:1:4", "nm:2:8", "nm:4:8"],
    transposes=[(256, 256), (768, 768), (3072, 768), (768, 3072)],
    validation=[("csr", 768, 768, 0.9), ("bsr:4x4", 768, 768, 0.9),
                ("nm:2:4", 768, 768, 0.5)],
    repeat=5, rounds=3)
QUICK = dict(
    shapes=[(64, 128), (128, 64)],
    dense_shapes=[],
    n=[1, 16, 64],
    wide_shapes=[],
    wide_formats=[],
    sparsities=[0.5, 0.9],
    formats=["csr", "bsr:4x4", "nm:2:4"],
    transposes=[(128, 64)],
    validation=[("csr", 128, 64, 0.9)],
    repeat=3, rounds=1)


# --- features: the same definitions as lib/CostModel/CostModel.cpp ---------

def parse_format(text):
    """("dense",), ("csr",), ("bsr", R, C) or ("nm", N, M)."""
    if text in ("dense", "csr"):
        return (text,)
    match = (re.fullmatch(r"bsr:([0-9]+)x([0-9]+)", text) or
             re.fullmatch(r"nm:([0-9]+):([0-9]+)", text))
    if not match:
        raise ValueError(f"format must be dense, csr, bsr:RxC or nm:N:M, "
                         f"got {text!r}")
    a, b = int(match.group(1)), int(match.group(2))
    if a <= 0 or b <= 0 or (text.startswith("nm") and a > b):
        raise ValueError(f"bad format {text!r}")
    return (text.split(":")[0], a, b)


def column_tiles(n, lanes, tile):
    width = lanes * tile
    rest = n % width
    return n // width + bin(rest // lanes).count("1") + (rest % lanes != 0)


def miss_share(cache_bytes, data_bytes):
    return 1.0 - cache_bytes / data_bytes if data_bytes > cache_bytes else 0.0


# Non-zeros per row and K block from which the SpMM kernels run K-blocked
# (CostModel.cpp, kKBlockMinStoredPerRow; the kernels' k-block-min-nonzeros).
K_BLOCK_MIN_STORED_PER_ROW = 10


def kernel_tile(fmt, kernels):
    """The column tile, in vectors, the format's SpMM kernel runs
    (CostModel::kernelTileVectors): BSR narrows it so that R x tile
    accumulators fit."""
    tile = kernels["n_tile"]
    if fmt[0] == "bsr":
        fit = max(1, kernels["accumulator_registers"] // fmt[1])
        tile = min(tile, 1 << (fit.bit_length() - 1))
    return tile


def k_blocked(fmt, stored, rows, cols, n, kernels):
    """Whether a sparse SpMM runs K-blocked (CostModel::kBlocking): N holds
    the kernel's full tile, or, for N:M, two vectors with B beyond two
    K-block panels; K deeper than the kernels' K block (K_BLOCK); enough
    stored values per row and K block."""
    if fmt[0] == "dense":
        return False
    lanes = kernels["lanes"]
    block = kernels["k_block"]
    width = kernel_tile(fmt, kernels) * lanes
    wide = n >= width or (fmt[0] == "nm" and n >= 2 * lanes and
                          cols * n > 2 * block * width)
    per_row = stored / max(1, rows) * block / max(1, cols)
    return wide and cols > block and per_row >= K_BLOCK_MIN_STORED_PER_ROW


def feature_values(fmt, stored, kernel_rows, rows, cols, n, kernels):
    """Every feature of the vocabulary for a product of a rows x cols
    weight stored as `fmt` (a parse_format tuple) times N columns."""
    lanes = kernels["lanes"]
    vectors = -(-n // lanes)
    tile = kernel_tile(fmt, kernels)
    stored = float(stored)
    weight_bytes, operand_bytes = 4.0 * stored, 4.0 * cols * n
    l1, l2 = float(kernels["l1d_bytes"]), float(kernels["l2_bytes"])
    outer = float(kernels["outer_cache_bytes"])
    blocked = k_blocked(fmt, stored, rows, cols, n, kernels)
    # The B rows the kernel cycles through: K-blocked, one K-block panel of
    # its column tile, reused across a block of rows, except that CSR and
    # BSR run the columns past their full tiles unblocked, over all of B.
    width = tile * lanes
    panel_bytes, panel_vectors = operand_bytes, vectors
    if blocked:
        panel_bytes = 4.0 * kernels["k_block"] * min(n, width)
        if fmt[0] != "nm":
            panel_vectors = n // width * tile

    def panel_misses(cache):
        return stored * (panel_vectors * miss_share(cache, panel_bytes) +
                         (vectors - panel_vectors) *
                         miss_share(cache, operand_bytes))
    return {
        "calls": 1.0, "rows": float(kernel_rows), "stored": stored,
        "stored_l1_miss": stored * miss_share(l1, weight_bytes),
        "stored_l2_miss": stored * miss_share(l2, weight_bytes),
        "stored_outer_miss": stored * miss_share(outer, weight_bytes),
        "stored_n": stored * n,
        "stored_n_l1_miss": stored * n * miss_share(l1, weight_bytes),
        "stored_n_l2_miss": stored * n * miss_share(l2, weight_bytes),
        "stored_n_outer_miss": stored * n * miss_share(outer, weight_bytes),
        "stored_vectors": stored * vectors,
        "stored_vectors_l1_miss":
            stored * vectors * miss_share(l1, operand_bytes),
        "stored_vectors_l2_miss":
            stored * vectors * miss_share(l2, operand_bytes),
        "stored_vectors_outer_miss":
            stored * vectors * miss_share(outer, operand_bytes),
        "stored_vectors_panel_l1_miss": panel_misses(l1),
        "stored_vectors_panel_l2_miss": panel_misses(l2),
        "stored_vectors_panel_outer_miss": panel_misses(outer),
        "stored_vectors_k_blocked": stored * vectors if blocked else 0.0,
        "stored_vectors_k_blocked_outer_miss":
            stored * vectors * miss_share(outer, weight_bytes)
            if blocked else 0.0,
        "stored_tiles": stored * column_tiles(n, lanes, tile),
        "outputs": float(rows) * n, "output_vectors": float(rows) * vectors,
        "inputs": float(cols) * n,
    }


def data_caches():
    """(L1 data, L2, last level) bytes, from Linux's sysfs (L1 and L2 per
    core; the last level as cpu0 sees it, shared or not)."""
    sizes = {}
    base = "/sys/devices/system/cpu/cpu0/cache"
    try:
        for index in sorted(os.listdir(base)):
            if not index.startswith("index"):
                continue
            path = os.path.join(base, index)

            def read(name):
                with open(os.path.join(path, name)) as f:
                    return f.read().strip()
            if read("type") in ("Data", "Unified"):
                size = read("size")
                scale = {"K": 1024, "M": 1024 ** 2}.get(size[-1], 1)
                sizes[int(read("level"))] = int(size.rstrip("KM")) * scale
    except OSError as error:
        sys.exit(f"error: cannot read the cache sizes from {base}: {error}")
    if 1 not in sizes or 2 not in sizes:
        sys.exit(f"error: {base} names no L1 data or L2 cache")
    return sizes[1], sizes[2], sizes[max(sizes)]


def predict(fit, values):
    return sum(c * values[f] for f, c in zip(fit["features"],
                                             fit["coefficients"]))


# --- weights and kernels -----------------------------------------------------

def random_weight(fmt, rows, cols, sparsity, rng):
    """A rows x cols float32 weight in format `fmt` at about `sparsity`
    (N:M: exactly 1 - N/M), and the values its format stores."""
    values = rng.standard_normal((rows, cols)).astype(np.float32)
    values[values == 0] = 1.0
    if fmt[0] == "dense":
        return values, rows * cols
    if fmt[0] == "csr":
        keep = int(round((1 - sparsity) * rows * cols))
        mask = np.zeros(rows * cols, bool)
        mask[rng.choice(rows * cols, keep, replace=False)] = True
        weight = np.where(mask.reshape(rows, cols), values, 0)
        return weight, keep
    if fmt[0] == "bsr":
        r, c = fmt[1], fmt[2]
        blocks = (rows // r) * (cols // c)
        keep = max(1, int(round((1 - sparsity) * blocks)))
        mask = np.zeros(blocks, bool)
        mask[rng.choice(blocks, keep, replace=False)] = True
        mask = np.kron(mask.reshape(rows // r, cols // c),
                       np.ones((r, c), bool))
        return np.where(mask, values, 0), keep * r * c
    n, m = fmt[1], fmt[2]
    groups = values.reshape(rows, cols // m, m)
    order = np.argsort(rng.random(groups.shape), axis=2)
    mask = order < n
    return np.where(mask, groups, 0).reshape(rows, cols), rows * cols // m * n


def resource(name, array):
    """A builtin dialect resource holding `array` (little-endian f32)."""
    data = np.ascontiguousarray(array, dtype="<f4").tobytes()
    return f'      {name}: "0x04000000{data.hex()}"'


def module(body, resources):
    return (body + "\n{-#\n  dialect_resources: {\n    builtin: {\n"
            + ",\n".join(resources) + "\n    }\n  }\n#-}\n")


def kernel_source(form, rows, cols, n, weight):
    """MLIR of one measured product; `n` is static or None (dynamic).

    form "left": W (rows x cols, constant) times B (cols x N);
    "right": X (N x cols) times W^T (cols x rows, constant), a linear
    layer."""
    d = "?" if n is None else str(n)
    dim = "" if n is not None else "%n"
    # The operand, the weight (constant) and the result, as tensor types,
    # in the product's operand order, and which dimension of the operand N
    # is.
    operand = f"{cols}x{d}" if form == "left" else f"{d}x{cols}"
    weight_type = f"{rows}x{cols}" if form == "left" else f"{cols}x{rows}"
    result = f"{rows}x{d}" if form == "left" else f"{d}x{rows}"
    n_dim = 1 if form == "left" else 0
    ins = ("%w, %x", f"tensor<{weight_type}xf32>, tensor<{operand}xf32>") \
        if form == "left" else \
        ("%x, %w", f"tensor<{operand}xf32>, tensor<{weight_type}xf32>")
    text = f"""module {{
  func.func @layer(%x: tensor<{operand}xf32>) -> tensor<{result}xf32>
      attributes {{ llvm.emit_c_interface }} {{
    %c{n_dim} = arith.constant {n_dim} : index
    %n = tensor.dim %x, %c{n_dim} : tensor<{operand}xf32>
    %w = arith.constant dense_resource<weight> : tensor<{weight_type}xf32>
    %zero = arith.constant 0.0 : f32
    %e = tensor.empty({dim}) : tensor<{result}xf32>
    %i = linalg.fill ins(%zero : f32) outs(%e : tensor<{result}xf32>)
        -> tensor<{result}xf32>
    %y = linalg.matmul ins({ins[0]} : {ins[1]})
        outs(%i : tensor<{result}xf32>) -> tensor<{result}xf32>
    return %y : tensor<{result}xf32>
  }}
}}"""
    return module(text, [resource("weight",
                                  weight if form == "left" else weight.T)])


class Calibration:
    """Compiles and checks every measured library first, then times them
    all in rounds: a measurement is the best over all rounds, so a burst of
    load from other processes during one round does not decide it."""

    def __init__(self, args, plan):
        self.args = args
        self.plan = plan
        self.tmp = tempfile.mkdtemp(prefix="sparse-opt-calibrate-")
        try:
            self.compiler = str(find_compiler())
        except FileNotFoundError as error:
            sys.exit(f"error: {error}")
        self.rng = np.random.default_rng(args.seed)
        self.compiled = 0
        self.evictor = None
        # (library path, [sample dicts it is timed for]) in plan order.
        self.libraries = []

    def compile(self, source, weight_format):
        """The path of a library of `source` with weights as
        `weight_format`."""
        self.compiled += 1
        stem = os.path.join(self.tmp, f"k{self.compiled}")
        with open(stem + ".mlir", "w") as f:
            f.write(source)
        command = [self.compiler, stem + ".mlir", "-o", stem + ".so",
                   "--no-header", f"--target-cpu={self.args.target_cpu}",
                   f"--pipeline-options=weight-formats={weight_format} "
                   f"spmm-k-block={K_BLOCK}"]
        if self.args.target_features:
            command.append(f"--target-features={self.args.target_features}")
        done = subprocess.run(command, capture_output=True, text=True)
        os.remove(stem + ".mlir")
        if done.returncode != 0:
            sys.exit(f"error: sparse-compile failed ({weight_format}):\n"
                     f"{done.stderr}")
        return stem + ".so"

    def open(self, path):
        library = Library(path)
        library.num_threads = self.args.threads
        return library

    def target(self):
        """The CPU name and features sparse-compile resolves, from the
        attributes of the LLVM IR it writes, and the data caches."""
        path = os.path.join(self.tmp, "target.mlir")
        with open(path, "w") as f:
            f.write("func.func @f() attributes { llvm.emit_c_interface } "
                    "{ return }\n")
        command = [self.compiler, path, "-o", "-", "--emit=llvm",
                   f"--target-cpu={self.args.target_cpu}"]
        if self.args.target_features:
            command.append(f"--target-features={self.args.target_features}")
        ir = subprocess.run(command, capture_output=True, text=True,
                            check=True).stdout
        cpu = re.search(r'"target-cpu"="([^"]*)"', ir)
        features = re.search(r'"target-features"="([^"]*)"', ir)
        triple = re.search(r'target triple = "([^"]*)"', ir)
        if not cpu or not features:
            sys.exit("error: cannot read the target from sparse-compile's "
                     "LLVM IR")
        enabled = set(f[1:] for f in features.group(1).split(",")
                      if f.startswith("+"))
        bits = 512 if "avx512f" in enabled else 256 if "avx" in enabled \
            else 128
        l1, l2, _ = data_caches()
        return dict(cpu=cpu.group(1), triple=triple.group(1) if triple else "",
                    features=features.group(1), vector_bits=bits,
                    l1d_bytes=l1, l2_bytes=l2)

    def activations(self, shape):
        return self.rng.standard_normal(shape).astype(np.float32)

    def check(self, path, operand, reference, scale):
        """Fails the calibration unless `path`'s result on `operand` is
        `reference` within 1e-4 x `scale` (elementwise)."""
        library = self.open(path)
        result = library.run("layer", operand)
        library.close()
        error = np.abs(result.astype(np.float64) - reference)
        if not np.all(error <= 1e-4 * scale + 1e-30):
            sys.exit(f"error: a compiled kernel is wrong (max error "
                     f"{error.max():.3g}); not calibrating on it")

    def prepare_product(self, form, fmt_text, rows, cols, sparsity, samples,
                        weight=None, n_values=None):
        """Compiles and checks the product of a random rows x cols weight
        (or `weight`, a (values, stored) pair) in `fmt_text` (`form` as
        kernel_source) for every N of `n_values` (default: the plan's);
        appends a sample per N (timed later)."""
        fmt = parse_format(fmt_text)
        weight, stored = weight or random_weight(fmt, rows, cols, sparsity,
                                                 self.rng)
        kernel_rows = rows // fmt[1] if fmt[0] == "bsr" else rows
        weight64 = weight.astype(np.float64)
        n_values = n_values or self.plan["n"]
        for n_static in (n_values if self.args.static_n else [None]):
            path = self.compile(kernel_source(form, rows, cols, n_static,
                                              weight), fmt_text)
            timed = []
            for n in ([n_static] if n_static else n_values):
                shape = (cols, n) if form == "left" else (n, cols)
                operand = self.activations(shape)
                if form == "left":
                    reference = weight64 @ operand
                    scale = np.abs(weight64) @ np.abs(operand)
                else:
                    reference = operand.astype(np.float64) @ weight64.T
                    scale = np.abs(operand) @ np.abs(weight64.T)
                self.check(path, operand, reference, scale)
                sample = dict(
                    format=fmt_text, form=form, rows=rows, cols=cols, n=n,
                    sparsity=1 - np.count_nonzero(weight) / weight.size,
                    stored=stored, kernel_rows=kernel_rows, shape=shape,
                    seconds=math.inf)
                samples.append(sample)
                timed.append(sample)
            self.libraries.append((path, timed))
        print(f"  compiled and checked {fmt_text} {form} {rows}x{cols} "
              f"sparsity {sparsity:g}", file=sys.stderr)

    def prepare_call_overhead(self):
        """A library whose entry returns its argument: the time of calling
        it is the harness's (ctypes, descriptors), which a layer inside a
        model does not pay; it is taken off every sample after timing.
        Returns its sample."""
        path = self.compile("""module {
  func.func @layer(%x: tensor<?x8xf32>) -> tensor<?x8xf32>
      attributes { llvm.emit_c_interface } {
    return %x : tensor<?x8xf32>
  }
}
""", "dense")
        sample = dict(shape=(1, 8), seconds=math.inf)
        self.libraries.append((path, [sample]))
        self.identity_path = path
        return sample

    def prepare_transposes(self):
        """The transposes a sparse X W adds, measured as they run in a
        layer: for each shape of the plan, one CSR weight (0.95 sparse)
        both as W B and as X W^T, whose difference is the two transposes
        and their buffers (which a stand-alone transpose measures wrongly:
        allocated and freed inside the call, they page-fault each time).
        Returns the (W B, X W^T) sample pairs."""
        pairs = []
        for rows, cols in self.plan["transposes"]:
            weight = random_weight(("csr",), rows, cols, 0.95, self.rng)
            left, right = [], []
            self.prepare_product("left", "csr", rows, cols, 0.95, left, weight)
            self.prepare_product("right", "csr", rows, cols, 0.95, right,
                                 weight)
            pairs += zip(left, right)
        return pairs

    def fork_join(self, threads, calls=1000, rounds=5):
        """The cost of entering and leaving an OpenMP parallel region on
        `threads` threads: one tiny CSR SpMM (64 x 128 at 0.9 sparsity,
        N = 8: about a microsecond of work) compiled with its row loop
        always parallel (min-parallel-work=0) and with the serial loop only
        (the default threshold, which this call stays under), both timed
        on `threads` threads, best of `calls` calls over `rounds` rounds,
        interleaved; the difference (the split work it saves is below the
        noise) is the fork / join. A few seconds."""
        weight, _ = random_weight(("csr",), 64, 128, 0.9, self.rng)
        source = kernel_source("left", 64, 128, None, weight)
        compiled = {}
        for name, extra in (("parallel", " min-parallel-work=0"),
                            ("serial", "")):
            compiled[name] = self.compile(source, "csr" + extra)
        best = dict(parallel=math.inf, serial=math.inf)
        operand = self.activations((128, 8))
        libraries = {}
        for name, path in compiled.items():
            libraries[name] = Library(path)
            libraries[name].num_threads = threads
        try:
            calls_of = {name: library.bind("layer", operand)
                        for name, library in libraries.items()}
            for _ in range(rounds):
                for name, call in calls_of.items():
                    call()
                    for _ in range(calls):
                        start = time.perf_counter()
                        call()
                        best[name] = min(best[name],
                                         time.perf_counter() - start)
        finally:
            for library in libraries.values():
                library.close()
        return dict(fork_join_seconds=max(best["parallel"] - best["serial"],
                                          0.0),
                    threads=threads,
                    parallel_call_seconds=best["parallel"],
                    serial_call_seconds=best["serial"],
                    kernel="csr 64x128 sparsity 0.9 N 8")

    def evict(self, call, rewarm):
        """Unless --warm-weights: flushes the caches, then calls `rewarm`
        (the harness's identity entry), which brings back the interpreter,
        ctypes and runtime paths of a call, and reads the operands of
        `call` (a bound entry) back, as a layer finds the activations the
        layer before it wrote; the weight and the kernel's code stay out of
        the caches."""
        if self.evictor is not None:
            self.evictor.sum()
            rewarm()
            for operand in call.operands:
                operand.sum()

    def time_all(self, rounds):
        """Times every prepared sample in `rounds` rounds: best of --repeat
        calls after a warm-up (fewer past --budget seconds), the best over
        the rounds kept; each timed call after evict()."""
        repeat = self.args.repeat or self.plan["repeat"]
        if not self.args.warm_weights:
            # Read before each timed call: 1.5 x the last level cache, so
            # that the call finds its weight in memory, as a layer of a
            # model larger than the caches does (the other layers evicted
            # it since its last call).
            last_level = data_caches()[2]
            self.evictor = np.ones(max(3 * last_level // 2, 8 << 20) // 4,
                                   np.float32)
        identity = self.open(self.identity_path)
        rewarm = identity.bind("layer", np.zeros((1, 8), np.float32))
        for index in range(rounds):
            started = time.time()
            for path, timed in self.libraries:
                library = self.open(path)
                for sample in timed:
                    call = library.bind("layer",
                                        self.activations(sample["shape"]))
                    call()
                    spent = 0.0
                    for attempt in range(repeat):
                        if path != self.identity_path:
                            self.evict(call, rewarm)
                        start = time.perf_counter()
                        call()
                        elapsed = time.perf_counter() - start
                        sample["seconds"] = min(sample["seconds"], elapsed)
                        spent += elapsed
                        if attempt >= 1 and spent > self.args.budget:
                            break
                library.close()
            print(f"  timing round {index + 1}/{rounds}: "
                  f"{time.time() - started:.0f} s", file=sys.stderr)
        identity.close()


def nnls(a, b, iterations=500):
    """Non-negative least squares (Lawson-Hanson): argmin |a x - b|, x >= 0."""
    rows, cols = a.shape
    x = np.zeros(cols)
    passive = np.zeros(cols, bool)
    for _ in range(iterations):
        gradient = a.T @ (b - a @ x)
        candidates = ~passive & (gradient > 1e-12 * max(1.0, np.abs(gradient).max()))
        if not candidates.any():
            break
        passive[np.argmax(np.where(candidates, gradient, -np.inf))] = True
        while True:
            z = np.zeros(cols)
            z[passive] = np.linalg.lstsq(a[:, passive], b, rcond=None)[0]
            if (z[passive] > 0).all():
                x = z
                break
            negative = passive & (z <= 0)
            step = np.min(x[negative] / (x[negative] - z[negative]))
            x = x + step * (z - x)
            passive &= x > 1e-15
    return x


def fit(features, rows, relative_to=None):
    """Fits `features` to [(values, seconds)] minimizing the errors
    relative to the seconds (or to `relative_to`, one time per row); the
    fit dict with its error statistics."""
    a = np.array([[values[f] for f in features] for values, _ in rows])
    t = np.array([seconds for _, seconds in rows])
    base = t if relative_to is None else np.array(relative_to)
    weighted = a / base[:, None]
    scale = np.linalg.norm(weighted, axis=0)
    scale[scale == 0] = 1.0
    coefficients = nnls(weighted / scale, t / base) / scale
    errors = np.abs(a @ coefficients - t) / base
    return dict(features=features,
                coefficients=[float(c) for c in coefficients],
                samples=len(t), median_error=float(np.median(errors)),
                max_error=float(errors.max()),
                rms_error=float(np.sqrt(np.mean(errors ** 2))))


def fit_samples(samples, fmt_text, regime):
    """The samples of `fmt_text` that its `regime` ("vector": N = 1,
    "matrix": N > 1) is fitted to."""
    return [s for s in samples if s["format"] == fmt_text and
            (s["n"] == 1) == (regime == "vector")]


def fit_features(family, regime, b_misses):
    """The features `family` ("dense", "sparse") is fitted with in `regime`,
    sparse SpMM products counting B's misses as `b_misses` says
    (B_MISS_FEATURES)."""
    features = FIT_FEATURES[family][regime]
    if family == "dense" or regime == "vector":
        return features
    at = features.index("stored_vectors") + 1
    return features[:at] + B_MISS_FEATURES[b_misses] + features[at:]


def fit_all(product_samples, transpose_samples, kernels, b_misses):
    # Each sample is a pair of transposes, as CostModel::predict adds them;
    # its error counts relative to the time of the layer it is part of (the
    # difference itself may be near zero).
    transpose = fit(TRANSPOSE_FEATURES, [
        (transpose_values(s["n"], s["rows"], s["cols"]), s["seconds"])
        for s in transpose_samples],
        relative_to=[s["layer_seconds"] for s in transpose_samples])
    formats = {}
    for fmt_text in sorted({s["format"] for s in product_samples}):
        fmt = parse_format(fmt_text)
        family = "dense" if fmt[0] == "dense" else "sparse"
        regimes = {}
        for regime in ("vector", "matrix"):
            rows = [(feature_values(fmt, s["stored"], s["kernel_rows"],
                                    s["rows"], s["cols"], s["n"], kernels),
                     s["seconds"])
                    for s in fit_samples(product_samples, fmt_text, regime)]
            if rows:
                regimes[regime] = fit(
                    fit_features(family, regime, b_misses), rows)
        formats[fmt_text] = regimes
    return transpose, formats


def fit_with_outer_cache(product_samples, transpose_samples, kernels,
                         b_misses):
    """fit_all at each candidate outer_cache_bytes above L2; the kernels
    dict completed with the candidate whose fits have the smallest mean
    RMS relative error, and its fits."""
    best = None
    for outer in OUTER_CACHE_CANDIDATES:
        if outer <= kernels["l2_bytes"]:
            continue
        trial = dict(kernels, outer_cache_bytes=outer)
        transpose, formats = fit_all(product_samples, transpose_samples,
                                     trial, b_misses)
        fits = [f for regimes in formats.values() for f in regimes.values()]
        score = sum(f["rms_error"] for f in fits) / len(fits)
        if best is None or score < best[0]:
            best = (score, trial, transpose, formats)
    return best[1:]


def fit_b_misses(product_samples, transpose_samples, kernels):
    """fit_with_outer_cache for each way of counting B's misses
    (B_MISS_FEATURES); the one whose choices over the samples' own weights
    lose least (geometric mean of choice_regrets): its kernels and fits."""
    best = None
    for b_misses in B_MISS_FEATURES:
        trial, transpose, formats = fit_with_outer_cache(
            product_samples, transpose_samples, kernels, b_misses)
        regrets = choice_regrets(dict(transpose=transpose, formats=formats),
                                 trial, product_samples)
        score = sum(map(math.log, regrets)) / max(1, len(regrets))
        print(f"  B misses over the {b_misses}: choices "
              f"{math.exp(score):.4f}x the best measured", file=sys.stderr)
        if best is None or score < best[0] - 1e-12:
            best = (score, b_misses, trial, transpose, formats)
    print(f"  kept B misses over the {best[1]}", file=sys.stderr)
    return best[2:]


def predicted(model, sample, kernels):
    """The model's prediction for a sample, transposes included for a
    sparse X W (as CostModel::predict)."""
    fmt = parse_format(sample["format"])
    regime = "vector" if sample["n"] == 1 else "matrix"
    values = feature_values(fmt, sample["stored"], sample["kernel_rows"],
                            sample["rows"], sample["cols"], sample["n"],
                            kernels)
    seconds = predict(model["formats"][sample["format"]][regime], values)
    if sample["form"] == "right" and fmt[0] != "dense":
        seconds += predict(model["transpose"], transpose_values(
            sample["n"], sample["rows"], sample["cols"]))
    return seconds


def now():
    return datetime.datetime.now(datetime.timezone.utc).isoformat(
        timespec="seconds")


def revision():
    try:
        return subprocess.run(["git", "-C", ROOT, "rev-parse", "--short",
                               "HEAD"], capture_output=True, text=True,
                              check=True).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


# The K block of the SpMM kernels measured: the pipeline's spmm-k-block
# default, which the calibration compiles with (CostModel.cpp,
# kDefaultCalibratedKBlock).
K_BLOCK = 64


def kernel_parameters(target, n_tile=8):
    """What the features need of the target and the kernels (as
    CostModel.cpp reads them from the file)."""
    return dict(lanes=target["vector_bits"] // 32, n_tile=n_tile,
                accumulator_registers=16 if target["vector_bits"] >= 512
                else 8, k_block=K_BLOCK, l1d_bytes=target["l1d_bytes"],
                l2_bytes=target["l2_bytes"])


def fitted_model(target, kernels, samples, transpose_pairs, validating,
                 check_all=False):
    """The model file's fits, checks and target for timed samples (harness
    overhead already taken off); returns it with the kernel parameters
    (the fitted outer cache added) and the validation rows. The checks are
    a few samples per fit (check_samples), or every sample with
    `check_all`."""
    transposes = [dict(n=right["n"], rows=right["rows"], cols=right["cols"],
                       seconds=max(right["seconds"] - left["seconds"], 0.0),
                       layer_seconds=right["seconds"])
                  for left, right in transpose_pairs]
    kernels, transpose, formats = fit_b_misses(samples, transposes, kernels)
    model = {
        "sparse_opt_cost_model": 1,
        "target": dict(target, outer_cache_bytes=kernels["outer_cache_bytes"]),
        "kernels": {"n_tile": kernels["n_tile"],
                    "accumulator_registers": kernels["accumulator_registers"],
                    "k_block": kernels["k_block"]},
        "transpose": transpose,
        "formats": formats,
    }
    validation = []
    for sample in validating:
        guess = predicted(model, sample, kernels)
        validation.append(dict(
            format=sample["format"], rows=sample["rows"],
            cols=sample["cols"], n=sample["n"],
            sparsity=round(sample["sparsity"], 4),
            measured_seconds=sample["seconds"], predicted_seconds=guess,
            error=abs(guess - sample["seconds"]) / sample["seconds"]))
    # What this calibration predicts for some samples of each fit: the
    # compiler re-computes them and rejects the file if it disagrees.
    model["checks"] = [
        dict(format=sample["format"], rows=sample["rows"],
             cols=sample["cols"], n=sample["n"],
             weight_on_right=sample["form"] != "left",
             stored=sample["stored"], kernel_rows=sample["kernel_rows"],
             seconds=predicted(model, sample, kernels))
        for fmt_text, regimes in formats.items()
        for regime, fit in regimes.items()
        for sample in (
            fit_samples(samples, fmt_text, regime) if check_all
            else check_samples(fmt_text, regime, fit, samples, kernels))]
    return model, kernels, validation


def check_samples(fmt_text, regime, fit, samples, kernels):
    """The samples of one fit whose predictions the model file records: the
    first, the one with the largest value of each of the fit's features
    (so that every feature the fit uses, e.g. the K-blocked ones, is
    recomputed by the compiler at a value that is not zero) and the first
    with the weight on the right (the transposes)."""
    fmt = parse_format(fmt_text)
    own = fit_samples(samples, fmt_text, regime)
    values = [feature_values(fmt, s["stored"], s["kernel_rows"], s["rows"],
                             s["cols"], s["n"], kernels) for s in own]
    picked = [0]
    for feature in fit["features"]:
        largest = max(range(len(own)), key=lambda i: values[i][feature])
        if values[largest][feature] > 0:
            picked.append(largest)
    picked += [i for i, s in enumerate(own) if s["form"] != "left"][:1]
    return [own[i] for i in sorted(set(picked))]


def read_model(path, option):
    """The existing model file `path` that `option` updates; exits with a
    message if it cannot be read or is not a cost model."""
    try:
        with open(path) as f:
            model = json.load(f)
    except (OSError, ValueError) as error:
        sys.exit(f"error: {option} needs an existing model file: {error}")
    if model.get("sparse_opt_cost_model") != 1:
        sys.exit(f"error: {path} is not a sparse-opt cost model")
    return model


def write_model(path, model):
    with open(path, "w") as f:
        json.dump(model, f, indent=1)
        f.write("\n")


# The samples file (--samples, read back by --refit): one timed product per
# row; `role` says what it was timed for.
SAMPLE_KEYS = ["role", "format", "form", "rows", "cols", "n", "sparsity",
               "stored", "kernel_rows", "seconds"]


def write_samples(path, samples, transpose_pairs, validating):
    rows = [("product", s) for s in samples]
    for left, right in transpose_pairs:
        rows += [("transpose-left", left), ("transpose-right", right)]
    rows += [("validation", s) for s in validating]
    with open(path, "w") as f:
        f.write(",".join(SAMPLE_KEYS) + "\n")
        for role, s in rows:
            f.write(",".join([role] + [str(s[k]) for k in SAMPLE_KEYS[1:]])
                    + "\n")


def read_samples(path):
    """(products, transpose pairs, validation samples) of a samples file."""
    kinds = dict(format=str, form=str, rows=int, cols=int, n=int,
                 sparsity=float, stored=int, kernel_rows=int, seconds=float)
    groups = {"product": [], "transpose-left": [], "transpose-right": [],
              "validation": []}
    try:
        with open(path) as f:
            header = f.readline().strip().split(",")
            if header != SAMPLE_KEYS:
                sys.exit(f"error: {path}: expected the columns "
                         f"{','.join(SAMPLE_KEYS)}, found {','.join(header)}")
            for number, line in enumerate(f, start=2):
                fields = line.strip().split(",")
                if len(fields) != len(SAMPLE_KEYS) or \
                        fields[0] not in groups:
                    sys.exit(f"error: {path}:{number}: expected "
                             f"{len(SAMPLE_KEYS)} fields, the first one of "
                             f"{', '.join(groups)}")
                try:
                    sample = {k: kinds[k](v) for k, v in
                              zip(SAMPLE_KEYS[1:], fields[1:])}
                    parse_format(sample["format"])
                except ValueError as error:
                    sys.exit(f"error: {path}:{number}: {error}")
                groups[fields[0]].append(sample)
    except OSError as error:
        sys.exit(f"error: cannot read the samples: {error}")
    if len(groups["transpose-left"]) != len(groups["transpose-right"]):
        sys.exit(f"error: {path}: transpose-left and transpose-right rows "
                 f"must pair up")
    if not groups["product"]:
        sys.exit(f"error: {path} has no product samples")
    return (groups["product"],
            list(zip(groups["transpose-left"], groups["transpose-right"])),
            groups["validation"])


def refit(args):
    """--refit SAMPLES: fits the model file -o FILE (which must exist: its
    target and fork/join cost are kept) again to the samples a calibration
    wrote, without measuring; for changes to the features."""
    model = read_model(args.output, "--refit")
    samples, transpose_pairs, validating = read_samples(args.refit)
    target = model["target"]
    fitted, kernels, validation = fitted_model(
        target, kernel_parameters(target, model["kernels"]["n_tile"]),
        samples, transpose_pairs, validating, check_all=args.check_all)
    for key in ("parallel", "calibration"):
        if key in model:
            fitted[key] = model[key]
    calibration = fitted.setdefault("calibration", {})
    calibration["validation"] = validation
    calibration["refit"] = dict(
        command=" ".join(["scripts/calibrate.py"] + sys.argv[1:]),
        date=now(), revision=revision())
    write_model(args.output, fitted)
    print(f"refitted {args.output} to {len(samples)} products of "
          f"{args.refit}", file=sys.stderr)
    summarize(fitted, kernels, validation, samples)


def choice_regrets(model, kernels, samples):
    """How the model's choices over the calibration's own weights compare
    with the measurements: for every shape and N, dense against CSR at each
    sparsity, and at 0.5 against the N:M patterns too (which a 2:4 weight
    could use); the measured time of the predicted-fastest candidate over
    the measured fastest, one per choice."""
    by_layer = {}
    for s in samples:
        key = (s["rows"], s["cols"], s["n"])
        by_layer.setdefault(key, {})[(s["format"],
                                      round(s["sparsity"], 2))] = s
    regrets = []
    for measured in by_layer.values():
        dense = measured.get(("dense", 0.0))
        if dense is None:
            continue
        for (fmt, sparsity), csr in measured.items():
            if fmt != "csr":
                continue
            candidates = [dense, csr]
            if sparsity == 0.5:
                candidates += [s for (f, sp), s in measured.items()
                               if f.startswith("nm:") and sp == 0.5]
            chosen = min(candidates,
                         key=lambda s: predicted(model, s, kernels))
            best = min(s["seconds"] for s in candidates)
            regrets.append(chosen["seconds"] / best)
    return regrets


def summarize(model, kernels, validation, samples):
    print(f"  outer cache: {kernels['outer_cache_bytes'] / 2**20:g} MiB "
          f"fits best", file=sys.stderr)
    transpose = model["transpose"]
    print(f"  transposes: {transpose['samples']} samples, median error "
          f"{transpose['median_error']:.1%} of the layer, max "
          f"{transpose['max_error']:.1%}", file=sys.stderr)
    for fmt_text, regimes in model["formats"].items():
        for regime, f in regimes.items():
            print(f"  {fmt_text:9} {regime:6}: {f['samples']:3} samples, "
                  f"median error {f['median_error']:.1%}, max "
                  f"{f['max_error']:.1%}", file=sys.stderr)
    regrets = choice_regrets(model, kernels, samples)
    if regrets:
        print(f"  choices over these weights: {len(regrets)}, "
              f"{sum(r > 1.03 for r in regrets)} more than 3% slower than "
              f"the best measured, worst {max(regrets):.2f}x, mean "
              f"{math.exp(sum(map(math.log, regrets)) / len(regrets)):.3f}x",
              file=sys.stderr)
    for v in validation:
        print(f"  validation {v['format']} X W {v['rows']}x{v['cols']} N = "
              f"{v['n']}: measured {v['measured_seconds'] * 1e3:.3f} ms, "
              f"predicted {v['predicted_seconds'] * 1e3:.3f} ms",
              file=sys.stderr)


def update_parallel(args):
    """--parallel-only: measures the fork/join cost and writes it into the
    model file -o FILE (which must exist), keeping everything else."""
    model = read_model(args.output, "--parallel-only")
    started = time.time()
    calibration = Calibration(args, dict(QUICK))
    target = calibration.target()
    if target["vector_bits"] != model["target"]["vector_bits"]:
        sys.exit(f"error: {args.output} was measured with "
                 f"{model['target']['vector_bits']}-bit vectors, the target "
                 f"has {target['vector_bits']}")
    model["parallel"] = calibration.fork_join(max(args.parallel_threads, 2))
    model["parallel"]["command"] = " ".join(["scripts/calibrate.py"] +
                                            sys.argv[1:])
    model["parallel"]["date"] = now()
    write_model(args.output, model)
    print(f"{args.output}: fork/join on {model['parallel']['threads']} "
          f"threads {model['parallel']['fork_join_seconds'] * 1e6:.2f} us "
          f"(parallel call {model['parallel']['parallel_call_seconds'] * 1e6:.2f}"
          f" us, serial {model['parallel']['serial_call_seconds'] * 1e6:.2f} "
          f"us), {time.time() - started:.1f} s", file=sys.stderr)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-o", "--output", required=True,
                        help="the cost model file to write (JSON)")
    parser.add_argument("--quick", action="store_true",
                        help="a small plan (2 shapes, 3 formats), for tests")
    parser.add_argument("--build", help="the build directory whose tools "
                        "and runtime to use (default: as the Python package "
                        "finds them: $SPARSE_OPT_BUILD_DIR, else build/)")
    parser.add_argument("--target-cpu", default="host")
    parser.add_argument("--target-features", default="")
    parser.add_argument("--threads", type=int, default=1,
                        help="OpenMP threads the kernels run on (default 1)")
    parser.add_argument("--repeat", type=int, default=0,
                        help="timed calls per measurement and round "
                             "(default: 5, quick 3)")
    parser.add_argument("--rounds", type=int, default=0,
                        help="rounds over all measurements, the best kept "
                             "(default: 3, quick 1)")
    parser.add_argument("--budget", type=float, default=1.0,
                        help="seconds after which a measurement stops "
                             "repeating (after 2 timed calls)")
    parser.add_argument("--static-n", action="store_true",
                        help="compile one library per N (static shapes, as "
                             "imported models have) instead of one with N "
                             "dynamic; 5x the compilations")
    parser.add_argument("--formats", default="",
                        help="comma-separated sparse formats (default: the "
                             "plan's)")
    parser.add_argument("--samples", help="also write the measurements as "
                                          "CSV here")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--warm-weights", action="store_true",
                        help="time calls with the weight left in the caches "
                             "by the call before (for models whose weights "
                             "all fit in them); default: the caches are "
                             "flushed before each timed call")
    parser.add_argument("--parallel-threads", type=int, default=2,
                        help="threads the OpenMP fork/join cost is measured "
                             "on (default 2)")
    parser.add_argument("--refit", metavar="SAMPLES",
                        help="fit the existing model -o FILE again to the "
                             "samples file a calibration wrote (--samples), "
                             "measuring nothing")
    parser.add_argument("--check-all", action="store_true",
                        help="record every sample's prediction in the model "
                             "file, not only a few per fit: the compiler "
                             "recomputes each when it reads the file and "
                             "rejects it if one differs (a test that the "
                             "features of this script and of the compiler "
                             "agree)")
    parser.add_argument("--parallel-only", action="store_true",
                        help="measure only the fork/join cost (a few "
                             "seconds) and add it to the existing model "
                             "-o FILE, leaving its fits as they are")
    args = parser.parse_args()
    if args.build:
        os.environ[BUILD_DIR_ENV] = args.build
    if args.parallel_only:
        update_parallel(args)
        return
    if args.refit:
        refit(args)
        return
    plan = dict(QUICK if args.quick else FULL)
    if args.formats:
        plan["formats"] = args.formats.split(",")
    for text in plan["formats"]:
        try:
            parse_format(text)
        except ValueError as error:
            parser.error(str(error))

    started = time.time()
    calibration = Calibration(args, plan)
    target = calibration.target()
    kernels = kernel_parameters(target)
    print(f"calibrating for {target['cpu']} ({target['vector_bits']}-bit "
          f"vectors), {args.threads} thread(s)", file=sys.stderr)

    samples = []
    # (rows, cols, N values, sparse formats, the dense product's form): the
    # wide shapes are convolutions, which run as W B; the dense shapes are
    # measured dense only.
    shapes = [(rows, cols, plan["n"], plan["formats"], "right")
              for rows, cols in plan["shapes"]] + \
        [(rows, cols, n_values, [f for f in plan["wide_formats"]
                                 if f in plan["formats"]], "left")
         for rows, cols, n_values in plan["wide_shapes"]] + \
        [(rows, cols, plan["n"], [], "right")
         for rows, cols in plan["dense_shapes"]]
    for rows, cols, n_values, formats, dense_form in shapes:
        calibration.prepare_product(dense_form, "dense", rows, cols, 0.0,
                                    samples, n_values=n_values)
        for fmt_text in formats:
            fmt = parse_format(fmt_text)
            if fmt[0] == "bsr" and (rows % fmt[1] or cols % fmt[2]):
                continue
            if fmt[0] == "nm":
                if cols % fmt[2] == 0:
                    calibration.prepare_product("left", fmt_text, rows, cols,
                                                1 - fmt[1] / fmt[2], samples,
                                                n_values=n_values)
                continue
            for sparsity in plan["sparsities"]:
                calibration.prepare_product("left", fmt_text, rows, cols,
                                            sparsity, samples,
                                            n_values=n_values)
    transpose_pairs = calibration.prepare_transposes()
    overhead = calibration.prepare_call_overhead()
    validating = []
    for fmt_text, rows, cols, sparsity in plan["validation"]:
        if fmt_text in ["dense"] + plan["formats"]:
            calibration.prepare_product("right", fmt_text, rows, cols,
                                        sparsity, validating)
    calibration.time_all(args.rounds or plan["rounds"])
    for sample in samples + validating + [s for pair in transpose_pairs
                                          for s in pair]:
        sample["seconds"] = max(sample["seconds"] - overhead["seconds"],
                                1e-9)
    model, kernels, validation = fitted_model(
        target, kernels, samples, transpose_pairs, validating,
        check_all=args.check_all)
    model["parallel"] = calibration.fork_join(max(args.parallel_threads, 2))
    print(f"  fork/join on {model['parallel']['threads']} threads: "
          f"{model['parallel']['fork_join_seconds'] * 1e6:.2f} us",
          file=sys.stderr)
    model["calibration"] = dict(
        command=" ".join(["scripts/calibrate.py"] + sys.argv[1:]),
        date=now(), host=platform.node(), revision=revision(),
        threads=args.threads, quick=args.quick, static_n=args.static_n,
        weights="warm" if args.warm_weights else "cold",
        call_overhead_seconds=overhead["seconds"],
        libraries=calibration.compiled,
        samples=len(samples) + 2 * len(transpose_pairs) + len(validating),
        seconds=round(time.time() - started, 1), validation=validation)
    write_model(args.output, model)
    if args.samples:
        write_samples(args.samples, samples, transpose_pairs, validating)
    print(f"  harness overhead per call: {overhead['seconds'] * 1e6:.1f} us "
          f"(taken off every sample)", file=sys.stderr)
    print(f"wrote {args.output}: {len(model['formats'])} formats, "
          f"{model['calibration']['samples']} measurements, "
          f"{calibration.compiled} libraries, "
          f"{model['calibration']['seconds']:.0f} s", file=sys.stderr)
    summarize(model, kernels, validation, samples)


if __name__ == "__main__":
    main()
