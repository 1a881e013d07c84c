"""Fault injection for tests and the fault drill: `CONDGAN_FAULT` names what goes wrong, and where.

    CONDGAN_FAULT=nan@500            after G update 500, G's weights become NaN (once per process)
    CONDGAN_FAULT=kill@500           SIGKILL right after G update 500
    CONDGAN_FAULT=kill@checkpoint    SIGKILL in the middle of the next checkpoint write (half a file on disk)
    CONDGAN_FAULT=kill@checkpoint:3  ... of the 3rd checkpoint write of this process
    CONDGAN_FAULT=kill@eval          SIGKILL in the middle of an evaluation during training
    CONDGAN_FAULT=enospc@checkpoint  the next checkpoint write fails as on a full disk

Several faults are separated by commas. Unset (the normal case), every hook is one dict lookup.
"""

from __future__ import annotations

import errno
import os
import signal
from pathlib import Path

from condgan.errors import CondganError

KINDS = ("nan", "kill", "enospc")
_counts: dict[str, int] = {}
_fired: set[str] = set()


def reset() -> None:
    """Re-arm every fault (a new Trainer: within one run a fault fires once, even after a rollback)."""
    _counts.clear()
    _fired.clear()


def _parse(text: str) -> list[tuple[str, str, int]]:
    """'kill@checkpoint:3,nan@500' -> [(kind, where, n)]: where is a step number or a point name."""
    faults = []
    for item in filter(None, (part.strip() for part in text.split(","))):
        kind, sep, where = item.partition("@")
        point, _, count = where.partition(":")
        if not sep or kind not in KINDS or not point or (count and not count.isdigit()):
            raise CondganError(
                f"CONDGAN_FAULT: expected KIND@STEP or KIND@POINT[:N] (kinds: {', '.join(KINDS)}), got {item!r}"
            )
        faults.append((kind, point, int(count or 1)))
    return faults


def _active() -> list[tuple[str, str, int]]:
    text = os.environ.get("CONDGAN_FAULT")
    return _parse(text) if text else []


def _kill() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def after_step(step: int) -> bool:
    """Called after each G update: True when the weights should be poisoned now (nan@STEP)."""
    for kind, where, _ in _active():
        key = f"{kind}@{where}"
        if where == str(step) and key not in _fired:
            _fired.add(key)
            if kind == "kill":
                _kill()
            if kind == "nan":
                return True
    return False


def at_point(name: str, tmp: Path | None = None) -> None:
    """Called in the middle of a write or an evaluation (`name`: checkpoint, eval, ...).

    A kill here leaves half of `tmp` written; enospc raises the error a full disk raises.
    """
    faults = [(k, n) for k, where, n in _active() if where == name]
    if not faults:
        return
    _counts[name] = _counts.get(name, 0) + 1
    for kind, n in faults:
        if _counts[name] != n:
            continue
        if kind == "kill":
            if tmp is not None and tmp.is_file():
                os.truncate(tmp, tmp.stat().st_size // 2)
            _kill()
        if kind == "enospc":
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(tmp or name))
