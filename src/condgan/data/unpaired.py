"""Unpaired data for CycleGAN: two domains of images, A and B, that need not match.

Two sources:
- a built-in task made unpaired (`data.task=edges`, `data.unpaired=true`): the training images
  are split in two halves by a fixed permutation; domain A takes the *inputs* of the first half
  (edge maps), domain B the *targets* of the second half (garments), so no pair is ever seen
  in training. The test split keeps its pairs: each translation has its truth;
- two folders (`--dataset DIR --set data.task=unpaired`), in either layout:
    DIR/trainA/ DIR/trainB/ DIR/testA/ DIR/testB/        (junyanz/pytorch-CycleGAN-and-pix2pix)
    DIR/A/ and DIR/B/, each with train/ and test/ (or val/), or flat (every 10th file is test)
  with any number of images in each (unequal counts are fine); every image of a domain must
  have one size (or give data.img_size to resize them all), and the first that does not fit is named.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from condgan.conditions import ImageCondition
from condgan.data.folder import GREY_MODES, SUFFIXES
from condgan.data.paired import _array, _files, _open, _split_files, load_pairs
from condgan.errors import CondganError

SPLIT_SEED = 20170330  # the permutation that halves a built-in task's training images (CycleGAN's arXiv date)


@dataclass
class UnpairedData:
    """inputs: domain A, images: domain B (uint8 (N, C, H, W), counts may differ); labels_a /
    labels: each image's source class (zeros without one); `paired`: row i of A and of B are a
    pair (a built-in task's test split), so outputs have a truth to be measured against."""

    inputs: torch.Tensor
    images: torch.Tensor
    labels_a: torch.Tensor
    labels: torch.Tensor
    class_names: tuple[str, ...]
    task: str
    paired: bool = False

    @property
    def spec(self) -> ImageCondition:
        """G_AB's condition: an A image of its channels, translated to B's size."""
        return self.condition("AtoB")

    def condition(self, direction: str) -> ImageCondition:
        source = self.inputs if direction == "AtoB" else self.images
        return ImageCondition(source.shape[1], self.images.shape[-1], self.task, self.class_names, None)

    def __len__(self) -> int:
        return min(len(self.inputs), len(self.images))


def load_unpaired(
    name: str,
    task: str,
    split: str = "train",
    data_dir: str | Path | None = None,
    *,
    img_size: int | None = None,
    channels: int | None = None,
) -> UnpairedData:
    """One split of the two domains (see the module's docstring)."""
    if task == "unpaired":
        root = Path(name)
        a, b = (_read_domain(root, side, split, img_size, channels) for side in "AB")
        if a.shape[-1] != b.shape[-1]:
            raise CondganError(
                f"{root}: domain A is {a.shape[-1]} px, domain B {b.shape[-1]} px: give data.img_size to resize both"
            )
        zeros = (torch.zeros(len(a), dtype=torch.int64), torch.zeros(len(b), dtype=torch.int64))
        return UnpairedData(torch.from_numpy(a), torch.from_numpy(b), *zeros, (), task)
    pairs = load_pairs(name, task, split, data_dir, img_size=img_size, channels=channels)
    if pairs.inputs.shape[-1] != pairs.images.shape[-1]:
        raise CondganError(f"data.task={task} makes smaller inputs: CycleGAN's domains must have one size")
    names = tuple(pairs.class_names)
    if split != "train":
        return UnpairedData(pairs.inputs, pairs.images, pairs.labels, pairs.labels, names, task, paired=True)
    order = torch.randperm(len(pairs.images), generator=torch.Generator().manual_seed(SPLIT_SEED))
    half_a, half_b = order[: len(order) // 2], order[len(order) // 2 :]
    return UnpairedData(
        pairs.inputs[half_a], pairs.images[half_b], pairs.labels[half_a], pairs.labels[half_b], names, task
    )


def _domain_root(root: Path, side: str, split: str) -> Path:
    """Where domain `side`'s images of `split` are (the junyanz layout, or A/ and B/)."""
    if not root.is_dir():
        raise CondganError(f"unpaired folder not found: {root}")
    junyanz = [p for p in ("trainA", "trainB", "testA", "testB") if (root / p).is_dir()]
    if junyanz:
        prefix = {"train": ("train",), "test": ("test", "val")}[split]
        folder = next((root / f"{p}{side}" for p in prefix if (root / f"{p}{side}").is_dir()), None)
        if folder is None:
            raise CondganError(f"{root} has no {prefix[0]}{side}/ folder (domain {side}, {split} split)")
        return folder
    if not (root / side).is_dir():
        raise CondganError(f"{root} has no {side}/ folder: an unpaired folder holds A/ and B/ (or trainA/ trainB/ ...)")
    return root / side


def _read_domain(root: Path, side: str, split: str, img_size: int | None, channels: int | None) -> np.ndarray:
    """uint8 (N, C, H, W) of one domain's split."""
    folder = _domain_root(root, side, split)
    files = _split_files(folder, split) if folder.name == side else _files(folder)
    if not files:
        raise CondganError(f"{folder}: domain {side} has no images ({', '.join(sorted(SUFFIXES))})")
    images = [(_open(p), p) for p in files]
    first = images[0][0].size
    for img, path in images:
        w, h = img.size
        if img_size is None and (w != h or img.size != first):
            raise CondganError(
                f"{path} is {w}x{h}, the first image of domain {side} {first[0]}x{first[1]}: every image must be "
                "square and of one size, or give data.img_size to resize all"
            )
    c = channels or (1 if all(img.mode in GREY_MODES for img, _ in images) else 3)
    return np.stack([_array(img, c, img_size) for img, _ in images])
