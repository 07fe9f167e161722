"""Exits non-zero unless two cost model files have the same fits (features,
sample counts, coefficients and errors within a relative 1e-9: a refit on
another machine's BLAS rounds differently in the last digits) and the
second records at least `min_checks` checks.

    same-fits.py SHIPPED REFITTED MIN_CHECKS
"""
import json
import math
import sys


def same(a, b, path):
    if isinstance(a, dict) and isinstance(b, dict):
        if a.keys() != b.keys():
            sys.exit(f"{path}: keys {sorted(a)} against {sorted(b)}")
        for key in a:
            same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            sys.exit(f"{path}: {len(a)} entries against {len(b)}")
        for i, (x, y) in enumerate(zip(a, b)):
            same(x, y, f"{path}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        if not math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-30):
            sys.exit(f"{path}: {a!r} against {b!r}")
    elif a != b:
        sys.exit(f"{path}: {a!r} against {b!r}")


shipped, refitted = (json.load(open(path)) for path in sys.argv[1:3])
for part in ("formats", "transpose"):
    same(shipped[part], refitted[part], part)
if len(refitted["checks"]) < int(sys.argv[3]):
    sys.exit(f"only {len(refitted['checks'])} checks recorded")
