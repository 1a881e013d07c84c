"""Exponential moving average of G's weights (used for sampling and export when enabled).

Averaging the weights smooths the oscillation of adversarial training; BatchNorm running
statistics are copied from G, not averaged (they describe the current activations).

The decay warms up as min(decay, (1 + step) / (10 + step)) (TensorFlow's num_updates rule):
a fixed 0.999 from step 0 keeps ~40% of the random initial weights after 937 steps, so a
one-epoch run of an EMA preset sampled as noise. With the warm-up the average spans about
the last tenth of the run until it reaches the set decay (step ~9,000 for 0.999).
"""

from __future__ import annotations

import copy

import torch
from torch import nn


def make_ema(G: nn.Module) -> nn.Module:
    G_ema = copy.deepcopy(G).eval()
    G_ema.requires_grad_(False)
    return G_ema


def warmed_decay(decay: float, step: int) -> float:
    """The decay used at update `step` (0-based): never more than `decay`, lower early on."""
    return min(decay, (1.0 + step) / (10.0 + step))


@torch.no_grad()
def update_ema_(G_ema: nn.Module, G: nn.Module, decay: float) -> None:
    """G_ema <- decay * G_ema + (1 - decay) * G, parameter-wise; buffers copied."""
    torch._foreach_lerp_(list(G_ema.parameters()), list(G.parameters()), 1.0 - decay)
    for b_ema, b in zip(G_ema.buffers(), G.buffers()):
        b_ema.copy_(b)
