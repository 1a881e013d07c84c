"""Few-images-per-class training sets (`data.per_class`): the small-data setting of augmentation."""

from __future__ import annotations

import dataclasses

import torch

from condgan.data.image_data import ImageData
from condgan.errors import CondganError


def per_class_subset(data: ImageData, k: int, seed: int = 0) -> ImageData:
    """`k` images of every class, drawn by a permutation seeded with `seed`, in dataset order.

    The same (data, k, seed) always gives the same images, and a smaller k gives a subset of a
    larger k's images (the draw takes each class's first k of one permutation), so results for
    several k compare nested training sets."""
    if data.labels.ndim != 1:
        raise CondganError("data.per_class needs class labels; this dataset's conditions have several factors")
    counts = torch.bincount(data.labels, minlength=len(data.class_names))
    fewest = int(counts.argmin())
    if counts[fewest] < k:
        raise CondganError(
            f"data.per_class={k}, but class {data.class_names[fewest]!r} has only {int(counts[fewest])} training images"
        )
    order = torch.randperm(len(data), generator=torch.Generator().manual_seed(seed))
    chosen = [order[data.labels[order] == c][:k] for c in range(len(data.class_names))]
    index = torch.cat(chosen).sort().values
    return dataclasses.replace(
        data,
        images=data.images[index],
        labels=data.labels[index],
        inputs=data.inputs[index] if data.inputs is not None else None,
    )
