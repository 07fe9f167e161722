"""A BERT encoder as Hugging Face's BertModel exports to ONNX (opset 17):
word + position + token type embeddings (Gather), LayerNormalization, and
per layer: Q/K/V as MatMul + Add, Reshape / Transpose into heads, scaled
Q K^T, the attention mask added (or applied with Where), optionally a static
sparse attention pattern (window, BigBird) as a constant mask on the
scores, Softmax, context, output projection, residual + LayerNormalization,
FFN with Gelu in its Erf form, residual + LayerNormalization."""

from __future__ import annotations

import math

import numpy as np
import onnx
from onnx import TensorProto

from ._graph import FLOAT, INT64, GraphBuilder
from .attention_patterns import attention_pattern as make_attention_pattern


def build_bert(*, num_layers: int = 12, hidden: int = 768, heads: int = 12,
               intermediate: int | None = None, seq_len: int = 128,
               batch: int | str = 1, vocab_size: int = 30522,
               max_positions: int = 512, type_vocab_size: int = 2,
               layer_norm: str = "fused", attention_mask: str | None = "add",
               token_type_ids: bool = True, shape_ops: str = "static",
               attention_pattern: str | None = None,
               pattern_form: str | None = None,
               seed: int = 0) -> onnx.ModelProto:
    """BERT-base by default (12 layers, hidden 768, 12 heads, FFN 3072,
    sequence 128; 109 M parameters).

    Inputs (int64, [batch, seq_len]): ``input_ids``, then
    ``attention_mask`` (1 = attend, 0 = padding) unless ``attention_mask``
    is None, then ``token_type_ids`` if ``token_type_ids`` (else every
    token is of type 0, as Hugging Face's default). Output
    ``last_hidden_state`` [batch, seq_len, hidden] float32.

    ``intermediate`` defaults to 4 x hidden. ``layer_norm``: ``"fused"``
    (LayerNormalization, opset 17) or ``"decomposed"`` (ReduceMean, Sub, Pow,
    Add, Sqrt, Div, Mul, Add, as exporters targeting older opsets write it).
    ``attention_mask``: ``"add"`` ((1 - mask) * -10000 added to the scores,
    the classic export), ``"where"`` (Where(mask, scores, float32 min), as
    newer exports write it) or None (no mask input). ``shape_ops``:
    ``"static"`` (Reshape targets are constants) or ``"dynamic"`` (built
    from Shape / Gather / Unsqueeze / Concat of the activation, as the
    tracing exporter writes them).

    ``attention_pattern``: a static sparse pattern of the keys each query
    attends (``"window:W"``, ``"bigbird:window=W,global=G,random=R"``,
    ...; see attention_patterns.py, random keys fixed by ``seed``), stored
    as a constant initializer on the scores [seq_len, seq_len] and applied
    like the padding mask: ``pattern_form`` ``"add"`` (0 where allowed,
    -10000 elsewhere, added) or ``"where"`` (a bool constant for Where with
    float32 min); it defaults to the padding mask's form (``"add"`` without
    one). With a padding mask of the same form the two are combined once,
    as exporters build the extended mask, into a [batch, 1, seq, seq] term
    (Add of the two, or And) that every layer applies; with a padding mask
    of the other form each layer applies both, the padding mask first."""
    intermediate = intermediate or 4 * hidden
    if hidden % heads:
        raise ValueError(f"hidden ({hidden}) must be a multiple of heads "
                         f"({heads})")
    if seq_len > max_positions:
        raise ValueError(f"seq_len {seq_len} exceeds max_positions "
                         f"{max_positions}")
    _check_choices(layer_norm=(layer_norm, ("fused", "decomposed")),
                   shape_ops=(shape_ops, ("static", "dynamic")))
    _check_masks(attention_mask, attention_pattern, pattern_form)
    head_dim = hidden // heads
    g = GraphBuilder("bert", seed)

    ids = g.input("input_ids", INT64, [batch, seq_len])
    mask = (g.input("attention_mask", INT64, [batch, seq_len])
            if attention_mask else None)
    types = (g.input("token_type_ids", INT64, [batch, seq_len])
             if token_type_ids else None)

    def layer_norm_(x, name):
        with g.scope(name):
            gamma = g.uniform("weight", hidden, 0.8, 1.2)
            beta = g.uniform("bias", hidden, -0.1, 0.1)
        if layer_norm == "fused":
            return g.node("LayerNormalization", [x, gamma, beta], name=name,
                          axis=-1, epsilon=1e-12)
        with g.scope(name):
            mean = g.node("ReduceMean", [x], axes=[-1], keepdims=1)
            centered = g.node("Sub", [x, mean])
            two = g.constant("two", np.array(2.0, dtype=np.float32))
            variance = g.node("ReduceMean", [g.node("Pow", [centered, two])],
                              axes=[-1], keepdims=1)
            epsilon = g.constant("epsilon", np.array(1e-12, dtype=np.float32))
            deviation = g.node("Sqrt", [g.node("Add", [variance, epsilon])])
            normalized = g.node("Div", [centered, deviation])
            return g.node("Add", [g.node("Mul", [normalized, gamma]), beta])

    def reshape_target(x, tail):
        """[batch, seq, *tail] for Reshape of ``x`` ([batch, seq, ...])."""
        if shape_ops == "static":
            first = batch if isinstance(batch, int) else -1
            return g.constant("shape", np.array([first, seq_len, *tail],
                                                dtype=np.int64))
        shape = g.node("Shape", [x])
        dims = []
        for axis in (0, 1):
            index = g.constant(f"index{axis}", np.array(axis, dtype=np.int64))
            dim = g.node("Gather", [shape, index], axis=0)
            axes = g.constant("axes", np.array([0], dtype=np.int64))
            dims.append(g.node("Unsqueeze", [dim, axes]))
        rest = g.constant("tail", np.array(tail, dtype=np.int64))
        return g.node("Concat", [*dims, rest], axis=0)

    # Embeddings (BERT's initializer range: N(0, 0.02)).
    with g.scope("embeddings"):
        words = g.weight("word_embeddings", (vocab_size, hidden), 1,
                         gain=0.02 ** 2)
        positions = g.weight("position_embeddings", (max_positions, hidden),
                             1, gain=0.02 ** 2)
        position_ids = g.constant("position_ids", np.arange(
            seq_len, dtype=np.int64)[None, :])
        x = g.node("Gather", [words, ids], name="word", axis=0)
        x = g.node("Add", [x, g.node("Gather", [positions, position_ids],
                                     name="position", axis=0)])
        type_table = g.weight("token_type_embeddings",
                              (type_vocab_size, hidden), 1, gain=0.02 ** 2)
        if types is None:
            # Hugging Face's buffered default: every token of type 0.
            types = g.constant("token_type_ids", np.zeros(
                (1, seq_len), dtype=np.int64))
        x = g.node("Add", [x, g.node("Gather", [type_table, types],
                                     name="token_type", axis=0)])
        x = layer_norm_(x, "LayerNorm")

    masks = _Masks(g, mask, attention_mask, attention_pattern, pattern_form,
                   seq_len, seed)

    for layer in range(num_layers):
        with g.scope(f"encoder.layer.{layer}"):
            with g.scope("attention"):
                def heads_of(name, permutation):
                    y = g.linear_matmul(x, hidden, hidden, name=name)
                    y = g.node("Reshape", [y, reshape_target(
                        y, [heads, head_dim])], name=f"{name}/Reshape")
                    return g.node("Transpose", [y], name=f"{name}/Transpose",
                                  perm=permutation)
                query = heads_of("query", [0, 2, 1, 3])
                key = heads_of("key", [0, 2, 3, 1])
                value = heads_of("value", [0, 2, 1, 3])
                context = masks.attend(query, key, value, head_dim)
                context = g.node("Transpose", [context],
                                 name="context/Transpose", perm=[0, 2, 1, 3])
                context = g.node("Reshape", [context, reshape_target(
                    context, [hidden])], name="context/Reshape")
                y = g.linear_matmul(context, hidden, hidden,
                                    name="output.dense")
                x = layer_norm_(g.node("Add", [y, x], name="residual"),
                                "output.LayerNorm")
            with g.scope("intermediate"):
                y = g.linear_matmul(x, hidden, intermediate, name="dense")
                y = _gelu_erf(g, y)
            with g.scope("output"):
                y = g.linear_matmul(y, intermediate, hidden, name="dense")
                x = layer_norm_(g.node("Add", [y, x], name="residual"),
                                "LayerNorm")
    g.output(x, "last_hidden_state", FLOAT, [batch, seq_len, hidden])
    return g.model(f"BERT encoder: {num_layers} layers, hidden {hidden}, "
                   f"{heads} heads, FFN {intermediate}, sequence {seq_len}")


def _check_choices(**options):
    """ValueError unless each option's value is one of its choices:
    ``name=(value, choices)``."""
    for option, (value, allowed) in options.items():
        if value not in allowed:
            raise ValueError(f"{option} must be one of {allowed}, not "
                             f"{value!r}")


def _check_masks(attention_mask, attention_pattern, pattern_form):
    _check_choices(attention_mask=(attention_mask, ("add", "where", None)),
                   pattern_form=(pattern_form, ("add", "where", None)))
    if pattern_form is not None and attention_pattern is None:
        raise ValueError("pattern_form needs an attention_pattern")


class _Masks:
    """The masks on the attention scores, built once and applied by every
    layer: the padding mask's term [batch, 1, 1, seq] and the static
    pattern's [seq, seq], combined once when both have the same form (as
    exporters build the extended attention mask)."""

    def __init__(self, g: GraphBuilder, mask: str | None,
                 attention_mask: str | None, attention_pattern: str | None,
                 pattern_form: str | None, seq_len: int, seed: int):
        self.g = g
        self.term = self.lowest = self.pattern_term = None
        self.form = attention_mask  # how each layer applies self.term
        if mask is not None:
            with g.scope("extended_attention_mask"):
                axes = g.constant("axes", np.array([1, 2], dtype=np.int64))
                expanded = g.node("Unsqueeze", [mask, axes])
                if attention_mask == "add":
                    as_float = g.node("Cast", [expanded], to=TensorProto.FLOAT)
                    one = g.constant("one", np.array(1.0, dtype=np.float32))
                    big = g.constant("min", np.array(-10000.0,
                                                     dtype=np.float32))
                    self.term = g.node("Mul", [g.node("Sub", [one, as_float]),
                                               big])
                else:
                    self.term = g.node("Cast", [expanded], to=TensorProto.BOOL)
                    self.lowest = self._lowest()
        if attention_pattern is None:
            return
        # Drawn from a stream of its own: the weights stay those of `seed`.
        pattern = make_attention_pattern(attention_pattern, seq_len, seed)
        self.pattern_form = pattern_form or (attention_mask or "add")
        with g.scope("attention_pattern"):
            if self.pattern_form == "add":
                term = g.constant("bias", np.where(pattern, 0.0, -10000.0)
                                  .astype(np.float32))
            else:
                term = g.constant("allowed", pattern)
                if self.lowest is None:
                    self.lowest = self._lowest()
            if self.term is not None and self.pattern_form == attention_mask:
                self.term = g.node("Add" if self.pattern_form == "add"
                                   else "And", [self.term, term],
                                   name="combined")
            elif self.term is None:
                self.term, self.form = term, self.pattern_form
            else:
                self.pattern_term = term

    def _lowest(self) -> str:
        return self.g.constant("min", np.array(np.finfo(np.float32).min,
                                               dtype=np.float32))

    def _apply(self, scores: str, term: str, form: str, name: str) -> str:
        if form == "add":
            return self.g.node("Add", [scores, term], name=name)
        return self.g.node("Where", [term, scores, self.lowest], name=name)

    def attend(self, query: str, key: str, value: str, head_dim: int) -> str:
        """softmax(Q K^T / sqrt(d) + masks) V for Q, V [batch, heads, seq,
        d] and K^T [batch, heads, d, seq]: the context [batch, heads, seq,
        d]."""
        g = self.g
        scores = g.node("MatMul", [query, key], name="scores")
        scale = g.constant("sqrt_head_dim", np.array(math.sqrt(head_dim),
                                                     dtype=np.float32))
        scores = g.node("Div", [scores, scale], name="scaled")
        if self.term is not None:
            scores = self._apply(scores, self.term, self.form, "masked")
        if self.pattern_term is not None:
            scores = self._apply(scores, self.pattern_term, self.pattern_form,
                                 "patterned")
        probs = g.node("Softmax", [scores], name="softmax", axis=-1)
        return g.node("MatMul", [probs, value], name="context")


def build_attention(*, seq_len: int = 512, heads: int = 12,
                    head_dim: int = 64, batch: int = 1,
                    attention_mask: str | None = None,
                    attention_pattern: str | None = None,
                    pattern_form: str | None = None,
                    seed: int = 0) -> onnx.ModelProto:
    """The attention of one build_bert layer without its projections:
    inputs ``query``, ``key``, ``value`` [batch, seq_len, heads x head_dim]
    float32 (what the Q / K / V projections give), then ``attention_mask``
    (int64 [batch, seq_len], unless None), the heads split by Reshape and
    Transpose, scaled Q K^T, the masks and pattern as in build_bert,
    Softmax, times V, heads merged: output ``output`` [batch, seq_len,
    heads x head_dim]. For benchmarks and tests of attention alone."""
    _check_masks(attention_mask, attention_pattern, pattern_form)
    hidden = heads * head_dim
    g = GraphBuilder("attention", seed)
    inputs = [g.input(name, FLOAT, [batch, seq_len, hidden])
              for name in ("query", "key", "value")]
    mask = (g.input("attention_mask", INT64, [batch, seq_len])
            if attention_mask else None)
    masks = _Masks(g, mask, attention_mask, attention_pattern, pattern_form,
                   seq_len, seed)
    shape = g.constant("shape", np.array([batch, seq_len, heads, head_dim],
                                         dtype=np.int64))
    query, key, value = (
        g.node("Transpose", [g.node("Reshape", [x, shape], name=f"{n}/Reshape")],
               name=f"{n}/Transpose", perm=perm)
        for x, n, perm in zip(inputs, ("query", "key", "value"),
                              ([0, 2, 1, 3], [0, 2, 3, 1], [0, 2, 1, 3])))
    context = masks.attend(query, key, value, head_dim)
    context = g.node("Transpose", [context], name="context/Transpose",
                     perm=[0, 2, 1, 3])
    merged = g.constant("merged", np.array([batch, seq_len, hidden],
                                           dtype=np.int64))
    context = g.node("Reshape", [context, merged], name="context/Reshape")
    g.output(context, "output", FLOAT, [batch, seq_len, hidden])
    return g.model(f"attention: {heads} heads of {head_dim}, sequence "
                   f"{seq_len}" + (f", pattern {attention_pattern}"
                                   if attention_pattern else ""))


def _gelu_erf(g: GraphBuilder, x: str) -> str:
    """x * 0.5 * (1 + erf(x / sqrt(2))): torch's exact Gelu below opset 20."""
    with g.scope("gelu"):
        root2 = g.constant("sqrt2", np.array(math.sqrt(2.0), dtype=np.float32))
        one = g.constant("one", np.array(1.0, dtype=np.float32))
        half = g.constant("half", np.array(0.5, dtype=np.float32))
        erf = g.node("Erf", [g.node("Div", [x, root2])])
        y = g.node("Mul", [x, g.node("Add", [erf, one])])
        return g.node("Mul", [y, half])
