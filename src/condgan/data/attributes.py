"""Datasets whose condition is several factors instead of one class.

- `coloured-mnist`: MNIST digits drawn in one of five colours, two independent factors
  (digit, colour). `data.holdout` keeps digit-colour combinations out of training
  ("diagonal": digit d never appears in colour d mod 5 — 10 of the 50 combinations; or
  explicit pairs "3=red,7=blue"), so one can measure whether G composes what it never saw.
- attribute tables (CelebA style): a folder with `attributes.txt` (or `list_attr_celeba.txt`):
  an optional first line with the image count, a line of attribute names, then one line
  per image: its file name and +1 / -1 (or 1 / 0) per attribute.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch

from condgan.conditions import ConditionSpec, Factor
from condgan.data.folder import DEFAULT_SIZE, TEST_EVERY, guess_channels, read_image
from condgan.data.image_data import ImageData
from condgan.errors import CondganError

COLOURS = {
    "red": (255, 0, 0),
    "green": (0, 255, 0),
    "blue": (0, 0, 255),
    "yellow": (255, 255, 0),
    "magenta": (255, 0, 255),
}
COLOURED_MNIST_SPEC = ConditionSpec(
    (Factor("digit", tuple(str(d) for d in range(10))), Factor("colour", tuple(COLOURS)))
)
TABLE_NAMES = ("attributes.txt", "list_attr_celeba.txt")


def holdout_pairs(text: str | None) -> set[tuple[int, int]]:
    """'diagonal' or 'digit=colour,...' -> {(digit, colour index)}; None -> nothing held out."""
    if not text:
        return set()
    names = list(COLOURS)
    if text == "diagonal":
        return {(d, d % len(names)) for d in range(10)}
    pairs = set()
    for part in text.split(","):
        digit, sep, colour = part.strip().partition("=")
        if not sep or not digit.isdigit() or int(digit) > 9 or colour not in names:
            raise CondganError(
                f"data.holdout expects 'diagonal' or digit=colour pairs ({', '.join(names)}), got '{part.strip()}'"
            )
        pairs.add((int(digit), names.index(colour)))
    return pairs


def colourise(digits: np.ndarray, colours: np.ndarray) -> np.ndarray:
    """(N, 1, H, W) grey digits, (N,) colour indices -> (N, 3, H, W) uint8 on black."""
    palette = np.array(list(COLOURS.values()), np.float32) / 255.0
    rgb = digits.astype(np.float32) * palette[colours][:, :, None, None]
    return np.round(rgb).astype(np.uint8)


def coloured_mnist(mnist: ImageData, split: str, holdout: str | None) -> ImageData:
    """coloured-mnist's `split` made from MNIST's: a colour per image, drawn from a fixed seed."""
    rng = np.random.default_rng({"train": 0, "test": 1}[split])
    colours = rng.integers(0, len(COLOURS), len(mnist))
    digits = mnist.labels.numpy()
    keep = np.ones(len(digits), bool)
    if split == "train":  # held-out combinations are never seen in training; the test split keeps them all
        for d, c in holdout_pairs(holdout):
            keep &= ~((digits == d) & (colours == c))
    codes = np.stack([digits, colours], 1)[keep]
    images = colourise(mnist.images.numpy()[keep], colours[keep])
    spec = COLOURED_MNIST_SPEC
    return ImageData(torch.from_numpy(images), torch.from_numpy(spec.encode(codes)), spec.column_names, spec)


def find_table(root: Path) -> Path | None:
    return next((root / n for n in TABLE_NAMES if (root / n).is_file()), None)


def read_table(path: Path) -> tuple[list[str], list[str], np.ndarray]:
    """(attribute names, file names, (N, K) 0/1 codes) of a CelebA-style table."""
    lines = [(i, line.split()) for i, line in enumerate(path.read_text().splitlines(), start=1) if line.strip()]
    if lines and len(lines[0][1]) == 1 and lines[0][1][0].isdigit():
        lines = lines[1:]  # CelebA's first line: the image count
    if len(lines) < 2:
        raise CondganError(f"{path}: expected a header of attribute names and one line per image")
    names, files, rows = lines[0][1], [], []
    for number, parts in lines[1:]:
        if len(parts) != len(names) + 1:
            raise CondganError(f"{path} line {number}: {len(parts) - 1} values for {len(names)} attributes")
        try:
            values = [int(v) for v in parts[1:]]
        except ValueError:
            raise CondganError(f"{path} line {number}: attribute values must be +1/-1 or 1/0") from None
        if any(v not in (-1, 0, 1) for v in values):
            raise CondganError(f"{path} line {number}: attribute values must be +1/-1 or 1/0")
        files.append(parts[0])
        rows.append([1 if v == 1 else 0 for v in values])
    return names, files, np.array(rows, np.int64)


def load_attribute_table(root: Path, split: str, img_size: int | None, channels: int | None) -> ImageData:
    table = find_table(root)
    names, files, codes = read_table(table)
    chosen = [i for i in range(len(files)) if (i % TEST_EVERY == TEST_EVERY - 1) == (split == "test")]
    base = root / "images" if (root / "images").is_dir() else root
    paths = [base / files[i] for i in chosen]
    size = img_size or DEFAULT_SIZE
    channels = channels or guess_channels(paths)
    images = np.stack([read_image(p, size, channels) for p in paths])
    spec = ConditionSpec(tuple(Factor(n, ("0", "1"), binary=True) for n in names))
    conditions = torch.from_numpy(spec.encode(codes[chosen]))
    return ImageData(torch.from_numpy(images), conditions, spec.column_names, spec)
