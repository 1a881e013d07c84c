"""Image folders: one subfolder per class, any images Pillow reads, resized and centre-cropped.

    my_data/cat/001.png, my_data/cat/002.jpg, my_data/dog/...  ->  classes ("cat", "dog")

Every 10th image of each class (in file-name order) is the test split, the rest the train
split. Small folders are decoded once into memory; larger ones (over MEMORY_LIMIT bytes of
decoded pixels) stay on disk and are decoded batch by batch in DataLoader worker processes.
"""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from condgan.data.image_data import ImageData
from condgan.errors import CondganError

SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp", ".tif", ".tiff"}
DEFAULT_SIZE = 32
TEST_EVERY = 10
MEMORY_LIMIT = int(os.environ.get("CONDGAN_FOLDER_MEMORY_MB", "2048")) * 2**20
GREY_MODES = {"1", "L", "LA", "I", "I;16", "F"}


def folder_classes(root: Path) -> tuple[str, ...]:
    if not root.is_dir():
        raise CondganError(f"image folder not found: {root}")
    names = tuple(sorted(d.name for d in root.iterdir() if d.is_dir() and not d.name.startswith(".")))
    if not names:
        raise CondganError(f"{root} has no class subfolders (expected {root}/<class>/<image files>)")
    return names


def list_images(root: Path, split: str) -> tuple[list[Path], list[int], tuple[str, ...]]:
    if split not in ("train", "test"):
        raise CondganError(f"an image folder has the splits train and test, not '{split}'")
    names = folder_classes(root)
    paths, labels = [], []
    for index, name in enumerate(names):
        files = sorted(p for p in (root / name).iterdir() if p.suffix.lower() in SUFFIXES and p.is_file())
        if not files:
            raise CondganError(f"class folder {root / name} holds no images ({', '.join(sorted(SUFFIXES))})")
        chosen = [p for i, p in enumerate(files) if (i % TEST_EVERY == TEST_EVERY - 1) == (split == "test")]
        paths += chosen
        labels += [index] * len(chosen)
    if not paths:
        raise CondganError(f"{root}: no images in the {split} split (the test split is every {TEST_EVERY}th image)")
    return paths, labels, names


def read_image(path: Path, size: int, channels: int) -> np.ndarray:
    """One image as (C, size, size) uint8: shorter side resized to `size`, then centre-cropped."""
    try:
        with Image.open(path) as img:
            img = img.convert("L" if channels == 1 else "RGB")
            scale = size / min(img.size)
            w, h = max(size, round(img.width * scale)), max(size, round(img.height * scale))
            img = img.resize((w, h), Image.BICUBIC)
            left, top = (w - size) // 2, (h - size) // 2
            img = img.crop((left, top, left + size, top + size))
            array = np.asarray(img, dtype=np.uint8)
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        # PIL raises SyntaxError for broken chunks and DecompressionBombError for absurd headers
        raise CondganError(f"cannot read image {path}: {err}") from None
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def guess_channels(paths: list[Path], sample: int = 64) -> int:
    """1 when every looked-at image is greyscale, else 3."""
    for path in paths[:: max(1, len(paths) // sample)]:
        try:
            with Image.open(path) as img:
                if img.mode not in GREY_MODES:
                    return 3
        except (OSError, UnidentifiedImageError, SyntaxError, Image.DecompressionBombError) as err:
            raise CondganError(f"cannot read image {path}: {err}") from None
    return 1


class LazyImages(torch.utils.data.Dataset):
    """Images decoded on demand; `images[idx]` with an index tensor returns a uint8 batch."""

    def __init__(self, paths: list[Path], size: int, channels: int) -> None:
        self.paths, self.read = paths, partial(read_image, size=size, channels=channels)
        self.shape = (len(paths), channels, size, size)

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, idx: torch.Tensor | list[int] | int) -> torch.Tensor:
        if isinstance(idx, int):
            return torch.from_numpy(self.read(self.paths[idx]))
        return torch.from_numpy(np.stack([self.read(self.paths[i]) for i in torch.as_tensor(idx).tolist()]))


def load_folder(root: Path, split: str, img_size: int | None = None, channels: int | None = None) -> ImageData:
    paths, labels, names = list_images(root, split)
    size = img_size or DEFAULT_SIZE
    channels = channels or guess_channels(paths)
    if channels not in (1, 3):
        raise CondganError(f"data.channels must be 1 (grey) or 3 (RGB), got {channels}")
    lazy = LazyImages(paths, size, channels)
    if len(paths) * channels * size * size > MEMORY_LIMIT:
        images = lazy  # streamed: see condgan.data.batches.StreamingBatches
    else:
        images = torch.from_numpy(np.stack([lazy.read(p) for p in paths]))
    return ImageData(images=images, labels=torch.tensor(labels, dtype=torch.int64), class_names=names)
