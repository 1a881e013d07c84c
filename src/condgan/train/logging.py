"""Training metrics: averaged on-device between log points (no per-step host sync),
appended to metrics.jsonl, plotted to losses.png."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

import torch

from condgan.errors import CondganError
from condgan.fileio import atomic_write_text


class MetricsLog:
    def __init__(self, path: Path, batch_size: int) -> None:
        self.path, self.batch_size = path, batch_size
        self._sums: dict[str, torch.Tensor] = {}
        self._counts: dict[str, int] = {}  # per key: a lazy regulariser's term is there on some steps only
        self._count = 0
        self._since = time.perf_counter()
        self.sink: Callable[[dict], None] | None = None  # also given every row (TensorBoard)

    def truncate_after(self, step: int, keep_events: bool = False) -> None:
        """Drop lines logged after `step` (on resume they will be logged again; after a rollback
        the steps are trained again, and `keep_events` keeps the alarm and rollback rows).

        The file is replaced atomically: a kill meanwhile leaves the old one whole.
        """
        if self.path.is_file():
            events = ("alarm", "rollback") if keep_events else ()
            rows = [r for r in read_metrics(self.path) if r["step"] <= step or any(k in r for k in events)]
            atomic_write_text(self.path, "".join(json.dumps(r) + "\n" for r in rows))
        self._sums, self._counts, self._count, self._since = {}, {}, 0, time.perf_counter()

    def add(self, values: dict[str, torch.Tensor]) -> None:
        for key, value in values.items():
            self._sums[key] = self._sums[key] + value if key in self._sums else value.clone()
            self._counts[key] = self._counts.get(key, 0) + 1
        self._count += 1

    def write(self, row: dict) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")
        if self.sink is not None:
            self.sink(row)

    def flush(
        self, step: int, tensors: dict[str, torch.Tensor] | None = None, write: bool = True, **extra: float
    ) -> dict[str, float]:
        """The averages since the last flush, plus `tensors` (scalars read in the same host sync),
        as one row: written as a JSON line unless `write` is False; returned."""
        if not self._count:
            return {}
        keys, tensors = list(self._sums), tensors or {}
        values = [self._sums[k] / self._counts[k] for k in keys] + [t.float() for t in tensors.values()]
        means = torch.stack(values).tolist()  # one sync
        now = time.perf_counter()
        row = {"step": step, **{k: round(v, 5) for k, v in zip([*keys, *tensors], means)}}
        row["img/s"] = round(self._count * self.batch_size / max(now - self._since, 1e-9), 1)
        row.update(extra)
        if write:
            self.write(row)
        self._sums, self._counts, self._count, self._since = {}, {}, 0, now
        return row


def read_metrics(path: Path) -> list[dict]:
    """The rows of metrics.jsonl; a torn last line (a kill or a full disk mid-write) is skipped."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    rows = []
    for i, line in enumerate(lines):
        try:
            rows.append(json.loads(line))
        except ValueError:
            if i == len(lines) - 1:
                break
            raise CondganError(f"{path} line {i + 1} is not JSON: the metrics log is damaged") from None
    return rows


def plot_losses(metrics_path: Path, run_dir: Path) -> None:
    """losses.png, health.png and (with evaluations during training) eval_fid.png / eval_accuracy.png."""
    from condgan.train.plots import plot_run

    plot_run(read_metrics(metrics_path) if metrics_path.is_file() else [], run_dir)
