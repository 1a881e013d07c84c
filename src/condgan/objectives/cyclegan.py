"""CycleGAN (Zhu et al. 2017): two translators G_AB: A -> B and G_BA: B -> A, learned from
unpaired images, and a PatchGAN per domain (D_A judges A images, D_B judges B images).

G's objective: the adversarial term each way (the config's loss; LSGAN by default), plus
lambda x cycle consistency each way (G_BA(G_AB(a)) ~ a, G_AB(G_BA(b)) ~ b) plus identity_weight
x lambda x the identity term (G_AB(b) ~ b, G_BA(a) ~ a). The generators update first, through
the frozen Ds; then each D learns real against fake, the fakes drawn from a pool of its last
`pool_size` fakes (half of each batch, on average, comes from the pool: D does not forget
what G made before). One optimiser for both Gs, one for both Ds, as the reference code.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np
import torch
from torch import nn

from condgan.data.batches import ShuffledBatches
from condgan.data.unpaired import UnpairedData, load_unpaired
from condgan.errors import CondganError
from condgan.losses import GANLoss, cycle_loss
from condgan.models.cyclegan import ResnetGenerator
from condgan.models.pix2pix import RECEPTIVE_FIELDS, PatchDiscriminator, UNetGenerator
from condgan.objectives.base import Objective, OptimiserSpec
from condgan.train.ema import update_ema_, warmed_decay

if TYPE_CHECKING:
    from condgan.train.trainer import Trainer

GRID_COLUMNS = 8
NETS = ("G_AB", "G_BA", "D_A", "D_B")


class ImagePool:
    """The last `size` fakes G made (Shrivastava et al. 2017). `query(fakes)` returns a batch for
    D: while the pool fills, the new fakes (each stored); then for each image, with probability
    1/2 a stored one (replaced by the new), else the new one. The draws come from the trainer's
    seeded noise stream and the pool is part of the checkpoint, so a resumed run is exact."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.images: torch.Tensor | None = None  # (K, C, H, W), K <= size

    def query(self, fakes: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if self.size == 0:
            return fakes
        n = len(fakes)
        coins = torch.rand(n, generator=generator, device=fakes.device).cpu()
        slots = torch.randint(self.size, (n,), generator=generator, device=fakes.device).cpu()
        fakes = fakes.detach()
        out = fakes.clone()
        stored = [] if self.images is None else list(self.images)
        for i in range(n):
            if len(stored) < self.size:
                stored.append(fakes[i].clone())
            elif coins[i] < 0.5:
                j = int(slots[i])
                out[i], stored[j] = stored[j].to(out.dtype), fakes[i].clone()
        self.images = torch.stack(stored)
        return out

    def state_dict(self) -> dict[str, torch.Tensor]:
        return {} if self.images is None else {"images": self.images.clone()}

    def load_state_dict(self, state: Mapping[str, torch.Tensor]) -> None:
        self.images = state["images"].clone() if "images" in state else None


@dataclass(frozen=True)
class CycleWeights:
    adversarial: float
    cycle: float  # lambda of A -> B -> A
    identity: float  # identity_weight x lambda
    noise: float = 0.0  # std of the Gaussian noise added to a translation before it is translated back
    cycle_b: float | None = None  # lambda of B -> A -> B (None: the same as A's)


@dataclass
class CycleBatch:
    """Real images of both domains, in [-1, 1]: a (N, C_A, S, S), b (N, C_B, S, S)."""

    a: torch.Tensor
    b: torch.Tensor


@dataclass(frozen=True)
class CycleContext:
    """What a CycleGAN step needs besides its batch: the networks (or their compiled forwards),
    the two optimisers, the loss, the weights, the pools and how forwards run and gradients are
    combined (condgan.train.steps.StepContext's runtime)."""

    nets: Mapping[str, nn.Module]
    opt_G: torch.optim.Optimizer
    opt_D: torch.optim.Optimizer
    loss: GANLoss
    weights: CycleWeights
    pools: Mapping[str, ImagePool]
    autocast: Any
    reduce_grads: Any
    generator: torch.Generator


def generator_loss(ctx: CycleContext, batch: CycleBatch) -> tuple[torch.Tensor, dict, dict]:
    """G_AB's and G_BA's objective on one batch of each domain: (loss, the fakes by domain, stats)."""
    n, w = ctx.nets, ctx.weights
    with ctx.autocast():
        fake_b = n["G_AB"](None, batch.a)
        fake_a = n["G_BA"](None, batch.b)
        rec_a, rec_b = n["G_BA"](None, _jitter(fake_b, w.noise, ctx)), n["G_AB"](None, _jitter(fake_a, w.noise, ctx))
        d_fake_b, d_fake_a = n["D_B"](fake_b).logits.float(), n["D_A"](fake_a).logits.float()
        same = (n["G_AB"](None, batch.b), n["G_BA"](None, batch.a)) if w.identity else None
    adversarial = ctx.loss.g(d_fake_b) + ctx.loss.g(d_fake_a)
    cycle_a, cycle_b = cycle_loss(batch.a, rec_a), cycle_loss(batch.b, rec_b)
    lambda_b = w.cycle if w.cycle_b is None else w.cycle_b
    loss = w.adversarial * adversarial + w.cycle * cycle_a + lambda_b * cycle_b
    stats = {"g_adv": adversarial.detach(), "g_cycle": (cycle_a + cycle_b).detach()}
    if same is not None:
        identity = cycle_loss(batch.b, same[0]) + cycle_loss(batch.a, same[1])
        loss = loss + w.identity * identity
        stats["g_identity"] = identity.detach()
    return loss, {"A": fake_a, "B": fake_b}, stats


def _jitter(x: torch.Tensor, std: float, ctx: CycleContext) -> torch.Tensor:
    """x plus N(0, std^2) noise (std 0: x itself): the way back cannot read a signal hidden in the
    translation at an amplitude below the noise (CycleGAN's steganography, Chu et al. 2017), so
    the cycle must be kept through what the image visibly shows."""
    if not std:
        return x
    noise = torch.randn(x.shape, generator=ctx.generator, device=x.device, dtype=torch.float32)
    return x + std * noise.to(x.dtype)


def discriminator_loss(ctx: CycleContext, batch: CycleBatch, fakes: Mapping[str, torch.Tensor]):
    """D_A's and D_B's objective: each domain's reals against fakes from its pool; (loss, stats)."""
    total, scores = 0.0, {"real": [], "fake": []}
    for domain, real in (("A", batch.a), ("B", batch.b)):
        fake = ctx.pools[domain].query(fakes[domain], ctx.generator)
        with ctx.autocast():
            d_real, d_fake = ctx.nets[f"D_{domain}"](real).logits.float(), ctx.nets[f"D_{domain}"](fake).logits.float()
        total = total + ctx.loss.d(d_real, d_fake)
        scores["real"].append(d_real.detach())
        scores["fake"].append(d_fake.detach())
    mean = (lambda t: torch.sigmoid(t).mean()) if ctx.loss.probability else (lambda t: t.mean())
    real, fake = torch.cat([s.flatten() for s in scores["real"]]), torch.cat([s.flatten() for s in scores["fake"]])
    return total, {"d_loss": total.detach(), "D(x)": mean(real), "D(G(z))": mean(fake)}


def cycle_step(ctx: CycleContext, batch: CycleBatch) -> dict[str, torch.Tensor]:
    """One CycleGAN update: both generators through the frozen discriminators, then both
    discriminators on reals and pooled fakes. Returns detached scalars."""
    ds = [ctx.nets["D_A"], ctx.nets["D_B"]]
    for d in ds:
        d.requires_grad_(False)
    try:
        g_loss, fakes, stats = generator_loss(ctx, batch)
        ctx.opt_G.zero_grad(set_to_none=True)
        g_loss.backward()
    finally:
        for d in ds:
            d.requires_grad_(True)
    ctx.reduce_grads(ctx.opt_G)
    ctx.opt_G.step()
    d_loss, d_stats = discriminator_loss(ctx, batch, {k: v.detach() for k, v in fakes.items()})
    ctx.opt_D.zero_grad(set_to_none=True)
    d_loss.backward()
    ctx.reduce_grads(ctx.opt_D)
    ctx.opt_D.step()
    return {"g_loss": g_loss.detach(), **stats, **d_stats}


class UnpairedBatches:
    """Batch `step` of each domain, each its own shuffled order (ShuffledBatches): a pure function
    of (seed, step), so a resumed run sees the batches of an uninterrupted one. An epoch is a pass
    over the larger domain."""

    def __init__(self, data: UnpairedData, batch_size: int, seed: int, device, memory_format) -> None:
        for side, images in (("A", data.inputs), ("B", data.images)):
            if batch_size > len(images):
                raise CondganError(f"train.batch_size {batch_size} exceeds domain {side}'s {len(images)} images")
        self.a = ShuffledBatches(data.inputs, data.labels_a, batch_size, seed, device, memory_format)
        self.b = ShuffledBatches(data.images, data.labels, batch_size, seed + 7919, device, memory_format)
        self.steps_per_epoch = max(self.a.steps_per_epoch, self.b.steps_per_epoch)

    def __call__(self, step: int) -> CycleBatch:
        return CycleBatch(self.a(step)[0], self.b(step)[0])


class CycleGANObjective(Objective):
    roles: ClassVar[Mapping[str, str]] = MappingProxyType({"G_AB": "g", "G_BA": "g", "D_A": "d", "D_B": "d"})
    optimisers: ClassVar[Mapping[str, OptimiserSpec]] = MappingProxyType(
        {"G": OptimiserSpec(("G_AB", "G_BA"), "lr_g"), "D": OptimiserSpec(("D_A", "D_B"), "lr_d")}
    )
    saved: ClassVar[Mapping[str, str]] = MappingProxyType({"G_AB": "generator", "G_BA": "generator-BtoA"})
    translates = True

    def __init__(self, config) -> None:
        super().__init__(config)
        self.options = config.model.cyclegan
        self.pools = {domain: ImagePool(self.options.pool_size) for domain in "AB"}

    def load_data(self, split: str) -> UnpairedData:
        d = self.config.data
        return load_unpaired(d.dataset, d.task, split, d.data_dir, img_size=d.img_size, channels=d.channels)

    def build(self, trainer: Trainer) -> dict[str, nn.Module]:
        m, o, data = self.config.model, self.options, trainer.data
        ca, cb, size = data.inputs.shape[1], data.images.shape[1], data.images.shape[-1]
        if o.identity_weight and ca != cb:
            raise CondganError(
                f"the identity term feeds B images to G_AB, but domain A has {ca} channel(s) and B {cb}: "
                "set model.cyclegan.identity_weight=0"
            )
        width, norm = m.width or 64, m.norm or "instance"  # sizes: checked with the family (halve twice)

        def translator(c_in: int, c_out: int) -> nn.Module:
            if o.generator == "resnet":
                return ResnetGenerator(c_in, c_out, size, width, norm, o.blocks)
            return UNetGenerator(c_in, c_out, size, width, norm, dropout=0.0)

        patch = m.patch or (70 if size >= 64 else 34)
        if patch not in RECEPTIVE_FIELDS:
            raise CondganError(f"model.patch must be one of {', '.join(map(str, RECEPTIVE_FIELDS))} (px), got {patch}")
        d_norm = trainer.recipe.d_norm

        def judge(c: int) -> nn.Module:
            return PatchDiscriminator(0, c, size, width, d_norm, patch, m.spectral_norm)

        return {"G_AB": translator(ca, cb), "G_BA": translator(cb, ca), "D_A": judge(ca), "D_B": judge(cb)}

    def make_batches(self, trainer: Trainer, memory_format: torch.memory_format) -> UnpairedBatches:
        t = self.config.train
        return UnpairedBatches(trainer.data, t.batch_size, t.seed, trainer.device, memory_format)

    def steps_per_epoch(self, trainer: Trainer) -> int:
        return trainer.batches.steps_per_epoch

    def spec(self, data: UnpairedData):
        return data.spec

    def condition(self, trainer: Trainer, name: str):
        return trainer.data.condition("AtoB" if name == "G_AB" else "BtoA")

    def prepare(self, trainer: Trainer) -> None:
        autocast, reduce_grads = trainer.runtime
        o = self.options
        idt = o.cycle_weight * o.identity_weight
        weights = CycleWeights(trainer.recipe.adv_weight, o.cycle_weight, idt, o.cycle_noise, o.cycle_weight_b)
        self.ctx = CycleContext(
            trainer.fwd,
            trainer.opts["G"],
            trainer.opts["D"],
            trainer.recipe.loss,
            weights,
            self.pools,
            autocast,
            reduce_grads,
            trainer.noise_gen,
        )

    def step(self, trainer: Trainer) -> dict[str, torch.Tensor]:
        batch = trainer.batches(trainer.step)
        shard = trainer.dist.shard
        stats = cycle_step(self.ctx, CycleBatch(shard(batch.a), shard(batch.b)))
        for name, ema in trainer.emas.items():
            update_ema_(ema, trainer.nets[name], warmed_decay(self.config.train.ema, trainer.step))
        return stats

    def grid(self, trainer: Trainer, saved: Mapping[str, nn.Module]) -> np.ndarray:
        """Two blocks: A | G_AB(A) | G_BA(G_AB(A)) and B | G_BA(B) | G_AB(G_BA(B)), fixed training images."""
        from condgan.images import PAD, hwc, label_grid, make_grid
        from condgan.translate import translate

        first, data = slice(0, GRID_COLUMNS), trainer.data
        blocks = []
        for there, back, reals in (("G_AB", "G_BA", data.inputs), ("G_BA", "G_AB", data.images)):
            out = translate(saved[there], reals[first])
            rows = [reals[first], out, translate(saved[back], out)]
            blocks += [r.cpu().expand(-1, 3, -1, -1) if r.shape[1] == 1 else r.cpu() for r in rows]
        array = make_grid(hwc(torch.cat(blocks).numpy()), GRID_COLUMNS)
        names = ["A", "A->B", "A->B->A", "B", "B->A", "B->A->B"]
        return label_grid(array, data.images.shape[-1], PAD, names, None)

    def standing_inputs(self, trainer: Trainer, name: str, n: int) -> Iterator[tuple[None, torch.Tensor]]:
        side = trainer.batches.a if name == "G_AB" else trainer.batches.b
        for i in range(n):
            yield None, side(i)[0]

    def state_dict(self) -> dict[str, Any]:
        return {f"pool_{k}": pool.state_dict() for k, pool in self.pools.items()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        for k, pool in self.pools.items():
            pool.load_state_dict(state.get(f"pool_{k}", {}))
