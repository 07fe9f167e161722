"""Compiling MLIR into a kernel library with the sparse-compile tool."""

from __future__ import annotations

import operator
import os
import subprocess
from collections.abc import Iterable, Mapping
from typing import Union

from ._tools import find_compiler
from .errors import CompileError
from .library import Library

PathLike = Union[str, os.PathLike]


def compile(source: PathLike, output: PathLike, *,
            target_cpu: str | None = None,
            target_features: str | Iterable[str] | None = None,
            num_threads: int | None = None,
            pipeline_options: str | Mapping[str, object] | None = None,
            header: bool | PathLike = True,
            extra_arguments: Iterable[str] = ()) -> Library:
    """Compiles MLIR into the shared library ``output`` and opens it.

    ``source`` is a path to a ``.mlir`` file, or MLIR text: a ``str``
    containing a newline is taken as text (fed to the tool on stdin, so its
    errors read ``<stdin>:LINE:COL``). The source is never overwritten:
    ``output`` or ``header`` naming it is a ValueError.

    The keywords map to sparse-compile's options (docs/sparse-compile.md):
    ``target_cpu`` (``"host"`` by default, or an LLVM CPU name),
    ``target_features`` (``"+f,-g"`` or a list of ``"+f"`` / ``"-g"``),
    ``num_threads`` (the library's default thread count, 0 for OpenMP's),
    ``pipeline_options`` (``sparse-opt-cpu-pipeline`` options as one string
    or a mapping, e.g. ``{"parallelization-strategy": "none"}``), and
    ``header``: True writes the C header next to the output with ``.h``,
    False writes none, a path writes it there. ``extra_arguments`` are
    passed on as they are (e.g. ``["--input-shape=x=1x3"]`` for a model).

    Raises CompileError, carrying the tool's diagnostics, if it fails.
    """
    command = [str(find_compiler())]
    stdin_text = None
    if isinstance(source, str) and "\n" in source:
        stdin_text = source
        command.append("-")
    else:
        source = os.fspath(source)
        if not os.path.isfile(source):
            raise FileNotFoundError(
                f"{source}: no such file (a str is MLIR text only if it "
                f"contains a newline)")
        destinations = [output] + ([header] if _is_path(header) else [])
        for destination in destinations:
            if os.path.exists(destination) and os.path.samefile(destination,
                                                                 source):
                raise ValueError(f"{os.fspath(destination)} is the source "
                                 f"file; refusing to overwrite it")
        # A leading '-' would read as an option.
        command.append(os.path.join(".", source) if source.startswith("-")
                       else source)

    command += ["-o", os.fspath(output)]
    if target_cpu is not None:
        command.append(f"--target-cpu={target_cpu}")
    if target_features is not None:
        if not isinstance(target_features, str):
            target_features = ",".join(target_features)
        command.append(f"--target-features={target_features}")
    if num_threads is not None:
        command.append(f"--num-threads={operator.index(num_threads)}")
    if pipeline_options is not None:
        if isinstance(pipeline_options, Mapping):
            pipeline_options = " ".join(
                f"{key}={_option_text(value)}"
                for key, value in pipeline_options.items())
        command.append(f"--pipeline-options={pipeline_options}")
    if header is False:
        command.append("--no-header")
    elif _is_path(header):
        command.append(f"--header={os.fspath(header)}")

    command += list(extra_arguments)
    done = subprocess.run(command, input=stdin_text, capture_output=True,
                          text=True)
    if done.returncode != 0:
        raise CompileError(done.stderr, done.returncode, command)
    return Library(output)


def _is_path(value: object) -> bool:
    return isinstance(value, (str, os.PathLike))


def _option_text(value: object) -> str:
    """A pass option value as MLIR's option parser spells it."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
