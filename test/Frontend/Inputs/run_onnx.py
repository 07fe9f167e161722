#!/usr/bin/env python3
"""Runs an ONNX model compiled by sparse-compile and checks it numerically.

    run_onnx.py MODEL.onnx LIB.so [--entry forward] [--data DIR]
                [--reference evaluator|onnxruntime] [--rtol R] [--atol A]

Inputs come from DIR/input_*.pb (an ONNX node test's test_data_set_0) or,
without --data, are seeded random values; the reference outputs come from
DIR/output_*.pb, or from onnx's ReferenceEvaluator (default) or
onnxruntime (--reference onnxruntime; the evaluator implements only the
newest semantics of some ops, e.g. Softmax before opset 13). The library is called
through ctypes with the ABI of docs/sparse-compile.md (dense tensors as
memref descriptors, results first). Prints one line per output and exits
non-zero on a mismatch. Self-contained on purpose: the lit tests do not
depend on the python/ package.
"""

import argparse
import ctypes
import glob
import os
import sys

import numpy as np
import onnx
from onnx import numpy_helper

_CTYPES = {
    np.dtype(np.float32): "f32", np.dtype(np.float64): "f64",
    np.dtype(np.int64): "i64", np.dtype(np.int32): "i32",
    np.dtype(np.int16): "i16", np.dtype(np.int8): "i8",
    np.dtype(np.bool_): "i1",
}


def descriptor_type(rank):
    fields = [("allocated", ctypes.c_void_p), ("aligned", ctypes.c_void_p),
              ("offset", ctypes.c_int64)]
    if rank:
        fields += [("sizes", ctypes.c_int64 * rank),
                   ("strides", ctypes.c_int64 * rank)]
    return type("MemRef%dD" % rank, (ctypes.Structure,), {"_fields_": fields})


def to_descriptor(array):
    array = np.ascontiguousarray(array)
    desc = descriptor_type(array.ndim)()
    desc.allocated = desc.aligned = array.ctypes.data
    desc.offset = 0
    if array.ndim:
        for d in range(array.ndim):
            desc.sizes[d] = array.shape[d]
            desc.strides[d] = array.strides[d] // array.itemsize
    return desc, array


def from_descriptor(desc, dtype, rank):
    shape = tuple(desc.sizes[d] for d in range(rank)) if rank else ()
    strides = tuple(desc.strides[d] for d in range(rank)) if rank else ()
    count = int(np.prod(shape)) if shape else 1
    itemsize = np.dtype(dtype).itemsize
    if count == 0:
        return np.zeros(shape, dtype)
    # Read the strided view out of the library's buffer, then copy.
    span = 1 + sum((s - 1) * abs(st) for s, st in zip(shape, strides))
    base = desc.aligned + desc.offset * itemsize
    buffer = (ctypes.c_char * (span * itemsize)).from_address(base)
    flat = np.frombuffer(buffer, dtype=dtype, count=span)
    view = np.lib.stride_tricks.as_strided(
        flat, shape=shape, strides=tuple(st * itemsize for st in strides))
    return np.array(view)


def load_inputs(model, data_dir, seed):
    initializers = {t.name for t in model.graph.initializer}
    graph_inputs = [i for i in model.graph.input if i.name not in initializers]
    if data_dir:
        files = sorted(glob.glob(os.path.join(data_dir, "input_*.pb")),
                       key=lambda p: int(p.rsplit("_", 1)[1][:-3]))
        arrays = []
        for path in files:
            tensor = onnx.TensorProto()
            with open(path, "rb") as f:
                tensor.ParseFromString(f.read())
            arrays.append(numpy_helper.to_array(tensor))
        return arrays
    rng = np.random.default_rng(seed)
    arrays = []
    for value in graph_inputs:
        tensor_type = value.type.tensor_type
        shape = [d.dim_value for d in tensor_type.shape.dim]
        dtype = onnx.helper.tensor_dtype_to_np_dtype(tensor_type.elem_type)
        if np.issubdtype(dtype, np.floating):
            arrays.append(rng.standard_normal(shape).astype(dtype))
        elif dtype == np.bool_:
            arrays.append(rng.integers(0, 2, shape).astype(dtype))
        else:
            # [0, 2): valid token ids, token types and attention masks.
            arrays.append(rng.integers(0, 2, shape).astype(dtype))
    return arrays


def reference_outputs(model_path, model, inputs, data_dir, engine):
    if data_dir:
        files = sorted(glob.glob(os.path.join(data_dir, "output_*.pb")),
                       key=lambda p: int(p.rsplit("_", 1)[1][:-3]))
        outputs = []
        for path in files:
            tensor = onnx.TensorProto()
            with open(path, "rb") as f:
                tensor.ParseFromString(f.read())
            outputs.append(numpy_helper.to_array(tensor))
        return outputs
    initializers = {t.name for t in model.graph.initializer}
    names = [i.name for i in model.graph.input if i.name not in initializers]
    feeds = dict(zip(names, inputs))
    if engine == "onnxruntime":
        import onnxruntime
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = (
            onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL)
        session = onnxruntime.InferenceSession(
            model_path, options, providers=["CPUExecutionProvider"])
        return session.run(None, feeds)
    from onnx.reference import ReferenceEvaluator
    return ReferenceEvaluator(model_path).run(None, feeds)


def call(library, entry, inputs, expected):
    descriptors = [to_descriptor(a) for a in inputs]
    result_types = [descriptor_type(np.ndim(e)) for e in expected]
    function = getattr(library, "_mlir_ciface_" + entry)
    function.restype = None
    if len(expected) == 1:
        results = result_types[0]()
        function(ctypes.byref(results),
                 *[ctypes.byref(d) for d, _ in descriptors])
        descs = [results]
    else:
        struct = type("Results", (ctypes.Structure,), {"_fields_": [
            ("r%d" % i, t) for i, t in enumerate(result_types)]})
        results = struct()
        function(ctypes.byref(results),
                 *[ctypes.byref(d) for d, _ in descriptors])
        descs = [getattr(results, "r%d" % i) for i in range(len(expected))]
    # Result buffers are not freed: a result may alias an input or a
    # constant of the library.
    return [from_descriptor(d, np.asarray(e).dtype, np.ndim(e))
            for d, e in zip(descs, expected)]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("model")
    parser.add_argument("library")
    parser.add_argument("--entry", default="forward")
    parser.add_argument("--data")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--reference", choices=["evaluator", "onnxruntime"],
                        default="evaluator")
    parser.add_argument("--rtol", type=float, default=1e-4)
    parser.add_argument("--atol", type=float, default=1e-5)
    args = parser.parse_args()

    model = onnx.load(args.model)
    inputs = load_inputs(model, args.data, args.seed)
    expected = [np.asarray(e) for e in
                reference_outputs(args.model, model, inputs, args.data,
                                  args.reference)]
    library = ctypes.CDLL(os.path.abspath(args.library))
    actual = call(library, args.entry, inputs, expected)
    ok = True
    for i, (a, e) in enumerate(zip(actual, expected)):
        if a.shape != e.shape:
            print("output %d: shape %s, expected %s" % (i, a.shape, e.shape))
            ok = False
            continue
        if np.issubdtype(e.dtype, np.floating):
            close = np.allclose(a, e, rtol=args.rtol, atol=args.atol,
                                equal_nan=True)
            error = float(np.max(np.abs(a - e))) if a.size else 0.0
        else:
            close = np.array_equal(a, e)
            error = 0.0 if close else float("nan")
        print("output %d: %s %s max-abs-error %.3g %s" %
              (i, "x".join(map(str, e.shape)) or "scalar", e.dtype, error,
               "OK" if close else "MISMATCH"))
        ok &= bool(close)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
