"""Training speed beside other busy processes: the library's fixed thread count against condgan's
choice (condgan.threads), alone and beside 1, 2 and 4 busy processes.

    python benchmarks/shared_machine.py                    # the default preset, 400 steps per cell
    python benchmarks/shared_machine.py --busy 0 1 --steps 300

Each cell trains `condgan train --config PRESET --steps N` in a subprocess (so each starts with
the library's default threads) while `busy` Python loops (`while True: pass`) run beside it,
and reads the median img/s of its metrics.jsonl windows (the first window, with the start-up,
left out). "fixed" sets CONDGAN_THREADS to the library's default (every core: condgan before
the thread choice); "chosen" lets condgan choose. The two modes alternate within each row, so
the machine's own noise hits both. Ratios are to the same mode alone. Run it alone.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

MODES = ("fixed", "chosen")


def busy_loops(count: int) -> list[subprocess.Popen]:
    procs = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(count)]
    time.sleep(0.5 if count else 0)  # running before training looks at the machine
    return procs


def train_speed(preset: str, steps: int, mode: str, out: Path) -> tuple[float, list[str]]:
    """Median img/s of one training, and the thread lines it logged."""
    env = dict(os.environ)
    env.pop("CONDGAN_THREADS", None)
    if mode == "fixed":
        env["CONDGAN_THREADS"] = str(torch.get_num_threads())
    cmd = [sys.executable, "-m", "condgan", "train", "--config", preset, "--steps", str(steps)]
    cmd += ["--out", str(out), "-q", "--set", "train.log_every=50"]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"training failed:\n{result.stderr[-2000:]}")
    rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
    speeds = [r["img/s"] for r in rows if "img/s" in r][1:]
    said = [line for line in result.stdout.splitlines() if "compute threads" in line]
    return statistics.median(speeds), said


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--preset", default="mnist-cdcgan")
    parser.add_argument("--steps", type=int, default=400)
    parser.add_argument("--busy", type=int, nargs="*", default=[0, 1, 2, 4])
    args = parser.parse_args()
    print(f"{args.preset}, {args.steps} steps per cell, {torch.get_num_threads()} default threads")
    table: dict[int, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for busy in args.busy:
            table[busy] = {}
            order = MODES if busy % 2 == 0 else MODES[::-1]
            for mode in order:
                procs = busy_loops(busy)
                try:
                    speed, said = train_speed(args.preset, args.steps, mode, Path(tmp) / f"{busy}-{mode}")
                finally:
                    for p in procs:
                        p.kill()
                        p.wait()
                table[busy][mode] = speed
                print(f"beside {busy} busy: {mode:<6} {speed:7.0f} img/s  {'; '.join(said)}", flush=True)
    print("\n| beside | condgan, every core (before) | condgan choosing its threads (after) |")
    print("| --- | --- | --- |")
    for busy, speeds in table.items():
        cells = []
        for mode in MODES:
            alone = table.get(0, {}).get(mode)
            slower = f" ({alone / speeds[mode]:.1f}x slower)" if alone and busy else ""
            cells.append(f"{speeds[mode]:,.0f} img/s{slower}")
        who = "nothing" if busy == 0 else f"{busy} busy process{'es' if busy > 1 else ''}"
        print(f"| {who} | {cells[0]} | {cells[1]} |")


if __name__ == "__main__":
    main()
