"""`condgan eval RUN --truncation 1,0.9,0.8,0.7,0.5`: the truncation trade-off of a BigGAN or
StyleGAN run, one row per value (fidelity and class accuracy up, variety and recall down).

Class runs: conditional accuracy, FID, intra-FID, precision and recall in the judge's space, the
same per-class draw for every value (the noise seed fixed), the real features computed once.
Attribute runs (emoji-people): per-factor accuracy and FID on the seen and held-out combinations
(condgan.metrics.attributes). Written to RUN/eval-truncation.json and .md.
"""

from __future__ import annotations

import json
from pathlib import Path

from condgan.errors import CondganError
from condgan.fileio import atomic_write_text
from condgan.noise import check_truncation

CLASS_COLUMNS = ("cond_acc", "fid", "intra_fid", "precision", "recall")


def parse_values(text: str) -> list[float | None]:
    """ "1,0.9,none" -> [1.0, 0.9, None] (none: no truncation)."""
    values: list[float | None] = []
    for part in text.split(","):
        part = part.strip().lower()
        if part in ("none", "off"):
            values.append(None)
            continue
        try:
            values.append(float(part))
        except ValueError:
            raise CondganError(f"--truncation takes numbers (or none) separated by commas, got {part!r}") from None
    if not values or len(values) > 20:
        raise CondganError(f"--truncation takes 1..20 values, got {len(values)}")
    return values


def _class_rows(source: Path, G, values, dataset, data_dir, per_class: int, seed: int) -> list[dict]:
    from condgan.data import load_dataset
    from condgan.metrics.classifier import cached_classifier, embed
    from condgan.metrics.report import compute_metrics, generate, run_data

    trained_on = run_data(source)
    dataset = dataset or trained_on.get("dataset") or "mnist"
    options = {}
    if dataset == trained_on.get("dataset"):
        data_dir = data_dir or trained_on.get("data_dir")
        options = {"img_size": trained_on.get("img_size"), "channels": trained_on.get("channels")}
    real = load_dataset(dataset, "test", data_dir, **options)
    classifier = cached_classifier(load_dataset(dataset, "train", data_dir, **options), Path(dataset).name)
    real_features, _ = embed(classifier, real.images)
    rows = []
    for value in values:
        images, labels = generate(G, len(real.class_names), per_class, seed, truncation=value)
        metrics = compute_metrics(classifier, images, labels, real, cas=False, seed=seed, real_features=real_features)
        rows.append({"truncation": value, **{k: round(float(metrics[k]), 4) for k in CLASS_COLUMNS}})
    return rows


def _attribute_rows(source: Path, G, values, per_class: int, seed: int) -> list[dict]:
    from condgan.metrics.attributes import generation_report
    from condgan.metrics.report import run_data

    data = run_data(source)
    rows = []
    for value in values:
        result = generation_report(
            G,
            data["dataset"],
            data.get("holdout"),
            total=max(1, per_class) * 10,
            seed=seed,
            img_size=data.get("img_size"),
            truncation=value,
        )
        keep = {k: v for k, v in result.items() if isinstance(v, (int, float)) and not isinstance(v, bool)}
        rows.append({"truncation": value, **keep})
    return rows


def truncation_sweep(
    source: Path, text: str, *, dataset: str | None, data_dir: str | None, per_class: int, seed: int
) -> tuple[dict, list[Path]]:
    """Evaluate a run at each truncation value of `text`; write and return the table."""
    from condgan.models.storage import load_generator

    if not source.is_dir():
        raise CondganError("--truncation evaluates a run directory (it samples again at each value), not a file")
    values = parse_values(text)
    G, spec = load_generator(source)
    kind = getattr(G, "truncation", None)
    for value in values:
        check_truncation(kind, value)
    if getattr(spec, "is_classes", False):
        rows = _class_rows(source, G, values, dataset, data_dir, per_class, seed)
    elif getattr(spec, "factors", None):
        if dataset:
            raise CondganError("an attribute run is measured on its own dataset: drop --dataset")
        rows = _attribute_rows(source, G, values, per_class, seed)
    else:
        raise CondganError("--truncation measures conditional runs (classes or attributes)")
    result = {"source": str(source), "kind": "threshold" if kind == "z" else "psi", "seed": seed, "rows": rows}
    json_path, md_path = source / "eval-truncation.json", source / "eval-truncation.md"
    atomic_write_text(json_path, json.dumps(result, indent=2))
    atomic_write_text(md_path, table(result))
    return result, [json_path, md_path]


def table(result: dict) -> str:
    """The sweep as a Markdown table (columns: every figure the rows share)."""
    rows = result["rows"]
    columns = [k for k in rows[0] if k != "truncation" and all(k in r for r in rows)]
    head = "truncation (" + ("z threshold" if result["kind"] == "threshold" else "psi") + ")"
    lines = [f"| {head} | " + " | ".join(columns) + " |", "|" + " --- |" * (len(columns) + 1)]
    for r in rows:
        cut = "none" if r["truncation"] is None else f"{r['truncation']:g}"
        lines.append(f"| {cut} | " + " | ".join(_cell(r[c]) for c in columns) + " |")
    return "\n".join(lines) + "\n"


def _cell(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
