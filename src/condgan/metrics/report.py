"""`condgan eval`: every quality figure of a run directory or a samples file, against the test split.

Writes <prefix>.json, <prefix>.md and <prefix>/ (confusion matrix and per-class grids), where
the prefix is RUN_DIR/eval or, for samples.npz, samples.eval.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch
import yaml

from condgan.data import ImageData, class_names_of, load_dataset
from condgan.errors import CondganError
from condgan.fileio import atomic_write_text
from condgan.images import heatmap, make_grid, quantize, save_png, to_hwc
from condgan.metrics.classifier import DomainCNN, accuracy, cached_classifier, embed, train_classifier
from condgan.metrics.features import feature_metrics
from condgan.metrics.floor import real_floor
from condgan.metrics.inception import inception_metrics
from condgan.metrics.precision_recall import K_NEIGHBOURS
from condgan.models.storage import load_generator
from condgan.samples_file import load_samples
from condgan.sampling import sample


def run_data(run_dir: Path) -> dict:
    """The data section a run was trained on (dataset, data_dir, img_size, channels), or {}."""
    config = run_dir / "config.yaml"
    return yaml.safe_load(config.read_text())["data"] if config.is_file() else {}


def generate(
    G: torch.nn.Module, num_classes: int, per_class: int, seed: int, truncation: float | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (N, C, H, W) uint8, labels (N,)): `per_class` images of every class."""
    if not num_classes:
        raise CondganError("this generator is unconditional: conditional metrics need class labels")
    labels = torch.arange(num_classes).repeat_interleave(per_class)  # grouped by class, as a grid
    return quantize(sample(G, labels, seed=seed, progress="generating", truncation=truncation)), labels


def compute_metrics(
    classifier: DomainCNN,
    images: torch.Tensor,
    labels: torch.Tensor,
    real: ImageData,
    *,
    full: bool = True,
    cas: bool = True,
    k: int = K_NEIGHBOURS,
    seed: int = 0,
    real_features: torch.Tensor | None = None,
    progress: bool = False,
) -> dict:
    """All metrics of generated `images` (uint8) asked to be `labels`, against `real`.

    `full=False` keeps the cheap ones (accuracy, FID, intra-FID) for evaluation during training;
    `cas=False` skips the classifier trained on the images (the slow part of a full eval);
    `real_features` (the classifier's features of `real.images`) saves recomputing them.
    """
    fake_features, fake_logits = embed(classifier, images)
    if real_features is None:
        real_features, _ = embed(classifier, real.images)
    result = feature_metrics(
        fake_features, fake_logits, labels, real_features, real.labels, len(real.class_names), full=full, k=k, seed=seed
    )
    if full and cas:
        generated = ImageData(images, labels, real.class_names)
        epochs = max(1, 50_000 // len(labels))
        label = f"CAS: training a classifier on the {len(labels):,} generated images" if progress else None
        cas_model = train_classifier(generated, epochs=epochs, seed=seed, progress=label)
        result["cas"] = accuracy(cas_model, real)  # trained on generated data only
    return result


def _load_source(source: Path, dataset: str | None, per_class: int, seed: int):
    """(images, labels, dataset name, report prefix) of a run directory or a samples file."""
    if source.is_dir():
        dataset = dataset or run_data(source).get("dataset") or "mnist"
        G, condition = load_generator(source)
        return (*generate(G, len(condition.class_names), per_class, seed), dataset, report_prefix(source))
    if source.suffix == ".npz":
        dataset = dataset or "mnist"
        images, labels = load_samples(source, num_classes=len(class_names_of(dataset)))
        return images, labels, dataset, report_prefix(source)
    if not source.exists():
        raise CondganError(f"{source} does not exist (expected a run directory or a .npz samples file)")
    raise CondganError(f"{source}: expected a run directory or a .npz samples file")


def evaluate(
    source: str | Path,
    *,
    dataset: str | None = None,
    data_dir: str | None = None,
    per_class: int = 1000,
    seed: int = 0,
    full: bool = True,
    inception_weights: str | Path | None = None,
) -> dict:
    """Measure a run or a samples .npz; writes the report files and returns the metrics."""
    source = Path(source)
    options = {}
    trained_on = run_data(source) if source.is_dir() else {}
    if source.is_dir() and (dataset is None or dataset == trained_on.get("dataset")):
        # the run's own data: where it was found, how a folder was resized
        data_dir = data_dir or trained_on.get("data_dir")
        options = {"img_size": trained_on.get("img_size"), "channels": trained_on.get("channels")}
    elif trained_on.get("dataset"):
        warn(
            f"{source} was trained on {trained_on['dataset']} but is evaluated against {dataset}: "
            f"these figures compare it with data it never saw (drop --dataset to use {trained_on['dataset']})"
        )
    images, labels, dataset, prefix = _load_source(source, dataset, per_class, seed)
    real = load_dataset(dataset, "test", data_dir, **options)
    if images.shape[1:] != real.images.shape[1:]:
        raise CondganError(
            f"{source}: images of shape {tuple(images.shape[1:])} do not match {dataset} {tuple(real.images.shape[1:])}"
        )
    _check_counts(labels, real, full)
    _warn_small(len(real.labels), len(labels), len(real.class_names))
    train = load_dataset(dataset, "train", data_dir, **options)
    classifier = cached_classifier(train, Path(dataset).name)
    real_features, _ = embed(classifier, real.images)
    result = {"source": str(source), "dataset": dataset, "real": "test split", "k": K_NEIGHBOURS}
    result["n_per_class"] = len(labels) // max(len(real.class_names), 1)
    result |= compute_metrics(
        classifier, images, labels, real, full=full, seed=seed, real_features=real_features, progress=True
    )
    result["floor"] = real_floor(classifier, train, real, Path(dataset).name, real_features)
    inception = inception_metrics(images, real.images, inception_weights)
    if isinstance(inception, str) and inception_weights is not None:
        print(f"condgan: warning: Inception metrics {inception}", file=sys.stderr)
    result |= inception if isinstance(inception, dict) else {"inception": inception}
    write_report(result, images, labels, real.class_names, prefix)
    return result


MIN_REAL, MIN_PER_CLASS = 1000, 100  # below these FID, intra-FID and coverage mean little (docs/evaluation.md)


def _check_counts(labels: torch.Tensor, real: ImageData, full: bool) -> None:
    """Refuse, before any work, sets too small for the figures: a covariance needs 2 points per
    class (intra-FID), the kNN metrics k + 1 points."""
    num_classes = len(real.class_names)
    for name, these in (("generated", labels), ("real test", real.labels)):
        counts = these.bincount(minlength=num_classes)
        if len(these) < 2 or counts.min() < 2:
            c = int(counts.argmin())
            raise CondganError(
                f"{len(these)} {name} images, {int(counts[c])} of class {real.class_names[c]!r}: FID and intra-FID "
                "need at least 2 images of every class"
            )
    if full and min(len(labels), len(real.labels)) <= K_NEIGHBOURS:
        raise CondganError(
            f"precision / recall need more than k={K_NEIGHBOURS} images on each side "
            f"(got {len(labels)} generated, {len(real.labels)} real): use --fast, or more samples"
        )


def warn(text: str) -> None:
    print(f"condgan: warning: {text}", file=sys.stderr, flush=True)


def _warn_small(n_real: int, n_fake: int, num_classes: int) -> None:
    if n_real < MIN_REAL:
        warn(f"only {n_real} real test images: FID and the manifold metrics are unreliable below {MIN_REAL:,}")
    if n_fake < MIN_PER_CLASS * max(num_classes, 1):
        warn(
            f"only {n_fake} generated images ({n_fake // max(num_classes, 1)} per class): intra-FID and coverage "
            f"need >= {MIN_PER_CLASS} per class to mean much, and no figure is comparable with a "
            "1,000-per-class evaluation (docs/evaluation.md, sample size)"
        )


def summary(result: dict) -> dict:
    """The headline numbers (no per-class lists, no confusion matrix)."""
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.items() if not isinstance(v, list)}


def report_prefix(source: Path) -> Path:
    """Where the report of a source goes: RUN_DIR/eval[.json|.md|/] or samples.eval[.json|.md|/]."""
    return source / "eval" if source.is_dir() else source.with_suffix(".eval")


def report_files(prefix: Path) -> list[Path]:
    """What `write_report` writes for a prefix."""
    return [beside(prefix, ".json"), beside(prefix, ".md"), prefix / "confusion.png", prefix / "classes.png"]


def beside(prefix: Path, suffix: str) -> Path:
    """RUN/eval -> RUN/eval.json; samples.eval -> samples.eval.json (with_suffix would drop .eval)."""
    return prefix.with_name(prefix.name + suffix)


def write_report(result: dict, images: torch.Tensor, labels: torch.Tensor, class_names, prefix: Path) -> None:
    prefix.mkdir(parents=True, exist_ok=True)  # the folder beside the .json and .md
    heatmap(torch.tensor(result["confusion"]), class_names, prefix / "confusion.png")
    per_row = 10
    picks = torch.cat([torch.nonzero(labels == c).flatten()[:per_row] for c in range(len(class_names))])
    save_png(make_grid(to_hwc(images[picks]), per_row), prefix / "classes.png", scale=2)
    atomic_write_text(beside(prefix, ".json"), json.dumps(result, indent=2))
    lines = [
        f"# Evaluation of `{result['source']}`",
        "",
        f"{result['n_fake']:,} generated images ({result.get('n_per_class', '?')} per class) against "
        f"{result['n_real']:,} real ones ({result['dataset']}, {result['real']}); features and predictions from "
        "condgan's domain classifier. The floor is what real train images score with the same classifier "
        "(mean, and min–max over its draws): no generator is expected below it. Figures move with N: compare "
        "only evaluations of the same N (docs/evaluation.md).",
        "",
        "| metric | value | N (generated / real) | real-data floor | note |",
        "| --- | --- | --- | --- | --- |",
    ]
    lines += _figure_rows(result)
    lines += ["", "| class | accuracy | intra-class FD |", "| --- | --- | --- |"]
    lines += [
        f"| {name} | {acc:.4f} | {fd:.3f} |"
        for name, acc, fd in zip(class_names, result["per_class"], result["intra_fid_per_class"])
    ]
    lines += [
        "",
        f"![confusion matrix]({prefix.name}/confusion.png)",
        "",
        f"![ten samples per class]({prefix.name}/classes.png)",
        "",
    ]
    atomic_write_text(beside(prefix, ".md"), "\n".join(lines))


FIGURE_NOTES = {
    "kid": "± its std over subsets; a KID below twice its std cannot be told from 0",
    "precision": "unstable across classifiers on collapsed models: read it with density",
    "density": "the robust precision (Naeem et al. 2020)",
    "coverage": "needs >= 100 per class; grows with N",
    "intra_fid": "per class, then averaged: N is the per-class count",
    "fid": "grows as N shrinks (biased): compare equal N only",
    "cas": "a classifier trained on the generated images, tested on the real test split",
}


def _figure_rows(result: dict) -> list[str]:
    """The report table: each headline figure with its N, the floor and what to mind."""
    floor, rows = result.get("floor") or {}, []
    per_class = result.get("n_per_class", 0)
    skip = {"source", "dataset", "real", "n_fake", "n_real", "n_per_class", "k", "kid_std", "floor"}
    for key, value in summary(result).items():
        if key in skip or isinstance(value, dict):
            continue
        shown = f"{value} ± {result['kid_std']:.4g}" if key == "kid" and "kid_std" in result else f"{value}"
        n = f"{result['n_fake']:,} / {result['n_real']:,}"
        if key == "intra_fid":
            n = f"{per_class:,} / ~{result['n_real'] // len(result['per_class']):,} per class"
        f = floor.get(key)
        floor_cell = "—"
        if isinstance(f, dict):
            spread = f"{f['min']:.4g}–{f['max']:.4g}" if f.get("draws", 2) > 1 else "1 draw"
            floor_cell = f"{f['mean']:.4g} ({spread})"
        note = FIGURE_NOTES.get(key, "")
        if key == "kid" and "kid_std" in result and value < 2 * result["kid_std"]:
            note = "smaller than twice its std: not distinguishable from 0"
        rows.append(f"| {key} | {shown} | {n} | {floor_cell} | {note} |")
    if floor:
        rows.append(f"| (floor) | {floor['n']:,} real train images per draw, {floor['draws']} draws | | | |")
    return rows


COMPARE_COLUMNS = ("cond_acc", "fid", "intra_fid", "kid", "precision", "recall", "density", "coverage", "cas")


SKIP_COLUMNS = {
    "n_fake",
    "n_real",
    "n_per_class",
    "k",
    "kid_std",
    "per_combo",
}  # shown elsewhere, or not a quality figure


def compare_table(sources: list[str | Path]) -> str:
    """A Markdown table of the saved evaluations of several runs / samples files, side by side:
    the class report's columns, then any other figure an evaluator wrote (e.g. per-factor accuracy)."""
    results = []
    for source in map(Path, sources):
        path = beside(report_prefix(source), ".json")
        if not path.is_file():
            raise CondganError(f"no evaluation for {source}: run `condgan eval {source}` first")
        results.append((source, json.loads(path.read_text())))
    figures = [k for _, r in results for k, v in r.items() if isinstance(v, float) and k not in SKIP_COLUMNS]
    columns = [c for c in COMPARE_COLUMNS if c in figures] + [
        c for c in dict.fromkeys(figures) if c not in COMPARE_COLUMNS
    ]
    rows = []
    for source, result in results:
        cells = [f"{result[c]:.4f}" if isinstance(result.get(c), float) else "—" for c in columns]
        rows.append(f"| {source} | {result.get('n_fake', '—')} | " + " | ".join(cells) + " |")
    header = "| source | n | " + " | ".join(columns) + " |"
    return "\n".join([header, "|" + " --- |" * (len(columns) + 2), *rows])
