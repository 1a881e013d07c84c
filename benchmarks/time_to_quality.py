"""Wall time until the default preset's samples reach a conditional accuracy (default 97%).

    python benchmarks/time_to_quality.py                                  # condgan as installed
    python benchmarks/time_to_quality.py --set train.precision=fp32       # the same, without bf16
    PYTHONPATH=/path/to/old/src python benchmarks/time_to_quality.py     # an older condgan

Only the training steps are timed; every --every steps the sampling generator is scored on
--per-class samples per class with condgan's domain classifier (not timed). Prints one line
per evaluation and the first time the target is met. Uses only the Trainer / PeriodicEval
API, so it runs against older checkouts too (that is how "before" is measured).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from condgan.config import load_config, parse_assignment
from condgan.train import Trainer
from condgan.train.evaluation import PeriodicEval


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default=None, help="preset (default: the default preset)")
    parser.add_argument("--target", type=float, default=0.97)
    parser.add_argument("--every", type=int, default=469, help="steps between evaluations (default: half an epoch)")
    parser.add_argument("--per-class", type=int, default=500)
    parser.add_argument("--max-epochs", type=int, default=8)
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    args = parser.parse_args()
    config = load_config(args.config, [parse_assignment(a) for a in args.set])
    evaluator = PeriodicEval(config.data.dataset, config.data.data_dir, args.per_class, "cond_acc")
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(config, Path(tmp) / "run", progress=False)
        limit = args.max_epochs * trainer.batches.steps_per_epoch
        trained = 0.0
        while trainer.step < limit:
            start = time.perf_counter()
            for _ in range(args.every):
                trainer.train_step()
            trained += time.perf_counter() - start
            acc = evaluator(trainer.G_sample)["eval/cond_acc"]
            print(f"step {trainer.step}: {trained:.0f} s of training, cond_acc {acc:.4f}", flush=True)
            if acc >= args.target:
                print(f"reached {args.target:.0%} after {trained:.0f} s ({trainer.step} steps)")
                return
    print(f"did not reach {args.target:.0%} in {args.max_epochs} epochs")


if __name__ == "__main__":
    main()
