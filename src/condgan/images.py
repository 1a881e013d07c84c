"""Image helpers on Pillow + numpy (no torchvision): uint8 conversion, grids, PNGs, line plots."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from condgan.errors import CondganError

if TYPE_CHECKING:  # torch is imported where it is used: the ONNX server runs without it
    import torch


def quantize(x: torch.Tensor) -> torch.Tensor:
    """x: (N, C, H, W) in [-1, 1] -> (N, C, H, W) uint8 0-255 (the layout the metrics use)."""
    import torch

    return ((x.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)


def quantize_array(x: np.ndarray) -> np.ndarray:
    """numpy twin of `quantize`: [-1, 1] floats -> uint8 0-255, same rounding."""
    return np.round((np.clip(x.astype(np.float32), -1, 1) + 1) * 127.5).astype(np.uint8)


def hwc(images: np.ndarray) -> np.ndarray:
    """uint8 (N, C, H, W) -> (N, H, W) grey or (N, H, W, C) colour."""
    x = images.transpose(0, 2, 3, 1)
    return x[..., 0] if x.shape[-1] == 1 else x


def to_hwc(images: torch.Tensor) -> np.ndarray:
    """uint8 (N, C, H, W) -> (N, H, W) for grey, (N, H, W, C) for colour: the samples-file layout."""
    return hwc(images.cpu().numpy())


def to_uint8(x: torch.Tensor) -> np.ndarray:
    """x: (N, C, H, W) in [-1, 1] -> (N, H, W) uint8 for grey, (N, H, W, C) for colour."""
    return to_hwc(quantize(x))


PAD = 2  # pixels between the images of a grid


def make_grid(images: np.ndarray, ncol: int, pad: int = PAD) -> np.ndarray:
    """(N, H, W[, C]) uint8 -> one (rows*H', ncol*W'[, C]) image, row-major, `pad` px gaps."""
    n, h, w = images.shape[:3]
    rows = -(-n // ncol)
    grid = np.zeros((rows * (h + pad) + pad, ncol * (w + pad) + pad, *images.shape[3:]), np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, ncol)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        grid[top : top + h, left : left + w] = img
    return grid


def fit_image(
    img: Image.Image,
    size: int,
    channels: int,
    name: str,
    resize: bool,
    hint: str,
    background: tuple[int, int, int] | None = None,
) -> np.ndarray:
    """A decoded image as an image-to-image generator's input (C, S, S) uint8: converted to its
    channels; another size is refused (as in training) unless `resize` (`hint`: how to ask for it).
    `background`: a transparent image is flattened on this colour, as the generator's training
    images were (a transparent emoji PNG keeps arbitrary colours under alpha 0: often black)."""
    if background is not None and has_alpha(img):
        flat = Image.new("RGBA", img.size, (*background, 255))
        flat.alpha_composite(img.convert("RGBA"))
        img = flat
    if img.size != (size, size):
        if not resize:
            raise CondganError(
                f"{name} is {img.width}x{img.height}; this generator translates {size}x{size} images ({hint})"
            )
        img = img.resize((size, size), Image.BICUBIC)
    array = np.asarray(img.convert("L" if channels == 1 else "RGB"), dtype=np.uint8)
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def has_alpha(img: Image.Image) -> bool:
    """Whether the image carries transparency: an alpha channel or a palette / colour key marked transparent."""
    return img.mode in ("RGBA", "LA", "PA", "La", "RGBa") or "transparency" in img.info


def save_png(array: np.ndarray, path: Path | str, scale: int = 1) -> None:
    img = Image.fromarray(array)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def label_grid(
    grid: np.ndarray, cell: int, pad: int, rows: Sequence[str] | None = None, columns: Sequence[str] | None = None
) -> np.ndarray:
    """A `make_grid` picture with row names in a left margin and column names above (white on
    black, as the grid's own background): what a row or column means, without reading a caption.

    cell: the image size in the grid (its pixels before any PNG scale); pad: the gap."""
    font = ImageFont.load_default()
    left = 6 + max((int(font.getlength(str(r))) for r in rows), default=0) if rows else 0
    top = 14 if columns else 0
    colour = grid.ndim == 3
    canvas = Image.new("RGB" if colour else "L", (grid.shape[1] + left, grid.shape[0] + top), 0)
    canvas.paste(Image.fromarray(grid), (left, top))
    draw = ImageDraw.Draw(canvas)
    white = (255, 255, 255) if colour else 255
    for i, name in enumerate(rows or ()):
        draw.text((2, top + pad + i * (cell + pad) + cell // 2 - 5), str(name), fill=white, font=font)
    for j, name in enumerate(columns or ()):
        text = str(name)
        x = left + pad + j * (cell + pad) + (cell - int(font.getlength(text))) // 2
        draw.text((max(left, x), 1), text, fill=white, font=font)
    return np.asarray(canvas)


def heatmap(matrix: torch.Tensor, labels: Sequence[str], path: Path | str) -> None:
    """A confusion-matrix picture (matplotlib): rows normalised, darker = more, counts in the cells,
    the full class names on both axes (rotated on the x axis)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    counts = np.asarray(matrix, dtype=float)
    rows = counts / np.maximum(counts.sum(1, keepdims=True), 1)
    n = len(labels)
    size = max(4.0, 0.55 * n + 2.0)
    fig, ax = plt.subplots(figsize=(size, size))
    ax.imshow(rows, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(n), [str(x) for x in labels], rotation=45, ha="right", rotation_mode="anchor", fontsize=8)
    ax.set_yticks(range(n), [str(x) for x in labels], fontsize=8)
    ax.set_xlabel("predicted class")
    ax.set_ylabel("requested class")
    if n <= 20:
        for i in range(n):
            for j in range(n):
                colour = "white" if rows[i, j] > 0.5 else "black"
                ax.text(j, i, str(int(counts[i, j])), ha="center", va="center", fontsize=7, color=colour)
    fig.tight_layout()
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
