"""The first two objectives: the sampling GANs (G(z, y) against D(x, y): every loss and
regulariser of condgan.losses) and pix2pix (the same step, with an image as the condition).

One step: n_critic D steps, each on a fresh real and fake batch; G learns from the last fake
batch, in the same pass of D (simultaneous) or through the updated D (alternating), as
condgan.train.steps computes them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

import torch
from torch import nn

from condgan.data import load_dataset
from condgan.data.batches import PairedBatches, ShuffledBatches, StreamingBatches
from condgan.data.paired import load_pairs
from condgan.data.tasks import redrawn_inputs
from condgan.models.conditioning import with_label_maps
from condgan.objectives.base import Objective
from condgan.sampling import grid_picture
from condgan.train.ema import update_ema_, warmed_decay
from condgan.train.steps import Batch, StepContext, d_step, g_step, joint_step
from condgan.translate import translation_grid

if TYPE_CHECKING:
    from condgan.train.trainer import Trainer

GRID_COLUMNS = 8


class GANObjective(Objective):
    """G(z, y) -> x against D(x, y), with the config's loss and regularisers."""

    def load_data(self, split: str):
        d = self.config.data
        return load_dataset(d.dataset, split, d.data_dir, img_size=d.img_size, channels=d.channels, holdout=d.holdout)

    def _shapes(self, trainer: Trainer) -> dict:
        """What the family's builder needs besides the config (pix2pix adds the input image's)."""
        return {}

    def build(self, trainer: Trainer) -> dict[str, nn.Module]:
        from condgan.train.setup import build_for

        data = trainer.data
        G, D = build_for(
            self.config,
            trainer.spec.dim,
            data.images.shape[1],
            data.images.shape[-1],
            trainer.recipe.d_norm,
            **self._shapes(trainer),
        )
        return {"G": G, "D": D}

    def make_batches(self, trainer: Trainer, memory_format: torch.memory_format):
        t, data = self.config.train, trainer.data
        streamed = not isinstance(data.images, torch.Tensor)  # a large image folder stays on disk
        batches = StreamingBatches if streamed else ShuffledBatches
        return batches(data.images, data.labels, t.batch_size, t.seed, trainer.device, memory_format)

    def prepare(self, trainer: Trainer) -> None:
        autocast, reduce_grads = trainer.runtime
        t = self.config.train
        self.ctx = StepContext(
            trainer.fwd["D"],
            trainer.opts["D"],
            trainer.opts["G"],
            trainer.recipe,
            autocast,
            reduce_grads,
            t.fuse_d,
            trainer.nets["G"],
        )

    def _real(self, trainer: Trainer, index: int) -> tuple[torch.Tensor, torch.Tensor]:
        x_real, y = trainer.batches(index)  # the global batch; each process keeps its shard
        if self.config.data.scale == "unit":
            x_real = x_real.add(1.0).mul_(0.5)  # [-1, 1] -> [0, 1]: the seed tutorial's choice
        return x_real, y

    def step(self, trainer: Trainer) -> dict[str, torch.Tensor]:
        recipe, shard, ctx = trainer.recipe, trainer.dist.shard, self.ctx
        n, joint = recipe.n_critic, self.config.train.update == "simultaneous"
        G = trainer.fwd["G"]
        for i in range(n):
            last = i == n - 1
            x_real, y = self._real(trainer, trainer.step * n + i)
            size = len(x_real)
            x_real, y = shard(x_real), shard(y) if trainer.feeds_y else None
            z = shard(torch.randn(size, trainer.nets["G"].z_dim, generator=trainer.noise_gen, device=trainer.device))
            with torch.set_grad_enabled(last), ctx.autocast():  # only the last fake batch trains G
                x_fake = G(z, y)
            draws = {
                name: shard(reg.draw(size, trainer.noise_gen, trainer.device))
                for name, reg, _ in recipe.active
                if reg.draw is not None
            }
            augment = trainer.augment
            if augment:  # D sees both batches through DiffAugment (G's graph goes through it)
                x_real = augment.apply(x_real, augment.draw(size, trainer.noise_gen, trainer.device), shard)
                x_fake = augment.apply(x_fake, augment.draw(size, trainer.noise_gen, trainer.device), shard)
            index = trainer.step * n + i
            batch = Batch(x_real, x_fake, y, draws, d_index=index, d_total=trainer.total_steps * n)
            stats = joint_step(ctx, batch) if last and joint else d_step(ctx, batch)
        if not joint:
            stats |= g_step(ctx, batch)
        if trainer.emas:
            update_ema_(trainer.emas["G"], trainer.nets["G"], warmed_decay(self.config.train.ema, trainer.step))
        return stats

    def grid(self, trainer: Trainer, saved: Mapping[str, nn.Module]) -> torch.Tensor:
        return grid_picture(saved["G"], trainer.spec, trainer.fixed_z)

    def standing_inputs(self, trainer: Trainer, name: str, n: int) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        z_stream = torch.Generator(device=trainer.device).manual_seed(self.config.train.seed + 5)
        for i in range(n):  # the labels of class data alone: a streamed folder's images stay on disk
            y = self._conditions(trainer, i)
            z = torch.randn(len(y), trainer.nets["G"].z_dim, generator=z_stream, device=trainer.device)
            yield z, (y if trainer.feeds_y else None)

    def _conditions(self, trainer: Trainer, i: int) -> torch.Tensor:
        batches = trainer.batches
        return batches.labels[batches.indices(i)].to(trainer.device)


class Pix2PixObjective(GANObjective):
    """The condition is an image: G(x_in) -> x against D(x, x_in) (condgan.models.pix2pix); the
    same step, with pairs where the sampling GANs have labels and z of width 0."""

    translates = True

    def load_data(self, split: str):
        d = self.config.data
        return load_pairs(
            d.dataset, d.task, split, d.data_dir, img_size=d.img_size, channels=d.channels, direction=d.direction
        )

    def label_classes(self, trainer: Trainer) -> int:
        return getattr(trainer.spec, "label_classes", 0)

    def _shapes(self, trainer: Trainer) -> dict:
        inputs = trainer.data.inputs
        return {
            "in_channels": inputs.shape[1],
            "in_size": inputs.shape[-1],
            "label_classes": self.label_classes(trainer),
        }

    def spec(self, data):
        """With model.with_label the condition records that G takes the class too."""
        return dataclasses.replace(data.spec, labelled=True) if self.config.model.with_label else data.spec

    def make_batches(self, trainer: Trainer, memory_format: torch.memory_format):
        t, d, data = self.config.train, self.config.data, trainer.data
        redraw = redrawn_inputs(d.task, t.seed + 4) if d.redraw else None  # inpaint: a fresh hole each time
        k = self.label_classes(trainer)
        classes = (data.labels, k, with_label_maps) if k else None
        pairs = (data.images, data.inputs)
        return PairedBatches(
            *pairs, t.batch_size, t.seed, trainer.device, memory_format, redraw=redraw, classes=classes
        )

    def grid(self, trainer: Trainer, saved: Mapping[str, nn.Module]) -> torch.Tensor:
        first, data = slice(0, GRID_COLUMNS), trainer.data  # rows: input | output | target of fixed pairs
        return translation_grid(saved["G"], data.inputs[first], data.images[first], data.labels[first])

    def _conditions(self, trainer: Trainer, i: int) -> torch.Tensor:
        return trainer.batches(i)[1]
