#!/usr/bin/env python3
"""Writes the MLIR of a sparse kernel for one weight shape.

The stable sparse ABI needs the sparse operand's shape to be static, so a
kernel is specialized to the rows x cols of its weight; the dense dimension N
stays dynamic (one library serves every batch size).

  make-kernel.py spmm --rows 2048 --cols 512 [--index-bits 32] [-o spmm.mlir]
  make-kernel.py spmv --matrix ../shared/dlmc/.../m.smtx
"""

import argparse
import sys

ENCODING = ("#CSR = #sparse_tensor.encoding<{{ map = (d0, d1) -> "
            "(d0 : dense, d1 : compressed), posWidth = {bits}, "
            "crdWidth = {bits} }}>")

SPMM = """{encoding}

// C[M,N] = A[M,K] * B[K,N] with A sparse (CSR) and N chosen by the caller.
module {{
  func.func @{name}(%a: tensor<{m}x{k}xf32, #CSR>, %b: tensor<{k}x?xf32>)
      -> tensor<{m}x?xf32> attributes {{ llvm.emit_c_interface }} {{
    %c1 = arith.constant 1 : index
    %n = tensor.dim %b, %c1 : tensor<{k}x?xf32>
    %zero = arith.constant 0.0 : f32
    %empty = tensor.empty(%n) : tensor<{m}x?xf32>
    %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<{m}x?xf32>)
        -> tensor<{m}x?xf32>
    %c = linalg.matmul
        ins(%a, %b : tensor<{m}x{k}xf32, #CSR>, tensor<{k}x?xf32>)
        outs(%init : tensor<{m}x?xf32>) -> tensor<{m}x?xf32>
    return %c : tensor<{m}x?xf32>
  }}
}}
"""

SPMV = """{encoding}

// y[M] = A[M,K] * x[K] with A sparse (CSR).
module {{
  func.func @{name}(%a: tensor<{m}x{k}xf32, #CSR>, %x: tensor<{k}xf32>)
      -> tensor<{m}xf32> attributes {{ llvm.emit_c_interface }} {{
    %zero = arith.constant 0.0 : f32
    %empty = tensor.empty() : tensor<{m}xf32>
    %init = linalg.fill ins(%zero : f32) outs(%empty : tensor<{m}xf32>)
        -> tensor<{m}xf32>
    %y = linalg.matvec ins(%a, %x : tensor<{m}x{k}xf32, #CSR>, tensor<{k}xf32>)
        outs(%init : tensor<{m}xf32>) -> tensor<{m}xf32>
    return %y : tensor<{m}xf32>
  }}
}}
"""

TEMPLATES = {"spmm": SPMM, "spmv": SPMV}


def shape_from_header(path):
    """rows, cols from the first line of a .smtx or .mtx file."""
    with open(path) as f:
        for line in f:
            if line.startswith("%") or not line.strip():
                continue
            fields = line.replace(",", " ").split()
            if len(fields) < 2:
                break
            return int(fields[0]), int(fields[1])
    sys.exit(f"{path}:1: expected 'rows, cols, nnz' header")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("kind", choices=sorted(TEMPLATES))
    shape = parser.add_mutually_exclusive_group(required=True)
    shape.add_argument("--matrix", help="take rows x cols from this file")
    shape.add_argument("--rows", type=int)
    parser.add_argument("--cols", type=int)
    parser.add_argument("--index-bits", type=int, choices=(32, 64),
                        default=32, help="position/coordinate width")
    parser.add_argument("--name", help="entry point name (default: kind)")
    parser.add_argument("-o", "--output", default="-")
    args = parser.parse_args()

    if args.matrix:
        rows, cols = shape_from_header(args.matrix)
    else:
        if args.cols is None:
            parser.error("--rows needs --cols")
        rows, cols = args.rows, args.cols
    if rows <= 0 or cols <= 0:
        parser.error(f"shape must be positive, got {rows}x{cols}")
    text = TEMPLATES[args.kind].format(
        encoding=ENCODING.format(bits=args.index_bits),
        name=args.name or args.kind, m=rows, k=cols)
    if args.output == "-":
        sys.stdout.write(text)
    else:
        with open(args.output, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
