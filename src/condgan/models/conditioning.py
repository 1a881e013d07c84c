"""How a class label enters a network, as a module so that the method can be swapped.

Every encoder maps labels y: (N,) int64 to a condition vector (N, dim); `num_classes=0`
gives dim 0, so the unconditional case runs through the same code (concatenating an
empty tensor is a no-op) instead of a separate branch.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class OneHot(nn.Module):
    """y -> one-hot rows; the seed tutorials' concatenated condition."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        if num_classes < 0:
            raise ValueError(f"num_classes must be >= 0, got {num_classes}")
        self.dim = num_classes

    def forward(self, y: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
        """y: (N,) int64 or None when dim == 0 -> (N, dim) with the dtype/device of `like`."""
        if self.dim == 0:
            return like.new_zeros(like.shape[0], 0)
        if y is None:
            raise ValueError("this model is conditional: pass labels y")
        return F.one_hot(y, self.dim).to(like.dtype)


def as_maps(cond: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(N, K) condition vector -> (N, K, H, W) constant channel maps, for conv discriminators."""
    return cond[:, :, None, None].expand(-1, -1, height, width)
