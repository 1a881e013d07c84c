"""Do condgan's metrics rank checkpoints of clearly different quality the same way?

    condgan train --checkpoint-every 937 --out runs/ranked      # one checkpoint per MNIST epoch
    python benchmarks/checkpoint_ranking.py runs/ranked [--per-class 1000] [--write-docs]

Evaluates the untrained generator (step 0, same seed), the first and the last
checkpoints/step_*.pt of the run (every one with --all) with the full metric set, prints a
Markdown table and whether each metric ranks them in training order.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from condgan.config import Config, read_yaml
from condgan.data import load_dataset
from condgan.metrics.classifier import get_classifier
from condgan.metrics.report import compute_metrics, generate
from condgan.train.checkpoint import load_checkpoint
from condgan.train.setup import build_for
from docblock import replace_block

ROOT = Path(__file__).resolve().parents[1]

HIGHER_IS_BETTER = {
    "cond_acc": True,
    "fid": False,
    "intra_fid": False,
    "kid": False,
    "precision": True,
    "recall": True,
    "density": True,
    "coverage": True,
    "cas": True,
}


def generators(run: Path, every: bool):
    """(step, G) for step 0 and every periodic checkpoint, sampling weights (EMA if used)."""
    config = Config.from_dict(read_yaml(run / "config.yaml"))
    data = load_dataset(config.data.dataset, "test", config.data.data_dir)
    torch.manual_seed(config.train.seed)
    G, _ = build_for(config, len(data.class_names), data.images.shape[1], data.images.shape[-1])
    yield 0, G
    paths = sorted((run / "checkpoints").glob("step_*.pt"))
    for path in paths if every else paths[:1] + paths[-1:]:
        state = load_checkpoint(path)
        G.load_state_dict(state.get("G_ema", state["G"]))
        yield state["step"], G


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("run", type=Path)
    parser.add_argument("--per-class", type=int, default=1000)
    parser.add_argument("--all", action="store_true", help="every checkpoint, not only the first and last")
    parser.add_argument("--write-docs", action="store_true", help="replace the table in docs/evaluation.md")
    args = parser.parse_args()
    config = Config.from_dict(read_yaml(args.run / "config.yaml"))
    real = load_dataset(config.data.dataset, "test", config.data.data_dir)
    classifier = get_classifier(config.data.dataset, config.data.data_dir)
    rows = []
    for step, G in generators(args.run, args.all):
        images, labels = generate(G, len(real.class_names), args.per_class, seed=0)
        m = compute_metrics(classifier, images, labels, real)
        rows.append((step, m))
        print(f"step {step}: " + " ".join(f"{k} {m[k]:.4f}" for k in HIGHER_IS_BETTER), flush=True)
    lines = ["| step | " + " | ".join(HIGHER_IS_BETTER) + " |", "|" + " --- |" * (len(HIGHER_IS_BETTER) + 1)]
    lines += [f"| {step} | " + " | ".join(f"{m[k]:.4f}" for k in HIGHER_IS_BETTER) + " |" for step, m in rows]
    order = []
    for key, higher in HIGHER_IS_BETTER.items():
        values = [m[key] for _, m in rows]
        ordered = values == sorted(values, reverse=not higher)
        order.append(f"{key}: {'monotone with training' if ordered else 'NOT monotone'}")
    print("\n" + "\n".join(lines) + "\n\n" + "\n".join(order))
    if args.write_docs:
        source = f"(`python benchmarks/checkpoint_ranking.py RUN`, {len(rows)} generators)"
        body = [*lines, "", "; ".join(order) + " " + source]
        replace_block(ROOT / "docs" / "evaluation.md", "checkpoint-ranking", "\n".join(body))


if __name__ == "__main__":
    main()
