"""GAN losses as pure functions of discriminator logits (softplus form: no log(0), no overflow).

Identities used: -log(sigmoid(t)) = softplus(-t);  -log(1 - sigmoid(t)) = softplus(t).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from condgan.registry import Registry


def bce_d(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """D's binary cross-entropy: real -> 1, fake -> 0.

    Args:
        d_real: (N,) logits of real images; d_fake: (M,) logits of generated ones.
    """
    return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()  # -log D(x) - log(1 - D(G(z)))


def bce_g(d_fake: torch.Tensor) -> torch.Tensor:
    """G's non-saturating loss (Goodfellow et al. 2014): strong gradients while D still wins.

    Args:
        d_fake: (M,) logits of generated images.
    """
    return F.softplus(-d_fake).mean()  # -log D(G(z)), not log(1 - D(G(z)))


@dataclass(frozen=True)
class GANLoss:
    d: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (d_real, d_fake) -> scalar
    g: Callable[[torch.Tensor], torch.Tensor]  # d_fake -> scalar


LOSSES: Registry[GANLoss] = Registry("loss")
LOSSES.add("bce", GANLoss(d=bce_d, g=bce_g))
