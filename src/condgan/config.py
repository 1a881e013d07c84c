"""Typed configuration: dataclass defaults, short YAML presets on top, `--set key=value` last.

A preset is a YAML overlay on the defaults, e.g. `{model: {name: cgan-mlp}, train: {epochs: 30}}`.
Unknown keys are refused with the valid ones; values are converted to the field's type.
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from condgan.augment import parse_policy
from condgan.data.tasks import DIRECTIONS, PAIR_TASKS
from condgan.errors import CondganError
from condgan.limits import LIMITS
from condgan.losses import LOSSES, REGULARISERS, Recipe, resolve_recipe
from condgan.models import MODELS
from condgan.models.conditioning import D_CONDITIONING, D_NORMS, G_CONDITIONING
from condgan.models.mlp import ACTIVATIONS
from condgan.models.pix2pix import NORMS as PIX2PIX_NORMS
from condgan.models.pix2pix import RECEPTIVE_FIELDS
from condgan.optim import OPTIMIZERS
from condgan.presets import DEFAULT_PRESET, preset_names

PRECISIONS = ("auto", "bf16", "fp32")
REGULARISERS_KEYS = {name: REGULARISERS.get(name).config_key for name in REGULARISERS}
UPDATES = ("alternating", "simultaneous")
SCALES = ("signed", "unit")
ON_DIVERGE = ("rollback", "stop")
ON_COLLAPSE = ("warn", "rollback", "stop")
BEST_METRICS = {"fid": "lower", "intra_fid": "lower", "cond_acc": "higher"}  # which way is better


def _positive(section: str, **values: float | int | None) -> None:
    for name, value in values.items():
        if value is not None and value <= 0:
            raise CondganError(f"{section}.{name} must be > 0, got {value}")


def _at_most(section: str, **values: int | None) -> None:
    for name, value in values.items():
        limit = LIMITS[f"{section}.{name}"]
        if value is not None and value > limit:
            raise CondganError(f"{section}.{name} must be at most {limit:,}, got {value:,}")


@dataclass
class DataConfig:
    dataset: str = "mnist"
    data_dir: str | None = None  # looked up before the bundled / cached copies
    img_size: int | None = None  # image folders: resize + centre-crop to this (default 32)
    channels: int | None = None  # image folders: 1 grey or 3 RGB (default: grey only if every image is)
    holdout: str | None = None  # coloured-mnist: "diagonal" or "3=red,7=blue": combinations kept out of training
    scale: str = "signed"  # pixels as G learns them: signed [-1, 1] (DCGAN practice) | unit [0, 1] (the seed's)
    # Image-to-image (pix2pix): pairs made from the dataset by a task (inpaint, superres4, edges, ...)
    # or read from a paired folder (task "paired"); see condgan.data.paired
    task: str | None = None
    direction: str = "AtoB"  # paired folders: A -> B, or BtoA
    # A task that draws at random (inpaint): a fresh draw every time a training image is seen,
    # instead of the one stored per image (the test split's pairs stay fixed)
    redraw: bool = False
    # Small-data training: only this many training images of every class (a seeded draw, the
    # same for the same subset_seed), e.g. to make augmentation data from a few labelled images
    per_class: int | None = None
    subset_seed: int = 0
    # CycleGAN: no pair is ever seen in training. A built-in task made unpaired: domain A takes the
    # inputs of one half of the training images, domain B the targets of the other half (the test
    # split keeps its pairs, the truth translations are measured against); task "unpaired" reads
    # two folders. None: true for model cyclegan, false otherwise
    unpaired: bool | None = None

    def __post_init__(self) -> None:
        _positive("data", img_size=self.img_size, channels=self.channels, per_class=self.per_class)
        _at_most("data", img_size=self.img_size, channels=self.channels)
        if self.scale not in SCALES:
            raise CondganError(f"data.scale must be one of {', '.join(SCALES)}, got {self.scale!r}")
        if self.task is not None:
            PAIR_TASKS.get(self.task)
        if self.direction not in DIRECTIONS:
            raise CondganError(f"data.direction must be one of {', '.join(DIRECTIONS)}, got {self.direction!r}")
        if self.data_dir is not None and Path(self.data_dir).exists() and not Path(self.data_dir).is_dir():
            raise CondganError(f"data.data_dir (--data-dir) must be a folder, but {self.data_dir} is a file")


@dataclass
class ModelConfig:
    name: str = "cdcgan"
    z_dim: int = 100
    width: int | None = None  # None: the architecture's own default (cdcgan 64, cgan-mlp 256)
    g_cond: str = "concat"  # how G gets the label: concat | embedding | cbn (conditional BatchNorm)
    d_cond: str = "concat"  # how D gets it: concat | embedding | projection | acgan
    d_norm: str | None = None  # batch | layer | none; None: the family's (layer under a gradient penalty)
    spectral_norm: bool = False  # spectral normalisation of D's conv / linear weights
    g_refine: int = 0  # cdcgan / dcgan: 3x3 conv + norm + ReLU blocks in G at its first map (7x7 at 28 px)
    # cgan-mlp only (the seed tutorial's choices are relu / none / 0): None = the family's default
    activation: str | None = None  # leaky_relu | relu, in G and D
    g_norm: str | None = None  # batch | none: G's hidden norm
    d_dropout: float | None = None  # D's dropout (default 0.3)
    # pix2pix only: G's and D's norm (batch | instance | none) and the PatchGAN's receptive field
    norm: str | None = None  # None: batch (the paper's)
    patch: int | None = None  # 16 | 34 | 70 px; None: 70 for images of 64 px and more, else 34
    # pix2pix: G and D also get the source image's class, as one-hot constant maps beside the input
    with_label: bool = False
    cyclegan: CycleGANConfig | None = None  # model cyclegan's own options (None: its defaults)
    stargan: StarGANConfig | None = None  # model stargan's own options (None: its defaults)
    biggan: BigGANConfig | None = None  # model biggan's own options (None: its defaults)
    stylegan: StyleGANConfig | None = None  # model stylegan's own options (None: its defaults)

    def __post_init__(self) -> None:
        _positive("model", z_dim=self.z_dim, width=self.width)
        _at_most("model", z_dim=self.z_dim, width=self.width, g_refine=self.g_refine)
        if self.g_refine < 0:
            raise CondganError(f"model.g_refine must be >= 0, got {self.g_refine}")
        MODELS.get(self.name), G_CONDITIONING.get(self.g_cond), D_CONDITIONING.get(self.d_cond)
        for family, section in FAMILY_SECTIONS.items():  # each family's own options, only for it
            if self.name == family and getattr(self, family) is None:
                setattr(self, family, section())
            elif self.name != family and getattr(self, family) is not None:
                raise CondganError(f"model.{family} holds the options of model {family}, not of {self.name}")
        if self.d_norm is not None and self.d_norm not in D_NORMS:
            raise CondganError(f"model.d_norm must be one of {', '.join(D_NORMS)} or null, got {self.d_norm!r}")
        if self.activation is not None and self.activation not in ACTIVATIONS:
            raise CondganError(
                f"model.activation must be one of {', '.join(ACTIVATIONS)} or null, got {self.activation!r}"
            )
        if self.g_norm is not None and self.g_norm not in ("batch", "none"):
            raise CondganError(f"model.g_norm must be batch, none or null, got {self.g_norm!r}")
        if self.norm is not None and self.norm not in PIX2PIX_NORMS:
            raise CondganError(f"model.norm must be one of {', '.join(PIX2PIX_NORMS)} or null, got {self.norm!r}")
        if self.patch is not None and self.patch not in RECEPTIVE_FIELDS:
            valid = ", ".join(map(str, RECEPTIVE_FIELDS))
            raise CondganError(f"model.patch must be one of {valid} (px) or null, got {self.patch}")
        if self.d_dropout is not None and not 0 <= self.d_dropout < 1:
            raise CondganError(f"model.d_dropout must be in [0, 1), got {self.d_dropout}")


UNPAIRED_GENERATORS = ("resnet", "unet")


@dataclass
class CycleGANConfig:
    """model.cyclegan: the options of the CycleGAN family (Zhu et al. 2017), and only those."""

    generator: str = "resnet"  # resnet (the paper's, reflection padding) | unet (pix2pix's, no dropout)
    blocks: int = 6  # residual blocks of the ResNet generator (the paper: 6 at 128 px, 9 at 256)
    cycle_weight: float = 10.0  # lambda: L1 of G_BA(G_AB(a)) to a (and of G_AB(G_BA(b)) to b)
    # lambda of the B -> A -> B cycle where it differs (None: cycle_weight). Where A holds less than
    # B (edge maps of garments), that round trip can only be kept by hiding B's detail in the A
    # image: a lower weight lets G_BA draw plain edges
    cycle_weight_b: float | None = None
    identity_weight: float = 0.5  # the identity term's weight, as a fraction of lambda (0: off)
    pool_size: int = 50  # past fakes each D also sees (Shrivastava et al. 2017); 0: only the newest
    # std of Gaussian noise on a translation before it goes back through the other G (images in
    # [-1, 1]): a signal hidden below it cannot carry the cycle (Chu et al. 2017); 0: off
    cycle_noise: float = 0.0

    def __post_init__(self) -> None:
        if self.generator not in UNPAIRED_GENERATORS:
            raise CondganError(
                f"model.cyclegan.generator must be one of {', '.join(UNPAIRED_GENERATORS)}, got {self.generator!r}"
            )
        _at_most("model.cyclegan", blocks=self.blocks, pool_size=self.pool_size)
        for name in ("blocks", "cycle_weight", "cycle_weight_b", "identity_weight", "pool_size", "cycle_noise"):
            if getattr(self, name) is not None and getattr(self, name) < 0:
                raise CondganError(f"model.cyclegan.{name} must be >= 0, got {getattr(self, name)}")


@dataclass
class StarGANConfig:
    """model.stargan: the options of the StarGAN family (Choi et al. 2018), and only those."""

    # the factors G edits, comma-separated (e.g. "tone,hair,gender,age"); None: every factor of the data
    attributes: str | None = None
    blocks: int = 4  # residual blocks of G at a quarter of the image side
    mask: bool = True  # G draws colour and an attention mask and keeps the input's pixels outside it
    rec_weight: float = 10.0  # lambda_rec: L1 of G(G(x, c'), c) to x
    cls_weight: float = 1.0  # lambda_cls: attribute classification, D on reals (source) and G on fakes (target)
    mask_weight: float = 0.1  # the mask's mean, penalised: edit no more pixels than the attributes need
    # probability that a factor the target leaves unchanged is given as "keep" (its block all zero)
    # rather than by its value: users then name only the attributes they change
    keep: float = 0.5
    # D steps of attribute classification alone, on real images, before the first GAN update: G's
    # classification term means something from its first step instead of after D has caught up
    cls_warmup: int = 0

    def __post_init__(self) -> None:
        _at_most("model.stargan", blocks=self.blocks)
        for name in ("blocks", "rec_weight", "cls_weight", "mask_weight", "cls_warmup"):
            if getattr(self, name) < 0:
                raise CondganError(f"model.stargan.{name} must be >= 0, got {getattr(self, name)}")
        if not 0 <= self.keep <= 1:
            raise CondganError(f"model.stargan.keep must be in [0, 1], got {self.keep}")
        if self.attributes is not None and not [a for a in self.attributes.split(",") if a.strip()]:
            raise CondganError("model.stargan.attributes names factors separated by commas (or null: all of them)")

    def factor_names(self) -> tuple[str, ...] | None:
        if self.attributes is None:
            return None
        return tuple(a.strip() for a in self.attributes.split(",") if a.strip())


@dataclass
class BigGANConfig:
    """model.biggan: the options of the BigGAN family (Brock et al. 2019), and only those."""

    attention: int = 0  # the side (px) of the G and D maps that get a self-attention block; 0: none
    d_width: int | None = None  # D's channel width where it differs from G's (model.width); None: the same
    canvas: int = 0  # G draws on this larger size (px) and its centre is the image (28 in 32); 0: the image's size

    def __post_init__(self) -> None:
        _positive("model.biggan", d_width=self.d_width)
        _at_most("model.biggan", attention=self.attention, d_width=self.d_width)
        if self.attention < 0:
            raise CondganError(f"model.biggan.attention must be >= 0 (px; 0: none), got {self.attention}")
        if self.canvas < 0:
            raise CondganError(f"model.biggan.canvas must be >= 0 (px; 0: the image's size), got {self.canvas}")

    def options(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass
class StyleGANConfig:
    """model.stylegan: the options of the StyleGAN2 family (Karras et al. 2020), and only those.
    Its lazy R1 is loss.r1_gamma / loss.r1_every (default gamma 0.01, StyleGAN2-ADA's CIFAR)."""

    w_dim: int = 128  # width of w (and of the mapping network)
    d_width: int | None = None  # D's channel width where it differs from G's (model.width); None: the same
    mapping_layers: int = 2  # layers of G's mapping network (and of D's condition mapping)
    mapping_lr: float = 0.01  # the mapping network's learning rate, as a multiple of train.lr_g
    mixing: float = 0.0  # probability that a training sample's later layers take a second w (style mixing)
    pl_weight: float = 0.0  # path-length regularisation weight (the paper: 2); 0: off
    pl_every: int = 4  # lazy: on every k-th G step, weighted k
    pl_decay: float = 0.01  # how fast the running mean path length follows the batch's
    pl_batch: float = 0.5  # the fraction of the batch the path-length term draws

    def __post_init__(self) -> None:
        _positive("model.stylegan", w_dim=self.w_dim, mapping_layers=self.mapping_layers, pl_every=self.pl_every)
        _positive("model.stylegan", mapping_lr=self.mapping_lr, pl_batch=self.pl_batch, d_width=self.d_width)
        _at_most("model.stylegan", w_dim=self.w_dim, mapping_layers=self.mapping_layers, d_width=self.d_width)
        for name in ("mixing", "pl_decay", "pl_batch"):
            if not 0 <= getattr(self, name) <= 1:
                raise CondganError(f"model.stylegan.{name} must be in [0, 1], got {getattr(self, name)}")
        if self.pl_weight < 0:
            raise CondganError(f"model.stylegan.pl_weight must be >= 0, got {self.pl_weight}")

    def options(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


FAMILY_SECTIONS = {
    "cyclegan": CycleGANConfig,
    "stargan": StarGANConfig,
    "biggan": BigGANConfig,
    "stylegan": StyleGANConfig,
}


@dataclass
class LossConfig:
    name: str | None = None  # bce | wgan | wgan-gp | hinge | lsgan; None: the family's (bce; CycleGAN lsgan)
    clip: float | None = None  # weight-clipping bound; None: the loss's default (wgan 0.01, else off)
    gp_weight: float | None = None  # gradient-penalty weight; None: the loss's default (wgan-gp 10, else 0)
    gp_every: int = 1  # lazy gradient penalty: on every k-th critic step (times k), as lazy R1
    aux_weight: float | None = None  # ACGAN class-loss weight; None: 1 with model.d_cond=acgan
    r1_gamma: float | None = None  # R1 penalty on real data, weight gamma / 2; None: off
    r1_every: int = 1  # lazy R1: applied on every k-th D step (times k), as in StyleGAN2
    r1_until: float | None = None  # R1 only in this first fraction of the run (then off: the end of
    # the run trades accuracy against FID, docs/results.md); None: throughout. It follows the run's
    # length: --resume with more steps moves the cut
    mismatch_weight: float | None = None  # real images with another sample's label count as fake for D; None: off
    mismatch_every: int = 1  # lazy: on every k-th D step (times k)
    l1_weight: float | None = None  # pix2pix: lambda of the L1 term to the target; None: 100 for pix2pix, else off
    l2_weight: float | None = None  # pix2pix: weight of a squared-error term to the target beside L1; None: off
    adv_weight: float = 1.0  # weight of G's adversarial term; 0 with an L1 term is the L1-only baseline
    ortho_weight: float | None = None  # BigGAN's orthogonal regularisation of G's weights (the paper: 1e-4); None: off

    def __post_init__(self) -> None:
        if self.name is not None:
            LOSSES.get(self.name)
        _positive(
            "loss",
            clip=self.clip,
            aux_weight=self.aux_weight,
            r1_every=self.r1_every,
            gp_every=self.gp_every,
            mismatch_every=self.mismatch_every,
        )
        if self.r1_until is not None and not 0 < self.r1_until <= 1:
            raise CondganError(f"loss.r1_until must be in (0, 1] or null, got {self.r1_until}")
        for name in (
            "gp_weight",
            "r1_gamma",
            "mismatch_weight",
            "l1_weight",
            "l2_weight",
            "adv_weight",
            "ortho_weight",
        ):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise CondganError(f"loss.{name} must be >= 0, got {value}")


@dataclass
class TrainConfig:
    epochs: int | None = None  # exactly one of epochs / steps; neither means 1 epoch
    steps: int | None = None  # total generator updates
    batch_size: int = 64
    lr_g: float = 2e-4
    lr_d: float = 2e-4  # a larger lr_d than lr_g is the two time-scale update rule (TTUR)
    beta1: float = 0.5  # Adam only
    beta2: float = 0.999  # Adam only
    lr_decay: float | None = None  # the last fraction of the run in which both learning rates fall
    # linearly to 0 (pix2pix: 0.5, the second half); None: constant. It follows the run's length:
    # extending a finished run with --resume brings the rates back up for the steps added
    optimizer: str = "adam"  # adam | rmsprop (the WGAN paper's), for both G and D
    update: str = "alternating"  # G learns through D after D's update, or before it (simultaneous: faster)
    n_critic: int | None = None  # D steps per G step; None: the loss's default (wgan, wgan-gp 5, else 1)
    seed: int = 0
    ema: float | None = None  # decay of an EMA of G (e.g. 0.999), used for samples; None: off
    standing_stats: int | None = None  # batches that re-measure the saved G's BatchNorm statistics
    # (condgan.train.standing); 0: off (the running averages of training); None: 50
    checkpoint_every: int | None = None  # steps; the last checkpoint is always kept
    checkpoint_minutes: float | None = 5.0  # also save checkpoints/last.pt (and generator/) this often
    eval_every: int | None = None  # steps between quick evaluations (accuracy, FID, intra-FID)
    eval_per_class: int = 200  # generated images per class in those evaluations
    best_metric: str = "fid"  # fid | intra_fid | cond_acc: picks checkpoints/best.pt
    log_every: int = 100  # steps between metrics.jsonl lines (the only host syncs)
    # torch intra-op threads; None: one per core that other processes leave free, re-chosen as
    # their load changes (condgan.threads; said in the log)
    threads: int | None = None
    device: str = "auto"  # auto (a GPU when there is one) | cpu | cuda | cuda:N
    precision: str = "auto"  # auto (bf16 autocast where the hardware has bf16) | bf16 | fp32
    channels_last: bool | None = None  # NHWC memory format for conv models; None: on (measured faster on CPU)
    compile: bool = False  # torch.compile G and D (measured slower on CPU: opt-in)
    fuse_d: bool = False  # D reads the real and the fake batch as one batch (one forward, not two):
    # the same maths for a D without batch statistics (model.d_norm layer or none), faster
    sync_bn: bool = False  # under torchrun: BatchNorm statistics of the global batch, not each shard's
    # The health watch (condgan.train.health) and the divergence guard
    watch: bool = True  # alarms for D winning, vanishing gradients, mode collapse, G ignoring the label
    on_diverge: str = "rollback"  # a NaN / inf loss or weight: rollback (to the last good state, lr lowered) | stop
    max_rollbacks: int = 3  # then stop, exit != 0, the last good checkpoint intact
    rollback_lr_factor: float = 0.5  # each rollback multiplies both learning rates by this
    on_collapse: str = "warn"  # a collapse / D-wins / vanishing alarm: warn | rollback | stop
    keep_checkpoints: int | None = 5  # periodic step_N.pt files kept (oldest pruned); None: all
    diffaugment: str | None = None  # DiffAugment policy for D's inputs, e.g. "translation,cutout"; None: off
    tensorboard: bool = False  # also log to RUN/tb/ for TensorBoard (the [tensorboard] extra)

    def __post_init__(self) -> None:
        if self.epochs is not None and self.steps is not None:
            raise CondganError("set either train.epochs or train.steps, not both")
        _positive(
            "train",
            epochs=self.epochs,
            steps=self.steps,
            batch_size=self.batch_size,
            lr_g=self.lr_g,
            lr_d=self.lr_d,
            checkpoint_every=self.checkpoint_every,
            log_every=self.log_every,
            eval_every=self.eval_every,
            eval_per_class=self.eval_per_class,
            threads=self.threads,
            n_critic=self.n_critic,
            keep_checkpoints=self.keep_checkpoints,
            checkpoint_minutes=self.checkpoint_minutes,
        )
        if self.standing_stats is not None and self.standing_stats < 0:
            raise CondganError(f"train.standing_stats must be >= 0, got {self.standing_stats}")
        _at_most("train", batch_size=self.batch_size, n_critic=self.n_critic, standing_stats=self.standing_stats)
        if self.max_rollbacks < 0:
            raise CondganError(f"train.max_rollbacks must be >= 0, got {self.max_rollbacks}")
        if not 0 < self.rollback_lr_factor <= 1:
            raise CondganError(f"train.rollback_lr_factor must be in (0, 1], got {self.rollback_lr_factor}")
        for key, valid in (("on_diverge", ON_DIVERGE), ("on_collapse", ON_COLLAPSE)):
            if getattr(self, key) not in valid:
                raise CondganError(f"train.{key} must be one of {', '.join(valid)}, got {getattr(self, key)!r}")
        if self.precision not in PRECISIONS:
            raise CondganError(f"train.precision must be one of {', '.join(PRECISIONS)}, got {self.precision!r}")
        if self.update not in UPDATES:
            raise CondganError(f"train.update must be one of {', '.join(UPDATES)}, got {self.update!r}")
        if self.optimizer not in OPTIMIZERS:
            raise CondganError(f"train.optimizer must be one of {', '.join(OPTIMIZERS)}, got {self.optimizer!r}")
        if self.best_metric not in BEST_METRICS:
            raise CondganError(f"train.best_metric must be one of {', '.join(BEST_METRICS)}, got {self.best_metric!r}")
        parse_policy(self.diffaugment)
        if self.lr_decay is not None and not 0 < self.lr_decay <= 1:
            raise CondganError(f"train.lr_decay must be in (0, 1] or null, got {self.lr_decay}")
        if self.ema is not None and not 0 < self.ema < 1:
            raise CondganError(f"train.ema must be in (0, 1) or null, got {self.ema}")
        for name in ("beta1", "beta2"):
            if not 0 <= getattr(self, name) < 1:
                raise CondganError(f"train.{name} must be in [0, 1), got {getattr(self, name)}")


@dataclass
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    loss: LossConfig = field(default_factory=LossConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def __post_init__(self) -> None:
        arch = MODELS.get(self.model.name)
        if self.loss.name is None:  # recorded resolved: config.yaml says which loss ran
            self.loss.name = arch.loss
        self.recipe()  # refuse conflicting combinations when the config is made, not mid-run
        self._check_image_task()
        self._check_unpaired(arch.objective == "cyclegan")
        self._check_edits(arch.objective == "stargan")

    def _check_unpaired(self, cyclegan: bool) -> None:
        """CycleGAN learns from unpaired data, and only CycleGAN does."""
        d = self.data
        if d.unpaired is None:
            d.unpaired = cyclegan or d.task == "unpaired"
        if cyclegan and not d.unpaired:
            raise CondganError("model cyclegan learns from unpaired data: data.unpaired cannot be false")
        if d.unpaired and not cyclegan:
            raise CondganError(
                f"unpaired data (data.unpaired, task unpaired) trains model cyclegan, not {self.model.name}"
            )
        if not cyclegan:
            return
        if d.redraw or d.per_class:
            raise CondganError(f"data.{'redraw' if d.redraw else 'per_class'} does not apply to unpaired training")
        if d.direction != "AtoB":
            raise CondganError(
                "CycleGAN learns both directions: leave data.direction at AtoB and pick one when translating"
            )
        r = self.recipe()
        if r.regularisers:
            key = REGULARISERS_KEYS.get(r.regularisers[0][0], r.regularisers[0][0])
            raise CondganError(f"loss.{key} does not apply to model cyclegan (its terms: model.cyclegan.*)")
        if r.n_critic != 1:  # train.update does not apply: the Gs update first, then the Ds, as the paper
            raise CondganError("model cyclegan takes one D step per G step (train.n_critic 1)")
        if self.model.with_label:
            raise CondganError("model.with_label applies to pix2pix; CycleGAN's domains carry no label")

    def _check_edits(self, stargan: bool) -> None:
        """StarGAN edits the images of an attribute dataset: what applies to sampling runs does not."""
        if not stargan:
            return
        t = self.train
        if t.eval_every:
            raise CondganError("--eval-every does not apply to model stargan (evaluate its edits with condgan eval)")
        if "color" in parse_policy(t.diffaugment):
            raise CondganError(
                "train.diffaugment color changes the colours D reads the attributes from (skin tone, hair): "
                "use translation and cutout with model stargan"
            )
        r = self.recipe()
        other = [name for name, _ in r.regularisers if name != "gp"]  # the gradient penalty of wgan-gp applies
        if other:
            key = REGULARISERS_KEYS.get(other[0], other[0])
            raise CondganError(f"loss.{key} does not apply to model stargan (its terms: model.stargan.*)")

    def _check_image_task(self) -> None:
        """An image-conditioned model needs pairs, and pairs need one; what pairs cannot do is refused."""
        d, name = self.data, self.model.name
        paired = MODELS.get(name).image_condition
        if d.task == "unpaired" and MODELS.get(name).objective != "cyclegan":
            raise CondganError(f"data.task=unpaired reads two unmatched folders: use model cyclegan, not {name}")
        if paired and d.task is None:
            raise CondganError(f"model {name} translates images: choose data.task ({', '.join(PAIR_TASKS.names())})")
        if d.task is not None and not paired:
            raise CondganError(
                f"data.task={d.task} makes image pairs: use model pix2pix or cyclegan (model {name} samples)"
            )
        if not paired:
            if self.model.with_label:
                raise CondganError(
                    f"model.with_label adds a class label to an image condition: model {name} has labels already"
                )
            if d.redraw:
                raise CondganError("data.redraw applies to image-to-image tasks that draw at random (inpaint)")
            return
        if d.redraw and not PAIR_TASKS.get(d.task).random:
            raise CondganError(f"data.redraw needs a task that draws its inputs at random (inpaint), not {d.task}")
        for key, value in (("data.holdout", d.holdout), ("train.diffaugment", self.train.diffaugment)):
            if value:
                raise CondganError(f"{key} does not apply to image-to-image training (data.task={d.task})")
        if self.train.eval_every:
            raise CondganError("--eval-every measures sampling runs; evaluate a translation run with condgan eval")
        if d.scale != "signed":
            raise CondganError("data.scale=unit does not apply to image-to-image training: pix2pix uses [-1, 1]")

    def recipe(self) -> Recipe:
        """The loss options resolved against the loss's defaults (losses.resolve_recipe)."""
        m, arch = self.model, MODELS.get(self.model.name)
        return resolve_recipe(
            self.loss.name,
            dataclasses.asdict(self.loss),
            d_cond=m.d_cond,
            d_norm=m.d_norm,
            family_d_norm=arch.d_norm,
            n_critic=self.train.n_critic,
            family_regularisers=dict(arch.regularisers),
            paired=arch.image_condition,
        )

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Config:
        return _build(cls, values, prefix="")


def _field_type(cls: type, name: str) -> Any:
    return typing.get_type_hints(cls)[name]


def _finite(value: float, key: str) -> float:
    if not math.isfinite(value):
        raise CondganError(f"{key} must be a finite number, got {value}")
    return value


def _coerce(value: Any, kind: Any, key: str) -> Any:
    """Convert a YAML / command-line value to the annotated type, refusing what does not fit."""
    options = typing.get_args(kind) if isinstance(kind, types.UnionType) else (kind,)
    if value is None:
        if type(None) in options:
            return None
        raise CondganError(f"{key} cannot be null")
    for option in options:
        if option is bool and isinstance(value, bool):
            return value
        if option is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if option is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            return _finite(float(value), key)
        if option is float and isinstance(value, str):
            try:
                number = float(value)  # YAML reads "1e-3" as a string
            except ValueError:
                pass
            else:
                return _finite(number, key)
        if option is str and isinstance(value, str):
            return value
    names = " or ".join(getattr(o, "__name__", str(o)) for o in options)
    raise CondganError(f"{key} must be {names}, got {value!r}")


def _section(kind: Any) -> type | None:
    """The dataclass a field holds (a section, or an optional one such as model.cyclegan), else None."""
    options = typing.get_args(kind) if isinstance(kind, types.UnionType) else (kind,)
    return next((o for o in options if dataclasses.is_dataclass(o)), None)


def _build(cls: type, values: dict[str, Any], prefix: str) -> Any:
    if not isinstance(values, dict):
        raise CondganError(f"{prefix.rstrip('.') or 'config'} must be a mapping, got {values!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in values.items():
        if key not in fields:
            valid = ", ".join(prefix + k for k in fields)
            raise CondganError(f"unknown config key {prefix + str(key)!r}; valid: {valid}")  # repr: one line
        kind = _field_type(cls, key)
        section = _section(kind)
        if section is not None and (value is not None or not isinstance(kind, types.UnionType)):
            kwargs[key] = _build(section, value, prefix=f"{prefix}{key}.")
        else:
            kwargs[key] = _coerce(value, kind, prefix + key)
    return cls(**kwargs)


def merge(base: dict[str, Any], overlay: dict[str, Any]) -> dict[str, Any]:
    """Recursive dict update: the overlay wins, nested sections are merged, not replaced."""
    out = dict(base)
    for key, value in overlay.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def read_yaml(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise CondganError(f"config file not found: {path}") from None
    except UnicodeDecodeError:
        raise CondganError(f"config file {path} is not UTF-8 text") from None
    except IsADirectoryError:
        raise CondganError(f"config file {path} is a directory") from None
    except yaml.YAMLError as err:
        raise CondganError(f"config file {path} is not valid YAML: {err}".splitlines()[0]) from None
    if not isinstance(values, dict):
        raise CondganError(f"config file {path} must hold a mapping of sections")
    values.pop("condgan", None)  # a run's config.yaml: the version, commit and resolved values it records
    return check_sections(values, f"config file {path}")


def check_sections(values: dict[str, Any], where: str) -> dict[str, Any]:
    """Each section of an overlay is a mapping (or empty): `train: 5` would otherwise be replaced
    by the first --set of that section and never be seen."""
    for key, value in values.items():
        if value is not None and not isinstance(value, dict):
            sections = ", ".join(f.name for f in dataclasses.fields(Config))
            raise CondganError(
                f"{where}: section {key!r} must be a mapping of keys (sections: {sections}), got {value!r}"
            )
    return values


def preset_overlay(name_or_path: str) -> dict[str, Any]:
    """The YAML overlay of a preset name (see `preset_names`) or of a .yaml file."""
    if name_or_path.endswith((".yaml", ".yml")) or "/" in name_or_path:
        return read_yaml(name_or_path)
    if name_or_path not in preset_names():
        raise CondganError(f"unknown preset '{name_or_path}'; valid: {', '.join(preset_names())} (or a .yaml file)")
    text = (resources.files("condgan") / "configs" / f"{name_or_path}.yaml").read_text()
    return check_sections(yaml.safe_load(text) or {}, f"preset {name_or_path}")


def parse_assignment(text: str) -> dict[str, Any]:
    """`train.lr_g=1e-4` -> {"train": {"lr_g": 1e-4}} (the value read as YAML)."""
    key, sep, raw = text.partition("=")
    if not sep or not key or any(not part for part in key.split(".")):
        raise CondganError(f"--set expects section.key=value, got '{text}'")
    value: Any = yaml.safe_load(raw) if raw.strip() else None
    for part in reversed(key.strip().split(".")):
        value = {part: value}
    return value


def load_config(preset: str | None, overrides: list[dict[str, Any]] = ()) -> Config:
    """Defaults <- preset (DEFAULT_PRESET when None) <- each override, validated once."""
    values = preset_overlay(preset or DEFAULT_PRESET)
    for overlay in overrides:
        values = merge(values, overlay)
    return Config.from_dict(values)
