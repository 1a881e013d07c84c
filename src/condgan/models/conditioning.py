"""How a class label enters a network, as swappable modules (never `if method == ...` branches).

A condition y is either class labels (N,) int64 or condition vectors (N, K) float (one-hot
rows, or soft ones: interpolating between two classes is a straight line between their
rows). Every module accepts both; a label acts exactly as its one-hot row.

Input encoders map y to a condition vector (N, dim) that is concatenated
to G's noise or to D's input; `num_classes=0` gives dim 0, so the unconditional case runs
through the same code (concatenating an empty tensor is a no-op).

D's conditioning is an (input encoder, head) pair: `concat` and `embedding` show D the label
with the image; `projection` (Miyato & Koyama 2018) adds <embed(y), phi(x)> to the logit;
`acgan` (Odena et al. 2017) gives D no label but a second head that classifies the image.
G's conditioning is an (input encoder, norm) pair: `cbn` moves the label from G's input into
class-specific BatchNorm scales and shifts.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import nn

from condgan.models.fast_ops import FlatLinear
from condgan.registry import Registry

EMBED_DIM = 16  # learned label embeddings: enough for tens of classes, cheap as D input maps


class DOutput(NamedTuple):
    """What every discriminator returns: adversarial logits (N,), class logits (N, K) for ACGAN."""

    logits: torch.Tensor
    class_logits: torch.Tensor | None = None


def _need_labels(y: torch.Tensor | None) -> torch.Tensor:
    if y is None:
        raise ValueError("this model is conditional: pass labels y")
    return y


def lookup(table: nn.Embedding, y: torch.Tensor | None) -> torch.Tensor:
    """Rows of `table` for labels (N,), or their mixture for condition vectors (N, K)."""
    y = _need_labels(y)
    return y.to(table.weight.dtype) @ table.weight if y.is_floating_point() else table(y)


# --- input encoders: (y, like) -> (N, dim) ---------------------------------------------
class NoCondition(nn.Module):
    """No label at the input (unconditional nets, and where the label enters elsewhere)."""

    def __init__(self, num_classes: int = 0) -> None:
        super().__init__()
        self.dim = 0

    def forward(self, y: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
        return like.new_zeros(like.shape[0], 0)


class OneHot(nn.Module):
    """y -> one-hot rows; the seed tutorials' concatenated condition."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        if num_classes < 0:
            raise ValueError(f"num_classes must be >= 0, got {num_classes}")
        self.dim = num_classes

    def forward(self, y: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
        """y: (N,) int64 or None when dim == 0 -> (N, dim) with the dtype/device of `like`."""
        if self.dim == 0:
            return like.new_zeros(like.shape[0], 0)
        y = _need_labels(y)
        if y.is_floating_point():
            return y.to(like.dtype)
        # F.one_hot checks the range with a host sync (a GPU stall every step); labels are checked where they enter
        return (y[:, None] == torch.arange(self.dim, device=y.device)).to(like.dtype)


class LearnedEmbedding(nn.Module):
    """y -> a learned EMBED_DIM vector (the Keras cDCGAN tutorials' `Embedding` layer)."""

    def __init__(self, num_classes: int) -> None:
        super().__init__()
        self.dim = EMBED_DIM
        self.table = nn.Embedding(num_classes, EMBED_DIM)

    def forward(self, y: torch.Tensor | None, like: torch.Tensor) -> torch.Tensor:
        return lookup(self.table, y).to(like.dtype)


def as_maps(cond: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(N, K) condition vector -> (N, K, H, W) constant channel maps, for conv discriminators."""
    return cond[:, :, None, None].expand(-1, -1, height, width)


def with_label_maps(image: torch.Tensor, labels: torch.Tensor | None, num_classes: int) -> torch.Tensor:
    """An image condition (N, C, H, W) followed by its class as num_classes one-hot constant maps
    (N, C + K, H, W): pix2pix with model.with_label. num_classes 0: the image as it is."""
    if not num_classes:
        return image
    if labels is None:
        raise ValueError("this generator takes each input's class label too (trained with model.with_label)")
    onehot = OneHot(num_classes)(labels.to(image.device), image)
    return torch.cat([image, as_maps(onehot, image.shape[-2], image.shape[-1])], dim=1)


# --- normalisation layers that may read the label: forward(h, y) -------------------------
class Norm(nn.Module):
    """A label-blind norm (BatchNorm, LayerNorm or none) behind the (h, y) signature."""

    def __init__(self, norm: nn.Module) -> None:
        super().__init__()
        self.norm = norm

    def forward(self, h: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        return self.norm(h)


class ConditionalBatchNorm(nn.Module):
    """BatchNorm without its own affine; scale and shift are looked up per class (starting at 1, 0)."""

    def __init__(self, num_features: int, num_classes: int, spatial: bool) -> None:
        super().__init__()
        bn = nn.BatchNorm2d if spatial else nn.BatchNorm1d
        self.bn = bn(num_features, affine=False)
        self.gamma, self.beta = nn.Embedding(num_classes, num_features), nn.Embedding(num_classes, num_features)
        nn.init.ones_(self.gamma.weight)
        nn.init.zeros_(self.beta.weight)

    def forward(self, h: torch.Tensor, y: torch.Tensor | None = None) -> torch.Tensor:
        shape = (-1, h.shape[1]) + (1,) * (h.dim() - 2)
        return self.bn(h) * lookup(self.gamma, y).view(shape) + lookup(self.beta, y).view(shape)


def make_norm(kind: str, num_features: int, *, spatial: bool) -> Norm:
    """D's (and plain G's) normalisation: batch | layer | none. Layer norm on conv maps
    normalises each sample over (C, H, W), as in WGAN-GP."""
    if kind == "batch":
        return Norm(nn.BatchNorm2d(num_features) if spatial else nn.BatchNorm1d(num_features))
    if kind == "layer":
        return Norm(nn.GroupNorm(1, num_features) if spatial else nn.LayerNorm(num_features))
    if kind == "none":
        return Norm(nn.Identity())
    raise ValueError(f"unknown norm '{kind}'; valid: {', '.join(D_NORMS)}")


D_NORMS = ("batch", "layer", "none")


# --- D heads: (features h (N, F) or (N, C, H, W), pooled (N, C), y) -> DOutput ------------
class LinearHead(nn.Module):
    """A linear score of the flattened features."""

    def __init__(self, flat_dim: int, pooled_dim: int, num_classes: int) -> None:
        super().__init__()
        self.linear = FlatLinear(flat_dim, 1)

    def forward(self, h: torch.Tensor, pooled: torch.Tensor, y: torch.Tensor | None) -> DOutput:
        return DOutput(self.linear(h).squeeze(1))


class ProjectionHead(LinearHead):
    """logit = psi(phi(x)) + <embed(y), pool(phi(x))>: the label scores D's features directly."""

    def __init__(self, flat_dim: int, pooled_dim: int, num_classes: int) -> None:
        super().__init__(flat_dim, pooled_dim, num_classes)
        self.embed = nn.Embedding(num_classes, pooled_dim)
        nn.init.normal_(self.embed.weight, 0.0, 0.02)  # N(0, 1) would swamp the logit at the start

    def forward(self, h: torch.Tensor, pooled: torch.Tensor, y: torch.Tensor | None) -> DOutput:
        logits = self.linear(h).squeeze(1) + (lookup(self.embed, y).to(pooled.dtype) * pooled).sum(1)
        return DOutput(logits)


class ACGANHead(LinearHead):
    """The adversarial logit plus K class logits from the same features (label-free input)."""

    def __init__(self, flat_dim: int, pooled_dim: int, num_classes: int) -> None:
        super().__init__(flat_dim, pooled_dim, num_classes)
        self.classify = FlatLinear(flat_dim, num_classes)
        self.classify.auxiliary = True  # not part of the critic's score: weight clipping skips it

    def forward(self, h: torch.Tensor, pooled: torch.Tensor, y: torch.Tensor | None) -> DOutput:
        return DOutput(self.linear(h).squeeze(1), self.classify(h))


@dataclass(frozen=True)
class DConditioning:
    encoder: Callable[[int], nn.Module]  # num_classes -> input encoder
    head: Callable[[int, int, int], nn.Module]  # (flat_dim, pooled_dim, num_classes) -> head


@dataclass(frozen=True)
class GConditioning:
    encoder: Callable[[int], nn.Module]  # num_classes -> input encoder
    conditional_norm: bool  # G's BatchNorms read the label (conditional BatchNorm)

    def norm(self, num_features: int, num_classes: int, *, spatial: bool) -> nn.Module:
        if self.conditional_norm:
            return ConditionalBatchNorm(num_features, num_classes, spatial)
        return make_norm("batch", num_features, spatial=spatial)


D_CONDITIONING: Registry[DConditioning] = Registry("D conditioning (model.d_cond)")
D_CONDITIONING.add("concat", DConditioning(OneHot, LinearHead))
D_CONDITIONING.add("embedding", DConditioning(LearnedEmbedding, LinearHead))
D_CONDITIONING.add("projection", DConditioning(NoCondition, ProjectionHead))
D_CONDITIONING.add("acgan", DConditioning(NoCondition, ACGANHead))

G_CONDITIONING: Registry[GConditioning] = Registry("G conditioning (model.g_cond)")
G_CONDITIONING.add("concat", GConditioning(OneHot, conditional_norm=False))
G_CONDITIONING.add("embedding", GConditioning(LearnedEmbedding, conditional_norm=False))
G_CONDITIONING.add("cbn", GConditioning(NoCondition, conditional_norm=True))
