"""The thread count on a shared machine (condgan.threads): the choice, the reading of /proc/stat
and the governor's changes of mind — units, not timings."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import torch

from condgan import threads
from condgan.errors import CondganError


@pytest.fixture(autouse=True)
def _restore_threads(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.delenv("CONDGAN_THREADS", raising=False)
    yield
    torch.set_num_threads(before)


@pytest.mark.parametrize(
    ("available", "others", "expected"),
    [
        (2, 0.0, 2),  # alone: every core
        (2, 0.4, 2),  # a light background load: a full team is still faster
        (2, 0.6, 1),  # a busy process sharing a core with one of ours (CFS gives it ~2/3 of a core)
        (2, 1.0, 1),
        (2, 2.0, 1),  # never fewer than one
        (2, 4.0, 1),
        (8, 2.9, 5),
        (1, 0.0, 1),
    ],
)
def test_one_thread_per_core_the_others_leave_free(available, others, expected):
    assert threads.choose_threads(available, others) == expected


def test_busy_elsewhere_is_the_machine_minus_this_process():
    before = threads.Sample(machine_busy=100.0, own=10.0, wall=50.0)
    after = threads.Sample(machine_busy=104.0, own=12.0, wall=52.0)  # 4 s busy, 2 of them ours, in 2 s
    assert threads.busy_elsewhere(before, after) == pytest.approx(1.0)
    assert threads.busy_elsewhere(after, after) == 0.0
    assert threads.busy_elsewhere(before, threads.Sample(101.0, 12.0, 52.0)) == 0.0  # never below 0


def test_the_governor_changes_its_mind_and_says_so(monkeypatch):
    readings = iter(
        [
            threads.Sample(0.0, 0.0, 0.0),
            threads.Sample(20.0, 10.0, 10.0),  # others: 1.0 core -> 1 thread
            threads.Sample(21.0, 20.0, 20.0),  # others: 0.0 -> back to every core
        ]
    )
    monkeypatch.setattr(threads, "_torch_default", 8)  # torch's own count: the cap of every choice
    said = []
    gov = threads.Governor(said.append, every=5.0)
    gov.available, gov.threads, gov.last = 2, 2, next(readings)
    monkeypatch.setattr(threads, "sample", lambda: next(readings))
    monkeypatch.setattr(threads.time, "monotonic", lambda: 1.0)
    gov.tick()  # not yet time for a look: nothing read
    assert gov.changes == []
    monkeypatch.setattr(threads.time, "monotonic", lambda: 100.0)
    gov.tick()
    assert gov.changes == [(2, 1)] and torch.get_num_threads() == 1
    assert said == ["compute threads 2 -> 1 thread(s): other processes use 1.0 of 2 core(s)"]
    gov.tick()
    assert gov.changes == [(2, 1), (1, 2)] and torch.get_num_threads() == 2
    assert said[-1] == "compute threads 1 -> 2 thread(s): alone on 2 core(s)"


def test_a_fixed_count_is_never_rechosen(monkeypatch):
    monkeypatch.setenv("CONDGAN_THREADS", "1")
    said = []
    gov = threads.Governor(said.append, every=0.0)
    gov.start()
    assert torch.get_num_threads() == 1 and said == ["compute threads: 1 thread(s): fixed by CONDGAN_THREADS"]
    gov.tick()
    assert gov.changes == []
    monkeypatch.setenv("CONDGAN_THREADS", "two")
    with pytest.raises(CondganError, match="CONDGAN_THREADS must be a whole number"):
        threads.choose_now()


@pytest.mark.skipif(not threads.sample() or threads.cores() < 2, reason="needs /proc/stat and 2 cores")
def test_a_busy_process_is_seen_on_the_real_machine():
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        time.sleep(0.3)  # let it start
        choice = threads.choose_now(0.5)
    finally:
        busy.kill()
        busy.wait()
    assert choice is not None and choice.others >= 0.6 and choice.threads < choice.available
    assert torch.get_num_threads() == choice.threads


def test_a_bad_thread_count_is_one_line_on_the_command_line(tmp_path):
    env = {**os.environ, "CONDGAN_THREADS": "two"}
    result = subprocess.run(
        [sys.executable, "-m", "condgan", "eval", str(tmp_path / "none.npz")],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )
    assert (
        result.returncode == 2
        and result.stderr.strip() == "condgan: error: CONDGAN_THREADS must be a whole number 1..1024, got 'two'"
    )
