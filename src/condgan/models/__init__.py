"""Model families by name; `build_models` turns a ModelConfig into a (G, D) pair."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from condgan.models.dcgan import DCGANDiscriminator, DCGANGenerator
from condgan.models.mlp import MLPDiscriminator, MLPGenerator
from condgan.registry import Registry


@dataclass(frozen=True)
class Architecture:
    generator: type[nn.Module]
    discriminator: type[nn.Module]
    default_width: int
    conditional: bool = True  # False: the labels of the dataset are ignored (num_classes=0)


MODELS: Registry[Architecture] = Registry("model")
MODELS.add("cgan-mlp", Architecture(MLPGenerator, MLPDiscriminator, default_width=256))
MODELS.add("cdcgan", Architecture(DCGANGenerator, DCGANDiscriminator, default_width=64))
MODELS.add("dcgan", Architecture(DCGANGenerator, DCGANDiscriminator, default_width=64, conditional=False))

GENERATORS: Registry[type[nn.Module]] = Registry("generator class")
for _cls in (MLPGenerator, DCGANGenerator):
    GENERATORS.add(_cls.__name__, _cls)


def build_models(
    name: str, *, z_dim: int, num_classes: int, img_channels: int, img_size: int, width: int | None = None
) -> tuple[nn.Module, nn.Module]:
    """(G, D) of the named family. `num_classes` is the dataset's; unconditional families drop it."""
    arch = MODELS.get(name)
    num_classes = num_classes if arch.conditional else 0
    width = width or arch.default_width
    shape = dict(num_classes=num_classes, img_channels=img_channels, img_size=img_size, width=width)
    return arch.generator(z_dim=z_dim, **shape), arch.discriminator(**shape)


__all__ = ["GENERATORS", "MODELS", "Architecture", "build_models"]
