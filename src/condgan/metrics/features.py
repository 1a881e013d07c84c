"""The figures that need only the judge's features and logits of generated images: conditional
accuracy, FID, intra-FID, KID and the kNN manifold metrics (precision, recall, density, coverage).
The report (condgan.metrics.report) and the real-data floor (condgan.metrics.floor) both use it."""

from __future__ import annotations

import torch

from condgan.metrics.accuracy import conditional_accuracy
from condgan.metrics.fid import fid, intra_fid, kid
from condgan.metrics.precision_recall import K_NEIGHBOURS, manifold_metrics


def feature_metrics(
    fake_features: torch.Tensor,
    fake_logits: torch.Tensor,
    labels: torch.Tensor,
    real_features: torch.Tensor,
    real_labels: torch.Tensor,
    num_classes: int,
    *,
    full: bool = True,
    manifold: bool = True,
    k: int = K_NEIGHBOURS,
    seed: int = 0,
) -> dict:
    """The metrics that need only the classifier's features and logits (all but CAS);
    `manifold=False` also skips precision / recall / density / coverage (the kNN part)."""
    result = {"n_fake": len(labels), "n_real": len(real_labels)}
    result |= conditional_accuracy(fake_logits.argmax(1), labels, num_classes)
    result["fid"] = fid(fake_features, real_features)
    result["intra_fid"], result["intra_fid_per_class"] = intra_fid(
        fake_features, labels, real_features, real_labels, num_classes
    )
    if full:
        result["kid"], result["kid_std"] = kid(fake_features, real_features, seed=seed)
    if full and manifold:
        result |= manifold_metrics(real_features, fake_features, k=k)
    return result
