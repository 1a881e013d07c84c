"""Several-factor conditions: coloured MNIST with held-out combinations, CelebA-style tables."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

from condgan.conditions import ConditionSpec, Factor
from condgan.data import load_dataset
from condgan.data.attributes import COLOURED_MNIST_SPEC, colourise, holdout_pairs, read_table
from condgan.errors import CondganError
from condgan.metrics.factors import colour_of
from tests.test_cli import assert_user_error, condgan

SPEC = ConditionSpec(
    (Factor("digit", ("0", "1", "2")), Factor("Smiling", ("0", "1"), binary=True), Factor("colour", ("red", "blue")))
)


def test_encode_decode_parse():
    codes = np.array([[2, 1, 0], [0, 0, 1]])
    vectors = SPEC.encode(codes)
    assert vectors.tolist() == [[0, 0, 1, 1, 1, 0], [1, 0, 0, 0, 0, 1]]
    assert np.array_equal(SPEC.decode(vectors), codes)
    assert SPEC.column_names == ("digit=0", "digit=1", "digit=2", "Smiling", "colour=red", "colour=blue")
    assert SPEC.parse("colour=blue, digit=1").tolist() == [1, 0, 1]  # unnamed binary attributes are off
    assert SPEC.parse("digit=0,Smiling=+1,colour=red").tolist() == [0, 1, 0]
    for text, message in [
        ("digit=1", "needs a value for colour"),
        ("digit=4,colour=red", "unknown digit '4'"),
        ("mood=1,digit=0,colour=red", "unknown attribute 'mood'"),
        ("Smiling=2,digit=0,colour=red", "binary attribute: 0 or 1"),
        ("digit", "NAME=VALUE"),
    ]:
        with pytest.raises(CondganError, match=message):
            SPEC.parse(text)
    assert ConditionSpec.from_json(SPEC.to_json()) == SPEC


def test_coloured_mnist_holds_combinations_out_of_training_only():
    held = holdout_pairs("diagonal")
    assert len(held) == 10 and (3, 3) in held and (5, 0) in held
    train = load_dataset("coloured-mnist", "train", holdout="diagonal")
    test = load_dataset("coloured-mnist", "test", holdout="diagonal")
    train_codes = {tuple(c) for c in COLOURED_MNIST_SPEC.decode(train.labels.numpy()).tolist()}
    test_codes = {tuple(c) for c in COLOURED_MNIST_SPEC.decode(test.labels.numpy()).tolist()}
    assert train_codes.isdisjoint(held) and len(train_codes) == 40 and len(test_codes) == 50
    assert train.images.shape[1:] == (3, 28, 28) and train.labels.shape[1] == 15
    assert 0.75 < len(train) / 60000 < 0.85  # a fifth of each held-out digit's images is gone
    with pytest.raises(CondganError, match=r"data.holdout expects 'diagonal' or digit=colour pairs"):
        holdout_pairs("3=pink")
    with pytest.raises(CondganError, match=r"data.holdout applies to coloured-mnist and emoji-people only"):
        load_dataset("mnist", holdout="diagonal")


def test_colour_is_read_back_from_the_pixels():
    digits = load_dataset("mnist", "test").images[:50].numpy()
    colours = np.arange(50) % 5
    assert np.array_equal(colour_of(torch.from_numpy(colourise(digits, colours))), colours)


def make_table_dataset(root, n=30):
    (root / "images").mkdir(parents=True)
    rng = np.random.default_rng(0)
    lines = [str(n), "Smiling Male Eyeglasses"]
    for i in range(n):
        name = f"{i:06d}.jpg"
        Image.fromarray(rng.integers(0, 255, (40, 36, 3), dtype=np.uint8)).save(root / "images" / name)
        lines.append(name + " " + " ".join(rng.choice(["1", "-1"], 3)))
    (root / "list_attr_celeba.txt").write_text("\n".join(lines) + "\n")
    return root


def test_attribute_table_reads_plus_minus_one(tmp_path):
    root = make_table_dataset(tmp_path / "faces")
    names, files, codes = read_table(root / "list_attr_celeba.txt")
    assert names == ["Smiling", "Male", "Eyeglasses"] and files[0] == "000000.jpg" and set(codes.ravel()) == {0, 1}
    data = load_dataset(str(root), "train", img_size=16)
    assert data.images.shape == (27, 3, 16, 16) and data.labels.shape == (27, 3)
    assert data.spec.column_names == ("Smiling", "Male", "Eyeglasses")
    (root / "list_attr_celeba.txt").write_text("2\nA B\nx.jpg 1\n")
    with pytest.raises(CondganError, match="line 3: 1 values for 2 attributes"):
        read_table(root / "list_attr_celeba.txt")


def test_attribute_model_trains_and_samples_by_attrs(tmp_path):
    root = make_table_dataset(tmp_path / "faces", n=40)
    out = tmp_path / "run"
    result = condgan(
        "train",
        "--dataset",
        root,
        "--img-size",
        "16",
        "--steps",
        "4",
        "--batch-size",
        "8",
        "--set",
        "model.width=8",
        "--out",
        out,
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr
    result = condgan("sample", out, "--attrs", "Smiling=1,Male=0", "--n", "8", "--out", tmp_path / "smile.png")
    assert result.returncode == 0, result.stderr
    assert Image.open(tmp_path / "smile.png").size[0] > 16
    assert_user_error(
        condgan("sample", out, "--attrs", "Smiling=yes", "--out", tmp_path / "x.png"), "Smiling is a binary attribute"
    )
    assert_user_error(condgan("sample", out, "--label", "1", "--out", tmp_path / "x.png"), "takes --attrs")
    assert_user_error(
        condgan("train", "--dataset", root, "--set", "model.d_cond=acgan", "--steps", "1", "--out", tmp_path / "r2"),
        "acgan classifies one class",
    )


def test_coloured_mnist_run_evaluates_seen_and_held_out(tmp_path):
    from condgan.metrics.classifier import get_classifier

    get_classifier("mnist", verbose=False)  # train the judge once per session, in the shared test cache
    out = tmp_path / "run"
    result = condgan(
        "train",
        "--config",
        "coloured-mnist",
        "--steps",
        "5",
        "--batch-size",
        "16",
        "--set",
        "model.width=8",
        "--out",
        out,
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr
    result = condgan("eval", out, "--per-class", "20")
    assert result.returncode == 0, result.stderr
    import json

    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert {"seen_digit_acc", "seen_colour_acc", "held_out_digit_acc", "held_out_colour_acc"} <= set(summary)
    assert len(summary["holdout"]) == 10
    assert len(json.loads((out / "eval.json").read_text())["combos"]) == 50
    assert f"wrote {out / 'eval.json'}" in result.stdout  # eval says where its report went
    table = condgan("compare", out)  # the factor run's own figures, no crash on a missing n_fake
    assert table.returncode == 0, table.stderr
    assert "seen_digit_acc" in table.stdout and "held_out_colour_acc" in table.stdout
    grid = condgan("sample", out, "--out", tmp_path / "grid.png")  # digits down, colours across, named
    assert grid.returncode == 0 and "factors digit, colour" in grid.stdout
    npz = condgan("sample", out, "--per-class", "2", "--out", tmp_path / "s.npz")
    assert npz.returncode == 0, npz.stderr
    with np.load(tmp_path / "s.npz") as f:
        assert f["images"].shape == (100, 28, 28, 3) and f["conditions"].shape == (100, 15)
        assert f["labels"].tolist()[:4] == [0, 0, 0, 0] and f["labels"].tolist()[-1] == 9
