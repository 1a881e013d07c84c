"""2-process data parallelism on CPU (gloo) through the real command line under torchrun."""

from __future__ import annotations

import subprocess
import sys

import pytest
import torch

from condgan.config import load_config
from condgan.train import Trainer
from condgan.train.checkpoint import load_checkpoint

# fp32: bf16 rounding would differ between a 16-image batch and two 8-image shards.
OPTIONS = {
    "model": {"name": "cdcgan", "width": 8},
    "loss": {"name": "wgan-gp"},
    "train": {"epochs": None, "batch_size": 16, "precision": "fp32", "n_critic": 2, "log_every": 1},
}
SETS = [
    "--set",
    "model.width=8",
    "--set",
    "loss.name=wgan-gp",
    "--set",
    "train.precision=fp32",
    "--set",
    "train.n_critic=2",
    "--set",
    "train.log_every=1",
    "--batch-size",
    "16",
]


def torchrun(*args: str) -> subprocess.CompletedProcess:
    """`torchrun --standalone --nproc_per_node=2 -m condgan train ...`; gloo is occasionally flaky
    at start-up on this machine, so one retry is allowed (and reported), never more."""
    cmd = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--standalone",
        "--nproc_per_node=2",
        "-m",
        "condgan",
        "train",
        *SETS,
        "--no-progress",
        *args,
    ]
    for attempt in range(2):
        result = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
        if result.returncode == 0:
            return result
        print(f"torchrun attempt {attempt + 1} failed:\n{result.stderr[-2000:]}")
    raise AssertionError(result.stderr[-4000:])


def single_process(tmp_path, steps: int, sync_bn: bool = False):
    options = {**OPTIONS, "train": {**OPTIONS["train"], "steps": steps, "sync_bn": sync_bn}}
    trainer = Trainer(load_config(None, [options]), tmp_path / f"single-{steps}", progress=False)
    trainer.fit()
    return trainer


def assert_same_weights(state: dict, trainer: Trainer, atol: float) -> None:
    for name in ("G", "D"):
        for key, value in getattr(trainer, name).state_dict().items():
            torch.testing.assert_close(state["nets"][name][key], value, rtol=0, atol=atol, msg=f"{name}.{key}")


@pytest.mark.parametrize("sync_bn", [True])
def test_two_processes_equal_one_process_on_the_global_batch_and_resume(tmp_path, sync_bn):
    out = tmp_path / "ddp"
    first = torchrun("--steps", "1", "--set", f"train.sync_bn={sync_bn}", "--out", str(out))
    assert "on 2 processes" in first.stdout and first.stdout.count("done:") == 1  # rank 0 speaks
    one = single_process(tmp_path, 1)
    assert_same_weights(load_checkpoint(out / "checkpoints" / "last.pt"), one, atol=1e-5)

    torchrun("--steps", "2", "--set", f"train.sync_bn={sync_bn}", "--out", str(out), "--resume")
    two = single_process(tmp_path, 2)
    state = load_checkpoint(out / "checkpoints" / "last.pt")
    assert state["step"] == 2
    assert_same_weights(state, two, atol=1e-5)
    rows = (out / "metrics.jsonl").read_text().splitlines()
    assert len(rows) == 2  # one writer: rank 0


def test_without_sync_bn_each_shard_normalises_itself(tmp_path):
    """The control: per-shard BatchNorm statistics make the step differ (G has BatchNorm)."""
    out = tmp_path / "ddp"
    torchrun("--steps", "1", "--out", str(out))
    one = single_process(tmp_path, 1)
    state = load_checkpoint(out / "checkpoints" / "last.pt")
    diffs = [
        (state["nets"]["G"][k] - v).abs().max().item() for k, v in one.G.state_dict().items() if v.is_floating_point()
    ]
    assert max(diffs) > 1e-5
