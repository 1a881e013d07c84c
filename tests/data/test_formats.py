"""CIFAR and EMNIST readers on synthetic files in the exact distribution formats; image folders."""

from __future__ import annotations

import gzip
import io
import json
import tarfile
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from condgan.data import DATASETS, load_dataset
from condgan.data.folder import load_folder
from condgan.data.formats import CifarLayout, DataFile, EmnistLayout, file_md5, read_cifar_records
from condgan.errors import CondganError
from tests.conftest import TINY
from tests.test_cli import assert_user_error, condgan


def cifar_records(n: int, label_bytes: int, seed: int) -> tuple[bytes, np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, 3, 32, 32), dtype=np.uint8)
    labels = rng.integers(0, 100, (n, label_bytes), dtype=np.uint8)
    rows = np.concatenate([labels, images.reshape(n, -1)], axis=1)
    return rows.tobytes(), images, labels


def tar_gz(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_cifar_records_are_label_then_planar_rgb():
    data, images, labels = cifar_records(5, 1, seed=0)
    x, y = read_cifar_records(data, 1, 0)
    assert np.array_equal(x, images) and np.array_equal(y, labels[:, 0])
    assert x[2, 1, 3, 4] == data[2 * 3073 + 1 + 1024 + 3 * 32 + 4]  # green plane, row 3, column 4
    with pytest.raises(CondganError, match="not a whole number of 3073-byte CIFAR records"):
        read_cifar_records(data[:-1], 1, 0)


@pytest.mark.parametrize("name", ["cifar10", "cifar100"])
def test_cifar_archive_of_the_catalog_layout(tmp_path, name):
    info = DATASETS.get(name)
    layout: CifarLayout = info.layout
    members, expected = {}, {}
    for split, files in layout.members.items():
        parts = [cifar_records(4, layout.label_bytes, seed=i) for i, _ in enumerate(files)]
        members |= {member: part[0] for member, part in zip(files, parts)}
        expected[split] = (
            np.concatenate([p[1] for p in parts]),
            np.concatenate([p[2][:, layout.label_index] for p in parts]),
        )
    archive = tmp_path / layout.archive.name
    archive.write_bytes(tar_gz(members))
    synthetic = DataFile(layout.archive.name, file_md5(archive, DataFile("x", "", content=False)), content=False)
    test_layout = CifarLayout(synthetic, layout.members, layout.label_bytes, layout.label_index)
    for split, (images, labels) in expected.items():
        x, y = test_layout.read(split, {synthetic.name: archive})
        assert np.array_equal(x, images) and np.array_equal(y, labels)
    assert len(expected["train"][0]) == 4 * (5 if name == "cifar10" else 1)
    with pytest.raises(CondganError, match=r"failed its checksum: expected md5 c32a1d4a|expected md5 03b5dce0"):
        layout.read("test", {layout.archive.name: archive})  # the real catalog entry refuses these bytes


def test_emnist_zip_is_transposed_and_letters_count_from_one(tmp_path):
    rng = np.random.default_rng(0)
    stored = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    labels = np.array([1, 26, 5], dtype=np.uint8)

    def idx(array: np.ndarray, code: int) -> bytes:
        head = bytes([0, 0, 8, array.ndim]) + b"".join(int(d).to_bytes(4, "big") for d in array.shape)
        return gzip.compress(head + array.tobytes())

    archive = tmp_path / "gzip.zip"
    with zipfile.ZipFile(archive, "w") as zf:
        zf.writestr("gzip/emnist-letters-test-images-idx3-ubyte.gz", idx(stored, 8))
        zf.writestr("gzip/emnist-letters-test-labels-idx1-ubyte.gz", idx(labels, 8))
    md5 = file_md5(archive, DataFile("gzip.zip", "", content=False))
    x, y = EmnistLayout(DataFile("gzip.zip", md5, False), "letters", 1).read("test", {"gzip.zip": archive})
    assert x.shape == (3, 1, 28, 28) and np.array_equal(x[:, 0], stored.transpose(0, 2, 1))
    assert y.tolist() == [0, 25, 4]
    assert DATASETS.get("emnist-letters").class_names[25] == "z"


def test_catalog_shapes_and_class_counts():
    expected = {
        "mnist": 10,
        "fashion-mnist": 10,
        "kmnist": 10,
        "emnist-balanced": 47,
        "emnist-letters": 26,
        "cifar10": 10,
        "cifar100": 100,
    }
    assert {n: len(DATASETS.get(n).class_names) for n in DATASETS.names()} == expected
    assert len(set(DATASETS.get("cifar100").class_names)) == 100


# --- image folders ---------------------------------------------------------------------
def make_folder(root, classes=("circle", "square"), per_class=30, size=(40, 30), mode="RGB"):
    rng = np.random.default_rng(0)
    for c, name in enumerate(classes):
        (root / name).mkdir(parents=True)
        for i in range(per_class):
            img = Image.new(mode, size, "black" if mode == "L" else (0, 0, 0))
            pixels = rng.integers(0, 60, (size[1], size[0], 3 if mode == "RGB" else 1), dtype=np.uint8).squeeze()
            img = Image.fromarray(pixels, mode)
            box = (10, 5, 30, 25)
            draw_colour = (255, 80 * c, 0) if mode == "RGB" else 255
            from PIL import ImageDraw

            draw = ImageDraw.Draw(img)
            (draw.ellipse if c == 0 else draw.rectangle)(box, fill=draw_colour)
            img.save(root / name / f"{i:03d}.png")
    return root


def test_folder_classes_split_resize_and_colour(tmp_path):
    root = make_folder(tmp_path / "shapes")
    train, test = load_folder(root, "train", 16), load_folder(root, "test", 16)
    assert train.class_names == ("circle", "square")
    assert train.images.shape == (54, 3, 16, 16) and test.images.shape == (6, 3, 16, 16)
    assert train.labels.bincount().tolist() == [27, 27]
    grey = load_folder(make_folder(tmp_path / "grey", mode="L"), "train")
    assert grey.images.shape[1:] == (1, 32, 32)  # every image is grey: one channel, default size 32


def test_an_unreadable_image_is_named(tmp_path):
    root = make_folder(tmp_path / "shapes", per_class=3)
    (root / "square" / "000.png").write_bytes(b"not a png")
    with pytest.raises(CondganError, match=r"cannot read image .*square/000.png"):
        load_folder(root, "train")


def png_claiming(width: int, height: int) -> bytes:
    """A PNG whose header claims width x height pixels, with no pixel data behind it."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b"")


@pytest.mark.parametrize("size", [(100_000, 100_000), (2**31 - 1, 1)])
def test_an_image_header_claiming_gigapixels_is_one_line(tmp_path, size):
    """PIL's bomb check, not an allocation: the CLI names the file and stops."""
    root = make_folder(tmp_path / "shapes", per_class=3)
    (root / "circle" / "001.png").write_bytes(png_claiming(*size))
    result = condgan("train", "--dataset", root, "--img-size", "16", *TINY, "--steps", "1", "--out", tmp_path / "r")
    assert_user_error(result, "cannot read image")
    assert "circle/001.png" in result.stderr


def test_a_large_folder_streams_through_worker_processes(tmp_path, monkeypatch):
    from condgan.data.batches import ShuffledBatches, StreamingBatches
    from condgan.data.folder import LazyImages

    root = make_folder(tmp_path / "shapes", per_class=20)
    monkeypatch.setattr("condgan.data.folder.MEMORY_LIMIT", 1000)
    lazy = load_folder(root, "train", 16)
    assert isinstance(lazy.images, LazyImages)
    in_memory = load_folder(root, "train", 16)
    monkeypatch.undo()
    stream = StreamingBatches(lazy.images, lazy.labels, 8, seed=3, workers=2)
    memory = ShuffledBatches(load_folder(root, "train", 16).images, in_memory.labels, 8, seed=3)
    for step in [0, 1, 2, 7, 3]:  # a jump (resume) restarts the stream at the right batch
        (xs, ys), (xm, ym) = stream(step), memory(step)
        assert torch.equal(xs, xm) and torch.equal(ys, ym)


def test_a_folder_dataset_trains_and_evaluates(tmp_path):
    root = make_folder(tmp_path / "shapes", per_class=40)
    out = tmp_path / "run"
    result = condgan(
        "train",
        "--dataset",
        root,
        "--img-size",
        "16",
        "--steps",
        "6",
        "--batch-size",
        "16",
        "--set",
        "model.width=8",
        "--out",
        out,
        "--no-progress",
    )
    assert result.returncode == 0, result.stderr
    hint = result.stdout.strip().splitlines()[-1]  # "sample with: condgan sample RUN --label square ..."
    assert "--label square" in hint
    sampled = condgan(*hint.split("condgan ", 2)[-1].replace("samples.png", str(tmp_path / "h.png")).split())
    assert sampled.returncode == 0, sampled.stderr  # the printed command works for this run
    meta = json.loads((out / "generator" / "config.json").read_text())
    assert meta["class_names"] == ["circle", "square"] and meta["kwargs"]["img_size"] == 16
    assert meta["kwargs"]["img_channels"] == 3
    result = condgan("eval", out, "--fast", "--per-class", "20")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.strip().splitlines()[-1])["n_fake"] == 40
    assert_user_error(
        condgan("sample", out, "--label", "triangle", "--out", tmp_path / "x.png"), "unknown label 'triangle'"
    )


# --- the lookup order -----------------------------------------------------------------
def system_dir_with_fashion(tmp_path, shared_datasets):
    """A stand-in for /usr/share/datasets holding fashion-mnist (links to ../shared/datasets)."""
    system = tmp_path / "system"
    (system / "fashion-mnist").mkdir(parents=True)
    for f in (shared_datasets / "fashion-mnist").iterdir():
        (system / "fashion-mnist" / f.name).symlink_to(f)
    return system


def test_fashion_mnist_from_the_system_dir_and_from_data_dir(tmp_path, monkeypatch, shared_datasets):
    system = system_dir_with_fashion(tmp_path, shared_datasets)
    monkeypatch.setenv("CONDGAN_SYSTEM_DATA_DIR", str(system))
    assert len(load_dataset("fashion-mnist", "test")) == 10000  # found in the system dir alone
    monkeypatch.setenv("CONDGAN_SYSTEM_DATA_DIR", str(tmp_path / "empty"))
    with pytest.raises(CondganError, match="not found"):
        load_dataset("fashion-mnist", "test")
    assert len(load_dataset("fashion-mnist", "test", shared_datasets)) == 10000


@pytest.mark.parametrize("where", ["system", "data-dir"])
def test_fashion_mnist_trains_from_each_place(tmp_path, shared_datasets, where):
    system = system_dir_with_fashion(tmp_path, shared_datasets)
    args = ["--data-dir", shared_datasets] if where == "data-dir" else []
    env = {"CONDGAN_SYSTEM_DATA_DIR": str(system if where == "system" else tmp_path / "empty")}
    result = condgan(
        "train",
        "--config",
        "fashion-cdcgan",
        *args,
        "--steps",
        "3",
        "--batch-size",
        "16",
        "--set",
        "model.width=8",
        "--out",
        tmp_path / "run",
        "--no-progress",
        env=env,
    )
    assert result.returncode == 0, result.stderr


def test_evaluating_against_another_dataset_is_warned_naming_both(tmp_path):
    own, other = make_folder(tmp_path / "shapes", per_class=20), make_folder(tmp_path / "others", per_class=20)
    out = tmp_path / "run"
    train = condgan("train", "--dataset", own, "--steps", "2", *TINY, "--out", out, "--no-progress")
    assert train.returncode == 0, train.stderr
    mismatched = condgan("eval", out, "--dataset", other, "--fast", "--per-class", "5")
    assert mismatched.returncode == 0, mismatched.stderr
    assert f"was trained on {own} but is evaluated against {other}" in mismatched.stderr
    own_eval = condgan("eval", out, "--fast", "--per-class", "5")
    assert own_eval.returncode == 0 and "evaluated against" not in own_eval.stderr
