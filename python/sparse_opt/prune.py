"""Pruning the weights of an ONNX model: unstructured magnitude, N:M and
r x c block sparsity, per layer or global.

The weights are the initializers a ``MatMul`` or ``Gemm`` multiplies by (either
operand, rank 2) and ``Conv`` filters. Each is seen as a matrix
``W[out, reduction]``, the orientation of a sparse weight times dense
activations kernel:

* ``MatMul(x, B)`` with B [K, N]: W = B^T; ``MatMul(A, x)`` with A [M, K]: W = A;
* ``Gemm``: B [K, N] (transB = 1: [N, K]) and A [M, K] (transA = 1: [K, M]),
  oriented the same way;
* ``Conv`` W [O, C/group, kh, kw]: W viewed as [O, C/group * kh * kw] in
  ONNX's row-major order (input channel major, then kh, kw).

N:M sparsity keeps the N largest magnitudes of every M consecutive elements
along the reduction dimension (a row of W; for MatMul's B a column of B);
block sparsity zeroes whole r x c blocks of W (r output rows by c reduction
columns; blocks at the right and bottom edges are partial). The command line
is ``python3 -m sparse_opt.prune``; see docs/frontend.md.
"""

from __future__ import annotations

import argparse
import fnmatch
import os
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import onnx
from onnx import numpy_helper

METHODS = ("magnitude", "nm", "block")
SCOPES = ("layer", "global")


@dataclass
class PrunedWeight:
    """One weight the pruner looked at, and what it did to it."""

    name: str                 # the initializer
    node: str                 # the node that multiplies by it
    op: str
    shape: tuple[int, ...]
    transposed: bool          # W = initializer^T (else a reshape of it)
    sparsity_before: float = 0.0
    sparsity_after: float = 0.0
    skipped: str | None = None  # why it was left alone
    values: np.ndarray | None = field(default=None, repr=False)

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    def matrix(self) -> np.ndarray:
        """W[out, reduction] (a view where possible)."""
        if self.transposed:
            return self.values.T
        return self.values.reshape(self.shape[0], -1)

    def set_matrix(self, matrix: np.ndarray) -> None:
        self.values = (matrix.T if self.transposed
                       else matrix.reshape(self.shape)).copy()


def find_weights(model: onnx.ModelProto) -> list[PrunedWeight]:
    """The prunable weights of ``model``'s main graph, in initializer order,
    with their values; an initializer also used where it is not a prunable
    weight (or as two different ones) is listed with ``skipped`` set."""
    initializers = {t.name: t for t in model.graph.initializer}
    graph_inputs = {i.name for i in model.graph.input}
    uses: dict[str, list[tuple[onnx.NodeProto, bool | None]]] = {}
    for node in model.graph.node:
        for index, name in enumerate(node.input):
            if name in initializers and name not in graph_inputs:
                uses.setdefault(name, []).append(
                    (node, _orientation(node, index, initializers[name])))
    found = []
    for name, tensor in initializers.items():
        if name not in uses:
            continue
        node_uses = uses[name]
        orientations = {o for _, o in node_uses}
        prunable = [(n, o) for n, o in node_uses if o is not None]
        if not prunable:
            continue
        node, transposed = prunable[0]
        weight = PrunedWeight(name, node.name or node.output[0], node.op_type,
                              tuple(tensor.dims), transposed)
        if len(orientations) > 1:
            others = ", ".join(f"{n.name or n.output[0]} ({n.op_type})"
                               for n, _ in node_uses if n is not node)
            weight.skipped = f"also used by {others}"
        elif tensor.data_type not in (onnx.TensorProto.FLOAT,
                                      onnx.TensorProto.DOUBLE,
                                      onnx.TensorProto.FLOAT16):
            weight.skipped = (f"element type "
                              f"{onnx.TensorProto.DataType.Name(tensor.data_type)}"
                              f" is not floating point")
        else:
            weight.values = numpy_helper.to_array(tensor).copy()
            zeros = np.count_nonzero(weight.values == 0)
            weight.sparsity_before = weight.sparsity_after = (
                zeros / weight.size if weight.size else 0.0)
        found.append(weight)
    return found


def _orientation(node: onnx.NodeProto, index: int,
                 tensor: onnx.TensorProto) -> bool | None:
    """Whether the initializer at input ``index`` of ``node`` is a prunable
    weight stored transposed to W[out, reduction] (True), as W or a reshape
    of it (False), or is not a prunable weight (None)."""
    rank = len(tensor.dims)
    attributes = {a.name: onnx.helper.get_attribute_value(a)
                  for a in node.attribute}
    if node.op_type == "MatMul" and rank == 2 and index in (0, 1):
        return index == 1
    if node.op_type == "Gemm" and rank == 2 and index in (0, 1):
        if index == 1:
            return not attributes.get("transB", 0)
        return bool(attributes.get("transA", 0))
    if node.op_type == "Conv" and index == 1 and rank >= 3:
        return False
    return None


def select_weights(weights: list[PrunedWeight], include: Sequence[str] = (),
                   exclude: Sequence[str] = ()) -> None:
    """Marks as skipped the weights whose initializer and node names match
    none of the ``include`` patterns (when given) or any ``exclude`` one
    (shell patterns, fnmatch)."""
    def matches(weight, patterns):
        return any(fnmatch.fnmatchcase(name, pattern)
                   for pattern in patterns
                   for name in (weight.name, weight.node))
    for weight in weights:
        if weight.skipped:
            continue
        if include and not matches(weight, include):
            weight.skipped = "not matched by --include"
        elif matches(weight, exclude):
            weight.skipped = "matched by --exclude"


def prune_magnitude(weights: list[PrunedWeight], sparsity: float,
                    scope: str) -> None:
    """Zeroes the round(sparsity x size) smallest magnitudes of each weight
    (scope "layer") or of all of them together ("global"); existing zeros
    count as the smallest."""
    active = [w for w in weights if not w.skipped]
    if scope == "layer":
        for weight in active:
            flat = weight.values.reshape(-1)
            count = round(sparsity * flat.size)
            if count:
                order = np.argpartition(np.abs(flat), count - 1)[:count]
                flat[order] = 0
    elif active:
        magnitudes = np.concatenate([np.abs(w.values.reshape(-1)).astype(
            np.float64) for w in active])
        count = round(sparsity * magnitudes.size)
        pruned = np.zeros(magnitudes.size, dtype=bool)
        if count:
            pruned[np.argpartition(magnitudes, count - 1)[:count]] = True
        start = 0
        for weight in active:
            flat = weight.values.reshape(-1)
            flat[pruned[start:start + flat.size]] = 0
            start += flat.size
    _update(weights)


def prune_n_m(weights: list[PrunedWeight], n: int, m: int) -> None:
    """Keeps the n largest magnitudes of every m consecutive elements along
    the reduction dimension; a weight whose reduction length is not a
    multiple of m is skipped."""
    for weight in weights:
        if weight.skipped:
            continue
        matrix = np.array(weight.matrix())
        rows, length = matrix.shape
        if length % m:
            weight.skipped = (f"reduction length {length} is not a multiple "
                              f"of {m}")
            continue
        groups = matrix.reshape(rows, length // m, m)
        # Stable order: among equal magnitudes the later ones are pruned.
        order = np.argsort(-np.abs(groups), axis=-1, kind="stable")
        np.put_along_axis(groups, order[..., n:], 0, axis=-1)
        weight.set_matrix(groups.reshape(rows, length))
    _update(weights)


def prune_blocks(weights: list[PrunedWeight], sparsity: float,
                 block: tuple[int, int], scope: str,
                 norm: str = "l2") -> None:
    """Zeroes whole ``block`` (r x c) blocks of W with the smallest L1 or L2
    norm, as many as bring the pruned element count closest to
    sparsity x size, per weight ("layer") or over all of them ("global")."""
    active = [w for w in weights if not w.skipped]
    tiles = [_BlockView(w, block) for w in active]
    scores = [t.scores(norm) for t in tiles]
    sizes = [t.block_sizes() for t in tiles]
    if scope == "layer":
        for tile, score, size in zip(tiles, scores, sizes):
            tile.zero(_smallest_blocks(score, size, sparsity))
    elif tiles:
        pruned = _smallest_blocks(np.concatenate(scores),
                                  np.concatenate(sizes), sparsity)
        start = 0
        for tile, score in zip(tiles, scores):
            tile.zero(pruned[start:start + score.size])
            start += score.size
    _update(weights)


class _BlockView:
    """A weight's W cut into r x c blocks (row-major block order)."""

    def __init__(self, weight: PrunedWeight, block: tuple[int, int]):
        self.weight = weight
        self.r, self.c = block
        self.matrix = np.array(weight.matrix())
        rows, cols = self.matrix.shape
        self.grid = (-(-rows // self.r), -(-cols // self.c))

    def _padded(self) -> np.ndarray:
        rows, cols = self.matrix.shape
        padded = np.zeros((self.grid[0] * self.r, self.grid[1] * self.c),
                          dtype=np.float64)
        padded[:rows, :cols] = self.matrix
        return padded.reshape(self.grid[0], self.r, self.grid[1], self.c)

    def scores(self, norm: str) -> np.ndarray:
        blocks = np.abs(self._padded())
        if norm == "l1":
            return blocks.sum(axis=(1, 3)).reshape(-1)
        return np.sqrt((blocks ** 2).sum(axis=(1, 3))).reshape(-1)

    def block_sizes(self) -> np.ndarray:
        rows, cols = self.matrix.shape
        heights = np.minimum(self.r, rows - np.arange(self.grid[0]) * self.r)
        widths = np.minimum(self.c, cols - np.arange(self.grid[1]) * self.c)
        return np.outer(heights, widths).reshape(-1)

    def zero(self, pruned: np.ndarray) -> None:
        mask = np.repeat(np.repeat(pruned.reshape(self.grid), self.r, axis=0),
                         self.c, axis=1)
        rows, cols = self.matrix.shape
        self.matrix[mask[:rows, :cols]] = 0
        self.weight.set_matrix(self.matrix)


def _smallest_blocks(scores: np.ndarray, sizes: np.ndarray,
                     sparsity: float) -> np.ndarray:
    """The blocks to prune: the lowest-scoring prefix whose element count
    is closest to sparsity x total (ties in score broken by position)."""
    order = np.argsort(scores, kind="stable")
    counts = np.concatenate([[0], np.cumsum(sizes[order])])
    target = sparsity * counts[-1]
    prefix = int(np.argmin(np.abs(counts - target)))
    pruned = np.zeros(scores.size, dtype=bool)
    pruned[order[:prefix]] = True
    return pruned


def _update(weights: list[PrunedWeight]) -> None:
    for weight in weights:
        if weight.values is not None and weight.size:
            weight.sparsity_after = float(
                np.count_nonzero(weight.values == 0) / weight.size)


def prune_model(model: onnx.ModelProto, *, method: str = "magnitude",
                sparsity: float | None = None, nm: tuple[int, int] = (2, 4),
                block: tuple[int, int] = (4, 4), block_norm: str = "l2",
                scope: str = "layer", include: Sequence[str] = (),
                exclude: Sequence[str] = ()) -> list[PrunedWeight]:
    """Prunes ``model``'s weights in place (see the module docstring) and
    returns what was done to each. ``sparsity`` (in [0, 1)) is required for
    "magnitude" and "block" and not taken by "nm" (whose sparsity is
    1 - N/M); "nm" is per layer only. ValueError for bad arguments."""
    _check_arguments(method, sparsity, nm, block, block_norm, scope)
    weights = find_weights(model)
    select_weights(weights, include, exclude)
    if method == "magnitude":
        prune_magnitude(weights, sparsity, scope)
    elif method == "nm":
        prune_n_m(weights, *nm)
    else:
        prune_blocks(weights, sparsity, block, scope, block_norm)
    initializers = {t.name: t for t in model.graph.initializer}
    for weight in weights:
        if weight.values is not None and not weight.skipped:
            tensor = initializers[weight.name]
            tensor.CopyFrom(numpy_helper.from_array(weight.values,
                                                    weight.name))
    return weights


def _check_arguments(method, sparsity, nm, block, block_norm, scope) -> None:
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    if scope not in SCOPES:
        raise ValueError(f"scope must be one of {SCOPES}, not {scope!r}")
    if method == "nm":
        if sparsity is not None:
            raise ValueError(f"a sparsity does not apply to N:M pruning: "
                             f"{nm[0]}:{nm[1]} keeps {nm[0]} of every "
                             f"{nm[1]} (sparsity {1 - nm[0] / nm[1]:g})")
        if scope != "layer":
            raise ValueError("N:M pruning is per layer; scope 'global' does "
                             "not apply to it")
        n, m = nm
        if not 1 <= n < m:
            raise ValueError(f"N:M needs 1 <= N < M, got {n}:{m}")
        return
    if sparsity is None:
        raise ValueError(f"{method} pruning needs a target sparsity")
    if not 0 <= sparsity < 1:
        raise ValueError(f"sparsity must be in [0, 1), got {sparsity}")
    if method == "block":
        if len(block) != 2 or min(block) < 1:
            raise ValueError(f"block must be r x c with r, c >= 1, got "
                             f"{block}")
        if block_norm not in ("l1", "l2"):
            raise ValueError(f"block norm must be 'l1' or 'l2', not "
                             f"{block_norm!r}")


def summary(weights: list[PrunedWeight]) -> str:
    """A table of every weight: name, op, shape, sparsity before and after
    (or why it was skipped), and the total over the pruned ones."""
    rows = [("weight", "op", "shape", "before", "after")]
    for w in weights:
        shape = "x".join(map(str, w.shape))
        after = (f"skipped: {w.skipped}" if w.skipped
                 else f"{w.sparsity_after:.4f}")
        rows.append((w.name, w.op, shape, f"{w.sparsity_before:.4f}", after))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = ["  ".join(c.ljust(widths[i]) if i < 4 else c
                       for i, c in enumerate(r)) for r in rows]
    pruned = [w for w in weights if not w.skipped]
    total = sum(w.size for w in pruned)
    zeros = sum(round(w.sparsity_after * w.size) for w in pruned)
    lines.append(f"{len(pruned)} weights pruned, {len(weights) - len(pruned)}"
                 f" skipped; sparsity of the pruned weights: "
                 f"{zeros / total if total else 0:.4f} ({zeros:,} of "
                 f"{total:,} zero)")
    return "\n".join(lines)


# Command line ----------------------------------------------------------------

def _ratio(text: str) -> tuple[int, int]:
    parts = text.split(":")
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return int(parts[0]), int(parts[1])
    raise argparse.ArgumentTypeError(f"expected N:M such as 2:4, got {text!r}")


def _block(text: str) -> tuple[int, int]:
    parts = text.lower().split("x")
    if len(parts) == 2 and all(p.isdigit() for p in parts):
        return int(parts[0]), int(parts[1])
    raise argparse.ArgumentTypeError(f"expected RxC such as 4x4, got {text!r}")


def _uses_external_data(model: onnx.ModelProto) -> bool:
    return any(t.data_location == onnx.TensorProto.EXTERNAL
               for t in model.graph.initializer)


def main(argv: list[str] | None = None) -> int:
    from .models import save_model  # the onnx-dependent writer
    parser = argparse.ArgumentParser(
        prog="python3 -m sparse_opt.prune",
        description="Prune the MatMul / Gemm / Conv weights of an ONNX "
                    "model (see docs/frontend.md).")
    parser.add_argument("input", help="model to read (never modified unless "
                                      "it is also OUTPUT and --force is given)")
    parser.add_argument("-o", "--output", required=True)
    parser.add_argument("--method", choices=METHODS, default="magnitude")
    parser.add_argument("--sparsity", type=float,
                        help="target fraction of zeros (magnitude, block)")
    parser.add_argument("--nm", type=_ratio, default=None,
                        help="N:M for --method nm (default 2:4)")
    parser.add_argument("--block", type=_block, default=None,
                        help="RxC block for --method block (default 4x4)")
    parser.add_argument("--block-norm", choices=["l1", "l2"], default=None,
                        help="block score (default l2)")
    parser.add_argument("--scope", choices=SCOPES, default="layer")
    parser.add_argument("--include", action="append", default=[],
                        metavar="PATTERN",
                        help="prune only weights whose initializer or node "
                             "name matches (shell pattern; repeatable)")
    parser.add_argument("--exclude", action="append", default=[],
                        metavar="PATTERN", help="leave matching weights alone")
    data = parser.add_mutually_exclusive_group()
    data.add_argument("--external-data", action="store_true",
                      help="write weights to OUTPUT.data (default: as the "
                           "input stores them)")
    data.add_argument("--inline-data", action="store_true",
                      help="write weights inside OUTPUT")
    parser.add_argument("--force", action="store_true",
                        help="overwrite OUTPUT if it exists, even if it is "
                             "the input")
    parser.add_argument("-q", "--quiet", action="store_true",
                        help="no per-layer summary")
    args = parser.parse_args(argv)

    if args.nm is not None and args.method != "nm":
        parser.error("--nm applies to --method nm only")
    if (args.block is not None or args.block_norm is not None) and \
            args.method != "block":
        parser.error("--block and --block-norm apply to --method block only")
    if not os.path.isfile(args.input):
        parser.error(f"{args.input}: no such file")
    if os.path.exists(args.output) and not args.force:
        same = os.path.samefile(args.output, args.input)
        parser.error(f"{args.output} {'is the input' if same else 'exists'};"
                     f" pass --force to overwrite it")
    try:
        model = onnx.load(args.input, load_external_data=False)
        external = (args.external_data or
                    (_uses_external_data(model) and not args.inline_data))
        onnx.external_data_helper.load_external_data_for_model(
            model, os.path.dirname(os.path.abspath(args.input)))
    except Exception as error:  # protobuf's DecodeError, missing data files
        print(f"error: {args.input}: not a readable ONNX model ({error})",
              file=sys.stderr)
        return 2
    try:
        weights = prune_model(
            model, method=args.method, sparsity=args.sparsity,
            nm=args.nm or (2, 4), block=args.block or (4, 4),
            block_norm=args.block_norm or "l2", scope=args.scope,
            include=args.include, exclude=args.exclude)
        if not any(not w.skipped for w in weights):
            raise ValueError(f"{args.input}: no weight to prune (no MatMul / "
                             f"Gemm / Conv initializer"
                             f"{' selected' if weights else ''})")
        save_model(model, args.output, external_data=external,
                   protected=() if args.force else (args.input,),
                   overwrite=args.force)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    if not args.quiet:
        print(summary(weights))
    return 0


if __name__ == "__main__":
    sys.exit(main())
