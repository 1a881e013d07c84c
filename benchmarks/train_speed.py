"""condgan's training step against a tutorial-style loop, side by side in one process.

    python benchmarks/train_speed.py                      # cgan-mlp and cdcgan, batch 64
    python benchmarks/train_speed.py --model cdcgan --steps 200 --set train.precision=fp32

The reference is written the way the tutorials write it (PyTorch-GAN, the DCGAN tutorial):
a Dataset returning one normalised float tensor per sample behind a shuffling DataLoader,
a G update then separate D-real / D-fake losses, sigmoid + nn.BCELoss, `.item()` of every
loss every step, fp32 eager, Adam with its defaults, label maps concatenated to D's input.
Both train the same architecture (condgan's G and D classes, same width and parameters) on
the same MNIST data at the same batch size; condgan trains each model as its preset does
(mnist-cgan-mlp: alternating updates and an EMA of G; mnist-cdcgan: simultaneous updates). Rounds alternate
(reference, condgan, reference, ...) so machine noise hits both; the median of the rounds is used.

Also printed: the model FLOPs of condgan's step (counted with torch's FlopCounterMode) per
second against a large matmul timed in the same run (utilisation), and sampling throughput.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from functools import partial
from pathlib import Path

import torch
from torch import nn
from torch.utils.data import DataLoader, Dataset
from torch.utils.flop_counter import FlopCounterMode

from condgan.config import load_config, parse_assignment
from condgan.data import load_dataset
from condgan.models.conditioning import as_maps
from condgan.sampling import sample
from condgan.train import Trainer
from condgan.train.hardware import bf16_is_fast
from condgan.train.setup import build_for


class TutorialMNIST(Dataset):
    """Per-sample access with the usual ToTensor + Normalize((0.5,), (0.5,)) done per item."""

    def __init__(self, images: torch.Tensor, labels: torch.Tensor) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, i: int) -> tuple[torch.Tensor, int]:
        x = self.images[i].float() / 255.0
        return (x - 0.5) / 0.5, int(self.labels[i])


def tutorial_steps(G: nn.Module, D: nn.Module, loader_iter, steps: int, z_dim: int) -> None:
    """`steps` iterations of the tutorial loop (G first, then D real + D fake)."""
    bce = nn.BCELoss()
    for _ in range(steps):
        x_real, y = next(loader_iter)
        n = len(x_real)
        valid, fake = torch.ones(n), torch.zeros(n)
        z = torch.randn(n, z_dim)
        G.opt.zero_grad()
        x_fake = G(z, y)
        g_loss = bce(torch.sigmoid(D(x_fake, y).logits), valid)
        g_loss.backward()
        G.opt.step()
        D.opt.zero_grad()
        real_loss = bce(torch.sigmoid(D(x_real, y).logits), valid)
        fake_loss = bce(torch.sigmoid(D(x_fake.detach(), y).logits), fake)
        d_loss = (real_loss + fake_loss) / 2
        d_loss.backward()
        D.opt.step()
        g_loss.item(), d_loss.item()  # the tutorials print / record these every step


def concat_stem(stem: nn.Module, x: torch.Tensor, cond: torch.Tensor) -> torch.Tensor:
    """D's first layer as the tutorials write it: conv(cat(image, constant label maps))."""
    return stem.conv(torch.cat([x, as_maps(cond, x.shape[-2], x.shape[-1])], dim=1))


PRESETS = {"cgan-mlp": "mnist-cgan-mlp", "cdcgan": "mnist-cdcgan"}  # condgan trains each model as its preset does


def endless(loader: DataLoader):
    while True:
        yield from loader


def condgan_steps(trainer: Trainer, steps: int) -> None:
    """What `Trainer.fit` does per step, minus the per-epoch files (grids, checkpoints)."""
    for _ in range(steps):
        trainer.train_step()
        if trainer.step % trainer.config.train.log_every == 0:
            trainer.log.flush(trainer.step)


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def matmul_flops_per_s(dtype: torch.dtype, n: int = 2048, reps: int = 10) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    a @ b
    return statistics.median(2 * n**3 / timed(torch.mm, a, b) for _ in range(reps))


def step_flops(trainer: Trainer) -> int:
    """FLOPs of one condgan training step (forward and backward, G and D)."""
    with FlopCounterMode(display=False) as counter:
        trainer.train_step()
    return counter.get_total_flops()


def bench(model: str, args: argparse.Namespace, data) -> dict[str, float]:
    overrides = [{"train": {"batch_size": args.batch_size, "log_every": 100}}]
    overrides += [parse_assignment(a) for a in args.set]
    with tempfile.TemporaryDirectory() as tmp:
        trainer = Trainer(load_config(PRESETS[model], overrides), Path(tmp) / "run", progress=False)
        torch.manual_seed(0)
        G_ref, D_ref = build_for(trainer.config, 10, 1, 28)  # same architecture and width
        if hasattr(D_ref, "stem"):  # the tutorials concatenate the label maps to the image
            D_ref.stem.forward = partial(concat_stem, D_ref.stem)
        if hasattr(G_ref, "to_image") and isinstance(G_ref.to_image, nn.ConvTranspose2d):  # and use torch's layer
            G_ref.to_image.forward = partial(nn.ConvTranspose2d.forward, G_ref.to_image)
        G_ref.opt = torch.optim.Adam(G_ref.parameters(), lr=2e-4, betas=(0.5, 0.999))
        D_ref.opt = torch.optim.Adam(D_ref.parameters(), lr=2e-4, betas=(0.5, 0.999))
        loader = DataLoader(
            TutorialMNIST(data.images, data.labels), batch_size=args.batch_size, shuffle=True, drop_last=True
        )
        it = endless(loader)
        tutorial_steps(G_ref, D_ref, it, 5, G_ref.z_dim)  # warm-up: allocator, thread pool
        condgan_steps(trainer, 5)
        ref, ours = [], []
        for _ in range(args.rounds):
            ref.append(args.steps * args.batch_size / timed(tutorial_steps, G_ref, D_ref, it, args.steps, G_ref.z_dim))
            ours.append(args.steps * args.batch_size / timed(condgan_steps, trainer, args.steps))
        flops = step_flops(trainer)
        G = trainer.G_sample
        labels = torch.arange(10).repeat_interleave(100)
        sample(G, labels[:100])
        sampling = 1000 / statistics.median(timed(sample, G, labels) for _ in range(3))
    ref_ips, our_ips = statistics.median(ref), statistics.median(ours)
    return {
        "reference img/s": ref_ips,
        "condgan img/s": our_ips,
        "ratio": our_ips / ref_ips,
        "step GFLOP": flops / 1e9,
        "condgan GFLOP/s": flops * our_ips / args.batch_size / 1e9,
        "sampling img/s": sampling,
        "update": trainer.config.train.update,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", choices=["cgan-mlp", "cdcgan", "both"], default="both")
    parser.add_argument("--steps", type=int, default=100, help="steps per timed round (default: 100)")
    parser.add_argument("--rounds", type=int, default=3, help="alternating timed rounds (default: 3)")
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="condgan config override, e.g. train.precision=fp32",
    )
    args = parser.parse_args()
    data = load_dataset("mnist", "train")
    peak32 = matmul_flops_per_s(torch.float32)
    # Without native bf16 (an AVX2 CPU) a bf16 matmul is emulated, 0.3 GFLOP/s: a minute per 2048^2
    # product, and no peak worth comparing with; the step then runs in fp32 (train.precision=auto)
    peak16 = matmul_flops_per_s(torch.bfloat16) if bf16_is_fast(torch.device("cpu")) else None
    bf16_text = f"bf16 {peak16 / 1e9:.0f} GFLOP/s" if peak16 else "no native bf16"
    print(f"threads {torch.get_num_threads()}; 2048^2 matmul: fp32 {peak32 / 1e9:.0f} GFLOP/s, {bf16_text}")
    for model in ["cgan-mlp", "cdcgan"] if args.model == "both" else [args.model]:
        r = bench(model, args, data)
        achieved = r["condgan GFLOP/s"] * 1e9
        of_bf16 = f", {achieved / peak16:.0%} of bf16 matmul" if peak16 else ""
        print(
            f"{model} (condgan as --config {PRESETS[model]}, {r['update']} updates): "
            f"reference {r['reference img/s']:.0f} img/s, condgan {r['condgan img/s']:.0f} img/s, "
            f"ratio {r['ratio']:.2f}x; step {r['step GFLOP']:.3f} GFLOP -> {r['condgan GFLOP/s']:.0f} GFLOP/s "
            f"= {achieved / peak32:.0%} of fp32 matmul{of_bf16}; "
            f"sampling {r['sampling img/s']:.0f} img/s",
            flush=True,
        )


if __name__ == "__main__":
    main()
