"""The domain classifier: a small CNN per dataset that judges generated images.

Trained by condgan on the train split the first time it is needed, then cached under
$CONDGAN_CACHE_DIR (default ~/.cache/condgan) keyed by a hash of the training data's
content, the architecture version and the seed; an entry whose key does not match is
never used.

The MNIST classifier ships with condgan (`weights/`, 1.4 MB, the one this code trains with
seed 0 on the bundled MNIST): every machine then judges with the same weights (training is
seeded but not bit-identical across CPUs and thread counts), so eval figures and the
real-data floor compare across machines, and no first eval waits minutes for training.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Callable
from importlib import resources
from pathlib import Path

import torch
import torch.nn.functional as F
from safetensors.torch import load_file, save_file
from torch import nn

from condgan.data import ImageData, load_dataset
from condgan.data.batches import ShuffledBatches, to_signed_unit
from condgan.fileio import atomic_write
from condgan.models.storage import contiguous_state
from condgan.progress import bar as progress_bar
from condgan.progress import each

ARCH_VERSION = "cnn-v2"


class DomainCNN(nn.Module):
    """x: (N, C, H, W) in [-1, 1] -> logits (N, num_classes); `features` is the 128-d penultimate layer."""

    def __init__(self, img_channels: int, num_classes: int, feature_dim: int = 128):
        super().__init__()

        def block(c_in: int, c_out: int) -> list[nn.Module]:
            return [nn.Conv2d(c_in, c_out, 3, padding=1, bias=False), nn.BatchNorm2d(c_out), nn.ReLU()]

        self.body = nn.Sequential(
            *block(img_channels, 32),
            nn.MaxPool2d(2),
            *block(32, 64),
            nn.MaxPool2d(2),
            *block(64, 128),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Linear(128 * 16, feature_dim),
            nn.ReLU(),
        )
        self.dropout = nn.Dropout(0.3)
        self.head = nn.Linear(feature_dim, num_classes)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.dropout(self.body(x)))


def cache_dir() -> Path:
    return Path(os.environ.get("CONDGAN_CACHE_DIR") or Path.home() / ".cache" / "condgan")


def cache_key(data: ImageData, seed: int, epochs: int) -> str:
    h = hashlib.sha256()
    h.update(data.images.numpy().tobytes())
    h.update(data.labels.numpy().tobytes())
    h.update(f"{ARCH_VERSION}/{seed}/{epochs}/{data.images.shape}".encode())
    return h.hexdigest()[:24]


@torch.no_grad()
def embed(model: DomainCNN, images: torch.Tensor, batch_size: int = 128) -> tuple[torch.Tensor, torch.Tensor]:
    """images: (N, C, H, W) uint8 -> (features (N, 128), logits (N, num_classes)) in one pass.

    Channels-last batches of 128: on a 2-core CPU 3-4x faster than NCHW batches of 1,000 (oneDNN's
    NCHW max-pool and reorders, and activations that leave the cache), features equal within 1e-5."""
    model.eval().to(memory_format=torch.channels_last)
    starts = range(0, len(images), batch_size)
    if len(images) >= 5_000:  # eval's 10,000+ images: an ETA; a serving request's few: none
        starts = each(starts, len(images), "classifier features", "img", every=batch_size)
    features = torch.cat(
        [
            model.features(to_signed_unit(images[i : i + batch_size]).contiguous(memory_format=torch.channels_last))
            for i in starts
        ]
    )
    return features, model.head(features)


def predict(model: DomainCNN, images: torch.Tensor) -> torch.Tensor:
    """images: (N, C, H, W) uint8 -> predicted class (N,) int64."""
    return embed(model, images)[1].argmax(1)


def accuracy(model: nn.Module, data: ImageData) -> float:
    return (predict(model, data.images) == data.labels).float().mean().item()


def train_classifier(
    train: ImageData,
    *,
    epochs: int = 5,
    seed: int = 0,
    batch_size: int = 128,
    progress: str | None = None,
    steps: int | None = None,
) -> DomainCNN:
    """Adam with a one-cycle schedule and small random shifts (+-2 px) as augmentation.

    The caller's global RNG is left as it was (training runs in a forked RNG). `progress`:
    the label of a progress bar on stderr (shown on a terminal), None for none. `steps`
    overrides `epochs` (a fixed training length whatever the data size, as the augmentation
    benchmark needs for 100 images and for 60,000).
    """
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DomainCNN(train.images.shape[1], len(train.class_names))
        _fit(model, train, epochs, seed, batch_size, progress, steps)
    return model.eval()


def _fit(
    model: DomainCNN,
    train: ImageData,
    epochs: int,
    seed: int,
    batch_size: int,
    progress: str | None,
    steps: int | None = None,
) -> None:
    batches = ShuffledBatches(train.images, train.labels, min(batch_size, len(train)), seed)  # tiny folders too
    steps = steps or epochs * batches.steps_per_epoch
    opt = torch.optim.Adam(model.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
    shift_gen = torch.Generator().manual_seed(seed + 1)
    model.train()
    bar = progress_bar(steps, progress or "", "step", show=bool(progress))
    for step in range(steps):
        x, y = batches(step)
        dx, dy = torch.randint(-2, 3, (2,), generator=shift_gen).tolist()
        x = torch.roll(F.pad(x, (2, 2, 2, 2), value=-1.0), (dy, dx), dims=(2, 3))[..., 2:-2, 2:-2]
        loss = F.cross_entropy(model(x), y)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        sched.step()
        bar.update()
    bar.close()


def get_classifier(
    dataset: str,
    data_dir: str | Path | None = None,
    *,
    seed: int = 0,
    epochs: int = 5,
    verbose: bool = True,
    img_size: int | None = None,
    channels: int | None = None,
) -> DomainCNN:
    """The cached classifier for `dataset`, trained (and cached) first if need be."""
    train = load_dataset(dataset, "train", data_dir, img_size=img_size, channels=channels)
    return cached_classifier(train, Path(dataset).name, seed=seed, epochs=epochs, verbose=verbose)


def cached_classifier(
    train: ImageData, name: str, *, seed: int = 0, epochs: int = 5, verbose: bool = True
) -> DomainCNN:
    """Load the classifier of exactly this training data from the cache, or train and cache it."""
    model = DomainCNN(train.images.shape[1], len(train.class_names))

    def fit() -> DomainCNN:
        return train_classifier(train, epochs=epochs, seed=seed, progress=f"{name} classifier" if verbose else None)

    return shipped_or_cached(
        model, f"{name}-{cache_key(train, seed, epochs)}", fit, f"the {name} domain classifier" if verbose else None
    )


def shipped_or_cached(model: DomainCNN, stem: str, fit: Callable[[], DomainCNN], say: str | None) -> DomainCNN:
    """`model` with the weights of `stem`: shipped in the package, else in the cache, else `fit()`
    now and cached. The stem holds a digest of the training data, so a file is only ever used for
    exactly the data, architecture and length it was trained with."""
    shipped = resources.files("condgan.metrics") / "weights" / f"{stem}.safetensors"
    if shipped.is_file():
        with resources.as_file(shipped) as file:
            model.load_state_dict(load_file(file))
        return model.eval()
    path = cache_dir() / "classifiers" / f"{stem}.safetensors"
    if path.is_file():
        try:
            model.load_state_dict(load_file(path))
            return model.eval()
        except Exception:  # a damaged cache entry is retrained, never trusted
            path.unlink(missing_ok=True)
    if say:
        print(f"training {say} (once; cached in {path.parent})", flush=True)
    model = fit()
    state = contiguous_state(model)  # embed() leaves the conv weights channels-last
    atomic_write(path, lambda tmp: save_file(state, tmp))
    return model
