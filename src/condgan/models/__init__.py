"""Model families by name; `build_models` turns model options into a (G, D) pair."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from condgan.errors import CondganError
from condgan.models.conditioning import D_CONDITIONING, G_CONDITIONING, DOutput
from condgan.models.dcgan import DCGANDiscriminator, DCGANGenerator
from condgan.models.mlp import MLPDiscriminator, MLPGenerator
from condgan.registry import Registry


@dataclass(frozen=True)
class Architecture:
    generator: type[nn.Module]
    discriminator: type[nn.Module]
    default_width: int
    d_norm: str  # D's normalisation unless the config chooses one
    conditional: bool = True  # False: the labels of the dataset are ignored (num_classes=0)


MODELS: Registry[Architecture] = Registry("model")
MODELS.add("cgan-mlp", Architecture(MLPGenerator, MLPDiscriminator, default_width=256, d_norm="none"))
MODELS.add("cdcgan", Architecture(DCGANGenerator, DCGANDiscriminator, default_width=64, d_norm="batch"))
MODELS.add("dcgan", Architecture(DCGANGenerator, DCGANDiscriminator, default_width=64, d_norm="batch",
                                 conditional=False))  # fmt: skip

GENERATORS: Registry[type[nn.Module]] = Registry("generator class")
for _cls in (MLPGenerator, DCGANGenerator):
    GENERATORS.add(_cls.__name__, _cls)


def build_models(
    name: str, *, z_dim: int, num_classes: int, img_channels: int, img_size: int, width: int | None = None,
    d_cond: str = "concat", g_cond: str = "concat", d_norm: str | None = None, spectral_norm: bool = False,
) -> tuple[nn.Module, nn.Module]:  # fmt: skip
    """(G, D) of the named family. `num_classes` is the dataset's; unconditional families drop it.

    d_norm None takes the family's default (batch for conv D, none for the MLP D).
    """
    arch = MODELS.get(name)
    num_classes = num_classes if arch.conditional else 0
    D_CONDITIONING.get(d_cond), G_CONDITIONING.get(g_cond)  # unknown names: one clear error
    if num_classes == 0:
        for key, value in (("d_cond", d_cond), ("g_cond", g_cond)):
            if value != "concat":
                raise CondganError(f"model.{key}={value} needs class labels, but model {name} is unconditional "
                                   "(num_classes = 0); use a conditional model or the default concat")  # fmt: skip
    width = width or arch.default_width
    shape = dict(num_classes=num_classes, img_channels=img_channels, img_size=img_size, width=width)
    G = arch.generator(z_dim=z_dim, cond=g_cond, **shape)
    D = arch.discriminator(cond=d_cond, norm=d_norm or arch.d_norm, spectral_norm=spectral_norm, **shape)
    return G, D


__all__ = ["GENERATORS", "MODELS", "Architecture", "DOutput", "build_models"]
