"""`condgan eval`: quality figures of a run directory or a samples file, as a dict and eval.json."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from condgan.data import DATASETS
from condgan.errors import CondganError
from condgan.images import to_uint8
from condgan.metrics.accuracy import conditional_accuracy
from condgan.metrics.classifier import get_classifier
from condgan.models.storage import atomic_write, load_generator
from condgan.samples_file import load_samples
from condgan.sampling import class_grid_labels, sample


def _run_dataset(run_dir: Path) -> str | None:
    config = run_dir / "config.yaml"
    return yaml.safe_load(config.read_text())["data"]["dataset"] if config.is_file() else None


def generate(run_dir: Path, per_class: int, seed: int):
    """(images (N, C, H, W) uint8, labels (N,)) from a run's generator, per_class of each class."""
    import torch

    G, class_names = load_generator(run_dir)
    if not class_names:
        raise CondganError(f"{run_dir} holds an unconditional generator: no conditional accuracy to measure")
    labels = class_grid_labels(len(class_names), per_class)
    images = torch.from_numpy(to_uint8(sample(G, labels, seed=seed)))
    images = images[:, None] if images.ndim == 3 else images.permute(0, 3, 1, 2)
    return images.contiguous(), labels


def evaluate(source: str | Path, *, dataset: str | None = None, data_dir: str | None = None,
             per_class: int = 1000, seed: int = 0) -> dict:  # fmt: skip
    """Conditional accuracy (overall, per class, confusion) of a run or a samples .npz.

    Writes eval.json beside the source (in the run directory, or <samples>.eval.json).
    """
    source = Path(source)
    if source.is_dir():
        dataset = dataset or _run_dataset(source) or "mnist"
        images, labels = generate(source, per_class, seed)
        report_path = source / "eval.json"
    elif source.suffix == ".npz":
        dataset = dataset or "mnist"
        images, labels = load_samples(source, num_classes=len(DATASETS.get(dataset).class_names))
        report_path = source.with_suffix(".eval.json")
    else:
        raise CondganError(f"{source}: expected a run directory or a .npz samples file")
    info = DATASETS.get(dataset)
    if tuple(images.shape[1:]) != (info.img_channels, info.img_size, info.img_size):
        raise CondganError(f"{source}: images of shape {tuple(images.shape[1:])} do not match {dataset} "
                           f"({info.img_channels}, {info.img_size}, {info.img_size})")  # fmt: skip
    classifier = get_classifier(dataset, data_dir)
    result = {"source": str(source), "dataset": dataset,
              **conditional_accuracy(classifier, images, labels, len(info.class_names))}  # fmt: skip
    atomic_write(report_path, lambda tmp: Path(tmp).write_text(json.dumps(result, indent=2)))
    return result
