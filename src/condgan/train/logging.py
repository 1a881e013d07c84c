"""Training metrics: averaged on-device between log points (no per-step host sync),
appended to metrics.jsonl, plotted to losses.png."""

from __future__ import annotations

import json
import time
from pathlib import Path

import torch

from condgan.images import plot_lines


class MetricsLog:
    def __init__(self, path: Path, batch_size: int) -> None:
        self.path, self.batch_size = path, batch_size
        self._sums: dict[str, torch.Tensor] = {}
        self._count = 0
        self._since = time.perf_counter()

    def truncate_after(self, step: int) -> None:
        """On resume: drop lines logged after the checkpoint, they will be logged again."""
        if self.path.is_file():
            rows = [r for r in read_metrics(self.path) if r["step"] <= step]
            self.path.write_text("".join(json.dumps(r) + "\n" for r in rows))
        self._since = time.perf_counter()

    def add(self, values: dict[str, torch.Tensor]) -> None:
        for key, value in values.items():
            self._sums[key] = self._sums[key] + value if key in self._sums else value.clone()
        self._count += 1

    def write(self, row: dict) -> None:
        with self.path.open("a") as f:
            f.write(json.dumps(row) + "\n")

    def flush(self, step: int, **extra: float) -> dict[str, float]:
        """Write the averages since the last flush as one JSON line and return them."""
        if not self._count:
            return {}
        keys = list(self._sums)
        means = (torch.stack([self._sums[k] for k in keys]) / self._count).tolist()  # one sync
        now = time.perf_counter()
        row = {"step": step, **{k: round(v, 5) for k, v in zip(keys, means)}}
        row["img/s"] = round(self._count * self.batch_size / max(now - self._since, 1e-9), 1)
        row.update(extra)
        self.write(row)
        self._sums, self._count, self._since = {}, 0, now
        return row


def read_metrics(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def plot_losses(metrics_path: Path, run_dir: Path) -> None:
    """losses.png, and with evaluations during training eval_fid.png and eval_accuracy.png."""
    rows = read_metrics(metrics_path) if metrics_path.is_file() else []

    def series(*keys: str) -> dict[str, list[tuple[float, float]]]:
        return {k: [(r["step"], r[k]) for r in rows if k in r] for k in keys}

    plot_lines(series("d_loss", "g_loss", "D(x)", "D(G(z))"), run_dir / "losses.png", title="step")
    if any("eval/fid" in r for r in rows):
        plot_lines(series("eval/fid", "eval/intra_fid"), run_dir / "eval_fid.png", title="step")
        plot_lines(series("eval/cond_acc"), run_dir / "eval_accuracy.png", title="step")
