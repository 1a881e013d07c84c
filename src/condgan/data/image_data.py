"""A dataset split in memory: uint8 images, their conditions and what those conditions mean."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from condgan.conditions import ConditionSpec


@dataclass
class ImageData:
    """images: (N, C, H, W) uint8 0-255; labels: (N,) int64 class indices, or (N, K) float32
    condition vectors when `spec` has several factors (see condgan.conditions).

    `spec` defaults to the classes `class_names` (the one-factor case)."""

    images: torch.Tensor
    labels: torch.Tensor
    class_names: tuple[str, ...]  # the classes, or the condition's column names
    spec: ConditionSpec | None = None

    def __post_init__(self) -> None:
        if self.spec is None:
            self.spec = ConditionSpec.classes(tuple(self.class_names))

    def __len__(self) -> int:
        return len(self.labels)
