"""The divergence guard: a non-finite loss, gradient or weight never reaches a checkpoint.

At every log interval (the one host sync there is) the trainer hands over the logged means
plus the generators' and discriminators' gradient norms and a sum of their weight norms (NaN / inf propagate into
it). A good interval is kept as an in-memory snapshot; a bad one rolls the run back to the
last good snapshot with both learning rates lowered (`train.on_diverge=rollback`, at most
`train.max_rollbacks` times) or stops it (`TrainingStopped`, exit 3) with the last good
checkpoint on disk untouched. The health watch's alarms go through here too.
"""

from __future__ import annotations

import math
import signal
import threading
from collections import deque
from typing import Any

import torch
from torch import nn

from condgan.errors import CondganError
from condgan.train.distributed import broadcast_from_main
from condgan.train.health import Alarm, HealthWatch

WATCHED = ("collapse", "d_wins", "vanishing", "ignores_label")  # what train.on_collapse acts on


class TrainingStopped(CondganError):
    """Training was stopped by its guard or watch (not a user error: exit 3)."""


class Interrupted(CondganError):
    """Ctrl-C or SIGTERM: the run saved a checkpoint and stopped (exit 130)."""


class StopSignals:
    """While active, SIGINT and SIGTERM only set `signal` (the loop then saves and stops) instead of
    killing the run mid-step; the previous handlers come back on exit. The main thread only."""

    def __init__(self) -> None:
        self.signal: int | None = None
        self._previous: dict[int, object] = {}

    def _handle(self, signum, frame) -> None:
        self.signal = signum

    def __enter__(self) -> StopSignals:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)
        return self

    def __exit__(self, *exc) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


def clone_state(state: Any) -> Any:
    """A deep copy of a state dict's tensors (optimiser states hold references to live tensors)."""
    if isinstance(state, torch.Tensor):
        return state.detach().clone()
    if isinstance(state, dict):
        return {k: clone_state(v) for k, v in state.items()}
    if isinstance(state, (list, tuple)):
        return type(state)(clone_state(v) for v in state)
    return state


def _norm(tensors: list[torch.Tensor]) -> torch.Tensor:
    return torch.stack(torch._foreach_norm(tensors)).norm() if tensors else torch.zeros(())


def health_tensors(roles: dict[str, list[nn.Module]]) -> dict[str, torch.Tensor]:
    """The generators' (role "g") and the discriminators' ("d") last gradient norms and the norm
    of all their weights, still on the device."""
    grads = {
        role: [p.grad for net in nets for p in net.parameters() if p.grad is not None] for role, nets in roles.items()
    }
    weights = [p.detach() for nets in roles.values() for net in nets for p in net.parameters()]
    return {"g_grad_norm": _norm(grads["g"]), "d_grad_norm": _norm(grads["d"]), "weight_norm": _norm(weights)}


def weights_finite(*nets: nn.Module) -> bool:
    """All the networks' weights finite (one host sync; no gradients read)."""
    return bool(torch.isfinite(_norm([p.detach() for net in nets for p in net.parameters()])))


def non_finite(row: dict[str, Any]) -> list[str]:
    return [k for k, v in row.items() if isinstance(v, float) and not math.isfinite(v)]


class Guard:
    """Snapshots, rollbacks and alarms of one run; `trainer` supplies state_dict / load_state_dict."""

    def __init__(self, trainer, watch: HealthWatch, say) -> None:
        t = trainer.config.train
        self.trainer, self.watch, self.say, self.t = trainer, watch, say, t
        self.snapshots: deque[dict] = deque(maxlen=watch.window + 1)  # the oldest: before a window of alarms
        self.rollbacks, self.lr_scale = 0, 1.0

    def after_log(self, bar) -> bool:
        """The log interval's row, the guard and the watch (every rank decides alike: rank 0's
        verdict is broadcast); True when the run was rolled back."""
        tr = self.trainer
        step, main = tr.step, tr.dist.is_main
        tensors = health_tensors(tr.roles)
        row = tr.log.flush(step, tensors, write=False, epoch=round(step / tr.steps_per_epoch, 3))
        bad = non_finite(row) if main else []
        alarms = []
        if main and not bad and self.t.watch:
            probe = tr.probe(tr.G) if tr.probe else None  # the live G: an EMA lags behind
            row |= probe or {}
            alarms = self.watch.observe(step, row, probe)
        bad, alarms = broadcast_from_main((bad, alarms), tr.dist)
        if bad:
            self.diverged(step, bad)
            return True
        if main:
            tr.log.write(row)
            bar.set_postfix({k: f"{row[k]:.3g}" for k in ("d_loss", "g_loss", "D(x)", "D(G(z))") if k in row})
        if self.alarms(alarms):
            return True
        self.remember()
        return False

    def remember(self) -> None:
        self.snapshots.append(clone_state(self.trainer.state_dict()))

    def diverged(self, step: int, bad: list[str]) -> None:
        """Handle a non-finite interval: alarm row, then roll back or stop."""
        alarm = self.watch.non_finite(step, bad)
        self._report(alarm)
        if self.t.on_diverge == "stop" or self.rollbacks >= self.t.max_rollbacks or not self.snapshots:
            why = "train.on_diverge=stop" if self.t.on_diverge == "stop" else f"{self.rollbacks} rollbacks"
            raise TrainingStopped(
                f"{alarm.message} ({why}); the last good checkpoint is {self.trainer.checkpoint_path} (not overwritten)"
            )
        self.rollback(self.snapshots[-1], alarm)

    def alarms(self, fired: list[Alarm]) -> bool:
        """Report the watch's alarms; True when the run was rolled back because of one."""
        for alarm in fired:
            self._report(alarm)
        acted = [a for a in fired if a.kind in WATCHED]
        if not acted or self.t.on_collapse == "warn":
            return False
        if self.t.on_collapse == "stop" or self.rollbacks >= self.t.max_rollbacks:
            raise TrainingStopped(
                f"{acted[0].message} (train.on_collapse={self.t.on_collapse}, {self.rollbacks} rollbacks)"
            )
        self.rollback(self.snapshots[0], acted[0])
        return True

    def rollback(self, snapshot: dict, alarm: Alarm) -> None:
        trainer, from_step = self.trainer, self.trainer.step
        trainer.load_state_dict(clone_state(snapshot))
        self.rollbacks += 1
        self.lr_scale *= self.t.rollback_lr_factor
        trainer.set_learning_rates()
        main = trainer.dist.is_main  # every rank rolls back alike; rank 0 alone writes
        if main:
            trainer.log.truncate_after(trainer.step, keep_events=True)
            if trainer.tb is not None:
                trainer.tb.restart(trainer.step)  # TensorBoard hides the steps being trained again
        self.snapshots = deque([s for s in self.snapshots if s["step"] <= trainer.step], maxlen=self.snapshots.maxlen)
        row = {
            "step": from_step,
            "rollback": self.rollbacks,
            "to_step": trainer.step,
            "cause": alarm.kind,
            "lr_scale": self.lr_scale,
        }
        if main:
            trainer.log.write(row)
        self.say(
            f"rolled back from step {from_step:,} to {trainer.step:,} ({alarm.kind}); learning rates "
            f"x{self.lr_scale:g} (rollback {self.rollbacks} of at most {self.t.max_rollbacks})"
        )

    def _report(self, alarm: Alarm) -> None:
        if self.trainer.dist.is_main:
            self.trainer.log.write(alarm.row())
        self.say(f"alarm at step {alarm.step:,}: {alarm.message}")

    def state(self) -> dict:
        return {"rollbacks": self.rollbacks, "lr_scale": self.lr_scale}

    def load(self, state: dict) -> None:
        self.rollbacks, self.lr_scale = int(state.get("rollbacks", 0)), float(state.get("lr_scale", 1.0))
