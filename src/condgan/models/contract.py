"""What every generator and discriminator offers the rest of the package (structural types).

The trainer, sampling, export and serving rely on exactly this, never on a model class.
"""

from __future__ import annotations

from typing import Any, Protocol, runtime_checkable

import torch

from condgan.models.conditioning import DOutput


@runtime_checkable
class Generator(Protocol):
    z_dim: int
    num_classes: int  # width of the condition (0: unconditional)
    config: dict[str, Any]  # the constructor's keyword arguments: generator/config.json rebuilds G from them

    def __call__(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """z: (N, z_dim), y: (N,) int64 labels or (N, num_classes) float conditions -> (N, C, H, W) in [-1, 1]."""
        ...


@runtime_checkable
class Discriminator(Protocol):
    def __call__(self, x: torch.Tensor, y: torch.Tensor | None = None) -> DOutput:
        """x: (N, C, H, W) in [-1, 1], y as for the generator -> DOutput(logits (N,), class logits or None)."""
        ...
