"""Unpaired folders and built-in tasks made unpaired: what loads, and what is refused in one line."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from condgan.data.unpaired import load_unpaired
from condgan.errors import CondganError
from tests.cyclegan.conftest import unpaired_folder, write_domain
from tests.test_cli import assert_user_error, condgan


def test_the_junyanz_layout_with_unequal_counts(unpaired_root):
    train = load_unpaired(str(unpaired_root), "unpaired", "train")
    assert (len(train.inputs), len(train.images)) == (24, 20) and not train.paired
    test = load_unpaired(str(unpaired_root), "unpaired", "test")
    assert (len(test.inputs), len(test.images)) == (6, 5)
    assert train.inputs.dtype == torch.uint8 and train.inputs.shape[1:] == (1, 16, 16)


def test_the_a_b_layout_splits_every_tenth_file_to_test(tmp_path):
    write_domain(tmp_path / "A", 20, 0)
    write_domain(tmp_path / "B", 30, 1, mode="RGB")
    train, test = (load_unpaired(str(tmp_path), "unpaired", s) for s in ("train", "test"))
    assert (len(train.inputs), len(train.images), len(test.inputs), len(test.images)) == (18, 27, 2, 3)
    assert train.images.shape[1] == 3 and train.inputs.shape[1] == 1


def test_a_builtin_task_made_unpaired_never_pairs_in_training(shared_datasets):
    train = load_unpaired("mnist", "superres4", "train", shared_datasets)
    test = load_unpaired("mnist", "superres4", "test", shared_datasets)
    assert len(train.inputs) == len(train.images) == 30_000 and test.paired and len(test.inputs) == 10_000
    # Each blocky A image is the 4x4 means of a digit that is not in domain B: no B image averages to it.
    blocky_b = train.images.float().view(-1, 1, 7, 4, 7, 4).mean((3, 5))
    blocky_a = train.inputs[:, :, ::4, ::4].float()
    a, b = blocky_a.flatten(1)[:200], blocky_b.flatten(1)
    assert torch.cdist(a, b).min(1).values.min() > 0.5


def write_bad(root, name, size):
    Image.fromarray(np.zeros((size, size), np.uint8)).save(root / "trainB" / name)


@pytest.mark.parametrize(
    ("damage", "message"),
    [
        (lambda r: write_bad(r, "odd.png", 20), "odd.png is 20x20, the first image of domain B 16x16"),
        (lambda r: [p.unlink() for p in (r / "trainB").iterdir()], "domain B has no images"),
        (lambda r: shutil.rmtree(r / "testB"), "has no testB/ folder (domain B, test split)"),
        (lambda r: shutil.rmtree(r / "trainA"), "has no trainA/ folder (domain A, train split)"),
    ],
)
def test_broken_unpaired_folders_are_one_line_errors(tmp_path, damage, message):
    root = unpaired_folder(tmp_path / "data", counts=(8, 8), test=(2, 2))
    damage(root)
    split = "test" if "test" in message else "train"
    with pytest.raises(CondganError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_unpaired(str(root), "unpaired", split)
    if split == "train":
        args = ["train", "--set", "model.name=cyclegan", "--set", "data.task=unpaired", "--dataset", root]
        assert_user_error(condgan(*args, "--steps", "1", "--out", tmp_path / "run"), message)


@pytest.mark.parametrize(
    ("sets", "message"),
    [
        (["model.name=cdcgan", "data.unpaired=true"], "trains model cyclegan, not cdcgan"),
        (["model.name=cyclegan", "data.task=edges", "data.unpaired=false"], "cannot be false"),
        (["model.name=pix2pix", "data.task=unpaired"], "use model cyclegan, not pix2pix"),
        (
            ["model.name=cyclegan", "data.task=edges", "loss.r1_gamma=1"],
            "loss.r1_gamma does not apply to model cyclegan",
        ),
        (["model.name=cdcgan", "model.cyclegan.blocks=2"], "model.cyclegan holds the options of model cyclegan"),
        (
            ["model.name=cyclegan", "data.task=edges", "model.cyclegan.generator=vit"],
            "model.cyclegan.generator must be",
        ),
        (["model.name=cyclegan", "data.task=edges", "model.cyclegan.blocks=99"], "blocks must be at most 32"),
    ],
)
def test_wrong_cyclegan_combinations_are_one_line_errors(tmp_path, sets, message):
    args = [a for s in sets for a in ("--set", s)]
    assert_user_error(condgan("train", *args, "--steps", "1", "--out", tmp_path / "run"), message)


def test_identity_needs_one_channel_count(tmp_path):
    root = unpaired_folder(tmp_path / "data", counts=(8, 8), test=(2, 2), mode_b="RGB")
    args = ["train", "--set", "model.name=cyclegan", "--set", "model.width=8", "--set", "data.task=unpaired"]
    args += ["--dataset", root, "--batch-size", "4", "--steps", "1", "--no-progress"]
    assert_user_error(condgan(*args, "--out", tmp_path / "a"), "set model.cyclegan.identity_weight=0")
    result = condgan(*args, "--set", "model.cyclegan.identity_weight=0", "--out", tmp_path / "b")
    assert result.returncode == 0, result.stderr


def test_a_size_that_does_not_halve_twice_is_refused(tmp_path):
    root = tmp_path / "data"
    for side, seed in (("trainA", 0), ("trainB", 1), ("testA", 2), ("testB", 3)):
        write_domain(root / side, 6, seed, size=18)
    args = ["train", "--set", "model.name=cyclegan", "--set", "data.task=unpaired", "--dataset", root]
    result = condgan(*args, "--batch-size", "4", "--steps", "1", "--out", tmp_path / "run")
    assert_user_error(result, "must halve at least twice (e.g. 28, 32, 64), got 18")


def test_a_scalar_config_section_and_a_file_as_data_dir_are_refused(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("train: 5\n")
    result = condgan("train", "--config", bad, "--steps", "1", "--out", tmp_path / "a")
    assert_user_error(result, "section 'train' must be a mapping of keys")
    afile = tmp_path / "afile"
    afile.write_text("")
    result = condgan("train", "--data-dir", afile, "--steps", "1", "--out", tmp_path / "b")
    assert_user_error(result, f"must be a folder, but {afile} is a file")
