"""The real-data floor: what real images score against the test split with *this* classifier.

A generator's FID of 3 means little until you know that real train images score ~2 with
the same classifier, and that this floor itself moves with which real images are drawn and
with the classifier's weights. So the floor is measured, not quoted: `DRAWS` random draws of
`PER_CLASS` train images per class, each scored exactly like generated images (without
CAS, which trains a classifier per draw), summarised as mean, min and max. It is cached
beside the classifier, keyed by a digest of the classifier's weights and of the test
images, so a report always shows the floor of the classifier that judged it. The floor of the
MNIST judge that ships with condgan, on the bundled test split, ships beside its weights (the
same key): a first `condgan eval` does not spend ~15 s measuring it.
"""

from __future__ import annotations

import hashlib
import json
from importlib import resources
from pathlib import Path

import torch

from condgan.data import ImageData
from condgan.fileio import atomic_write_text
from condgan.metrics.classifier import DomainCNN, cache_dir, embed
from condgan.metrics.features import feature_metrics
from condgan.metrics.precision_recall import K_NEIGHBOURS

PER_CLASS, DRAWS = 1000, 3
FIGURES = ("cond_acc", "fid", "intra_fid", "kid", "precision", "recall", "density", "coverage")


def digest(classifier: DomainCNN, test: ImageData) -> str:
    h = hashlib.sha256()
    for name, tensor in classifier.state_dict().items():
        h.update(name.encode())
        h.update(tensor.detach().contiguous().numpy().tobytes())
    h.update(test.images.numpy().tobytes())
    h.update(test.labels.numpy().tobytes())
    return h.hexdigest()[:24]


def draw(train: ImageData, per_class: int, seed: int) -> torch.Tensor:
    """Indices of `per_class` random train images of every class (all of a smaller class)."""
    gen = torch.Generator().manual_seed(seed)
    picks = []
    for c in range(len(train.class_names)):
        members = torch.nonzero(train.labels == c).flatten()
        picks.append(members[torch.randperm(len(members), generator=gen)[:per_class]])
    return torch.cat(picks)


def measure_floor(
    classifier: DomainCNN, train: ImageData, test: ImageData, test_features: torch.Tensor | None = None
) -> dict:
    """{"n": images per draw, "draws": DRAWS, figure: {"mean", "min", "max"}} for FIGURES.

    The images of all draws are embedded once; precision / recall / density / coverage (a
    kNN over 10,000 x 10,000 features, the slow part) come from the first draw only, the
    others from every draw."""
    if test_features is None:
        test_features, _ = embed(classifier, test.images)
    picks = [draw(train, PER_CLASS, seed) for seed in range(DRAWS)]
    smallest = min(len(p) for p in picks)
    union, where = torch.unique(torch.cat(picks), return_inverse=True)
    features, logits = embed(classifier, train.images[union])
    runs, start = [], 0
    for seed, p in enumerate(picks):
        rows = where[start : start + len(p)]
        start += len(p)
        result = feature_metrics(
            features[rows],
            logits[rows],
            train.labels[p],
            test_features,
            test.labels,
            len(train.class_names),
            manifold=seed == 0 and min(smallest, len(test)) > K_NEIGHBOURS,
            seed=seed,
        )
        runs.append(result)
    floor: dict = {"n": runs[0]["n_fake"], "draws": DRAWS}
    for key in FIGURES:
        values = [float(r[key]) for r in runs if key in r]
        if not values:  # the kNN figures of a set too small for them
            continue
        floor[key] = {"mean": sum(values) / len(values), "min": min(values), "max": max(values), "draws": len(values)}
    return floor


def real_floor(
    classifier: DomainCNN, train: ImageData, test: ImageData, name: str, test_features: torch.Tensor | None = None
) -> dict | None:
    """The floor of this classifier on this test split: from the cache, or measured and cached;
    None where a class has fewer than 2 images in either split (no covariance to compare)."""
    num_classes = len(train.class_names)
    if min(train.labels.bincount(minlength=num_classes).min(), test.labels.bincount(minlength=num_classes).min()) < 2:
        return None
    stem = f"{name}-{digest(classifier, test)}"
    shipped = resources.files("condgan.metrics") / "weights" / f"{stem}.floor.json"
    if shipped.is_file():  # the shipped MNIST judge on the bundled test split: measured once, for everyone
        return json.loads(shipped.read_text())
    path = cache_dir() / "floors" / f"{stem}.json"
    if path.is_file():
        try:
            return json.loads(path.read_text())
        except ValueError:  # a torn cache entry is measured again
            path.unlink(missing_ok=True)
    floor = measure_floor(classifier, train, test, test_features)
    atomic_write_text(Path(path), json.dumps(floor, indent=2))
    return floor
