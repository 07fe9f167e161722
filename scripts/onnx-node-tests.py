#!/usr/bin/env python3
"""Runs the ONNX backend node tests through sparse-compile: import ->
compile -> run, each output compared with the test's expected output.

The cases are the folders of libonnx-testdata (one per case: model.onnx and
test_data_set_*/input_*.pb, output_*.pb). A case tests the op of its single
node, or, for a graph of several nodes (the "_expanded" function bodies and
a few others), the op its name starts with (test_layer_normalization_... is
LayerNormalization). Only cases of the supported ops are run: those
``sparse-import-onnx --list-ops`` prints, else those of --ops / --ops-file.
A multi-node case that also needs an op outside that list is skipped and
counted as such.

The importer needs shape operands (Reshape's shape, Slice's starts / ends /
axes / steps, Squeeze / Unsqueeze axes, Split's sizes, ...) at import time,
as exported models carry them; the node tests feed them as graph inputs. So
such inputs are bound: for each data set a copy of the model holds that data
set's values as initializers and is compiled on its own (the op's semantics
are tested all the same; --no-bind-shape-inputs turns this off).

Outputs are compared as ONNX's own backend test runner compares them:
``|actual - expected| <= 1e-7 + 1e-3 * |expected|`` for floating point
(numpy.testing.assert_allclose with rtol 1e-3, atol 1e-7), equality for
integers and bool, and the same shape and dtype for all.

Cases listed in the expected-unsupported file (``NAME  REASON`` per line)
use an attribute or type the importer documents as unsupported: they must
fail (a clear import error is the expected result); one that passes is a
failure, so the list stays true. Exit status: 0 when every case passed or
failed as expected, 1 otherwise, 2 for a usage error; 77 (CTest's skip code)
with a message when libonnx-testdata is not installed.

    scripts/onnx-node-tests.py [--jobs 2] [--ops Add,Relu] [--filter 'test_add*']
                               [--build-dir build] [--markdown] [-v]
"""

from __future__ import annotations

import argparse
import concurrent.futures
import fnmatch
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_DATA = Path("/usr/share/libonnx-testdata/data/node")
DEFAULT_OPS_FILE = REPOSITORY / "test" / "Frontend" / "supported-ops.txt"
DEFAULT_UNSUPPORTED = REPOSITORY / "scripts" / "onnx-node-tests-unsupported.txt"
SKIP_CODE = 77
RTOL, ATOL = 1e-3, 1e-7  # onnx.backend.test.runner's defaults
CASE_TIMEOUT_S = 120

# Cases named after an op with another spelling.
NAME_ALIASES = {"batchnorm": "BatchNormalization"}


def usage_error(message: str) -> "NoReturn":
    print(f"onnx-node-tests: error: {message}", file=sys.stderr)
    sys.exit(2)


# Which op a case tests ---------------------------------------------------------

def all_op_names() -> dict[str, str]:
    """'layernormalization' -> 'LayerNormalization' for every ONNX op."""
    import onnx.defs
    names = {s.name for s in onnx.defs.get_all_schemas_with_history()}
    table = {n.lower(): n for n in names}
    table.update(NAME_ALIASES)
    return table


def op_of_case(name: str, node_ops: list[str], names: dict[str, str]
               ) -> str | None:
    if len(node_ops) == 1:
        return node_ops[0]
    key = name.removeprefix("test_").replace("_", "").lower()
    matches = [k for k in names if key.startswith(k)]
    return names[max(matches, key=len)] if matches else None


@dataclass
class Case:
    name: str
    path: Path
    op: str | None
    node_ops: list[str]


def find_cases(data: Path) -> list[Case]:
    import onnx
    names = all_op_names()
    cases = []
    for folder in sorted(p for p in data.iterdir()
                         if p.is_dir() and (p / "model.onnx").is_file()):
        model = onnx.load(folder / "model.onnx", load_external_data=False)
        node_ops = [n.op_type for n in model.graph.node]
        cases.append(Case(folder.name, folder,
                          op_of_case(folder.name, node_ops, names), node_ops))
    return cases


# Supported ops and expected failures ------------------------------------------

def read_list(path: Path) -> dict[str, str]:
    """``NAME [REASON]`` lines; '#' starts a comment."""
    entries = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        name, _, reason = line.partition(" ")
        if name in entries:
            usage_error(f"{path}:{number}: {name} is listed twice")
        entries[name] = reason.strip()
    return entries


def supported_ops(args, importer: Path | None) -> tuple[list[str], str]:
    """The op list and where it came from."""
    if args.ops:
        return [o for o in args.ops.split(",") if o], "--ops"
    if args.ops_file:
        return list(read_list(Path(args.ops_file))), args.ops_file
    if importer is not None:
        done = subprocess.run([str(importer), "--list-ops"],
                              capture_output=True, text=True)
        ops = [line.split()[0] for line in done.stdout.splitlines()
               if line.strip() and not line.startswith("#")]
        if done.returncode == 0 and ops:
            return ops, f"{importer.name} --list-ops"
    if DEFAULT_OPS_FILE.is_file():
        return list(read_list(DEFAULT_OPS_FILE)), str(DEFAULT_OPS_FILE)
    usage_error("no op list: the importer has no --list-ops and "
                f"{DEFAULT_OPS_FILE} does not exist; pass --ops or --ops-file")


# Running one case (in a worker process) --------------------------------------

# Operands the importer needs at import time: those that fix a result's
# shape (static shapes), Pad's constant_value, and Dropout's ratio and
# training_mode (inference only: training mode is refused unless it drops
# nothing). The node tests feed them
# as graph inputs; the runner (unless --no-bind-shape-inputs) turns such
# inputs into initializers holding the data set's values, as exported models
# carry them.
SHAPE_OPERANDS = {
    "Reshape": {1}, "Slice": {1, 2, 3, 4}, "Squeeze": {1}, "Unsqueeze": {1},
    "Split": {1}, "Expand": {1}, "Tile": {1}, "ConstantOfShape": {0},
    "Pad": {1, 2, 3}, "Resize": {1, 2, 3}, "Upsample": {1}, "TopK": {1},
    "Range": {0, 1, 2}, "OneHot": {1}, "Dropout": {1, 2},
    **{op: {1} for op in ("ReduceMean", "ReduceSum", "ReduceMax", "ReduceMin",
                          "ReduceProd", "ReduceL1", "ReduceL2",
                          "ReduceLogSum", "ReduceLogSumExp",
                          "ReduceSumSquare")},
}


def shape_inputs(model) -> list[int]:
    """Indices (among the graph inputs) of inputs used as shape operands."""
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i.name for i in model.graph.input if i.name not in initializers]
    used = {name for node in model.graph.node
            for index, name in enumerate(node.input)
            if index in SHAPE_OPERANDS.get(node.op_type, ())}
    return [index for index, name in enumerate(inputs) if name in used]


def read_tensor(path: Path):
    import onnx
    from onnx import numpy_helper
    tensor = onnx.TensorProto()
    try:
        tensor.ParseFromString(path.read_bytes())
        return numpy_helper.to_array(tensor)
    except Exception as error:  # sequences, optionals
        raise ValueError(f"{path}: not a tensor ({error})") from None


def run_unit(library: str, sets: list[dict], output_names: list[str]) -> dict:
    """Runs a compiled library on data sets ({"name", "inputs": [.pb],
    "outputs": [.pb]}); {"ok": bool, "message": str}."""
    from sparse_opt import Library
    from sparse_opt.onnx_frontend import compare_outputs

    with Library(library) as lib, open(Path(library).with_suffix(".h")) as h:
        entries = [line.split("_mlir_ciface_", 1)[1].split("(", 1)[0]
                   for line in h if "_mlir_ciface_" in line]
        if len(entries) != 1:
            return {"ok": False, "message": f"expected one entry point, "
                                            f"found {entries}"}
        for data_set in sets:
            try:
                inputs = [read_tensor(Path(p)) for p in data_set["inputs"]]
                expected = [read_tensor(Path(p)) for p in data_set["outputs"]]
            except ValueError as error:
                return {"ok": False, "message": str(error)}
            try:
                results = lib.run(entries[0], *inputs)
            except Exception as error:  # argument checks
                return {"ok": False, "message": f"{data_set['name']}: "
                        f"{type(error).__name__}: {error}"}
            if not isinstance(results, tuple):
                results = (results,)
            # ONNX's tolerance for floating point; integers and bool are
            # compared for equality whatever the tolerance.
            comparisons = compare_outputs(dict(zip(output_names, results)),
                                          dict(zip(output_names, expected)),
                                          rtol=RTOL, atol=ATOL)
            bad = [c for c in comparisons if not c.ok]
            if bad:
                return {"ok": False, "message": f"{data_set['name']}: " +
                        "; ".join(map(str, bad))}
    return {"ok": True, "message": f"{len(sets)} data set(s)"}


def plan_units(case: Case, scratch: Path, bind: bool):
    """What to compile and run for a case: a list of (model path, data
    sets) and the output names. One unit for the case, or with shape inputs
    bound, one per data set (its values become initializers of a copy of
    the model written to ``scratch``)."""
    import onnx
    from onnx import numpy_helper
    model = onnx.load(case.path / "model.onnx", load_external_data=False)
    initializers = {t.name for t in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initializers]
    outputs = [o.name for o in model.graph.output]
    folders = sorted(case.path.glob("test_data_set_*"))
    if not folders:
        raise ValueError("no test_data_set_* folder")

    def data_set(folder, skip=()):
        return {"name": folder.name,
                "inputs": [str(folder / f"input_{i}.pb")
                           for i in range(len(inputs)) if i not in skip],
                "outputs": [str(folder / f"output_{i}.pb")
                            for i in range(len(outputs))]}

    bound = shape_inputs(model) if bind else []
    if not bound:
        return [(case.path / "model.onnx",
                 [data_set(f) for f in folders])], outputs, []
    units = []
    for folder in folders:
        copy = onnx.ModelProto()
        copy.CopyFrom(model)
        for index in bound:
            value = read_tensor(folder / f"input_{index}.pb")
            copy.graph.initializer.append(
                numpy_helper.from_array(value, inputs[index].name))
        kept = [i for n, i in enumerate(inputs) if n not in bound]
        del copy.graph.input[:]
        copy.graph.input.extend(kept)
        path = scratch / f"{case.name}.{folder.name}.onnx"
        onnx.save(copy, path)
        units.append((path, [data_set(folder, bound)]))
    return units, outputs, [inputs[i].name for i in bound]


def worker_main() -> int:
    """Reads ``{"library": SO, "sets": [...], "outputs": [...]}`` lines
    (run_unit's arguments), answers one JSON line
    each. A crash in a kernel ends this process, not the runner."""
    sys.path.insert(0, str(REPOSITORY / "python"))
    for line in sys.stdin:
        request = json.loads(line)
        try:
            answer = run_unit(request["library"], request["sets"],
                              request["outputs"])
        except Exception as error:
            answer = {"ok": False,
                      "message": f"{type(error).__name__}: {error}"}
        print(json.dumps(answer), flush=True)
    return 0


class Worker:
    """A worker process, restarted after a crash or a timeout."""

    def __init__(self):
        self.process = None

    def run(self, library: Path, sets: list[dict], outputs: list[str]
            ) -> dict:
        if self.process is None or self.process.poll() is not None:
            self.process = subprocess.Popen(
                [sys.executable, __file__, "--worker"], stdin=subprocess.PIPE,
                stdout=subprocess.PIPE, text=True)
        timer = threading.Timer(CASE_TIMEOUT_S, self.process.kill)
        timer.start()
        try:
            self.process.stdin.write(json.dumps(
                {"library": str(library), "sets": sets, "outputs": outputs})
                + "\n")
            self.process.stdin.flush()
            line = self.process.stdout.readline()
        except BrokenPipeError:
            line = ""
        finally:
            timer.cancel()
        if line:
            return json.loads(line)
        status = self.process.wait()
        self.process = None
        if status == -9:
            return {"ok": False, "message": f"timed out after "
                                            f"{CASE_TIMEOUT_S} s"}
        return {"ok": False, "message": f"crashed (exit status {status})"}

    def close(self):
        if self.process is not None and self.process.poll() is None:
            self.process.stdin.close()
            self.process.wait()


# The runner --------------------------------------------------------------------

def first_error_line(text: str) -> str:
    """The first line naming an error, with the next one when it only
    introduces it ("linking ... failed:")."""
    lines = text.splitlines()
    for index, line in enumerate(lines):
        if "error" in line:
            if line.rstrip().endswith(":") and index + 1 < len(lines):
                return f"{line.strip()} {lines[index + 1].strip()}"
            return line.strip()
    return (text.strip().splitlines() or ["(no message)"])[0]


def main() -> int:
    if "--worker" in sys.argv[1:]:
        return worker_main()
    parser = argparse.ArgumentParser(
        description="Run the ONNX backend node tests of the supported ops "
                    "through sparse-compile (see docs/frontend.md).")
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA,
                        help=f"node test folders (default {DEFAULT_DATA})")
    parser.add_argument("--build-dir", type=Path,
                        help="build with bin/sparse-compile (default: "
                             "$SPARSE_OPT_BUILD_DIR, else build/)")
    parser.add_argument("--ops", help="comma-separated ops to run")
    parser.add_argument("--ops-file", help="file of ops, one per line")
    parser.add_argument("--expect-unsupported", type=Path,
                        default=DEFAULT_UNSUPPORTED,
                        help="cases expected to fail, NAME REASON per line "
                             f"(default {DEFAULT_UNSUPPORTED.relative_to(REPOSITORY)})")
    parser.add_argument("--filter", action="append", default=[],
                        metavar="PATTERN", help="run only matching cases")
    parser.add_argument("--no-bind-shape-inputs", action="store_true",
                        help="pass shape operands (Reshape's shape, Slice's "
                             "starts, ...) as runtime inputs instead of "
                             "binding them to the data set's values")
    parser.add_argument("-j", "--jobs", type=int, default=2)
    parser.add_argument("--markdown", action="store_true",
                        help="print the per-op table as Markdown")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="print every case")
    args = parser.parse_args()
    if args.jobs < 1:
        usage_error("--jobs must be at least 1")

    if not args.data.is_dir():
        print(f"onnx-node-tests: skipped: {args.data} does not exist "
              f"(install Debian's libonnx-testdata)")
        return SKIP_CODE
    if args.build_dir:
        os.environ["SPARSE_OPT_BUILD_DIR"] = str(args.build_dir.resolve())
    sys.path.insert(0, str(REPOSITORY / "python"))
    from sparse_opt._tools import ONNX_IMPORTER, find_compiler, \
        find_executable
    try:
        compiler = find_compiler()
    except FileNotFoundError as error:
        usage_error(str(error))
    try:
        importer = find_executable(ONNX_IMPORTER)
    except FileNotFoundError:
        importer = None

    if importer is None and not (args.ops or args.ops_file):
        print(f"onnx-node-tests: skipped: {ONNX_IMPORTER} is not built in "
              f"{compiler.parent} (nothing to take the op list from)")
        return SKIP_CODE
    from sparse_opt.onnx_frontend import _compiler_reads_onnx
    reads_onnx = _compiler_reads_onnx()
    if importer is None and not reads_onnx:
        usage_error(f"{compiler} does not read ONNX and {ONNX_IMPORTER} is "
                    f"not built next to it")
    ops, ops_source = supported_ops(args, importer)
    expected_failures = (read_list(args.expect_unsupported)
                         if args.expect_unsupported.is_file() else {})
    cases = find_cases(args.data)
    known = {c.name for c in cases}
    stale = sorted(set(expected_failures) - known)
    if stale:
        usage_error(f"{args.expect_unsupported}: no such case(s): "
                    f"{', '.join(stale)}")
    selected = [c for c in cases if c.op in ops and (
        not args.filter or any(fnmatch.fnmatchcase(c.name, p)
                               for p in args.filter))]
    listed = set(ops)
    runnable, skipped = [], []
    for case in selected:
        unlisted = sorted(set(case.node_ops) - listed)
        (skipped if unlisted else runnable).append((case, unlisted))
    print(f"onnx-node-tests: {len(runnable)} cases of {len(ops)} ops (from "
          f"{ops_source}), {len(skipped)} skipped for ops outside the list; "
          f"{compiler}", flush=True)

    outcome: dict[str, tuple[str, str]] = {}  # name -> (status, message)
    workers = [Worker() for _ in range(args.jobs)]
    free = list(workers)
    lock = threading.Lock()

    def compile_unit(model: Path, library: Path) -> str | None:
        """Builds ``library``; the first error line on failure."""
        if not reads_onnx:
            # sparse-compile without ONNX input: import to MLIR first.
            source = library.with_suffix(".mlir")
            done = subprocess.run([str(importer), str(model), "-o",
                                   str(source)], capture_output=True,
                                  text=True, timeout=600)
            if done.returncode != 0:
                return "import: " + first_error_line(done.stderr)
            model = source
        done = subprocess.run([str(compiler), str(model), "-o", str(library)],
                              capture_output=True, text=True, timeout=600)
        if not reads_onnx:
            model.unlink(missing_ok=True)
        if done.returncode != 0:
            return "compile: " + first_error_line(done.stderr)
        return None

    def run(case: Case, scratch: Path) -> tuple[str, str]:
        try:
            units, outputs, bound = plan_units(case, scratch,
                                               not args.no_bind_shape_inputs)
        except ValueError as error:
            return "fail", str(error)
        note = f" (shape inputs bound: {', '.join(bound)})" if bound else ""
        for number, (model, sets) in enumerate(units):
            library = scratch / f"{case.name}.{number}.so"
            error = compile_unit(model, library)
            if error:
                return "fail", error + note
            with lock:
                worker = free.pop()
            try:
                answer = worker.run(library, sets, outputs)
            finally:
                with lock:
                    free.append(worker)
                for path in (library, library.with_suffix(".h")):
                    path.unlink(missing_ok=True)
                if model.parent == scratch:
                    model.unlink(missing_ok=True)
            if not answer["ok"]:
                return "fail", answer["message"] + note
        return "pass", f"{len(units)} compile(s), " \
                       f"{sum(len(s) for _, s in units)} data set(s){note}"

    with tempfile.TemporaryDirectory(prefix="onnx-node-tests-") as scratch:
        with concurrent.futures.ThreadPoolExecutor(args.jobs) as pool:
            futures = {pool.submit(run, case, Path(scratch)): case
                       for case, _ in runnable}
            for future in concurrent.futures.as_completed(futures):
                case = futures[future]
                try:
                    status, message = future.result()
                except subprocess.TimeoutExpired:
                    status, message = "fail", "compile timed out"
                except OSError as error:  # e.g. a tool being rebuilt
                    status, message = "fail", f"{type(error).__name__}: {error}"
                # Tools' messages may carry control bytes; keep lines clean.
                message = message.encode("unicode_escape", "backslashreplace"
                                         ).decode("ascii").replace("\\n",
                                                                   " ")
                if case.name in expected_failures:
                    status = "xfail" if status == "fail" else "xpass"
                outcome[case.name] = (status, message)
                if args.verbose or status in ("fail", "xpass"):
                    note = ("passed, but is listed in " +
                            str(args.expect_unsupported) + ": remove it"
                            if status == "xpass" else message)
                    print(f"{status.upper():5} {case.name}: {note}",
                          flush=True)
        for worker in workers:
            worker.close()

    # Per-op table.
    table = defaultdict(lambda: defaultdict(int))
    for case, _ in runnable:
        table[case.op][outcome[case.name][0]] += 1
    for case, unlisted in skipped:
        table[case.op]["skipped"] += 1
        if args.verbose:
            print(f"SKIP  {case.name}: uses {', '.join(unlisted)}")
    columns = ["pass", "fail", "xfail", "xpass", "skipped"]
    headers = ["op", "passed", "failed", "expected unsupported",
               "unexpectedly passed", "skipped (unlisted ops)"]
    rows = [[op] + [str(table[op][c]) for c in columns]
            for op in sorted(table)]
    if not args.filter:  # listed ops without any case (e.g. Gelu)
        rows += [[op] + ["0"] * len(columns)
                 for op in sorted(listed - set(table))]
    if args.markdown:
        print("| " + " | ".join(headers) + " |")
        print("|" + "---|" * len(headers))
        for row in rows:
            print("| " + " | ".join(row) + " |")
    else:
        widths = [max(len(r[i]) for r in rows + [headers])
                  for i in range(len(headers))]
        for row in [headers] + rows:
            print("  ".join(c.rjust(w) if i else c.ljust(w)
                            for i, (c, w) in enumerate(zip(row, widths))))
    count = defaultdict(int)
    for status, _ in outcome.values():
        count[status] += 1
    failed = count["fail"] + count["xpass"]
    print(f"{count['xfail']} expected unsupported (failed as documented), "
          f"{len(skipped)} skipped (ops outside the list)")
    print(f"{count['pass']} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
