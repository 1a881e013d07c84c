"""The one noise stream: z as a pure function of the seed, the same for `condgan sample`, the
server's PyTorch and ONNX backends, and evaluation. numpy only (the ONNX server has no torch)."""

from __future__ import annotations

import numpy as np

MAX_SEED = 2**63 - 1  # numpy's generators take any non-negative int; this is what the CLI and API accept


def noise(n: int, z_dim: int, seed: int) -> np.ndarray:
    """(n, z_dim) float32 standard normal noise; the first k rows of `noise(n, ...)` are `noise(k, ...)`."""
    return np.random.default_rng(seed).standard_normal((n, z_dim), dtype=np.float32)


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
