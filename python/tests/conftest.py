"""Shared fixtures: the repository layout and compiled kernels.

The tests drive the real tools: they use the build that sparse_opt finds
($SPARSE_OPT_BUILD_DIR, which CTest sets, else the repository's build/).
"""

import os
import subprocess

import pytest

import sparse_opt
from sparse_opt._tools import ONNX_IMPORTER, find_executable


def pytest_addoption(parser):
    parser.addoption(
        "--models-large", action="store_true",
        help="run the full-size model tests (marker models_large: ResNet-50, "
             "MobileNetV2, BERT-base end to end; CTest label models-large)")


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "models_large: full-size model end-to-end test, run only "
                   "with --models-large")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--models-large"):
        return
    skip = pytest.mark.skip(reason="full-size model: run with --models-large "
                                   "(CTest label models-large)")
    for item in items:
        if "models_large" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def importer_ops():
    """The ops ``sparse-import-onnx --list-ops`` lists, or None when it has
    no such flag; skips the test when the importer is not built."""
    try:
        importer = find_executable(ONNX_IMPORTER)
    except FileNotFoundError as error:
        pytest.skip(f"the ONNX importer is not built: {error}")
    done = subprocess.run([str(importer), "--list-ops"], capture_output=True,
                          text=True)
    if done.returncode != 0:
        return None
    return {line.split()[0] for line in done.stdout.splitlines()
            if line.strip() and not line.startswith("#")}


@pytest.fixture
def require_ops(importer_ops, tmp_path):
    """``require_ops(model)`` skips, naming them, if the model uses ops the
    importer does not support yet: those missing from its --list-ops, or,
    without that flag, those its "unsupported ONNX op type" error names
    (any other import error is left to the test to report)."""
    def check(model):
        if importer_ops is not None:
            missing = sorted({n.op_type for n in model.graph.node}
                             - importer_ops)
            if missing:
                pytest.skip(f"sparse-import-onnx does not support "
                            f"{', '.join(missing)} yet")
            return
        probe = tmp_path / "require_ops_probe.onnx"
        probe.write_bytes(model.SerializeToString())
        done = subprocess.run([str(find_executable(ONNX_IMPORTER)),
                               str(probe), "-o", os.devnull],
                              capture_output=True, text=True)
        probe.unlink()
        if "unsupported ONNX op type" in done.stderr:
            pytest.skip(f"sparse-import-onnx does not support these ops yet: "
                        f"{done.stderr.strip()}")
    return check


@pytest.fixture(scope="session")
def kernel(tmp_path_factory):
    """``kernel(kind, rows, cols, index_bits=32)``: the Library of the
    kernels.kernel_source kernel for that shape, compiled once per session
    (compiling dominates the run time)."""
    directory = tmp_path_factory.mktemp("kernels")
    libraries = {}

    def get(kind, rows, cols, index_bits=32):
        key = (kind, rows, cols, index_bits)
        if key not in libraries:
            source = sparse_opt.kernel_source(kind, rows, cols,
                                              index_bits=index_bits)
            output = directory / f"{kind}_{rows}x{cols}_i{index_bits}.so"
            libraries[key] = sparse_opt.compile(source, output)
        return libraries[key]

    yield get
    for library in libraries.values():
        library.close()
