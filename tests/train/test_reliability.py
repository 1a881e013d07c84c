"""The divergence guard, fault points and the run folder's crash safety, with real runs."""

import os
import signal

import numpy as np
import pytest
import torch

from condgan.config import load_config
from condgan.errors import CondganError
from condgan.models.storage import load_generator
from condgan.train import Trainer
from condgan.train.checkpoint import load_checkpoint
from condgan.train.guard import TrainingStopped
from condgan.train.logging import MetricsLog, read_metrics
from tests.conftest import TINY
from tests.test_cli import assert_user_error, condgan


def tiny(steps=10, **train):
    options = {"epochs": None, "steps": steps, "batch_size": 16, "log_every": 2, **train}
    return load_config(None, [{"model": {"width": 8}, "train": options}])


def rows(run):
    return read_metrics(run / "metrics.jsonl")


def test_an_injected_nan_is_rolled_back_and_the_run_finishes(tmp_path, monkeypatch):
    monkeypatch.setenv("CONDGAN_FAULT", "nan@5")
    trainer = Trainer(tiny(steps=12), tmp_path / "run", progress=False)
    trainer.fit()
    log = rows(tmp_path / "run")
    alarm = next(r for r in log if r.get("alarm") == "nan")
    rollback = next(r for r in log if "rollback" in r)
    assert alarm["step"] == 6 and rollback == {"step": 6, "rollback": 1, "to_step": 4, "cause": "nan", "lr_scale": 0.5}
    assert trainer.step == 12 and trainer.opt_G.param_groups[0]["lr"] == pytest.approx(1e-4)
    G, _ = load_generator(tmp_path / "run")
    assert all(torch.isfinite(p).all() for p in G.parameters())
    state = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    assert state["guard"] == {"rollbacks": 1, "lr_scale": 0.5}
    steps = [r["step"] for r in log if "d_loss" in r]
    assert steps == sorted(steps) and steps[-1] == 12  # the retrained steps replace the bad interval


def test_divergence_stops_without_touching_the_last_good_checkpoint(tmp_path, monkeypatch):
    Trainer(tiny(steps=4), tmp_path / "run", progress=False).fit()
    before = (tmp_path / "run" / "checkpoints" / "last.pt").read_bytes()
    monkeypatch.setenv("CONDGAN_FAULT", "nan@5")
    resumed = Trainer(tiny(steps=10, on_diverge="stop"), tmp_path / "run", resume=True, progress=False)
    with pytest.raises(TrainingStopped, match=r"training diverged: .* not finite at step 6 \(train.on_diverge=stop\)"):
        resumed.fit()
    assert (tmp_path / "run" / "checkpoints" / "last.pt").read_bytes() == before


def test_too_many_rollbacks_stop_with_exit_3(tmp_path):
    result = condgan(
        "train",
        *TINY,
        "--steps",
        "8",
        "--set",
        "train.log_every=2",
        "--set",
        "train.max_rollbacks=0",
        "--out",
        tmp_path / "r",
        "--no-progress",
        env={"CONDGAN_FAULT": "nan@3"},
    )
    assert result.returncode == 3 and "Traceback" not in result.stderr
    assert "training diverged" in result.stderr.strip().splitlines()[-1]
    assert not (tmp_path / "r" / "generator").exists()  # nothing non-finite was ever written


def test_a_kill_in_the_middle_of_a_checkpoint_write_loses_nothing_but_the_interval(tmp_path):
    args = [*TINY, "--steps", "12", "--checkpoint-every", "4", "--set", "train.log_every=2", "--no-progress"]
    killed = condgan("train", *args, "--out", tmp_path / "run", env={"CONDGAN_FAULT": "kill@checkpoint:3"})
    assert killed.returncode == -signal.SIGKILL
    stale = list((tmp_path / "run" / "checkpoints").glob(".*.tmp"))
    assert stale and load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")["step"] == 4
    resumed = condgan("train", "--resume", "--out", tmp_path / "run", "--steps", "12", "--no-progress")
    assert resumed.returncode == 0, resumed.stderr
    assert not list((tmp_path / "run").rglob(".*.tmp"))  # the killed write's temporary is cleaned
    whole = condgan("train", *args, "--out", tmp_path / "whole")
    assert whole.returncode == 0, whole.stderr
    a = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")
    b = load_checkpoint(tmp_path / "whole" / "checkpoints" / "last.pt")
    for key, value in b["nets"]["G"].items():
        assert torch.equal(value, a["nets"]["G"][key]), key


def test_a_full_disk_is_one_line_and_the_previous_checkpoint_stays(tmp_path):
    args = [*TINY, "--steps", "8", "--checkpoint-every", "4", "--no-progress", "--out", tmp_path / "run"]
    result = condgan("train", *args, env={"CONDGAN_FAULT": "enospc@checkpoint:3"})
    assert_user_error(result, "no space left on")
    assert load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")["step"] == 4


@pytest.fixture
def small_disk(tmp_path):
    """A real 3 MiB tmpfs (needs the right to mount: root here, else skipped)."""
    import subprocess

    folder = tmp_path / "small"
    folder.mkdir()
    if subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(folder)], capture_output=True).returncode:
        pytest.skip("mounting a tmpfs is not permitted here")
    yield folder
    subprocess.run(["umount", str(folder)], check=False)


def test_a_really_full_disk_is_one_line_too(small_disk):
    # torch.save's error on a full disk is a RuntimeError without errno ("unexpected pos"): the
    # drill found it as a 41-line traceback
    args = [*TINY, "--steps", "400", "--checkpoint-every", "10", "--no-progress", "--out", small_disk / "run"]
    result = condgan("train", *args, "--set", "train.keep_checkpoints=null")
    assert result.returncode != 0 and "Traceback" not in result.stderr, result.stderr[-2000:]
    assert len(result.stderr.strip().splitlines()) == 1 and "no space left on" in result.stderr
    assert load_checkpoint(small_disk / "run" / "checkpoints" / "last.pt")["step"] > 0


def test_a_torn_metrics_line_is_trimmed_on_resume(tmp_path):
    Trainer(tiny(steps=4), tmp_path / "run", progress=False).fit()
    with (tmp_path / "run" / "metrics.jsonl").open("a") as f:
        f.write('{"step": 6, "d_lo')  # a full disk cut this row
    Trainer(tiny(steps=6), tmp_path / "run", resume=True, progress=False).fit()
    assert [r["step"] for r in rows(tmp_path / "run")] == [2, 4, 6]
    log = MetricsLog(tmp_path / "m.jsonl", 16)
    (tmp_path / "m.jsonl").write_text('{"step": 1}\nnot json\n{"step": 3}\n')
    with pytest.raises(CondganError, match="line 2 is not JSON"):
        log.truncate_after(5)


def test_generator_folder_is_replaced_as_one_unit(tmp_path):
    run = Trainer(tiny(steps=2), tmp_path / "run", progress=False).fit()
    (run / "generator").rename(run / ".generator.old")  # a kill between write_dir's two renames
    _, condition = load_generator(run)
    assert (run / "generator" / "config.json").is_file() and condition.dim == 10


def test_a_folder_with_another_runs_generator_is_refused(tmp_path):
    run = Trainer(tiny(steps=2), tmp_path / "run", progress=False).fit()
    (run / "checkpoints" / "last.pt").unlink()
    with pytest.raises(CondganError, match="holds generator of another run"):
        Trainer(tiny(steps=2), run, progress=False)


def test_periodic_checkpoints_are_pruned(tmp_path):
    run = Trainer(tiny(steps=10, checkpoint_every=2, keep_checkpoints=2), tmp_path / "run", progress=False).fit()
    assert sorted(p.name for p in (run / "checkpoints").glob("step_*.pt")) == ["step_0000008.pt", "step_0000010.pt"]


def test_non_finite_generators_are_refused(tmp_path):
    from safetensors.torch import load_file, save_file

    run = Trainer(tiny(steps=2), tmp_path / "run", progress=False).fit()
    weights = load_file(run / "generator" / "model.safetensors")
    first = next(k for k, v in weights.items() if v.is_floating_point())
    weights[first] = torch.full_like(weights[first], float("nan"))
    save_file(weights, run / "generator" / "model.safetensors")
    for command in (
        ["sample", run, "--label", "1", "--out", tmp_path / "x.png"],
        ["export", run, "--out", tmp_path / "g.onnx"],
    ):
        assert_user_error(condgan(*command), "weights are not finite")


def test_resume_takes_the_original_command_and_names_a_conflict(tmp_path):
    first = condgan("train", *TINY, "--steps", "2", "--out", tmp_path / "run", "--no-progress")
    assert first.returncode == 0, first.stderr
    again = condgan(
        "train",
        "--config",
        "mnist-cdcgan",
        *TINY,
        "--steps",
        "4",
        "--resume",
        "--out",
        tmp_path / "run",
        "--no-progress",
    )
    assert again.returncode == 0, again.stderr
    assert_user_error(
        condgan(
            "train",
            "--config",
            "mnist-cgan-mlp",
            *TINY,
            "--steps",
            "6",
            "--resume",
            "--out",
            tmp_path / "run",
            "--no-progress",
        ),
        "model.name was 'cdcgan', --config gives 'cgan-mlp'",
    )


def test_the_seed_recipe_is_caught_within_its_first_epoch(tmp_path):
    """The tutorial's own Keras recipe collapses; the watch says so in words, and writes the rows."""
    result = condgan(
        "train", "--config", "mnist-cgan-mlp-seed", "--epochs", "1", "--out", tmp_path / "seed", "--no-progress"
    )
    assert result.returncode == 0, result.stderr
    assert "G ignores the label" in result.stdout or "mode collapse" in result.stdout
    kinds = {r["alarm"] for r in rows(tmp_path / "seed") if "alarm" in r}
    assert kinds & {"collapse", "ignores_label", "d_wins"}
    assert (tmp_path / "seed" / "health.png").is_file()


def test_fault_spec_errors():
    from condgan import faults

    with pytest.raises(CondganError, match="CONDGAN_FAULT: expected KIND@STEP"):
        faults._parse("boom@3")
    assert faults._parse("kill@checkpoint:2,nan@5") == [("kill", "checkpoint", 2), ("nan", "5", 1)]
    assert os.environ.get("CONDGAN_FAULT") is None and not np.any([faults.after_step(s) for s in range(5)])
