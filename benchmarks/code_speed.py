"""Two checkouts of condgan, one preset, side by side: does a change of code move the time per step?

    git worktree add /tmp/before HEAD~3
    python benchmarks/code_speed.py --a /tmp/before/src --b src --config mnist-cdcgan --config fashion-edges

Each round starts one fresh process per side (A, B, A, B, ...: machine noise hits both), which
builds the preset's trainer from that checkout, warms it up and times `--steps` steps of what
`Trainer.fit` runs per step (benchmarks/train_speed.condgan_steps). The median round of each side
is compared: a ratio A/B above 1 means B is faster. Run it alone on the machine.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
from pathlib import Path

CHILD = """
import json, sys, tempfile, time
sys.path.insert(0, {bench!r})
from condgan.config import load_config
from condgan.train import Trainer
from train_speed import condgan_steps
config = load_config({preset!r}, [{{"train": {{"epochs": None, "steps": 100000}}}}])
with tempfile.TemporaryDirectory() as tmp:
    trainer = Trainer(config, tmp + "/run", progress=False)
    condgan_steps(trainer, {warmup})
    start = time.perf_counter()
    condgan_steps(trainer, {steps})
    print(json.dumps((time.perf_counter() - start) / {steps} * 1e3))
"""


def ms_per_step(src: Path, preset: str, steps: int, warmup: int) -> float:
    code = CHILD.format(bench=str(Path(__file__).parent), preset=preset, steps=steps, warmup=warmup)
    env = os.environ | {"PYTHONPATH": str(src.resolve())}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--a", type=Path, required=True, help="the src/ folder of checkout A")
    parser.add_argument("--b", type=Path, required=True, help="the src/ folder of checkout B")
    parser.add_argument("--config", action="append", required=True, help="preset(s) to time")
    parser.add_argument("--steps", type=int, default=100, help="timed steps per round (default: 100)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed steps first (default: 20)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default: 5)")
    args = parser.parse_args()
    for preset in args.config:
        times: dict[str, list[float]] = {"A": [], "B": []}
        for _ in range(args.rounds):
            for side, src in (("A", args.a), ("B", args.b)):
                times[side].append(ms_per_step(src, preset, args.steps, args.warmup))
        a, b = statistics.median(times["A"]), statistics.median(times["B"])
        spread = {k: f"{min(v):.1f}-{max(v):.1f}" for k, v in times.items()}
        print(f"{preset}: A {a:.2f} ms/step ({spread['A']}), B {b:.2f} ms/step ({spread['B']}), A/B {a / b:.3f}")


if __name__ == "__main__":
    main()
