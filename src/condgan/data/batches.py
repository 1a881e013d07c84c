"""Mini-batches from an in-memory uint8 tensor by index shuffling (no per-sample Python work)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

CONTIGUOUS = torch.contiguous_format


def to_signed_unit(images: torch.Tensor) -> torch.Tensor:
    """uint8 0-255 -> float32 in [-1, 1] (the range of G's tanh output)."""
    return images.float().div_(127.5).sub_(1.0)


class ShuffledBatches:
    """Batch `step` of a run, the same on every call: a pure function of (seed, step).

    Each epoch is a fresh permutation drawn from a generator seeded by (seed, epoch), so a
    resumed run sees exactly the batches an uninterrupted one would. The last partial
    batch of an epoch is dropped.
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        seed: int,
        device: torch.device | str = "cpu",
        memory_format: torch.memory_format = CONTIGUOUS,
    ):
        if batch_size > len(labels):
            raise ValueError(f"batch size {batch_size} exceeds the dataset size {len(labels)}")
        self.images, self.labels = images.to(device), labels.to(device)  # uint8 on the device: 1/4 of float
        self.device, self.memory_format = torch.device(device), memory_format
        self.batch_size, self.seed = batch_size, seed
        self.steps_per_epoch = len(labels) // batch_size
        self._epoch, self._order = -1, torch.empty(0, dtype=torch.long)

    def _permutation(self, epoch: int) -> torch.Tensor:
        if epoch != self._epoch:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._epoch, self._order = epoch, torch.randperm(len(self.labels), generator=gen)
        return self._order

    def indices(self, step: int) -> torch.Tensor:
        """The dataset rows of batch `step` (on the CPU)."""
        epoch, i = divmod(step, self.steps_per_epoch)
        return self._permutation(epoch)[i * self.batch_size : (i + 1) * self.batch_size]

    def __call__(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        """x: (B, C, H, W) float32 in [-1, 1]; y: (B,) int64."""
        idx = self.indices(step).to(self.device)
        x = to_signed_unit(self.images[idx])
        return x.contiguous(memory_format=self.memory_format), self.labels[idx]


class StreamingBatches(ShuffledBatches):
    """The same batches for images that stay on disk (a `LazyImages`): DataLoader worker
    processes decode the coming batches ahead of use, in the order ShuffledBatches defines,
    so a resumed run still sees exactly the batches of an uninterrupted one."""

    def __init__(
        self,
        images,
        labels: torch.Tensor,
        batch_size: int,
        seed: int,
        device: torch.device | str = "cpu",
        memory_format: torch.memory_format = CONTIGUOUS,
        workers: int = 2,
    ) -> None:
        super().__init__(torch.empty(len(labels), 0), labels, batch_size, seed, device, memory_format)
        self.images, self.workers = images, workers
        self._next, self._batches = -1, iter(())

    def _start(self, step: int) -> None:
        def order():
            s = step
            while True:
                yield self.indices(s).tolist()
                s += 1

        loader = torch.utils.data.DataLoader(
            self.images, batch_sampler=order(), num_workers=self.workers, prefetch_factor=4 if self.workers else None
        )
        self._batches, self._next = iter(loader), step

    def __call__(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        if step != self._next:
            self._start(step)
        images = next(self._batches)
        self._next += 1
        x = to_signed_unit(images.to(self.device))
        return x.contiguous(memory_format=self.memory_format), self.labels[self.indices(step).to(self.device)]


class PairedBatches(ShuffledBatches):
    """Batches of pairs (x_target, x_input), both float32 in [-1, 1]: `inputs` stand where the
    labels of class data are, so pairs are shuffled and resumed exactly like labelled batches.

    `redraw` (targets uint8 (B, C, H, W) numpy, step) -> inputs: each batch's inputs made anew
    from its targets (inpaint: a fresh hole every time an image is seen) instead of the stored ones.
    `classes` (labels (N,), K, label_maps): each input is followed by its class as K one-hot maps,
    label_maps(inputs, labels, K) (condgan.models.conditioning.with_label_maps: model.with_label)."""

    def __init__(
        self,
        *args,
        redraw: Callable[[np.ndarray, int], np.ndarray] | None = None,
        classes: tuple[torch.Tensor, int] | None = None,
        **kwargs,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.redraw = redraw
        self.classes = (classes[0].to(self.device), *classes[1:]) if classes else None

    def __call__(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        if self.redraw is None:
            x, inputs = super().__call__(step)
        else:
            targets = self.images[self.indices(step).to(self.device)]
            x = to_signed_unit(targets).contiguous(memory_format=self.memory_format)
            inputs = torch.from_numpy(self.redraw(targets.cpu().numpy(), step)).to(self.device)
        y = to_signed_unit(inputs)
        if self.classes is not None:
            labels, k, label_maps = self.classes
            y = label_maps(y, labels[self.indices(step).to(self.device)], k)
        return x, y.contiguous(memory_format=self.memory_format)
