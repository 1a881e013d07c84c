"""The run's pictures from metrics.jsonl, drawn with matplotlib (Agg, no display needed):
losses.png (losses, D's outputs, evaluations, health, one panel each), health.png, and with
--eval-every eval_fid.png and eval_accuracy.png."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from condgan.fileio import atomic_write

SMOOTH = 0.8  # exponential smoothing of noisy curves (the raw curve is drawn faintly behind)


def _smooth(values: np.ndarray) -> np.ndarray:
    out, level = np.empty_like(values), values[0]
    for i, v in enumerate(values):
        level = SMOOTH * level + (1 - SMOOTH) * v
        out[i] = level
    return out


def _series(rows: list[dict], key: str) -> tuple[np.ndarray, np.ndarray]:
    points = [(r["step"], r[key]) for r in rows if isinstance(r.get(key), (int, float))]
    return (np.array([p[0] for p in points]), np.array([p[1] for p in points], dtype=float)) if points else ([], [])


def _panel(ax, rows: list[dict], keys: tuple[str, ...], title: str, smooth: bool = False) -> bool:
    drawn = False
    for key in keys:
        x, y = _series(rows, key)
        if len(x) == 0:
            continue
        if smooth and len(x) > 3:
            (line,) = ax.plot(x, y, alpha=0.25, linewidth=1)
            ax.plot(x, _smooth(y), color=line.get_color(), label=key, linewidth=1.8)
        else:
            ax.plot(x, y, label=key, linewidth=1.8, marker="o" if len(x) < 20 else None, markersize=3)
        drawn = True
    for row in rows:
        if "alarm" in row:
            ax.axvline(row["step"], color="tab:red", alpha=0.5, linewidth=1)
        if "rollback" in row:
            ax.axvline(row["to_step"], color="tab:purple", alpha=0.5, linewidth=1, linestyle="--")
    ax.set_title(title, fontsize=10)
    ax.grid(alpha=0.3)
    if drawn:
        ax.legend(fontsize=8, loc="best")
    return drawn


PANELS = (  # (keys, title, smoothed)
    (("d_loss", "g_loss"), "losses", True),
    (("D(x)", "D(G(z))"), "D's mean output (probability for BCE, score for critics)", True),
    (("eval/fid", "eval/intra_fid"), "evaluation: FID, intra-FID (lower is better)", False),
    (("eval/cond_acc",), "evaluation: conditional accuracy", False),
    (("diversity_ratio", "label_ratio"), "health: G's diversity and label effect / real data's (red: alarms)", False),
)


def _figure(rows: list[dict], panels, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    present = [p for p in panels if any(k in r for r in rows for k in p[0])]
    if not present:
        return
    fig, axes = plt.subplots(len(present), 1, figsize=(8, 2.6 * len(present)), sharex=True, squeeze=False)
    for ax, (keys, title, smooth) in zip(axes[:, 0], present):
        _panel(ax, rows, keys, title, smooth)
    axes[-1, 0].set_xlabel("step (G updates)")
    fig.tight_layout()
    atomic_write(path, lambda tmp: fig.savefig(tmp, dpi=90, format="png"))
    plt.close(fig)


def plot_run(rows: list[dict], run_dir: Path) -> None:
    _figure(rows, PANELS, run_dir / "losses.png")
    if any("diversity_ratio" in r or "alarm" in r for r in rows):
        _figure(rows, PANELS[-1:], run_dir / "health.png")
    if any("eval/fid" in r for r in rows):
        _figure(rows, PANELS[2:3], run_dir / "eval_fid.png")
        _figure(rows, PANELS[3:4], run_dir / "eval_accuracy.png")
