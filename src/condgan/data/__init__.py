"""Datasets as in-memory uint8 tensors: lookup, reading, validation."""

from __future__ import annotations

import os
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from condgan.data.catalog import DATASETS, DatasetInfo
from condgan.data.idx import read_idx
from condgan.errors import CondganError

__all__ = ["DATASETS", "DatasetInfo", "ImageData", "candidate_dirs", "load_dataset"]


@dataclass
class ImageData:
    """images: (N, C, H, W) uint8 0-255; labels: (N,) int64."""

    images: torch.Tensor
    labels: torch.Tensor
    class_names: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.labels)


def candidate_dirs(info: DatasetInfo, data_dir: str | Path | None) -> list[Path]:
    """Where a dataset's files are looked for, in order: --data-dir, $CONDGAN_DATA_DIR, bundled.

    In each base directory both `<base>/<name>/` and `<base>/` itself are tried.
    """
    bases = [Path(d) for d in (data_dir, os.environ.get("CONDGAN_DATA_DIR")) if d]
    dirs = [p for base in bases for p in (base / info.name, base)]
    if info.bundled:
        dirs.append(Path(str(resources.files("condgan") / "data" / "bundled" / info.name)))
    return dirs


def _find(info: DatasetInfo, filename: str, data_dir: str | Path | None) -> Path:
    dirs = candidate_dirs(info, data_dir)
    for folder in dirs:
        if (folder / filename).is_file():
            return folder / filename
    looked = ", ".join(str(d) for d in dirs) or "nowhere (no --data-dir or CONDGAN_DATA_DIR)"
    raise CondganError(f"{info.name}: {filename} not found; looked in {looked}")


def load_dataset(name: str, split: str = "train", data_dir: str | Path | None = None) -> ImageData:
    """Read and verify one split of a catalogued dataset."""
    info = DATASETS.get(name)
    if split not in info.splits:
        raise CondganError(f"{name} has no split '{split}'; valid: {', '.join(info.splits)}")
    image_file, label_file = info.splits[split]
    images = read_idx(_find(info, image_file.name, data_dir), md5=image_file.md5)
    labels = read_idx(_find(info, label_file.name, data_dir), md5=label_file.md5)
    if images.ndim == 3:
        images = images[:, None]  # grey: add the channel axis
    if len(images) != len(labels) or labels.ndim != 1:
        raise CondganError(f"{name}/{split}: {len(images)} images but labels of shape {labels.shape}")
    if labels.max() >= len(info.class_names):
        raise CondganError(f"{name}/{split}: label {labels.max()} out of range")
    return ImageData(
        images=torch.from_numpy(np.ascontiguousarray(images)),
        labels=torch.from_numpy(labels.astype(np.int64)),
        class_names=info.class_names,
    )
