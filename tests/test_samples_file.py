import numpy as np
import pytest

from condgan.errors import CondganError
from condgan.samples_file import load_samples, save_samples


def write(path, **arrays):
    with open(path, "wb") as f:
        np.savez(f, **arrays)
    return path


def test_round_trip_grey_and_colour(tmp_path):
    grey = np.zeros((4, 28, 28), np.uint8)
    save_samples(tmp_path / "g.npz", grey, np.arange(4))
    images, labels = load_samples(tmp_path / "g.npz", num_classes=10)
    assert images.shape == (4, 1, 28, 28) and labels.tolist() == [0, 1, 2, 3]
    colour = write(tmp_path / "c.npz", images=np.zeros((2, 32, 32, 3), np.uint8), labels=np.array([1, 2]))
    assert load_samples(colour)[0].shape == (2, 3, 32, 32)


@pytest.mark.parametrize(
    ("arrays", "message"),
    [
        ({"images": np.zeros((3, 28, 28), np.uint8)}, "needs arrays 'images' and 'labels'"),
        ({"images": np.zeros((3, 28), np.uint8), "labels": np.zeros(3, np.int64)}, "must be (N, H, W)"),
        ({"images": np.zeros((3, 28, 28), np.uint8), "labels": np.zeros(4, np.int64)}, "3 images but 4 labels"),
        ({"images": np.zeros((3, 28, 28), np.uint8), "labels": np.array([0, 1, 10])}, "labels must be in 0..9"),
        ({"images": np.full((2, 28, 28), np.nan), "labels": np.zeros(2, np.int64)}, "images contain NaN"),
        ({"images": np.zeros((2, 28, 28), np.float32), "labels": np.zeros(2, np.int64)}, "must be uint8"),
        ({"images": np.zeros((2, 28, 28), np.uint8), "labels": np.array([0.0, np.nan])}, "labels contain NaN"),
    ],
)
def test_malformed_files_are_refused(tmp_path, arrays, message):
    with pytest.raises(CondganError, match=None) as err:
        load_samples(write(tmp_path / "bad.npz", **arrays), num_classes=10)
    assert message in str(err.value)


def test_not_an_npz(tmp_path):
    (tmp_path / "x.npz").write_bytes(b"hello")
    with pytest.raises(CondganError, match=r"is not a readable \.npz samples file"):
        load_samples(tmp_path / "x.npz")
    with pytest.raises(CondganError, match="samples file not found"):
        load_samples(tmp_path / "missing.npz")
