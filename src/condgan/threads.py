"""How many compute threads to use on a machine that other processes may share.

Each parallel region of a CPU step (a convolution, a matmul) waits for its slowest thread, and
a thread that shares its core with another busy process runs at half speed or less: beside one
busy process on 2 cores, 2 threads trained 4.2x slower than alone, 1 thread 1.7x
(docs/performance.md). So condgan measures how much CPU the *other* processes take — the
machine's busy time from /proc/stat minus this process's own CPU time, over an interval — and
uses one thread per core they leave free (at least one). Training re-measures every
`CHECK_SECONDS` and says in its log when it changes its mind; eval, sampling and the server
choose once at start. `train.threads` (or `--threads`), or CONDGAN_THREADS=N for every command,
fixes the count instead: a run whose thread count changes is not bit-for-bit reproducible (a
float sum split over other threads rounds differently), so the test suite fixes it.

Linux only (/proc/stat); elsewhere the library's default stays. torch is imported only to set
its count, so `condgan serve --onnx` chooses onnxruntime's threads without loading torch.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass

from condgan.errors import CondganError

CHECK_SECONDS = 10.0  # how often training re-measures the machine
FIRST_LOOK_SECONDS = 0.1  # the measurement before the first choice
_TICKS = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_torch_default: int | None = None  # torch's own count (one per physical core), before we change it


def _torch():
    global _torch_default
    import torch

    if _torch_default is None:
        _torch_default = torch.get_num_threads()
    return torch


def cores() -> int:
    """The cores this process may run on (its affinity; with torch loaded, at most torch's default)."""
    try:
        allowed = len(os.sched_getaffinity(0))
    except AttributeError:
        allowed = os.cpu_count() or 1
    if "torch" in sys.modules:
        _torch()
        allowed = min(allowed, _torch_default or allowed)
    return max(1, allowed)


def set_torch_threads(threads: int) -> None:
    torch = _torch()
    torch.set_num_threads(min(threads, _torch_default or threads))


def fixed() -> int | None:
    """The thread count CONDGAN_THREADS fixes, or None."""
    value = os.environ.get("CONDGAN_THREADS", "").strip()
    if not value:
        return None
    if not value.isdigit() or not 1 <= int(value) <= 1024:
        raise CondganError(f"CONDGAN_THREADS must be a whole number 1..1024, got {value!r}")
    return int(value)


@dataclass
class Sample:
    machine_busy: float  # seconds of CPU time the whole machine has spent busy
    own: float  # seconds of CPU time this process has used
    wall: float


def sample() -> Sample | None:
    """One reading of the machine's and this process's CPU time; None where /proc/stat is missing."""
    try:
        with open("/proc/stat") as f:
            fields = f.readline().split()
    except OSError:
        return None
    if not fields or fields[0] != "cpu":
        return None
    ticks = [int(v) for v in fields[1:]]
    idle = ticks[3] + (ticks[4] if len(ticks) > 4 else 0)  # idle + iowait
    # guest time is already counted in user / nice, so only the first 8 fields are summed
    busy = sum(ticks[:8]) - idle
    own = os.times()
    return Sample(busy / _TICKS, own.user + own.system, time.monotonic())


def busy_elsewhere(before: Sample, after: Sample) -> float:
    """Cores' worth of CPU the other processes used between two readings (>= 0)."""
    wall = after.wall - before.wall
    if wall <= 0:
        return 0.0
    others = (after.machine_busy - before.machine_busy) - (after.own - before.own)
    return max(0.0, others / wall)


def choose_threads(available: int, others: float) -> int:
    """One thread per core the other processes leave free, at least one: a core counts as taken
    when they use half of it or more (beside less, a full team of threads is still faster)."""
    taken = int(others + 0.5)
    return max(1, min(available, available - taken))


@dataclass(frozen=True)
class Choice:
    threads: int
    available: int
    others: float = 0.0
    by_hand: bool = False  # CONDGAN_THREADS

    @property
    def reason(self) -> str:
        if self.by_hand:
            return f"{self.threads} thread(s): fixed by CONDGAN_THREADS"
        if self.others < 0.5:
            return f"{self.threads} thread(s): alone on {self.available} core(s)"
        return f"{self.threads} thread(s): other processes use {self.others:.1f} of {self.available} core(s)"


def choose_now(seconds: float = FIRST_LOOK_SECONDS, apply: bool = True) -> Choice | None:
    """Look at the machine for `seconds` and (`apply`) set torch's thread count when it is to be
    fewer than every core or fixed by hand; None where the machine cannot be read (the library's
    default stays)."""
    by_hand = fixed()
    if by_hand is not None:
        if apply:
            _torch().set_num_threads(by_hand)
        return Choice(by_hand, cores(), by_hand=True)
    before = sample()
    if before is None:
        return None
    time.sleep(seconds)
    after = sample()
    if after is None:
        return None
    available, others = cores(), busy_elsewhere(before, after)
    choice = Choice(choose_threads(available, others), available, others)
    if apply and choice.threads < available:  # alone: the library's own default stays
        set_torch_threads(choice.threads)
    return choice


class Governor:
    """Training's thread count, re-chosen every `every` seconds from the CPU other processes used
    since the last look. `say` gets one line per change."""

    def __init__(self, say: Callable[[str], None], every: float = CHECK_SECONDS) -> None:
        self.say, self.every = say, every
        self.available = cores()
        self.threads = _torch().get_num_threads()
        self.last = sample()
        self.changes: list[tuple[int, int]] = []  # (from, to), for tests and the log

    def start(self) -> None:
        chosen = choose_now()
        if chosen is not None:
            if not chosen.by_hand:  # also back to every core, after an earlier training in this process
                set_torch_threads(chosen.threads)
            self.threads = chosen.threads
            self.say(f"compute threads: {chosen.reason}")
        self.last = None if chosen is None or chosen.by_hand else sample()  # by hand: never re-chosen

    def tick(self) -> None:
        """Cheap between looks (one clock read); a look reads /proc/stat once, without waiting."""
        if self.last is None or time.monotonic() - self.last.wall < self.every:
            return
        now = sample()
        if now is None:
            return
        others = busy_elsewhere(self.last, now)
        self.last = now
        threads = choose_threads(self.available, others)
        if threads != self.threads:
            set_torch_threads(threads)
            self.changes.append((self.threads, threads))
            self.say(f"compute threads {self.threads} -> {Choice(threads, self.available, others).reason}")
            self.threads = threads


if "torch" in sys.modules:  # remember torch's own count before anything in this process changes it
    _torch()
