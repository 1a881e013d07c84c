"""Exponential moving average of G's weights (used for sampling and export when enabled).

Averaging the weights smooths the oscillation of adversarial training; BatchNorm running
statistics are copied from G, not averaged (they describe the current activations).
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def make_ema(G: nn.Module) -> nn.Module:
    G_ema = copy.deepcopy(G).eval()
    G_ema.requires_grad_(False)
    return G_ema


@torch.no_grad()
def update_ema_(G_ema: nn.Module, G: nn.Module, decay: float) -> None:
    """G_ema <- decay * G_ema + (1 - decay) * G, parameter-wise; buffers copied."""
    torch._foreach_lerp_(list(G_ema.parameters()), list(G.parameters()), 1.0 - decay)
    for b_ema, b in zip(G_ema.buffers(), G.buffers()):
        b_ema.copy_(b)
