"""StarGAN (Choi et al. 2018): one generator edits an image into any target attributes; one D
says real or fake and reads the attributes.

Per update, for a batch of real images x with source attributes c:
- targets: each image changes one factor, drawn uniformly, to a value drawn uniformly (it may
  be its own: the identity edit is an edit too); each other factor is given by its value or,
  with probability `model.stargan.keep`, as "keep" (its block all zero), so that at use time
  a request names only what it changes. The reference permutes whole label vectors inside the
  batch instead; here a permutation would ask for combinations no image has (a baby with a
  beard) four factors at a time, while the edits users ask for change one.
- D: the adversarial loss on x against G(x, c') (the config's loss; WGAN-GP by default, with
  its gradient penalty), plus lambda_cls x the attribute classification of the REAL images
  against their SOURCE attributes;
- G (every n_critic D steps): the adversarial term on G(x, c'), plus lambda_cls x the
  classification of the FAKES against the TARGET attributes (the factors the target names),
  plus lambda_rec x |x - G(G(x, c'), c_back)|, where c_back names the source value of each
  factor c' named (the way back), plus mask_weight x the attention mask's mean.
Augmentation: each image mirrored with probability 1/2, the batch shifted by up to 1/16 of the
side (the ground, white, fills in): neither changes an attribute. `train.diffaugment`
(translation, cutout; not color, which changes the attributes) is applied to what D sees, reals
and edits alike, each image its own draw: without it, G learnt to paint a stripe of the target
colour down the middle of the face, where every position of D's last map looks.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from condgan.augment import DiffAugment
from condgan.conditions import ConditionSpec, ImageCondition
from condgan.data import ImageData, load_dataset
from condgan.data.batches import ShuffledBatches
from condgan.errors import CondganError
from condgan.losses import GANLoss, gradient_penalty, l1_loss
from condgan.models.stargan import StarDiscriminator, StarGenerator, with_attribute_maps
from condgan.objectives.base import Objective
from condgan.train.ema import update_ema_, warmed_decay

if TYPE_CHECKING:
    from condgan.train.trainer import Trainer

GRID_COLUMNS = 8


@dataclass(frozen=True)
class StarWeights:
    adversarial: float = 1.0
    cls: float = 1.0
    rec: float = 10.0
    mask: float = 0.1
    gp: float = 0.0
    keep: float = 0.5


@dataclass(frozen=True)
class Edits:
    """One batch's edits: target codes (N, F), which factors the target names (N, F) bool, and
    the way back (the source codes under the same names)."""

    source: torch.Tensor
    target: torch.Tensor
    named: torch.Tensor


def attribute_vectors(codes: torch.Tensor, named: torch.Tensor, widths: tuple[int, ...]) -> torch.Tensor:
    """codes (N, F), named (N, F) bool -> (N, sum(widths)) float: each named factor's one-hot
    block, zeros for the others (ConditionSpec.encode_named's layout)."""
    blocks = [F.one_hot(codes[:, j], w).float() * named[:, j : j + 1].float() for j, w in enumerate(widths)]
    return torch.cat(blocks, 1)


def draw_edits(codes: torch.Tensor, widths: tuple[int, ...], keep: float, generator: torch.Generator) -> Edits:
    """Each row changes one factor (uniform) to a value (uniform); the others are named with
    probability 1 - keep (module docstring)."""
    n, f = codes.shape
    device = codes.device
    changed = torch.randint(f, (n,), generator=generator, device=device)
    sizes = torch.tensor(widths, device=device)[changed]
    value = (torch.rand(n, generator=generator, device=device) * sizes).long().clamp(max=sizes - 1)
    target = codes.clone()
    rows = torch.arange(n, device=device)
    target[rows, changed] = value
    named = torch.rand(n, f, generator=generator, device=device) >= keep
    named[rows, changed] = True
    return Edits(codes, target, named)


def classification_loss(
    logits: torch.Tensor, codes: torch.Tensor, named: torch.Tensor | None, widths: tuple[int, ...]
) -> torch.Tensor:
    """Sum over factors of the mean cross-entropy of each block of `logits` (N, K) against `codes`
    (N, F); a row counts for a factor only where `named` (None: every factor is named)."""
    total, at = logits.new_zeros(()), 0
    for j, w in enumerate(widths):
        ce = F.cross_entropy(logits[:, at : at + w].float(), codes[:, j], reduction="none")
        total = total + (ce if named is None else ce * named[:, j].float()).mean()
        at += w
    return total


@dataclass(frozen=True)
class StarContext:
    G: nn.Module
    D: nn.Module
    opt_G: torch.optim.Optimizer
    opt_D: torch.optim.Optimizer
    loss: GANLoss
    weights: StarWeights
    widths: tuple[int, ...]
    autocast: Any
    reduce_grads: Any
    generator: torch.Generator
    augment: DiffAugment = field(default_factory=lambda: DiffAugment(None))  # train.diffaugment: what D sees

    def seen(self, x: torch.Tensor) -> torch.Tensor:
        """x as D sees it: through DiffAugment (a fresh draw per call, each image its own)."""
        return self.augment(x, self.generator) if self.augment else x


def _mean(ctx: StarContext, logits: torch.Tensor) -> torch.Tensor:
    logits = logits.detach().float()
    return (torch.sigmoid(logits) if ctx.loss.probability else logits).mean()


def discriminator_loss(ctx: StarContext, x: torch.Tensor, edits: Edits) -> tuple[torch.Tensor, dict]:
    """D's objective: real against edited, real images' attributes against their source codes."""
    target = attribute_vectors(edits.target, edits.named, ctx.widths)
    with torch.no_grad(), ctx.autocast():
        fake = ctx.G(None, with_attribute_maps(x, target))
    with ctx.autocast():
        out_real, out_fake = ctx.D(ctx.seen(x)), ctx.D(ctx.seen(fake))
    adversarial = ctx.loss.d(out_real.logits.float(), out_fake.logits.float())
    cls = classification_loss(out_real.class_logits, edits.source, None, ctx.widths)
    total = adversarial + ctx.weights.cls * cls
    stats = {"D(x)": _mean(ctx, out_real.logits), "D(G(z))": _mean(ctx, out_fake.logits), "d_cls": cls.detach()}
    if ctx.weights.gp:
        alpha = torch.rand(len(x), generator=ctx.generator, device=x.device)
        with ctx.autocast():
            gp = gradient_penalty(ctx.D, x, fake.to(x.dtype), None, alpha)
        total = total + ctx.weights.gp * gp.float()
        stats["d_gp"] = gp.detach()
    stats["d_loss"] = total.detach()
    return total, stats


def generator_loss(ctx: StarContext, x: torch.Tensor, edits: Edits) -> tuple[torch.Tensor, dict]:
    """G's objective: fool D, be read as the target, come back to x, edit few pixels."""
    w = ctx.weights
    target = attribute_vectors(edits.target, edits.named, ctx.widths)
    back = attribute_vectors(edits.source, edits.named, ctx.widths)
    with ctx.autocast():
        fake, mask = ctx.G(None, with_attribute_maps(x, target), with_mask=True)
        out = ctx.D(ctx.seen(fake))
        rec = ctx.G(None, with_attribute_maps(fake, back))
    adversarial = ctx.loss.g(out.logits.float())
    cls = classification_loss(out.class_logits, edits.target, edits.named, ctx.widths)
    reconstruction = l1_loss(rec.float(), x.float())
    mask_mean = mask.float().mean()
    total = w.adversarial * adversarial + w.cls * cls + w.rec * reconstruction + w.mask * mask_mean
    stats = {"g_adv": adversarial.detach(), "g_cls": cls.detach(), "g_rec": reconstruction.detach()}
    return total, stats | {"mask": mask_mean.detach(), "g_loss": total.detach()}


def _update(ctx: StarContext, loss: torch.Tensor, opt: torch.optim.Optimizer) -> None:
    opt.zero_grad(set_to_none=True)
    loss.backward()
    ctx.reduce_grads(opt)
    opt.step()


def augment(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Each image mirrored with probability 1/2; the batch shifted by up to side/16 px, white filling in."""
    n, side = len(x), x.shape[-1]
    flip = torch.rand(n, generator=generator, device=x.device) < 0.5
    x = torch.where(flip[:, None, None, None], x.flip(3), x)
    pad = max(1, side // 16)
    dy, dx = torch.randint(-pad, pad + 1, (2,), generator=generator, device=x.device).tolist()
    padded = F.pad(x, (pad,) * 4, value=1.0)
    return padded[..., pad - dy : pad - dy + side, pad - dx : pad - dx + side]


def attribute_spec(data: ImageData, names: tuple[str, ...] | None) -> tuple[ConditionSpec, list[int]]:
    """The factors G edits (model.stargan.attributes; None: all) and their columns in the data's codes."""
    spec = data.spec
    if not spec.factors:
        raise CondganError("model stargan edits attributes: the dataset has no labels")
    if any(f.binary for f in spec.factors):
        raise CondganError("model stargan edits categorical factors; this dataset has binary attributes")
    if names is None:
        return spec, list(range(len(spec.factors)))
    missing = [n for n in names if n not in spec.factor_names]
    if missing:
        raise CondganError(
            f"model.stargan.attributes: '{missing[0]}' is not a factor of this dataset ({', '.join(spec.factor_names)})"
        )
    columns = [spec.factor_names.index(n) for n in dict.fromkeys(names)]
    return ConditionSpec(tuple(spec.factors[j] for j in columns)), columns


def codes_of(data: ImageData) -> np.ndarray:
    """(N, F) value indices of every image's factors (a class dataset: its class)."""
    labels = data.labels.numpy()
    return labels[:, None].astype(np.int64) if data.spec.is_classes else data.spec.decode(labels)


class StarGANObjective(Objective):
    translates = True

    def __init__(self, config) -> None:
        super().__init__(config)
        self.options = config.model.stargan

    def load_data(self, split: str) -> ImageData:
        d = self.config.data
        data = load_dataset(d.dataset, split, d.data_dir, img_size=d.img_size, channels=d.channels, holdout=d.holdout)
        self.attributes, self.columns = attribute_spec(data, self.options.factor_names())
        return data

    def build(self, trainer: Trainer) -> dict[str, nn.Module]:
        m, o, data = self.config.model, self.options, trainer.data
        c, size = data.images.shape[1], data.images.shape[-1]
        width = m.width or 32
        try:
            G = StarGenerator(c, c, size, self.attributes.dim, width, o.blocks, o.mask)
            D = StarDiscriminator(c, size, self.attributes.dim, width, spectral_norm=m.spectral_norm)
        except ValueError as err:
            raise CondganError(f"model stargan: {err}") from None
        return {"G": G, "D": D}

    def spec(self, data: ImageData) -> ImageCondition:
        c, size = data.images.shape[1], data.images.shape[-1]
        return ImageCondition(c, size, "edit", attributes=self.attributes)

    def make_batches(self, trainer: Trainer, memory_format: torch.memory_format) -> ShuffledBatches:
        t, data = self.config.train, trainer.data
        codes = torch.from_numpy(codes_of(data)[:, self.columns])
        return ShuffledBatches(data.images, codes, t.batch_size, t.seed, trainer.device, memory_format)

    def prepare(self, trainer: Trainer) -> None:
        autocast, reduce_grads = trainer.runtime
        o, r = self.options, trainer.recipe
        weights = StarWeights(r.adv_weight, o.cls_weight, o.rec_weight, o.mask_weight, r.gp_weight, o.keep)
        widths = tuple(f.width for f in self.attributes.factors)
        f = trainer.fwd
        opts = trainer.opts
        self.ctx = StarContext(
            f["G"],
            f["D"],
            opts["G"],
            opts["D"],
            r.loss,
            weights,
            widths,
            autocast,
            reduce_grads,
            trainer.noise_gen,
            trainer.augment,
        )

    def warm_up(self, trainer: Trainer) -> None:
        """model.stargan.cls_warmup D steps of attribute classification on real images, on the
        batches the GAN steps then take in turn (run in step 0: a resumed run has had them)."""
        ctx, shard = self.ctx, trainer.dist.shard
        for i in range(self.options.cls_warmup):
            x, codes = trainer.batches(i)
            x = augment(shard(x), ctx.generator)
            with ctx.autocast():
                logits = ctx.D(ctx.seen(x)).class_logits
            _update(ctx, ctx.weights.cls * classification_loss(logits, shard(codes), None, ctx.widths), ctx.opt_D)

    def step(self, trainer: Trainer) -> dict[str, torch.Tensor]:
        ctx, n = self.ctx, trainer.recipe.n_critic
        shard = trainer.dist.shard
        if trainer.step == 0:
            self.warm_up(trainer)
        for i in range(n):
            x, codes = trainer.batches(trainer.step * n + i)
            x, codes = augment(shard(x), ctx.generator), shard(codes)
            edits = draw_edits(codes, ctx.widths, ctx.weights.keep, ctx.generator)
            d_loss, stats = discriminator_loss(ctx, x, edits)
            _update(ctx, d_loss, ctx.opt_D)
        ctx.D.requires_grad_(False)
        try:
            g_loss, g_stats = generator_loss(ctx, x, edits)
            ctx.opt_G.zero_grad(set_to_none=True)
            g_loss.backward()
        finally:
            ctx.D.requires_grad_(True)
        ctx.reduce_grads(ctx.opt_G)
        ctx.opt_G.step()
        for name, ema in trainer.emas.items():
            update_ema_(ema, trainer.nets[name], warmed_decay(self.config.train.ema, trainer.step))
        return stats | g_stats

    def grid(self, trainer: Trainer, saved: Mapping[str, nn.Module]) -> np.ndarray:
        """Rows: fixed training images, then each of them edited into every value of every factor."""
        from condgan.images import PAD, hwc, label_grid, make_grid
        from condgan.translate import translate

        first = trainer.data.images[:GRID_COLUMNS]
        rows, names = [first], ["input"]
        for j, f in enumerate(self.attributes.factors):
            for v, value in enumerate(f.values):
                codes = np.zeros((len(first), len(self.attributes.factors)), np.int64)
                named = np.zeros_like(codes, dtype=bool)
                codes[:, j], named[:, j] = v, True
                vectors = torch.from_numpy(self.attributes.encode_named(codes, named))
                rows.append(translate(saved["G"], first, attributes=vectors))
                names.append(f"{f.name}={value}"[:14])
        array = make_grid(hwc(torch.cat([r.cpu() for r in rows]).numpy()), GRID_COLUMNS)
        return label_grid(array, first.shape[-1], PAD, names, None)

    def standing_inputs(self, trainer: Trainer, name: str, n: int) -> Iterator[tuple[None, torch.Tensor]]:
        widths = tuple(f.width for f in self.attributes.factors)
        for i in range(n):
            x, codes = trainer.batches(i)
            named = torch.ones_like(codes, dtype=torch.bool)
            yield None, with_attribute_maps(x, attribute_vectors(codes, named, widths))

    def condition(self, trainer: Trainer, name: str) -> ImageCondition:
        return trainer.spec
