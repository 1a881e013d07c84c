"""pix2pix (Isola et al. 2017): a U-Net generator and a PatchGAN discriminator, for any image
size 16..256 that halves at least twice and any channel counts in and out.

G: the condition image -> encoder (4x4 stride-2 convs, LeakyReLU 0.2, a norm after the first)
-> two 3x3 residual blocks at the bottom (context for sizes that stop halving early, e.g.
28 -> 14 -> 7) -> decoder (4x4 stride-2 transposed convs, ReLU, a norm) with a skip connection
from each encoder level -> tanh. Dropout in the innermost decoder levels is the paper's noise
source (there is no z: z_dim is 0); it is off in eval mode, so a trained G is deterministic.
D: concat(condition image, output image) -> the paper's C64-C128-... stack whose receptive
field is 16, 34 or 70 px -> one logit per patch.

With `label_classes` K > 0 the condition is the image followed by K one-hot constant maps of
its class (condgan.models.conditioning.with_label_maps): both networks' first conv takes K more channels.

A condition image smaller than the output (`in_size`: 7 for 28 px in superres4-small) is
enlarged by pixel repetition as both networks' first step, so users give the low-resolution
image as it is and the learned layers are those of the same-size case.
"""

from __future__ import annotations

import torch
from torch import nn

from condgan.models.conditioning import DOutput
from condgan.models.init import dcgan_init_, spectral_norm_

MIN_SIZE, MAX_SIZE = 16, 256
MAX_DEPTH = 8  # 256 -> 1, the paper's U-Net
NORMS = ("batch", "instance", "none")  # G's; D also takes "layer" (under a gradient penalty)
RECEPTIVE_FIELDS = {16: 1, 34: 2, 70: 3}  # PatchGAN receptive field (px) -> stride-2 layers


def unet_depth(img_size: int) -> int:
    """How many times the U-Net halves the image: while it halves cleanly and stays >= 2 px."""
    if not MIN_SIZE <= img_size <= MAX_SIZE:
        raise ValueError(f"U-Net img_size must be in {MIN_SIZE}..{MAX_SIZE}, got {img_size}")
    depth, size = 0, img_size
    while size % 2 == 0 and size // 2 >= 2 and depth < MAX_DEPTH:
        depth, size = depth + 1, size // 2
    if depth < 2:
        raise ValueError(f"U-Net img_size must halve at least twice (e.g. 28, 32, 64), got {img_size}")
    return depth


def _norm(kind: str, channels: int) -> nn.Module:
    if kind not in (*NORMS, "layer"):
        raise ValueError(f"norm must be one of {', '.join(NORMS)}, got {kind!r}")
    if kind == "batch":
        return nn.BatchNorm2d(channels)
    if kind == "instance":
        return nn.InstanceNorm2d(channels, affine=True)
    if kind == "layer":
        return nn.GroupNorm(1, channels)  # per sample over (C, H, W): safe under a gradient penalty
    return nn.Identity()


def enlarger(in_size: int | None, img_size: int) -> nn.Module:
    """Nearest-neighbour enlargement of an in_size px condition to img_size px (identity when equal)."""
    if in_size is None or in_size == img_size:
        return nn.Identity()
    if not 1 <= in_size < img_size or img_size % in_size:
        raise ValueError(f"the input size must divide the image size {img_size}, got {in_size}")
    return nn.Upsample(scale_factor=img_size // in_size, mode="nearest")


def _width(width: int, level: int) -> int:
    return width * min(2**level, 8)  # doubles per level, capped at 8x (the paper's 512 for width 64)


class _Residual(nn.Module):
    def __init__(self, channels: int, norm: str):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(channels, channels, 3, 1, 1, bias=norm != "batch"),
            _norm(norm, channels),
            nn.ReLU(),
            nn.Conv2d(channels, channels, 3, 1, 1, bias=norm != "batch"),
            _norm(norm, channels),
        )

    def forward(self, h: torch.Tensor) -> torch.Tensor:
        return torch.relu(h + self.body(h))


class UNetGenerator(nn.Module):
    """x_in (N, in_channels, S, S) in [-1, 1] -> x (N, img_channels, S, S) in [-1, 1]."""

    def __init__(
        self,
        in_channels: int,
        img_channels: int,
        img_size: int,
        width: int = 64,
        norm: str = "batch",
        dropout: float = 0.5,
        z_dim: int = 0,
        num_classes: int = 0,
        in_size: int | None = None,
        label_classes: int = 0,
    ):
        super().__init__()
        if z_dim or num_classes:
            raise ValueError("the U-Net takes no noise and no label: z_dim and num_classes must be 0")
        self.config = dict(
            in_channels=in_channels,
            img_channels=img_channels,
            img_size=img_size,
            width=width,
            norm=norm,
            dropout=dropout,
            z_dim=0,
            num_classes=0,
            **({"in_size": in_size} if in_size and in_size != img_size else {}),
            **({"label_classes": label_classes} if label_classes else {}),
        )
        self.label_classes = label_classes
        self.z_dim, self.num_classes, self.img_size, self.in_channels = 0, 0, img_size, in_channels
        self.in_size = in_size or img_size
        self.enlarge = enlarger(in_size, img_size)
        depth = unet_depth(img_size)
        bias = norm != "batch"
        self.down = nn.ModuleList()
        c_prev = in_channels + label_classes  # the image, then its class maps
        for level in range(depth):
            c = _width(width, level)
            layers: list[nn.Module] = [] if level == 0 else [nn.LeakyReLU(0.2)]
            layers += [nn.Conv2d(c_prev, c, 4, 2, 1, bias=bias or level == 0)]
            if level:
                layers.append(_norm(norm, c))
            self.down.append(nn.Sequential(*layers))
            c_prev = c
        self.bottom = nn.Sequential(nn.LeakyReLU(0.2), _Residual(c_prev, norm), _Residual(c_prev, norm))
        self.up = nn.ModuleList()
        for level in reversed(range(depth)):
            c_out = _width(width, level - 1) if level else img_channels
            c_in = c_prev if level == depth - 1 else 2 * _width(width, level)
            layers = [nn.ReLU(), nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=bias or level == 0)]
            if level:
                layers.append(_norm(norm, c_out))
                if dropout and level >= depth - 3:  # the paper: dropout in the three innermost
                    layers.append(nn.Dropout(dropout))
            self.up.append(nn.Sequential(*layers))
            c_prev = c_out
        dcgan_init_(self)

    def forward(self, z: torch.Tensor | None, y: torch.Tensor | None = None) -> torch.Tensor:
        """z: ignored ((N, 0) from the trainer); y: the condition (N, in_channels + label_classes, in_size, in_size)."""
        if y is None or y.dim() != 4:
            raise ValueError("the U-Net translates an image: pass y of shape (N, C, H, W)")
        skips, h = [], self.enlarge(y)
        for block in self.down:
            h = block(h)
            skips.append(h)
        h = self.bottom(h)
        for i, block in enumerate(self.up):
            if i:
                h = torch.cat([h, skips[-1 - i]], dim=1)
            h = block(h)
        return torch.tanh(h)


class PatchDiscriminator(nn.Module):
    """(x (N, img_channels, S, S), y the condition image (N, in_channels, S, S)) -> one logit per patch."""

    def __init__(
        self,
        in_channels: int,
        img_channels: int,
        img_size: int,
        width: int = 64,
        norm: str = "batch",
        receptive_field: int = 70,
        spectral_norm: bool = False,
        num_classes: int = 0,
        in_size: int | None = None,
        label_classes: int = 0,
    ):
        super().__init__()
        self.enlarge = enlarger(in_size, img_size)
        if receptive_field not in RECEPTIVE_FIELDS:
            valid = ", ".join(str(r) for r in RECEPTIVE_FIELDS)
            raise ValueError(f"PatchGAN receptive field must be one of {valid} px, got {receptive_field}")
        strided = RECEPTIVE_FIELDS[receptive_field]
        self.conditioned = bool(in_channels + label_classes)  # CycleGAN's D judges the image alone
        bias = norm != "batch"
        c_in = in_channels + label_classes + img_channels  # (condition image, its class maps, the output)
        layers: list[nn.Module] = [nn.Conv2d(c_in, width, 4, 2, 1), nn.LeakyReLU(0.2)]
        c = width
        for i in range(1, strided + 1):  # the last of these has stride 1 (the paper's C512 at 70 px)
            c_out = width * min(2**i, 8)
            stride = 2 if i < strided else 1
            layers += [nn.Conv2d(c, c_out, 4, stride, 1, bias=bias), _norm(norm, c_out), nn.LeakyReLU(0.2)]
            c = c_out
        layers.append(nn.Conv2d(c, 1, 4, 1, 1))
        self.net = nn.Sequential(*layers)
        dcgan_init_(self)
        if spectral_norm:
            spectral_norm_(self)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> DOutput:
        """-> DOutput(logits (N, patches)): every loss averages over the patches too."""
        if not self.conditioned:
            return DOutput(self.net(x).flatten(1))
        if y is None:
            raise ValueError("the PatchGAN judges (input, output) pairs: pass the condition image y")
        return DOutput(self.net(torch.cat([self.enlarge(y.to(x.dtype)), x], dim=1)).flatten(1))
