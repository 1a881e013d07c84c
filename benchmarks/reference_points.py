"""Reference points for condgan's metrics: what real data, wrong labels, collapse and noise score.

    python benchmarks/reference_points.py [--dataset mnist] [--data-dir DIR] [--out benchmarks/out/reference]
    python benchmarks/reference_points.py --write-docs     # and put the table into docs/evaluation.md

Each point is a samples .npz of 10,000 images evaluated against the test split exactly as
`condgan eval` does; the table is printed as Markdown.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from condgan.data import load_dataset
from condgan.images import to_hwc
from condgan.metrics.report import compare_table, evaluate
from condgan.samples_file import save_samples
from docblock import replace_block

ROOT = Path(__file__).resolve().parents[1]


def reference_sets(dataset: str, data_dir: str | None, per_class: int = 1000) -> dict[str, tuple]:
    train = load_dataset(dataset, "train", data_dir)
    gen = torch.Generator().manual_seed(0)
    num_classes = len(train.class_names)
    # The first `per_class` training images of every class: real data, never the test split.
    picks = torch.cat([torch.nonzero(train.labels == c).flatten()[:per_class] for c in range(num_classes)])
    images, labels = train.images[picks], train.labels[picks]
    shuffled = labels[torch.randperm(len(labels), generator=gen)]
    one_each = images[torch.arange(num_classes) * per_class].repeat_interleave(per_class, dim=0)
    noise = torch.randint(0, 256, images.shape, generator=gen, dtype=torch.uint8)
    return {
        "real (train images)": (images, labels),
        "labels shuffled": (images, shuffled),
        "collapse (1 image per class)": (one_each, labels),
        "uniform noise": (noise, labels),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", default="mnist")
    parser.add_argument("--data-dir")
    parser.add_argument("--out", default="benchmarks/out/reference")
    parser.add_argument("--write-docs", action="store_true", help="replace the table in docs/evaluation.md")
    args = parser.parse_args()
    out = Path(args.out)
    paths, names = [], []
    for name, (images, labels) in reference_sets(args.dataset, args.data_dir).items():
        path = out / f"{args.dataset}-{name.split()[0].replace('(', '')}.npz"
        save_samples(path, to_hwc(images), labels.numpy())
        result = evaluate(path, dataset=args.dataset, data_dir=args.data_dir)
        print(f"{name}: cond_acc {result['cond_acc']:.4f} fid {result['fid']:.3f}", flush=True)
        paths.append(path)
        names.append(name)
    table = compare_table(paths)
    print(table)
    if args.write_docs:
        rows = table.splitlines()
        for path, name in zip(paths, names, strict=True):  # the set's name, not this machine's path
            rows = [row.replace(f"| {path} |", f"| {name} |", 1) for row in rows]
        body = "\n".join([*rows, "", f"(`python benchmarks/reference_points.py --dataset {args.dataset}`)"])
        replace_block(ROOT / "docs" / "evaluation.md", f"reference-{args.dataset}", body)


if __name__ == "__main__":
    main()
