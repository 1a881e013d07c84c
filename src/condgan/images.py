"""Image helpers on Pillow + numpy (no torchvision): uint8 conversion, grids, PNGs, line plots."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image, ImageDraw

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


def make_grid(images: np.ndarray, ncol: int, pad: int = 2) -> np.ndarray:
    """(N, H, W[, C]) uint8 -> one (rows*H', ncol*W'[, C]) image, row-major, `pad` px gaps."""
    n, h, w = images.shape[:3]
    rows = -(-n // ncol)
    grid = np.zeros((rows * (h + pad) + pad, ncol * (w + pad) + pad, *images.shape[3:]), np.uint8)
    for i, img in enumerate(images):
        r, c = divmod(i, ncol)
        top, left = pad + r * (h + pad), pad + c * (w + pad)
        grid[top : top + h, left : left + w] = img
    return grid


def save_png(array: np.ndarray, path: Path | str, scale: int = 1) -> None:
    img = Image.fromarray(array)
    if scale > 1:
        img = img.resize((img.width * scale, img.height * scale), Image.NEAREST)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


_COLOURS = [(31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189)]


def plot_lines(
    series: dict[str, Sequence[tuple[float, float]]], path: Path | str, title: str = "", size=(720, 400)
) -> None:
    """A small line chart of named (x, y) series, drawn with Pillow."""
    width, height = size
    left, right, top, bottom = 60, 20, 30, 40
    img = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(img)
    points = [p for s in series.values() for p in s]
    if points:
        xs, ys = zip(*points)
        x0, x1 = min(xs), max(xs) if max(xs) > min(xs) else min(xs) + 1
        y0, y1 = min(ys), max(ys) if max(ys) > min(ys) else min(ys) + 1

        def to_px(x: float, y: float) -> tuple[float, float]:
            px = left + (x - x0) / (x1 - x0) * (width - left - right)
            return px, height - bottom - (y - y0) / (y1 - y0) * (height - top - bottom)

        draw.rectangle([left, top, width - right, height - bottom], outline=(160, 160, 160))
        for frac in (0, 0.5, 1):
            y = y0 + frac * (y1 - y0)
            draw.text((4, to_px(x0, y)[1] - 6), f"{y:.3g}", fill="black")
        draw.text((left, height - bottom + 6), f"{x0:.0f}", fill="black")
        draw.text((width - right - 50, height - bottom + 6), f"{x1:.0f}", fill="black")
        for i, (name, s) in enumerate(series.items()):
            colour = _COLOURS[i % len(_COLOURS)]
            if name == "alarms":  # events: a vertical tick each
                for x, _ in s:
                    px = to_px(x, y0)[0]
                    draw.line([(px, top), (px, height - bottom)], fill=(214, 39, 40), width=1)
            elif len(s) > 1:
                draw.line([to_px(x, y) for x, y in s], fill=colour, width=2)
            draw.text((left + 10 + 110 * i, 8), name, fill=colour)
    draw.text((width // 2 - 3 * len(title), height - 18), title, fill="black")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    img.save(path)


def heatmap(matrix: torch.Tensor, labels: Sequence[str], path: Path | str, cell: int = 40) -> None:
    """A confusion-matrix picture: rows normalised, darker = more, counts written in the cells."""
    n = len(labels)
    rows = matrix.float() / matrix.sum(1, keepdim=True).clamp(min=1)
    margin = 70
    img = Image.new("RGB", (margin + n * cell + 10, margin + n * cell + 10), "white")
    draw = ImageDraw.Draw(img)
    for i in range(n):
        draw.text((4, margin + i * cell + cell // 3), str(labels[i])[:9], fill="black")
        draw.text((margin + i * cell + 4, margin - 18), str(labels[i])[:5], fill="black")
        for j in range(n):
            shade = int(255 * (1 - rows[i, j].item()))
            box = [margin + j * cell, margin + i * cell, margin + (j + 1) * cell - 1, margin + (i + 1) * cell - 1]
            draw.rectangle(box, fill=(shade, shade, 255))
            ink = "black" if shade > 120 else "white"
            draw.text((box[0] + 4, box[1] + cell // 3), str(int(matrix[i, j])), fill=ink)
    draw.text((margin, 6), "rows: requested class, columns: predicted class", fill="black")
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
