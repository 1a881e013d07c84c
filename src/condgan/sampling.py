"""Sampling from a trained generator: seeded noise, requested conditions, grids, interpolation."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import numpy as np
import torch
from torch import nn

from condgan import noise as noise_stream
from condgan.conditions import ConditionSpec
from condgan.noise import check_truncation


@contextmanager
def eval_mode(G: nn.Module) -> Iterator[nn.Module]:
    """Sample with BatchNorm's running statistics, then restore the mode G was in."""
    was_training = G.training
    G.eval()
    try:
        yield G
    finally:
        G.train(was_training)


def noise(n: int, z_dim: int, seed: int, threshold: float | None = None) -> torch.Tensor:
    """(n, z_dim) standard normal noise, a pure function of `seed` (condgan.noise: the server's
    too); `threshold`: truncated to +-threshold (BigGAN's truncation)."""
    return torch.from_numpy(noise_stream.noise(n, z_dim, seed, threshold))


def truncated_noise(G: nn.Module, n: int, seed: int, truncation: float | None) -> torch.Tensor:
    """G's noise for `seed`, truncated where G's truncation acts on z (BigGAN)."""
    kind = getattr(G, "truncation", None)
    check_truncation(kind, truncation)
    return noise(n, G.z_dim, seed, truncation if kind == "z" else None)


def psi_of(G: nn.Module, truncation: float | None) -> float | None:
    """The psi G takes at its call, where its truncation acts on w (StyleGAN)."""
    return truncation if getattr(G, "truncation", None) == "w" else None


def _device(G: nn.Module) -> torch.device:
    return next(G.parameters()).device


@torch.no_grad()
def generate(
    G: nn.Module,
    z: torch.Tensor,
    conditions: torch.Tensor | None,
    batch_size: int = 1000,
    progress: str | None = None,
    psi: float | None = None,
) -> torch.Tensor:
    """G(z, conditions) in eval mode, in batches: (N, C, H, W) in [-1, 1] on the CPU.

    `progress`: the label of a bar with ETA (shown on a terminal) when there are 2+ batches;
    `psi`: StyleGAN's truncation (psi_of)."""
    from condgan.progress import each

    chunks, device = [], _device(G)
    starts = range(0, len(z), batch_size)
    if progress and len(starts) > 1:
        starts = each(starts, len(z), progress, "img", every=batch_size)
    with eval_mode(G):
        for i in starts:
            y = conditions[i : i + batch_size].to(device) if conditions is not None and G.num_classes else None
            args = (z[i : i + batch_size].to(device), y) + ((psi,) if psi is not None else ())
            chunks.append(G(*args).float().cpu())
    return torch.cat(chunks) if chunks else torch.empty(0)


def sample(
    G: nn.Module,
    labels: torch.Tensor | None,
    seed: int = 0,
    n: int | None = None,
    batch_size: int = 1000,
    progress: str | None = None,
    truncation: float | None = None,
) -> torch.Tensor:
    """Images (N, C, H, W) in [-1, 1] (on the CPU) for `labels` (N,) int64 or condition vectors
    (N, K), or `n` unconditional ones; `truncation`: BigGAN's z threshold or StyleGAN's psi.

    The same (labels, seed, truncation) always gives the same images, whatever the batch size.
    """
    count = len(labels) if labels is not None else n
    if count is None:
        raise ValueError("give labels or n")
    z = truncated_noise(G, count, seed, truncation)
    return generate(G, z, labels, batch_size, progress, psi_of(G, truncation))


def conditions_of(spec: ConditionSpec, codes: np.ndarray) -> torch.Tensor | None:
    """Codes (N, F) -> the tensor G takes (class indices or condition vectors), None when unconditional."""
    condition = spec.condition(codes)
    return None if condition is None else torch.from_numpy(condition)


def grid(G: nn.Module, spec: ConditionSpec, z: torch.Tensor, psi: float | None = None) -> tuple[torch.Tensor, int]:
    """(images, columns) picturing the condition (`spec.grid_codes`). One condition per row
    (classes): the columns are the noise vectors of `z`, one style per column. Conditions
    laid out in rows and columns (two factors): row r is drawn with z[r mod len(z)]."""
    codes, per_row = spec.grid_codes()
    if per_row == 1:
        codes, z_all, ncol = codes.repeat(len(z), axis=0), z.repeat(len(codes), 1), len(z)
    else:
        rows = len(codes) // per_row
        z_all, ncol = z[torch.arange(rows) % len(z)].repeat_interleave(per_row, 0), per_row
    return generate(G, z_all, conditions_of(spec, codes), psi=psi), ncol


def grid_picture(G: nn.Module, spec: ConditionSpec, z: torch.Tensor, labels: bool = True) -> np.ndarray:
    """`grid` as one uint8 picture, its rows (and columns) named by the condition (`labels`)."""
    images, ncol = grid(G, spec, z)
    rows, columns = spec.grid_labels() if labels else (None, None)
    return picture(images, ncol, rows, columns)


def picture(images: torch.Tensor, ncol: int, rows=None, columns=None) -> np.ndarray:
    """(N, C, H, W) in [-1, 1] -> a uint8 grid of `ncol` columns, with row / column names when given."""
    from condgan.images import PAD, label_grid, make_grid, to_uint8

    array = make_grid(to_uint8(images), min(ncol, len(images)))
    return label_grid(array, images.shape[-1], PAD, rows, columns) if rows or columns else array


def per_condition(spec: ConditionSpec, count: int) -> tuple[np.ndarray, torch.Tensor | None]:
    """`count` of every condition (`spec.every_condition`), grouped: (codes (M * count, F), G's conditions)."""
    codes = spec.every_condition().repeat(count, axis=0)
    return codes, conditions_of(spec, codes)


def interpolate_conditions(spec: ConditionSpec, a: np.ndarray, b: np.ndarray, steps: int) -> torch.Tensor:
    """Condition vectors (steps, dim) from the codes `a` to `b` (F,), in equal steps."""
    va, vb = spec.encode(a[None])[0], spec.encode(b[None])[0]
    ts = np.linspace(0.0, 1.0, steps)
    return torch.from_numpy(np.stack([noise_stream.lerp(va, vb, t) for t in ts]))


def interpolate_noise(z_dim: int, seed_a: int, seed_b: int, steps: int) -> torch.Tensor:
    """Noise (steps, z_dim) along the great circle from seed_a's vector to seed_b's."""
    a, b = noise_stream.noise(1, z_dim, seed_a)[0], noise_stream.noise(1, z_dim, seed_b)[0]
    return torch.from_numpy(np.stack([noise_stream.slerp(a, b, t) for t in np.linspace(0.0, 1.0, steps)]))
