"""The CGAN of Mirza & Osindero (2014), in the seed tutorial's MLP sizes.

G: concat(z, y) -> w -> 2w -> 4w -> C*H*W, tanh   (w = 256: 256, 512, 1024, 784)
D: concat(x, y) -> 2w -> w -> 1 logit             (512, 256, 1)

The tutorial's recipe (ReLU in D, data in [0, 1], Adam 1e-3) collapses on MNIST; what
trains is the DCGAN practice: LeakyReLU(0.2) everywhere, BatchNorm in G's hidden layers,
dropout in D so it cannot memorise the real set, data in [-1, 1], Adam 2e-4 / 0.5.
"""

from __future__ import annotations

from itertools import pairwise

import torch
from torch import nn

from condgan.models.conditioning import D_CONDITIONING, G_CONDITIONING, DOutput, make_norm
from condgan.models.init import dcgan_init_, spectral_norm_

ACTIVATIONS = {"leaky_relu": lambda: nn.LeakyReLU(0.2), "relu": nn.ReLU}  # the seed tutorial's D: relu


class MLPGenerator(nn.Module):
    def __init__(
        self,
        z_dim: int,
        num_classes: int,
        img_channels: int,
        img_size: int,
        width: int = 256,
        cond: str = "concat",
        activation: str = "leaky_relu",
        norm: str = "batch",
    ):
        super().__init__()
        self.config = dict(
            z_dim=z_dim, num_classes=num_classes, img_channels=img_channels, img_size=img_size, width=width, cond=cond
        )
        if (activation, norm) != ("leaky_relu", "batch"):  # recorded only when set: older config.json files match
            self.config |= {"activation": activation, "norm": norm}
        self.z_dim, self.num_classes = z_dim, num_classes
        self.out_shape = (img_channels, img_size, img_size)
        spec = G_CONDITIONING.get(cond)
        self.cond = spec.encoder(num_classes)
        dims = [z_dim + self.cond.dim, width, 2 * width, 4 * width]
        self.linears = nn.ModuleList(nn.Linear(a, b) for a, b in pairwise(dims))
        if norm == "batch":
            self.norms = nn.ModuleList(spec.norm(d, num_classes, spatial=False) for d in dims[1:])
        else:
            self.norms = nn.ModuleList(make_norm(norm, d, spatial=False) for d in dims[1:])
        self.act = ACTIVATIONS[activation]()
        self.to_image = nn.Linear(dims[-1], img_channels * img_size * img_size)
        dcgan_init_(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """z: (N, z_dim), y: (N,) int64 -> x: (N, C, H, W) in [-1, 1]."""
        h = torch.cat([z, self.cond(y, z)], dim=1)
        for linear, norm in zip(self.linears, self.norms):
            h = self.act(norm(linear(h), y))
        return torch.tanh(self.to_image(h)).view(-1, *self.out_shape)


class MLPDiscriminator(nn.Module):
    def __init__(
        self,
        num_classes: int,
        img_channels: int,
        img_size: int,
        width: int = 256,
        cond: str = "concat",
        norm: str = "none",
        spectral_norm: bool = False,
        dropout: float = 0.3,
        activation: str = "leaky_relu",
    ):
        super().__init__()
        act = ACTIVATIONS[activation]
        spec = D_CONDITIONING.get(cond)
        self.cond = spec.encoder(num_classes)
        d_in = img_channels * img_size * img_size + self.cond.dim
        self.features = nn.Sequential(
            nn.Linear(d_in, 2 * width),
            make_norm(norm, 2 * width, spatial=False),
            act(),
            nn.Dropout(dropout),
            nn.Linear(2 * width, width),
            make_norm(norm, width, spatial=False),
            act(),
            nn.Dropout(dropout),
        )
        self.head = spec.head(width, width, num_classes)
        dcgan_init_(self)
        if spectral_norm:
            spectral_norm_(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> DOutput:
        """x: (N, C, H, W) in [-1, 1], y: (N,) int64 -> DOutput(logits (N,), class logits or None)."""
        h = x.flatten(1)
        h = self.features(torch.cat([h, self.cond(y, h)], dim=1))
        return self.head(h, h, y)
