"""Sampling from a trained generator: seeded noise, requested labels, class grids."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch import nn


@contextmanager
def eval_mode(G: nn.Module) -> Iterator[nn.Module]:
    """Sample with BatchNorm's running statistics, then restore the mode G was in."""
    was_training = G.training
    G.eval()
    try:
        yield G
    finally:
        G.train(was_training)


def noise(n: int, z_dim: int, seed: int) -> torch.Tensor:
    """(n, z_dim) standard normal noise, a pure function of `seed`."""
    return torch.randn(n, z_dim, generator=torch.Generator().manual_seed(seed))


@torch.no_grad()
def sample(G: nn.Module, labels: torch.Tensor | None, seed: int = 0, n: int | None = None,
           batch_size: int = 1000) -> torch.Tensor:  # fmt: skip
    """Images (N, C, H, W) in [-1, 1] (on the CPU) for `labels` (N,) int64 or condition vectors
    (N, K), or `n` unconditional ones.

    The same (labels, seed) always gives the same images, whatever the batch size.
    """
    count = len(labels) if labels is not None else n
    if count is None:
        raise ValueError("give labels or n")
    z = noise(count, G.z_dim, seed)
    chunks = []
    with eval_mode(G):
        for i in range(0, count, batch_size):
            y = labels[i : i + batch_size] if labels is not None and G.num_classes else None
            y = y.to(_device(G)) if y is not None else None
            chunks.append(G(z[i : i + batch_size].to(_device(G)), y).float().cpu())
    return torch.cat(chunks)


@torch.no_grad()
def factor_grid(G: nn.Module, spec, z: torch.Tensor) -> tuple[torch.Tensor, int]:
    """(images, columns) of `spec.grid_codes()`: each row drawn with one noise vector of `z`."""
    codes, ncol = spec.grid_codes()
    conditions = torch.from_numpy(spec.encode(codes))
    rows = len(codes) // ncol
    z_all = z[torch.arange(rows) % len(z)].repeat_interleave(ncol, 0)
    with eval_mode(G):
        return G(z_all.to(_device(G)), conditions.to(_device(G))).float().cpu(), ncol


def _device(G: nn.Module) -> torch.device:
    return next(G.parameters()).device


def class_grid_labels(num_classes: int, per_class: int) -> torch.Tensor:
    """Labels for a grid with one row per class: (num_classes * per_class,)."""
    return torch.arange(max(num_classes, 1)).repeat_interleave(per_class)


@torch.no_grad()
def class_grid(G: nn.Module, z: torch.Tensor) -> torch.Tensor:
    """Rows = classes, columns = the noise vectors in `z` (K, z_dim): the same style per column."""
    rows = max(G.num_classes, 1)
    z_all = z.repeat(rows, 1)
    y = class_grid_labels(G.num_classes, len(z)) if G.num_classes else None
    with eval_mode(G):
        return G(z_all.to(_device(G)), y.to(_device(G)) if y is not None else None).float().cpu()
