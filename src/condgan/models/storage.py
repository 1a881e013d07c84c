"""`generator/`: config.json + model.safetensors, loadable without the dataset or training code.

config.json names the model family, G's constructor arguments, the condition (its kind and
factors; for classes, their names) and, for tools that read only that, `class_names`.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from condgan.conditions import Condition, condition_from_json, translates
from condgan.errors import CondganError
from condgan.fileio import recover_dir, write_dir
from condgan.limits import LIMITS
from condgan.models import Generator, family_of

FORMAT = "condgan-generator"


MAX_CLASSES = 100_000


def contiguous_state(module: nn.Module) -> dict[str, torch.Tensor]:
    """The module's state dict as safetensors stores it: contiguous (a model that has run
    channels-last holds its conv weights that way, and safetensors refuses those)."""
    return {k: v.detach().contiguous() for k, v in module.state_dict().items()}


def save_generator(G: Generator, folder: Path | str, condition: Condition, family: str) -> None:
    """Write G (its family, `config` kwargs and weights) and its condition to `folder`."""
    folder = Path(folder)
    meta = {
        "format": FORMAT,
        "version": 2,
        "family": family,
        "class": type(G).__name__,
        "kwargs": G.config,
        "class_names": list(condition.class_names) if G.config["num_classes"] else [],
        "conditions": condition.to_json(),
    }
    state = contiguous_state(G)
    if not all(bool(v.isfinite().all()) for v in state.values() if v.is_floating_point()):
        raise CondganError(f"G's weights are not finite (NaN or inf): {folder} not written")

    def fill(tmp: Path) -> None:
        save_file(state, tmp / "model.safetensors")
        (tmp / "config.json").write_text(json.dumps(meta, indent=2))

    write_dir(folder, fill)  # weights and config.json replace the old ones together


DIRECTIONS = {"AtoB": "generator", "BtoA": "generator-BtoA"}  # a CycleGAN run saves both translators


def directions(folder: Path | str) -> list[str]:
    """The directions a run directory translates in: ["AtoB", "BtoA"] for CycleGAN, else ["AtoB"]."""
    return [d for d, name in DIRECTIONS.items() if d == "AtoB" or (Path(folder) / name).is_dir()]


def generator_folder(folder: Path | str, direction: str | None = None) -> Path:
    """A run directory's generator/ (generator-BtoA/ for `direction` BtoA), or the folder itself."""
    folder = Path(folder)
    name = DIRECTIONS.get(direction or "AtoB")
    if name is None:
        raise CondganError(f"direction must be one of {', '.join(DIRECTIONS)}, got {direction!r}")
    if (folder / "config.yaml").is_file():  # a run directory: a kill may have stopped a generator/ write
        recover_dir(folder / name)
    if direction == "BtoA" and not (folder / name).is_dir():
        raise CondganError(
            f"{folder} translates one way only (A to B): direction BtoA needs a CycleGAN run directory, "
            f"which holds {name}/ beside generator/"
        )
    return folder / name if (folder / name).is_dir() else folder


def load_generator(folder: Path | str, direction: str | None = None) -> tuple[Generator, Condition]:
    """(G in eval mode, its condition) from a `generator/` folder or a run directory (its
    generator-BtoA/ with `direction` BtoA)."""
    folder = generator_folder(folder, direction)
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise CondganError(f"no trained generator at {folder} (missing config.json)")
    try:
        meta = json.loads(config_path.read_text())
        if not isinstance(meta, dict) or meta.get("format") != FORMAT:
            raise ValueError("config.json is not a condgan generator config (an object with format " + FORMAT + ")")
        if not isinstance(meta.get("kwargs"), dict):
            raise ValueError("config.json: kwargs must be an object of G's constructor arguments")
        _check_kwargs(meta["kwargs"])
        condition = condition_from_json(meta.get("conditions"), meta.get("class_names"))
        family = family_of(meta)
        if family.takes_image != translates(condition):
            raise ValueError(f"model family {meta.get('family')!r} does not take its condition (kind {condition.kind})")
        G = family.generator_class(meta.get("class"))(**meta["kwargs"])
        if condition.dim != G.num_classes:
            raise ValueError(f"its condition has {condition.dim} columns, the model takes {G.num_classes}")
        if translates(condition):
            said = (condition.in_channels, condition.input_size, condition.img_size, condition.label_classes)
            takes = (G.in_channels, G.in_size, G.img_size, G.label_classes)
            if said != takes:
                raise ValueError(
                    f"its condition is (channels, input px, output px, label classes) {said}, the model's {takes}"
                )
        state = load_file(folder / "model.safetensors")
        bad = [k for k, v in state.items() if v.is_floating_point() and not bool(v.isfinite().all())]
        if bad:
            raise ValueError(f"its weights are not finite (NaN or inf in {bad[0]}); it will not be used")
        G.load_state_dict(state)
    except CondganError as err:
        raise CondganError(f"cannot load the generator in {folder}: {err}") from None
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, SafetensorError) as err:
        raise CondganError(f"cannot load the generator in {folder}: {err}".splitlines()[0]) from None
    return G.eval(), condition


def _check_kwargs(kwargs: dict) -> None:
    """G's constructor arguments, checked before G is built: a crafted size must not allocate terabytes."""
    sizes = {
        "z_dim": LIMITS["model.z_dim"],
        "width": LIMITS["model.width"],
        "refine": LIMITS["model.g_refine"],
        "img_size": LIMITS["data.img_size"],
        "img_channels": LIMITS["data.channels"],
        "num_classes": MAX_CLASSES,
        "in_channels": LIMITS["data.channels"],
        "in_size": LIMITS["data.img_size"],
        "blocks": max(LIMITS["model.cyclegan.blocks"], LIMITS["model.stargan.blocks"]),
        "label_classes": MAX_CLASSES,
        "w_dim": LIMITS["model.stylegan.w_dim"],
        "mapping_layers": LIMITS["model.stylegan.mapping_layers"],
        "attention": LIMITS["model.biggan.attention"],
        "shared_dim": LIMITS["model.width"],
    }
    for key, value in kwargs.items():
        if not isinstance(value, (str, int, float, bool)) and value is not None:
            raise ValueError(f"config.json: kwargs.{key} must be a number, a word or null, got {type(value).__name__}")
        limit = sizes.get(key)
        if limit is not None and (not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= limit):
            raise ValueError(f"config.json: kwargs.{key} must be a whole number 0..{limit:,}, got {value!r}"[:200])
