"""Tiny unpaired folders (16 px) and a tiny CycleGAN run, shared by the CycleGAN tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from condgan.config import load_config


def write_domain(folder: Path, count: int, seed: int, size: int = 16, mode: str = "L") -> None:
    """`count` images of blobs: A bright squares, B dark rings would both do; random strokes suffice."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    for i in range(count):
        img = np.zeros((size, size), np.uint8)
        top, left = rng.integers(0, size // 2, 2)
        img[top : top + size // 2, left : left + size // 2] = rng.integers(128, 256)
        array = img if mode == "L" else np.stack([img, img // 2, 255 - img], axis=-1)
        Image.fromarray(array, mode).save(folder / f"{i:03d}.png")


def unpaired_folder(root: Path, counts=(24, 20), test=(6, 5), mode_b: str = "L") -> Path:
    """The junyanz layout: trainA/ trainB/ testA/ testB/ with unequal counts."""
    write_domain(root / "trainA", counts[0], 0)
    write_domain(root / "trainB", counts[1], 1, mode=mode_b)
    write_domain(root / "testA", test[0], 2)
    write_domain(root / "testB", test[1], 3, mode=mode_b)
    return root


def tiny_options(root: Path, steps: int = 6, **train) -> dict:
    return {
        "model": {"name": "cyclegan", "width": 8, "cyclegan": {"blocks": 1, "pool_size": 4}},
        "data": {"dataset": str(root), "task": "unpaired"},
        "train": {"epochs": None, "steps": steps, "batch_size": 4, "log_every": 2, **train},
    }


def tiny_config(root: Path, steps: int = 6, **train):
    return load_config(None, [tiny_options(root, steps, **train)])


@pytest.fixture(scope="session")
def unpaired_root(tmp_path_factory) -> Path:
    return unpaired_folder(tmp_path_factory.mktemp("unpaired") / "data")


@pytest.fixture(scope="session")
def cycle_run(tmp_path_factory, unpaired_root) -> Path:
    """A tiny CycleGAN run with both translators saved, and each exported to ONNX beside it."""
    from condgan.train import Trainer

    run = tmp_path_factory.mktemp("cycle") / "run"
    Trainer(tiny_config(unpaired_root, steps=4, ema=0.9), run, progress=False).fit()
    for direction in ("AtoB", "BtoA"):
        out = run.parent / f"{direction}.onnx"
        result = subprocess.run(
            [sys.executable, "-m", "condgan", "export", str(run), "--direction", direction, "--out", str(out)],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert result.returncode == 0, result.stderr
    return run
