"""What the trainer checks and builds before the first step: (G, D) for the data, the config
against the data, a run directory that may be (re)used, and checkpoint retention."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from torch import nn

from condgan.config import Config
from condgan.data import ImageData
from condgan.errors import CondganError
from condgan.models import MODELS, build_models

# What may differ between a run and its resumption: the length of training and bookkeeping.
# Hardware and precision may change too: they change speed, not the algorithm; and where the
# dataset's files are (its name and every other data option stay checked).
RESUMABLE_KEYS = {
    "data_dir",
    "tensorboard",
    "watch",
    "checkpoint_minutes",
    "on_diverge",
    "max_rollbacks",
    "rollback_lr_factor",
    "on_collapse",
    "keep_checkpoints",
    "standing_stats",  # only the saved copy of G: a finished run can be re-saved with --resume
    "epochs",
    "steps",
    "checkpoint_every",
    "log_every",
    "threads",
    "eval_every",
    "eval_per_class",
    "device",
    "precision",
    "channels_last",
    "compile",
    "fuse_d",
    "sync_bn",
}


def build_for(
    config: Config,
    num_classes: int,
    img_channels: int,
    img_size: int,
    d_norm: str | None = None,
    in_channels: int | None = None,
    in_size: int | None = None,
    label_classes: int = 0,
) -> tuple[nn.Module, nn.Module]:
    """The (G, D) pair a config describes, for data of this shape (d_norm: the recipe's;
    in_channels, in_size: the condition image's, for pix2pix; label_classes: the classes of its
    label maps with model.with_label)."""
    m = config.model
    section = getattr(m, m.name.replace("-", "_"), None)
    return build_models(
        m.name,
        z_dim=m.z_dim,
        num_classes=num_classes,
        img_channels=img_channels,
        img_size=img_size,
        width=m.width,
        g_cond=m.g_cond,
        d_cond=m.d_cond,
        d_norm=d_norm or config.recipe().d_norm,
        spectral_norm=m.spectral_norm,
        g_refine=m.g_refine,
        activation=m.activation,
        g_norm=m.g_norm,
        d_dropout=m.d_dropout,
        in_channels=in_channels,
        norm=m.norm,
        patch=m.patch,
        in_size=in_size,
        label_classes=label_classes,
        options=section.options() if hasattr(section, "options") else None,
    )


def check_config_against_data(config: Config, data: ImageData, world_size: int = 1) -> None:
    """Everything in the config that the data can contradict, refused before any model is built."""
    t, m, spec = config.train, config.model, data.spec
    if t.batch_size % world_size:
        raise CondganError(
            f"train.batch_size {t.batch_size} must divide evenly over {world_size} processes (it is the global batch)"
        )
    if not spec.is_classes and spec.factors:
        if m.d_cond == "acgan":
            raise CondganError(
                f"model.d_cond=acgan classifies one class; {config.data.dataset} has "
                f"several-factor conditions: use concat, embedding or projection"
            )
        if t.eval_every:
            raise CondganError("--eval-every measures class-conditional runs; evaluate this run with condgan eval")
    arch = MODELS.get(m.name)
    if config.loss.mismatch_weight and not (arch.conditional or arch.image_condition):
        raise CondganError(f"loss.mismatch_weight swaps conditions, but model {m.name} is unconditional")
    if t.batch_size > len(data):
        raise CondganError(f"train.batch_size {t.batch_size} exceeds the dataset size {len(data)}")
    if m.with_label and not spec.class_names:
        raise CondganError(f"model.with_label needs class labels with the pairs; {config.data.dataset} has none")
    arch.check_size(m.name, data.images.shape[-1])


def check_resumable(saved: dict[str, Any], current: dict[str, Any], path: Path, what: str = "") -> None:
    for section, values in saved.items():
        for key, value in values.items():
            if key in RESUMABLE_KEYS or current.get(section, {}).get(key) == value:
                continue
            new = current.get(section, {}).get(key)
            now = f"{what} gives {new!r}" if what else f"now {new!r}"
            raise CondganError(
                f"cannot resume {path}: {section}.{key} was {value!r}, {now} "
                f"(only {', '.join(sorted(RESUMABLE_KEYS))} may change)"
            )


def refuse_existing_run(run_dir: Path) -> None:
    """A new run never replaces another's files: a checkpoint, a generator or a metrics log."""
    if (run_dir / "checkpoints" / "last.pt").exists():
        raise CondganError(f"{run_dir} already holds a run: pass --resume, or choose another --out")
    for name in ("generator", "metrics.jsonl"):
        if (run_dir / name).exists():
            raise CondganError(
                f"{run_dir} holds {name} of another run (but no checkpoint to resume): "
                "choose another --out, or delete it"
            )


def prune_checkpoints(folder: Path, keep: int | None) -> None:
    """Keep the newest `keep` periodic step_N.pt files (None: all); last.pt and best.pt stay."""
    if keep is None:
        return
    for old in sorted(folder.glob("step_*.pt"))[:-keep]:
        old.unlink(missing_ok=True)


def check_same_run(given: Config, run: Config, path: Path) -> None:
    """`--resume --config X`: X (with the flags) must describe the run being resumed, except for
    the keys a resumption may change; the first difference is refused, naming the key."""
    check_resumable(run.to_dict(), given.to_dict(), path, what="--config")


def run_metadata(trainer) -> dict[str, Any]:
    """What config.yaml records beside the config: the condgan version, the git commit of the
    code when it runs from a checkout, and what the config's defaults resolved to."""
    import subprocess

    from condgan import __version__

    commit = None
    try:
        source = Path(__file__).resolve().parent
        out = subprocess.run(["git", "-C", str(source), "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5)
        commit = (out.stdout.strip() or None) if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        pass
    r, m = trainer.recipe, trainer.config.model
    resolved = {
        "regularisers": dict(r.regularisers),
        "n_critic": r.n_critic,
        "d_norm": r.d_norm,
        "width": m.width or MODELS.get(m.name).default_width,
        "condition": trainer.spec.describe(),
        "total_steps": trainer.total_steps,
        "steps_per_epoch": trainer.steps_per_epoch,
        "device": str(trainer.device),
        "bf16": trainer.bf16,
        "channels_last": trainer.channels_last,
        "standing_stats": trainer.standing_batches,
    }
    return {"version": __version__, "commit": commit, "resolved": resolved}


def check_fusable(D: nn.Module, config: Config) -> None:
    """train.fuse_d stacks real and fake into one batch of D: wrong for a D with batch
    statistics, where each half would be normalised with the other's."""
    if not config.train.fuse_d:
        return
    batch_stats = [type(m).__name__ for m in D.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if batch_stats:
        raise CondganError(
            f"train.fuse_d needs a D without batch statistics, but this D has {batch_stats[0]}: "
            "set model.d_norm=layer (or none), or train.fuse_d=false"
        )
