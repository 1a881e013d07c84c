"""`condgan sample --per-class N --out DIR/`: a generated dataset as an image folder that any
classifier pipeline reads (condgan's own folder dataset included), with a manifest.

    DIR/<class name>/00000.png ...      one folder per condition (names made file-system safe)
    DIR/manifest.csv                     file, label, class_name, seed, noise_index, truncation[, condition columns]

Image i of the whole draw is G(noise(N, z_dim, seed)[noise_index], condition) (truncated as the
`truncation` column says; empty: none): the manifest is enough to regenerate any one of them
(`regenerate`). The folder appears whole or not at all.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
import torch

from condgan.conditions import ConditionSpec
from condgan.errors import CondganError
from condgan.fileio import write_dir
from condgan.images import hwc, quantize, save_png
from condgan.progress import each

MANIFEST = "manifest.csv"


def folder_name(name: str) -> str:
    """A condition's name as one safe path component ('digit=7, colour=red' -> 'digit=7,colour=red')."""
    safe = re.sub(r"[^\w=+.,-]+", "_", name.replace(", ", ",")).strip("._") or "_"
    return safe[:100]


def write_folder(
    out: Path, images: torch.Tensor, codes: np.ndarray, spec: ConditionSpec, seed: int, truncation: float | None = None
) -> dict[str, int]:
    """images (N, C, H, W) in [-1, 1] drawn for `codes` (N, F) with noise rows 0..N-1 of `seed`
    (and `truncation`); returns the count per folder."""
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise CondganError(f"--out {out} exists and is not an empty folder: choose a new folder")
    pixels = hwc(quantize(images).numpy())
    names = [spec.name_of(code) for code in codes]
    folders = {name: folder_name(name) for name in dict.fromkeys(names)}
    if len(set(folders.values())) != len(folders):
        raise CondganError("two conditions have the same folder name once made file-system safe")
    columns = [] if spec.is_classes else list(spec.column_names)
    vectors = spec.encode(codes) if columns else None
    counts: dict[str, int] = {}

    def fill(tmp: Path) -> None:
        rows = []
        for i, (name, image) in enumerate(each(zip(names, pixels), len(names), "writing PNGs", "img")):
            index = counts.get(name, 0)
            counts[name] = index + 1
            file = f"{folders[name]}/{index:05d}.png"
            save_png(image, tmp / file)
            label = int(codes[i, 0]) if spec.is_classes else -1
            row = [file, label, name, seed, i, "" if truncation is None else f"{truncation:g}"]
            rows.append(row + ([f"{v:g}" for v in vectors[i]] if vectors is not None else []))
        with open(tmp / MANIFEST, "w", newline="") as f:
            writer = csv.writer(f)
            writer.writerow(["file", "label", "class_name", "seed", "noise_index", "truncation", *columns])
            writer.writerows(rows)

    out.parent.mkdir(parents=True, exist_ok=True)
    if out.exists():
        out.rmdir()  # empty (checked above): write_dir puts the whole folder in its place
    write_dir(out, fill)
    return counts


def read_manifest(folder: Path) -> list[dict[str, str]]:
    with open(folder / MANIFEST, newline="") as f:
        return list(csv.DictReader(f))


def regenerate(G: torch.nn.Module, spec: ConditionSpec, row: dict[str, str], total: int) -> np.ndarray:
    """One manifest row's image again (uint8, the PNG's layout); `total`: the draw's N (the manifest's rows)."""
    from condgan.sampling import generate, psi_of, truncated_noise

    i = int(row["noise_index"])
    cut = float(row["truncation"]) if row.get("truncation") else None
    z = truncated_noise(G, total, int(row["seed"]), cut)[i : i + 1]
    if spec.is_classes:
        condition = torch.tensor([int(row["label"])])
    elif spec.factors:
        condition = torch.tensor([[float(row[c]) for c in spec.column_names]])
    else:
        condition = None
    return hwc(quantize(generate(G, z, condition, psi=psi_of(G, cut))).numpy())[0]
