"""Where one epoch of `condgan train` goes: forward, backward, optimiser, data, logging, health probe...

    python benchmarks/epoch_profile.py                         # the default preset, one epoch
    python benchmarks/epoch_profile.py --config mnist-best --set train.steps=300

Runs `Trainer.fit` as `condgan train` does (thread choice, log rows, the health watch and its
probe, rollback snapshots, the epoch's checkpoint, generator files and grid) with each part
wrapped in a timer. Times are exclusive: the backward pass inside a gradient penalty counts as
backward, not as the loss that called it; "forward" is what remains of the objective's step
(G's and D's forward passes, the losses, the step's own Python). Prints a table in markdown.
"""

from __future__ import annotations

import argparse
import functools
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import torch

import condgan.objectives.gan as gan_objective
from condgan.config import load_config, parse_assignment
from condgan.errors import CondganError
from condgan.threads import Governor
from condgan.train import Trainer
from condgan.train.guard import Guard


class Timers:
    """Exclusive wall time per category: a timed call's children are charged to their own."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)
        self.calls: dict[str, int] = defaultdict(int)
        self.stack: list[float] = []  # the children's time of each open call

    def wrap(self, category: str, fn):
        @functools.wraps(fn)
        def timed(*args, **kwargs):
            self.stack.append(0.0)
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                total = time.perf_counter() - start
                children = self.stack.pop()
                self.seconds[category] += total - children
                self.calls[category] += 1
                if self.stack:
                    self.stack[-1] += total

        return timed


def instrument(trainer: Trainer, timers: Timers) -> None:
    """Wrap the parts of a training step in timers (this process only)."""
    torch.autograd.backward = timers.wrap("backward", torch.autograd.backward)  # Tensor.backward calls it
    torch.autograd.grad = timers.wrap("backward", torch.autograd.grad)  # gradient penalties, R1
    for opt in trainer.opts.values():
        opt.step = timers.wrap("optimiser", opt.step)
        opt.zero_grad = timers.wrap("optimiser", opt.zero_grad)
    trainer.set_learning_rates = timers.wrap("optimiser", trainer.set_learning_rates)
    gan_objective.update_ema_ = timers.wrap("EMA of G", gan_objective.update_ema_)
    batches = type(trainer.batches)
    batches.__call__ = timers.wrap("data", batches.__call__)
    trainer.family.step = timers.wrap("forward (and the step's own Python)", trainer.family.step)
    for name in ("add", "flush", "write"):
        setattr(trainer.log, name, timers.wrap("logging", getattr(trainer.log, name)))
    if trainer.probe is not None:
        trainer.probe = timers.wrap("health probe", trainer.probe)
    Guard.after_log = timers.wrap("health probe", Guard.after_log)  # the watch's own figures and alarms
    Guard.remember = timers.wrap("rollback snapshot", Guard.remember)
    Governor.tick = timers.wrap("thread choice", Governor.tick)
    Governor.start = timers.wrap("thread choice", Governor.start)
    trainer._save = timers.wrap("checkpoint and generator files", trainer._save)
    trainer.save_grid = timers.wrap("sample grid", trainer.save_grid)
    trainer.finish = timers.wrap("end of run (final files)", trainer.finish)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None, help="preset (default: the default preset)")
    parser.add_argument("--steps", type=int, default=None, help="profile this many steps (default: one epoch)")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    # the preset may set either length: clear the other, so a steps-based preset profiles too
    length = ["train.steps=null", "train.epochs=1"]
    if args.steps:
        length = [f"train.steps={args.steps}", "train.epochs=null"]
    try:
        config = load_config(args.config, [parse_assignment(a) for a in [*length, *args.set]])
    except CondganError as e:
        raise SystemExit(f"epoch_profile.py: {e}") from None
    timers = Timers()
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(config, Path(tmp) / "run", progress=False)
        instrument(trainer, timers)
        fit = timers.wrap("the loop itself (progress, signals, step counting)", trainer.fit)
        start = time.perf_counter()
        fit()
        total = time.perf_counter() - start
        steps = trainer.step
    print(
        f"{config.model.name}, {steps} steps at batch {config.train.batch_size}, {torch.get_num_threads()} threads: "
        f"{total:.1f} s, {1000 * total / steps:.1f} ms per step\n"
    )
    print("| part | time | share | per step | calls |\n| --- | --- | --- | --- | --- |")
    for category, seconds in sorted(timers.seconds.items(), key=lambda kv: -kv[1]):
        print(
            f"| {category} | {seconds:.2f} s | {seconds / total:.1%} | {1000 * seconds / steps:.2f} ms "
            f"| {timers.calls[category]:,} |"
        )


if __name__ == "__main__":
    main()
