"""Compiling ONNX models with sparse-compile, running them, and comparing
them with onnxruntime.

``compile_onnx`` runs ``sparse-compile MODEL.onnx -o OUT.so`` (or, with a
sparse-compile that does not read ONNX, ``sparse-import-onnx`` and then
``sparse-compile`` on its MLIR; the importer turns the graph into one public
function: graph inputs in order as its operands, graph outputs in order as
its results) and returns a
``CompiledModel``, which calls that entry with ``Library.run``.
``compare_with_onnxruntime`` runs both on the same inputs. See
docs/frontend.md ("Python: builders, pruning, harness").

Needs the ``onnx`` package (and ``onnxruntime`` for the comparison); the
rest of sparse_opt does not.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Union

import numpy as np
import onnx

from ._tools import ONNX_IMPORTER, find_compiler, find_executable
from .compiler import compile
from .errors import CompileError
from .library import Library

PathLike = Union[str, os.PathLike]
Shapes = Mapping[str, Sequence[int]]

# (rtol, atol) of the comparison with onnxruntime, per result dtype: a
# result passes iff |actual - expected| <= atol + rtol * |expected| element
# by element (numpy.isclose), NaN where onnxruntime has NaN. float32: a few
# ulps of rounding difference per op (another summation order, another erf /
# exp); integers and bool must be equal. Whole models pass their own, looser
# tolerances (the errors of many layers add up).
TOLERANCES = {
    np.dtype(np.float32): (1e-4, 1e-5),
    np.dtype(np.float64): (1e-9, 1e-12),
    np.dtype(np.float16): (1e-2, 1e-3),
}
EXACT = (0.0, 0.0)


def tolerance(dtype) -> tuple[float, float]:
    """The default (rtol, atol) for results of ``dtype``."""
    return TOLERANCES.get(np.dtype(dtype), EXACT)


def _shape_argument(name: str, dims: Sequence[int]) -> str:
    return f"{name}=" + "x".join(str(int(d)) for d in dims)


def _graph_inputs(model: onnx.ModelProto) -> list[onnx.ValueInfoProto]:
    """The graph inputs that are not initializers (IR < 4 lists both)."""
    initializers = {t.name for t in model.graph.initializer}
    return [i for i in model.graph.input if i.name not in initializers]


def _load_graph(model_path: PathLike) -> onnx.ModelProto:
    """The model without its external weights (only the graph is needed);
    ValueError naming the file if it is not ONNX."""
    try:
        return onnx.load(os.fspath(model_path), load_external_data=False)
    except Exception as error:  # protobuf's DecodeError and the like
        raise ValueError(f"{os.fspath(model_path)}: not a readable ONNX model "
                         f"({error})") from None


def import_onnx(model_path: PathLike, output: PathLike | None = None, *,
                input_shapes: Shapes | None = None) -> str:
    """Runs ``sparse-import-onnx`` and returns the MLIR text (when
    ``output`` is None) or writes it to ``output`` (refusing to overwrite
    the model) and returns the path. CompileError on failure."""
    command = [str(find_executable(ONNX_IMPORTER)), os.fspath(model_path)]
    if output is not None:
        if os.path.exists(output) and os.path.samefile(output, model_path):
            raise ValueError(f"{os.fspath(output)} is the model; refusing "
                             f"to overwrite it")
        command += ["-o", os.fspath(output)]
    else:
        command += ["-o", "-"]
    for name, dims in (input_shapes or {}).items():
        command.append(f"--input-shape={_shape_argument(name, dims)}")
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        raise CompileError(done.stderr, done.returncode, command)
    return done.stdout if output is None else os.fspath(output)


@functools.lru_cache(maxsize=None)
def _compiler_reads_onnx() -> bool:
    """Whether sparse-compile takes .onnx input (its help lists
    --input-shape); if not, models go through sparse-import-onnx."""
    done = subprocess.run([str(find_compiler()), "--help"],
                          capture_output=True, text=True)
    return "--input-shape" in done.stdout


_ENTRY = re.compile(r"\b_mlir_ciface_(\w+)\s*\(")


class CompiledModel:
    """A library compiled from an ONNX model, and the names that map the
    graph's inputs and outputs to its entry's operands and results."""

    def __init__(self, library: Library, entry: str,
                 input_names: Sequence[str], output_names: Sequence[str]):
        self.library = library
        self.entry = entry
        self.input_names = list(input_names)
        self.output_names = list(output_names)

    def run(self, inputs: Mapping[str, object] | Sequence[object]
            ) -> dict[str, np.ndarray]:
        """The outputs, by graph output name, for ``inputs`` given by graph
        input name (every input, no other) or in graph order."""
        if isinstance(inputs, Mapping):
            missing = [n for n in self.input_names if n not in inputs]
            unknown = [n for n in inputs if n not in self.input_names]
            if missing or unknown:
                raise ValueError(
                    f"{self.library.path}: the model's inputs are "
                    f"{self.input_names}" +
                    (f"; missing {missing}" if missing else "") +
                    (f"; unknown {unknown}" if unknown else ""))
            arrays = [inputs[n] for n in self.input_names]
        else:
            arrays = list(inputs)
        results = self.library.run(self.entry, *arrays)
        if not isinstance(results, tuple):
            results = (results,)
        return dict(zip(self.output_names, results))

    def close(self) -> None:
        self.library.close()

    def __enter__(self) -> CompiledModel:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def compile_onnx(model_path: PathLike, output: PathLike, *,
                 input_shapes: Shapes | None = None, **options
                 ) -> CompiledModel:
    """Compiles the ONNX model into the shared library ``output`` with
    ``sparse-compile`` (the model is never overwritten) and opens it.

    ``input_shapes`` gives graph inputs static shapes
    (``{"input": (1, 3, 224, 224)}``, passed as ``--input-shape``); needed
    for inputs with symbolic dimensions. ``options`` are those of
    ``sparse_opt.compile`` (target_cpu, num_threads, pipeline_options,
    ...). The entry is the one function the header declares. CompileError
    carries the importer's or compiler's diagnostics."""
    model_path = os.fspath(model_path)
    if not os.path.isfile(model_path):
        raise FileNotFoundError(f"{model_path}: no such ONNX model")
    model = _load_graph(model_path)
    header = options.pop("header", True)
    extra = list(options.pop("extra_arguments", ()))
    if os.path.exists(output) and os.path.samefile(output, model_path):
        raise ValueError(f"{os.fspath(output)} is the model; refusing to "
                         f"overwrite it")
    with tempfile.TemporaryDirectory() as scratch:
        if _compiler_reads_onnx():
            source = model_path
            extra += [f"--input-shape={_shape_argument(n, d)}"
                      for n, d in (input_shapes or {}).items()]
        else:
            # A sparse-compile without ONNX input: import to MLIR first.
            source = import_onnx(model_path, Path(scratch) / "model.mlir",
                                 input_shapes=input_shapes)
        # The header names the entry: written where the caller asked (True:
        # sparse-compile's default, which it overwrites only if it wrote it
        # before), or to the scratch directory for header=False.
        if header is False:
            header = Path(scratch) / "model.h"
        header_path = (Path(output).with_suffix(".h") if header is True
                       else Path(header))
        library = compile(source, output, header=header,
                          extra_arguments=extra, **options)
        entries = _ENTRY.findall(header_path.read_text())
    if len(entries) != 1:
        library.close()
        raise CompileError(
            f"{output}: expected one entry point in the library compiled "
            f"from {model_path}, found {entries or 'none'}", 1, [])
    return CompiledModel(library, entries[0],
                         [i.name for i in _graph_inputs(model)],
                         [o.name for o in model.graph.output])


def run_onnx(model_path: PathLike, inputs: Mapping[str, object], *,
             input_shapes: Shapes | None = None,
             output: PathLike | None = None, **options
             ) -> dict[str, np.ndarray]:
    """compile_onnx then run: the outputs by name. The library goes to
    ``output`` if given, else to a temporary directory removed after."""
    with tempfile.TemporaryDirectory() as scratch:
        target = output if output is not None else Path(scratch) / "model.so"
        with compile_onnx(model_path, target, input_shapes=input_shapes,
                          **options) as model:
            return model.run(inputs)


def run_onnxruntime(model_path: PathLike, inputs: Mapping[str, object]
                    ) -> dict[str, np.ndarray]:
    """The model's outputs by name from onnxruntime's CPU provider, with
    graph optimizations off (the reference should compute what the graph
    says, not a fused approximation of it)."""
    import onnxruntime

    session_options = onnxruntime.SessionOptions()
    session_options.graph_optimization_level = (
        onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL)
    session = onnxruntime.InferenceSession(
        os.fspath(model_path), session_options,
        providers=["CPUExecutionProvider"])
    names = [o.name for o in session.get_outputs()]
    return dict(zip(names, session.run(names, dict(inputs))))


_ONNX_DTYPES = {
    onnx.TensorProto.FLOAT: np.float32, onnx.TensorProto.DOUBLE: np.float64,
    onnx.TensorProto.FLOAT16: np.float16, onnx.TensorProto.INT64: np.int64,
    onnx.TensorProto.INT32: np.int32, onnx.TensorProto.INT16: np.int16,
    onnx.TensorProto.INT8: np.int8, onnx.TensorProto.UINT8: np.uint8,
    onnx.TensorProto.BOOL: np.bool_,
}


def random_inputs(model_path: PathLike, *, input_shapes: Shapes | None = None,
                  seed: int = 0, int_range: tuple[int, int] = (0, 2)
                  ) -> dict[str, np.ndarray]:
    """Inputs for every graph input: floats from N(0, 1), integers uniform
    in ``int_range`` (half open; the default 0..1 suits masks, token types
    and ids alike), bools uniform. Symbolic dimensions must be given in
    ``input_shapes`` (ValueError naming them)."""
    rng = np.random.default_rng(seed)
    inputs = {}
    for value in _graph_inputs(_load_graph(model_path)):
        tensor = value.type.tensor_type
        if input_shapes and value.name in input_shapes:
            shape = tuple(input_shapes[value.name])
        else:
            dims = tensor.shape.dim
            if any(not d.HasField("dim_value") for d in dims):
                raise ValueError(
                    f"{os.fspath(model_path)}: input '{value.name}' has a "
                    f"symbolic dimension; give its shape in input_shapes")
            shape = tuple(d.dim_value for d in dims)
        dtype = _ONNX_DTYPES.get(tensor.elem_type)
        if dtype is None:
            raise ValueError(
                f"{os.fspath(model_path)}: input '{value.name}' has element "
                f"type {onnx.TensorProto.DataType.Name(tensor.elem_type)}, "
                f"which random_inputs does not draw")
        if dtype == np.bool_:
            inputs[value.name] = rng.integers(0, 2, shape).astype(np.bool_)
        elif np.issubdtype(dtype, np.integer):
            inputs[value.name] = rng.integers(*int_range, shape).astype(dtype)
        else:
            inputs[value.name] = rng.standard_normal(shape).astype(dtype)
    return inputs


@dataclass
class OutputComparison:
    """One output compared: worst absolute and relative error, the number
    of elements outside the tolerance, and the tolerance used."""

    name: str
    shape: tuple[int, ...]
    dtype: np.dtype
    max_abs_error: float
    max_rel_error: float
    mismatches: int
    rtol: float
    atol: float
    problem: str | None = None  # shape / dtype mismatch

    @property
    def ok(self) -> bool:
        return self.problem is None and self.mismatches == 0

    def __str__(self) -> str:
        if self.problem:
            return f"{self.name}: {self.problem}"
        return (f"{self.name} {'x'.join(map(str, self.shape)) or 'scalar'} "
                f"{self.dtype}: max abs error {self.max_abs_error:.3g}, max "
                f"rel error {self.max_rel_error:.3g}, {self.mismatches} "
                f"outside rtol={self.rtol:g} atol={self.atol:g}")


def compare_outputs(actual: Mapping[str, np.ndarray],
                    expected: Mapping[str, np.ndarray], *,
                    rtol: float | None = None, atol: float | None = None
                    ) -> list[OutputComparison]:
    """Compares outputs by name (``tolerance(dtype)`` unless given)."""
    comparisons = []
    for name, want in expected.items():
        want = np.asarray(want)
        default_rtol, default_atol = tolerance(want.dtype)
        r = default_rtol if rtol is None else rtol
        a = default_atol if atol is None else atol
        if name not in actual:
            comparisons.append(OutputComparison(
                name, want.shape, want.dtype, np.inf, np.inf, want.size, r, a,
                "missing from the compiled model's outputs"))
            continue
        got = np.asarray(actual[name])
        problem = None
        if got.shape != want.shape:
            problem = f"shape {got.shape}, expected {want.shape}"
        elif got.dtype != want.dtype:
            problem = f"dtype {got.dtype}, expected {want.dtype}"
        if problem:
            comparisons.append(OutputComparison(
                name, want.shape, want.dtype, np.inf, np.inf, want.size, r, a,
                problem))
            continue
        if want.dtype.kind in "fc":
            g64 = got.astype(np.float64)
            w64 = want.astype(np.float64)
            close = np.isclose(g64, w64, rtol=r, atol=a, equal_nan=True)
            finite = np.isfinite(w64) & np.isfinite(g64)
            difference = np.abs(g64 - w64)[finite]
            scale = np.abs(w64)[finite]
            max_abs = float(difference.max()) if difference.size else 0.0
            relative = difference / np.maximum(scale, np.finfo(np.float64).tiny)
            max_rel = float(relative.max()) if relative.size else 0.0
        else:
            close = got == want
            max_abs = max_rel = float(np.count_nonzero(~close) > 0)
        comparisons.append(OutputComparison(
            name, want.shape, want.dtype, max_abs, max_rel,
            int(np.count_nonzero(~close)), r, a))
    return comparisons


def compare_with_onnxruntime(model_path: PathLike,
                             inputs: Mapping[str, object] | None = None, *,
                             input_shapes: Shapes | None = None,
                             rtol: float | None = None,
                             atol: float | None = None, seed: int = 0,
                             output: PathLike | None = None, **options
                             ) -> list[OutputComparison]:
    """Compiles and runs the model and onnxruntime on the same inputs
    (``random_inputs(seed)`` when None) and compares every output."""
    if inputs is None:
        inputs = random_inputs(model_path, input_shapes=input_shapes,
                               seed=seed)
    actual = run_onnx(model_path, inputs, input_shapes=input_shapes,
                      output=output, **options)
    expected = run_onnxruntime(model_path, inputs)
    return compare_outputs(actual, expected, rtol=rtol, atol=atol)


def assert_matches(comparisons: Sequence[OutputComparison]) -> None:
    """AssertionError listing every output if any is outside tolerance."""
    if not all(c.ok for c in comparisons):
        raise AssertionError("outputs differ from onnxruntime:\n" +
                             "\n".join(f"  {c}" for c in comparisons))
