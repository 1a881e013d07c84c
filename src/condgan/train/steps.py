"""One discriminator update and one generator update, as separate small functions."""

from __future__ import annotations

import torch
from torch import nn

from condgan.losses import GANLoss


def d_step(D: nn.Module, opt_D: torch.optim.Optimizer, loss: GANLoss, x_real: torch.Tensor,
           x_fake: torch.Tensor, y: torch.Tensor | None) -> dict[str, torch.Tensor]:  # fmt: skip
    """Update D on a real and a (detached) fake batch carrying the same labels.

    Real and fake go through D separately so BatchNorm sees pure batches (DCGAN practice).
    Returns detached scalars: d_loss, D(x) and D(G(z)) as mean probabilities.
    """
    d_real, d_fake = D(x_real, y), D(x_fake.detach(), y)
    d_loss = loss.d(d_real, d_fake)
    opt_D.zero_grad(set_to_none=True)
    d_loss.backward()
    opt_D.step()
    return {
        "d_loss": d_loss.detach(),
        "D(x)": torch.sigmoid(d_real.detach()).mean(),
        "D(G(z))": torch.sigmoid(d_fake.detach()).mean(),
    }


def g_step(D: nn.Module, opt_G: torch.optim.Optimizer, loss: GANLoss, x_fake: torch.Tensor,
           y: torch.Tensor | None) -> dict[str, torch.Tensor]:  # fmt: skip
    """Update G through the just-updated D, reusing the fake batch's graph (one G forward).

    D's parameters are frozen meanwhile: their gradients would be discarded anyway.
    """
    D.requires_grad_(False)
    try:
        g_loss = loss.g(D(x_fake, y))
        opt_G.zero_grad(set_to_none=True)
        g_loss.backward()
    finally:
        D.requires_grad_(True)
    opt_G.step()
    return {"g_loss": g_loss.detach()}
