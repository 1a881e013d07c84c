"""One discriminator update and one generator update, as separate small functions."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass

import torch
from torch import nn

from condgan.config import Recipe
from condgan.losses import GANLoss, aux_classifier_loss, clip_weights_, gradient_penalty
from condgan.models import DOutput

Autocast = Callable[[], AbstractContextManager]


def _no_reduce(opt: torch.optim.Optimizer) -> None:
    pass


@dataclass(frozen=True)
class Runtime:
    """How the steps run: the forward precision, and how gradients are combined across
    processes before each update (averaged under torchrun; nothing in one process)."""

    autocast: Autocast = nullcontext
    reduce_grads: Callable[[torch.optim.Optimizer], None] = _no_reduce


def _fp32(out: DOutput) -> DOutput:
    """Losses in fp32 whatever precision D ran in."""
    return DOutput(*(t.float() if t is not None else None for t in out))


def _mean_score(logits: torch.Tensor, loss: GANLoss) -> torch.Tensor:
    """What D says on average: a probability for BCE, the raw score for critics and margins."""
    logits = logits.detach()
    return (torch.sigmoid(logits) if loss.probability else logits).mean()


def d_step(D: nn.Module, opt_D: torch.optim.Optimizer, loss: GANLoss, recipe: Recipe, x_real: torch.Tensor,
           x_fake: torch.Tensor, y: torch.Tensor | None, alpha: torch.Tensor | None = None,
           rt: Runtime = Runtime()) -> dict[str, torch.Tensor]:  # fmt: skip
    """Update D on a real and a (detached) fake batch carrying the same labels.

    Real and fake go through D separately so BatchNorm sees pure batches (DCGAN practice).
    alpha: (N,) interpolation weights for the gradient penalty (when recipe.gp_weight > 0).
    Forwards run under `rt.autocast` (bf16 or nothing); losses are taken in fp32, backward outside it.
    Returns detached scalars: d_loss, D(x) and D(G(z)) (see `_mean_score`), and the penalty terms.
    """
    with rt.autocast():
        out_real, out_fake = _fp32(D(x_real, y)), _fp32(D(x_fake.detach(), y))
        gp = gradient_penalty(D, x_real, x_fake, y, alpha).float() if recipe.gp_weight else None
    d_loss = loss.d(out_real.logits, out_fake.logits)
    stats: dict[str, torch.Tensor] = {}
    if gp is not None:
        d_loss = d_loss + recipe.gp_weight * gp
        stats["gp"] = gp.detach()
    if recipe.aux_weight:
        aux = aux_classifier_loss(out_real.class_logits, y) + aux_classifier_loss(out_fake.class_logits, y)
        d_loss = d_loss + recipe.aux_weight * aux
        stats["d_aux"] = aux.detach()
    opt_D.zero_grad(set_to_none=True)
    d_loss.backward()
    rt.reduce_grads(opt_D)
    opt_D.step()
    if recipe.clip:
        clip_weights_(D, recipe.clip)
    return {
        "d_loss": d_loss.detach(),
        "D(x)": _mean_score(out_real.logits, loss),
        "D(G(z))": _mean_score(out_fake.logits, loss),
        **stats,
    }


def g_step(D: nn.Module, opt_G: torch.optim.Optimizer, loss: GANLoss, recipe: Recipe, x_fake: torch.Tensor,
           y: torch.Tensor | None, rt: Runtime = Runtime()) -> dict[str, torch.Tensor]:  # fmt: skip
    """Update G through the just-updated D, reusing the fake batch's graph (one G forward).

    D's parameters are frozen meanwhile: their gradients would be discarded anyway.
    """
    D.requires_grad_(False)
    try:
        with rt.autocast():
            out = _fp32(D(x_fake, y))
        g_loss = loss.g(out.logits)
        if recipe.aux_weight:
            g_loss = g_loss + recipe.aux_weight * aux_classifier_loss(out.class_logits, y)
        opt_G.zero_grad(set_to_none=True)
        g_loss.backward()
    finally:
        D.requires_grad_(True)
    rt.reduce_grads(opt_G)
    opt_G.step()
    return {"g_loss": g_loss.detach()}
