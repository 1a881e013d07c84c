"""Does condgan's generated data help a classifier that has few labelled images? Measured.

    python benchmarks/augmentation.py --data-dir ../shared/datasets          # the full table
    python benchmarks/augmentation.py --datasets mnist --k 10 --seeds 0      # a corner of it

For k real training images per class (k = 10, 50, 100, 500), the same small CNN (condgan's
domain classifier architecture, a fixed number of steps, +-2 px shifts) is trained on
  real       the k * 10 real images;
  real+gen   those images (repeated to match) plus generated ones, half and half;
  gen only   generated images only (classification accuracy score, CAS);
and scored on the whole real test split. The generator is a cDCGAN trained through the
real command line on **only those k images per class** (`--set data.per_class=k`, with
DiffAugment translation + cutout for the small data): nothing it learns comes from the
rest of the training set. A last row trains the classifier on the full training set.

Seeds vary the classifier (initial weights, batch order, shifts); the k-image subsets
(subset seed 0, nested: the 10 are among the 50) and the generators are the same for the
three seeds. Finished generators are kept under --runs and reused. Run it alone: it times
nothing, but it takes ~30 min on 2 cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

import torch
from tqdm import tqdm

from condgan.data import ImageData, load_dataset
from condgan.data.subset import per_class_subset
from condgan.images import quantize
from condgan.metrics.classifier import accuracy, train_classifier
from condgan.models.storage import load_generator
from condgan.progress import bar as progress_bar
from condgan.sampling import sample
from docblock import replace_block

ROOT = Path(__file__).resolve().parents[1]
SETTINGS = ("real", "real+gen", "gen only")


def train_generator(dataset: str, k: int, args: argparse.Namespace) -> Path:
    run = args.runs / f"{dataset}-k{k}"
    if (run / "done.json").is_file():
        return run
    if run.exists():
        raise SystemExit(f"{run} holds an unfinished run: delete it to redo it")
    command = [sys.executable, "-m", "condgan", "train", "--dataset", dataset, "--steps", str(args.gan_steps)]
    command += ["--set", f"data.per_class={k}", "--set", "train.diffaugment=translation,cutout"]
    command += ["--out", str(run), "--no-progress"] + (["--data-dir", args.data_dir] if args.data_dir else [])
    result = subprocess.run(command, capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"training the k={k} generator failed:\n{result.stderr[-3000:]}")
    (run / "done.json").write_text(json.dumps({"k": k, "steps": args.gan_steps}))
    return run


def generated(run: Path, per_class: int, like: ImageData) -> ImageData:
    G, _ = load_generator(run)
    labels = torch.arange(len(like.class_names)).repeat_interleave(per_class)
    with torch.no_grad():
        images = quantize(sample(G, labels, seed=1))
    return ImageData(images, labels, like.class_names)


def mixed(real: ImageData, gen: ImageData) -> ImageData:
    """The real images repeated to the generated set's size, plus the generated set."""
    times = max(1, len(gen) // len(real))
    return ImageData(
        torch.cat([real.images.repeat(times, 1, 1, 1), gen.images]),
        torch.cat([real.labels.repeat(times), gen.labels]),
        real.class_names,
    )


def measure(dataset: str, args: argparse.Namespace, bar: tqdm) -> list[dict]:
    train, test = (load_dataset(dataset, split, args.data_dir) for split in ("train", "test"))
    rows = []
    for k in args.k:
        real = per_class_subset(train, k, seed=0)
        bar.set_description(f"{dataset} k={k}: generator")
        gen = generated(train_generator(dataset, k, args), args.gen_per_class, train)
        sets = {"real": real, "real+gen": mixed(real, gen), "gen only": gen}
        row = {"dataset": dataset, "k": k}
        for name in SETTINGS:
            scores = []
            for seed in args.seeds:
                bar.set_description(f"{dataset} k={k}: {name}, seed {seed}")
                model = train_classifier(sets[name], seed=seed, steps=args.clf_steps)
                scores.append(accuracy(model, test))
                bar.update()
            row[name] = scores
        rows.append(row)
    full = []
    for seed in args.seeds:
        bar.set_description(f"{dataset}: full training set, seed {seed}")
        full.append(accuracy(train_classifier(train, seed=seed, steps=args.clf_steps), test))
        bar.update()
    rows.append({"dataset": dataset, "k": len(train) // len(train.class_names), "real": full, "full": True})
    return rows


def cell(scores: list[float] | None) -> str:
    if not scores:
        return ""
    if len(scores) == 1:
        return f"{scores[0]:.1%}"
    return f"{statistics.mean(scores):.1%} ± {statistics.stdev(scores):.1%}"


def table(rows: list[dict], args: argparse.Namespace) -> str:
    lines = [
        f"Test accuracy on the real test split (10,000 images), mean ± std over classifier seeds "
        f"{', '.join(map(str, args.seeds))}; classifier {args.clf_steps} steps of batch 128; generators "
        f"{args.gan_steps:,} steps on the k images per class only, {args.gen_per_class} generated per class.",
        "",
        "| dataset | real per class | real | real + generated | generated only | gain from generated |",
        "| --- | --- | --- | --- | --- | --- |",
    ]
    for r in rows:
        if r.get("full"):
            lines.append(f"| {r['dataset']} | all (~{r['k']:,}) | {cell(r['real'])} | | | |")
            continue
        gain = statistics.mean(r["real+gen"]) - statistics.mean(r["real"])
        lines.append(
            f"| {r['dataset']} | {r['k']} | {cell(r['real'])} | {cell(r['real+gen'])} | {cell(r['gen only'])} "
            f"| {gain * 100:+.1f} points |"
        )
    return "\n".join(lines)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", nargs="+", default=["mnist", "fashion-mnist"])
    p.add_argument("--k", nargs="+", type=int, default=[10, 50, 100, 500], help="real images per class")
    p.add_argument("--seeds", nargs="+", type=int, default=[0, 1, 2], help="classifier seeds")
    p.add_argument("--gan-steps", type=int, default=2000, help="generator training steps (default 2000)")
    p.add_argument("--clf-steps", type=int, default=300, help="classifier training steps (default 300)")
    p.add_argument("--gen-per-class", type=int, default=500, help="generated images per class (default 500)")
    p.add_argument("--data-dir", help="folder holding the dataset files")
    p.add_argument("--runs", type=Path, default=ROOT / "runs" / "augmentation", help="generators kept here")
    p.add_argument("--doc", type=Path, default=ROOT / "docs" / "augmentation.md", help="write the table here")
    p.add_argument("--no-doc", action="store_true", help="print the table only")
    args = p.parse_args()
    jobs = len(args.datasets) * (len(args.k) * len(SETTINGS) + 1) * len(args.seeds)
    bar = progress_bar(jobs, "augmentation", "classifier")  # an ETA on a terminal, silent in logs
    rows = [row for dataset in args.datasets for row in measure(dataset, args, bar)]
    bar.close()
    args.runs.mkdir(parents=True, exist_ok=True)
    (args.runs / "results.json").write_text(json.dumps(rows, indent=1))
    text = table(rows, args)
    print(text)
    if not args.no_doc:
        replace_block(args.doc, "augmentation", text)


if __name__ == "__main__":
    main()
