"""Calling an entry point whose operands and results are dense tensors.

The ABI (docs/sparse-compile.md, lib/Compiler/CHeaderWriter.cpp) after
bufferization: every dense tensor is a pointer to a memref descriptor
``{allocated, aligned, offset, sizes[R], strides[R]}`` (no sizes or strides
for rank 0). One tensor result comes back through a descriptor pointer passed
first; several through a pointer to a struct of descriptors passed first.

Who owns a returned buffer: a computed result is malloc'ed by the library and
the caller frees ``allocated``; but a result may also be

* an argument returned as is (or a view of it): ``allocated`` is that
  argument's pointer;
* a constant (``memref.get_global``): ``allocated`` is MLIR's 0xdeadbeef
  marker and ``aligned`` points into the library's data;
* the same buffer as another result.

So results are copied into numpy arrays and only buffers that are none of
these are freed, each once. The arguments passed are private copies of the
caller's arrays, since bufferized kernels may write into their arguments.
"""

from __future__ import annotations

import ctypes
from ctypes import Structure, c_int64, c_void_p

import numpy as np

from ._runtime import runtime
from ._signature import Signature, TensorType

# What MLIR's memref-to-LLVM lowering stores as `allocated` for a global
# (constant) memref: it must never be freed.
_GLOBAL_MARKER = 0xDEADBEEF

# MLIR element type -> numpy dtype, for the types the C header can express
# (CHeaderWriter.cpp's cScalarType); i1 is stored one byte per element.
ELEMENT_DTYPES = {
    "f32": np.dtype(np.float32), "f64": np.dtype(np.float64),
    "i1": np.dtype(np.bool_), "i8": np.dtype(np.int8),
    "i16": np.dtype(np.int16), "i32": np.dtype(np.int32),
    "i64": np.dtype(np.int64), "ui8": np.dtype(np.uint8),
    "ui16": np.dtype(np.uint16), "ui32": np.dtype(np.uint32),
    "ui64": np.dtype(np.uint64), "index": np.dtype(np.int64),
}

_DESCRIPTORS: dict[int, type] = {}


def descriptor_type(rank: int) -> type:
    """The ctypes struct of a rank-``rank`` memref descriptor."""
    if rank not in _DESCRIPTORS:
        fields = [("allocated", c_void_p), ("aligned", c_void_p),
                  ("offset", c_int64)]
        if rank > 0:
            fields += [("sizes", c_int64 * rank), ("strides", c_int64 * rank)]
        _DESCRIPTORS[rank] = type(f"SoMemRef{rank}D", (Structure,),
                                  {"_fields_": fields})
    return _DESCRIPTORS[rank]


def _describe(array: np.ndarray):
    """A descriptor of a C-contiguous array (strides in elements)."""
    descriptor = descriptor_type(array.ndim)()
    descriptor.allocated = descriptor.aligned = array.ctypes.data
    descriptor.offset = 0
    if array.ndim:
        descriptor.sizes[:] = array.shape
        descriptor.strides[:] = [s // array.itemsize for s in array.strides]
    return descriptor


def _shape_text(shape) -> str:
    return "x".join("?" if d is None else str(d) for d in shape) or "scalar"


def _type_text(tensor: TensorType) -> str:
    dims = "".join(f"{'?' if d is None else d}x" for d in tensor.shape)
    return f"tensor<{dims}{tensor.element_type}>"


def check_dense_signature(where: str, text: str,
                          signature: Signature) -> None:
    """ValueError unless every operand and result is a dense tensor of an
    element type numpy can hold."""
    for role, types in (("operand", signature.inputs),
                        ("result", signature.results)):
        for index, tensor in enumerate(types):
            if tensor is None:
                raise ValueError(
                    f"{where}: {role} {index} is not a tensor; Library.run "
                    f"passes dense tensors only (signature: {text})")
            if tensor.encoding is not None:
                raise ValueError(
                    f"{where}: {role} {index} is a sparse tensor; call a "
                    f"CSR entry with Library.spmm / spmv (signature: {text})")
            if tensor.element_type not in ELEMENT_DTYPES:
                raise ValueError(
                    f"{where}: {role} {index} has element type "
                    f"{tensor.element_type}, which has no numpy equivalent "
                    f"here (supported: {', '.join(ELEMENT_DTYPES)})")


def prepare_arguments(where: str, signature: Signature,
                      arrays) -> list[np.ndarray]:
    """Private C-contiguous copies of ``arrays``, checked against the
    signature: count, rank, static dimensions and dtype. The dtype must
    match exactly (no silent float64 -> float32 or int64 -> int32 cast, which
    could change the values); Python scalars and lists are converted to the
    expected dtype first."""
    expected = signature.inputs
    if len(arrays) != len(expected):
        raise ValueError(f"{where} takes {len(expected)} argument(s) "
                         f"({', '.join(map(_type_text, expected)) or 'none'}),"
                         f" got {len(arrays)}")
    prepared = []
    for index, (value, tensor) in enumerate(zip(arrays, expected)):
        dtype = ELEMENT_DTYPES[tensor.element_type]
        if not isinstance(value, np.ndarray):
            value = np.asarray(value, dtype=dtype)
        if value.dtype != dtype:
            raise ValueError(
                f"{where}: argument {index} must be {dtype} for "
                f"{_type_text(tensor)}, got {value.dtype} (convert it with "
                f".astype(np.{dtype.name}))")
        if value.ndim != len(tensor.shape) or any(
                e is not None and e != s
                for s, e in zip(value.shape, tensor.shape)):
            raise ValueError(
                f"{where}: argument {index} must have shape "
                f"{_shape_text(tensor.shape)} for {_type_text(tensor)}, got "
                f"{_shape_text(value.shape)}")
        # A copy even when already contiguous: the kernel may write into it.
        prepared.append(aligned_copy(value, dtype))
    return prepared


# Cache-line alignment of the copies: numpy's buffers start 16 bytes into
# a line, so every vector load of the kernels would straddle two lines
# (runtime.md: about half the speed of an SpMM).
_ALIGNMENT = 64


def aligned_copy(value: np.ndarray, dtype: np.dtype) -> np.ndarray:
    """A C-contiguous copy of `value` as `dtype` whose data starts on a
    64-byte boundary."""
    size = max(int(np.prod(value.shape)), 1) * dtype.itemsize
    raw = np.empty(size + _ALIGNMENT, dtype=np.uint8)
    start = -raw.ctypes.data % _ALIGNMENT
    copy = raw[start:start + size].view(dtype)[:int(np.prod(value.shape))]
    copy = copy.reshape(value.shape)
    copy[...] = value
    return copy


class DenseCall:
    """A call of ``function`` (an entry's address) on ``arguments`` (from
    prepare_arguments), its descriptors built once: ``invoke()`` runs the
    kernel, leaving its results in ``result_descriptors`` until
    ``release()``."""

    def __init__(self, function: int, signature: Signature,
                 arguments: list[np.ndarray]):
        self.results = signature.results
        self.arguments = arguments
        argument_descriptors = [_describe(a) for a in arguments]
        if len(self.results) == 0:
            holder = None
            self.result_descriptors = []
        elif len(self.results) == 1:
            holder = descriptor_type(len(self.results[0].shape))()
            self.result_descriptors = [holder]
        else:
            fields = [(f"result{i}", descriptor_type(len(t.shape)))
                      for i, t in enumerate(self.results)]
            holder = type("Results", (Structure,), {"_fields_": fields})()
            self.result_descriptors = [getattr(holder, name)
                                       for name, _ in fields]
        parameters = ([c_void_p] if holder is not None else []) + \
            [c_void_p] * len(arguments)
        pointers = [ctypes.addressof(holder)] if holder is not None else []
        pointers += [ctypes.addressof(d) for d in argument_descriptors]
        # Kept alive with the call: the pointers point into them.
        self._keep = (holder, argument_descriptors)
        self._pointers = pointers
        self._function = ctypes.CFUNCTYPE(None, *parameters)(function)

    def invoke(self) -> None:
        self._function(*self._pointers)

    def release(self) -> None:
        """Frees the buffers the last call allocated, each once; never an
        argument's or a constant's."""
        borrowed = {a.ctypes.data for a in self.arguments}
        borrowed.add(_GLOBAL_MARKER)
        owned = {d.allocated for d in self.result_descriptors} - borrowed
        for allocated in owned:
            if allocated:
                runtime().so_memref_release(allocated)


def call_dense(function: int, where: str, signature: Signature,
               arguments: list[np.ndarray]) -> list[np.ndarray]:
    """Calls ``function`` (an entry's address) with ``arguments`` (from
    prepare_arguments) and returns its results as numpy arrays it owns."""
    call = DenseCall(function, signature, arguments)
    call.invoke()
    outputs = []
    try:
        # Every result is copied before any buffer is freed: two results
        # may share one.
        for index, (descriptor, tensor) in enumerate(zip(
                call.result_descriptors, call.results)):
            outputs.append(_copy_out(where, index, descriptor, tensor))
    finally:
        # Released even after an error.
        call.release()
    return outputs


def _copy_out(where: str, index: int, descriptor,
              tensor: TensorType) -> np.ndarray:
    """A numpy copy of the result ``descriptor`` points to, after checking
    its shape against the signature."""
    dtype = ELEMENT_DTYPES[tensor.element_type]
    rank = len(tensor.shape)
    shape = tuple(descriptor.sizes) if rank else ()
    strides = tuple(descriptor.strides) if rank else ()
    if any(d < 0 for d in shape) or any(
            e is not None and e != s for s, e in zip(shape, tensor.shape)):
        raise ValueError(f"{where}: result {index} has shape "
                         f"{_shape_text(shape)}, but the signature says "
                         f"{_type_text(tensor)}")
    if 0 in shape:
        return np.empty(shape, dtype=dtype)
    if not descriptor.aligned:
        raise ValueError(f"{where}: result {index} has no data")
    # The elements the view spans, from its lowest to its highest address.
    low = descriptor.offset + sum(min(0, (n - 1) * s)
                                  for n, s in zip(shape, strides))
    high = descriptor.offset + sum(max(0, (n - 1) * s)
                                   for n, s in zip(shape, strides))
    buffer = (ctypes.c_char * ((high - low + 1) * dtype.itemsize)
              ).from_address(descriptor.aligned + low * dtype.itemsize)
    view = np.lib.stride_tricks.as_strided(
        np.frombuffer(buffer, dtype=dtype)[descriptor.offset - low:],
        shape=shape, strides=[s * dtype.itemsize for s in strides],
        writeable=False)
    if dtype == np.bool_:
        # LLVM stores an i1 as a byte; read any non-zero byte as true.
        return np.array(view.view(np.uint8) != 0, order="C")
    return np.array(view, order="C", copy=True)

