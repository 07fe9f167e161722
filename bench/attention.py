#!/usr/bin/env python3
"""Sparse attention against the same attention computed densely: for each
sequence length and static pattern, the model (by default one BERT layer's
attention alone, sparse_opt.models.build_attention; `--model bert` a small
BERT encoder) is compiled twice in this run, with
sparse-opt-sparse-attention (`sparse-attention-max-density=1`: whatever the
pattern's density) and without it (`sparse-attention=false`: the dense
Q K^T, masked softmax and P V of the dense codegen), both are checked
against onnxruntime on the same inputs, and both are timed, next to
onnxruntime (its default graph optimizations, same thread count).

    bench/attention.py [--seq 512,1024] [--patterns window:64,...]
                       [--threads 1,2] [--repeat 5] [--model attention]
                       [--padding] [--csv FILE]

`--padding` adds the padding-mask input (combined with the pattern as the
builder does; a quarter of the batch's last tokens are padding), which
exercises the run-time masks and the dense rows of queries they hide.
Prints a Markdown table (times are best of --repeat calls, threads pinned;
the machine is shared, so ratios are indicative) and writes a CSV.
"""

import argparse
import os
import sys
import tempfile
import time

# numpy's OpenBLAS threads spin after its calls and would take a core from
# the libraries timed here (set before numpy is imported).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402

from common import (ROOT, benchmark_environment, best_of,  # noqa: E402
                    set_threads, write_csv)

sys.path.insert(0, os.path.join(ROOT, "python"))

from sparse_opt import models  # noqa: E402
from sparse_opt.onnx_frontend import (compile_onnx, run_onnxruntime,  # noqa: E402
                                      random_inputs)

# BERT-base's heads, a window of 64 and 128 keys each side, BigBird's
# block pattern (blocks of 64: the block and its neighbours, one global and
# two random blocks) and a token-level BigBird.
DEFAULT_PATTERNS = ("window:32,window:64,window:128,"
                    "bigbird:block=64,window=1,global=1,random=2,"
                    "bigbird:window=32,global=2,random=16")
VARIANTS = {
    "sparse": "sparse-attention-max-density=1",
    "dense": "sparse-attention=false",
}


def split_patterns(text):
    """Patterns are comma-separated, and so are a BigBird spec's keys: a
    new pattern starts at each 'kind:'."""
    patterns, current = [], []
    for item in text.split(","):
        if ":" in item and current:
            patterns.append(",".join(current))
            current = []
        current.append(item)
    if current:
        patterns.append(",".join(current))
    return patterns


def build(args, seq, pattern):
    mask = "add" if args.padding else None
    if args.model == "bert":
        return models.build_bert(num_layers=args.layers, hidden=args.heads *
                                 args.head_dim, heads=args.heads,
                                 seq_len=seq, max_positions=seq,
                                 vocab_size=1000, attention_mask=mask,
                                 attention_pattern=pattern, seed=args.seed)
    return models.build_attention(seq_len=seq, heads=args.heads,
                                  head_dim=args.head_dim,
                                  attention_mask=mask,
                                  attention_pattern=pattern, seed=args.seed)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seq", default="512,1024")
    parser.add_argument("--patterns", default=DEFAULT_PATTERNS)
    parser.add_argument("--threads", default="1,2")
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--model", choices=("attention", "bert"),
                        default="attention")
    parser.add_argument("--layers", type=int, default=2,
                        help="--model bert: encoder layers")
    parser.add_argument("--heads", type=int, default=12)
    parser.add_argument("--head-dim", type=int, default=64)
    parser.add_argument("--padding", action="store_true")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--csv", default=os.path.join(
        ROOT, "bench", "results", "attention.csv"))
    args = parser.parse_args()
    os.environ.update(benchmark_environment())
    import onnxruntime

    threads = [int(t) for t in args.threads.split(",")]
    work = tempfile.mkdtemp(prefix="sparse-opt-attention-")
    rows = []
    print(f"{args.model}: {args.heads} heads of {args.head_dim}"
          f"{', padding mask' if args.padding else ''}; best of "
          f"{args.repeat}\n")
    print("| seq | pattern | density | threads | onnxruntime ms | dense ms | "
          "sparse ms | sparse vs dense | sparse vs onnxruntime | max error |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for seq in (int(s) for s in args.seq.split(",")):
        for pattern in split_patterns(args.patterns):
            density = float(models.attention_pattern(pattern, seq,
                                                     args.seed).mean())
            path = os.path.join(work, "model.onnx")
            models.save_model(build(args, seq, pattern), path)
            inputs = random_inputs(path, seed=args.seed)
            if args.padding:
                mask = np.ones_like(inputs["attention_mask"])
                mask[:, seq - seq // 4:] = 0
                inputs["attention_mask"] = mask
            expected = run_onnxruntime(path, inputs)
            scale = max(float(np.abs(v).max()) for v in expected.values())
            tolerance = dict(rtol=1e-3, atol=max(1e-5, 1e-4 * scale))
            # onnxruntime first (its default graph optimizations, as
            # deployed): once a compiled library has run, libomp's workers
            # spin for a while and would take the second core from it.
            reference = {}
            for count in threads:
                session_options = onnxruntime.SessionOptions()
                session_options.intra_op_num_threads = count
                session = onnxruntime.InferenceSession(
                    path, session_options,
                    providers=["CPUExecutionProvider"])
                reference[count] = best_of(
                    args.repeat, lambda: session.run(None, inputs))
            compiled = {}
            for name, pipeline in VARIANTS.items():
                start = time.perf_counter()
                compiled[name] = compile_onnx(
                    path, os.path.join(work, f"{name}.so"),
                    pipeline_options=pipeline)
                print(f"seq {seq} {pattern}: compiled {name} in "
                      f"{time.perf_counter() - start:.1f} s", file=sys.stderr)
            for count in threads:
                times, error = {}, 0.0
                for name, model in compiled.items():
                    set_threads(model.library, count)
                    for output, want in expected.items():
                        got = model.run(inputs)[output]
                        if not np.allclose(got, want, **tolerance):
                            sys.exit(f"error: {name} differs from onnxruntime "
                                     f"(seq {seq}, {pattern}) beyond "
                                     f"{tolerance}")
                        error = max(error, float(np.abs(got - want).max()))
                    times[name] = best_of(args.repeat,
                                          lambda: model.run(inputs))
                speedup = times["dense"] / times["sparse"]
                print(f"| {seq} | `{pattern}` | {density:.3f} | {count} | "
                      f"{reference[count] * 1e3:.2f} | "
                      f"{times['dense'] * 1e3:.2f} | "
                      f"{times['sparse'] * 1e3:.2f} | {speedup:.2f}x | "
                      f"{reference[count] / times['sparse']:.2f}x | "
                      f"{error:.1e} |", flush=True)
                rows.append(dict(model=args.model, seq=seq, pattern=pattern,
                                 density=f"{density:.4f}", threads=count,
                                 padding=int(args.padding),
                                 dense_ms=f"{times['dense'] * 1e3:.3f}",
                                 sparse_ms=f"{times['sparse'] * 1e3:.3f}",
                                 speedup=f"{speedup:.3f}",
                                 max_error=f"{error:.2e}"))
            for model in compiled.values():
                model.close()
    write_csv(args.csv, rows)
    print(f"\ncsv: {args.csv}")


if __name__ == "__main__":
    main()
