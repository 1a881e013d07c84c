"""`generator/`: config.json + model.safetensors, loadable without the dataset or training code."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from safetensors import SafetensorError
from safetensors.torch import load_file, save_file
from torch import nn

from condgan.conditions import ConditionSpec
from condgan.errors import CondganError
from condgan.models import GENERATORS

FORMAT = "condgan-generator"


def atomic_write(path: Path, write: Any) -> None:
    """Call `write(tmp_path)` then rename over `path`, so a crash never leaves a half file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def save_generator(G: nn.Module, folder: Path | str, class_names: tuple[str, ...] | list[str],
                   spec: ConditionSpec | None = None) -> None:  # fmt: skip
    """Write G (its `config` kwargs and weights), the class names and, for several-factor
    conditions, their description to `folder`."""
    folder = Path(folder)
    meta = {
        "format": FORMAT,
        "version": 1,
        "class": type(G).__name__,
        "kwargs": G.config,
        "class_names": list(class_names) if G.config["num_classes"] else [],
        **({"conditions": spec.to_json()} if spec is not None else {}),
    }
    state = {k: v.detach().contiguous() for k, v in G.state_dict().items()}
    atomic_write(folder / "model.safetensors", lambda tmp: save_file(state, tmp))
    atomic_write(folder / "config.json", lambda tmp: Path(tmp).write_text(json.dumps(meta, indent=2)))


def load_condition_spec(folder: Path | str) -> ConditionSpec | None:
    """The factors of a generator trained on several-factor conditions, or None for classes."""
    folder = Path(folder)
    if (folder / "generator").is_dir():
        folder = folder / "generator"
    try:
        items = json.loads((folder / "config.json").read_text()).get("conditions")
    except (OSError, ValueError):
        return None
    return ConditionSpec.from_json(items) if items else None


def load_generator(folder: Path | str) -> tuple[nn.Module, list[str]]:
    """(G in eval mode, class names) from a `generator/` folder or a run directory."""
    folder = Path(folder)
    if (folder / "generator").is_dir():
        folder = folder / "generator"
    config_path = folder / "config.json"
    if not config_path.is_file():
        raise CondganError(f"no trained generator at {folder} (missing config.json)")
    try:
        meta = json.loads(config_path.read_text())
        if meta.get("format") != FORMAT:
            raise ValueError("not a condgan generator config")
        G = GENERATORS.get(meta["class"])(**meta["kwargs"])
        G.load_state_dict(load_file(folder / "model.safetensors"))
    except CondganError:
        raise
    except (OSError, ValueError, KeyError, TypeError, RuntimeError, SafetensorError) as err:
        raise CondganError(f"cannot load the generator in {folder}: {err}".splitlines()[0]) from None
    return G.eval(), meta["class_names"]
