"""`condgan eval` of a CycleGAN run: both directions, each against its truth where the test split
has pairs (a built-in task made unpaired), beside the identity baseline (the input itself) and,
for A to B, a paired pix2pix run of the same task (`--baseline RUN`).

Per direction: L1 / PSNR / SSIM to the truth, FID against the real images of the output's domain
and class preserved, both in the dataset classifier's feature space (condgan.metrics.translation),
and the cycle error (L1 of the round trip A -> B -> A, or B -> A -> B, to where it started). The
classifier was trained on the dataset's own images, which are domain B: for B -> A outputs (edge
maps, blocky digits) its "class preserved" is read beside its accuracy on the true A images (the
row `truth`), the most it can give there. Without the truth (two unpaired folders) only the cycle
errors are measured: a folder has no classifier to give FID a feature space.
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from condgan.errors import CondganError
from condgan.fileio import atomic_write_text
from condgan.metrics.report import beside, report_prefix, run_data
from condgan.metrics.translation import Judge, _as_target, _cell, _judged, _translate_run, pair_metrics
from condgan.models.storage import load_generator
from condgan.translate import translate

NAMES = ["l1", "psnr", "ssim", "fid", "class_preserved", "cycle_l1"]


def cycle_error(there: torch.nn.Module, back: torch.nn.Module, images: torch.Tensor) -> float:
    """Mean absolute error (pixels in [0, 1]) of back(there(images)) to images, uint8 (N, C, H, W)."""
    round_trip = translate(back, translate(there, images))
    return float(((round_trip.double() - images.double()).abs() / 255.0).mean())


def evaluate_cycle(source: Path, *, dataset: str | None = None, data_dir: str | None = None, baseline=None) -> dict:
    """Both directions of a CycleGAN run on its test split; writes eval.json / eval.md beside it."""
    from condgan.data.unpaired import load_unpaired

    trained = run_data(source)
    if not trained:
        raise CondganError(f"{source} has no config.yaml: evaluate a CycleGAN run directory")
    dataset, data_dir = dataset or trained["dataset"], data_dir or trained.get("data_dir")
    test = load_unpaired(
        dataset, trained["task"], "test", data_dir, img_size=trained.get("img_size"), channels=trained.get("channels")
    )
    nets = {d: load_generator(source, d)[0] for d in ("AtoB", "BtoA")}
    result: dict = {"source": str(source), "dataset": dataset, "task": trained["task"], "paired": test.paired}
    sides = {"AtoB": (test.inputs, test.images), "BtoA": (test.images, test.inputs)}
    for direction, (inputs, truth) in sides.items():
        other = "BtoA" if direction == "AtoB" else "AtoB"
        figures = {"model": {"cycle_l1": cycle_error(nets[direction], nets[other], inputs)}}
        if test.paired:
            outputs = translate(nets[direction], inputs)
            rows = {"model": outputs, "input": _as_target(inputs, truth.shape[1])}
            if baseline is not None and direction == "AtoB":
                rows["paired"], *_ = _translate_run(baseline, dataset, data_dir, inputs, test.labels)
            judge = Judge(dataset, data_dir, truth) if _judged(dataset) else None
            if judge is not None and direction == "BtoA":
                rows["truth"] = truth
            for name, images in rows.items():
                row = figures.setdefault(name, {})
                row |= pair_metrics(images, truth)
                if judge is not None:
                    row |= judge(images, test.labels if test.class_names else None)
        result[direction] = figures
    result["n"] = min(len(test.inputs), len(test.images))
    prefix = report_prefix(source)
    atomic_write_text(beside(prefix, ".json"), json.dumps(result, indent=2))
    atomic_write_text(beside(prefix, ".md"), cycle_table(result))
    return result


def cycle_table(result: dict) -> str:
    """Markdown: one table per direction, the model and its baselines as rows."""
    truth = "test pairs" if result["paired"] else "test images, no pairs"
    lines = [f"# {result['source']}: CycleGAN, {result['task']} on {result['dataset']} ({result['n']:,} {truth})"]
    for direction in ("AtoB", "BtoA"):
        rows = result[direction]
        cols = [n for n in NAMES if any(r.get(n) is not None for r in rows.values())]
        lines += ["", f"## {direction[0]} to {direction[-1]}", "", "| | " + " | ".join(cols) + " |"]
        lines.append("| --- " * (len(cols) + 1) + "|")
        for name, r in rows.items():
            lines.append(f"| {name} | " + " | ".join(_cell(n, r.get(n)) for n in cols) + " |")
    return "\n".join(lines) + "\n"
