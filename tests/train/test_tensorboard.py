"""TensorBoard event files, read back with tensorboard's own reader: scalars, alarms, the grid,
hparams, and a resumed run that logs no step twice."""

import pytest

from tests.conftest import TINY
from tests.test_cli import condgan

event_accumulator = pytest.importorskip(
    "tensorboard.backend.event_processing.event_accumulator", reason="tensorboard is in the [dev] extra"
)


def _events(run):
    ea = event_accumulator.EventAccumulator(str(run / "tb"), size_guidance={"images": 0, "scalars": 0})
    ea.Reload()
    return ea


def test_scalars_grid_and_hparams(tmp_path):
    out = tmp_path / "run"
    common = [*TINY, "--set", "train.log_every=20", "--tensorboard", "--no-progress"]
    result = condgan("train", *common, "--steps", "60", "--out", out)
    assert result.returncode == 0, result.stderr
    ea = _events(out)
    tags = ea.Tags()
    for tag in ("loss/d_loss", "loss/g_loss", "D/D(x)", "D/D(G(z))", "speed/img/s", "health/g_grad_norm"):
        assert tag in tags["scalars"], tag
    assert [e.step for e in ea.Scalars("loss/d_loss")] == [20, 40, 60]
    assert "samples/grid" in tags["images"]
    grid = ea.Images("samples/grid")[-1]
    assert grid.step == 60 and grid.width > 8 * 28
    assert "_hparams_/experiment" in ea.PluginTagToContent("hparams")


def test_resume_after_a_kill_logs_no_step_twice(tmp_path):
    out = tmp_path / "run"
    common = [*TINY, "--set", "train.log_every=20", "--tensorboard", "--no-progress", "--checkpoint-every", "40"]
    killed = condgan("train", *common, "--steps", "100", "--out", out, env={"CONDGAN_FAULT": "kill@70"})
    assert killed.returncode != 0
    assert [e.step for e in _events(out).Scalars("loss/d_loss")] == [20, 40, 60]  # 60: after the checkpoint
    resumed = condgan("train", *common, "--steps", "100", "--out", out, "--resume")
    assert resumed.returncode == 0, resumed.stderr
    steps = [e.step for e in _events(out).Scalars("loss/d_loss")]
    assert steps == [20, 40, 60, 80, 100]  # 60 of the killed run is purged, logged once again


def test_alarms_and_rollbacks_become_events(tmp_path):
    out = tmp_path / "run"
    common = [*TINY, "--set", "train.log_every=10", "--tensorboard", "--no-progress"]
    result = condgan("train", *common, "--steps", "60", "--out", out, env={"CONDGAN_FAULT": "nan@25"})
    assert result.returncode == 0, result.stderr
    ea = _events(out)
    assert [e.step for e in ea.Scalars("health/alarm")] == [30]
    assert [e.step for e in ea.Scalars("health/rollback")] == [30]
    assert [e.step for e in ea.Scalars("loss/d_loss")] == [10, 20, 30, 40, 50, 60]  # the bad 30 is hidden
