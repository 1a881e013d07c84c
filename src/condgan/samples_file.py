"""The samples file (.npz) of DESIGN.md: `images` uint8 (N, H, W) or (N, H, W, C), `labels` int64 (N,),
and for several-factor conditions `conditions` float32 (N, K)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from condgan.errors import CondganError
from condgan.fileio import atomic_write


def save_samples(
    path: Path | str, images: np.ndarray, labels: np.ndarray, conditions: np.ndarray | None = None
) -> None:
    arrays = {"images": images, "labels": labels.astype(np.int64)}
    if conditions is not None:
        arrays["conditions"] = conditions.astype(np.float32)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)

    atomic_write(Path(path), write)


def load_samples(path: Path | str, num_classes: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """-> images (N, C, H, W) uint8, labels (N,) int64; malformed files raise CondganError."""
    path = Path(path)
    try:
        with np.load(path, allow_pickle=False) as f:
            if "images" not in f or "labels" not in f:
                raise CondganError(f"{path}: a samples file needs arrays 'images' and 'labels', has {list(f)}")
            images, labels = f["images"], f["labels"]
    except FileNotFoundError:
        raise CondganError(f"samples file not found: {path}") from None
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as err:
        raise CondganError(f"{path} is not a readable .npz samples file ({err})") from None
    for name, array in (("images", images), ("labels", labels)):
        if np.issubdtype(array.dtype, np.floating) and np.isnan(array).any():
            raise CondganError(f"{path}: {name} contain NaN")
    if images.dtype != np.uint8:
        raise CondganError(f"{path}: images must be uint8 0-255, got {images.dtype}")
    if images.ndim not in (3, 4) or (images.ndim == 4 and images.shape[-1] not in (1, 3)):
        raise CondganError(f"{path}: images must be (N, H, W) or (N, H, W, 1|3), got {images.shape}")
    if labels.ndim != 1 or not np.issubdtype(labels.dtype, np.integer):
        raise CondganError(f"{path}: labels must be integers of shape (N,), got {labels.dtype} {labels.shape}")
    if len(labels) != len(images):
        raise CondganError(f"{path}: {len(images)} images but {len(labels)} labels")
    if num_classes is not None and len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise CondganError(f"{path}: labels must be in 0..{num_classes - 1}, got {labels.min()}..{labels.max()}")
    x = torch.from_numpy(images if images.ndim == 4 else images[..., None]).permute(0, 3, 1, 2)
    return x.contiguous(), torch.from_numpy(labels.astype(np.int64))
