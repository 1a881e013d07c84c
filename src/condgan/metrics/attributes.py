"""The attribute judge of a several-factor dataset (emoji-people), and the generation report it reads.

The judge is condgan's domain CNN with one softmax head per categorical factor (one block of
logits each, trained with the sum of their cross-entropies) on the training figures only,
with shifts of up to 1/8 of the side and mirror images as augmentation (neither changes a skin
tone, a hair colour, a gender or an age). It is cached like the class judge, keyed by the
training data's content; `condgan` ships the one for emoji-people at 64 px.

Generation report: for every combination of factors the training split holds ("seen") and
every held-out one (data.holdout), images are generated and the judge reads each factor back;
per-factor accuracy on both sides, and FID against the training images in the judge's feature
space.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from condgan.conditions import ConditionSpec
from condgan.data import ImageData, load_dataset
from condgan.data.batches import ShuffledBatches
from condgan.images import quantize
from condgan.metrics.classifier import DomainCNN, cache_key, embed, shipped_or_cached
from condgan.metrics.fid import fid
from condgan.progress import bar as progress_bar
from condgan.sampling import sample

JUDGE_EPOCHS = 60  # the data is small (1,300 images): many passes, each with fresh shifts and flips
JUDGED = ("tone", "hair", "gender", "age")  # emoji-people's factors the report reads back


def factor_logits(spec: ConditionSpec, logits: torch.Tensor) -> list[torch.Tensor]:
    """(N, dim) -> one (N, width) block per factor."""
    return [logits[:, at : at + f.width] for f, at in zip(spec.factors, spec.offsets())]


def read_factors(spec: ConditionSpec, model: DomainCNN, images: torch.Tensor) -> np.ndarray:
    """images (N, C, H, W) uint8 -> (N, F) value indices the judge reads."""
    logits = embed(model, images)[1]
    return torch.stack([block.argmax(1) for block in factor_logits(spec, logits)], 1).numpy()


def train_attribute_judge(train: ImageData, *, epochs: int = JUDGE_EPOCHS, seed: int = 0) -> DomainCNN:
    spec = train.spec
    if any(f.binary for f in spec.factors):
        raise ValueError("the attribute judge reads categorical factors")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DomainCNN(train.images.shape[1], spec.dim)
        codes = torch.from_numpy(spec.decode(train.labels.numpy()))
        batches = ShuffledBatches(train.images, codes, min(64, len(train)), seed)
        steps = epochs * batches.steps_per_epoch
        opt = torch.optim.Adam(model.parameters(), lr=3e-3)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps)
        gen = torch.Generator().manual_seed(seed + 1)
        side = train.images.shape[-1]
        pad = side // 8
        model.train()
        bar = progress_bar(steps, "attribute judge", "step", show=True)
        for step in range(steps):
            x, y = batches(step)
            dx, dy = torch.randint(-pad, pad + 1, (2,), generator=gen).tolist()
            x = torch.roll(F.pad(x, (pad,) * 4, value=1.0), (dy, dx), dims=(2, 3))[..., pad:-pad, pad:-pad]
            if torch.rand((), generator=gen) < 0.5:
                x = x.flip(3)
            blocks = factor_logits(spec, model(x))
            loss = sum(F.cross_entropy(b, y[:, j]) for j, b in enumerate(blocks))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            sched.step()
            bar.update()
        bar.close()
    return model.eval()


def attribute_judge(train: ImageData, name: str, *, verbose: bool = True) -> DomainCNN:
    """The judge of exactly this training data: shipped, cached, or trained now (and cached)."""
    model = DomainCNN(train.images.shape[1], train.spec.dim)
    stem = f"{name}-attributes-{cache_key(train, 0, JUDGE_EPOCHS)}"
    say = f"the {name} attribute judge" if verbose else None
    return shipped_or_cached(model, stem, lambda: train_attribute_judge(train, epochs=JUDGE_EPOCHS), say)


def judge_accuracy(judge: DomainCNN, data: ImageData) -> dict[str, float]:
    """Per-factor accuracy of the judge on real images (its ceiling on generated ones)."""
    spec = data.spec
    truth, read = spec.decode(data.labels.numpy()), read_factors(spec, judge, data.images)
    return {f.name: float((read[:, j] == truth[:, j]).mean()) for j, f in enumerate(spec.factors)}


def generation_report(
    G: nn.Module,
    dataset: str,
    holdout: str | None,
    *,
    total: int = 10_000,
    seed: int = 0,
    img_size: int | None = None,
    truncation: float | None = None,
) -> dict:
    """Per-factor accuracy on seen and held-out combinations, FID in the judge's space (module
    docstring); `truncation`: BigGAN's z threshold or StyleGAN's psi."""
    from condgan.data.emoji import held_out, holdout_combos

    every = load_dataset(dataset, "train", img_size=img_size)
    train = load_dataset(dataset, "train", img_size=img_size, holdout=holdout)
    spec = train.spec
    judge = attribute_judge(every, dataset)  # the training figures, whatever the run held out
    codes = spec.decode(train.labels.numpy())
    seen = np.unique(codes, axis=0)
    everything = np.unique(spec.decode(every.labels.numpy()), axis=0)
    combos = holdout_combos(spec, holdout)
    held = everything[held_out(everything, combos)] if combos else np.zeros((0, len(spec.factors)), np.int64)
    result: dict = {"dataset": dataset, "holdout": holdout, "seen_combinations": len(seen)}
    result["judge_on_test_figures"] = judge_accuracy(judge, load_dataset(dataset, "test", img_size=img_size))
    for side, rows in (("seen", seen), ("held_out", held)):
        if not len(rows):
            continue
        per = max(1, total // len(rows)) if side == "seen" else max(1, total // (10 * len(rows)))
        asked = np.repeat(rows, per, axis=0)
        images = quantize(sample(G, torch.from_numpy(spec.encode(asked)), seed=seed, truncation=truncation))
        read = read_factors(spec, judge, images)
        result[f"{side}_images"] = len(asked)
        for j, f in enumerate(spec.factors):
            if f.name in JUDGED:
                right = read[:, j] == asked[:, j]
                result[f"{side}_{f.name}_acc"] = float(right.mean())
                # per asked value: hair "none" is most of the seen combinations, so the mean hides the rest
                result.setdefault(f"{side}_per_value", {})[f.name] = {
                    f.values[v]: float(right[asked[:, j] == v].mean()) for v in np.unique(asked[:, j])
                }
        if side == "seen":
            result["fid_judge"] = fid(embed(judge, images)[0], embed(judge, train.images)[0])
    return result
