#!/usr/bin/env python3
"""Writes the MLIR of a sparse kernel for one weight (or pattern) shape.

The stable sparse ABI needs the sparse operand's shape to be static, so a
kernel is specialized to the rows x cols of its weight; the dense dimension N
stays dynamic (one library serves every batch size). The templates live in
the Python package (python/sparse_opt/kernels.py); this is its command line.

  make-kernel.py spmm --rows 2048 --cols 512 [--index-bits 32] [-o spmm.mlir]
  make-kernel.py spmv --matrix ../shared/dlmc/.../m.smtx
  make-kernel.py spmm --embed-weights ../shared/dlmc/.../m.smtx [--seed 1]
  make-kernel.py sddmm --rows 1024 --cols 1024 --depth 64
  make-kernel.py spmm --rows 2048 --cols 512 --format bsr:4x4
  make-kernel.py spmv --rows 512 --cols 512 --format nm:2:4
  make-kernel.py spmm --embed-weights m.smtx --format nm:2:4 --structure nm:2:4

An sddmm kernel computes R = S o (Q K^T) on a rows x cols CSR pattern S
(the scores of sparse attention): Q is rows x depth, K cols x depth.

With --embed-weights the weight itself is a constant in the kernel, whose
entry takes only B (or x). Its values are those sparse-run builds from the
file with --seed (default 1), bit for bit; a real or integer .mtx file keeps
its own values unless --seed is given.
"""

import argparse
import importlib.util
import os
import sys

# Loaded by file path rather than imported as sparse_opt.kernels: the package
# needs numpy and a build, this script (run by the lit tests) needs neither.
_KERNELS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..",
                        "python", "sparse_opt", "kernels.py")
_spec = importlib.util.spec_from_file_location("sparse_opt_kernels", _KERNELS)
kernels = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(kernels)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=kernels.KINDS)
    shape = parser.add_mutually_exclusive_group(required=True)
    shape.add_argument("--matrix", help="take rows x cols from this file")
    shape.add_argument("--rows", type=int)
    shape.add_argument("--embed-weights", metavar="FILE",
                       help="embed this .smtx / .mtx matrix as a constant")
    parser.add_argument("--cols", type=int)
    parser.add_argument("--seed", type=int,
                        help="with --embed-weights: draw the values as "
                             "sparse-run --seed does (default 1; a real or "
                             "integer .mtx file keeps its values without it)")
    parser.add_argument("--depth", type=int,
                        help="sddmm: columns of Q and K (required)")
    parser.add_argument("--index-bits", type=int, choices=(32, 64),
                        default=32, help="position/coordinate width")
    parser.add_argument("--format", default="csr",
                        help="the weight's storage: csr (default), bsr:RxC "
                             "(R x C blocks) or nm:N:M (at most N non-zeros "
                             "in each group of M columns)")
    parser.add_argument("--structure",
                        help="with --embed-weights: first derive the "
                             "structured weight sparse-run --structure "
                             "derives (bsr:RxC or nm:N:M, same seed)")
    parser.add_argument("--name", help="entry point name (default: kind)")
    parser.add_argument("-o", "--output", default="-")
    args = parser.parse_args()

    weights = None
    if args.kind == "sddmm":
        if args.depth is None:
            parser.error("sddmm needs --depth")
        if args.depth <= 0:
            parser.error(f"--depth must be positive, got {args.depth}")
        if args.embed_weights:
            parser.error("--embed-weights does not apply to sddmm")
    elif args.depth is not None:
        parser.error("--depth applies to sddmm only")
    if args.seed is not None and not args.embed_weights:
        parser.error("--seed needs --embed-weights")
    if args.structure and not args.embed_weights:
        parser.error("--structure needs --embed-weights")
    if args.embed_weights:
        if args.cols is not None:
            parser.error("--cols needs --rows")
        if args.seed is not None and not 0 <= args.seed < 2**64:
            parser.error(f"--seed must be an unsigned 64-bit integer, "
                         f"got {args.seed}")
        try:
            weights = kernels.read_weights(args.embed_weights, seed=args.seed)
            if args.structure:
                # sparse-run redraws the values of a block-pruned weight
                # with its seed unless it keeps the file's (--file-values).
                file_values = weights.source.endswith("values from the file")
                weights = kernels.structured_weights(
                    weights, args.structure,
                    None if file_values else
                    (1 if args.seed is None else args.seed))
        except (OSError, ValueError) as error:
            sys.exit(f"error: {error}")
        rows, cols = weights.rows, weights.cols
    elif args.matrix:
        try:
            rows, cols = kernels.matrix_shape(args.matrix)
        except (OSError, ValueError) as error:
            sys.exit(f"error: {error}")
    else:
        if args.cols is None:
            parser.error("--rows needs --cols")
        rows, cols = args.rows, args.cols
    if rows <= 0 or cols <= 0:
        parser.error(f"shape must be positive, got {rows}x{cols}")
    try:
        text = kernels.kernel_source(args.kind, rows, cols,
                                     index_bits=args.index_bits,
                                     name=args.name, weights=weights,
                                     depth=args.depth, format=args.format)
    except ValueError as error:
        parser.error(str(error))
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
