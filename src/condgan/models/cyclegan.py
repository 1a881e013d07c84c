"""CycleGAN's generator (Zhu et al. 2017, after Johnson et al. 2016): the ResNet translator.

c7s1-w (7x7 conv after 3 px of reflection padding) -> two 3x3 stride-2 convs (w -> 2w -> 4w)
-> `blocks` residual blocks at 4w (reflection padding inside) -> two stride-2 transposed convs
back -> c7s1 to the output channels -> tanh. Reflection padding keeps the borders free of the
dark frame zero padding draws. The discriminator is pix2pix's PatchGAN without a condition
image (condgan.models.pix2pix.PatchDiscriminator with in_channels 0); the U-Net of pix2pix is
the other generator on offer (model.cyclegan.generator: unet).
"""

from __future__ import annotations

import torch
from torch import nn

from condgan.limits import LIMITS
from condgan.models.init import dcgan_init_
from condgan.models.pix2pix import _norm, enlarger

MAX_BLOCKS = LIMITS["model.cyclegan.blocks"]


class _ResnetBlock(nn.Module):
    def __init__(self, channels: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=norm != "batch"),
            _norm(norm, channels),
            nn.ReLU(),
            nn.ReflectionPad2d(1),
            nn.Conv2d(channels, channels, 3, bias=norm != "batch"),
            _norm(norm, channels),
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return h + self.body(h)


class ResnetGenerator(nn.Module):
    """x_in (N, in_channels, S, S) in [-1, 1] -> x (N, img_channels, S, S) in [-1, 1]; S a multiple of 4."""

    def __init__(
        self,
        in_channels: int,
        img_channels: int,
        img_size: int,
        width: int = 64,
        norm: str = "instance",
        blocks: int = 6,
        z_dim: int = 0,
        num_classes: int = 0,
        in_size: int | None = None,
        label_classes: int = 0,
    ):
        super().__init__()
        if z_dim or num_classes or label_classes:
            raise ValueError("the ResNet translator takes no noise and no label: z_dim and num_classes must be 0")
        if img_size % 4:
            raise ValueError(
                f"the ResNet generator halves the image twice: its size must be a multiple of 4, got {img_size}"
            )
        if not 0 <= blocks <= MAX_BLOCKS:
            raise ValueError(f"blocks must be in 0..{MAX_BLOCKS}, got {blocks}")
        self.config = dict(
            in_channels=in_channels,
            img_channels=img_channels,
            img_size=img_size,
            width=width,
            norm=norm,
            blocks=blocks,
            z_dim=0,
            num_classes=0,
            **({"in_size": in_size} if in_size and in_size != img_size else {}),
        )
        self.z_dim, self.num_classes, self.label_classes = 0, 0, 0
        self.img_size, self.in_channels, self.in_size = img_size, in_channels, in_size or img_size
        self.enlarge = enlarger(in_size, img_size)
        bias = norm != "batch"
        layers: list[nn.Module] = [
            nn.ReflectionPad2d(3),
            nn.Conv2d(in_channels, width, 7, bias=bias),
            _norm(norm, width),
            nn.ReLU(),
        ]
        c = width
        for _ in range(2):
            layers += [nn.Conv2d(c, 2 * c, 3, 2, 1, bias=bias), _norm(norm, 2 * c), nn.ReLU()]
            c *= 2
        layers += [_ResnetBlock(c, norm) for _ in range(blocks)]
        for _ in range(2):
            layers += [
                nn.ConvTranspose2d(c, c // 2, 3, 2, 1, output_padding=1, bias=bias),
                _norm(norm, c // 2),
                nn.ReLU(),
            ]
            c //= 2
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(c, img_channels, 7), nn.Tanh()]
        self.net = nn.Sequential(*layers)
        dcgan_init_(self)

    def forward(self, z: torch.Tensor | None, y: torch.Tensor | None = None) -> torch.Tensor:
        """z: ignored; y: the image to translate (N, in_channels, in_size, in_size)."""
        if y is None or y.dim() != 4:
            raise ValueError("the ResNet generator translates an image: pass y of shape (N, C, H, W)")
        return self.net(self.enlarge(y))
