# -*- Python -*-
"""lit configuration of the sparse-opt regression tests.

Layout: Transforms/ (one FileCheck file per pass), Pipelines/, Compile/
(sparse-compile outputs), Execution/ (compile, run, compare with a
reference), Errors/ (bad input gives a located error and a non-zero exit).
"""

import os
import subprocess

import lit.formats
from lit.llvm import llvm_config
from lit.llvm.subst import ToolSubst

config.name = "SPARSE-OPT"
config.test_format = lit.formats.ShTest(not llvm_config.use_lit_shell)
config.suffixes = [".mlir", ".test"]
config.excludes = ["CMakeLists.txt", "lit.cfg.py", "lit.site.cfg.py", "Inputs"]
config.test_source_root = os.path.dirname(__file__)
config.test_exec_root = os.path.join(config.sparse_opt_obj_root, "test")

llvm_config.use_default_substitutions()
llvm_config.with_environment("PATH", config.llvm_tools_dir, append_path=True)

config.substitutions.append(("%python", config.python_executable))
config.substitutions.append(
    ("%make-kernel",
     config.python_executable + " " +
     os.path.join(config.sparse_opt_src_root, "scripts", "make-kernel.py")))
config.substitutions.append(("%dlmc", config.sparse_opt_dlmc_dir))
# The repository's Python package (model builders), for %onnx-python -m.
config.substitutions.append(
    ("%sparse-opt-python", os.path.join(config.sparse_opt_src_root, "python")))
config.substitutions.append(("%inputs",
                             os.path.join(config.test_source_root, "Inputs")))

# Real pruned matrices live outside the repository; tests that need them
# declare REQUIRES: dlmc and show as UNSUPPORTED when they are missing.
if os.path.isdir(config.sparse_opt_dlmc_dir):
    config.available_features.add("dlmc")
else:
    lit_config.note("DLMC matrices not found at %s: tests needing them are "
                    "skipped" % config.sparse_opt_dlmc_dir)

# The ONNX frontend tests build their models with the `onnx` package of the
# configured Python (lit's own %python may be another interpreter).
config.substitutions.append(("%onnx-python", config.python_executable))
if subprocess.call([config.python_executable, "-c", "import onnx, numpy"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0:
    config.available_features.add("onnx")
if subprocess.call([config.python_executable, "-c", "import onnxruntime"],
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) == 0:
    config.available_features.add("onnxruntime")

# The sparse-library baselines this sparse-run was built with: LIBXSMM's
# only where libxsmm-dev was installed at configure time.
sparse_run = os.path.join(config.sparse_opt_tools_dir, "sparse-run")
try:
    baselines = subprocess.run([sparse_run, "--list-baselines"],
                               capture_output=True, text=True).stdout.split()
except OSError:
    baselines = []
if "libxsmm" in baselines:
    config.available_features.add("libxsmm")
else:
    lit_config.note("sparse-run was built without LIBXSMM (Debian: "
                    "libxsmm-dev): its baseline tests are skipped")

if os.cpu_count() and os.cpu_count() >= 2:
    config.available_features.add("multicore")

tools = [
    ToolSubst("sparse-opt", unresolved="fatal"),
    ToolSubst("sparse-compile", unresolved="fatal"),
    ToolSubst("sparse-run", unresolved="fatal"),
    ToolSubst("sparse-import-onnx", unresolved="fatal"),
]
llvm_config.add_tool_substitutions(tools, [config.sparse_opt_tools_dir])
