"""Fingerprints of every preset's networks after a few steps: a refactor that moves nothing
prints the same lines before and after.

    python benchmarks/fingerprints.py --steps 12 > after.txt
    PYTHONPATH=/path/to/old/src python benchmarks/fingerprints.py --steps 12 > before.txt
    diff before.txt after.txt

Each preset trains `--steps` steps through `Trainer.fit` (the guard's log interval included,
so a rollback snapshot is taken), then every network's state dict (G, D, the EMA, the
optimisers' moments excluded) and the saved generator/ weights are hashed (sha256 of the
raw bytes, in key order). CPU, fp32 and bf16 as the preset resolves it, one thread (so the
sums are taken in one order).
"""

from __future__ import annotations

import argparse
import hashlib
import tempfile
from pathlib import Path

import torch
from safetensors.torch import load_file

from condgan.config import load_config
from condgan.presets import preset_names
from condgan.train import Trainer


def digest(state: dict[str, torch.Tensor]) -> str:
    h = hashlib.sha256()
    for key in sorted(state):
        h.update(key.encode())
        h.update(state[key].detach().contiguous().cpu().reshape(-1).view(torch.uint8).numpy().tobytes())
    return h.hexdigest()[:16]


def networks(trainer: Trainer) -> dict[str, torch.nn.Module]:
    """The trainer's networks by name: `nets` and `emas` where the trainer names them, else G, D, G_ema."""
    if hasattr(trainer, "nets"):
        return dict(trainer.nets) | {f"{k}_ema": v for k, v in trainer.emas.items()}
    found = {"G": trainer.G, "D": trainer.D}
    return found | ({"G_ema": trainer.G_ema} if trainer.G_ema is not None else {})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=12)
    parser.add_argument("--presets", nargs="*", default=None, help="default: every preset")
    parser.add_argument("--set", action="append", default=[], help="extra overrides, e.g. train.precision=fp32")
    args = parser.parse_args()
    torch.set_num_threads(1)
    from condgan.config import parse_assignment

    extra = [parse_assignment(s) for s in args.set]
    for name in args.presets or preset_names():
        overrides = [
            {"train": {"steps": args.steps, "epochs": None, "log_every": max(1, args.steps // 3), "threads": 1}},
            {"train": {"checkpoint_minutes": None, "standing_stats": 2}},
            *extra,
        ]
        config = load_config(name, overrides)
        with tempfile.TemporaryDirectory() as tmp:
            trainer = Trainer(config, Path(tmp) / "run", progress=False)
            trainer.fit()
            prints = {k: digest(net.state_dict()) for k, net in sorted(networks(trainer).items())}
            for folder in sorted(Path(tmp, "run").glob("generator*")):
                prints[f"saved:{folder.name}"] = digest(load_file(folder / "model.safetensors"))
        print(name, " ".join(f"{k}={v}" for k, v in prints.items()), flush=True)


if __name__ == "__main__":
    main()
