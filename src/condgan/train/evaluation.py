"""Evaluation during training: cheap metrics every N steps and the best step by one of them.

Users lose their best model when training later degrades; this keeps it (checkpoints/best.pt
and generator-best/).
"""

from __future__ import annotations

from pathlib import Path

from torch import nn

from condgan.config import BEST_METRICS
from condgan.data import load_dataset
from condgan.metrics.classifier import embed, get_classifier
from condgan.metrics.report import compute_metrics, generate


class PeriodicEval:
    def __init__(
        self,
        dataset: str,
        data_dir: str | Path | None,
        per_class: int,
        metric: str,
        seed: int = 0,
        img_size: int | None = None,
        channels: int | None = None,
    ):
        self.metric, self.per_class, self.seed = metric, per_class, seed
        self.classifier = get_classifier(dataset, data_dir, img_size=img_size, channels=channels)
        self.real = load_dataset(dataset, "test", data_dir, img_size=img_size, channels=channels)
        self.real_features, _ = embed(self.classifier, self.real.images)  # once, not every evaluation

    def __call__(self, G: nn.Module) -> dict[str, float]:
        """eval/cond_acc, eval/fid, eval/intra_fid of G on `per_class` samples of each class."""
        images, labels = generate(G, G.num_classes, self.per_class, self.seed)
        m = compute_metrics(self.classifier, images, labels, self.real, full=False, real_features=self.real_features)
        return {f"eval/{k}": round(m[k], 5) for k in BEST_METRICS}

    def improves(self, row: dict[str, float], best: float | None) -> bool:
        value = row[f"eval/{self.metric}"]
        if best is None:
            return True
        return value < best if BEST_METRICS[self.metric] == "lower" else value > best
