"""Sparse attention end to end: small BERT encoders (and one layer's
attention alone) with static window / BigBird patterns built by
sparse_opt.models, compiled with sparse-opt-sparse-attention in the CPU
pipeline and compared with onnxruntime on the same inputs, on 1 and 2
threads; the rewritten IR holds no dense scores.

Tolerances as the model tests (test_onnx_frontend.py): rtol 1e-3, atol
1e-4 x max |expected|: the kernels sum in another order and use another exp
than onnxruntime.
"""

import subprocess

import numpy as np
import pytest

from sparse_opt import models
from sparse_opt._tools import find_executable
from sparse_opt.onnx_frontend import (assert_matches, compare_outputs,
                                      compile_onnx, import_onnx,
                                      run_onnxruntime)

pytest.importorskip("onnxruntime")

SMALL_BERT = dict(num_layers=2, hidden=64, heads=4, seq_len=64,
                  vocab_size=100, max_positions=64)
WINDOW = "window:4"
BIGBIRD = "bigbird:window=3,global=2,random=3"
BLOCK_BIGBIRD = "bigbird:block=8,window=1,global=1,random=1"
# The pass everywhere; min-parallel-work=0 so that these small calls run
# their rows on OpenMP threads too (they would run serially otherwise).
SPARSE = "sparse-attention-max-density=1 min-parallel-work=0"


def bert_inputs(model, batch, seq_len, vocab, padding=0.25, seed=0):
    """Token ids and types, and a padding mask hiding the last `padding`
    of the second sequence (the first is unpadded): with a window, the
    queries deep in the padding have no unpadded key in their window, the
    rows the kernel computes densely."""
    rng = np.random.default_rng(seed)
    names = [i.name for i in model.graph.input]
    inputs = {"input_ids": rng.integers(0, vocab, (batch, seq_len)),
              "token_type_ids": rng.integers(0, 2, (batch, seq_len))}
    if "attention_mask" in names:
        mask = np.ones((batch, seq_len), np.int64)
        mask[-1, seq_len - int(seq_len * padding):] = 0
        inputs["attention_mask"] = mask
    return {name: inputs[name] for name in names}


def tolerance(expected):
    scale = max(float(np.abs(v).max()) for v in expected.values())
    return dict(rtol=1e-3, atol=max(1e-5, 1e-4 * scale))


def check(tmp_path, model, inputs, pipeline_options=SPARSE, threads=(1, 2),
          dense_scores=None):
    """Compiles the model once, runs it on each thread count and compares
    with onnxruntime. With `dense_scores` (the shape text of the scores of
    all heads, e.g. "4x64x64"), first checks that the pipeline leaves no
    such buffer: the attention really ran sparse."""
    path = tmp_path / "model.onnx"
    models.save_model(model, path)
    if dense_scores:
        assert f"{dense_scores}xf32" not in sparse_ir(path, pipeline_options)
    expected = run_onnxruntime(path, inputs)
    with compile_onnx(path, tmp_path / "model.so",
                      pipeline_options=pipeline_options) as compiled:
        for count in threads:
            compiled.library.num_threads = count
            assert_matches(compare_outputs(compiled.run(inputs), expected,
                                           **tolerance(expected)))
    return path


@pytest.mark.parametrize("pattern", [WINDOW, BIGBIRD, BLOCK_BIGBIRD])
@pytest.mark.parametrize("mask", ["add", "where"])
def test_small_bert_with_padding(tmp_path, require_ops, pattern, mask):
    """The pattern combined with the padding mask (added, or And + Where),
    batch 2, the second sequence a quarter padding."""
    model = models.build_bert(**SMALL_BERT, batch=2, attention_mask=mask,
                              attention_pattern=pattern)
    require_ops(model)
    check(tmp_path, model, bert_inputs(model, 2, 64, 100),
          dense_scores="8x64x64")


@pytest.mark.parametrize("pattern", [WINDOW, BIGBIRD])
@pytest.mark.parametrize("form", ["add", "where"])
def test_small_bert_pattern_only(tmp_path, require_ops, pattern, form):
    model = models.build_bert(**SMALL_BERT, attention_mask=None,
                              attention_pattern=pattern, pattern_form=form)
    require_ops(model)
    check(tmp_path, model, bert_inputs(model, 1, 64, 100),
          dense_scores="4x64x64")


def test_small_bert_padding_and_pattern_in_other_forms(tmp_path, require_ops):
    """The padding mask added and the pattern applied by Where after it:
    two terms on the scores, not combined."""
    model = models.build_bert(**SMALL_BERT, batch=2, attention_mask="add",
                              attention_pattern=BIGBIRD, pattern_form="where")
    require_ops(model)
    check(tmp_path, model, bert_inputs(model, 2, 64, 100, padding=0.5),
          dense_scores="8x64x64")


def test_attention_alone_bert_base_heads(tmp_path, require_ops):
    """build_attention with BERT-base's 12 heads of 64 (the benchmark's
    model) at sequence 128: one vector row of Q per 8 lanes, the context in
    a full register tile."""
    model = models.build_attention(seq_len=128, heads=12, head_dim=64,
                                   attention_mask="add",
                                   attention_pattern="bigbird:window=8,"
                                                     "global=2,random=4")
    require_ops(model)
    rng = np.random.default_rng(1)
    inputs = {name: rng.standard_normal((1, 128, 768), dtype=np.float32)
              for name in ("query", "key", "value")}
    mask = np.ones((1, 128), np.int64)
    mask[:, 100:] = 0
    inputs["attention_mask"] = mask
    check(tmp_path, model, inputs, pipeline_options="",
          dense_scores="12x128x128")


def test_dense_patterns_stay_dense(tmp_path, require_ops):
    """The default max-density (0.5): a window covering nearly every key is
    computed densely, and right."""
    model = models.build_bert(**SMALL_BERT, attention_pattern="window:48")
    require_ops(model)
    path = tmp_path / "model.onnx"
    models.save_model(model, path)
    assert "4x64x64xf32" in sparse_ir(path, "")
    check(tmp_path, model, bert_inputs(model, 1, 64, 100),
          pipeline_options="", threads=(1,))


def sparse_ir(model_path, pipeline_options):
    """The model after sparse-opt-cpu-bufferize (bufferized loops)."""
    text = import_onnx(model_path)
    done = subprocess.run(
        [str(find_executable("sparse-opt")),
         f"--sparse-opt-cpu-bufferize={pipeline_options}", "-"],
        input=text, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_no_dense_scores_left(tmp_path, require_ops):
    """In the pipeline (sparse-opt-cpu-bufferize, default options: the
    patterns are sparse enough), no buffer of dense scores [heads, seq, seq]
    remains; without the pass (sparse-attention=false) the dense products
    make them."""
    model = models.build_bert(**SMALL_BERT, attention_pattern=BIGBIRD)
    require_ops(model)
    path = tmp_path / "model.onnx"
    models.save_model(model, path)
    dense = sparse_ir(path, "sparse-attention=false")
    sparse = sparse_ir(path, "")
    assert "4x64x64xf32" in dense
    assert "4x64x64xf32" not in sparse
    # The mask's pattern as constants: its positions (65 of them, i32).
    assert "memref<65xi32>" in sparse
