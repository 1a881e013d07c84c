"""Conditional DCGAN (Radford et al. 2015 + label conditioning) for any square size and channels.

G: concat(z, y) -> linear "1x1 -> s0 x s0" projection -> k transposed convs (x2 each,
BatchNorm + ReLU) -> tanh, centre-cropped to img_size when img_size is not s0 * 2^k.
D: image ++ label maps -> k strided convs (LeakyReLU 0.2, BatchNorm after the first) ->
flatten -> linear logit. num_classes=0 is the unconditional DCGAN, same code.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from condgan.models.conditioning import OneHot, as_maps
from condgan.models.init import dcgan_init_

MIN_SIZE, MAX_SIZE = 8, 64


def num_stages(img_size: int) -> int:
    """How many x2 up-samplings: the start map s0 = ceil(img_size / 2^k) lands in 4..7."""
    if not MIN_SIZE <= img_size <= MAX_SIZE:
        raise ValueError(f"DCGAN img_size must be in {MIN_SIZE}..{MAX_SIZE}, got {img_size}")
    return max(1, int(math.log2(img_size / 4)))


def _channels(width: int, stage: int, stages: int) -> int:
    """Feature width doubles towards the low-resolution end, capped at 8x."""
    return width * min(2 ** (stages - 1 - stage), 8)


class DCGANGenerator(nn.Module):
    def __init__(self, z_dim: int, num_classes: int, img_channels: int, img_size: int, width: int = 64):
        super().__init__()
        self.config = dict(z_dim=z_dim, num_classes=num_classes, img_channels=img_channels,
                           img_size=img_size, width=width)  # fmt: skip
        self.z_dim, self.num_classes, self.img_size = z_dim, num_classes, img_size
        k = num_stages(img_size)
        self.s0, self.c0 = math.ceil(img_size / 2**k), _channels(width, 0, k)
        self.cond = OneHot(num_classes)
        self.project = nn.Sequential(
            nn.Linear(z_dim + self.cond.dim, self.c0 * self.s0 * self.s0, bias=False),
            nn.BatchNorm1d(self.c0 * self.s0 * self.s0),
            nn.ReLU(),
        )
        layers: list[nn.Module] = []
        for i in range(k - 1):
            c_in, c_out = _channels(width, i, k), _channels(width, i + 1, k)
            layers += [nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]
        layers += [nn.ConvTranspose2d(_channels(width, k - 1, k), img_channels, 4, 2, 1), nn.Tanh()]
        self.upsample = nn.Sequential(*layers)
        dcgan_init_(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """z: (N, z_dim), y: (N,) int64 -> x: (N, C, img_size, img_size) in [-1, 1]."""
        h = self.project(torch.cat([z, self.cond(y, z)], dim=1))
        x = self.upsample(h.view(-1, self.c0, self.s0, self.s0))
        if x.shape[-1] != self.img_size:  # s0 * 2^k overshoots: centre-crop
            off = (x.shape[-1] - self.img_size) // 2
            x = x[..., off : off + self.img_size, off : off + self.img_size]
        return x


class DCGANDiscriminator(nn.Module):
    def __init__(self, num_classes: int, img_channels: int, img_size: int, width: int = 64):
        super().__init__()
        k = num_stages(img_size)
        self.cond = OneHot(num_classes)
        layers: list[nn.Module] = []
        c_in, size = img_channels + self.cond.dim, img_size
        for i in range(k):
            c_out = _channels(width, k - 1 - i, k)
            layers.append(nn.Conv2d(c_in, c_out, 4, 2, 1, bias=i == 0))
            if i > 0:  # DCGAN: no BatchNorm on D's input layer
                layers.append(nn.BatchNorm2d(c_out))
            layers.append(nn.LeakyReLU(0.2))
            c_in, size = c_out, size // 2
        self.features = nn.Sequential(*layers)
        self.head = nn.Linear(c_in * size * size, 1)
        dcgan_init_(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """x: (N, C, H, W) in [-1, 1], y: (N,) int64 -> logits (N,)."""
        cond = as_maps(self.cond(y, x), x.shape[-2], x.shape[-1])
        h = self.features(torch.cat([x, cond], dim=1))
        return self.head(h.flatten(1)).squeeze(1)
