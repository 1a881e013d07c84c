"""The fault drill: kill -9 a real training run at random moments, resume it each time, and
check that nothing was ever corrupt, at most one checkpoint interval was lost, and the final
weights equal an uninterrupted run's; then a full disk and an injected NaN.

    python benchmarks/fault_drill.py                 # 20 kills, prints a Markdown table
    python benchmarks/fault_drill.py --kills 30 --seed 1

Kills come at random wall-clock moments (start-up, steps, writes) and at chosen fault points
(CONDGAN_FAULT=kill@STEP, kill@checkpoint:N mid-write, kill@eval:N mid-evaluation).
"""

from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch
import yaml

from condgan.errors import CondganError
from condgan.models.storage import load_generator
from condgan.train.checkpoint import load_checkpoint
from condgan.train.logging import read_metrics

EVERY = 10  # checkpoint interval of the drilled run (steps)


def command(out: Path, steps: int, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "condgan",
        "train",
        "--set",
        "model.width=8",
        "--batch-size",
        "16",
        "--steps",
        str(steps),
        "--checkpoint-every",
        str(EVERY),
        "--eval-every",
        "40",
        "--set",
        "train.eval_per_class=20",
        "--set",
        "train.log_every=5",
        "--out",
        str(out),
        "--no-progress",
        *extra,
    ]


def run(cmd: list[str], fault: str | None = None, kill_after: float | None = None) -> int:
    env = {k: v for k, v in os.environ.items() if k != "CONDGAN_FAULT"}
    if fault:
        env["CONDGAN_FAULT"] = fault
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    if kill_after is not None:
        try:
            proc.wait(timeout=kill_after)
        except subprocess.TimeoutExpired:
            proc.send_signal(signal.SIGKILL)
    proc.wait()
    return proc.returncode


def intact(run_dir: Path) -> str:
    """'' when every file of the run reads back; else what is damaged."""
    try:
        if (run_dir / "config.yaml").exists():
            yaml.safe_load((run_dir / "config.yaml").read_text())
        for ckpt in (run_dir / "checkpoints").glob("*.pt"):
            load_checkpoint(ckpt)
        if (run_dir / "metrics.jsonl").exists():
            read_metrics(run_dir / "metrics.jsonl")
        if (run_dir / "generator").exists():
            load_generator(run_dir)
    except (CondganError, OSError, ValueError) as err:
        return str(err)
    return ""


def last_step(run_dir: Path, name: str = "last.pt") -> int:
    path = run_dir / "checkpoints" / name
    return int(load_checkpoint(path)["step"]) if path.exists() else 0


def logged_step(run_dir: Path) -> int:
    path = run_dir / "metrics.jsonl"
    rows = read_metrics(path) if path.exists() else []
    return max((r["step"] for r in rows if "d_loss" in r), default=0)


def weights_equal(a: Path, b: Path) -> bool:
    sa, sb = load_checkpoint(a / "checkpoints" / "last.pt"), load_checkpoint(b / "checkpoints" / "last.pt")
    return all(torch.equal(sa[n][k], sb[n][k]) for n in ("G", "D") for k in sa[n])


def moment(rng: random.Random, i: int, step: int) -> tuple[str, str | None, float | None]:
    """(what, CONDGAN_FAULT, wall-clock delay) of kill number i, for a run now at `step`: every kind in turn."""
    kind = ("wall clock", "step", "checkpoint write", "eval")[i % 4]
    if kind == "wall clock":
        return kind, None, rng.uniform(1.0, 8.0)
    if kind == "step":
        return kind, f"kill@{step + rng.randrange(1, 3 * EVERY)}", None
    if kind == "checkpoint write":
        return kind, f"kill@checkpoint:{rng.randrange(1, 4)}", None
    return kind, "kill@eval", None


def drill(args: argparse.Namespace, root: Path) -> list[str]:
    rng = random.Random(args.seed)
    reference, drilled = root / "reference", root / "drilled"
    assert run(command(reference, args.steps)) == 0, "the uninterrupted run failed"
    lines = [
        "| # | kill | fault point | exit | step logged | resumed from | lost steps | files intact |",
        "| --- | --- | --- | --- | --- | --- | --- | --- |",
    ]
    worst, damaged = 0, 0
    for i in range(1, args.kills + 1):
        kind, fault, delay = moment(rng, i - 1, last_step(drilled))
        first = not (drilled / "checkpoints" / "last.pt").exists()
        cmd = command(drilled, args.steps, *([] if first else ["--resume"]))
        code = run(cmd, fault, delay)
        logged, resumed = logged_step(drilled), last_step(drilled)
        problem = intact(drilled)
        damaged += bool(problem)
        lost = max(0, logged - resumed)
        worst = max(worst, lost)
        lines.append(
            f"| {i} | {kind} | {fault or f'after {delay:.1f} s'} | {code} | {logged} | {resumed} | {lost} | "
            f"{problem or 'yes'} |"
        )
        if code == 0:  # the run finished before the kill came
            lines[-1] += " (finished first)"
            break
    while last_step(drilled) < args.steps or not (drilled / "generator").exists():
        assert run(command(drilled, args.steps, "--resume")) == 0, "the final resume failed"
    same = weights_equal(reference, drilled)
    lines += [
        "",
        f"{args.kills} kills: {damaged} runs with a damaged file; at most {worst} steps lost (checkpoint "
        f"interval {EVERY}); final weights {'equal' if same else 'DIFFER from'} the uninterrupted run's.",
    ]
    return lines


def disk_full(root: Path) -> str:
    """Train into a 3 MiB tmpfs (a real full disk), or with the injected ENOSPC where mounting is not allowed."""
    small = root / "small"
    small.mkdir()
    mounted = (
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(small)], capture_output=True).returncode
        == 0
    )
    try:
        cmd = [*command(small / "run", 400), "--set", "train.keep_checkpoints=null"]
        cmd = [c for c in cmd if c not in ("--eval-every", "40")]
        env = {**os.environ, **({} if mounted else {"CONDGAN_FAULT": "enospc@checkpoint:5"})}
        result = subprocess.run(cmd, env=env, capture_output=True, text=True)
        err = result.stderr.strip().splitlines()
        ok = intact(small / "run") == "" and last_step(small / "run") > 0
        how = "3 MiB tmpfs" if mounted else "injected ENOSPC (mount not permitted)"
        return (
            f"full disk ({how}): exit {result.returncode}, {len(err)} line(s) on stderr: "
            f"`{err[-1] if err else ''}`; traceback: {'Traceback' in result.stderr}; last checkpoint "
            f"(step {last_step(small / 'run')}) intact: {ok}"
        )
    finally:
        if mounted:
            subprocess.run(["umount", str(small)], check=False)


def nan(root: Path) -> str:
    out = root / "nan"
    cmd = command(out, 60)
    code = run(cmd, "nan@25")
    rows = read_metrics(out / "metrics.jsonl")
    kinds = [r.get("alarm") or (f"rollback to {r['to_step']}" if "rollback" in r else None) for r in rows]
    events = [k for k in kinds if k]
    G, _ = load_generator(out)
    finite = all(bool(torch.isfinite(p).all()) for p in G.parameters())
    return f"injected NaN at step 25: exit {code}, events {events}, final weights finite: {finite}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--steps", type=int, default=600, help="length of the drilled run")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    start = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for line in drill(args, root):
            print(line, flush=True)
        print("\n" + disk_full(root), flush=True)
        print(nan(root), flush=True)
    print(f"\n(drill took {time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
