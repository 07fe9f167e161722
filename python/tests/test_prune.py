"""sparse_opt.prune: target sparsity reached, N:M and block structure, layer
vs global scope, which weights are found (and in which orientation), the
command line's refusals and errors."""

import subprocess
import sys

import numpy as np
import onnx
import pytest
from onnx import helper, numpy_helper

from layout import REPOSITORY
from sparse_opt import models, prune


def weights_of(model):
    return {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}


def matrix(weight, transposed):
    return weight.T if transposed else weight.reshape(weight.shape[0], -1)


def sparsity(array):
    return np.count_nonzero(array == 0) / array.size


def small_resnet():
    return models.build_resnet50(image_size=32, layers=(1, 1, 1, 1),
                                 base_width=8, num_classes=16)


def test_finds_matmul_gemm_conv_weights_and_orientation():
    g = models._graph.GraphBuilder("t", 0)
    x = g.input("x", models._graph.FLOAT, [2, 8])
    b = g.weight("b", (8, 12), 8)             # MatMul(x, B): W = B^T
    y = g.node("MatMul", [x, b], name="mm")
    a = g.weight("a", (6, 2), 2)              # MatMul(A, y): W = A
    y = g.node("MatMul", [a, y], name="left")
    c = g.weight("c", (4, 12), 12)            # Gemm transB=1: W = B
    y = g.node("Gemm", [y, c], name="gemm_t", transB=1)
    d = g.weight("d", (4, 4), 4)              # Gemm transB=0: W = B^T
    e = g.uniform("bias", 4, 0, 1)            # Gemm C: not a weight
    y = g.node("Gemm", [y, d, e], name="gemm")
    g.output(y, "y", models._graph.FLOAT, [6, 4])
    found = {w.name: (w.op, w.transposed, w.skipped)
             for w in prune.find_weights(g.model())}
    assert found == {"b": ("MatMul", True, None), "a": ("MatMul", False, None),
                     "c": ("Gemm", False, None), "d": ("Gemm", True, None)}


def test_shared_weight_is_skipped():
    g = models._graph.GraphBuilder("t", 0)
    x = g.input("x", models._graph.FLOAT, [4, 4])
    w = g.weight("w", (4, 4), 4)
    y = g.node("MatMul", [x, w], name="mm")
    y = g.node("Add", [y, w], name="add")
    g.output(y, "y", models._graph.FLOAT, [4, 4])
    (weight,) = prune.find_weights(g.model())
    assert weight.skipped == "also used by add (Add)"


@pytest.mark.parametrize("target", [0.0, 0.5, 0.9, 0.97])
def test_magnitude_per_layer(target):
    model = small_resnet()
    before = weights_of(model)
    report = prune.prune_model(model, sparsity=target)
    after = weights_of(model)
    assert report and all(not w.skipped for w in report)
    for w in report:
        size = after[w.name].size
        assert np.count_nonzero(after[w.name] == 0) == round(target * size)
        assert w.sparsity_after == sparsity(after[w.name])
        # The kept values are the largest magnitudes, unchanged.
        kept = after[w.name] != 0
        np.testing.assert_array_equal(after[w.name][kept],
                                      before[w.name][kept])
        if kept.any() and not kept.all():
            assert (np.abs(before[w.name][~kept]).max()
                    <= np.abs(before[w.name][kept]).min())
    # Other initializers (BN statistics, biases) are left alone.
    for name, value in before.items():
        if name not in {w.name for w in report}:
            np.testing.assert_array_equal(after[name], value)


def test_magnitude_global_uses_one_threshold():
    model = small_resnet()
    before = weights_of(model)
    report = prune.prune_model(model, sparsity=0.8, scope="global")
    after = weights_of(model)
    names = [w.name for w in report]
    total = sum(after[n].size for n in names)
    zeros = sum(np.count_nonzero(after[n] == 0) for n in names)
    assert zeros == round(0.8 * total)
    threshold = max(np.abs(before[n][after[n] == 0]).max() for n in names)
    assert all(np.abs(after[n][after[n] != 0]).min() >= threshold
               for n in names)
    # Layers end up with different sparsities (He init: wide layers have
    # smaller weights), unlike per-layer pruning.
    spread = [w.sparsity_after for w in report]
    assert max(spread) - min(spread) > 0.1


@pytest.mark.parametrize("n,m", [(2, 4), (1, 4), (2, 8), (4, 8), (1, 2)])
def test_n_m_along_the_reduction_dimension(n, m):
    model = small_resnet()
    before = weights_of(model)
    report = prune.prune_model(model, method="nm", nm=(n, m))
    after = weights_of(model)
    pruned = [w for w in report if not w.skipped]
    assert pruned
    for w in report:
        reduction = matrix(before[w.name], w.transposed).shape[1]
        if w.skipped:
            assert reduction % m and "not a multiple" in w.skipped
            np.testing.assert_array_equal(after[w.name], before[w.name])
            continue
        groups = matrix(after[w.name], w.transposed).reshape(-1, m)
        assert np.all(np.count_nonzero(groups, axis=1) <= n)
        original = matrix(before[w.name], w.transposed).reshape(-1, m)
        # Each group keeps its n largest magnitudes.
        kept_min = np.where(groups != 0, np.abs(original), np.inf).min(axis=1)
        dropped_max = np.where(groups == 0, np.abs(original), 0).max(axis=1)
        assert np.all(dropped_max <= kept_min)
        assert w.sparsity_after == pytest.approx(1 - n / m)


def test_n_m_on_a_matmul_weight_groups_columns_of_b():
    """MatMul's B is K x N: the groups run down its columns (along K)."""
    model = models.build_mlp(in_features=16, hidden=(8,), out_features=4,
                             linear="matmul")
    prune.prune_model(model, method="nm", nm=(2, 4))
    b = weights_of(model)["fc1/weight"]  # 16 x 8
    assert b.shape == (16, 8)
    counts = np.count_nonzero(b.reshape(4, 4, 8), axis=1)  # groups along K
    assert np.all(counts == 2)


@pytest.mark.parametrize("block", [(4, 4), (1, 4), (8, 1), (3, 5)])
@pytest.mark.parametrize("norm", ["l1", "l2"])
def test_block_per_layer(block, norm):
    model = models.build_mlp(in_features=64, hidden=(48,), out_features=40)
    before = weights_of(model)
    report = prune.prune_model(model, method="block", sparsity=0.75,
                               block=block, block_norm=norm)
    after = weights_of(model)
    r, c = block
    for w in report:
        zeros = matrix(after[w.name], w.transposed) == 0
        rows, cols = zeros.shape
        # Every block is all zero or all kept (the weights have no zeros).
        for i in range(0, rows, r):
            for j in range(0, cols, c):
                tile = zeros[i:i + r, j:j + c]
                assert tile.all() or not tile.any()
        # Within one block of the target.
        assert abs(zeros.sum() - 0.75 * zeros.size) <= r * c / 2
        # The pruned blocks have the smallest norms.
        original = np.abs(matrix(before[w.name], w.transposed))
        power = 1 if norm == "l1" else 2
        scores = {}
        for i in range(0, rows, r):
            for j in range(0, cols, c):
                scores[(i, j)] = ((original[i:i + r, j:j + c] ** power).sum(),
                                  zeros[i, j])
        dropped = [s for s, z in scores.values() if z]
        kept = [s for s, z in scores.values() if not z]
        assert max(dropped) <= min(kept)


def test_block_global_reaches_the_target_overall():
    model = small_resnet()
    report = prune.prune_model(model, method="block", sparsity=0.6,
                               block=(2, 2), scope="global")
    after = weights_of(model)
    total = sum(after[w.name].size for w in report)
    zeros = sum(np.count_nonzero(after[w.name] == 0) for w in report)
    assert abs(zeros / total - 0.6) < 4 / total + 1e-9
    assert len({round(w.sparsity_after, 2) for w in report}) > 1


def test_include_and_exclude():
    model = small_resnet()
    report = prune.prune_model(model, sparsity=0.5, include=["layer1*"],
                               exclude=["*/conv2/*"])
    pruned = sorted(w.name for w in report if not w.skipped)
    assert pruned == ["layer1.0/conv1/weight", "layer1.0/conv3/weight",
                      "layer1.0/downsample.0/weight"]
    skipped = {w.name: w.skipped for w in report if w.skipped}
    assert skipped["layer1.0/conv2/weight"] == "matched by --exclude"
    assert skipped["fc/weight"] == "not matched by --include"
    assert weights_of(model)["fc/weight"].all()


@pytest.mark.parametrize("arguments,message", [
    (dict(method="magnitude"), "needs a target sparsity"),
    (dict(sparsity=1.0), "sparsity must be in [0, 1)"),
    (dict(sparsity=-0.1), "sparsity must be in [0, 1)"),
    (dict(method="nm", sparsity=0.5), "does not apply to N:M"),
    (dict(method="nm", nm=(4, 4)), "1 <= N < M"),
    (dict(method="nm", scope="global"), "per layer"),
    (dict(method="block", sparsity=0.5, block=(0, 4)), "r, c >= 1"),
    (dict(method="block", sparsity=0.5, block_norm="max"), "'l1' or 'l2'"),
    (dict(method="random", sparsity=0.5), "method must be one of"),
])
def test_bad_arguments(arguments, message):
    with pytest.raises(ValueError) as error:
        prune.prune_model(small_resnet(), **arguments)
    assert message in str(error.value)


def cli(*arguments):
    return subprocess.run([sys.executable, "-m", "sparse_opt.prune",
                           *map(str, arguments)], capture_output=True,
                          text=True, cwd=REPOSITORY / "python")


@pytest.fixture
def mlp_file(tmp_path):
    path = tmp_path / "mlp.onnx"
    models.save_model(models.build_mlp(in_features=32, hidden=(16,),
                                       out_features=8), path)
    return path


def test_cli_summary_and_output(tmp_path, mlp_file):
    output = tmp_path / "pruned.onnx"
    done = cli(mlp_file, "-o", output, "--sparsity", "0.75")
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0].split() == ["weight", "op", "shape", "before", "after"]
    assert lines[1].split() == ["fc1/weight", "Gemm", "16x32", "0.0000",
                                "0.7500"]
    assert lines[-1].startswith("2 weights pruned, 0 skipped")
    onnx.checker.check_model(str(output))
    assert sparsity(weights_of(onnx.load(output))["fc1/weight"]) == 0.75


def test_cli_keeps_external_data(tmp_path):
    source = tmp_path / "bert.onnx"
    models.save_model(models.build_bert(num_layers=1, hidden=32, heads=2,
                                        seq_len=8, vocab_size=50),
                      source, external_data=True)
    output = tmp_path / "bert-2-4.onnx"
    done = cli(source, "-o", output, "--method", "nm", "--nm", "2:4", "-q")
    assert done.returncode == 0, done.stderr
    assert done.stdout == ""
    assert (tmp_path / "bert-2-4.onnx.data").is_file()
    model = onnx.load(output)
    weight = weights_of(model)["encoder.layer.0/attention/query/weight"]
    assert np.all(np.count_nonzero(weight.reshape(8, 4, 32), axis=1) == 2)
    # The word embeddings (a Gather table) are not a prunable weight.
    assert weights_of(model)["embeddings/word_embeddings"].all()
    inline = tmp_path / "inline.onnx"
    assert cli(source, "-o", inline, "--method", "nm", "-q",
               "--inline-data").returncode == 0
    assert not (tmp_path / "inline.onnx.data").exists()


def test_cli_never_overwrites_the_input_unasked(tmp_path, mlp_file):
    original = mlp_file.read_bytes()
    done = cli(mlp_file, "-o", mlp_file, "--sparsity", "0.5")
    assert done.returncode == 2
    assert "is the input; pass --force" in done.stderr
    assert mlp_file.read_bytes() == original
    other = tmp_path / "exists.onnx"
    other.write_text("keep")
    done = cli(mlp_file, "-o", other, "--sparsity", "0.5")
    assert done.returncode == 2 and "exists; pass --force" in done.stderr
    assert other.read_text() == "keep"
    done = cli(mlp_file, "-o", mlp_file, "--sparsity", "0.5", "--force",
               "-q")
    assert done.returncode == 0
    assert sparsity(weights_of(onnx.load(mlp_file))["fc1/weight"]) == 0.5


@pytest.mark.parametrize("arguments,message", [
    (["--sparsity", "0.5", "--nm", "2:4"], "--nm applies to --method nm"),
    (["--method", "nm", "--nm", "2-4"], "expected N:M such as 2:4"),
    (["--method", "block", "--block", "4"], "expected RxC such as 4x4"),
    (["--method", "block"], "needs a target sparsity"),
    (["--sparsity", "1.5"], "sparsity must be in [0, 1)"),
    (["--sparsity", "0.5", "--include", "nothing*"], "no weight to prune"),
])
def test_cli_errors(tmp_path, mlp_file, arguments, message):
    output = tmp_path / "out.onnx"
    done = cli(mlp_file, "-o", output, *arguments)
    assert done.returncode == 2
    assert message in done.stderr
    assert not output.exists()


def test_cli_bad_input(tmp_path):
    garbage = tmp_path / "garbage.onnx"
    garbage.write_bytes(b"\xff\xff\xff not a protobuf")
    done = cli(garbage, "-o", tmp_path / "out.onnx", "--sparsity", "0.5")
    assert done.returncode == 2
    assert "not a readable ONNX model" in done.stderr
    done = cli(tmp_path / "missing.onnx", "-o", tmp_path / "out.onnx",
               "--sparsity", "0.5")
    assert done.returncode == 2 and "no such file" in done.stderr
