"""The updates, as small functions: `d_step` then `g_step` (alternating: G's gradient through the
updated D), or `joint_step` (simultaneous: both from one pass of D, as the tutorials' loop)."""

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


def _d_loss(loss: GANLoss, recipe: Recipe, out_real: DOutput, out_fake: DOutput, gp: torch.Tensor | None,
            y: torch.Tensor | None) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:  # fmt: skip
    """D's objective and its detached scalars: d_loss, D(x) and D(G(z)) (see `_mean_score`), penalty terms."""
    d_loss = loss.d(out_real.logits, out_fake.logits)
    stats = {"D(x)": _mean_score(out_real.logits, loss), "D(G(z))": _mean_score(out_fake.logits, loss)}
    if gp is not None:
        d_loss = d_loss + recipe.gp_weight * gp
        stats["gp"] = gp.detach()
    if recipe.aux_weight:
        aux = aux_classifier_loss(out_real.class_logits, y) + aux_classifier_loss(out_fake.class_logits, y)
        d_loss = d_loss + recipe.aux_weight * aux
        stats["d_aux"] = aux.detach()
    return d_loss, {"d_loss": d_loss.detach(), **stats}


def _g_loss(loss: GANLoss, recipe: Recipe, out_fake: DOutput, y: torch.Tensor | None) -> torch.Tensor:
    g_loss = loss.g(out_fake.logits)
    if recipe.aux_weight:
        g_loss = g_loss + recipe.aux_weight * aux_classifier_loss(out_fake.class_logits, y)
    return g_loss


def _d_forward(D: nn.Module, recipe: Recipe, x_real: torch.Tensor, x_fake: torch.Tensor, y: torch.Tensor | None,
               alpha: torch.Tensor | None, rt: Runtime) -> tuple[DOutput, DOutput, torch.Tensor | None]:  # fmt: skip
    """D on the real and the fake batch (separately, so BatchNorm sees pure batches: DCGAN
    practice), plus the gradient penalty; forwards under `rt.autocast`, outputs in fp32."""
    with rt.autocast():
        out_real, out_fake = _fp32(D(x_real, y)), _fp32(D(x_fake, y))
        gp = gradient_penalty(D, x_real, x_fake.detach(), y, alpha).float() if recipe.gp_weight else None
    return out_real, out_fake, gp


def _update(opt: torch.optim.Optimizer, rt: Runtime) -> None:
    rt.reduce_grads(opt)
    opt.step()


def d_step(D: nn.Module, opt_D: torch.optim.Optimizer, loss: GANLoss, recipe: Recipe, x_real: torch.Tensor,
           x_fake: torch.Tensor, y: torch.Tensor | None, alpha: torch.Tensor | None = None,
           rt: Runtime = Runtime()) -> dict[str, torch.Tensor]:  # fmt: skip
    """Update D on a real and a (detached) fake batch carrying the same labels.

    alpha: (N,) interpolation weights for the gradient penalty (when recipe.gp_weight > 0).
    Losses are taken in fp32, backward outside autocast. Returns detached scalars (`_d_loss`).
    """
    out_real, out_fake, gp = _d_forward(D, recipe, x_real, x_fake.detach(), y, alpha, rt)
    d_loss, stats = _d_loss(loss, recipe, out_real, out_fake, gp, y)
    opt_D.zero_grad(set_to_none=True)
    d_loss.backward()
    _update(opt_D, rt)
    if recipe.clip:
        clip_weights_(D, recipe.clip)
    return stats


def g_step(D: nn.Module, opt_G: torch.optim.Optimizer, loss: GANLoss, recipe: Recipe, x_fake: torch.Tensor,
           y: torch.Tensor | None, rt: Runtime = Runtime()) -> dict[str, torch.Tensor]:  # fmt: skip
    """Update G through the just-updated D, reusing the fake batch's graph (one G forward).

    D's parameters are frozen meanwhile: their gradients would be discarded anyway.
    """
    D.requires_grad_(False)
    try:
        with rt.autocast():
            out = _fp32(D(x_fake, y))
        g_loss = _g_loss(loss, recipe, out, y)
        opt_G.zero_grad(set_to_none=True)
        g_loss.backward()
    finally:
        D.requires_grad_(True)
    _update(opt_G, rt)
    return {"g_loss": g_loss.detach()}


def joint_step(D: nn.Module, opt_D: torch.optim.Optimizer, opt_G: torch.optim.Optimizer, loss: GANLoss,
               recipe: Recipe, x_real: torch.Tensor, x_fake: torch.Tensor, y: torch.Tensor | None,
               alpha: torch.Tensor | None = None, rt: Runtime = Runtime()) -> dict[str, torch.Tensor]:  # fmt: skip
    """Update D and G from one pass of D over the real and the fake batch (simultaneous updates).

    G's gradient is taken through D before D's update, which is exactly what the tutorials'
    "G step, then D step on the same fake batch" loop computes; it saves the third D forward
    of `d_step` + `g_step`. Two backward passes share the graph: D's loss reaches only D's
    parameters, G's loss only G's (through D's input gradients, without D's weight gradients).
    """
    out_real, out_fake, gp = _d_forward(D, recipe, x_real, x_fake, y, alpha, rt)
    d_loss, stats = _d_loss(loss, recipe, out_real, out_fake, gp, y)
    g_loss = _g_loss(loss, recipe, out_fake, y)
    opt_D.zero_grad(set_to_none=True)
    opt_G.zero_grad(set_to_none=True)
    torch.autograd.backward(d_loss, inputs=_params(opt_D), retain_graph=True)
    torch.autograd.backward(g_loss, inputs=_params(opt_G))
    _update(opt_D, rt)
    _update(opt_G, rt)
    if recipe.clip:
        clip_weights_(D, recipe.clip)
    return {**stats, "g_loss": g_loss.detach()}


def _params(opt: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [p for group in opt.param_groups for p in group["params"]]
