import gzip
import hashlib
import struct

import numpy as np
import pytest

from condgan.data import load_dataset
from condgan.data.idx import parse_idx, read_idx
from condgan.errors import CondganError


def idx_bytes(array: np.ndarray, type_code: int = 0x08) -> bytes:
    header = bytes([0, 0, type_code, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(array.dtype.newbyteorder(">")).tobytes()


def test_parse_round_trip_uint8_and_int32():
    a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4)
    np.testing.assert_array_equal(parse_idx(idx_bytes(a)), a)
    b = np.array([1, -2, 70000], dtype=np.int32)
    out = parse_idx(idx_bytes(b, 0x0C))
    np.testing.assert_array_equal(out, b)
    assert out.flags.writeable


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: b"\x01" + d[1:], "bad magic number"),
        (lambda d: d[:2] + b"\x07" + d[3:], "unknown IDX element type"),
        (lambda d: d[:-1], "is truncated"),
        (lambda d: d + b"\x00", "longer than its header says"),
        (lambda d: d[:6], "truncated or invalid IDX header"),
    ],
)
def test_malformed_idx_is_refused(mutate, message):
    data = idx_bytes(np.zeros((2, 3, 3), dtype=np.uint8))
    with pytest.raises(CondganError, match=message):
        parse_idx(mutate(data))


def test_truncated_gzip_and_wrong_checksum(tmp_path):
    data = idx_bytes(np.ones((5, 4, 4), dtype=np.uint8))
    good = tmp_path / "x-idx3-ubyte.gz"
    good.write_bytes(gzip.compress(data))
    assert read_idx(good, md5=hashlib.md5(data).hexdigest()).shape == (5, 4, 4)
    with pytest.raises(CondganError, match=r"failed its checksum: expected md5 0+, got"):
        read_idx(good, md5="0" * 32)
    cut = tmp_path / "cut-idx3-ubyte.gz"
    cut.write_bytes(good.read_bytes()[:-10])
    with pytest.raises(CondganError, match=r"corrupt or truncated"):
        read_idx(cut)


def test_bundled_mnist_is_verified_and_scaled():
    test = load_dataset("mnist", "test")
    assert test.images.shape == (10000, 1, 28, 28) and test.images.dtype.is_floating_point is False
    assert test.labels.bincount().tolist()[7] == 1028  # the published class count of 7s


def test_data_dir_layout_of_shared_datasets(shared_datasets):
    fashion = load_dataset("fashion-mnist", "test", shared_datasets)
    assert fashion.class_names[9] == "ankle-boot" and len(fashion) == 10000


def test_missing_dataset_names_where_it_looked(tmp_path):
    with pytest.raises(
        CondganError,
        match=f"not found; looked in {tmp_path}/kmnist, {tmp_path}, .*/usr/share/datasets/"
        "kmnist \\(downloads are off: CONDGAN_OFFLINE is set\\)",
    ):
        load_dataset("kmnist", "train", tmp_path)
    with pytest.raises(CondganError, match=r"unknown dataset 'cifar'; valid: cifar10, cifar100, emnist-balanced"):
        load_dataset("cifar")
