"""Regenerate the pictures the README and docs show, from real runs, so they stay true.

    python docs/make_images.py --runs benchmarks/../runs/results    # reuse finished preset runs
    python docs/make_images.py                                      # train what is missing first

Each picture is made by the same command a user types (`condgan sample RUN --n 8 --out ...`
after `condgan train --config PRESET`); the seed recipe's health.png comes from
`condgan train --config mnist-cgan-mlp-seed`; the image-to-image pictures are input | output
| target rows of the first 8 test pairs (`condgan.translate.translation_grid`, what the
per-epoch grids of such a run show); emoji-stargan.png is `condgan translate RUN --split test`
(held-out people, each edit beside the true emoji). augmentation.png (when benchmarks/augmentation.py has
run): per digit, the 10 real training images its k=10 generator saw | 10 it generates.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
IMAGES = ROOT / "docs" / "images"
SAMPLED = {  # preset -> picture
    "mnist-cdcgan": "mnist-cdcgan.png",
    "mnist-cgan-mlp": "mnist-cgan-mlp.png",
    "emoji-biggan": "emoji-biggan.png",
    "fashion-biggan": "fashion-biggan.png",
}
TRANSLATED = ("mnist-superres4", "mnist-inpaint", "fashion-edges", "coloured-mnist-colourise")


def condgan(*args: str) -> None:
    result = subprocess.run([sys.executable, "-m", "condgan", *map(str, args)], capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"condgan {' '.join(map(str, args))} failed:\n{result.stderr[-2000:]}")


def run_of(preset: str, runs: Path) -> Path:
    """The finished run of `preset` under `runs` (the results script's layout), trained when missing."""
    for candidate in (runs / f"{preset}@mnist", runs / f"{preset}@fashion-mnist", runs / preset):
        if (candidate / "generator" / "config.json").is_file():
            return candidate
    out = runs / preset
    condgan("train", "--config", preset, "--out", out, "--no-progress")
    return out


def translation_picture(run: Path, out: Path) -> None:
    import yaml

    from condgan import load_generator
    from condgan.data.paired import run_pairs
    from condgan.images import save_png
    from condgan.translate import translation_grid

    data = yaml.safe_load((run / "config.yaml").read_text())["data"]
    test = run_pairs(data, "test")
    G, _ = load_generator(run)
    save_png(translation_grid(G, test.inputs[:8], test.images[:8]), out, scale=2)
    print(f"wrote {out}")


def augmentation_picture(run: Path, out: Path, k: int = 10) -> None:
    import torch

    from condgan import load_generator
    from condgan.data import load_dataset
    from condgan.data.batches import to_signed_unit
    from condgan.data.subset import per_class_subset
    from condgan.images import save_png
    from condgan.sampling import picture, sample

    real = per_class_subset(load_dataset("mnist", "train"), k, seed=0)  # the benchmark's subset
    G, _ = load_generator(run)
    labels = torch.arange(10).repeat_interleave(k)
    fake = sample(G, labels, seed=1)
    rows = [torch.cat([to_signed_unit(real.images[real.labels == c]), fake[labels == c]]) for c in range(10)]
    columns = ["real"] + [""] * (k - 1) + ["generated"] + [""] * (k - 1)
    save_png(picture(torch.cat(rows), 2 * k, [str(c) for c in range(10)], columns), out, scale=2)
    print(f"wrote {out}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "results", help="where the preset runs are")
    args = parser.parse_args()
    IMAGES.mkdir(parents=True, exist_ok=True)
    for preset, name in SAMPLED.items():
        condgan("sample", run_of(preset, args.runs), "--n", "8", "--seed", "0", "--out", IMAGES / name)
        print(f"wrote {IMAGES / name}")
    for preset in TRANSLATED:
        translation_picture(run_of(preset, args.runs), IMAGES / f"{preset}.png")
    augmentation = ROOT / "runs" / "augmentation" / "mnist-k10"
    if (augmentation / "generator" / "config.json").is_file():
        augmentation_picture(augmentation, IMAGES / "augmentation.png")
    unpaired = run_of("mnist-superres4-unpaired", args.runs)  # A -> B rows: blocky input | output | true digit
    picture = IMAGES / "mnist-superres4-unpaired.png"
    condgan("translate", unpaired, "--split", "test", "--n", "10", "--scale", "2", "--out", picture)
    print(f"wrote {picture}")
    edits = run_of("emoji-stargan", args.runs)  # held-out people: the input, then each edit beside its truth
    condgan("translate", edits, "--split", "test", "--n", "8", "--scale", "3", "--out", IMAGES / "emoji-stargan.png")
    print(f"wrote {IMAGES / 'emoji-stargan.png'}")
    seed = run_of("mnist-cgan-mlp-seed", args.runs)
    shutil.copyfile(seed / "health.png", IMAGES / "health-seed.png")
    print(f"wrote {IMAGES / 'health-seed.png'}")


if __name__ == "__main__":
    main()
