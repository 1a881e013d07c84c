"""Model families by name; `build_models` turns model options into a (G, D) pair."""

from __future__ import annotations

from dataclasses import dataclass

from torch import nn

from condgan.errors import CondganError
from condgan.models.biggan import SIZES as STYLE_SIZES
from condgan.models.biggan import BigGANDiscriminator, BigGANGenerator
from condgan.models.conditioning import D_CONDITIONING, G_CONDITIONING, DOutput
from condgan.models.contract import Discriminator, Generator
from condgan.models.cyclegan import ResnetGenerator
from condgan.models.dcgan import MAX_SIZE, MIN_SIZE, DCGANDiscriminator, DCGANGenerator
from condgan.models.mlp import MLPDiscriminator, MLPGenerator
from condgan.models.pix2pix import NORMS as PIX2PIX_NORMS
from condgan.models.pix2pix import RECEPTIVE_FIELDS, PatchDiscriminator, UNetGenerator, unet_depth
from condgan.models.stargan import StarDiscriminator, StarGenerator
from condgan.models.stylegan import StyleGANDiscriminator, StyleGANGenerator
from condgan.registry import Registry


@dataclass(frozen=True)
class Architecture:
    generator: type[nn.Module]
    discriminator: type[nn.Module]
    default_width: int
    d_norm: str  # D's normalisation unless the config chooses one
    conditional: bool = True  # False: the labels of the dataset are ignored (num_classes=0)
    sizes: tuple[int, int] | None = None  # the image sizes it can make (None: any)
    mlp_options: bool = False  # takes activation / g_norm / d_dropout (the seed tutorial's MLP choices)
    g_refine: bool = False  # G takes `refine` (model.g_refine: 3x3 convs at its first feature map)
    image_condition: bool = False  # G translates an image (pix2pix): paired data, no z, norm / patch options
    regularisers: tuple[tuple[str, float], ...] = ()  # the family's default regulariser weights (pix2pix: L1 100)
    objective: str = "gan"  # its objective in condgan.objectives: gan | pix2pix | cyclegan | stargan
    loss: str = "bce"  # the loss unless the config names one (CycleGAN: lsgan, the paper's)
    other_generators: tuple[type[nn.Module], ...] = ()  # further G classes its saved folders may hold
    edits: bool = False  # G edits an image of an attribute dataset into target attributes (StarGAN)
    exact_sizes: tuple[int, ...] | None = None  # the only sizes it makes (BigGAN, StyleGAN)
    # its G and D condition themselves (shared embedding and projection, mapping networks):
    # model.g_cond / d_cond do not apply; options: the keyword arguments of its config section
    # (model.<name>) that G and D take
    own_conditioning: bool = False
    g_options: tuple[str, ...] = ()
    d_options: tuple[str, ...] = ()

    @property
    def takes_image(self) -> bool:
        """Its saved generators take an image (they translate or edit; they do not sample)."""
        return self.image_condition or self.edits

    def generator_class(self, name: str | None) -> type[nn.Module]:
        """The G class a saved config.json names (`class`), among the family's; else its default."""
        for cls in (self.generator, *self.other_generators):
            if cls.__name__ == name:
                return cls
        return self.generator

    def check_size(self, name: str, img_size: int) -> None:
        if self.exact_sizes is not None and img_size not in self.exact_sizes:
            sizes = ", ".join(map(str, self.exact_sizes))
            raise CondganError(
                f"model {name} makes images of {sizes} px, but the data is {img_size} px: "
                f"choose --img-size from {sizes} (image folders), or model cdcgan (8..64 px)"
            )
        if self.sizes is not None and not self.sizes[0] <= img_size <= self.sizes[1]:
            lo, hi = self.sizes
            raise CondganError(
                f"model {name} makes images of {lo}..{hi} px, but the data is {img_size} px: "
                f"choose --img-size {lo}..{hi}, or model cgan-mlp"
            )
        if self.image_condition:
            try:
                unet_depth(img_size)
            except ValueError as err:
                raise CondganError(f"model {name}: {err}") from None


MODELS: Registry[Architecture] = Registry("model")
MODELS.add("cgan-mlp", Architecture(MLPGenerator, MLPDiscriminator, default_width=256, d_norm="none", mlp_options=True))
MODELS.add(
    "cdcgan",
    Architecture(
        DCGANGenerator, DCGANDiscriminator, default_width=64, d_norm="batch", sizes=(MIN_SIZE, MAX_SIZE), g_refine=True
    ),
)
MODELS.add(
    "dcgan",
    Architecture(
        DCGANGenerator,
        DCGANDiscriminator,
        default_width=64,
        d_norm="batch",
        conditional=False,
        sizes=(MIN_SIZE, MAX_SIZE),
        g_refine=True,
    ),
)
MODELS.add(
    "pix2pix",
    Architecture(
        UNetGenerator,
        PatchDiscriminator,
        default_width=64,
        d_norm="batch",
        conditional=False,
        image_condition=True,
        regularisers=(("l1", 100.0),),
        objective="pix2pix",
    ),
)
MODELS.add(
    "cyclegan",
    Architecture(
        ResnetGenerator,
        PatchDiscriminator,
        default_width=64,
        d_norm="instance",
        conditional=False,
        image_condition=True,
        objective="cyclegan",
        loss="lsgan",
        other_generators=(UNetGenerator,),
    ),
)
MODELS.add(
    "stargan",
    Architecture(
        StarGenerator,
        StarDiscriminator,
        default_width=32,
        d_norm="none",
        objective="stargan",
        loss="wgan-gp",
        edits=True,
    ),
)
MODELS.add(
    "biggan",
    Architecture(
        BigGANGenerator,
        BigGANDiscriminator,
        default_width=32,
        d_norm="none",
        loss="hinge",
        exact_sizes=STYLE_SIZES,
        own_conditioning=True,
        g_options=("attention", "canvas"),
        d_options=("attention",),
    ),
)
MODELS.add(
    "stylegan",
    Architecture(
        StyleGANGenerator,
        StyleGANDiscriminator,
        default_width=32,
        d_norm="none",
        objective="stylegan",
        regularisers=(("r1", 0.01),),
        exact_sizes=STYLE_SIZES,
        own_conditioning=True,
        g_options=("w_dim", "mapping_layers", "mapping_lr", "mixing"),
        d_options=("mapping_layers",),
    ),
)


def build_models(
    name: str,
    *,
    z_dim: int,
    num_classes: int,
    img_channels: int,
    img_size: int,
    width: int | None = None,
    d_cond: str = "concat",
    g_cond: str = "concat",
    d_norm: str | None = None,
    spectral_norm: bool = False,
    g_refine: int = 0,
    activation: str | None = None,
    g_norm: str | None = None,
    d_dropout: float | None = None,
    in_channels: int | None = None,
    norm: str | None = None,
    patch: int | None = None,
    in_size: int | None = None,
    label_classes: int = 0,
    options: dict | None = None,
) -> tuple[Generator, Discriminator]:
    """(G, D) of the named family. `num_classes` is the condition's width; unconditional families drop it.

    d_norm None takes the family's default (batch for conv D, none for the MLP D). An image-
    conditioned family (pix2pix) takes `in_channels` and `in_size` (the condition image's),
    `label_classes` (its class as one-hot maps beside it), `norm` for G and D and the PatchGAN's
    receptive field `patch` instead of z, labels and the conditioning modules. `options`: the
    family's own config section (model.biggan, model.stylegan) as a dict.
    """
    arch = MODELS.get(name)
    arch.check_size(name, img_size)
    if g_refine and not arch.g_refine:
        raise CondganError(f"model.g_refine applies to the DCGAN families (cdcgan, dcgan), not {name}")
    if arch.image_condition:
        for key, value in (("g_cond", g_cond), ("d_cond", d_cond)):
            if value != "concat":
                raise CondganError(f"model.{key}={value}: model {name} is conditioned on an image, not a label")
        _mlp_options(name, arch, activation, g_norm, d_dropout)
        d_norm = (norm or "batch") if d_norm in (None, "batch") else d_norm  # the recipe's, else G's
        return _image_models(
            name,
            arch,
            (in_channels, in_size, label_classes),
            img_channels,
            img_size,
            width,
            (norm, d_norm),
            patch,
            spectral_norm,
        )
    for key, value in (("norm", norm), ("patch", patch), ("label_classes", label_classes or None)):
        if value is not None:
            raise CondganError(f"model.{key} applies to image-conditioned models (pix2pix) only, not {name}")
    num_classes = num_classes if arch.conditional else 0
    if arch.own_conditioning:
        given = dict(g_cond=g_cond, d_cond=d_cond, spectral_norm=spectral_norm, g_refine=g_refine, d_norm=d_norm)
        _mlp_options(name, arch, activation, g_norm, d_dropout)
        return _own_models(name, arch, (z_dim, num_classes, img_channels, img_size), width, options or {}, given)
    D_CONDITIONING.get(d_cond), G_CONDITIONING.get(g_cond)  # unknown names: one clear error
    if num_classes == 0:
        for key, value in (("d_cond", d_cond), ("g_cond", g_cond)):
            if value != "concat":
                raise CondganError(
                    f"model.{key}={value} needs class labels, but model {name} is unconditional "
                    "(num_classes = 0); use a conditional model or the default concat"
                )
    width = width or arch.default_width
    shape = dict(num_classes=num_classes, img_channels=img_channels, img_size=img_size, width=width)
    g_extra, d_extra = _mlp_options(name, arch, activation, g_norm, d_dropout)
    if g_refine:
        g_extra["refine"] = g_refine
    G = arch.generator(z_dim=z_dim, cond=g_cond, **shape, **g_extra)
    D = arch.discriminator(cond=d_cond, norm=d_norm or arch.d_norm, spectral_norm=spectral_norm, **shape, **d_extra)
    return G, D


def _image_models(
    name: str,
    arch: Architecture,
    condition: tuple[int | None, int | None, int],
    img_channels: int,
    img_size: int,
    width: int | None,
    norms: tuple[str | None, str],
    patch: int | None,
    spectral_norm: bool,
) -> tuple[Generator, Discriminator]:
    """The U-Net and the PatchGAN; condition: the input image's (channels, size, label classes);
    norms: (G's, D's)."""
    in_channels, in_size, label_classes = condition
    if not in_channels:
        raise CondganError(
            f"model {name} translates images: train it on paired data (data.task, see condgan data list)"
        )
    norm, d_norm = norms[0] or "batch", norms[1]
    if norm not in PIX2PIX_NORMS:
        raise CondganError(f"model.norm must be one of {', '.join(PIX2PIX_NORMS)}, got {norm!r}")
    patch = patch or (70 if img_size >= 64 else 34)
    if patch not in RECEPTIVE_FIELDS:
        raise CondganError(f"model.patch must be one of {', '.join(map(str, RECEPTIVE_FIELDS))} (px), got {patch}")
    width = width or arch.default_width
    shape = dict(in_channels=in_channels, img_channels=img_channels, img_size=img_size, width=width)
    if in_size is not None and in_size != img_size:
        if in_size > img_size or img_size % in_size:
            raise CondganError(f"model {name}: the {in_size} px inputs must divide the {img_size} px outputs")
        shape["in_size"] = in_size
    if label_classes:
        shape["label_classes"] = label_classes
    G = arch.generator(**shape, norm=norm)
    D = arch.discriminator(**shape, norm=d_norm, receptive_field=patch, spectral_norm=spectral_norm)
    return G, D


def _own_models(
    name: str, arch: Architecture, shape: tuple[int, int, int, int], width: int | None, options: dict, given: dict
) -> tuple[Generator, Discriminator]:
    """BigGAN's and StyleGAN's G and D (shape: z_dim, condition width, image channels and size):
    they bring their own conditioning, norms and spectral norm, so those options are refused."""
    for key, default in (("g_cond", "concat"), ("d_cond", "concat"), ("spectral_norm", False), ("g_refine", 0)):
        if given[key] != default:
            raise CondganError(f"model.{key} does not apply to model {name} (its options: model.{name}.*)")
    if given["d_norm"] not in (None, "none", arch.d_norm):
        raise CondganError(f"model.d_norm does not apply to model {name} (its D has no normalisation)")
    z_dim, num_classes, img_channels, img_size = shape
    common = dict(
        num_classes=num_classes, img_channels=img_channels, img_size=img_size, width=width or arch.default_width
    )
    try:
        G = arch.generator(z_dim=z_dim, **common, **{k: options[k] for k in arch.g_options if k in options})
        d_common = common | {"width": options.get("d_width") or common["width"]}  # D may be wider than G
        D = arch.discriminator(**d_common, **{k: options[k] for k in arch.d_options if k in options})
    except ValueError as err:
        raise CondganError(f"model {name}: {err}") from None
    return G, D


def _mlp_options(
    name: str, arch: Architecture, activation: str | None, g_norm: str | None, d_dropout: float | None
) -> tuple[dict, dict]:
    """The MLP-only options as G and D keyword arguments (None: the family's defaults)."""
    given = [k for k, v in (("activation", activation), ("g_norm", g_norm), ("d_dropout", d_dropout)) if v is not None]
    if given and not arch.mlp_options:
        raise CondganError(f"model.{given[0]} applies to model cgan-mlp only, not {name}")
    g = {"activation": activation} if activation else {}
    g |= {"norm": g_norm} if g_norm else {}
    d = {"activation": activation} if activation else {}
    d |= {"dropout": d_dropout} if d_dropout is not None else {}
    return g, d


def family_of(meta: dict) -> Architecture:
    """The family a generator/config.json names (`family`; the first format named G's class)."""
    if "family" in meta:
        return MODELS.get(str(meta["family"]))
    for name in MODELS:
        if MODELS.get(name).generator.__name__ == meta.get("class"):
            return MODELS.get(name)
    raise CondganError(f"unknown generator {meta.get('class')!r}; valid families: {', '.join(MODELS.names())}")


__all__ = ["MODELS", "Architecture", "DOutput", "Discriminator", "Generator", "build_models", "family_of"]
