"""The samples file (.npz) of docs/architecture.md: `images` uint8 (N, H, W) or (N, H, W, C), `labels` int64 (N,),
and for several-factor conditions `conditions` float32 (N, K)."""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np
import torch

from condgan.errors import CondganError
from condgan.fileio import atomic_write


def save_samples(
    path: Path | str,
    images: np.ndarray,
    labels: np.ndarray,
    conditions: np.ndarray | None = None,
    **extra: np.ndarray,
) -> None:
    """Write a samples file atomically; `extra` arrays go in beside (a translated split's inputs, targets)."""
    arrays = {"images": images, "labels": labels.astype(np.int64), **extra}
    if conditions is not None:
        arrays["conditions"] = conditions.astype(np.float32)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)

    atomic_write(Path(path), write)


MAX_BYTES = 8 * 2**30  # one array of a samples file; a header claiming more is refused before reading


def _check_headers(path: Path) -> None:
    """Read each array's .npy header (shape, dtype) without its data: a crafted header that
    claims terabytes must be refused before numpy allocates them."""
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            with archive.open(name) as member:
                version = np.lib.format.read_magic(member)
                read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
                shape, _, dtype = read(member, max_header_size=10_000)
            size = int(np.prod(shape, dtype=np.float64)) * dtype.itemsize
            if size > MAX_BYTES:
                raise CondganError(
                    f"{path}: array {name.removesuffix('.npy')} of shape {shape} would take {size / 2**30:,.0f} GiB "
                    f"(limit {MAX_BYTES // 2**30} GiB): not a samples file condgan will read"
                )
            if name == "images.npy" and len(shape) >= 3 and max(shape[1:3]) > 4096:
                raise CondganError(f"{path}: images of {shape[1]}x{shape[2]} pixels exceed 4096x4096")


def load_samples(path: Path | str, num_classes: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """-> images (N, C, H, W) uint8, labels (N,) int64; malformed files raise CondganError."""
    path = Path(path)
    try:
        if path.is_file():
            _check_headers(path)
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
    if not len(images):
        raise CondganError(f"{path}: the samples file holds no images")
    if num_classes is not None and len(labels) and (labels.min() < 0 or labels.max() >= num_classes):
        raise CondganError(f"{path}: labels must be in 0..{num_classes - 1}, got {labels.min()}..{labels.max()}")
    x = torch.from_numpy(images if images.ndim == 4 else images[..., None]).permute(0, 3, 1, 2)
    return x.contiguous(), torch.from_numpy(labels.astype(np.int64))
