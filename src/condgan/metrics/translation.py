"""`condgan eval` of an image-to-image run (or a translated .npz): how close to the targets, how
real, and whether the class survives, for the model and its baselines side by side.

- L1 (mean absolute error, pixels in [0, 1]), PSNR (dB, per image, averaged) and SSIM (Wang et
  al. 2004: 11x11 Gaussian window, sigma 1.5, 'valid' filtering, averaged over channels) to the
  targets;
- FID of the outputs against the real test images, in the domain classifier's feature space
  (the metric that sees blur: L1 and PSNR reward the blurry mean);
- class preserved: the classifier's accuracy on the outputs against the source image's label
  (an inpainted 7 must still be a 7).
Baselines: the input itself (the masked image, the block-enlarged low-resolution image, the
edge map, the grey image), bicubic enlargement for super-resolution, and an L1-only model
(`--baseline RUN`, trained with loss.adv_weight=0) when given.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from condgan.data.tasks import superres_factor
from condgan.errors import CondganError
from condgan.fileio import atomic_write_text
from condgan.images import quantize
from condgan.metrics.classifier import embed, get_classifier
from condgan.metrics.fid import fid
from condgan.metrics.report import beside, report_prefix
from condgan.models.storage import load_generator
from condgan.translate import enlarged, require_image_condition, translate, translate_split

JUDGES = {"coloured-mnist": "mnist"}  # a dataset judged by another's classifier (on the brightest channel)
PSNR_CAP = 100.0  # dB for identical images (finite, so averages stay finite)


def _gaussian(size: int = 11, sigma: float = 1.5) -> torch.Tensor:
    x = torch.arange(size, dtype=torch.float64) - (size - 1) / 2
    g = torch.exp(-(x**2) / (2 * sigma**2))
    return (g / g.sum()).float()


def ssim(a: torch.Tensor, b: torch.Tensor, batch_size: int = 1000) -> torch.Tensor:
    """uint8 (N, C, H, W) pairs -> (N,) SSIM; identical images give 1. The Gaussian window is
    applied as two 1-d passes (it is separable: the same numbers, 5x fewer operations)."""
    c, size = a.shape[1], min(11, a.shape[-1])
    g = _gaussian(size)
    rows, cols = g.view(1, 1, 1, size).expand(c, 1, 1, size), g.view(1, 1, size, 1).expand(c, 1, size, 1)

    def blur(t: torch.Tensor) -> torch.Tensor:
        return F.conv2d(F.conv2d(t, rows, groups=c), cols, groups=c)

    out = []
    for i in range(0, len(a), batch_size):
        x, y = a[i : i + batch_size].float() / 255.0, b[i : i + batch_size].float() / 255.0
        mu_x, mu_y = blur(x), blur(y)
        var_x, var_y = blur(x * x) - mu_x**2, blur(y * y) - mu_y**2
        cov = blur(x * y) - mu_x * mu_y
        c1, c2 = 0.01**2, 0.03**2
        s = ((2 * mu_x * mu_y + c1) * (2 * cov + c2)) / ((mu_x**2 + mu_y**2 + c1) * (var_x + var_y + c2))
        out.append(s.flatten(1).mean(1))
    return torch.cat(out)


def psnr(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, H, W) pairs -> (N,) PSNR in dB for pixels in [0, 1] (capped at 100 for identical images)."""
    mse = ((a.double() - b.double()) / 255.0).pow(2).flatten(1).mean(1)
    return (10 * torch.log10(1.0 / mse.clamp(min=10 ** (-PSNR_CAP / 10)))).float()


def pair_metrics(outputs: torch.Tensor, targets: torch.Tensor) -> dict[str, float]:
    """L1, PSNR and SSIM of uint8 outputs to their targets (same shape)."""
    l1 = ((outputs.double() - targets.double()).abs() / 255.0).mean()
    return {"l1": float(l1), "psnr": float(psnr(outputs, targets).mean()), "ssim": float(ssim(outputs, targets).mean())}


def _as_target(images: torch.Tensor, channels: int) -> torch.Tensor:
    """A grey baseline (the input) shown as the target's channels."""
    return images.expand(-1, channels, -1, -1).contiguous() if images.shape[1] != channels else images


def bicubic_baseline(inputs: torch.Tensor, factor: int, size: int | None = None) -> torch.Tensor:
    """The low-resolution image enlarged bicubically to `size` px: the input itself when it is
    size / factor px (superres*-small), else every factor-th pixel of the block-enlarged input."""
    small = size is not None and inputs.shape[-1] * factor == size
    low = (inputs if small else inputs[..., ::factor, ::factor]).float() / 127.5 - 1
    up = F.interpolate(low, scale_factor=factor, mode="bicubic", align_corners=False)
    return quantize(up)


class Judge:
    """The domain classifier of the dataset: features of the real test images, class accuracy."""

    def __init__(self, dataset: str, data_dir: str | None, real: torch.Tensor) -> None:
        self.grey = dataset in JUDGES
        self.model = get_classifier(JUDGES.get(dataset, dataset), data_dir)
        self.real_features, _ = embed(self.model, self._view(real))

    def _view(self, images: torch.Tensor) -> torch.Tensor:
        return images.amax(1, keepdim=True) if self.grey else images

    def __call__(self, images: torch.Tensor, labels: torch.Tensor | None) -> dict[str, float]:
        features, logits = embed(self.model, self._view(images))
        out = {"fid": fid(features, self.real_features)}
        if labels is not None:
            out["class_preserved"] = float((logits.argmax(1) == labels).float().mean())
        return out


def baselines(task: str, inputs: torch.Tensor, channels: int, size: int) -> dict[str, torch.Tensor]:
    """The input itself (enlarged by pixel repetition where it is smaller) and, for super-resolution,
    its bicubic enlargement, as `channels`-channel images of `size` px."""
    out = {"input": _as_target(enlarged(inputs, size), channels)}
    factor = superres_factor(task)
    if factor:
        out["bicubic"] = _as_target(bicubic_baseline(inputs, factor, size), channels)
    return out


def evaluate_translation(
    source: Path,
    *,
    dataset: str | None = None,
    data_dir: str | None = None,
    baseline: Path | None = None,
) -> dict:
    """Measure a translation run on its dataset's test split (or a translated .npz); writes
    eval.json and eval.md beside it and returns the figures (the model's, then each baseline's)."""
    if source.is_dir():
        outputs, test, task, dataset, data_dir = _translate_run(source, dataset, data_dir)
        inputs, targets, labels = test.inputs, test.images, test.labels
        has_labels = bool(test.class_names)
    else:
        inputs, targets, outputs, labels, has_labels = _load_translated(source)
        dataset, task = dataset or "mnist", "npz"
    rows = {"model": outputs, **baselines(task, inputs, targets.shape[1], targets.shape[-1])}
    if baseline is not None:
        rows["l1_only"], *_ = _translate_run(baseline, dataset, data_dir, inputs, labels)
    judge = Judge(dataset, data_dir, targets) if _judged(dataset) else None
    figures = {}
    for name, images in rows.items():
        if images.shape != targets.shape:
            raise CondganError(
                f"{name}: images of shape {tuple(images.shape)} do not match the targets' {tuple(targets.shape)}"
            )
        figures[name] = pair_metrics(images, targets)
        if judge is not None:
            figures[name] |= judge(images, labels if has_labels else None)
    result = {"source": str(source), "dataset": dataset, "task": task, "n": len(targets), **figures.pop("model")}
    result["baselines"] = figures
    prefix = report_prefix(source)
    atomic_write_text(beside(prefix, ".json"), json.dumps(result, indent=2))
    atomic_write_text(beside(prefix, ".md"), translation_table(result))
    return result


def _judged(dataset: str) -> bool:
    """A domain classifier exists for catalogued datasets (and folders with classes); a paired folder has none."""
    from condgan.data import DATASETS

    return dataset in DATASETS or dataset in JUDGES


def _translate_run(
    source: Path,
    dataset: str | None,
    data_dir: str | None,
    inputs: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
):
    """(outputs, test pairs, task, dataset, data_dir) of a run on its own test split (or on `inputs`
    and their `labels`)."""
    from condgan.metrics.report import run_data

    G, condition = load_generator(source)
    condition = require_image_condition(condition, "evaluating a translation")
    trained = run_data(source)
    if not trained:
        raise CondganError(
            f"{source} has no config.yaml: evaluate a run directory (its data section names the test split)"
        )
    dataset = dataset or trained["dataset"]
    data_dir = data_dir or trained.get("data_dir")
    if inputs is not None:
        return translate(G, inputs, labels), None, condition.task, dataset, data_dir
    outputs, test = translate_split(G, condition, source, "test", dataset, data_dir)
    return outputs, test, condition.task, dataset, data_dir


def _load_translated(path: Path):
    """A `condgan translate --split` file: images (outputs), inputs, targets (samples-file layout) and labels."""
    from condgan.samples_file import load_samples

    outputs, labels = load_samples(path)
    with np.load(path, allow_pickle=False) as f:
        missing = [k for k in ("inputs", "targets") if k not in f]
        if missing:
            raise CondganError(f"{path}: a translated file needs arrays inputs and targets too (missing {missing[0]})")
        arrays = [f["inputs"], f["targets"]]
    inputs, targets = (
        torch.from_numpy(a if a.ndim == 4 else a[..., None]).permute(0, 3, 1, 2).contiguous() for a in arrays
    )
    for name, a in (("inputs", inputs), ("targets", targets)):
        if a.dtype != torch.uint8 or len(a) != len(outputs) or not _fits(a.shape[-2:], outputs.shape[-2:], name):
            smaller = " (inputs: or square and a whole fraction of it)" if name == "inputs" else ""
            raise CondganError(f"{path}: {name} must be uint8 images, one per output, of the outputs' size{smaller}")
    return inputs, targets, outputs, labels, bool((labels >= 0).all())


def _fits(shape: torch.Size, outputs: torch.Size, name: str) -> bool:
    """The outputs' (H, W), or for inputs a square whose side divides the outputs' (superres*-small)."""
    if shape == outputs:
        return True
    h, w = shape
    return name == "inputs" and h == w and outputs[0] == outputs[1] and 0 < h < outputs[0] and outputs[0] % h == 0


def translation_table(result: dict) -> str:
    """A Markdown table: the model and its baselines, one row each."""
    names = ["l1", "psnr", "ssim", "fid", "class_preserved"]
    rows = {"model": {k: result.get(k) for k in names}, **result["baselines"]}
    cols = [n for n in names if any(r.get(n) is not None for r in rows.values())]
    lines = [
        f"# {result['source']}: {result['task']} on {result['dataset']} ({result['n']:,} test pairs)",
        "",
        "| | " + " | ".join(cols) + " |",
        "| --- " * (len(cols) + 1) + "|",
    ]
    for name, r in rows.items():
        cells = [_cell(n, r.get(n)) for n in cols]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _cell(name: str, value: float | None) -> str:
    if value is None:
        return ""
    if name == "cycle_l1":
        return f"{value:.4f}"
    if name == "class_preserved":
        return f"{100 * value:.1f}%"
    return f"{value:.2f}" if name in ("psnr", "fid") else f"{value:.4f}"
