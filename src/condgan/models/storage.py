"""`generator/`: config.json + model.safetensors, loadable without the dataset or training code.

config.json names the model family, G's constructor arguments, the condition (its kind and
factors; for classes, their names) and, for tools that read only that, `class_names`.
"""

from __future__ import annotations

import json
from pathlib import Path

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file

from condgan.conditions import Condition, condition_from_json
from condgan.errors import CondganError
from condgan.fileio import recover_dir, write_dir
from condgan.models import Generator, family_of
from condgan.models.cyclegan import MAX_BLOCKS

FORMAT = "condgan-generator"


MAX_CLASSES = 100_000


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
    state = {k: v.detach().contiguous() for k, v in G.state_dict().items()}
    if not all(bool(v.isfinite().all()) for v in state.values() if v.is_floating_point()):
        raise CondganError(f"G's weights are not finite (NaN or inf): {folder} not written")

    def fill(tmp: Path) -> None:
        save_file(state, tmp / "model.safetensors")
        (tmp / "config.json").write_text(json.dumps(meta, indent=2))

    write_dir(folder, fill)  # weights and config.json replace the old ones together


def generator_folder(folder: Path | str) -> Path:
    """A run directory's generator/, or the folder itself."""
    folder = Path(folder)
    if (folder / "config.yaml").is_file():  # a run directory: a kill may have stopped a generator/ write
        recover_dir(folder / "generator")
    return folder / "generator" if (folder / "generator").is_dir() else folder


def load_generator(folder: Path | str) -> tuple[Generator, Condition]:
    """(G in eval mode, its condition) from a `generator/` folder or a run directory."""
    folder = generator_folder(folder)
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
        if family.image_condition != (condition.kind == "image"):
            raise ValueError(f"model family {meta.get('family')!r} does not take its condition (kind {condition.kind})")
        G = family.generator_class(meta.get("class"))(**meta["kwargs"])
        if condition.dim != G.num_classes:
            raise ValueError(f"its condition has {condition.dim} columns, the model takes {G.num_classes}")
        if condition.kind == "image":
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
    from condgan.config import LIMITS  # config imports the model registry: imported here, not at the top

    sizes = {
        "z_dim": LIMITS["model.z_dim"],
        "width": LIMITS["model.width"],
        "refine": LIMITS["model.g_refine"],
        "img_size": LIMITS["data.img_size"],
        "img_channels": LIMITS["data.channels"],
        "num_classes": MAX_CLASSES,
        "in_channels": LIMITS["data.channels"],
        "in_size": LIMITS["data.img_size"],
        "blocks": MAX_BLOCKS,
        "label_classes": MAX_CLASSES,
    }
    for key, value in kwargs.items():
        if not isinstance(value, (str, int, float, bool)) and value is not None:
            raise ValueError(f"config.json: kwargs.{key} must be a number, a word or null, got {type(value).__name__}")
        limit = sizes.get(key)
        if limit is not None and (not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= limit):
            raise ValueError(f"config.json: kwargs.{key} must be a whole number 0..{limit:,}, got {value!r}"[:200])
