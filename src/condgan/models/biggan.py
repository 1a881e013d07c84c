"""BigGAN (Brock et al. 2019) at 28, 32 and 64 px: residual G and D, hierarchical z, a shared
class embedding, conditional BatchNorm in every G block, self-attention, projection D, spectral
norm in both networks.

G: z splits into one chunk per block plus one for the start. The first chunk goes through a
linear layer to the start map (7x7 for 28 px, else 4x4); each up-block reads
[shared(y), its z chunk] through two linear layers to the gains and biases of its two
conditional BatchNorms. Block: BN-ReLU-up-conv3x3-BN-ReLU-conv3x3, skip: up-conv1x1.
D: blocks ReLU-conv3x3-ReLU-conv3x3(-avgpool), skip conv1x1(-avgpool); the first block has no
leading ReLU (the image is not an activation); ReLU, sum pooling, then
logit = linear(h) + <embed(y), h> (the projection).

A condition is class labels (N,) or condition vectors (N, K) (attribute rows): the shared
embedding and the projection look both up the same way (conditioning.lookup).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from condgan.models.conditioning import DOutput, lookup
from condgan.models.init import spectral_norm_

SIZES = (28, 32, 64)
SHARED_DIM = 128  # the shared embedding's width (BigGAN: 128)


def start_size(img_size: int) -> int:
    """The first map's side: 7 for 28 px (two doublings), 4 for 32 and 64 px."""
    if img_size not in SIZES:
        raise ValueError(f"BigGAN and StyleGAN make {', '.join(map(str, SIZES))} px images, not {img_size}")
    return 7 if img_size == 28 else 4


def crop_margin(canvas: int, img_size: int) -> int:
    """The border cut from each side of a G that draws on a larger `canvas` (0: none): a 28 px
    image as the centre of a 32 px one, drawn from a 4x4 start instead of a 7x7 one."""
    if not canvas:
        return 0
    if canvas not in SIZES or canvas <= img_size or (canvas - img_size) % 2:
        raise ValueError(
            f"canvas {canvas} px: a size G draws ({', '.join(map(str, SIZES))}) larger than the image "
            f"({img_size} px) by an even number of pixels, or 0"
        )
    return (canvas - img_size) // 2


def num_blocks(img_size: int) -> int:
    return int(math.log2(img_size // start_size(img_size)))


def g_channels(width: int, blocks: int) -> list[int]:
    """Feature widths from the start map to the image (width at the full size), doubling towards
    the start, capped at 8x."""
    return [width * min(2 ** (blocks - j), 8) for j in range(blocks + 1)]


def z_chunks(z_dim: int, blocks: int) -> list[int]:
    """Hierarchical z: one chunk for the start map and one per block (the remainder to the first)."""
    chunk = z_dim // (blocks + 1)
    if chunk < 1:
        raise ValueError(f"BigGAN splits z into {blocks + 1} chunks: z_dim must be >= {blocks + 1}, got {z_dim}")
    return [z_dim - chunk * blocks] + [chunk] * blocks


def ortho_init_(module: nn.Module) -> None:
    """BigGAN's orthogonal initialisation of conv and linear weights (biases zero)."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            nn.init.orthogonal_(m.weight)
            if m.bias is not None:
                nn.init.zeros_(m.bias)


class SelfAttention(nn.Module):
    """SAGAN's non-local block (Zhang et al. 2019), as BigGAN places it: theta / phi / g 1x1 convs,
    phi and g max-pooled 2x2, the output scaled by a gain that starts at 0 (the block starts as
    the identity)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.theta = nn.Conv2d(channels, max(channels // 8, 1), 1, bias=False)
        self.phi = nn.Conv2d(channels, max(channels // 8, 1), 1, bias=False)
        self.g = nn.Conv2d(channels, max(channels // 2, 1), 1, bias=False)
        self.o = nn.Conv2d(max(channels // 2, 1), channels, 1, bias=False)
        self.gain = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        n, _, h, w = x.shape
        pool = (lambda t: F.max_pool2d(t, 2)) if h % 2 == 0 and w % 2 == 0 else (lambda t: t)
        theta = self.theta(x).flatten(2)  # (N, C/8, HW)
        phi = pool(self.phi(x)).flatten(2)  # (N, C/8, HW/4)
        g = pool(self.g(x)).flatten(2)  # (N, C/2, HW/4)
        attention = torch.softmax(theta.transpose(1, 2) @ phi, dim=-1)  # (N, HW, HW/4)
        out = (g @ attention.transpose(1, 2)).view(n, -1, h, w)
        return x + self.gain * self.o(out)


class ConditionalNorm(nn.Module):
    """BatchNorm without its own affine; gain 1 + W_g c and bias W_b c from the block's condition
    c = [shared(y), z chunk] (BigGAN's ccbn)."""

    def __init__(self, channels: int, cond_dim: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gain = nn.Linear(cond_dim, channels, bias=False)
        self.bias = nn.Linear(cond_dim, channels, bias=False)

    def forward(self, h: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        gain = 1 + self.gain(c)[:, :, None, None]
        return self._normalise(h) * gain + self.bias(c)[:, :, None, None]

    def _normalise(self, h: torch.Tensor) -> torch.Tensor:
        if self.bn.training or self.bn.running_mean is None:  # the BatchNorm's own mode: standing
            return self.bn(h)  # statistics put it alone in training mode
        # eval: the running statistics as plain arithmetic (the same maths): the ONNX exporter
        # refuses batch_norm where the channel count is not static (after the start map's view)
        mean, var = self.bn.running_mean[None, :, None, None], self.bn.running_var[None, :, None, None]
        return (h - mean) * torch.rsqrt(var + self.bn.eps)


class GBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, cond_dim: int) -> None:
        super().__init__()
        self.norm1, self.norm2 = ConditionalNorm(c_in, cond_dim), ConditionalNorm(c_out, cond_dim)
        self.conv1 = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.skip = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor, c: torch.Tensor) -> torch.Tensor:
        h = F.interpolate(F.relu(self.norm1(x, c)), scale_factor=2.0, mode="nearest")
        h = self.conv2(F.relu(self.norm2(self.conv1(h), c)))
        return h + self.skip(F.interpolate(x, scale_factor=2.0, mode="nearest"))


class BigGANGenerator(nn.Module):
    """G(z, y) -> (N, C, img_size, img_size) in [-1, 1]. `attention`: the side of the map after
    which the self-attention block sits (0: none)."""

    truncation = "z"  # truncation redraws z beyond a threshold (condgan.noise)

    def __init__(
        self,
        z_dim: int,
        num_classes: int,
        img_channels: int,
        img_size: int,
        width: int = 32,
        attention: int = 0,
        shared_dim: int = SHARED_DIM,
        canvas: int = 0,
    ) -> None:
        super().__init__()
        self.config = dict(
            z_dim=z_dim,
            num_classes=num_classes,
            img_channels=img_channels,
            img_size=img_size,
            width=width,
            attention=attention,
            shared_dim=shared_dim,
        )
        if canvas:  # recorded only when set: older config.json files match
            self.config["canvas"] = canvas
        self.z_dim, self.num_classes, self.img_size = z_dim, num_classes, img_size
        self.margin = crop_margin(canvas, img_size)
        drawn = canvas or img_size
        blocks, self.s0 = num_blocks(drawn), start_size(drawn)
        self.chunks = z_chunks(z_dim, blocks)
        chans = g_channels(width, blocks)
        self.shared = nn.Embedding(num_classes, shared_dim) if num_classes else None
        cond_dim = (shared_dim if num_classes else 0) + self.chunks[1]
        self.c0 = chans[0]
        self.project = nn.Linear(self.chunks[0], chans[0] * self.s0 * self.s0)
        self.blocks = nn.ModuleList(GBlock(chans[j], chans[j + 1], cond_dim) for j in range(blocks))
        sides = [self.s0 * 2 ** (j + 1) for j in range(blocks)]
        self.attention_after = sides.index(attention) if attention in sides else -1
        if attention and self.attention_after < 0:
            raise ValueError(f"attention at {attention} px: G's maps are {', '.join(map(str, sides))} px")
        self.attend = SelfAttention(chans[self.attention_after + 1]) if attention else None
        self.out_norm = nn.BatchNorm2d(chans[-1])
        self.to_image = nn.Conv2d(chans[-1], img_channels, 3, 1, 1)
        ortho_init_(self)
        if self.shared is not None:
            nn.init.normal_(self.shared.weight, 0.0, 1.0)
        spectral_norm_(self)

    def forward(self, z: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        first, *rest = torch.split(z, self.chunks, dim=1)
        shared = lookup(self.shared, y).to(z.dtype) if self.shared is not None else z[:, :0]
        h = self.project(first).view(-1, self.c0, self.s0, self.s0)  # -1: a dynamic batch in ONNX
        for j, (block, chunk) in enumerate(zip(self.blocks, rest)):
            h = block(h, torch.cat([shared, chunk], dim=1))
            if j == self.attention_after and self.attend is not None:
                h = self.attend(h)
        x = torch.tanh(self.to_image(F.relu(self.out_norm(h))))
        m = self.margin
        return x[:, :, m : m + self.img_size, m : m + self.img_size] if m else x


class DBlock(nn.Module):
    def __init__(self, c_in: int, c_out: int, down: bool, first: bool) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(c_in, c_out, 3, 1, 1)
        self.conv2 = nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.skip = nn.Conv2d(c_in, c_out, 1) if c_in != c_out or down else None
        self.down, self.first = down, first

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.conv2(F.relu(self.conv1(x if self.first else F.relu(x))))
        skip = x
        if self.first:  # the optimised first block: pool, then project (the image's 1x1 conv is cheaper)
            skip = self.skip(F.avg_pool2d(x, 2) if self.down else x)
        elif self.skip is not None:
            skip = self.skip(x)
            skip = F.avg_pool2d(skip, 2) if self.down else skip
        return (F.avg_pool2d(h, 2) if self.down else h) + skip


class BigGANDiscriminator(nn.Module):
    """D(x, y) -> DOutput(logit): down-blocks to G's start map, one block at that size, ReLU, sum
    pooling, a linear score plus the projection <embed(y), h>."""

    def __init__(self, num_classes: int, img_channels: int, img_size: int, width: int = 32, attention: int = 0) -> None:
        super().__init__()
        blocks = num_blocks(img_size)
        chans = [width * min(2**j, 8) for j in range(blocks + 1)]
        layers, c_in, side = [], img_channels, img_size
        for j, c_out in enumerate(chans):
            down = j < blocks
            layers.append(DBlock(c_in, c_out, down, first=j == 0))
            c_in, side = c_out, side // 2 if down else side
            if attention and side == attention and not any(isinstance(m, SelfAttention) for m in layers):
                layers.append(SelfAttention(c_out))
        if attention and not any(isinstance(m, SelfAttention) for m in layers):
            raise ValueError(f"attention at {attention} px: D's maps are {img_size // 2} px and smaller")
        self.blocks = nn.Sequential(*layers)
        self.linear = nn.Linear(c_in, 1)
        self.embed = nn.Embedding(num_classes, c_in) if num_classes else None
        ortho_init_(self)
        spectral_norm_(self)
        if self.embed is not None:  # spectral norm of the embedding as BigGAN's SNEmbedding
            nn.init.orthogonal_(self.embed.weight)
            nn.utils.parametrizations.spectral_norm(self.embed)

    def forward(self, x: torch.Tensor, y: torch.Tensor | None = None) -> DOutput:
        h = F.relu(self.blocks(x)).sum(dim=(2, 3))
        logits = self.linear(h).squeeze(1)
        if self.embed is not None:
            logits = logits + (lookup(self.embed, y).to(h.dtype) * h).sum(1)
        return DOutput(logits)
