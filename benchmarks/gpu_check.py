"""The GPU path in one go: bf16 and channels_last verified, img/s, sampling throughput, time to 99%.

    python benchmarks/gpu_check.py                          # on the machine's GPU (cuda)
    python benchmarks/gpu_check.py --device cpu --steps 5 --ttq   # a smoke run of the script itself

Made for a short lease of a GPU machine (issue 40): one command, nothing to install but condgan,
nothing downloaded. For each preset (the default, mnist-best, a pix2pix one and the unpaired one)
it builds the trainer as `condgan train --set train.device=...` would, checks that the step runs
under bf16 autocast where the device has bf16 and that every conv weight is channels_last, times
--steps training steps (after a warm-up, with the device synchronised) and, for class presets, the
sampling of 10,000 images. --ttq adds the time to 99% on 10,000 samples (seed 0) of the default
preset and of mnist-fast, whose CPU figures are in docs/performance.md.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from contextlib import nullcontext
from pathlib import Path

import torch

from condgan.config import load_config, parse_assignment
from condgan.sampling import sample
from condgan.train import Trainer
from condgan.train.evaluation import PeriodicEval
from time_to_quality import synchronize, time_to_target

PRESETS = ("mnist-cdcgan", "mnist-best", "mnist-superres4", "mnist-superres4-unpaired")
TTQ_PRESETS = ("mnist-cdcgan", "mnist-fast")


def conv_weights_channels_last(trainer: Trainer) -> bool:
    weights = [p for net in trainer.nets.values() for p in net.parameters() if p.dim() == 4]
    return all(w.is_contiguous(memory_format=torch.channels_last) for w in weights)


def check_preset(name: str, device: str, steps: int, tmp: Path) -> str:
    config = load_config(name, [parse_assignment(f"train.device={device}")])
    trainer = Trainer(config, tmp / name, progress=False)
    bf16 = trainer.runtime[0] is not nullcontext
    layout = conv_weights_channels_last(trainer)
    for _ in range(10):  # warm-up: kernels chosen, allocator filled
        trainer.train_step()
    synchronize(trainer.device)
    start = time.perf_counter()
    for _ in range(steps):
        trainer.train_step()
    synchronize(trainer.device)
    img_s = steps * config.train.batch_size / (time.perf_counter() - start)
    sampling = "-"
    if not trainer.family.translates:
        G = trainer.G_sample
        labels = torch.arange(G.num_classes).repeat_interleave(1000)
        sample(G, labels[:1000])
        start = time.perf_counter()
        sample(G, labels)
        sampling = f"{len(labels) / (time.perf_counter() - start):,.0f} img/s"
    return (
        f"| `{name}` | {trainer.device} | {'yes' if bf16 else 'no'} | {'yes' if layout else 'no'} "
        f"| {img_s:,.0f} img/s | {sampling} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--steps", type=int, default=200, help="timed training steps per preset")
    parser.add_argument("--ttq", action="store_true", help="also the time to 99%% of the default and mnist-fast")
    parser.add_argument("--max-seconds", type=float, default=120, help="give up the time to 99%% after this")
    args = parser.parse_args()
    if args.device.startswith("cuda") and not torch.cuda.is_available():
        raise SystemExit("gpu_check: this machine has no CUDA GPU (use --device cpu for a smoke run)")
    if torch.cuda.is_available():
        print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}, CUDA {torch.version.cuda}")
    print("| preset | device | bf16 autocast | conv weights channels_last | training | sampling (10,000) |")
    print("| --- | --- | --- | --- | --- | --- |")
    with tempfile.TemporaryDirectory() as tmp:
        for name in PRESETS:
            print(check_preset(name, args.device, args.steps, Path(tmp)), flush=True)
    if not args.ttq:
        return
    evaluator = None
    for name in TTQ_PRESETS:
        config = load_config(name, [parse_assignment(f"train.device={args.device}")])
        evaluator = evaluator or PeriodicEval(config.data.dataset, config.data.data_dir, 1000, "cond_acc")
        reached = time_to_target(config, evaluator, 0.99, 300, 8, args.max_seconds)
        verdict = f"after {reached[0]:.0f} s ({reached[1]} steps)" if reached else f"not within {args.max_seconds:g} s"
        print(f"{name}: 99% on 10,000 samples {verdict}", flush=True)


if __name__ == "__main__":
    main()
