"""Saving ONNX models, inline or with external data, without clobbering."""

from __future__ import annotations

import os
from pathlib import Path

import onnx

# Protobuf cannot serialize a message of 2 GiB or more: larger models must
# keep their weights in an external data file.
_PROTOBUF_LIMIT = 2**31 - 1


def external_data_path(output: str | os.PathLike) -> Path:
    """Where ``save_model(..., external_data=True)`` puts the weights:
    next to the model, its file name plus ``.data``."""
    output = Path(output)
    return output.with_name(output.name + ".data")


def save_model(model: onnx.ModelProto, output: str | os.PathLike, *,
               external_data: bool = False,
               protected: tuple[str | os.PathLike, ...] = (),
               overwrite: bool = True) -> list[Path]:
    """Writes ``model`` to ``output``; with ``external_data`` every
    initializer of 1 KiB or more goes to ``<output>.data`` (what
    ``onnx.save(..., save_as_external_data=True)`` writes; the location
    recorded is the bare file name, relative to the model). Returns the
    files written.

    ``protected`` files (e.g. the model this one was read from) are never
    written: a ValueError is raised if ``output`` or the data file is one.
    With ``overwrite`` False, an existing output or data file is a
    ValueError too. ``model`` itself is not modified."""
    output = Path(output)
    written = [output] + ([external_data_path(output)] if external_data
                          else [])
    if not overwrite:
        for path in written:
            if path.exists():
                raise ValueError(f"{path} exists; pass --force to overwrite "
                                 f"it")
    for path in written:
        for other in protected:
            if os.path.exists(path) and os.path.exists(other) and \
                    os.path.samefile(path, other):
                raise ValueError(f"{path} is an input file; refusing to "
                                 f"overwrite it")
    if not external_data:
        if model.ByteSize() > _PROTOBUF_LIMIT:
            raise ValueError(f"{output}: the model is over 2 GiB; save it "
                             f"with external data")
        onnx.save_model(model, os.fspath(output))
        return written
    copy = onnx.ModelProto()
    copy.CopyFrom(model)
    data = external_data_path(output)
    # onnx appends to an existing data file: start from an empty one.
    if data.exists():
        data.unlink()
    onnx.save_model(copy, os.fspath(output), save_as_external_data=True,
                    all_tensors_to_one_file=True, location=data.name,
                    size_threshold=1024)
    return written
