"""A conditional StyleGAN2 (Karras et al. 2020; conditioned as in StyleGAN2-ADA) at 28, 32 and 64 px.

Mapping: z and the embedded condition, each normalised to unit second moment, concatenated,
then an MLP to w (its learning rate x `mapping_lr`, as an optimiser-group multiplier:
`lr_multipliers`). Synthesis: a learned constant at the start map (7x7 for 28 px: no
compute on padding; 4x4 for 32 and 64), then per resolution two modulated / demodulated 3x3
convolutions (the first after a bilinear x2), per-pixel noise with a learned strength, and a
toRGB whose output is added to the upsampled image so far (the skip generator). Every layer
reads its own w (N, num_ws, w_dim), which is what style mixing swaps after a cut-off.
D: the residual D (fromRGB, blocks of two 3x3 convs and a 1x1 skip, each /sqrt(2)), a
minibatch-stddev channel, conv + dense, and a projection onto its own mapping of the condition
(<h, cmap(y)> / sqrt(dim)). Weights are equalised (stored N(0, 1), scaled by 1/sqrt(fan_in)
at run time), as StyleGAN's learning rates assume.

Truncation moves w toward the mean w of the sample's own condition (its mapping averaged over a
fixed bank of z), by psi: 1 is no truncation, 0 the mean.
"""

from __future__ import annotations

import math
from itertools import pairwise

import torch
import torch.nn.functional as F
from torch import nn

from condgan.models.biggan import g_channels, num_blocks, start_size
from condgan.models.conditioning import DOutput, OneHot

SQRT2 = math.sqrt(2.0)
MEAN_BANK = 128  # z vectors averaged for the mean w of a condition


def lrelu(x: torch.Tensor) -> torch.Tensor:
    """StyleGAN's activation: leaky ReLU 0.2 with a gain of sqrt(2) (keeps the variance)."""
    return F.leaky_relu(x, 0.2) * SQRT2


def normalize_2nd_moment(x: torch.Tensor, eps: float = 1e-8) -> torch.Tensor:
    return x * (x.square().mean(dim=1, keepdim=True) + eps).rsqrt()


class EqualLinear(nn.Module):
    def __init__(self, c_in: int, c_out: int, bias_init: float = 0.0, activate: bool = False) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in))
        self.bias = nn.Parameter(torch.full((c_out,), float(bias_init)))
        self.gain, self.activate = 1.0 / math.sqrt(c_in), activate

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.linear(x, self.weight * self.gain, self.bias)
        return lrelu(x) if self.activate else x


class EqualConv2d(nn.Module):
    def __init__(self, c_in: int, c_out: int, kernel: int, bias: bool = True) -> None:
        super().__init__()
        self.weight = nn.Parameter(torch.randn(c_out, c_in, kernel, kernel))
        self.bias = nn.Parameter(torch.zeros(c_out)) if bias else None
        self.gain, self.padding = 1.0 / math.sqrt(c_in * kernel * kernel), kernel // 2

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight * self.gain, self.bias, padding=self.padding)


def modulated_conv2d(
    x: torch.Tensor, weight: torch.Tensor, styles: torch.Tensor, demodulate: bool = True, eps: float = 1e-8
) -> torch.Tensor:
    """The conv of x (N, I, H, W) with weight (O, I, k, k) scaled per sample by styles (N, I),
    then (demodulate) each output channel divided by the norm of its scaled weights:
    w'_noik = w_oik s_ni / sqrt(sum_ik (w_oik s_ni)^2 + eps). Computed as StyleGAN2's non-fused
    path: scale the input, one shared conv, scale the output (no per-sample weights)."""
    out = F.conv2d(x * styles[:, :, None, None], weight, padding=weight.shape[-1] // 2)
    if demodulate:
        norms = (weight.square().sum(dim=(2, 3))[None] * styles.square()[:, None, :]).sum(dim=2)  # (N, O)
        out = out * (norms + eps).rsqrt()[:, :, None, None]
    return out


class MappingNetwork(nn.Module):
    """(z, condition) -> w (N, w_dim). z_dim 0: the condition alone (D's projection mapping)."""

    def __init__(self, z_dim: int, num_classes: int, w_dim: int, layers: int) -> None:
        super().__init__()
        self.z_dim, self.num_classes = z_dim, num_classes
        self.onehot = OneHot(num_classes)
        self.embed = EqualLinear(num_classes, w_dim) if num_classes else None
        dims = [z_dim + (w_dim if num_classes else 0)] + [w_dim] * layers
        self.layers = nn.ModuleList(EqualLinear(a, b, activate=True) for a, b in pairwise(dims))

    def forward(self, z: torch.Tensor | None, y: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
        parts = [normalize_2nd_moment(z)] if self.z_dim else []
        if self.embed is not None:
            parts.append(normalize_2nd_moment(self.embed(self.onehot(y, like))))
        x = torch.cat(parts, dim=1)
        for layer in self.layers:
            x = layer(x)
        return x


class StyleLayer(nn.Module):
    """Modulated conv (after a bilinear x2 when `up`), noise, bias, activation."""

    def __init__(self, c_in: int, c_out: int, w_dim: int, side: int, up: bool, index: int) -> None:
        super().__init__()
        self.affine = EqualLinear(w_dim, c_in, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(c_out, c_in, 3, 3))
        self.bias = nn.Parameter(torch.zeros(c_out))
        self.noise_strength = nn.Parameter(torch.zeros(()))
        # eval mode draws this fixed noise: a sample is a function of (z, y) alone
        fixed = torch.randn(1, 1, side, side, generator=torch.Generator().manual_seed(1000 + index))
        self.register_buffer("noise_const", fixed)
        self.up = up

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        if self.up:
            x = F.interpolate(x, scale_factor=2.0, mode="bilinear", align_corners=False)
        x = modulated_conv2d(x, self.weight, self.affine(w))
        if self.training:
            noise = torch.randn(x.shape[0], 1, x.shape[2], x.shape[3], dtype=x.dtype, device=x.device)
        else:
            noise = self.noise_const.to(x.dtype)
        return lrelu(x + noise * self.noise_strength + self.bias[None, :, None, None])


class ToRGB(nn.Module):
    def __init__(self, c_in: int, img_channels: int, w_dim: int) -> None:
        super().__init__()
        self.affine = EqualLinear(w_dim, c_in, bias_init=1.0)
        self.weight = nn.Parameter(torch.randn(img_channels, c_in, 1, 1))
        self.bias = nn.Parameter(torch.zeros(img_channels))
        self.gain = 1.0 / math.sqrt(c_in)

    def forward(self, x: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
        out = modulated_conv2d(x, self.weight, self.affine(w) * self.gain, demodulate=False)
        return out + self.bias[None, :, None, None]


class StyleGANGenerator(nn.Module):
    """G(z, y, psi=None) -> (N, C, img_size, img_size) (the skip outputs are not squashed: StyleGAN's
    G is linear at the end; the images are clamped to [-1, 1] outside training)."""

    truncation = "w"  # truncation moves w toward the condition's mean (psi)

    def __init__(
        self,
        z_dim: int,
        num_classes: int,
        img_channels: int,
        img_size: int,
        width: int = 32,
        w_dim: int = 128,
        mapping_layers: int = 2,
        mapping_lr: float = 0.01,
        mixing: float = 0.0,
    ) -> None:
        super().__init__()
        self.config = dict(
            z_dim=z_dim,
            num_classes=num_classes,
            img_channels=img_channels,
            img_size=img_size,
            width=width,
            w_dim=w_dim,
            mapping_layers=mapping_layers,
            mapping_lr=mapping_lr,
            mixing=mixing,
        )
        self.z_dim, self.num_classes, self.img_size, self.w_dim = z_dim, num_classes, img_size, w_dim
        self.lr_multipliers = {"mapping": mapping_lr}  # optimiser groups (objectives.base.param_groups)
        self.mixing = mixing
        blocks, s0 = num_blocks(img_size), start_size(img_size)
        chans = g_channels(width, blocks)
        self.mapping = MappingNetwork(z_dim, num_classes, w_dim, mapping_layers)
        self.const = nn.Parameter(torch.randn(chans[0], s0, s0))
        layers, rgbs, index = [StyleLayer(chans[0], chans[0], w_dim, s0, up=False, index=0)], [], 1
        rgbs.append(ToRGB(chans[0], img_channels, w_dim))
        for j in range(blocks):
            side = s0 * 2 ** (j + 1)
            layers.append(StyleLayer(chans[j], chans[j + 1], w_dim, side, up=True, index=index))
            layers.append(StyleLayer(chans[j + 1], chans[j + 1], w_dim, side, up=False, index=index + 1))
            rgbs.append(ToRGB(chans[j + 1], img_channels, w_dim))
            index += 2
        self.layers, self.rgbs = nn.ModuleList(layers), nn.ModuleList(rgbs)
        self.num_ws = len(layers) + len(rgbs)
        self.register_buffer("mean_bank", torch.randn(MEAN_BANK, z_dim, generator=torch.Generator().manual_seed(7)))

    def ws(self, z: torch.Tensor, y: torch.Tensor | None, psi: float | torch.Tensor | None = None) -> torch.Tensor:
        """(N, num_ws, w_dim): w of (z, y), truncated toward the condition's mean w by psi, and in
        training mixed with a second w after a random layer (with probability `mixing`)."""
        w = self.mapping(z, y, z)
        if psi is not None and (isinstance(psi, torch.Tensor) or psi != 1):  # a tensor: the ONNX input
            w = torch.lerp(self.mean_w(y, z), w, psi)
        ws = w[:, None].expand(-1, self.num_ws, -1)
        if self.training and self.mixing > 0:
            n = len(z)
            w2 = self.mapping(torch.randn_like(z), y, z)
            cut = torch.randint(1, self.num_ws, (n,), device=z.device)
            cut = torch.where(torch.rand(n, device=z.device) < self.mixing, cut, self.num_ws)
            later = torch.arange(self.num_ws, device=z.device)[None] >= cut[:, None]
            ws = torch.where(later[:, :, None], w2[:, None], ws)
        return ws

    def mean_w(self, y: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
        """(N, w_dim): each row's condition's mean w over the fixed z bank."""
        bank = self.mean_bank.to(like.dtype)
        if y is None or not self.num_classes:
            return self.mapping(bank, None, bank).mean(0, keepdim=True).expand(like.shape[0], -1)
        cond = self.mapping.onehot(y, like)  # (N, K), labels or attribute vectors alike
        if torch.onnx.is_in_onnx_export():  # no unique() in the graph: every row on its own
            unique, rows = cond, None
        else:
            unique, rows = torch.unique(cond, dim=0, return_inverse=True)
        u, b = unique.shape[0], bank.shape[0]  # shapes, not len(): traced as the dynamic batch
        z_all = bank[None].expand(u, -1, -1).reshape(-1, bank.shape[1])
        c_all = unique[:, None].expand(-1, b, -1).reshape(-1, unique.shape[1])
        means = self.mapping(z_all, c_all, bank).view(-1, b, self.w_dim).mean(1)
        return means if rows is None else means[rows]

    def synthesis(self, ws: torch.Tensor) -> torch.Tensor:
        x = self.const[None].expand(ws.shape[0], -1, -1, -1)
        layer_iter, k = iter(self.layers), 0
        x = next(layer_iter)(x, ws[:, k])
        img = self.rgbs[0](x, ws[:, k + 1])
        k += 2
        for rgb in self.rgbs[1:]:
            x = next(layer_iter)(x, ws[:, k])
            x = next(layer_iter)(x, ws[:, k + 1])
            img = F.interpolate(img, scale_factor=2.0, mode="bilinear", align_corners=False) + rgb(x, ws[:, k + 2])
            k += 3
        return img

    def forward(
        self, z: torch.Tensor, y: torch.Tensor | None = None, psi: float | torch.Tensor | None = None
    ) -> torch.Tensor:
        img = self.synthesis(self.ws(z, y, psi))
        return img if self.training else img.clamp(-1.0, 1.0)


def minibatch_std(x: torch.Tensor, group: int = 4) -> torch.Tensor:
    """x with one more channel: the std of each feature over a group of samples, averaged
    (Karras et al. 2018): D sees how varied a batch is, which a collapsed G cannot fake."""
    n, c, h, w = x.shape
    g = next(k for k in (group, 2, 1) if n % k == 0)
    y = x.reshape(g, -1, c, h, w)
    y = (y - y.mean(0)).square().mean(0).add(1e-8).sqrt().mean(dim=(1, 2, 3))  # (N/g,)
    y = y.reshape(-1, 1, 1, 1).repeat(g, 1, h, w)
    return torch.cat([x, y], dim=1)


class DResBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv1 = EqualConv2d(c_in, c_in, 3)
        self.conv2 = EqualConv2d(c_in, c_out, 3)
        self.skip = EqualConv2d(c_in, c_out, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skip = self.skip(F.avg_pool2d(x, 2))
        h = F.avg_pool2d(lrelu(self.conv1(x)), 2)
        return (skip + lrelu(self.conv2(h))) / SQRT2


class StyleGANDiscriminator(nn.Module):
    def __init__(
        self, num_classes: int, img_channels: int, img_size: int, width: int = 32, mapping_layers: int = 2
    ) -> None:
        super().__init__()
        blocks, s0 = num_blocks(img_size), start_size(img_size)
        chans = list(reversed(g_channels(width, blocks)))  # the image's width first
        self.from_rgb = EqualConv2d(img_channels, chans[0], 1)
        self.blocks = nn.Sequential(*(DResBlock(a, b) for a, b in pairwise(chans)))
        c = chans[-1]
        self.conv = EqualConv2d(c + 1, c, 3)
        self.dense = EqualLinear(c * s0 * s0, c, activate=True)
        self.cmap_dim = c if num_classes else 1
        self.out = EqualLinear(c, self.cmap_dim)
        self.mapping = MappingNetwork(0, num_classes, c, mapping_layers) if num_classes else None

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> DOutput:
        h = self.blocks(lrelu(self.from_rgb(x)))
        h = lrelu(self.conv(minibatch_std(h)))
        out = self.out(self.dense(h.flatten(1)))
        if self.mapping is None:
            return DOutput(out.squeeze(1))
        cmap = self.mapping(None, y, out)
        return DOutput((out * cmap).sum(1) / math.sqrt(self.cmap_dim))
