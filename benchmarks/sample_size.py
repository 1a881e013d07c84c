"""How condgan's figures move with the sample size N, and how much the real-data floor moves
with which real images are drawn: real train images scored against the test split.

    python benchmarks/sample_size.py [--dataset mnist] [--draws 3] [--write-docs]

For each N (total images, N / 10 per class) `--draws` random draws of train images are
scored exactly as `condgan eval` scores generated ones (without CAS); the table shows the
mean and the min–max over draws. `--write-docs` puts it into docs/evaluation.md.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from condgan.data import load_dataset
from condgan.metrics.classifier import accuracy, cached_classifier, embed
from condgan.metrics.floor import draw
from condgan.metrics.report import compute_metrics
from docblock import replace_block

ROOT = Path(__file__).resolve().parents[1]
FIGURES = ("fid", "intra_fid", "kid", "precision", "recall", "density", "coverage", "cond_acc")
SIZES = (500, 1000, 2000, 5000, 10000)


def cell(values: list[float]) -> str:
    mean = sum(values) / len(values)
    digits = 3 if abs(mean) < 10 else 1
    return f"{mean:.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--data-dir")
    parser.add_argument("--draws", type=int, default=3)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    start = time.perf_counter()
    train, test = load_dataset(args.dataset, "train", args.data_dir), load_dataset(args.dataset, "test", args.data_dir)
    classifier = cached_classifier(train, args.dataset)
    test_features, _ = embed(classifier, test.images)
    num_classes = len(train.class_names)
    lines = [
        f"Real {args.dataset} train images against the {len(test):,} test images, with the cached classifier "
        f"(test accuracy {accuracy(classifier, test):.2%}); mean (min–max) over {args.draws} random draws "
        "per N.",
        "",
        "| N (per class) | " + " | ".join(FIGURES) + " |",
        "|" + " --- |" * (len(FIGURES) + 1),
    ]
    for n in SIZES:
        runs = []
        for seed in range(args.draws):
            picks = draw(train, n // num_classes, seed)
            runs.append(
                compute_metrics(
                    classifier,
                    train.images[picks],
                    train.labels[picks],
                    test,
                    cas=False,
                    seed=seed,
                    real_features=test_features,
                )
            )
        cells = [cell([float(r[key]) for r in runs]) for key in FIGURES]
        lines.append(f"| {n:,} ({n // num_classes:,}) | " + " | ".join(cells) + " |")
        print(lines[-1], flush=True)
    lines += ["", f"(`python benchmarks/sample_size.py --dataset {args.dataset}`, {time.perf_counter() - start:.0f} s)"]
    print("\n".join(lines))
    if args.write_docs:
        replace_block(ROOT / "docs" / "evaluation.md", f"sample-size-{args.dataset}", "\n".join(lines))


if __name__ == "__main__":
    main()
