"""Paired data: both pix2pix folder layouts on generated files, their errors, and built-in tasks
on a real dataset (the label travels with every pair)."""

import numpy as np
import pytest
from PIL import Image

from condgan.data.paired import load_pairs
from condgan.errors import CondganError


def _pair(seed: int, size: int = 16) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a = rng.integers(0, 256, (size, size), dtype=np.uint8)  # grey
    b = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)  # colour
    return a, b


def _side_by_side(root, split: str, n: int, size: int = 16) -> None:
    (root / split).mkdir(parents=True)
    for i in range(n):
        a, b = _pair(i, size)
        canvas = np.concatenate([np.repeat(a[..., None], 3, 2), b], axis=1)
        Image.fromarray(canvas).save(root / split / f"{i:03d}.png")


def _two_folders(root, split: str, n: int) -> None:
    for side in "AB":
        (root / side / split).mkdir(parents=True)
    for i in range(n):
        a, b = _pair(i)
        Image.fromarray(a).save(root / "A" / split / f"{i:03d}.png")
        Image.fromarray(b).save(root / "B" / split / f"{i:03d}.png")


def test_side_by_side_pairs_and_direction(tmp_path):
    _side_by_side(tmp_path, "train", 5)
    _side_by_side(tmp_path, "val", 2)
    data = load_pairs(str(tmp_path), "paired", "train")
    assert data.inputs.shape == (5, 3, 16, 16) and data.images.shape == (5, 3, 16, 16)
    a, b = _pair(3)
    assert np.array_equal(data.inputs[3, 0].numpy(), a) and np.array_equal(data.images[3].numpy(), b.transpose(2, 0, 1))
    flipped = load_pairs(str(tmp_path), "paired", "train", direction="BtoA")
    assert np.array_equal(flipped.inputs.numpy(), data.images.numpy())
    assert len(load_pairs(str(tmp_path), "paired", "test")) == 2  # val/ stands in for test/
    assert data.spec.kind == "image" and data.spec.in_channels == 3 and data.class_names == ()


def test_two_folders_matched_by_name(tmp_path):
    _two_folders(tmp_path, "train", 4)
    data = load_pairs(str(tmp_path), "paired", "train")
    assert data.inputs.shape == (4, 1, 16, 16) and data.images.shape == (4, 3, 16, 16)  # grey A, colour B
    a, b = _pair(2)
    assert np.array_equal(data.inputs[2, 0].numpy(), a) and np.array_equal(data.images[2].numpy(), b.transpose(2, 0, 1))
    assert load_pairs(str(tmp_path), "paired", "train", img_size=8).images.shape == (4, 3, 8, 8)


def test_an_unmatched_file_is_named(tmp_path):
    _two_folders(tmp_path, "train", 3)
    Image.fromarray(_pair(9)[0]).save(tmp_path / "A" / "train" / "lonely.png")
    with pytest.raises(CondganError, match=r"lonely.png has no partner .*B/train/lonely.png"):
        load_pairs(str(tmp_path), "paired", "train")
    (tmp_path / "A" / "train" / "lonely.png").unlink()
    Image.fromarray(_pair(9)[1]).save(tmp_path / "B" / "train" / "extra.png")
    with pytest.raises(CondganError, match=r"extra.png has no partner in .*A/train"):
        load_pairs(str(tmp_path), "paired", "train")


def test_a_wrong_size_image_is_named(tmp_path):
    _side_by_side(tmp_path, "train", 3)
    a, b = _pair(7, size=12)
    Image.fromarray(np.concatenate([np.repeat(a[..., None], 3, 2), b], 1)).save(tmp_path / "train" / "odd.png")
    with pytest.raises(CondganError, match=r"odd.png is 12x12, the first pair 16x16: give data.img_size"):
        load_pairs(str(tmp_path), "paired", "train")
    assert load_pairs(str(tmp_path), "paired", "train", img_size=16).images.shape == (4, 3, 16, 16)
    Image.fromarray(np.zeros((16, 20), np.uint8)).save(tmp_path / "train" / "narrow.png")
    with pytest.raises(CondganError, match=r"narrow.png is 20x16: a side-by-side pair is twice as wide"):
        load_pairs(str(tmp_path), "paired", "train", img_size=16)


def test_folder_errors(tmp_path):
    with pytest.raises(CondganError, match="paired folder not found"):
        load_pairs(str(tmp_path / "nothing"), "paired", "train")
    _side_by_side(tmp_path, "train", 2)
    with pytest.raises(CondganError, match="no test or val/ folder"):
        load_pairs(str(tmp_path), "paired", "test")
    (tmp_path / "train" / "000.png").write_bytes(b"not a png")
    with pytest.raises(CondganError, match=r"cannot read image .*000.png"):
        load_pairs(str(tmp_path), "paired", "train")


def test_a_task_on_mnist_keeps_the_labels(shared_datasets):
    from condgan.data import load_dataset

    data = load_pairs("mnist", "superres4", "test", str(shared_datasets))
    plain = load_dataset("mnist", "test", str(shared_datasets))
    assert np.array_equal(data.labels.numpy(), plain.labels.numpy())
    assert np.array_equal(data.images.numpy(), plain.images.numpy())
    assert data.spec.source_classes == plain.class_names and data.spec.task == "superres4"


def test_colourise_on_coloured_mnist_carries_the_digit(shared_datasets):
    from condgan.data import load_dataset

    data = load_pairs("coloured-mnist", "colourise", "test", str(shared_datasets))
    digits = load_dataset("mnist", "test", str(shared_datasets)).labels
    assert data.inputs.shape[1] == 1 and data.images.shape[1] == 3
    assert np.array_equal(data.labels.numpy(), digits.numpy()) and data.class_names == tuple("0123456789")


def test_with_label_needs_pairs_with_classes(tmp_path):
    from tests.test_cli import assert_user_error, condgan

    _side_by_side(tmp_path / "pairs", "train", 8)
    result = condgan(
        "train", "--model", "pix2pix", "--dataset", tmp_path / "pairs", "--set", "data.task=paired",
        "--set", "model.with_label=true", "--batch-size", "4", "--steps", "1", "--out", tmp_path / "run",
    )  # fmt: skip
    assert_user_error(result, "model.with_label needs class labels with the pairs")
