"""benchmarks/epoch_profile.py: a timed call's children are charged to their own part, not twice."""

import sys
import time
from pathlib import Path

import pytest

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


@pytest.fixture
def profile(monkeypatch):
    monkeypatch.syspath_prepend(str(BENCHMARKS))
    import epoch_profile

    yield epoch_profile
    sys.modules.pop("epoch_profile", None)


def test_nested_timers_are_exclusive(profile):
    timers = profile.Timers()
    inner = timers.wrap("backward", lambda: time.sleep(0.05))

    def step():
        time.sleep(0.02)
        inner()
        inner()

    timers.wrap("forward", step)()
    assert timers.calls == {"forward": 1, "backward": 2}
    assert timers.seconds["backward"] >= 0.1
    assert 0.02 <= timers.seconds["forward"] < 0.09  # its own sleep, without the children's 0.1 s


def test_a_failing_call_still_closes_its_timer(profile):
    timers = profile.Timers()

    def fails():
        raise ValueError("boom")

    with pytest.raises(ValueError):
        timers.wrap("data", fails)()
    assert timers.stack == [] and timers.calls["data"] == 1
