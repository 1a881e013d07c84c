"""Datasets as uint8 tensors: lookup, download, reading, validation.

Lookup order for a catalogued dataset's files (each base tried as `<base>/<folder>/` and
`<base>/`): --data-dir, $CONDGAN_DATA_DIR, the user cache (`$CONDGAN_CACHE_DIR/datasets`,
default ~/.cache/condgan/datasets), the system dir /usr/share/datasets/<folder> (Debian's
dataset packages), the copy bundled in the package (MNIST); then a download into
--data-dir, else $CONDGAN_DATA_DIR, else the user cache (CONDGAN_OFFLINE=1 forbids it).
A dataset name that is a directory is an image folder (class = subfolder). The emoji datasets
are drawn from installed fonts (condgan.data.emoji).
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from condgan.data import attributes, emoji
from condgan.data.catalog import DATASETS, DataFile, DatasetInfo
from condgan.data.download import download
from condgan.data.folder import folder_classes, load_folder
from condgan.data.image_data import ImageData
from condgan.errors import CondganError

__all__ = ["DATASETS", "DatasetInfo", "ImageData", "candidate_dirs", "load_dataset", "locate"]

COLOURED_MNIST = "coloured-mnist"  # derived from MNIST: digit x colour, see condgan.data.attributes
SYSTEM_DIR = Path("/usr/share/datasets")  # Debian's dataset packages; CONDGAN_SYSTEM_DATA_DIR overrides it


def user_cache_dir() -> Path:
    return Path(os.environ.get("CONDGAN_CACHE_DIR") or Path.home() / ".cache" / "condgan") / "datasets"


def candidate_dirs(info: DatasetInfo, data_dir: str | Path | None) -> list[Path]:
    """Where a dataset's files are looked for, in order (see the module docstring)."""
    bases = [Path(d) for d in (data_dir, os.environ.get("CONDGAN_DATA_DIR")) if d]
    dirs = [p for base in bases for p in (base / info.folder, base)]
    system = Path(os.environ.get("CONDGAN_SYSTEM_DATA_DIR") or SYSTEM_DIR)
    dirs += [user_cache_dir() / info.folder, system / info.folder]
    if info.bundled:
        dirs.append(Path(str(resources.files("condgan") / "data" / "bundled" / info.name)))
    return dirs


def download_dir(info: DatasetInfo, data_dir: str | Path | None) -> Path:
    return Path(data_dir or os.environ.get("CONDGAN_DATA_DIR") or user_cache_dir()) / info.folder


def file_url(info: DatasetInfo, data_file: DataFile) -> str:
    mirror = os.environ.get("CONDGAN_MIRROR")
    base = f"{mirror.rstrip('/')}/{info.folder}" if mirror else info.url
    return f"{base}/{data_file.name}"


def find(info: DatasetInfo, data_file: DataFile, data_dir: str | Path | None) -> Path | None:
    for folder in candidate_dirs(info, data_dir):
        if (folder / data_file.name).is_file():
            return folder / data_file.name
    return None


def locate(info: DatasetInfo, data_file: DataFile, data_dir: str | Path | None, *, progress: bool = True) -> Path:
    """The file's path: found in the lookup order, or downloaded (unless CONDGAN_OFFLINE is set)."""
    path = find(info, data_file, data_dir)
    if path is not None:
        return path
    if os.environ.get("CONDGAN_OFFLINE"):
        looked = ", ".join(str(d) for d in candidate_dirs(info, data_dir))
        raise CondganError(
            f"{info.name}: {data_file.name} not found; looked in {looked} (downloads are off: CONDGAN_OFFLINE is set)"
        )
    url = file_url(info, data_file)
    print(f"downloading {info.name}: {url}", flush=True)
    return download(url, download_dir(info, data_dir) / data_file.name, data_file, progress=progress)


def load_dataset(
    name: str,
    split: str = "train",
    data_dir: str | Path | None = None,
    *,
    img_size: int | None = None,
    channels: int | None = None,
    holdout: str | None = None,
) -> ImageData:
    """Read and verify one split of a catalogued dataset, coloured-mnist, or an image folder.

    img_size / channels resize an image folder (default 32, and grey only if every image is);
    a catalogued dataset has its own shape, and a different one is refused. `holdout` keeps
    digit-colour combinations out of coloured-mnist's train split.
    """
    if name == COLOURED_MNIST:
        return attributes.coloured_mnist(load_dataset("mnist", split, data_dir), split, holdout)
    if name in emoji.FONT_DATASETS:
        return emoji.load_font_dataset(name, split, img_size, channels, holdout)
    if holdout:
        raise CondganError(f"data.holdout applies to {COLOURED_MNIST} and emoji-people only, not {name}")
    if name not in DATASETS and Path(name).is_dir():
        if attributes.find_table(Path(name)):
            return attributes.load_attribute_table(Path(name), split, img_size, channels)
        return load_folder(Path(name), split, img_size, channels)
    info = DATASETS.get(name)
    for key, wanted, own in (("img_size", img_size, info.img_size), ("channels", channels, info.img_channels)):
        if wanted is not None and wanted != own:
            raise CondganError(f"data.{key}={wanted}, but {name} has {key} {own} (only image folders are resized)")
    if split not in info.splits:
        raise CondganError(f"{name} has no split '{split}'; valid: {', '.join(info.splits)}")
    paths = {f.name: locate(info, f, data_dir) for f in info.layout.files_for(split)}
    images, labels = info.layout.read(split, paths)
    if len(images) != len(labels):
        raise CondganError(f"{name}/{split}: {len(images)} images but {len(labels)} labels")
    if labels.min() < 0 or labels.max() >= len(info.class_names):
        raise CondganError(f"{name}/{split}: label {labels.max()} out of range 0..{len(info.class_names) - 1}")
    return ImageData(
        images=torch.from_numpy(np.ascontiguousarray(images)),
        labels=torch.from_numpy(labels),
        class_names=info.class_names,
    )


def class_names_of(name: str) -> tuple[str, ...]:
    """Class names of a catalogued dataset or an image folder (without reading images)."""
    if name == COLOURED_MNIST:
        return attributes.COLOURED_MNIST_SPEC.column_names
    if name in emoji.FONT_DATASETS:
        return emoji.class_names(name)
    if name not in DATASETS and Path(name).is_dir():
        return folder_classes(Path(name))
    return DATASETS.get(name).class_names


def background_of(name: str) -> tuple[int, int, int] | None:
    """The colour a dataset's transparent images are flattened on (the emoji datasets: white);
    None where its images carry no transparency (a folder's alpha is dropped, as Pillow does)."""
    return emoji.BACKGROUND if name in emoji.FONT_DATASETS else None
