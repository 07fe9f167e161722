"""scripts/onnx-node-tests.py: which op a case tests, its lists, its exit
codes, and (with the importer built and the test data installed) a run of a
few cases."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest

from layout import REPOSITORY

SCRIPT = REPOSITORY / "scripts" / "onnx-node-tests.py"
DATA = Path("/usr/share/libonnx-testdata/data/node")


@pytest.fixture(scope="module")
def runner():
    spec = importlib.util.spec_from_file_location("onnx_node_tests", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["onnx_node_tests"] = module
    spec.loader.exec_module(module)
    return module


def test_op_of_case(runner):
    names = runner.all_op_names()
    assert runner.op_of_case("test_constant_pad", ["Pad"], names) == "Pad"
    assert runner.op_of_case(
        "test_layer_normalization_2d_axis0_expanded",
        ["Shape", "ReduceMean", "Sub"], names) == "LayerNormalization"
    assert runner.op_of_case("test_gather_elements_0_expanded",
                             ["A", "B"], names) == "GatherElements"
    assert runner.op_of_case("test_batchnorm_example_expanded", ["A", "B"],
                             names) == "BatchNormalization"
    assert runner.op_of_case("test_no_such_thing", ["A", "B"], names) is None


def test_read_list(runner, tmp_path):
    path = tmp_path / "list.txt"
    path.write_text("# comment\ntest_a  uses float16 inputs\n\ntest_b\n")
    assert runner.read_list(path) == {"test_a": "uses float16 inputs",
                                      "test_b": ""}


def run(*arguments):
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, arguments)],
                          capture_output=True, text=True)


def test_missing_data_is_a_skip(tmp_path):
    done = run("--data", tmp_path / "none")
    assert done.returncode == 77
    assert "skipped" in done.stdout and "libonnx-testdata" in done.stdout


@pytest.mark.skipif(not DATA.is_dir(), reason="libonnx-testdata not installed")
def test_stale_expected_unsupported_entry(tmp_path):
    listing = tmp_path / "unsupported.txt"
    listing.write_text("test_does_not_exist  reason\n")
    done = run("--ops", "Relu", "--expect-unsupported", listing)
    assert done.returncode == 2
    assert "no such case(s): test_does_not_exist" in done.stderr


@pytest.mark.skipif(not DATA.is_dir(), reason="libonnx-testdata not installed")
def test_a_few_cases(tmp_path, importer_ops):
    """Relu and Add cases end to end; a listed expected failure that
    passes counts as a failure."""
    done = run("--ops", "Relu,Add", "--filter", "test_relu",
               "--filter", "test_add", "--filter", "test_add_bcast",
               "--expect-unsupported", tmp_path / "none.txt")
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines()[-1] == "3 passed, 0 failed"
    listing = tmp_path / "unsupported.txt"
    listing.write_text("test_relu  pretend it is unsupported\n")
    done = run("--ops", "Relu", "--filter", "test_relu",
               "--expect-unsupported", listing)
    assert done.returncode == 1
    assert "XPASS test_relu" in done.stdout
    assert done.stdout.splitlines()[-1] == "0 passed, 1 failed"


def documented_ops():
    """The ops of the first column of docs/frontend.md's "Supported ops"
    table."""
    import re
    text = (REPOSITORY / "docs" / "frontend.md").read_text()
    start = text.index("## Supported ops")
    section = text[start:text.index("\n## ", start + 1)]
    documented = set()
    for line in section.splitlines():
        if not line.startswith("| ") or line.startswith("| op "):
            continue
        cell = line.split("|")[1]
        while "(" in cell:  # drop parenthesized notes, innermost first
            cell = re.sub(r"\([^()]*\)", "", cell)
        documented |= {name.split()[0] for name in cell.split(",")
                       if name.strip()}
    return documented


def test_op_list_matches_the_docs_table(runner):
    """test/Frontend/supported-ops.txt (the runner's op list when the
    importer has no --list-ops) names the ops of the docs' table."""
    documented = documented_ops()
    listed = set(runner.read_list(REPOSITORY / "test" / "Frontend" /
                                  "supported-ops.txt"))
    assert listed == documented, (
        f"test/Frontend/supported-ops.txt and docs/frontend.md's table "
        f"differ: only listed {sorted(listed - documented)}, only documented "
        f"{sorted(documented - listed)}")


def test_importer_op_list_matches_the_docs_table(importer_ops):
    """sparse-import-onnx --list-ops (the runner's op list) names the ops of
    the docs' table."""
    if importer_ops is None:
        pytest.skip("sparse-import-onnx has no --list-ops")
    documented = documented_ops()
    assert importer_ops == documented, (
        f"sparse-import-onnx --list-ops and docs/frontend.md's table differ: "
        f"only listed {sorted(importer_ops - documented)}, only documented "
        f"{sorted(documented - importer_ops)}")
