"""The one noise stream: z as a pure function of the seed, the same for `condgan sample`, the
server's PyTorch and ONNX backends, and evaluation. numpy only (the ONNX server has no torch)."""

from __future__ import annotations

import numpy as np

from condgan.errors import CondganError

MAX_SEED = 2**63 - 1  # numpy's generators take any non-negative int; this is what the CLI and API accept


REDRAWS = 32  # truncated noise: rounds of redrawing before an entry still beyond the threshold is clipped


def noise(n: int, z_dim: int, seed: int, threshold: float | None = None) -> np.ndarray:
    """(n, z_dim) float32 standard normal noise; the first k rows of `noise(n, ...)` are `noise(k, ...)`.

    `threshold`: BigGAN's truncation trick: every entry beyond +-threshold is redrawn (from the
    seed's own further streams, so the rows stay a function of the seed and the prefix property
    holds), up to REDRAWS times, then clipped: a sample of N(0, 1) truncated to the threshold."""
    z = np.random.default_rng(seed).standard_normal((n, z_dim), dtype=np.float32)
    if threshold is None:
        return z
    for round_ in range(1, REDRAWS + 1):
        outside = np.abs(z) > threshold
        if not outside.any():
            return z
        redraw = np.random.default_rng([seed, round_]).standard_normal((n, z_dim), dtype=np.float32)
        z = np.where(outside, redraw, z)
    return np.clip(z, -threshold, threshold)


def slerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Spherical interpolation between two noise vectors: intermediate points keep the norm
    typical of N(0, I) samples (a straight line would pass through unlikely short vectors)."""
    cos = float(np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b)))
    omega = np.arccos(np.clip(cos, -1.0, 1.0))
    if omega < 1e-6:
        return ((1 - t) * a + t * b).astype(np.float32)
    return ((np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)).astype(np.float32)


def lerp(a: np.ndarray, b: np.ndarray, t: float) -> np.ndarray:
    """Linear interpolation between two condition vectors (one-hot rows: a mixture of classes)."""
    return ((1 - t) * a + t * b).astype(np.float32)


def check_truncation(kind: str | None, value: float | None) -> None:
    """A truncation value for a generator whose `truncation` attribute is `kind`: "z" (BigGAN: the
    threshold in standard deviations, > 0) or "w" (StyleGAN: psi in [0, 1], 1 = none); other
    families have none."""
    if value is None:
        return
    if kind is None:
        raise CondganError("truncation applies to models biggan and stylegan only; this generator has none")
    if kind == "z" and not 0 < value <= 10:
        raise CondganError(f"truncation of a BigGAN is the z threshold: in (0, 10], got {value}")
    if kind == "w" and not 0 <= value <= 1:
        raise CondganError(f"truncation of a StyleGAN is psi: in [0, 1] (1: none, 0: the mean w), got {value}")
