"""StyleGAN2's objective: the sampling GANs' step (its loss, lazy R1 through loss.r1_every), then
on every k-th step the lazy path-length term, a G-side term that calls G's mapping and synthesis.

Path-length regularisation (Karras et al. 2020): for w from a half batch and a random image-space
direction u ~ N(0, I) / sqrt(H W), the length |J_w^T u| (per sample, averaged over G's layers)
is pulled toward its running mean a, so a fixed step in w moves the image by a fixed amount:
loss = pl_weight * k * E[(|J_w^T u| - a)^2]; a follows the batch's mean at rate pl_decay and is
kept in the checkpoint (the term resumes bit-identically).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import torch

from condgan.objectives.gan import GANObjective

if TYPE_CHECKING:
    from condgan.train.trainer import Trainer


def path_lengths(G, z: torch.Tensor, y: torch.Tensor | None, direction: torch.Tensor) -> torch.Tensor:
    """(N,) |J_w^T u| of G's synthesis at ws(z, y), with the graph kept (create_graph) for G's
    parameters; `direction` (N, C, H, W) is u."""
    ws = G.ws(z, y)
    images = G.synthesis(ws)
    (grad,) = torch.autograd.grad((images * direction).sum(), ws, create_graph=True)
    return grad.float().square().sum(2).mean(1).sqrt()


class StyleGANObjective(GANObjective):
    def __init__(self, config) -> None:
        super().__init__(config)
        self.pl_mean = torch.zeros(())

    def step(self, trainer: Trainer) -> dict[str, torch.Tensor]:
        stats = super().step(trainer)
        options = self.config.model.stylegan
        if options.pl_weight and trainer.step % options.pl_every == 0:
            stats |= self._path_length_step(trainer, options)
        return stats

    def _path_length_step(self, trainer: Trainer, options) -> dict[str, torch.Tensor]:
        G, opt = trainer.nets["G"], trainer.opts["G"]
        n = max(1, int(self.config.train.batch_size * options.pl_batch))
        # the conditions of a real batch (its labels alone: no images are read for this term)
        y = self._conditions(trainer, trainer.step)
        shard, size, channels = trainer.dist.shard, G.img_size, G.config["img_channels"]
        y = shard(y[:n]) if trainer.feeds_y else None
        z = shard(torch.randn(n, G.z_dim, generator=trainer.noise_gen, device=trainer.device))
        u = torch.randn(n, channels, size, size, generator=trainer.noise_gen, device=trainer.device)
        u = shard(u)
        lengths = path_lengths(G, z, y, u / size)
        self.pl_mean = self.pl_mean.to(lengths.device)
        self.pl_mean = torch.lerp(self.pl_mean, lengths.mean().detach(), options.pl_decay)
        penalty = (lengths - self.pl_mean).square().mean()
        opt.zero_grad(set_to_none=True)
        (penalty * options.pl_weight * options.pl_every).backward()
        _, reduce_grads = trainer.runtime
        reduce_grads(opt)
        opt.step()
        return {"g_pl": penalty.detach(), "pl_mean": self.pl_mean.detach().clone()}

    def state_dict(self) -> dict[str, Any]:
        return {"pl_mean": self.pl_mean.detach().cpu().clone()}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if "pl_mean" in state:
            self.pl_mean = state["pl_mean"].clone()
