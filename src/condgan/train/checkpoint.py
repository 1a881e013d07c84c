"""Training checkpoints: plain tensors and primitives only (`torch.load(weights_only=True)`),
written atomically so that an interrupted save never replaces a good checkpoint."""

from __future__ import annotations

import pickle
import zipfile
from pathlib import Path
from typing import Any

import torch

from condgan.errors import CondganError
from condgan.fileio import atomic_write

FORMAT = "condgan-checkpoint"
REQUIRED = ("step", "config", "nets", "opts", "rng")
# Version 1 (before the named networks) kept one G and one D at the top level.
LEGACY = {
    "G": ("nets", "G"),
    "D": ("nets", "D"),
    "opt_G": ("opts", "G"),
    "opt_D": ("opts", "D"),
    "G_ema": ("emas", "G"),
}


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    atomic_write(path, lambda tmp: torch.save({"format": FORMAT, "version": 2, **state}, tmp), fault_point="checkpoint")


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load and check a checkpoint; corrupt, truncated or foreign files raise CondganError."""
    if not path.is_file():
        raise CondganError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if not zipfile.is_zipfile(path):  # not torch's archive: the legacy loader read garbage
            raise _corrupt(path, err) from None
        # torch's message suggests weights_only=False, i.e. running the file's code: never
        raise CondganError(
            f"{path} is not a condgan checkpoint: it holds Python objects other than tensors, and will not be loaded"
        ) from None
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile) as err:
        raise _corrupt(path, err) from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CondganError(f"{path} is not a condgan checkpoint")
    state = upgrade(state)
    missing = [k for k in REQUIRED if k not in state]
    if missing:
        raise CondganError(f"checkpoint {path} is incomplete: missing {', '.join(missing)}")
    _check_values(state, path)
    return state


def upgrade(state: dict[str, Any]) -> dict[str, Any]:
    """A version-1 checkpoint (G, D, opt_G, opt_D, G_ema at the top level) in the named layout."""
    if state.get("version", 1) >= 2:
        return state
    out = {k: v for k, v in state.items() if k not in LEGACY}
    for key, (kind, name) in LEGACY.items():
        if key in state:
            out.setdefault(kind, {})[name] = state[key]
    out.setdefault("emas", {})
    return out


def _corrupt(path: Path, err: Exception) -> CondganError:
    first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
    return CondganError(f"checkpoint {path} is corrupt or truncated ({first})")


def _check_values(state: dict[str, Any], path: Path) -> None:
    """The fields resume trusts: a step, a config, finite weights."""
    step = state["step"]
    if not isinstance(step, int) or isinstance(step, bool) or step < 0:
        raise CondganError(f"checkpoint {path}: step must be a whole number >= 0, got {step!r}"[:200])
    if not isinstance(state["config"], dict):
        raise CondganError(f"checkpoint {path}: config must be a mapping, got {type(state['config']).__name__}")
    for kind in ("nets", "opts"):
        if not isinstance(state[kind], dict) or not state[kind]:
            raise CondganError(f"checkpoint {path}: {kind} must be a mapping of the networks' states by name")
    for net, weights in state["nets"].items():
        if not isinstance(weights, dict) or not all(isinstance(v, torch.Tensor) for v in weights.values()):
            raise CondganError(f"checkpoint {path}: {net} must be a mapping of tensors")
        bad = next((k for k, v in weights.items() if v.is_floating_point() and not bool(v.isfinite().all())), None)
        if bad is not None:
            raise CondganError(f"checkpoint {path}: {net}'s weights are not finite (NaN or inf in {bad}); not resumed")
