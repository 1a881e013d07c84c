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
from condgan.metrics.accuracy import conditional_accuracy
from condgan.metrics.classifier import DomainCNN, accuracy, embed, get_classifier, train_classifier
from condgan.metrics.fid import fid, intra_fid, kid
from condgan.metrics.inception import inception_metrics
from condgan.metrics.precision_recall import K_NEIGHBOURS, manifold_metrics
from condgan.models.storage import load_generator
from condgan.samples_file import load_samples
from condgan.sampling import sample


def run_data(run_dir: Path) -> dict:
    """The data section a run was trained on (dataset, data_dir, img_size, channels), or {}."""
    config = run_dir / "config.yaml"
    return yaml.safe_load(config.read_text())["data"] if config.is_file() else {}


def generate(G: torch.nn.Module, num_classes: int, per_class: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """(images (N, C, H, W) uint8, labels (N,)): `per_class` images of every class."""
    if not num_classes:
        raise CondganError("this generator is unconditional: conditional metrics need class labels")
    labels = torch.arange(num_classes).repeat_interleave(per_class)  # grouped by class, as a grid
    return quantize(sample(G, labels, seed=seed)), labels


def compute_metrics(
    classifier: DomainCNN,
    images: torch.Tensor,
    labels: torch.Tensor,
    real: ImageData,
    *,
    full: bool = True,
    k: int = K_NEIGHBOURS,
    seed: int = 0,
    real_features: torch.Tensor | None = None,
) -> dict:
    """All metrics of generated `images` (uint8) asked to be `labels`, against `real`.

    `full=False` keeps the cheap ones (accuracy, FID, intra-FID) for evaluation during training;
    `real_features` (the classifier's features of `real.images`) saves recomputing them.
    """
    num_classes = len(real.class_names)
    fake_features, fake_logits = embed(classifier, images)
    if real_features is None:
        real_features, _ = embed(classifier, real.images)
    result = {"n_fake": len(labels), "n_real": len(real.labels)}
    result |= conditional_accuracy(fake_logits.argmax(1), labels, num_classes)
    result["fid"] = fid(fake_features, real_features)
    result["intra_fid"], result["intra_fid_per_class"] = intra_fid(
        fake_features, labels, real_features, real.labels, num_classes
    )
    if full:
        result["kid"], result["kid_std"] = kid(fake_features, real_features, seed=seed)
        result |= manifold_metrics(real_features, fake_features, k=k)
        generated = ImageData(images, labels, real.class_names)
        cas_model = train_classifier(generated, epochs=max(1, 50_000 // len(labels)), seed=seed)
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
    if source.is_dir() and (dataset is None or dataset == run_data(source).get("dataset")):
        trained_on = run_data(source)  # the run's own data: where it was found, how a folder was resized
        data_dir = data_dir or trained_on.get("data_dir")
        options = {"img_size": trained_on.get("img_size"), "channels": trained_on.get("channels")}
    images, labels, dataset, prefix = _load_source(source, dataset, per_class, seed)
    real = load_dataset(dataset, "test", data_dir, **options)
    if images.shape[1:] != real.images.shape[1:]:
        raise CondganError(
            f"{source}: images of shape {tuple(images.shape[1:])} do not match {dataset} {tuple(real.images.shape[1:])}"
        )
    _warn_small(len(real.labels), len(labels), len(real.class_names))
    classifier = get_classifier(dataset, data_dir, **options)
    result = {"source": str(source), "dataset": dataset, "real": "test split", "k": K_NEIGHBOURS}
    result |= compute_metrics(classifier, images, labels, real, full=full, seed=seed)
    inception = inception_metrics(images, real.images, inception_weights)
    if isinstance(inception, str) and inception_weights is not None:
        print(f"condgan: warning: Inception metrics {inception}", file=sys.stderr)
    result |= inception if isinstance(inception, dict) else {"inception": inception}
    write_report(result, images, labels, real.class_names, prefix)
    return result


MIN_REAL, MIN_PER_CLASS = 1000, 100  # below these FID, intra-FID and coverage mean little (docs/evaluation.md)


def _warn_small(n_real: int, n_fake: int, num_classes: int) -> None:
    if n_real < MIN_REAL:
        print(
            f"condgan: warning: only {n_real} real test images: FID and the manifold metrics are unreliable "
            f"below {MIN_REAL:,}",
            file=sys.stderr,
        )
    if n_fake < MIN_PER_CLASS * max(num_classes, 1):
        print(
            f"condgan: warning: only {n_fake} generated images ({n_fake // max(num_classes, 1)} per class): "
            f"intra-FID needs >= {MIN_PER_CLASS} per class to mean much",
            file=sys.stderr,
        )


def summary(result: dict) -> dict:
    """The headline numbers (no per-class lists, no confusion matrix)."""
    return {k: (round(v, 4) if isinstance(v, float) else v) for k, v in result.items() if not isinstance(v, list)}


def report_prefix(source: Path) -> Path:
    """Where the report of a source goes: RUN_DIR/eval[.json|.md|/] or samples.eval[.json|.md|/]."""
    return source / "eval" if source.is_dir() else source.with_suffix(".eval")


def report_files(prefix: Path) -> list[Path]:
    """What `write_report` writes for a prefix."""
    return [_beside(prefix, ".json"), _beside(prefix, ".md"), prefix / "confusion.png", prefix / "classes.png"]


def _beside(prefix: Path, suffix: str) -> Path:
    """RUN/eval -> RUN/eval.json; samples.eval -> samples.eval.json (with_suffix would drop .eval)."""
    return prefix.with_name(prefix.name + suffix)


def write_report(result: dict, images: torch.Tensor, labels: torch.Tensor, class_names, prefix: Path) -> None:
    prefix.mkdir(parents=True, exist_ok=True)  # the folder beside the .json and .md
    heatmap(torch.tensor(result["confusion"]), class_names, prefix / "confusion.png")
    per_row = 10
    picks = torch.cat([torch.nonzero(labels == c).flatten()[:per_row] for c in range(len(class_names))])
    save_png(make_grid(to_hwc(images[picks]), per_row), prefix / "classes.png", scale=2)
    atomic_write_text(_beside(prefix, ".json"), json.dumps(result, indent=2))
    lines = [
        f"# Evaluation of `{result['source']}`",
        "",
        f"{result['n_fake']} generated images against {result['n_real']} real ones ({result['dataset']}, "
        f"{result['real']}); features and predictions from condgan's domain classifier.",
        "",
        "| metric | value |",
        "| --- | --- |",
    ]
    lines += [f"| {k} | {v} |" for k, v in summary(result).items() if k not in ("source", "dataset", "real")]
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
    atomic_write_text(_beside(prefix, ".md"), "\n".join(lines))


COMPARE_COLUMNS = ("cond_acc", "fid", "intra_fid", "kid", "precision", "recall", "density", "coverage", "cas")


SKIP_COLUMNS = {"n_fake", "n_real", "k", "kid_std", "per_combo"}  # shown elsewhere, or not a quality figure


def compare_table(sources: list[str | Path]) -> str:
    """A Markdown table of the saved evaluations of several runs / samples files, side by side:
    the class report's columns, then any other figure an evaluator wrote (e.g. per-factor accuracy)."""
    results = []
    for source in map(Path, sources):
        path = _beside(report_prefix(source), ".json")
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
