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
REQUIRED = ("step", "config", "G", "D", "opt_G", "opt_D", "rng")


def save_checkpoint(state: dict[str, Any], path: Path) -> None:
    atomic_write(path, lambda tmp: torch.save({"format": FORMAT, "version": 1, **state}, tmp), fault_point="checkpoint")


def load_checkpoint(path: Path) -> dict[str, Any]:
    """Load and check a checkpoint; corrupt, truncated or foreign files raise CondganError."""
    if not path.is_file():
        raise CondganError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except (RuntimeError, EOFError, OSError, ValueError, zipfile.BadZipFile, pickle.UnpicklingError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CondganError(f"checkpoint {path} is corrupt or truncated ({first})") from None
    if not isinstance(state, dict) or state.get("format") != FORMAT:
        raise CondganError(f"{path} is not a condgan checkpoint")
    missing = [k for k in REQUIRED if k not in state]
    if missing:
        raise CondganError(f"checkpoint {path} is incomplete: missing {', '.join(missing)}")
    return state
