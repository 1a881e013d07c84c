"""A dataset split in memory: uint8 images, their conditions and what those conditions mean."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from condgan.conditions import ConditionSpec, ImageCondition


@dataclass
class ImageData:
    """images: (N, C, H, W) uint8 0-255; labels: (N,) int64 class indices, or (N, K) float32
    condition vectors when `spec` has several factors (see condgan.conditions).

    `spec` defaults to the classes `class_names` (the one-factor case). Paired data (pix2pix) has
    `inputs` (N, C_in, H, W) uint8, what G translates into `images`, and an ImageCondition spec;
    its labels are the source images' classes."""

    images: torch.Tensor
    labels: torch.Tensor
    class_names: tuple[str, ...]  # the classes, or the condition's column names
    spec: ConditionSpec | ImageCondition | None = None
    inputs: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if self.spec is None:
            self.spec = ConditionSpec.classes(tuple(self.class_names))

    def __len__(self) -> int:
        return len(self.labels)
