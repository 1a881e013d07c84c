"""Colourisation on CIFAR-10, as it runs once the dataset is present: a synthetic archive in
the distribution's exact format (the real one cannot be downloaded here) stands in for it."""

import dataclasses

import numpy as np

from condgan.data.catalog import DATASETS
from condgan.data.formats import CifarLayout, DataFile, file_md5
from condgan.data.tasks import luminance
from tests.data.test_formats import tar_gz
from tests.test_cli import condgan


def _records(n: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 10, (n, 1), dtype=np.uint8)  # CIFAR-10: one label byte, 0..9
    images = rng.integers(0, 256, (n, 3 * 32 * 32), dtype=np.uint8)
    return np.concatenate([labels, images], axis=1).tobytes()


def test_colourise_trains_and_translates_on_a_cifar10_archive(tmp_path, monkeypatch):
    info = DATASETS.get("cifar10")
    layout: CifarLayout = info.layout
    members = {m: _records(4, seed=i) for i, m in enumerate(m for files in layout.members.values() for m in files)}
    data_dir = tmp_path / "data"
    archive = data_dir / info.folder / layout.archive.name
    archive.parent.mkdir(parents=True)
    archive.write_bytes(tar_gz(members))
    synthetic = DataFile(layout.archive.name, file_md5(archive, DataFile("x", "", content=False)), content=False)
    fake = dataclasses.replace(
        info, layout=CifarLayout(synthetic, layout.members, layout.label_bytes, layout.label_index)
    )
    monkeypatch.setitem(DATASETS._items, "cifar10", fake)  # the in-process CLI reads this catalog

    run = tmp_path / "run"
    result = condgan(
        "train", "--model", "pix2pix", "--dataset", "cifar10", "--set", "data.task=colourise",
        "--set", "model.width=8", "--batch-size", "4", "--steps", "2", "--data-dir", data_dir,
        "--out", run, "--no-progress",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    out = tmp_path / "t.npz"
    result = condgan("translate", run, "--split", "test", "--out", out)
    assert result.returncode == 0, result.stderr
    with np.load(out) as f:
        assert f["images"].shape == f["targets"].shape == (4, 32, 32, 3)  # colour out, at CIFAR's size
        assert f["inputs"].shape == (4, 32, 32)  # grey in
        grey = luminance(f["targets"].transpose(0, 3, 1, 2))[:, 0]
        assert np.array_equal(f["inputs"], grey)
        assert set(f["labels"].tolist()) <= set(range(10))
