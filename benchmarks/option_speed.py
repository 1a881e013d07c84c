"""Two settings of one preset, side by side in one process: which trains faster per step.

    python benchmarks/option_speed.py --config mnist-best --b train.fuse_d=true
    python benchmarks/option_speed.py --config mnist-best --a train.batch_size=32 \\
        --b train.batch_size=32 --b train.fuse_d=true

Both trainers are built from the same preset (A with the --a overrides, B with the --b ones)
on the same data and run exactly what `Trainer.fit` runs per step, minus the per-epoch files.
Rounds alternate (A, B, A, B, ...) so machine noise hits both; the median round is used. The
ratio is A's time per step over B's: above 1, B is faster. Quality is not measured here.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
from pathlib import Path

from condgan.config import load_config, parse_assignment
from condgan.train import Trainer
from train_speed import condgan_steps, timed


def ms_per_step(trainer: Trainer, steps: int) -> float:
    return timed(condgan_steps, trainer, steps) / steps * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="mnist-cdcgan", help="preset name or YAML file (default: mnist-cdcgan)")
    parser.add_argument("--a", action="append", default=[], metavar="KEY=VALUE", help="override for setting A")
    parser.add_argument("--b", action="append", default=[], metavar="KEY=VALUE", help="override for setting B")
    parser.add_argument("--steps", type=int, default=150, help="steps per timed round (default: 150)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating timed rounds (default: 5)")
    parser.add_argument("--data-dir", default=None, help="where the datasets are (default: condgan's)")
    args = parser.parse_args()
    base = [{"data": {"data_dir": args.data_dir}}] if args.data_dir else []
    times: dict[str, list[float]] = {"A": [], "B": []}
    with tempfile.TemporaryDirectory() as tmp:
        trainers = {
            name: Trainer(
                load_config(args.config, base + [parse_assignment(a) for a in sets]),
                Path(tmp) / name,
                progress=False,
            )
            for name, sets in (("A", args.a), ("B", args.b))
        }
        for trainer in trainers.values():
            ms_per_step(trainer, 20)  # warm-up: allocator, thread pool, kernels' first calls
        for _ in range(args.rounds):
            for name, trainer in trainers.items():
                times[name].append(ms_per_step(trainer, args.steps))
    a, b = statistics.median(times["A"]), statistics.median(times["B"])
    for name, sets in (("A", args.a), ("B", args.b)):
        rounds = ", ".join(f"{t:.1f}" for t in times[name])
        print(f"{name} ({' '.join(sets) or 'the preset'}): {statistics.median(times[name]):.2f} ms/step ({rounds})")
    print(f"ratio A/B {a / b:.3f} ({'B' if a > b else 'A'} faster)")


if __name__ == "__main__":
    main()
