"""Per-factor accuracy of a coloured-MNIST generator, on seen and on held-out combinations.

For every digit x colour combination, `per_combo` images are generated with the same noise
seeds. The digit is read by condgan's MNIST classifier from the brightest channel (the
digit's shape, whatever its colour); the colour from the pixels: the mean colour of the
pixels brighter than half the image's maximum, matched to the nearest palette colour by
angle. A combination is held out when training never saw it (data.holdout).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from condgan.data.attributes import COLOURED_MNIST_SPEC, COLOURS, holdout_pairs
from condgan.images import quantize
from condgan.metrics.classifier import get_classifier, predict
from condgan.sampling import sample


def colour_of(images: torch.Tensor) -> np.ndarray:
    """(N, 3, H, W) uint8 -> (N,) palette index of the stroke colour."""
    x = images.float()
    bright = x.amax(1, keepdim=True)
    mask = bright >= 0.5 * bright.amax((2, 3), keepdim=True).clamp(min=1)
    mean = (x * mask).sum((2, 3)) / mask.sum((2, 3)).clamp(min=1)
    palette = torch.tensor(list(COLOURS.values()), dtype=torch.float32)
    cos = torch.nn.functional.normalize(mean, dim=1) @ torch.nn.functional.normalize(palette, dim=1).T
    return cos.argmax(1).numpy()


def coloured_mnist_report(
    G: nn.Module, holdout: str | None, per_combo: int = 100, seed: int = 0, data_dir=None
) -> dict:
    spec = COLOURED_MNIST_SPEC
    held = holdout_pairs(holdout)
    combos = [(d, c) for d in range(10) for c in range(len(COLOURS))]
    codes = np.repeat(np.array(combos), per_combo, axis=0)
    images = quantize(sample(G, torch.from_numpy(spec.encode(codes)), seed=seed))
    digit_pred = predict(get_classifier("mnist", data_dir), images.amax(1, keepdim=True)).numpy()
    colour_pred = colour_of(images)
    digit_ok, colour_ok = digit_pred == codes[:, 0], colour_pred == codes[:, 1]
    is_held = np.array([(d, c) in held for d, c in codes])
    result: dict = {
        "dataset": "coloured-mnist",
        "holdout": sorted(f"{d}={list(COLOURS)[c]}" for d, c in held),
        "per_combo": per_combo,
    }
    for name, rows in (("seen", ~is_held), ("held_out", is_held)):
        if rows.any():
            result[f"{name}_digit_acc"] = float(digit_ok[rows].mean())
            result[f"{name}_colour_acc"] = float(colour_ok[rows].mean())
            result[f"{name}_both_acc"] = float((digit_ok & colour_ok)[rows].mean())
    result["combos"] = [
        {
            "digit": d,
            "colour": list(COLOURS)[c],
            "held_out": (d, c) in held,
            "digit_acc": float(digit_ok[i * per_combo : (i + 1) * per_combo].mean()),
            "colour_acc": float(colour_ok[i * per_combo : (i + 1) * per_combo].mean()),
        }
        for i, (d, c) in enumerate(combos)
    ]
    return result
