"""The updates, as small functions: `d_step` then `g_step` (alternating: G's gradient through the
updated D), or `joint_step` (simultaneous: both from one pass of D, as the tutorials' loop).

What a loss and its regularisers mean lives in condgan.losses; here they are only applied:
each active regulariser adds its `d_term` to D's loss, its `g_term` to G's, and runs its
`after_d_update` on D's weights.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field

import torch
from torch import nn

from condgan.losses import DTerms, GTerms, Recipe
from condgan.models import DOutput

Autocast = Callable[[], AbstractContextManager]


def _no_reduce(opt: torch.optim.Optimizer) -> None:
    pass


@dataclass(frozen=True)
class StepContext:
    """Everything a step needs besides its batch: D, the optimisers, the recipe, and how the
    forwards run (autocast) and gradients are combined across processes (averaged under
    torchrun; nothing in one process)."""

    D: nn.Module
    opt_D: torch.optim.Optimizer
    opt_G: torch.optim.Optimizer
    recipe: Recipe
    autocast: Autocast = nullcontext
    reduce_grads: Callable[[torch.optim.Optimizer], None] = _no_reduce
    fuse_d: bool = False  # one D forward on real ++ fake (train.fuse_d: a D without batch statistics)
    G: nn.Module | None = None  # for G-side terms on its weights (loss.ortho_weight)


@dataclass
class Batch:
    """One D step's inputs: real images, G's images (with G's graph when G learns from them),
    the condition they share, and each regulariser's random draws (by name)."""

    x_real: torch.Tensor
    x_fake: torch.Tensor
    y: torch.Tensor | None
    draws: dict[str, torch.Tensor] = field(default_factory=dict)
    d_index: int = 0  # the D step's number in the run: lazy regularisers apply on every k-th
    d_total: int | None = None  # the run's D steps: a term with a stop (loss.r1_until) ends at its fraction

    def applies(self, recipe: Recipe, name: str) -> bool:
        stop = recipe.stops_after(name)
        if stop is not None and self.d_total is not None and self.d_index >= stop * self.d_total:
            return False
        return self.d_index % recipe.interval(name) == 0


def _fp32(out: DOutput) -> DOutput:
    """Losses in fp32 whatever precision D ran in."""
    return DOutput(*(t.float() if t is not None else None for t in out))


def _mean_score(logits: torch.Tensor, ctx: StepContext) -> torch.Tensor:
    """What D says on average: a probability for BCE, the raw score for critics and margins."""
    logits = logits.detach()
    return (torch.sigmoid(logits) if ctx.recipe.loss.probability else logits).mean()


def _d_outputs(ctx: StepContext, x_real: torch.Tensor, x_fake: torch.Tensor, y: torch.Tensor | None):
    """D's outputs on the real and the fake batch, in fp32: two forwards (so BatchNorm sees pure
    batches: DCGAN practice), or with `ctx.fuse_d` one forward on both batches stacked, which
    is the same maths for a D whose samples do not see each other, with half the per-call
    overhead (train.fuse_d)."""
    if not ctx.fuse_d:
        return _fp32(ctx.D(x_real, y)), _fp32(ctx.D(x_fake, y))
    n = len(x_real)
    both = _fp32(ctx.D(torch.cat([x_real, x_fake]), None if y is None else torch.cat([y, y])))
    return tuple(DOutput(*(None if t is None else t[part] for t in both)) for part in (slice(n), slice(n, None)))


def _d_loss(ctx: StepContext, batch: Batch, x_fake: torch.Tensor) -> tuple[torch.Tensor, DOutput, dict]:
    """D on the real and the fake batch (`_d_outputs`) and the regularisers' terms, under
    `ctx.autocast` (one cast of D's weights); then D's objective in fp32: the loss plus each
    weighted term. Returns (d_loss, D's output on the fakes, detached scalars: d_loss, D(x),
    D(G(z)) and one per term)."""
    terms, x_real, y = {}, batch.x_real, batch.y
    with ctx.autocast():
        out_real, out_fake = _d_outputs(ctx, x_real, x_fake, y)
        for name, reg, _ in ctx.recipe.active:
            if reg.d_term is not None and batch.applies(ctx.recipe, name):
                draw, fake_loss = batch.draws.get(name), ctx.recipe.loss.d_fake
                inputs = DTerms(ctx.D, x_real, x_fake.detach(), y, out_real, out_fake, draw, fake_loss)
                terms[name] = reg.d_term(inputs)
    d_loss = ctx.recipe.loss.d(out_real.logits, out_fake.logits)
    stats = {"D(x)": _mean_score(out_real.logits, ctx), "D(G(z))": _mean_score(out_fake.logits, ctx)}
    for name, reg, weight in ctx.recipe.active:
        if name in terms:  # a lazy term counts k times on the steps it is applied
            d_loss = d_loss + weight * ctx.recipe.interval(name) * terms[name]
            stats[reg.stat] = terms[name].detach()
    return d_loss, out_fake, {"d_loss": d_loss.detach(), **stats}


def _g_loss(ctx: StepContext, out_fake: DOutput, batch: Batch) -> tuple[torch.Tensor, dict]:
    """G's objective and the detached G-only terms by their stat name (pix2pix's L1: g_l1)."""
    g_loss = ctx.recipe.adv_weight * ctx.recipe.loss.g(out_fake.logits)  # x 1.0 is exact: weights unchanged
    terms, stats = GTerms(out_fake, batch.y, batch.x_fake, batch.x_real, ctx.G), {}
    for _, reg, weight in ctx.recipe.active:
        if reg.g_term is not None:
            term = reg.g_term(terms)
            g_loss = g_loss + weight * term
            if reg.d_term is None:  # a term of both nets is logged under D's name already
                stats[reg.stat] = term.detach()
    return g_loss, stats


def _update_d(ctx: StepContext) -> None:
    ctx.reduce_grads(ctx.opt_D)
    ctx.opt_D.step()
    for _, reg, weight in ctx.recipe.active:
        if reg.after_d_update is not None:
            reg.after_d_update(ctx.D, weight)


def _update_g(ctx: StepContext) -> None:
    ctx.reduce_grads(ctx.opt_G)
    ctx.opt_G.step()


def d_step(ctx: StepContext, batch: Batch) -> dict[str, torch.Tensor]:
    """Update D on a real and a (detached) fake batch carrying the same condition.

    Losses are taken in fp32, backward outside autocast. Returns detached scalars (`_d_loss`).
    """
    d_loss, _, stats = _d_loss(ctx, batch, batch.x_fake.detach())
    ctx.opt_D.zero_grad(set_to_none=True)
    d_loss.backward()
    _update_d(ctx)
    return stats


def g_step(ctx: StepContext, batch: Batch) -> dict[str, torch.Tensor]:
    """Update G through the just-updated D, reusing the fake batch's graph (one G forward).

    D's parameters are frozen meanwhile: their gradients would be discarded anyway.
    """
    ctx.D.requires_grad_(False)
    try:
        with ctx.autocast():
            out = _fp32(ctx.D(batch.x_fake, batch.y))
        g_loss, stats = _g_loss(ctx, out, batch)
        ctx.opt_G.zero_grad(set_to_none=True)
        g_loss.backward()
    finally:
        ctx.D.requires_grad_(True)
    _update_g(ctx)
    return {"g_loss": g_loss.detach(), **stats}


def joint_step(ctx: StepContext, batch: Batch) -> dict[str, torch.Tensor]:
    """Update D and G from one pass of D over the real and the fake batch (simultaneous updates).

    G's gradient is taken through D before D's update, which is exactly what the tutorials'
    "G step, then D step on the same fake batch" loop computes; it saves the third D forward
    of `d_step` + `g_step`. Two backward passes share the graph: D's loss reaches only D's
    parameters, G's loss only G's (through D's input gradients, without D's weight gradients).
    """
    d_loss, out_fake, stats = _d_loss(ctx, batch, batch.x_fake)
    g_loss, g_stats = _g_loss(ctx, out_fake, batch)
    ctx.opt_D.zero_grad(set_to_none=True)
    ctx.opt_G.zero_grad(set_to_none=True)
    torch.autograd.backward(d_loss, inputs=_params(ctx.opt_D), retain_graph=True)
    torch.autograd.backward(g_loss, inputs=_params(ctx.opt_G))
    _update_d(ctx)
    _update_g(ctx)
    return {**stats, "g_loss": g_loss.detach(), **g_stats}


def _params(opt: torch.optim.Optimizer) -> list[torch.Tensor]:
    return [p for group in opt.param_groups for p in group["params"]]
