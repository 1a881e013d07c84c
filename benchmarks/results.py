"""Train every preset and write docs/results.md: one command reproduces the table.

    python benchmarks/results.py --data-dir ../shared/datasets          # all presets, own dataset
    python benchmarks/results.py --data-dir ../shared/datasets --cross  # also each on the other dataset
    python benchmarks/results.py --presets mnist-wgan fashion-cdcgan    # a subset: their rows only

Each run trains through the real command line (`condgan train --config PRESET`), timed
end to end, then `condgan eval RUN` scores 1,000 samples per class with condgan's domain
classifier. Finished runs are kept under --runs and reused (delete one to redo it), so an
interrupted table resumes where it stopped: a run with its train_s.json (the timed training)
is evaluated, not trained again. Wall times are from this machine: compare
them only within one table.

Unpaired presets (CycleGAN, data.unpaired) go to the block `unpaired`: each is trained beside
its paired pix2pix twin (TWINS), and `condgan eval RUN --baseline TWIN_RUN` scores both
directions against the test split's truth, beside the identity baseline.

Several-factor presets (coloured-mnist, emoji-people) go to the block `attributes`: `condgan
eval RUN` reads every factor back (per-factor accuracy on the combinations training saw and on
the held-out ones).

StarGAN presets (model stargan) go to the block `edits`: `condgan eval RUN` edits every image
kept out of training into each other tone, hair and age whose true emoji was kept out too, and
scores the edits, the unedited input and the naive baseline against that truth.

Image-to-image presets (those with a data.task) go to their own table (block `images`): each
is trained twice, as the preset and as its L1-only baseline (`--set loss.adv_weight=0`), and
`condgan eval RUN --baseline L1_RUN` scores both and the input / bicubic baselines on the
whole test split.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from condgan.config import load_config, preset_names
from condgan.progress import bar as progress_bar
from docblock import replace_block

ROOT = Path(__file__).resolve().parents[1]
OTHER = {"mnist": "fashion-mnist", "fashion-mnist": "mnist"}
COLUMNS = [
    ("cond_acc", "cond. acc.", "{:.2%}"),  # two decimals: 99.25% must not read as an aim of 99.3% met
    ("worst_class_acc", "worst class", "{}"),
    ("fid", "FID", "{:.2f}"),
    ("intra_fid", "intra-FID", "{:.2f}"),
    ("precision", "precision", "{:.3f}"),
    ("recall", "recall", "{:.3f}"),
    ("train_s", "train time", "{}"),
]


def condgan(*args: str) -> subprocess.CompletedProcess:
    result = subprocess.run([sys.executable, "-m", "condgan", *args], capture_output=True, text=True)
    if result.returncode:
        raise SystemExit(f"condgan {' '.join(args)} failed:\n{result.stderr[-3000:]}")
    return result


def run_one(preset: str, dataset: str, args: argparse.Namespace) -> dict:
    """Train (unless done) and evaluate one preset on one dataset; returns the table row."""
    run = args.runs / f"{preset}@{dataset}"
    result_path = run / "results.json"
    if result_path.is_file():
        return json.loads(result_path.read_text())
    refuse_unfinished(run)
    train_s = timed_training(preset, run, args, "--dataset", dataset)
    condgan("eval", str(run), "--per-class", str(args.per_class), *data_flags(args))
    metrics = json.loads((run / "eval.json").read_text())
    names = json.loads((run / "generator" / "config.json").read_text())["class_names"]
    per_class = metrics["per_class"]
    worst = min(range(len(per_class)), key=per_class.__getitem__)
    row = {"preset": preset, "dataset": dataset, "train_s": train_s}
    row |= {key: metrics[key] for key, _, _ in COLUMNS if key in metrics}
    row["worst_class_acc"] = f"{per_class[worst]:.1%} ({names[worst]})"
    result_path.write_text(json.dumps(row, indent=2))
    return row


IMAGE_COLUMNS = [
    ("class_preserved", "class preserved", "{:.2%}"),  # two decimals: 96.96% must not read as 97.0%
    ("fid", "FID", "{:.2f}"),
    ("l1", "L1", "{:.4f}"),
    ("psnr", "PSNR", "{:.2f}"),
    ("ssim", "SSIM", "{:.3f}"),
]


def data_flags(args: argparse.Namespace) -> list[str]:
    return ["--data-dir", str(args.data_dir)] if args.data_dir else []


def refuse_unfinished(*runs: Path) -> None:
    """A run folder without its train_s.json is a training that was cut off."""
    for run in runs:
        if run.exists() and not (run / "train_s.json").is_file():
            raise SystemExit(f"{run} holds an unfinished run: delete it to redo it")


def timed_training(preset: str, run: Path, args: argparse.Namespace, *extra: str) -> int:
    """Seconds `condgan train --config PRESET` took into `run`: trained and timed now unless a
    finished training (its train_s.json) is there already, which is then evaluated as it is."""
    timing = run / "train_s.json"
    if not run.exists():
        start = time.perf_counter()
        condgan("train", "--config", preset, "--out", str(run), "--no-progress", *extra, *data_flags(args))
        timing.write_text(json.dumps(round(time.perf_counter() - start)))
    return json.loads(timing.read_text())


def run_image(preset: str, args: argparse.Namespace) -> dict:
    """Train an image-to-image preset and its twin without D (`loss.adv_weight=0`: the L1-only
    model, or L1 + L2 where the preset adds L2) unless done; evaluate both side by side."""
    run, l1_run = args.runs / preset, args.runs / f"{preset}-l1only"
    result_path = run / "results.json"
    if result_path.is_file():
        return json.loads(result_path.read_text())
    refuse_unfinished(run, l1_run)  # before either trains: both are needed
    train_s = timed_training(preset, run, args)
    l1only_train_s = timed_training(preset, l1_run, args, "--set", "loss.adv_weight=0")
    condgan("eval", str(run), "--baseline", str(l1_run), *data_flags(args))
    metrics = json.loads((run / "eval.json").read_text())
    row = {"preset": preset, "dataset": metrics["dataset"], "task": metrics["task"], "n": metrics["n"]}
    row |= {"train_s": train_s, "l1only_train_s": l1only_train_s, "pix2pix": metrics}
    result_path.write_text(json.dumps(row, indent=2))
    return row


TWINS = {"fashion-edges-unpaired": "fashion-edges", "mnist-superres4-unpaired": "mnist-superres4"}  # paired pix2pix


def run_unpaired(preset: str, args: argparse.Namespace) -> dict:
    """Train a CycleGAN preset (and with --twins its paired pix2pix twin: the same task, pairs
    seen) unless done; evaluate both directions, the twin's run beside A -> B where there is one."""
    run, twin = args.runs / preset, args.runs / TWINS[preset]
    result_path = run / "results.json"
    if result_path.is_file():
        return json.loads(result_path.read_text())
    refuse_unfinished(run, *([twin] if args.twins or twin.exists() else []))
    train_s = timed_training(preset, run, args)
    twin_s = timed_training(TWINS[preset], twin, args) if args.twins or twin.exists() else None
    baseline = ["--baseline", str(twin)] if twin_s is not None else []
    condgan("eval", str(run), *baseline, *data_flags(args))
    metrics = json.loads((run / "eval.json").read_text())
    row = {"preset": preset, "twin": TWINS[preset], "dataset": metrics["dataset"], "task": metrics["task"]}
    row |= {"n": metrics["n"], "train_s": train_s, "twin_train_s": twin_s, "cyclegan": metrics}
    result_path.write_text(json.dumps(row, indent=2))
    return row


ATTRIBUTE_DATASETS = ("coloured-mnist", "emoji-people")  # evaluated factor by factor (metrics/evaluators.py)


def evaluated_row(preset: str, args: argparse.Namespace, *eval_flags: str, drop: tuple[str, ...] = ()) -> dict:
    """Train `preset` unless done, `condgan eval` it (with `eval_flags`) and keep its figures as
    one row (without the keys in `drop`) in the run's results.json."""
    run = args.runs / preset
    result_path = run / "results.json"
    if result_path.is_file():
        return json.loads(result_path.read_text())
    refuse_unfinished(run)
    train_s = timed_training(preset, run, args)
    condgan("eval", str(run), *eval_flags)
    metrics = json.loads((run / "eval.json").read_text())
    row = {"preset": preset, "train_s": train_s} | {k: v for k, v in metrics.items() if k not in drop}
    result_path.write_text(json.dumps(row, indent=2))
    return row


def run_attributes(preset: str, args: argparse.Namespace) -> dict:
    """A several-factor preset: its factors read back (seen vs held out)."""
    return evaluated_row(preset, args, "--per-class", str(args.per_class), *data_flags(args), drop=("combos",))


def run_edits(preset: str, args: argparse.Namespace) -> dict:
    """A StarGAN preset: its edits scored against the exact truth."""
    return evaluated_row(preset, args)


def edits_table(rows: list[dict]) -> str:
    """Per preset, edited factor and method: the figures against the true emoji."""
    titles = ["preset", "edit", "n", "method", "L1 ↓", "PSNR ↑", "SSIM ↑", "FID (judge) ↓", "attribute acc."]
    titles += ["kept acc.", "train time"]
    lines = ["| " + " | ".join(titles) + " |", "|" + " --- |" * len(titles)]
    for r in rows:
        clock = f"{r['train_s'] // 60} m {r['train_s'] % 60:02d} s"
        for factor, entry in r["edits"].items():
            if not entry.get("edits"):
                continue
            for method in ("model", "identity", "naive", "mean_edit", "truth"):
                m = entry[method]
                name = (
                    {
                        "model": "**StarGAN**",
                        "naive": "naive (colour move)",
                        "mean_edit": "mean training edit",
                        "truth": "true emoji (judge's ceiling)",
                    }[method]
                    if method != "identity"
                    else "identity (input)"
                )
                pixels = [f"{m['l1']:.4f}", f"{m['psnr']:.2f}", f"{m['ssim']:.4f}"] if method != "truth" else ["—"] * 3
                cells = [f"`{r['preset']}`", factor, str(entry["edits"]), name, *pixels, f"{m['fid_judge']:.1f}"]
                cells += [f"{m['attr_acc']:.1%}", f"{m['kept_acc']:.1%}", clock if method == "model" else ""]
                lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def attributes_table(rows: list[dict]) -> str:
    """One line per preset and side (seen / held out): each factor's accuracy as the judge reads it."""
    factors = list(
        dict.fromkeys(
            k[len("seen_") : -len("_acc")] for r in rows for k in r if k.startswith("seen_") and k.endswith("_acc")
        )
    )
    head = ["preset", "combinations", *factors, "FID (judge)", "train time"]
    lines = ["| " + " | ".join(head) + " |", "|" + " --- |" * len(head)]
    for r in rows:
        for side, name in (("seen", "seen in training"), ("held_out", "held out")):
            if not any(f"{side}_{f}_acc" in r for f in factors):
                continue
            cells = [f"{r[f'{side}_{f}_acc']:.1%}" if f"{side}_{f}_acc" in r else "—" for f in factors]
            fid = f"{r['fid_judge']:.2f}" if side == "seen" and "fid_judge" in r else ""
            clock = f"{r['train_s'] // 60} m {r['train_s'] % 60:02d} s" if side == "seen" else ""
            lines.append("| " + " | ".join([f"`{r['preset']}`", name, *cells, fid, clock]) + " |")
    return "\n".join(lines)


def unpaired_table(rows: list[dict]) -> str:
    """Per preset and direction: CycleGAN, the identity baseline (the input), and for A -> B the
    paired pix2pix twin; B -> A also shows the judge on the true A images (`truth`)."""
    columns = [*IMAGE_COLUMNS, ("cycle_l1", "cycle L1", "{:.4f}")]
    head = "| preset | direction | model | " + " | ".join(title for _, title, _ in columns) + " | train time |"
    lines = [head, "|" + " --- |" * (len(columns) + 4)]
    for row in rows:
        for direction in ("AtoB", "BtoA"):
            figures = row["cyclegan"][direction]
            labels = {"model": "CycleGAN", "paired": f"`{row['twin']}` (pix2pix, paired)", "input": "the input"}
            labels["truth"] = "the truth (judge's ceiling)"
            for key, label in labels.items():
                if key not in figures:
                    continue
                cells = [fmt.format(figures[key][k]) if k in figures[key] else "–" for k, _, fmt in columns]
                seconds = {"model": row["train_s"], "paired": row.get("twin_train_s")}.get(key)
                seconds = seconds if direction == "AtoB" or key != "model" else None
                when = f"{seconds // 60} m {seconds % 60:02d} s" if seconds is not None else "–"
                first = f"`{row['preset']}`" if key == "model" and direction == "AtoB" else ""
                way = f"{direction[0]} → {direction[-1]}" if key == "model" else ""
                lines.append(f"| {first} | {way} | {label} | " + " | ".join(cells) + f" | {when} |")
    return "\n".join(lines)


def image_table(rows: list[dict]) -> str:
    head = "| preset | task | model | " + " | ".join(title for _, title, _ in IMAGE_COLUMNS) + " | train time |"
    lines = [head, "|" + " --- |" * (len(IMAGE_COLUMNS) + 4)]
    for row in rows:
        names = {"model": "pix2pix", "l1_only": twin_label(row["preset"]), "input": "the input", "bicubic": "bicubic"}
        figures = {"model": row["pix2pix"], **row["pix2pix"]["baselines"]}
        for key, label in names.items():
            if key not in figures:
                continue
            cells = [fmt.format(figures[key][k]) if k in figures[key] else "–" for k, _, fmt in IMAGE_COLUMNS]
            seconds = {"model": row["train_s"], "l1_only": row["l1only_train_s"]}.get(key)
            when = f"{seconds // 60} m {seconds % 60:02d} s" if seconds is not None else "–"
            first = f"`{row['preset']}` | {row['task']} on {row['dataset']}" if key == "model" else " | "
            lines.append(f"| {first} | {label} | " + " | ".join(cells) + f" | {when} |")
    return "\n".join(lines)


def twin_label(preset: str) -> str:
    """The twin trained without D keeps the preset's reconstruction terms: L1, or L1 + L2."""
    terms = dict(load_config(preset).recipe().regularisers)
    return " + ".join(n.upper() for n in ("l1", "l2") if terms.get(n)) + " only"


def describe(preset: str) -> str:
    from condgan.models import MODELS

    c = load_config(preset)
    r = c.recipe()
    if MODELS.get(c.model.name).own_conditioning:  # BigGAN, StyleGAN: their own conditioning and norms
        parts = [c.model.name, c.loss.name, f"width {c.model.width}"]
    else:
        parts = [c.model.name, c.loss.name, f"G {c.model.g_cond}", f"D {c.model.d_cond}", f"D norm {r.d_norm}"]
        if c.model.width is not None:  # the architecture's own default is not worth a word
            parts.insert(2, f"width {c.model.width}")
    if c.model.g_refine:
        parts.insert(parts.index(f"G {c.model.g_cond}") + 1, f"G +{c.model.g_refine} 3x3 conv")
    if c.model.spectral_norm:
        parts.append("SN")
    if r.n_critic > 1:
        parts.append(f"n_critic {r.n_critic}")
    parts += [f"lazy {name} every {k} D steps" for name, k in r.every]
    parts += [f"{name} off after {f:.0%} of the run" for name, f in r.until]
    parts.append(f"{c.train.optimizer} {c.train.lr_g:g}/{c.train.lr_d:g}")
    if c.train.lr_decay:
        parts.append(f"lr to 0 over the last {c.train.lr_decay:.0%}")
    if c.train.ema:
        parts.append(f"EMA {c.train.ema}")
    if c.train.update != "alternating":
        parts.append(f"{c.train.update} updates")
    parts.append(f"{c.train.epochs} ep" if c.train.epochs else f"{c.train.steps:,} steps")
    return ", ".join(parts)


def table(rows: list[dict], kept: Sequence[str] = ()) -> str:
    """The table of `rows`, with `kept` (rows of the table as it was, for presets not run now)
    in their place: by dataset, then by accuracy."""
    head = "| preset | dataset | recipe | " + " | ".join(title for _, title, _ in COLUMNS) + " |"
    lines = [head, "|" + " --- |" * (len(COLUMNS) + 3)]
    body = []
    for row in rows:
        cells = []
        for key, _, fmt in COLUMNS:
            value = row.get(key)
            if key == "train_s":
                cells.append(f"{value // 60} m {value % 60:02d} s")
            else:
                cells.append(fmt.format(value) if value is not None else "–")
        name = f"`{row['preset']}`"
        body.append(f"| {name} | {row['dataset']} | {describe(row['preset'])} | " + " | ".join(cells) + " |")
    return "\n".join(lines + sorted([*body, *kept], key=_order))


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("|").split("|")]


def _order(line: str) -> tuple[str, float]:
    """A table line's place: its dataset, then its accuracy (highest first)."""
    cells = _cells(line)
    return cells[1], -float(cells[3].rstrip("%"))


def kept_rows(text: str, rows: list[dict]) -> list[str]:
    """The lines of the table in `text` whose (preset, dataset) is not among `rows`: a run of a
    few presets updates their rows and leaves the others as they were measured."""
    start, end = text.index("<!-- table -->"), text.index("<!-- /table -->")
    done = {(f"`{r['preset']}`", r["dataset"]) for r in rows}
    lines = [line for line in text[start:end].splitlines()[3:] if line.startswith("|")]  # past marker and header
    return [line for line in lines if tuple(_cells(line)[:2]) not in done]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--presets", nargs="*", default=preset_names(), help="default: every preset")
    parser.add_argument("--cross", action="store_true", help="also train each preset on the other dataset")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=os.environ.get("CONDGAN_DATA_DIR"),
        help="where fashion-mnist lives (default: $CONDGAN_DATA_DIR)",
    )
    parser.add_argument("--runs", type=Path, default=ROOT / "runs" / "results", help="run directories")
    parser.add_argument("--per-class", type=int, default=1000, help="evaluation samples per class")
    parser.add_argument(
        "--twins", action="store_true", help="also train each unpaired preset's paired pix2pix twin (else: if present)"
    )
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "results.md")
    args = parser.parse_args()
    configs = {p: load_config(p) for p in args.presets}  # each preset's config read once
    data = {p: c.data for p, c in configs.items()}
    edits = [p for p in args.presets if configs[p].model.name == "stargan"]
    unpaired = [p for p in args.presets if data[p].unpaired]
    images = [p for p in args.presets if data[p].task and p not in unpaired]
    attributes = [
        p for p in args.presets if not data[p].task and data[p].dataset in ATTRIBUTE_DATASETS and p not in edits
    ]
    grouped = {*images, *unpaired, *attributes, *edits}
    others = [p for p in args.presets if p not in grouped]
    # one step per preset run (an image preset is two trainings); an ETA on a terminal only
    runs = len(grouped) + len(others) * (2 if args.cross else 1)
    bar = progress_bar(runs, "presets", "run")

    def run_each(presets: list[str], run: Callable[[str, argparse.Namespace], dict]) -> list[dict]:
        rows = []
        for preset in presets:
            bar.set_description(preset)
            rows.append(run(preset, args))
            bar.update()
        return rows

    if attributes:
        replace_block(args.out, "attributes", attributes_table(run_each(attributes, run_attributes)), merge=True)
    if edits:
        edit_rows = run_each(edits, run_edits)
        for r in edit_rows:
            print(f"{r['preset']}: beats both baselines (L1 and SSIM): {r['beats_baselines']}")
        replace_block(args.out, "edits", edits_table(edit_rows), merge=True)
    if unpaired:
        unpaired_rows = run_each(unpaired, run_unpaired)
        for r in unpaired_rows:
            ab = r["cyclegan"]["AtoB"]["model"]
            print(f"{r['preset']}: A to B {ab['class_preserved']:.1%} class preserved, FID {ab['fid']:.2f}")
        replace_block(args.out, "unpaired", unpaired_table(unpaired_rows), merge=True)
    if images:
        image_rows = run_each(images, run_image)
        for r in image_rows:
            print(
                f"{r['preset']}: {r['pix2pix']['class_preserved']:.1%} class preserved, FID {r['pix2pix']['fid']:.2f}"
            )
        replace_block(args.out, "images", image_table(image_rows), merge=True)
    rows = []
    for preset in others:
        own = data[preset].dataset
        for dataset in [own, OTHER[own]] if args.cross else [own]:
            bar.set_description(f"{preset} on {dataset}")
            row = run_one(preset, dataset, args)
            bar.update()
            rows.append(row)
            print(
                f"{preset} on {dataset}: {row['cond_acc']:.2%} acc, FID {row['fid']:.2f}, "
                f"intra-FID {row['intra_fid']:.2f}, recall {row['recall']:.3f}, {row['train_s']} s",
                flush=True,
            )
    bar.close()
    if not rows:
        return
    text = args.out.read_text() if args.out.is_file() else "# Results\n\n<!-- table -->\n<!-- /table -->\n"
    start, end = text.index("<!-- table -->"), text.index("<!-- /table -->")
    body = table(rows, kept_rows(text, rows))
    args.out.write_text(text[: start + len("<!-- table -->")] + "\n" + body + "\n" + text[end:])
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
