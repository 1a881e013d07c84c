"""Conditional accuracy: how often the domain classifier sees the class that was asked for."""

from __future__ import annotations

import torch
from torch import nn

from condgan.metrics.classifier import predict


def conditional_accuracy(classifier: nn.Module, images: torch.Tensor, labels: torch.Tensor,
                         num_classes: int) -> dict:  # fmt: skip
    """images: (N, C, H, W) uint8, labels: (N,) int64 requested classes.

    Returns the overall accuracy, the per-class accuracies and the confusion matrix
    (rows = requested class, columns = predicted class).
    """
    predicted = predict(classifier, images)
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.long)
    confusion.index_put_((labels, predicted), torch.ones_like(labels), accumulate=True)
    per_class = confusion.diag().float() / confusion.sum(1).clamp(min=1).float()
    return {
        "cond_acc": (predicted == labels).float().mean().item(),
        "per_class": [round(v, 4) for v in per_class.tolist()],
        "confusion": confusion.tolist(),
        "n": len(labels),
    }
