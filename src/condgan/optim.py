"""Optimizers by name, built the same way for G and D."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import torch

Params = Iterable[torch.nn.Parameter]


def _adam(params: Params, lr: float, betas: tuple[float, float]) -> torch.optim.Optimizer:
    return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)  # one kernel for all tensors (CPU and CUDA)


def _rmsprop(params: Params, lr: float, betas: tuple[float, float]) -> torch.optim.Optimizer:
    return torch.optim.RMSprop(params, lr=lr, foreach=True)  # WGAN: no momentum (it destabilised the critic)


OPTIMIZERS: dict[str, Callable[[Params, float, tuple[float, float]], torch.optim.Optimizer]] = {
    "adam": _adam,
    "rmsprop": _rmsprop,
}


def decay_factor(step: int, total: int, fraction: float | None) -> float:
    """The learning-rate multiplier for 0-based update `step` of `total`: 1, then a straight line
    to 0 over the last `fraction` of the run (the pix2pix schedule); never 0 on a step taken."""
    if not fraction:
        return 1.0
    span = max(1.0, fraction * total)
    return min(1.0, (total - step) / span)
