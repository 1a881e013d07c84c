"""Which evaluation a run gets: chosen by its dataset through a registry, else by its condition.

Class-conditional runs and samples files get the full report (condgan.metrics.report);
a several-factor dataset registers its own evaluator (coloured-mnist, emoji-people: per-factor
accuracy on seen and held-out combinations); a StarGAN run, its edits against the exact truth
(condgan.metrics.edits). Each evaluator writes its report files and returns the
headline figures as one JSON-able dict.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from condgan.conditions import Condition, translates
from condgan.errors import CondganError
from condgan.fileio import atomic_write_text
from condgan.metrics.report import beside, evaluate, report_files, report_prefix, run_data, summary
from condgan.models.storage import load_generator
from condgan.registry import Registry


@dataclass(frozen=True)
class EvalRequest:
    source: Path  # a run directory or a samples file
    dataset: str | None
    data_dir: str | None
    per_class: int
    seed: int
    full: bool
    inception_weights: str | None
    baseline: Path | None = None  # image-to-image: an L1-only run shown beside the model


Evaluator = Callable[[EvalRequest], tuple[dict, list[Path]]]  # -> (headline figures, files written)


def evaluate_classes(req: EvalRequest) -> tuple[dict, list[Path]]:
    result = evaluate(
        req.source,
        dataset=req.dataset,
        data_dir=req.data_dir,
        per_class=req.per_class,
        seed=req.seed,
        full=req.full,
        inception_weights=req.inception_weights,
    )
    return summary(result), report_files(report_prefix(req.source))


def evaluate_coloured_mnist(req: EvalRequest) -> tuple[dict, list[Path]]:
    from condgan.metrics.factors import coloured_mnist_report

    data = run_data(req.source)
    G, _ = load_generator(req.source)
    per_combo = max(1, req.per_class // 5)  # --per-class 1000 -> 200 per digit x colour combination
    result = coloured_mnist_report(G, data.get("holdout"), per_combo, req.seed, req.data_dir or data.get("data_dir"))
    atomic_write_text(req.source / "eval.json", json.dumps(result, indent=2))
    return {k: v for k, v in result.items() if k != "combos"}, [req.source / "eval.json"]


def evaluate_attributes(req: EvalRequest) -> tuple[dict, list[Path]]:
    from condgan.metrics.attributes import generation_report

    data = run_data(req.source)
    G, _ = load_generator(req.source)
    total = max(1, req.per_class) * 10  # --per-class 1000 -> 10,000 images over the seen combinations
    result = generation_report(
        G, data["dataset"], data.get("holdout"), total=total, seed=req.seed, img_size=data.get("img_size")
    )
    atomic_write_text(req.source / "eval.json", json.dumps(result, indent=2))
    return result, [req.source / "eval.json"]


def evaluate_images(req: EvalRequest) -> tuple[dict, list[Path]]:
    from condgan.metrics.translation import evaluate_translation
    from condgan.metrics.unpaired import evaluate_cycle
    from condgan.models.storage import directions

    two_way = req.source.is_dir() and len(directions(req.source)) > 1  # a CycleGAN run
    measure = evaluate_cycle if two_way else evaluate_translation
    result = measure(req.source, dataset=req.dataset, data_dir=req.data_dir, baseline=req.baseline)
    prefix = report_prefix(req.source)
    return result, [beside(prefix, ".json"), beside(prefix, ".md")]


def evaluate_edits(req: EvalRequest) -> tuple[dict, list[Path]]:
    from condgan.metrics.edits import evaluate_edits as measure

    if req.dataset or req.baseline:
        raise CondganError(
            "a StarGAN run is measured on its own dataset's held-out figures: drop --dataset / --baseline"
        )
    return measure(req.source, req.data_dir), [req.source / "eval.json", req.source / "eval.md"]


EVALUATORS: Registry[Evaluator] = Registry("evaluator")
EVALUATORS.add("coloured-mnist", evaluate_coloured_mnist)
EVALUATORS.add("emoji-people", evaluate_attributes)


def evaluator_for(source: Path, spec: Condition | None, translated: bool = False) -> Evaluator:
    """The evaluator of a run (image-to-image, its dataset's, else the class report) or of a
    samples file (`translated`: one written by condgan translate --split)."""
    if getattr(spec, "attributes", None) is not None:
        return evaluate_edits
    if translated or translates(spec):
        return evaluate_images
    if spec is None or spec.is_classes or not spec.factors:
        return evaluate_classes
    dataset = run_data(source).get("dataset")
    if dataset in EVALUATORS:
        return EVALUATORS.get(dataset)
    raise CondganError(
        f"no evaluator yet for the several-factor conditions of {dataset} "
        f"({spec.describe()}); sample it with condgan sample --attrs"
    )
