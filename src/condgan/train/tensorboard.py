"""TensorBoard logging of a run (the `[tensorboard]` extra; `train.tensorboard: true` or
`condgan train --tensorboard`), under RUN/tb/:

- every metrics.jsonl row as scalars: `loss/d_loss`, `loss/g_loss`, `D/D(x)`, `D/D(G(z))`,
  `speed/img/s`, `eval/fid` ..., `health/diversity_ratio` ...;
- each health alarm as text (`health/alarms`, the sentence the progress bar prints) and a
  `health/alarm` scalar of 1 at its step; rollbacks as `health/rollback`;
- the per-epoch grid as the image `samples/grid`;
- the resolved config as hparams (and as text).

A resumed run (or one rolled back) starts a new writer whose `purge_step` is the step after the
one it goes on from: TensorBoard hides what the first attempt logged beyond it (as metrics.jsonl
is cut back), so no step appears twice; the alarm that caused a rollback is logged again after it.
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np

from condgan.errors import CondganError

GROUPS = {"d_loss": "loss", "g_loss": "loss", "D(x)": "D", "D(G(z))": "D", "img/s": "speed", "epoch": "progress"}
SKIP = {"step", "message", "alarm", "best"}


def _flat(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict):
            out |= _flat(value, f"{prefix}{key}.")
        else:
            out[f"{prefix}{key}"] = value if isinstance(value, (int, float, str, bool)) else str(value)
    return out


def tag_of(key: str) -> str:
    if "/" in key and not key.startswith("img/"):
        return key  # eval/fid ...
    health = key.endswith(("_ratio", "_norm")) or key in ("diversity", "label_effect")
    group = GROUPS.get(key) or ("health" if health else "train")
    return f"{group}/{key}"


class TensorBoardLog:
    def __init__(self, run_dir: Path, config: dict[str, Any], start_step: int = 0) -> None:
        try:
            from torch.utils.tensorboard import SummaryWriter
        except ImportError:
            raise CondganError("tensorboard is not installed: pip install 'condgan[tensorboard]'") from None
        self._writer_class, self.folder = SummaryWriter, run_dir / "tb"
        self.writer = self._new_writer(start_step + 1 if start_step else None)
        self._events: list[dict[str, Any]] = []  # recent alarm / rollback rows, kept across a rollback
        if not start_step:
            self._hparams(config)

    def _new_writer(self, purge_step: int | None):
        """A writer whose event file sorts after every file already there: TensorBoard reads them in
        name order, and a name starts with the second it was made (then host and PID), so a writer
        made in the same second as an earlier one (a quick resume) waits for the next second."""
        stamps = [
            int(p.name.split(".")[3]) for p in self.folder.glob("events.out.tfevents.*") if len(p.name.split(".")) > 3
        ]
        wait = max(stamps, default=0) + 1 - time.time()
        if wait > 0:
            time.sleep(wait)
        return self._writer_class(str(self.folder), purge_step=purge_step)

    def _hparams(self, config: dict[str, Any]) -> None:
        from torch.utils.tensorboard.summary import hparams

        flat = {k: v for k, v in _flat(config).items() if v is not None}
        for summary in hparams(flat, {"eval/fid": float("nan")}):
            self.writer.file_writer.add_summary(summary)
        import yaml

        self.writer.add_text("config", "```\n" + yaml.safe_dump(config, sort_keys=False) + "```", 0)

    def restart(self, step: int) -> None:
        """A rollback to `step`: what was logged after it is hidden (a new writer purging it),
        except the alarms and rollbacks, which happened."""
        self.writer.close()
        self.writer = self._new_writer(step + 1)
        for row in [r for r in self._events if r["step"] > step]:
            self._event(row)

    def _event(self, row: dict[str, Any]) -> None:
        step = int(row["step"])
        if "alarm" in row:
            self.writer.add_text("health/alarms", f"{row['alarm']}: {row.get('message', '')}", step)
            self.writer.add_scalar("health/alarm", 1.0, step)
        else:
            self.writer.add_scalar("health/rollback", float(row["rollback"]), step)

    def row(self, row: dict[str, Any]) -> None:
        if "alarm" in row or "rollback" in row:
            self._events = [*self._events[-99:], row]
            self._event(row)
            return
        step = int(row.get("step", 0))
        for key, value in row.items():
            if key not in SKIP and isinstance(value, (int, float)) and not isinstance(value, bool):
                self.writer.add_scalar(tag_of(key), float(value), step)

    def image(self, picture: np.ndarray, step: int) -> None:
        """A uint8 (H, W) or (H, W, 3) picture (the sample grid)."""
        self.writer.add_image("samples/grid", picture, step, dataformats="HW" if picture.ndim == 2 else "HWC")

    def close(self) -> None:
        self.writer.close()
