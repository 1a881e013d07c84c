"""Conditional accuracy: how often the domain classifier sees the class that was asked for."""

from __future__ import annotations

import torch


def conditional_accuracy(predicted: torch.Tensor, labels: torch.Tensor, num_classes: int) -> dict:
    """predicted: (N,) classes the domain classifier saw, labels: (N,) int64 requested classes.

    Returns the overall accuracy, the per-class accuracies and the confusion matrix
    (rows = requested class, columns = predicted class).
    """
    confusion = torch.zeros(num_classes, num_classes, dtype=torch.long)
    confusion.index_put_((labels, predicted), torch.ones_like(labels), accumulate=True)
    per_class = confusion.diag().float() / confusion.sum(1).clamp(min=1).float()
    return {
        "cond_acc": (predicted == labels).float().mean().item(),
        "per_class": [round(v, 4) for v in per_class.tolist()],
        "confusion": confusion.tolist(),
    }
