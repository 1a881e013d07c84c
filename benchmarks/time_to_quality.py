"""Wall time until a preset's samples reach a conditional accuracy (default 99% on 10,000 samples).

    python benchmarks/time_to_quality.py                                  # the default preset, seeds 0 1 2
    python benchmarks/time_to_quality.py --config mnist-fast --seeds 0
    python benchmarks/time_to_quality.py --set train.ema=0.999            # one lever at a time
    PYTHONPATH=/path/to/old/src python benchmarks/time_to_quality.py     # an older condgan

Only the training steps are timed; every --every steps the sampling generator (the EMA one where
the preset keeps one) is scored on --per-class samples per class with condgan's domain classifier
(not timed). Prints one line per evaluation, the first time the target is met for each seed and a
summary line. Run it alone on the machine: it keeps torch's thread count (the load-following
choice of `condgan train` is not made here), so another busy process slows every step
several-fold. Uses only the Trainer / PeriodicEval API, so it runs against older checkouts too
(that is how "before" is measured).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import torch

from condgan.config import load_config, parse_assignment
from condgan.train import Trainer
from condgan.train.evaluation import PeriodicEval


def synchronize(device: torch.device) -> None:
    """Wait for the device's queued kernels, so that a timer stopped next measures them."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_to_target(
    config, evaluator: PeriodicEval, target: float, every: int, max_epochs: float, max_seconds: float
) -> tuple[float, int] | None:
    """(seconds of training, steps) when the judge first reads >= target, or None."""
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(config, Path(tmp) / "run", progress=False)
        limit = int(max_epochs * trainer.batches.steps_per_epoch)
        trained = 0.0
        while trainer.step < limit and trained < max_seconds:
            start = time.perf_counter()
            for _ in range(min(every, limit - trainer.step)):
                trainer.train_step()
            synchronize(trainer.device)  # the queued kernels belong to this interval
            trained += time.perf_counter() - start
            acc = evaluator(trainer.G_sample)["eval/cond_acc"]
            print(f"  step {trainer.step}: {trained:.0f} s of training, cond_acc {acc:.4f}", flush=True)
            if acc >= target:
                return trained, trainer.step
    return None


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None, help="preset (default: the default preset)")
    parser.add_argument("--target", type=float, default=0.99)
    parser.add_argument("--every", type=int, default=300, help="steps between evaluations (default: 300)")
    parser.add_argument("--per-class", type=int, default=1000, help="samples per class (default 1,000: 10,000)")
    parser.add_argument("--max-epochs", type=float, default=8)
    parser.add_argument("--max-seconds", type=float, default=float("inf"), help="give up after this much training")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    results: list[str] = []
    evaluator = None
    for seed in args.seeds:
        config = load_config(args.config, [parse_assignment(a) for a in [*args.set, f"train.seed={seed}"]])
        if evaluator is None:  # the classifier and the test set's features, once
            evaluator = PeriodicEval(config.data.dataset, config.data.data_dir, args.per_class, "cond_acc")
        print(f"seed {seed}", flush=True)
        reached = time_to_target(config, evaluator, args.target, args.every, args.max_epochs, args.max_seconds)
        if reached is None:
            limits = f"at most {args.max_epochs:g} epochs, {args.max_seconds:g} s"
            line = f"seed {seed}: did not reach {args.target:.0%} ({limits})"
        else:
            line = f"seed {seed}: reached {args.target:.0%} after {reached[0]:.0f} s ({reached[1]} steps)"
        print(line, flush=True)
        results.append(line)
    print("\n".join(results))


if __name__ == "__main__":
    main()
