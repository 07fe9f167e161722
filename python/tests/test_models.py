"""The ONNX model builders (sparse_opt.models) and their command line: valid
models (onnx.checker) that onnxruntime runs with the expected output shapes,
the torchvision / BERT topology and parameter counts, reproducible weights,
external data."""

import subprocess
import sys

import numpy as np
import onnx
import pytest

onnxruntime = pytest.importorskip("onnxruntime")

from layout import REPOSITORY  # noqa: E402
from sparse_opt import models  # noqa: E402
from sparse_opt.models.mobilenet import make_divisible  # noqa: E402


def run(model, feeds):
    session = onnxruntime.InferenceSession(
        model.SerializeToString(), providers=["CPUExecutionProvider"])
    return session.run(None, feeds)


def check(model):
    onnx.checker.check_model(model, full_check=True)
    assert model.opset_import[0].version == models.OPSET == 17


def parameters(model):
    """Trainable parameters and statistics: the initializers named as
    torch names them (not the builders' shape and scalar constants)."""
    return sum(int(np.prod(t.dims)) for t in model.graph.initializer
               if t.name.endswith(("weight", "bias", "embeddings",
                                   "running_mean", "running_var")))


def attribute(node, name):
    return next(onnx.helper.get_attribute_value(a) for a in node.attribute
                if a.name == name)


def op_counts(model):
    counts = {}
    for node in model.graph.node:
        counts[node.op_type] = counts.get(node.op_type, 0) + 1
    return counts


@pytest.mark.parametrize("linear", ["gemm", "matmul"])
@pytest.mark.parametrize("activation", ["relu", "sigmoid", "tanh"])
def test_mlp(linear, activation):
    model = models.build_mlp(in_features=20, hidden=(30, 40), out_features=5,
                             batch=3, linear=linear, activation=activation)
    check(model)
    x = np.random.default_rng(0).standard_normal((3, 20), dtype=np.float32)
    (logits,) = run(model, {"input": x})
    assert logits.shape == (3, 5)
    # The same network in numpy, from the initializers.
    weights = {t.name: onnx.numpy_helper.to_array(t)
               for t in model.graph.initializer}
    act = {"relu": lambda v: np.maximum(v, 0), "sigmoid":
           lambda v: 1 / (1 + np.exp(-v)), "tanh": np.tanh}[activation]
    y = x.astype(np.float64)
    for layer in (1, 2, 3):
        w = weights[f"fc{layer}/weight"]
        y = y @ (w.T if linear == "gemm" else w) + weights[f"fc{layer}/bias"]
        y = act(y) if layer < 3 else y
    np.testing.assert_allclose(logits, y, rtol=1e-4, atol=1e-5)
    assert op_counts(model).get("Gemm" if linear == "gemm" else "MatMul") == 3


def test_resnet50_topology():
    model = models.build_resnet50(image_size=64)
    check(model)
    counts = op_counts(model)
    # 1 stem + 16 blocks x 3 + 4 downsample convolutions, each with its BN.
    assert counts["Conv"] == counts["BatchNormalization"] == 53
    assert counts["Add"] == 16 and counts["MaxPool"] == 1
    assert counts["GlobalAveragePool"] == counts["Gemm"] == 1
    # torchvision's resnet50 has 25,557,032 parameters, plus 2 x 26,560
    # running statistics of its BatchNorms.
    assert parameters(model) == 25_557_032 + 2 * 26_560
    x = np.random.default_rng(0).standard_normal((1, 3, 64, 64),
                                                 dtype=np.float32)
    (logits,) = run(model, {"input": x})
    assert logits.shape == (1, 1000) and np.all(np.isfinite(logits))


def test_small_resnet_variant():
    model = models.build_resnet50(batch=2, image_size=(32, 48), layers=(1, 1,
                                  1, 1), base_width=8, num_classes=7)
    check(model)
    x = np.ones((2, 3, 32, 48), dtype=np.float32)
    assert run(model, {"input": x})[0].shape == (2, 7)


def test_mobilenet_v2_topology():
    model = models.build_mobilenet_v2(image_size=64)
    check(model)
    counts = op_counts(model)
    # 17 inverted residual blocks (16 with an expansion conv), 10 of them
    # with a residual Add; 52 convolutions; ReLU6 as Clip.
    assert counts["Conv"] == counts["BatchNormalization"] == 52
    assert counts["Add"] == 10 and counts["Clip"] == 35
    depthwise = [n for n in model.graph.node if n.op_type == "Conv" and
                 attribute(n, "group") > 1]
    assert len(depthwise) == 17
    # torchvision's mobilenet_v2: 3,504,872 parameters + 2 x 17,056 stats.
    assert parameters(model) == 3_504_872 + 2 * 17_056
    x = np.random.default_rng(0).standard_normal((1, 3, 64, 64),
                                                 dtype=np.float32)
    (logits,) = run(model, {"input": x})
    assert logits.shape == (1, 1000) and np.all(np.isfinite(logits))


def test_mobilenet_width_multiplier():
    assert make_divisible(32 * 0.35) == 16 and make_divisible(1280) == 1280
    model = models.build_mobilenet_v2(width_mult=0.5, image_size=32,
                                      num_classes=10)
    check(model)
    assert run(model, {"input": np.ones((1, 3, 32, 32), np.float32)}
               )[0].shape == (1, 10)


def bert_feeds(model, batch, seq, vocab, seed=0):
    rng = np.random.default_rng(seed)
    feeds = {"input_ids": rng.integers(0, vocab, (batch, seq))}
    names = [i.name for i in model.graph.input]
    if "attention_mask" in names:
        mask = np.ones((batch, seq), dtype=np.int64)
        mask[:, seq - 3:] = 0
        feeds["attention_mask"] = mask
    if "token_type_ids" in names:
        feeds["token_type_ids"] = rng.integers(0, 2, (batch, seq))
    return feeds


TINY_BERT = dict(num_layers=2, hidden=64, heads=4, seq_len=16, vocab_size=500,
                 max_positions=64)


@pytest.mark.parametrize("variant", [
    {}, {"layer_norm": "decomposed"}, {"attention_mask": "where"},
    {"attention_mask": None, "token_type_ids": False},
    {"shape_ops": "dynamic"}])
def test_tiny_bert_variants_agree(variant):
    """Every variant computes the same function as the default (same seed,
    same weights): the decomposed LayerNorm, Where mask and Shape-built
    Reshape targets are only other spellings."""
    reference = models.build_bert(batch=2, **TINY_BERT)
    model = models.build_bert(batch=2, **TINY_BERT, **variant)
    check(model)
    feeds = bert_feeds(model, 2, 16, 500)
    (hidden,) = run(model, feeds)
    assert hidden.shape == (2, 16, 64)
    if variant.get("attention_mask", "add") is None:
        feeds_ref = bert_feeds(reference, 2, 16, 500)
        feeds_ref["attention_mask"][:] = 1
        feeds_ref["token_type_ids"][:] = 0
    else:
        feeds_ref = bert_feeds(reference, 2, 16, 500)
    (expected,) = run(reference, feeds_ref)
    np.testing.assert_allclose(hidden, expected, rtol=1e-4, atol=1e-4)


def test_bert_mask_hides_padding():
    model = models.build_bert(**TINY_BERT)
    feeds = bert_feeds(model, 1, 16, 500)
    (first,) = run(model, feeds)
    feeds["input_ids"] = feeds["input_ids"].copy()
    feeds["input_ids"][0, -1] = (feeds["input_ids"][0, -1] + 1) % 500
    (second,) = run(model, feeds)
    # Unmasked positions do not see the masked token.
    np.testing.assert_allclose(first[0, :-3], second[0, :-3], rtol=1e-5,
                               atol=1e-5)
    assert not np.allclose(first[0, -1], second[0, -1])


def test_attention_patterns():
    window = models.attention_pattern("window:2", 16)
    i, j = np.indices((16, 16))
    np.testing.assert_array_equal(window, np.abs(i - j) <= 2)
    bigbird = models.attention_pattern("bigbird:window=1,global=2,random=3",
                                       32, seed=5)
    assert bigbird[:2].all() and bigbird[:, :2].all()
    band = np.abs(np.subtract.outer(np.arange(32), np.arange(32))) <= 1
    assert (bigbird[band]).all()
    # Three random keys per non-global query beyond its window and the
    # global ones.
    extra = bigbird & ~band
    extra[:, :2] = False
    assert (extra[2:].sum(axis=1) == 3).all()
    # Deterministic in the seed, another seed another draw.
    np.testing.assert_array_equal(
        bigbird, models.attention_pattern("bigbird:window=1,global=2,random=3",
                                          32, seed=5))
    assert (bigbird != models.attention_pattern(
        "bigbird:window=1,global=2,random=3", 32, seed=6)).any()
    # Blocks: the block pattern, each allowed block a square.
    blocks = models.attention_pattern("bigbird:block=4,window=1,global=1", 32)
    coarse = models.attention_pattern("bigbird:window=1,global=1", 8)
    np.testing.assert_array_equal(blocks, np.kron(coarse, np.ones((4, 4))))


@pytest.mark.parametrize("spec, message", [
    ("window", "expected 'window:W'"), ("dilated:3", "unknown kind"),
    ("window:-1", "window must be a non-negative integer"),
    ("bigbird:window=1,stride=2", "KEY one of window, global"),
    ("bigbird:block=3,window=1", "not a multiple of block 3"),
    ("bigbird:global=9", "9 global blocks of 8"),
])
def test_attention_pattern_errors(spec, message):
    with pytest.raises(ValueError, match=message):
        models.attention_pattern(spec, 8)


PATTERN = "bigbird:window=2,global=1,random=2"


@pytest.mark.parametrize("variant", [
    {}, {"attention_mask": "where"}, {"pattern_form": "where"},
    {"attention_mask": "where", "pattern_form": "add"},
    {"attention_mask": None}, {"attention_mask": None,
                               "pattern_form": "where"}])
def test_bert_attention_pattern_forms_agree(variant):
    """The pattern's forms (added or Where, combined with the padding mask
    or applied after it) compute the same function, and the pattern only
    adds an initializer: every weight is the unpatterned model's."""
    plain = models.build_bert(batch=2, **TINY_BERT)
    reference = models.build_bert(batch=2, attention_pattern=PATTERN,
                                  **TINY_BERT)
    model = models.build_bert(batch=2, attention_pattern=PATTERN,
                              **TINY_BERT, **variant)
    check(model)
    weights = {t.name: t.raw_data for t in plain.graph.initializer}
    assert all(weights[t.name] == t.raw_data for t in model.graph.initializer
               if t.name.endswith(("weight", "bias", "embeddings"))
               and "attention_pattern" not in t.name)
    pattern = [t for t in model.graph.initializer
               if t.name.startswith("attention_pattern/")
               and list(t.dims) == [16, 16]]
    assert len(pattern) == 1
    feeds = bert_feeds(reference, 2, 16, 500)
    if variant.get("attention_mask", "add") is None:
        feeds["attention_mask"][:] = 1
    (expected,) = run(reference, feeds)
    if variant.get("attention_mask", "add") is None:
        del feeds["attention_mask"]
    (hidden,) = run(model, feeds)
    np.testing.assert_allclose(hidden, expected, rtol=1e-4, atol=1e-4)


def test_bert_attention_pattern_hides_keys():
    """With one layer, a query sees only the keys its window allows."""
    model = models.build_bert(**dict(TINY_BERT, num_layers=1),
                              attention_pattern="window:2")
    feeds = bert_feeds(model, 1, 16, 500)
    feeds["attention_mask"][:] = 1
    (first,) = run(model, feeds)
    feeds["input_ids"] = feeds["input_ids"].copy()
    feeds["input_ids"][0, 15] = (feeds["input_ids"][0, 15] + 1) % 500
    (second,) = run(model, feeds)
    np.testing.assert_allclose(first[0, :13], second[0, :13], rtol=1e-5,
                               atol=1e-5)
    assert not np.allclose(first[0, 13:], second[0, 13:])
    with pytest.raises(ValueError, match="pattern_form needs"):
        models.build_bert(pattern_form="add")


def test_bert_base_shape_and_size():
    model = models.build_bert()
    onnx.checker.check_model(model)  # full_check copies 440 MB; skip it
    counts = op_counts(model)
    assert counts["LayerNormalization"] == 25 and counts["Softmax"] == 12
    assert counts["Erf"] == 12 and counts["MatMul"] == 12 * 8
    # BertModel without the pooler: 109,482,240 - 768 x 768 - 768.
    assert parameters(model) == 109_482_240 - 768 * 768 - 768
    names = [(i.name, [d.dim_value for d in i.type.tensor_type.shape.dim])
             for i in model.graph.input]
    assert names == [("input_ids", [1, 128]), ("attention_mask", [1, 128]),
                     ("token_type_ids", [1, 128])]


def test_seed_fixes_the_weights():
    a = models.build_mlp(seed=3)
    b = models.build_mlp(seed=3)
    c = models.build_mlp(seed=4)
    assert a.SerializeToString() == b.SerializeToString()
    assert a.graph.initializer[0].raw_data != c.graph.initializer[0].raw_data


def test_bad_builder_arguments():
    with pytest.raises(ValueError, match="multiple of heads"):
        models.build_bert(hidden=100, heads=12)
    with pytest.raises(ValueError, match="layer_norm must be one of"):
        models.build_bert(layer_norm="rms")
    with pytest.raises(ValueError, match="4 positive block counts"):
        models.build_resnet50(layers=(1, 2))
    with pytest.raises(ValueError, match="linear must be"):
        models.build_mlp(linear="conv")


def cli(*arguments):
    return subprocess.run([sys.executable, "-m", "sparse_opt.models",
                           *map(str, arguments)], capture_output=True,
                          text=True, cwd=REPOSITORY / "python")


def test_cli_inline_and_external_data(tmp_path):
    inline, external = tmp_path / "inline.onnx", tmp_path / "external.onnx"
    options = ["--num-layers", 1, "--hidden-size", 32, "--heads", 2,
               "--seq-len", 8, "--vocab-size", 50]
    done = cli("bert", "-o", inline, *options)
    assert done.returncode == 0, done.stderr
    assert "parameters" in done.stdout
    done = cli("bert", "-o", external, "--external-data", *options)
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "external.onnx.data").stat().st_size > 0
    assert external.stat().st_size < inline.stat().st_size / 4
    a, b = onnx.load(inline), onnx.load(external)
    for x, y in zip(a.graph.initializer, b.graph.initializer):
        np.testing.assert_array_equal(onnx.numpy_helper.to_array(x),
                                      onnx.numpy_helper.to_array(y))
    # Writing again replaces the data file instead of appending to it.
    size = (tmp_path / "external.onnx.data").stat().st_size
    assert cli("bert", "-o", external, "--external-data", "--force",
               *options).returncode == 0
    assert (tmp_path / "external.onnx.data").stat().st_size == size
    onnx.checker.check_model(str(external))


def test_cli_dynamic_batch(tmp_path):
    path = tmp_path / "mlp.onnx"
    assert cli("mlp", "-o", path, "--batch", "N").returncode == 0
    dim = onnx.load(path).graph.input[0].type.tensor_type.shape.dim[0]
    assert dim.dim_param == "N"
    session = onnxruntime.InferenceSession(str(path),
                                           providers=["CPUExecutionProvider"])
    assert session.run(None, {"input": np.ones((5, 256), np.float32)}
                       )[0].shape == (5, 10)


@pytest.mark.parametrize("arguments,message", [
    (["mlp", "--heads", "2"], "--heads does not apply to mlp"),
    (["resnet50", "--image-size", "1x2x3"], "--image-size is H or HxW"),
    (["bert", "--batch", "0"], "expected a positive integer"),
    (["vgg"], "invalid choice"),
    (["bert", "--hidden-size", "100"], "multiple of heads"),
    (["bert", "--attention-pattern", "window:x"], "window must be a"),
    (["mlp", "--attention-pattern", "window:2"],
     "--attention-pattern does not apply to mlp"),
])
def test_cli_errors(tmp_path, arguments, message):
    output = tmp_path / "m.onnx"
    done = cli(*arguments, "-o", output)
    assert done.returncode == 2 and message in done.stderr
    assert not output.exists()


def test_cli_refuses_to_overwrite(tmp_path):
    output = tmp_path / "m.onnx"
    output.write_text("precious")
    done = cli("mlp", "-o", output)
    assert done.returncode == 2 and "pass --force" in done.stderr
    assert output.read_text() == "precious"
    # The external data file is not overwritten unasked either.
    data = tmp_path / "n.onnx.data"
    data.write_text("mine")
    done = cli("mlp", "-o", tmp_path / "n.onnx", "--external-data")
    assert done.returncode == 2 and "n.onnx.data exists" in done.stderr
    assert data.read_text() == "mine"
    assert not (tmp_path / "n.onnx").exists()
