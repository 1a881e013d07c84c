"""`condgan eval` of a StarGAN run: its edits of images it never saw, against the exact truth.

emoji-people holds one image per (tone, hair, gender, age, role): an edit ("this farmer with
dark skin") has exactly one right answer when that image exists. For every image kept out of
training (the test split's figures and the run's data.holdout combinations) and every factor
measured (tone, hair, gender, age), each other value whose image exists and was also kept out of
training is one edit; G is asked for that factor alone ("keep" for the rest, as a user asks).

Per factor, for G and two baselines:
- identity: the input unedited;
- naive (the colour move): every pixel within COLOUR_RADIUS of the source value's mean colour
  moved by (target colour - source colour); each value's colour measured on the training images
  as the mean of the pixels where an image differs from its twin at the factor's first value
  (the skin for tone, the hair for hair);
and, as a stronger reference, the mean edit: the input plus the training set's mean difference
between images that differ in that factor alone (source value -> target value), a template
that is nearly exact where the font draws a hair colour the same way for every tone.
Figures: L1 (pixels in [0, 1]), PSNR, SSIM to the truth; FID against the truths in the
attribute judge's feature space (a realism figure: the unedited inputs are real emoji, so the
identity baseline scores ~0 there); the judge's reading of the edited factor (attribute
accuracy) and of the factors the edit must keep. The judge is condgan.metrics.attributes'
(the training figures only).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from condgan.conditions import ConditionSpec
from condgan.data import ImageData, load_dataset
from condgan.errors import CondganError
from condgan.fileio import atomic_write_text
from condgan.metrics.attributes import attribute_judge, read_factors
from condgan.metrics.classifier import DomainCNN, embed
from condgan.metrics.fid import fid
from condgan.metrics.translation import pair_metrics
from condgan.translate import translate

MEASURED = ("tone", "hair", "gender", "age")  # the edits the report measures, where their truths exist
COLOUR_RADIUS = 0.2  # RGB distance in [0, 1] units within which a pixel has the source value's colour
DIFFERENT = 0.1  # a pixel whose channels differ by more (mean, [0, 1]) between twins belongs to the factor
DATASETS = ("emoji-people",)


@dataclass
class EditSet:
    """The data an edit report reads: every image with its codes (N, F) over the dataset's factors,
    which were seen in training, the factors' spec, and the training split (the judge's data)."""

    images: torch.Tensor  # (N, C, S, S) uint8
    codes: np.ndarray
    trained: np.ndarray  # (N,) bool
    spec: ConditionSpec
    train: ImageData

    @cached_property
    def where(self) -> dict[tuple[int, ...], int]:
        """The row of each code tuple (one image per combination of factors)."""
        return {tuple(c): i for i, c in enumerate(self.codes.tolist())}

    def row(self, codes: np.ndarray, trained: bool | None = None) -> int | None:
        """The image with these codes, if it exists (and, when `trained` is given, was / was not trained on)."""
        k = self.where.get(tuple(codes.tolist()))
        return None if k is None or (trained is not None and self.trained[k] != trained) else k


def edit_set(dataset: str, holdout: str | None, img_size: int | None, data_dir=None) -> EditSet:
    from condgan.data.emoji import held_out, holdout_combos

    if dataset not in DATASETS:
        raise CondganError(f"edits are measured against the exact truth of {', '.join(DATASETS)}, not {dataset}")
    train = load_dataset(dataset, "train", data_dir, img_size=img_size)
    test = load_dataset(dataset, "test", data_dir, img_size=img_size)
    spec = train.spec
    codes = np.concatenate([spec.decode(train.labels.numpy()), spec.decode(test.labels.numpy())])
    trained = np.concatenate([np.ones(len(train), bool), np.zeros(len(test), bool)])
    trained &= ~held_out(codes, holdout_combos(spec, holdout))
    return EditSet(torch.cat([train.images, test.images]), codes, trained, spec, train)


def edit_pairs(data: EditSet, factor: str) -> np.ndarray:
    """(M, 3) rows (source index, target value, truth index): every edit of `factor` from an
    image not trained on to another value whose image exists and was not trained on either."""
    j = data.spec.factor_names.index(factor)
    rows = []
    for i in np.flatnonzero(~data.trained):
        for v in range(len(data.spec.factors[j].values)):
            if v == data.codes[i, j]:
                continue
            target = data.codes[i].copy()
            target[j] = v
            k = data.row(target, trained=False)
            if k is not None:
                rows.append((i, v, k))
    return np.array(rows, np.int64).reshape(-1, 3)


def value_colours(data: EditSet, j: int) -> np.ndarray:
    """(values, 3) mean colour in [0, 1] of each value of factor j, from the training images: the
    pixels where an image differs from its twin at the factor's first value (same codes but j),
    in the image (its value's colour) and in the twin (the first value's)."""
    values = len(data.spec.factors[j].values)
    images = data.images.float().numpy() / 255.0
    sums, counts = np.zeros((values, 3)), np.zeros(values)
    for i in np.flatnonzero(data.trained & (data.codes[:, j] != 0)):
        twin = data.codes[i].copy()
        twin[j] = 0
        k = data.row(twin, trained=True)
        if k is None:
            continue
        changed = np.abs(images[i] - images[k]).mean(0) > DIFFERENT  # (S, S)
        for index, v in ((i, data.codes[i, j]), (k, 0)):
            sums[v] += images[index][:, changed].sum(1)
            counts[v] += changed.sum()
    if not counts.all():
        name = data.spec.factors[j].name
        raise CondganError(f"the training images hold no twins differing in {name} alone to measure its colours from")
    return sums / counts[:, None]


def colour_move(images: torch.Tensor, source: np.ndarray, target: np.ndarray, colours: np.ndarray) -> torch.Tensor:
    """The naive edit: pixels within COLOUR_RADIUS of the source value's colour moved by (target
    colour - source colour); the rest unchanged."""
    x = images.float().numpy() / 255.0  # (M, 3, S, S)
    out = x.copy()
    for m in range(len(x)):
        near = np.linalg.norm(x[m] - colours[source[m]][:, None, None], axis=0) < COLOUR_RADIUS
        out[m][:, near] += (colours[target[m]] - colours[source[m]])[:, None]
    return torch.from_numpy(np.clip(np.rint(out * 255.0), 0, 255).astype(np.uint8))


def mean_difference(data: EditSet, j: int, source: int, target: int) -> np.ndarray | None:
    """The mean of (b - a) over training pairs that differ in factor j alone, a_j = source, b_j = target."""
    diffs = []
    for i in np.flatnonzero(data.trained & (data.codes[:, j] == source)):
        other = data.codes[i].copy()
        other[j] = target
        k = data.row(other, trained=True)
        if k is not None:
            diffs.append(data.images[k].float().numpy() - data.images[i].float().numpy())
    return np.mean(diffs, 0) if diffs else None


def mean_edit(data: EditSet, j: int, pairs: np.ndarray) -> torch.Tensor:
    """Each input plus the mean training difference of its edit (the input itself where none exists)."""
    out = data.images[pairs[:, 0]].float().numpy()
    cache: dict[tuple[int, int], np.ndarray | None] = {}
    for m, (i, v, _) in enumerate(pairs):
        key = (int(data.codes[i, j]), int(v))
        if key not in cache:
            cache[key] = mean_difference(data, j, *key)
        if cache[key] is not None:
            out[m] += cache[key]
    return torch.from_numpy(np.clip(np.rint(out), 0, 255).astype(np.uint8))


def _judged(judge: DomainCNN, spec: ConditionSpec, images: torch.Tensor, truths: torch.Tensor, codes, j) -> dict:
    """FID to the truths in the judge's space; the edited factor read as asked; the others kept."""
    read = read_factors(spec, judge, images)
    others = [k for k, f in enumerate(spec.factors) if k != j and f.name in ("tone", "hair", "gender", "age")]
    return {
        "fid_judge": fid(embed(judge, images)[0], embed(judge, truths)[0]),
        "attr_acc": float((read[:, j] == codes[:, j]).mean()),
        "kept_acc": float((read[:, others] == codes[:, others]).mean()),
    }


def edit_report(
    G: torch.nn.Module, attributes: ConditionSpec, data: EditSet, judge: DomainCNN, factors=MEASURED
) -> dict:
    """Per factor: how many edits, and G's, identity's and naive's figures (module docstring)."""
    report: dict = {}
    for factor in factors:
        if factor not in attributes.factor_names:
            continue
        pairs = edit_pairs(data, factor)
        if not len(pairs):
            report[factor] = {"edits": 0}
            continue
        j, a = data.spec.factor_names.index(factor), attributes.factor_names.index(factor)
        inputs, truths = data.images[pairs[:, 0]], data.images[pairs[:, 2]]
        codes = np.zeros((len(pairs), len(attributes.factors)), np.int64)
        named = np.zeros_like(codes, dtype=bool)
        codes[:, a], named[:, a] = pairs[:, 1], True
        edited = translate(G, inputs, attributes=torch.from_numpy(attributes.encode_named(codes, named)))
        naive = colour_move(inputs, data.codes[pairs[:, 0], j], pairs[:, 1], value_colours(data, j))
        asked = data.codes[pairs[:, 2]]  # the truth's codes: what the edit must read as
        entry: dict = {"edits": len(pairs), "sources": len(np.unique(pairs[:, 0]))}
        methods = (("model", edited), ("identity", inputs), ("naive", naive), ("mean_edit", mean_edit(data, j, pairs)))
        for name, images in methods:
            entry[name] = pair_metrics(images, truths) | _judged(judge, data.spec, images, truths, asked, j)
        entry["truth"] = _judged(judge, data.spec, truths, truths, asked, j)  # the judge's ceiling
        report[factor] = entry
    return report


def beats_baselines(report: Mapping) -> dict[str, bool]:
    """Per factor: G's L1 below and SSIM above both baselines' (identity and the naive colour move)."""
    out = {}
    for factor, entry in report.items():
        if isinstance(entry, dict) and entry.get("edits"):
            m = entry["model"]
            out[factor] = all(m["l1"] < entry[b]["l1"] and m["ssim"] > entry[b]["ssim"] for b in ("identity", "naive"))
    return out


def evaluate_edits(run_dir: Path, data_dir=None, judge: DomainCNN | None = None) -> dict:
    """The report of the StarGAN run in `run_dir`, written to run_dir/eval.json and eval.md."""
    from condgan.metrics.report import run_data
    from condgan.models.storage import load_generator

    G, condition = load_generator(run_dir)
    if getattr(condition, "attributes", None) is None:
        raise CondganError(f"{run_dir} is not a StarGAN run: it does not edit attributes")
    cfg = run_data(run_dir)
    dataset, size = cfg.get("dataset"), condition.img_size
    data = edit_set(dataset, cfg.get("holdout"), size, data_dir or cfg.get("data_dir"))
    if judge is None:
        judge = attribute_judge(data.train, dataset)
    result = {"dataset": dataset, "img_size": size, "holdout": cfg.get("holdout")}
    result["edits"] = edit_report(G, condition.attributes, data, judge)
    result["beats_baselines"] = beats_baselines(result["edits"])
    atomic_write_text(run_dir / "eval.json", json.dumps(result, indent=2))
    atomic_write_text(run_dir / "eval.md", edit_table(result["edits"]))
    return result


def edit_table(report: Mapping) -> str:
    """A markdown table: one row per factor and method."""
    lines = [
        "| edit | n | method | L1 ↓ | PSNR ↑ | SSIM ↑ | FID (judge) ↓ | attribute acc. | kept acc. |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for factor, entry in report.items():
        if not entry.get("edits"):
            lines.append(f"| {factor} | 0 | (no held-out edit has a held-out truth) | | | | | | |")
            continue
        for method in ("model", "identity", "naive", "mean_edit", "truth"):
            m = entry[method]
            pixels = f"{m['l1']:.4f} | {m['psnr']:.2f} | {m['ssim']:.4f}" if "l1" in m else "– | – | –"
            lines.append(
                f"| {factor} | {entry['edits']} | {method} | {pixels} | {m['fid_judge']:.1f} | "
                f"{100 * m['attr_acc']:.1f}% | {100 * m['kept_acc']:.1f}% |"
            )
    return "\n".join(lines) + "\n"


DEFAULT_TARGETS = ("tone=light", "tone=dark", "hair=red", "hair=white", "hair=blond", "age=older", "age=child")


def edit_picture(run_dir: Path, targets: list[str], n: int, data_dir=None) -> np.ndarray:
    """Rows: images kept out of training (those with the most held-out truths first); columns: the
    input, then per target the edit and the true emoji beside it (black where the font has none
    that was kept out of training). uint8 (H, W, 3)."""
    from condgan.images import PAD, hwc, label_grid, make_grid
    from condgan.metrics.report import run_data
    from condgan.models.storage import load_generator

    G, condition = load_generator(run_dir)
    spec = condition.attributes
    cfg = run_data(run_dir)
    data = edit_set(cfg.get("dataset"), cfg.get("holdout"), condition.img_size, data_dir or cfg.get("data_dir"))
    asked = [spec.edit(t) for t in targets]  # each target checked (one line for a bad one) before any work
    names = data.spec.factor_names

    def truth(i: int, vector: np.ndarray) -> int | None:
        codes = data.codes[i].copy()
        for f, at in zip(spec.factors, spec.offsets()):
            block = vector[at : at + f.width]
            if block.any():
                codes[names.index(f.name)] = int(block.argmax())
        return data.row(codes, trained=False)

    held = np.flatnonzero(~data.trained)
    found = {i: [truth(i, v) for v in asked] for i in held}
    order = sorted(held, key=lambda i: (-sum(k is not None for k in found[i]), i))
    rows, figures = [], set()
    for i in order:  # one row per figure (a figure's tones are one person)
        figure = tuple(np.delete(data.codes[i], names.index("tone"))) if "tone" in names else i
        if figure not in figures:
            figures.add(figure)
            rows.append(i)
        if len(rows) == n:
            break
    inputs = data.images[rows]
    blank = torch.zeros_like(inputs[0])
    tiles = []
    edited = [translate(G, inputs, attributes=torch.from_numpy(np.repeat(v[None], len(rows), 0))) for v in asked]
    for r, i in enumerate(rows):
        tiles.append(inputs[r])
        for t in range(len(asked)):
            k = found[i][t]
            tiles += [edited[t][r], data.images[k] if k is not None else blank]
    columns = ["input"] + [x for t in targets for x in (t.split("=")[-1].strip()[:7], "true")]
    array = make_grid(hwc(torch.stack(tiles).numpy()), 1 + 2 * len(asked))
    return label_grid(array, inputs.shape[-1], PAD, None, columns)
