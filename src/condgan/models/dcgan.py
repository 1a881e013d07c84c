"""Conditional DCGAN (Radford et al. 2015 + label conditioning) for any square size and channels.

G: concat(z, y) -> linear "1x1 -> s0 x s0" projection -> `refine` 3x3 convs at s0 x s0 (none by
default) -> k transposed convs (x2 each, BatchNorm + ReLU) -> tanh, centre-cropped to img_size
when img_size is not s0 * 2^k.
D: image ++ label maps -> k strided convs (LeakyReLU 0.2, a norm after the first) ->
flatten -> head (logit; plus projection or class logits). num_classes=0 is the
unconditional DCGAN, same code. Where the label enters is chosen by `cond` (conditioning.py).
"""

from __future__ import annotations

import math
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn

from condgan.models.conditioning import D_CONDITIONING, G_CONDITIONING, DOutput, make_norm
from condgan.models.fast_ops import ConditionedConv2d, ImageConvTranspose2d
from condgan.models.init import dcgan_init_, spectral_norm_

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
    """`refine` 3x3 conv + norm + ReLU blocks at the start map (7x7 for 28 px) after the projection:
    depth where the digit's layout is decided, at the cheapest resolution (model.g_refine)."""

    def __init__(
        self,
        z_dim: int,
        num_classes: int,
        img_channels: int,
        img_size: int,
        width: int = 64,
        cond: str = "concat",
        refine: int = 0,
    ):
        super().__init__()
        self.config = dict(
            z_dim=z_dim, num_classes=num_classes, img_channels=img_channels, img_size=img_size, width=width, cond=cond
        )
        if refine:  # only when used: generators saved before the option keep their config.json
            self.config["refine"] = refine
        self.z_dim, self.num_classes, self.img_size = z_dim, num_classes, img_size
        k = num_stages(img_size)
        self.s0, self.c0 = math.ceil(img_size / 2**k), _channels(width, 0, k)
        spec = G_CONDITIONING.get(cond)
        self.cond = spec.encoder(num_classes)
        self.project = nn.Linear(z_dim + self.cond.dim, self.c0 * self.s0 * self.s0, bias=False)
        self.project_norm = spec.norm(self.c0 * self.s0 * self.s0, num_classes, spatial=False)
        self.refine = nn.ModuleList(nn.Conv2d(self.c0, self.c0, 3, 1, 1, bias=False) for _ in range(refine))
        self.refine_norms = nn.ModuleList(spec.norm(self.c0, num_classes, spatial=True) for _ in range(refine))
        chans = [_channels(width, i, k) for i in range(k)]
        self.convs = nn.ModuleList(nn.ConvTranspose2d(a, b, 4, 2, 1, bias=False) for a, b in pairwise(chans))
        self.norms = nn.ModuleList(spec.norm(c, num_classes, spatial=True) for c in chans[1:])
        self.to_image = ImageConvTranspose2d(chans[-1], img_channels, 4, 2, 1)  # an nn.ConvTranspose2d
        dcgan_init_(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        """z: (N, z_dim), y: (N,) int64 -> x: (N, C, img_size, img_size) in [-1, 1]."""
        h = F.relu(self.project_norm(self.project(torch.cat([z, self.cond(y, z)], dim=1)), y))
        h = h.view(-1, self.c0, self.s0, self.s0)
        for conv, norm in zip(self.refine, self.refine_norms):
            h = F.relu(norm(conv(h), y))
        for conv, norm in zip(self.convs, self.norms):
            h = F.relu(norm(conv(h), y))
        x = torch.tanh(self.to_image(h))
        if x.shape[-1] != self.img_size:  # s0 * 2^k overshoots: centre-crop
            off = (x.shape[-1] - self.img_size) // 2
            x = x[..., off : off + self.img_size, off : off + self.img_size]
        return x


class DCGANDiscriminator(nn.Module):
    """`norm` follows every conv but the first (DCGAN: none on D's input layer)."""

    def __init__(
        self,
        num_classes: int,
        img_channels: int,
        img_size: int,
        width: int = 64,
        cond: str = "concat",
        norm: str = "batch",
        spectral_norm: bool = False,
    ):
        super().__init__()
        k = num_stages(img_size)
        spec = D_CONDITIONING.get(cond)
        self.cond = spec.encoder(num_classes)
        c_in, size = _channels(width, k - 1, k), img_size // 2
        self.stem = ConditionedConv2d(img_channels, self.cond.dim, c_in, bias=True)  # conv(cat(x, label maps))
        layers: list[nn.Module] = [nn.LeakyReLU(0.2)]
        for i in range(1, k):
            c_out = _channels(width, k - 1 - i, k)
            layers += [
                nn.Conv2d(c_in, c_out, 4, 2, 1, bias=norm == "none"),
                make_norm(norm, c_out, spatial=True),
                nn.LeakyReLU(0.2),
            ]
            c_in, size = c_out, size // 2
        self.features = nn.Sequential(*layers)
        self.head = spec.head(c_in * size * size, c_in, num_classes)
        dcgan_init_(self)
        if spectral_norm:
            spectral_norm_(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> DOutput:
        """x: (N, C, H, W) in [-1, 1], y: (N,) int64 -> DOutput(logits (N,), class logits or None)."""
        h = self.features(self.stem(x, self.cond(y, x)))  # the label maps enter the first conv
        return self.head(h, h.sum(dim=(2, 3)), y)  # sum pooling, as in SNGAN's projection D
