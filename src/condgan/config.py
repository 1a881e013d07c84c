"""Typed configuration: dataclass defaults, short YAML presets on top, `--set key=value` last.

A preset is a YAML overlay on the defaults, e.g. `{model: {name: cgan-mlp}, train: {epochs: 30}}`.
Unknown keys are refused with the valid ones; values are converted to the field's type.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from condgan.errors import CondganError

DEFAULT_PRESET = "mnist-cdcgan"
BEST_METRICS = {"fid": "lower", "intra_fid": "lower", "cond_acc": "higher"}  # which way is better


def _positive(section: str, **values: float | int | None) -> None:
    for name, value in values.items():
        if value is not None and value <= 0:
            raise CondganError(f"{section}.{name} must be > 0, got {value}")


@dataclass
class DataConfig:
    dataset: str = "mnist"
    data_dir: str | None = None  # looked up before the bundled / cached copies


@dataclass
class ModelConfig:
    name: str = "cdcgan"
    z_dim: int = 100
    width: int | None = None  # None: the architecture's own default (cdcgan 64, cgan-mlp 256)

    def __post_init__(self) -> None:
        _positive("model", z_dim=self.z_dim, width=self.width)


@dataclass
class LossConfig:
    name: str = "bce"


@dataclass
class TrainConfig:
    epochs: int | None = None  # exactly one of epochs / steps; neither means 1 epoch
    steps: int | None = None  # total generator updates
    batch_size: int = 64
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.5
    beta2: float = 0.999
    seed: int = 0
    ema: float | None = None  # decay of an EMA of G (e.g. 0.999), used for samples; None: off
    checkpoint_every: int | None = None  # steps; the last checkpoint is always kept
    eval_every: int | None = None  # steps between quick evaluations (accuracy, FID, intra-FID)
    eval_per_class: int = 200  # generated images per class in those evaluations
    best_metric: str = "fid"  # fid | intra_fid | cond_acc: picks checkpoints/best.pt
    log_every: int = 100  # steps between metrics.jsonl lines (the only host syncs)
    threads: int | None = None  # torch intra-op threads; None: torch's default

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
        )
        if self.best_metric not in BEST_METRICS:
            raise CondganError(f"train.best_metric must be one of {', '.join(BEST_METRICS)}, got {self.best_metric!r}")
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

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> Config:
        return _build(cls, values, prefix="")


def _field_type(cls: type, name: str) -> Any:
    return typing.get_type_hints(cls)[name]


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
            return float(value)
        if option is float and isinstance(value, str):
            try:
                return float(value)  # YAML reads "1e-3" as a string
            except ValueError:
                pass
        if option is str and isinstance(value, str):
            return value
    names = " or ".join(getattr(o, "__name__", str(o)) for o in options)
    raise CondganError(f"{key} must be {names}, got {value!r}")


def _build(cls: type, values: dict[str, Any], prefix: str) -> Any:
    if not isinstance(values, dict):
        raise CondganError(f"{prefix.rstrip('.') or 'config'} must be a mapping, got {values!r}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {}
    for key, value in values.items():
        if key not in fields:
            raise CondganError(
                f"unknown config key '{prefix}{key}'; valid: {', '.join(prefix + k for k in fields)}"
            )
        kind = _field_type(cls, key)
        if dataclasses.is_dataclass(kind):
            kwargs[key] = _build(kind, value, prefix=f"{prefix}{key}.")
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


def preset_names() -> list[str]:
    folder = resources.files("condgan") / "configs"
    return sorted(p.name[: -len(".yaml")] for p in folder.iterdir() if p.name.endswith(".yaml"))


def read_yaml(path: Path | str) -> dict[str, Any]:
    path = Path(path)
    try:
        values = yaml.safe_load(path.read_text()) or {}
    except FileNotFoundError:
        raise CondganError(f"config file not found: {path}") from None
    except yaml.YAMLError as err:
        raise CondganError(f"config file {path} is not valid YAML: {err}".splitlines()[0]) from None
    if not isinstance(values, dict):
        raise CondganError(f"config file {path} must hold a mapping of sections")
    return values


def preset_overlay(name_or_path: str) -> dict[str, Any]:
    """The YAML overlay of a preset name (see `preset_names`) or of a .yaml file."""
    if name_or_path.endswith((".yaml", ".yml")) or "/" in name_or_path:
        return read_yaml(name_or_path)
    if name_or_path not in preset_names():
        raise CondganError(
            f"unknown preset '{name_or_path}'; valid: {', '.join(preset_names())} (or a .yaml file)"
        )
    text = (resources.files("condgan") / "configs" / f"{name_or_path}.yaml").read_text()
    return yaml.safe_load(text) or {}


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
