"""The run folder as a new user meets it: Ctrl-C, a second `condgan train` on the same folder,
sampling a run that is still training or was stopped, and what config.yaml records."""

import os
import signal
import subprocess
import sys
import time

import yaml

from tests.conftest import TINY
from tests.test_cli import assert_user_error, condgan


def start(out, *extra):
    cmd = [
        sys.executable,
        "-m",
        "condgan",
        "train",
        *TINY,
        "--epochs",
        "1",
        "--out",
        str(out),
        "--no-progress",
        "--set",
        "train.log_every=10",
        *extra,
    ]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def wait_for(path, timeout=120):
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert time.monotonic() < deadline, f"{path} did not appear"
        time.sleep(0.2)


def test_ctrl_c_in_the_first_epoch_leaves_a_resumable_sampleable_run(tmp_path):
    out = tmp_path / "run"
    proc = start(out)
    wait_for(out / "metrics.jsonl")  # training is under way, long before the first epoch ends
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    message = err.strip().splitlines()[-1]
    assert "interrupted by SIGINT at step" in message and f"condgan train --resume --out {out}" in message
    assert "Traceback" not in err
    sample = condgan("sample", out, "--label", "3", "--n", "4", "--out", tmp_path / "three.png")
    assert sample.returncode == 0, sample.stderr  # generator/ is current at every checkpoint
    step = int(message.split("at step ")[1].split(":")[0].replace(",", ""))
    resumed = condgan("train", "--resume", "--out", out, "--steps", str(step + 5), "--no-progress")
    assert resumed.returncode == 0, resumed.stderr


def test_a_second_writer_is_refused_until_the_first_dies(tmp_path):
    out = tmp_path / "run"
    first = start(out, "--checkpoint-every", "20")
    try:
        wait_for(out / "checkpoints" / "last.pt")
        second = condgan("train", "--resume", "--out", out, "--steps", "30", "--no-progress")
        assert_user_error(second, f"is being written by another condgan process (PID {first.pid})")
    finally:
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
    again = condgan("train", "--resume", "--out", out, "--steps", "60", "--no-progress")
    assert again.returncode == 0, again.stderr  # the kernel released the dead writer's lock


def test_config_yaml_records_the_version_and_what_it_resolved_to(tmp_path):
    result = condgan("train", *TINY, "--loss", "wgan-gp", "--steps", "2", "--out", tmp_path / "run", "--no-progress")
    assert result.returncode == 0, result.stderr
    meta = yaml.safe_load((tmp_path / "run" / "config.yaml").read_text())["condgan"]
    assert meta["version"] == "0.1.0" and meta["resolved"]["regularisers"] == {"gp": 10.0}
    assert meta["resolved"]["n_critic"] == 5 and meta["resolved"]["d_norm"] == "layer"
    assert meta["resolved"]["width"] == 8 and meta["resolved"]["condition"] == "10 classes"
    resumed = condgan("train", "--resume", "--out", tmp_path / "run", "--steps", "3", "--no-progress")
    assert resumed.returncode == 0, resumed.stderr  # the recorded section does not get in the way


def test_sample_grids_name_their_rows(tmp_path):
    import numpy as np
    from PIL import Image

    out = tmp_path / "run"
    assert condgan("train", *TINY, "--steps", "2", "--out", out, "--no-progress").returncode == 0
    plain, named = tmp_path / "plain.png", tmp_path / "named.png"
    assert condgan("sample", out, "--n", "3", "--scale", "1", "--no-labels", "--out", plain).returncode == 0
    assert condgan("sample", out, "--n", "3", "--scale", "1", "--out", named).returncode == 0
    a, b = np.asarray(Image.open(plain)), np.asarray(Image.open(named))
    margin = b.shape[1] - a.shape[1]
    assert margin > 0 and b.shape[0] == a.shape[0]
    assert np.array_equal(b[:, margin:], a)  # the same grid, with the class names left of it
    assert (b[:, :margin] > 128).sum() > 20  # text was drawn
