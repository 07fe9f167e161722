#!/usr/bin/env python3
"""Activation sparsity on ResNet-50: how dense the ReLU outputs are, and
whether running a convolution as a run-time dense-to-CSR conversion of its
patch matrix plus our CSR SpMM would beat the dense product, in one run.

    bench/activations.py [--images 2] [--layers layer1.1/conv2,...]
                         [--sweep 0.5,0.3,0.2,0.1,0.05] [--threads 1]
                         [--repeat 10] [--rounds 5] [--seed 0]
                         [--csr-variants ";spmm-k-block=0"] [--build DIR]
                         [--cc clang] [--keep DIR] [--csv PATH]

1. Densities. The project's ResNet-50 (sparse_opt.models.build_resnet50,
   batch 1, 224 x 224, its seeded random weights: He-initialized
   convolutions, batch-norm statistics drawn at random; NOT a trained
   network) runs in onnxruntime with every ReLU output and every
   convolution's input exposed as graph outputs, on --images inputs of each
   kind:

   - "normal": every pixel N(0, 1) (what the tests feed);
   - "1/f": an image-like input without any network: random phases under a
     1/f amplitude spectrum (the second-order statistics of natural
     images), a luminance field plus two weaker colour-opponent ones, mapped
     to [0, 1] intensities and normalized with ImageNet's channel mean and
     standard deviation, as torchvision's preprocessing does.

   Per ReLU it reports the density (fraction of non-zeros) of its output;
   per convolution the density of its input and of the im2col patch matrix
   it reads (zero padding counts as zeros), and the whole network's patch
   density weighted by each convolution's multiply-adds.

2. Timing, for --layers (default, per stage: the 1x1 reduce of block 2,
   which reads a block output as the reduce of every block after the
   first two does, and the 3x3 and the 1x1 expand of block 1; all stride
   1), on the activations of the first 1/f input, at the measured density
   and at those --sweep activation densities at most 0.9 times it (the
   same activation with only its largest values kept, i.e. a higher ReLU
   threshold, the spatial structure kept), each variant the best of
   --repeat calls, in --rounds rounds (the best kept):

   - sparse-opt dense: the convolution as sparse-opt compiles it today
     (sparse-compile, pipeline conv-to-matmul=all: im2col and
     sparse-opt-dense-kernels' matmul, NCHW), one ONNX Conv with a bias
     (folded batch-norm), called straight through its C entry with the
     input and the result buffers' reuse of a steady state (no copies);
     its output is checked against onnxruntime once;
   - im2col + sgemm: the best dense alternative: the NHWC patch matrix
     built by a C loop (none for 1x1 stride 1) plus OpenBLAS sgemm on the
     same product (sparse-run --dense-baseline);
   - CSR: what activation sparsity needs at run time: the NHWC patch matrix
     built and compressed to CSR in one pass from the activation
     (bench/activations_csr.c, branch-free AVX2, compiled here with clang
     -O3 -march=native; the dense patches are never written), then our CSR
     SpMM kernel (make-kernel.py spmm, sparse-compile; one build per
     --csr-variants pipeline options, the fastest kept per point: by
     default as compiled by default and without K blocking, which is
     faster on some of these shapes) on it times the transposed filter,
     P (Ho Wo x K K C) x W^T (K K C x F), timed by sparse-run on the
     converted pattern (--matrix, random values from its seed, checked
     against its reference). The conversion's CSR pattern is checked
     against numpy's.

   The ratio is dense time / CSR time (conversion + SpMM): above 1 the
   sparse route pays. The break-even density is where the CSR time,
   interpolated linearly between the measured densities, meets the
   baseline. Last, an estimate for every convolution of the network with
   the product shape of a timed one: the timed one's dense time, and its
   CSR time read off the timed curve at the convolution's own patch
   density.

Prints Markdown tables and writes the timing rows to the CSV (default
bench/results/activations.csv). The machine this was written on is shared
and noisy: compare ratios within one run.
"""

import argparse
import ctypes
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict

import numpy as np

from common import (ROOT, benchmark_environment, best_of, geomean,
                    set_threads, write_csv)

sys.path.insert(0, os.path.join(ROOT, "python"))

from onnx import TensorProto, helper, numpy_helper  # noqa: E402

from sparse_opt import models  # noqa: E402

# Per stage: the 3x3 and the 1x1 expand of block 1 (stride 1) and the 1x1
# reduce of block 2, which reads a block output (ReLU after the residual
# sum) as the reduce of every block but the first two of a stage does.
DEFAULT_LAYERS = [name for s in range(1, 5) for name in (
    f"layer{s}.2/conv1", f"layer{s}.1/conv2", f"layer{s}.1/conv3")]
IMAGENET_MEAN = np.array([0.485, 0.456, 0.406], dtype=np.float32)
IMAGENET_STD = np.array([0.229, 0.224, 0.225], dtype=np.float32)
KINDS = ("normal", "1/f")


# Inputs --------------------------------------------------------------------
def natural_image(rng, size=224):
    """A 1 x 3 x size x size image with natural images' 1/f amplitude
    spectrum, normalized as torchvision's ImageNet preprocessing does."""
    fy = np.fft.fftfreq(size)[:, None]
    fx = np.fft.rfftfreq(size)[None, :]
    frequency = np.sqrt(fx ** 2 + fy ** 2)
    frequency[0, 0] = 1.0 / size
    fields = []
    for _ in range(3):
        spectrum = (rng.standard_normal(frequency.shape)
                    + 1j * rng.standard_normal(frequency.shape)) / frequency
        field = np.fft.irfft2(spectrum, s=(size, size))
        fields.append((field - field.mean()) / field.std())
    luminance, red_green, blue_yellow = fields
    rgb = np.stack([luminance + 0.3 * red_green + 0.1 * blue_yellow,
                    luminance - 0.3 * red_green + 0.1 * blue_yellow,
                    luminance - 0.3 * blue_yellow])
    intensity = np.clip(0.45 + 0.22 * rgb, 0.0, 1.0).astype(np.float32)
    normalized = ((intensity - IMAGENET_MEAN[:, None, None])
                  / IMAGENET_STD[:, None, None])
    return normalized[None].astype(np.float32)


def make_inputs(kind, count, seed):
    rng = np.random.default_rng(seed)
    if kind == "normal":
        return [rng.standard_normal((1, 3, 224, 224)).astype(np.float32)
                for _ in range(count)]
    return [natural_image(rng) for _ in range(count)]


# The network's convolutions and ReLUs ------------------------------------
class Conv:
    def __init__(self, node, weights):
        attributes = {a.name: helper.get_attribute_value(a)
                      for a in node.attribute}
        self.name = node.name
        self.reads = node.input[0]
        self.weight = weights[node.input[1]]
        self.out_channels, self.in_channels, self.kernel, _ = \
            self.weight.shape
        self.stride = attributes.get("strides", [1, 1])[0]
        self.pad = attributes.get("pads", [0] * 4)[0]
        self.size = None  # input H (= W), from the activations

    @property
    def out_size(self):
        return (self.size + 2 * self.pad - self.kernel) // self.stride + 1

    @property
    def gemm(self):
        """(M, K, N) of the product P (Ho Wo x K K C) x W^T."""
        return (self.out_size ** 2, self.kernel ** 2 * self.in_channels,
                self.out_channels)

    @property
    def macs(self):
        m, k, n = self.gemm
        return m * k * n

    @property
    def shape_text(self):
        return (f"{self.in_channels}->{self.out_channels} "
                f"{self.kernel}x{self.kernel}/{self.stride} "
                f"{self.size}x{self.size}")


def patch_nonzeros(activation, conv):
    """Non-zeros of the im2col patch matrix `conv` reads from `activation`
    (C x H x W): every kernel offset's strided window of the zero-padded
    input."""
    padded = np.pad(activation != 0,
                    ((0, 0), (conv.pad, conv.pad), (conv.pad, conv.pad)))
    size, stride = conv.out_size, conv.stride
    return sum(int(np.count_nonzero(
        padded[:, i:i + stride * (size - 1) + 1:stride,
               j:j + stride * (size - 1) + 1:stride]))
        for i in range(conv.kernel) for j in range(conv.kernel))


def patch_pattern(activation_hwc, conv):
    """The boolean patch matrix (Ho Wo x K K C, columns in (kh, kw, c)
    order) of an H x W x C activation."""
    padded = np.pad(activation_hwc != 0,
                    ((conv.pad, conv.pad), (conv.pad, conv.pad), (0, 0)))
    size, stride = conv.out_size, conv.stride
    blocks = [padded[i:i + stride * (size - 1) + 1:stride,
                     j:j + stride * (size - 1) + 1:stride, :]
              for i in range(conv.kernel) for j in range(conv.kernel)]
    return np.concatenate(blocks, axis=2).reshape(size * size, -1)


def measure_densities(args):
    """Runs the network in onnxruntime on every input; returns the convs,
    the ReLU names, the densities and the activations of the first 1/f
    input the timed layers read."""
    import onnxruntime

    model = models.build_resnet50(batch=1, image_size=224, seed=args.seed)
    graph = model.graph
    weights = {t.name: numpy_helper.to_array(t) for t in graph.initializer}
    convs = [Conv(n, weights) for n in graph.node if n.op_type == "Conv"]
    relus = [n.output[0] for n in graph.node if n.op_type == "Relu"]
    consumers = defaultdict(list)
    for conv in convs:
        consumers[conv.reads].append(conv)
    exposed = list(dict.fromkeys(relus + [c.reads for c in convs]))
    for name in exposed:
        graph.output.append(helper.make_tensor_value_info(
            name, TensorProto.FLOAT, None))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 2
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), options,
        providers=["CPUExecutionProvider"])

    shapes = {}                       # tensor -> shape
    density = defaultdict(list)       # (tensor, kind) -> per input
    patches = defaultdict(list)       # (conv, kind) -> per input
    timing_activations = {}
    for kind in KINDS:
        for index, image in enumerate(
                make_inputs(kind, args.images, args.seed + KINDS.index(kind))):
            values = dict(zip(exposed, session.run(exposed,
                                                   {"input": image})))
            values["input"] = image
            for name in exposed:
                shapes[name] = values[name].shape
                density[(name, kind)].append(
                    float(np.count_nonzero(values[name]))
                    / values[name].size)
            for conv in convs:
                activation = values[conv.reads][0]
                conv.size = activation.shape[1]
                patches[(conv.name, kind)].append(
                    patch_nonzeros(activation, conv)
                    / (conv.gemm[0] * conv.gemm[1]))
                if kind == "1/f" and index == 0 and conv.name in args.layers:
                    timing_activations[conv.name] = activation
    return (convs, relus, consumers, density, patches, shapes,
            timing_activations)


def print_densities(args, convs, relus, consumers, density, patches,
                    shapes):
    mean = lambda values: sum(values) / len(values)  # noqa: E731
    print(f"\nResNet-50 (sparse_opt.models, seeded random weights, not "
          f"trained), batch 1, 224 x 224, onnxruntime; densities are means "
          f"over {args.images} input(s) of each kind (normal: N(0, 1) "
          f"pixels; 1/f: natural-statistics images, ImageNet-normalized)\n")
    print("| ReLU | output shape | density, normal | density, 1/f "
          "| read by (patch density, normal / 1/f) |")
    print("|---|---|---|---|---|")
    for relu in relus:
        readers = consumers.get(relu, [])
        if relu == "relu":  # the stem's: read through the max-pool
            readers = [c for c in convs if c.reads == "maxpool"]
            pooled = [mean(density[("maxpool", k)]) for k in KINDS]
            via = (f"maxpool (density {pooled[0]:.3f} / {pooled[1]:.3f}) "
                   f"-> ")
        elif not readers:
            via = "the global average pool"
        else:
            via = ""
        read = ", ".join(
            f"{c.name} {c.kernel}x{c.kernel}/{c.stride} "
            f"({mean(patches[(c.name, 'normal')]):.3f} / "
            f"{mean(patches[(c.name, '1/f')]):.3f})" for c in readers)
        shape = "x".join(map(str, shapes[relu][1:]))
        print(f"| {relu} | {shape} | {mean(density[(relu, 'normal')]):.3f} "
              f"| {mean(density[(relu, '1/f')]):.3f} | {via}{read} |")

    # Per stage: the ReLUs of each kind, the convolutions' patches weighted
    # by multiply-adds.
    print("\n| stage | ReLU | density, normal | density, 1/f "
          "| convolutions reading it | patch density, normal "
          "| patch density, 1/f |")
    print("|---|---|---|---|---|---|---|")
    groups = defaultdict(list)
    for relu in relus:
        match = re.match(r"layer(\d)\.\d+/(relu\d)", relu)
        groups[(f"layer{match[1]}", match[2]) if match
               else ("stem", "relu")].append(relu)
    for (stage, kind), names in groups.items():
        readers = [c for n in names for c in consumers.get(n, [])]
        if stage == "stem":
            readers = [c for c in convs if c.reads == "maxpool"]
        weighted = {k: sum(c.macs * mean(patches[(c.name, k)])
                           for c in readers) / sum(c.macs for c in readers)
                    for k in KINDS} if readers else None
        label = ", ".join(sorted({re.sub(r"layer\d\.\d+/", "", c.name)
                                  for c in readers})) or "-"
        if stage == "stem":
            label += " (through the max-pool)"
        print(f"| {stage} | {kind} "
              f"| {mean([mean(density[(n, 'normal')]) for n in names]):.3f} "
              f"| {mean([mean(density[(n, '1/f')]) for n in names]):.3f} "
              f"| {label} | "
              + (f"{weighted['normal']:.3f} | {weighted['1/f']:.3f} |"
                 if weighted else "- | - |"))
    readers = [c for c in convs if c.reads != "input"]
    total = sum(c.macs for c in readers)
    weighted = {k: sum(c.macs * mean(patches[(c.name, k)])
                       for c in readers) / total for k in KINDS}
    print(f"\nThe {len(readers)} convolutions after the stem (which reads "
          f"the image): patch density weighted by multiply-adds "
          + ", ".join(f"{k} {weighted[k]:.3f}" for k in KINDS)
          + f" ({total / 1e9:.2f} G multiply-adds)")


# Timing ----------------------------------------------------------------------
def conv_model(conv, seed):
    """One ONNX Conv with the network's filter and a bias (folded
    batch-norm)."""
    rng = np.random.default_rng(seed)
    bias = rng.uniform(-0.1, 0.1, conv.out_channels).astype(np.float32)
    node = helper.make_node(
        "Conv", ["input", "weight", "bias"], ["output"], name="conv",
        kernel_shape=[conv.kernel] * 2, strides=[conv.stride] * 2,
        pads=[conv.pad] * 4)
    graph = helper.make_graph(
        [node], "conv",
        [helper.make_tensor_value_info(
            "input", TensorProto.FLOAT,
            [1, conv.in_channels, conv.size, conv.size])],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, None)],
        [numpy_helper.from_array(conv.weight, "weight"),
         numpy_helper.from_array(bias, "bias")])
    return helper.make_model(graph, opset_imports=[
        helper.make_opsetid("", models.OPSET)], ir_version=models.IR_VERSION)


class SteadyCall:
    """A compiled model's entry called straight through ctypes with one
    input descriptor built once, its result buffer released after each call:
    the kernel's time in a steady state, without the copies CompiledModel.run
    makes (which, for one convolution, cost as much as the product)."""

    def __init__(self, compiled, array):
        from sparse_opt._dense_call import _describe, descriptor_type
        from sparse_opt._runtime import runtime

        self.runtime = runtime()
        function = self.runtime.so_library_lookup(
            compiled.library._live_handle(), compiled.entry.encode())
        self.array = np.ascontiguousarray(array)
        self.argument = _describe(self.array)
        self.result = descriptor_type(4)()
        self.function = ctypes.CFUNCTYPE(None, ctypes.c_void_p,
                                         ctypes.c_void_p)(function)

    def __call__(self):
        self.function(ctypes.addressof(self.result),
                      ctypes.addressof(self.argument))
        self.runtime.so_memref_release(self.result.allocated)


def run_tool(command, env, what):
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    if done.returncode != 0:
        sys.exit(f"error: {what} failed ({' '.join(command)}):\n"
                 f"{done.stderr.strip() or done.stdout.strip()}")
    return done.stdout


def sparse_run(tools, env, library, matrix, n, threads, repeat):
    """{threads: (SpMM best s, sgemm best s)} of one sparse-run call."""
    output = run_tool([tools["sparse-run"], library, "--entry", "spmm",
                       "--kind", "spmm", "--matrix", matrix, "--n", str(n),
                       "--threads", ",".join(map(str, threads)),
                       "--repeat", str(repeat), "--dense-baseline",
                       "--csv", "-"], env, "sparse-run")
    lines = output.strip().splitlines()
    header = lines[0].split(",")
    timed = {}
    for line in lines[1:]:
        row = dict(zip(header, line.split(",")))
        if row["check"] != "pass":
            sys.exit(f"error: sparse-run check failed on {matrix}: {row}")
        timed[int(row["threads"])] = (float(row["best_s"]),
                                      float(row["dense_best_s"]))
    return timed


def converter(tools, env, mode, act_path, conv, threads, repeat, smtx=None):
    """(nnz, best s) of bench/activations_csr.c on one activation."""
    output = run_tool([tools["converter"], mode, act_path, str(conv.size),
                       str(conv.size), str(conv.in_channels),
                       str(conv.kernel), str(conv.stride), str(conv.pad),
                       str(threads), str(repeat)]
                      + ([smtx] if smtx else []), env, "activations_csr")
    _, _, nnz, best, _ = output.split()
    return int(nnz), float(best)


def thresholded(activation, density):
    """`activation` with only its round(density * size) largest values
    kept."""
    keep = int(round(density * activation.size))
    if keep >= np.count_nonzero(activation):
        return activation
    threshold = np.partition(activation.ravel(), activation.size - keep)[
        activation.size - keep]
    return np.where(activation >= threshold, activation, 0.0).astype(
        np.float32)


def interpolate(points, density):
    """The CSR time at `density`, linear between the measured (density,
    time) points, extrapolated from the two nearest outside them."""
    points = sorted(points)
    if len(points) == 1:
        return points[0][1] * density / points[0][0]
    index = 1
    while index < len(points) - 1 and points[index][0] < density:
        index += 1
    (d0, t0), (d1, t1) = points[index - 1], points[index]
    return t0 + (density - d0) / (d1 - d0) * (t1 - t0)


def break_even(points, baseline):
    """The patch density where the CSR time (linear between the measured
    (density, time) points) equals `baseline`; a bound as text outside
    them."""
    points = sorted(points)
    if points[-1][1] <= baseline:
        return f"> {points[-1][0]:.3f}"
    if points[0][1] >= baseline:
        return f"< {points[0][0]:.3f}"
    for (d0, t0), (d1, t1) in zip(points, points[1:]):
        if t0 <= baseline <= t1:
            return f"{d0 + (baseline - t0) / (t1 - t0) * (d1 - d0):.3f}"
    return "?"


def time_layer(conv, activation, args, tools, env, work):
    import onnxruntime
    from sparse_opt.onnx_frontend import compile_onnx

    m, k, n = conv.gemm
    stem = os.path.join(work, conv.name.replace("/", "_"))
    # The dense convolution as sparse-opt compiles it today.
    model_path = stem + ".onnx"
    models.save_model(conv_model(conv, args.seed), model_path)
    start = time.perf_counter()
    dense = compile_onnx(model_path, stem + "-dense.so",
                         pipeline_options="conv-to-matmul=all", header=False)
    nchw = activation[None]
    want = onnxruntime.InferenceSession(
        model_path, providers=["CPUExecutionProvider"]).run(
        None, {"input": nchw})[0]
    got = dense.run({"input": nchw})["output"]
    if not np.allclose(got, want, rtol=1e-3,
                       atol=1e-4 * float(np.abs(want).max())):
        sys.exit(f"error: {conv.name}: the compiled convolution differs "
                 f"from onnxruntime")
    steady = SteadyCall(dense, nchw)
    # Our CSR SpMM for the patch matrix's shape (N = F at run time), once
    # per --csr-variants pipeline options.
    kernel_mlir = stem + "-spmm.mlir"
    run_tool([sys.executable, tools["make-kernel"], "spmm", "--rows", str(m),
              "--cols", str(k), "-o", kernel_mlir], env, "make-kernel.py")
    kernels = []
    for index, options in enumerate(args.csr_variants):
        kernels.append(f"{stem}-spmm{index}.so")
        run_tool([tools["sparse-compile"], kernel_mlir, "-o", kernels[-1],
                  "--no-header", f"--pipeline-options={options}"], env,
                 "sparse-compile")
    print(f"  {conv.name}: compiled in {time.perf_counter() - start:.1f} s",
          file=sys.stderr)

    # The activation (NHWC) at each density, its CSR pattern checked.
    hwc = np.ascontiguousarray(activation.transpose(1, 2, 0))
    measured = float(np.count_nonzero(hwc)) / hwc.size
    levels = [("measured", hwc)] + [
        (f"{d:g}", thresholded(hwc, d)) for d in args.sweep
        if d <= 0.9 * measured]
    inputs = []
    for label, values in levels:
        path = f"{stem}-{label}.f32"
        values.tofile(path)
        smtx = f"{stem}-{label}.smtx"
        # Written (and checked) by the conversion on the most threads timed.
        nnz, _ = converter(tools, env, "csr", path, conv, max(args.threads),
                           1, smtx)
        pattern = patch_pattern(values, conv)
        if nnz != int(np.count_nonzero(pattern)):
            sys.exit(f"error: {conv.name}: conversion found {nnz} non-zeros, "
                     f"numpy {int(np.count_nonzero(pattern))}")
        if label == "measured":
            from sparse_opt.csr import CsrMatrix
            if not np.array_equal(CsrMatrix.read(smtx).to_dense() != 0,
                                  pattern):
                sys.exit(f"error: {conv.name}: the converted CSR pattern "
                         f"differs from numpy's patches")
        inputs.append(dict(label=label, path=path, smtx=smtx, nnz=nnz,
                           activation_density=float(np.count_nonzero(values))
                           / values.size,
                           patch_density=nnz / (m * k)))

    inf = float("inf")
    best = defaultdict(lambda: inf)
    needs_im2col = not (conv.kernel == 1 and conv.stride == 1
                        and conv.pad == 0)
    for _ in range(args.rounds):
        for threads in args.threads:
            set_threads(dense.library, threads)
            best[("dense", threads)] = min(best[("dense", threads)],
                                           best_of(args.repeat, steady))
            if needs_im2col:
                _, seconds = converter(tools, env, "dense", inputs[0]["path"],
                                       conv, threads, args.repeat)
                best[("im2col", threads)] = min(best[("im2col", threads)],
                                                seconds)
            else:
                best[("im2col", threads)] = 0.0
        for item in inputs:
            for threads in args.threads:
                _, seconds = converter(tools, env, "csr", item["path"], conv,
                                       threads, args.repeat)
                key = ("convert", item["label"], threads)
                best[key] = min(best[key], seconds)
            for variant, kernel in enumerate(kernels):
                for threads, (spmm, sgemm) in sparse_run(
                        tools, env, kernel, item["smtx"], n, args.threads,
                        args.repeat).items():
                    key = ("spmm", item["label"], threads, variant)
                    best[key] = min(best[key], spmm)
                    best[("sgemm", threads)] = min(best[("sgemm", threads)],
                                                   sgemm)
    dense.close()

    rows, curves = [], {}
    for threads in args.threads:
        dense_s = best[("dense", threads)]
        blas_s = best[("im2col", threads)] + best[("sgemm", threads)]
        points = []
        for item in inputs:
            convert_s = best[("convert", item["label"], threads)]
            variant_s = [best[("spmm", item["label"], threads, v)]
                         for v in range(len(kernels))]
            spmm_s = min(variant_s)
            points.append((item["patch_density"], convert_s + spmm_s))
            rows.append(dict(
                layer=conv.name, shape=conv.shape_text, m=m, k=k, n=n,
                gflop=2 * conv.macs / 1e9, threads=threads,
                level=item["label"],
                activation_density=item["activation_density"],
                patch_density=item["patch_density"], nnz=item["nnz"],
                dense_ms=dense_s * 1e3,
                im2col_ms=best[("im2col", threads)] * 1e3,
                sgemm_ms=best[("sgemm", threads)] * 1e3,
                convert_ms=convert_s * 1e3, spmm_ms=spmm_s * 1e3,
                spmm_options=args.csr_variants[variant_s.index(spmm_s)],
                **{f"spmm{v}_ms": t * 1e3 for v, t in enumerate(variant_s)},
                csr_ms=(convert_s + spmm_s) * 1e3,
                vs_dense=dense_s / (convert_s + spmm_s),
                vs_blas=blas_s / (convert_s + spmm_s)))
        for row in rows:
            if row["threads"] == threads:
                row["break_even_dense"] = break_even(points, dense_s)
                row["break_even_blas"] = break_even(points, blas_s)
        curves[threads] = dict(dense=dense_s, blas=blas_s, csr=points)
    return rows, curves


def print_timing(args, rows):
    print(f"\nTiming on the activations of the first 1/f input, best of "
          f"{args.rounds} rounds of {args.repeat} calls; CSR = run-time "
          f"NHWC patches -> CSR conversion + our CSR SpMM; ratio = dense "
          f"time / CSR time (> 1: activation sparsity pays)\n")
    print("| layer | shape | M x K x N | threads | patch density "
          "| sparse-opt dense ms | im2col + sgemm ms | to CSR ms "
          "| CSR SpMM ms | SpMM build | CSR total ms | vs sparse-opt dense "
          "| vs im2col + sgemm | break-even density vs sparse-opt dense "
          "| vs im2col + sgemm |")
    print("|---" * 15 + "|")
    for r in rows:
        if r["level"] != "measured":
            continue
        print(f"| {r['layer']} | {r['shape']} | {r['m']} x {r['k']} x "
              f"{r['n']} | {r['threads']} | {r['patch_density']:.3f} "
              f"| {r['dense_ms']:.2f} | {r['im2col_ms'] + r['sgemm_ms']:.2f} "
              f"| {r['convert_ms']:.2f} | {r['spmm_ms']:.2f} "
              f"| {r['spmm_options'] or 'default'} "
              f"| {r['csr_ms']:.2f} | {r['vs_dense']:.2f}x "
              f"| {r['vs_blas']:.2f}x | {r['break_even_dense']} "
              f"| {r['break_even_blas']} |")
    levels = ["measured"] + [f"{d:g}" for d in args.sweep]
    print("\nCSR vs sparse-opt dense (vs im2col + sgemm) at lower activation "
          "densities (the largest values kept); patch density in brackets\n")
    print("| layer | threads | " + " | ".join(
        f"activation {level}" for level in levels) + " |")
    print("|---" * (2 + len(levels)) + "|")
    for layer in dict.fromkeys(r["layer"] for r in rows):
        for threads in args.threads:
            cells = []
            for level in levels:
                match = [r for r in rows if r["layer"] == layer
                         and r["threads"] == threads and r["level"] == level]
                cells.append(
                    f"{match[0]['vs_dense']:.2f}x ({match[0]['vs_blas']:.2f}x)"
                    f" [{match[0]['patch_density']:.3f}]" if match else "-")
            print(f"| {layer} | {threads} | " + " | ".join(cells) + " |")
    for threads in args.threads:
        cells = []
        for level in levels:
            group = [r for r in rows if r["threads"] == threads
                     and r["level"] == level]
            cells.append(
                f"{geomean([r['vs_dense'] for r in group]):.2f}x "
                f"({geomean([r['vs_blas'] for r in group]):.2f}x)"
                + ("" if len(group) == len(set(r["layer"] for r in rows))
                   else f" ({len(group)} layers)") if group else "-")
        print(f"| geomean | {threads} | " + " | ".join(cells) + " |")


def print_estimate(args, convs, patches, curves):
    """Every convolution with the product shape of a timed one, its CSR
    time read off the timed one's curve at its own patch density (mean over
    the 1/f inputs), its dense time the timed one's."""
    timed = {}
    for conv in convs:
        if conv.name in curves:
            timed.setdefault(conv.gemm, curves[conv.name])
    covered = [c for c in convs if c.gemm in timed]
    others = [c for c in convs if c.gemm not in timed and c.reads != "input"]
    if not covered:
        return
    share = (sum(c.macs for c in covered)
             / sum(c.macs for c in covered + others))
    print(f"\nEstimate over the {len(covered)} convolutions with the product "
          f"shape of a timed one ({len(others)} others and the stem left "
          f"out: {share:.0%} "
          f"of the multiply-adds after the stem), each at its own patch "
          f"density (1/f inputs), the CSR time interpolated on the timed "
          f"layer's measured curve\n")
    print("| threads | convolutions | sparse-opt dense ms | im2col + sgemm ms "
          "| CSR ms | vs sparse-opt dense | vs im2col + sgemm |")
    print("|---|---|---|---|---|---|---|")
    for threads in args.threads:
        dense = blas = csr = 0.0
        for conv in covered:
            curve = timed[conv.gemm][threads]
            density = sum(patches[(conv.name, "1/f")]) / len(
                patches[(conv.name, "1/f")])
            dense += curve["dense"]
            blas += curve["blas"]
            csr += interpolate(curve["csr"], density)
        print(f"| {threads} | {len(covered)} | {dense * 1e3:.1f} "
              f"| {blas * 1e3:.1f} | {csr * 1e3:.1f} | {dense / csr:.2f}x "
              f"| {blas / csr:.2f}x |")


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=2,
                        help="inputs of each kind (normal, 1/f)")
    parser.add_argument("--layers", default=",".join(DEFAULT_LAYERS),
                        help="convolutions to time (ONNX node names)")
    parser.add_argument("--sweep", default="0.5,0.3,0.2,0.1,0.05",
                        help="lower activation densities to time too")
    parser.add_argument("--threads", default="1")
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--csr-variants", default=";spmm-k-block=0",
                        help="';'-separated pipeline options of the CSR "
                             "SpMM builds; each point keeps the fastest "
                             "(default: as compiled by default, and "
                             "without K blocking)")
    parser.add_argument("--build", default=os.environ.get(
        "SPARSE_OPT_BUILD_DIR", os.path.join(ROOT, "build")))
    parser.add_argument("--cc", default=os.environ.get("CC", "clang"))
    parser.add_argument("--keep", metavar="DIR",
                        help="write the work files (models, libraries, "
                             "activations, .smtx patterns) here and keep "
                             "them")
    parser.add_argument("--csv", default=os.path.join(
        ROOT, "bench", "results", "activations.csv"))
    args = parser.parse_args()
    args.layers = [layer for layer in args.layers.split(",") if layer]
    args.sweep = sorted((float(d) for d in args.sweep.split(",") if d),
                        reverse=True)
    args.threads = [int(t) for t in args.threads.split(",")]
    args.csr_variants = [v.strip() for v in args.csr_variants.split(";")]
    os.environ.update(benchmark_environment())
    os.environ.setdefault("KMP_BLOCKTIME", "0")
    os.environ["SPARSE_OPT_BUILD_DIR"] = os.path.abspath(args.build)
    tools = {"sparse-compile": os.path.join(args.build, "bin",
                                            "sparse-compile"),
             "sparse-run": os.path.join(args.build, "bin", "sparse-run"),
             "make-kernel": os.path.join(ROOT, "scripts", "make-kernel.py")}
    for name in ("sparse-compile", "sparse-run"):
        if not os.access(tools[name], os.X_OK):
            sys.exit(f"error: {tools[name]} not found; build first "
                     f"(scripts/build.sh) or pass --build")
    if not shutil.which(args.cc):
        sys.exit(f"error: no C compiler {args.cc} (--cc)")
    env = dict(os.environ)

    start = time.perf_counter()
    (convs, relus, consumers, density, patches, shapes,
     activations) = measure_densities(args)
    unknown = sorted(set(args.layers) - set(activations))
    if unknown:
        sys.exit(f"error: unknown layers {unknown}; known: "
                 f"{[c.name for c in convs if c.reads != 'input']}")
    print(f"  densities measured in {time.perf_counter() - start:.1f} s",
          file=sys.stderr)
    print_densities(args, convs, relus, consumers, density, patches,
                    shapes)

    rows = []
    with tempfile.TemporaryDirectory(prefix="sparse-opt-act-") as scratch:
        work = args.keep or scratch
        os.makedirs(work, exist_ok=True)
        tools["converter"] = os.path.join(work, "activations_csr")
        run_tool([args.cc, "-O3", "-march=native", "-fopenmp", "-o",
                  tools["converter"],
                  os.path.join(ROOT, "bench", "activations_csr.c")], env,
                 "compiling bench/activations_csr.c")
        by_name = {c.name: c for c in convs}
        curves = {}
        for layer in args.layers:
            layer_rows, curves[layer] = time_layer(
                by_name[layer], activations[layer], args, tools, env, work)
            rows += layer_rows
    write_csv(args.csv, rows)
    print_timing(args, rows)
    print_estimate(args, convs, patches, curves)
    print(f"\nCSV: {args.csv}; {time.perf_counter() - start:.0f} s in all")


if __name__ == "__main__":
    main()
