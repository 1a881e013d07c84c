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

from condgan.models.conditioning import OneHot
from condgan.models.init import dcgan_init_


class MLPGenerator(nn.Module):
    def __init__(self, z_dim: int, num_classes: int, img_channels: int, img_size: int, width: int = 256):
        super().__init__()
        self.config = dict(z_dim=z_dim, num_classes=num_classes, img_channels=img_channels,
                           img_size=img_size, width=width)  # fmt: skip
        self.z_dim, self.num_classes = z_dim, num_classes
        self.out_shape = (img_channels, img_size, img_size)
        self.cond = OneHot(num_classes)
        dims = [z_dim + self.cond.dim, width, 2 * width, 4 * width]
        layers: list[nn.Module] = []
        for d_in, d_out in pairwise(dims):
            layers += [nn.Linear(d_in, d_out), nn.BatchNorm1d(d_out), nn.LeakyReLU(0.2)]
        layers += [nn.Linear(dims[-1], img_channels * img_size * img_size), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init_(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """z: (N, z_dim), y: (N,) int64 -> x: (N, C, H, W) in [-1, 1]."""
        h = torch.cat([z, self.cond(y, z)], dim=1)
        return self.net(h).view(-1, *self.out_shape)


class MLPDiscriminator(nn.Module):
    def __init__(self, num_classes: int, img_channels: int, img_size: int, width: int = 256,
                 dropout: float = 0.3):  # fmt: skip
        super().__init__()
        self.cond = OneHot(num_classes)
        d_in = img_channels * img_size * img_size + self.cond.dim
        self.net = nn.Sequential(
            nn.Linear(d_in, 2 * width), nn.LeakyReLU(0.2), nn.Dropout(dropout),
            nn.Linear(2 * width, width), nn.LeakyReLU(0.2), nn.Dropout(dropout),
            nn.Linear(width, 1),
        )  # fmt: skip
        dcgan_init_(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """x: (N, C, H, W) in [-1, 1], y: (N,) int64 -> logits (N,)."""
        h = x.flatten(1)
        return self.net(torch.cat([h, self.cond(y, h)], dim=1)).squeeze(1)
