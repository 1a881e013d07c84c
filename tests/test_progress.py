"""Progress bars: an ETA on a terminal (a real pseudo-terminal here), none in a pipe or under --quiet."""

import fcntl
import os
import pty
import struct
import subprocess
import sys
import termios

import pytest


def run_on_terminal(args: list[str]) -> tuple[int, str]:
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 120, 0, 0))  # a new pty is 0 columns wide
    proc = subprocess.Popen([sys.executable, "-m", "condgan", *args], stdout=follower, stderr=follower)
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 4096)
        except OSError:  # the terminal closed: the command is done
            break
        if not data:
            break
        chunks.append(data)
    os.close(leader)
    return proc.wait(), b"".join(chunks).decode(errors="replace")


@pytest.mark.parametrize("quiet", [False, True])
def test_sampling_many_images_shows_an_eta_on_a_terminal_only(tiny_run, tmp_path, quiet):
    args = ["sample", str(tiny_run), "--per-class", "300", "--out", str(tmp_path / "x.npz")]
    rc, text = run_on_terminal(args + (["--quiet"] if quiet else []))
    assert rc == 0, text
    assert "wrote 3000 images" in text
    shown = "generating:" in text and "img/s" in text and "<" in text  # tqdm's [elapsed<remaining, rate]
    assert shown is not quiet, text


def test_no_bar_in_a_pipe(tiny_run, tmp_path):
    args = ["sample", str(tiny_run), "--per-class", "300", "--out", str(tmp_path / "x.npz")]
    result = subprocess.run([sys.executable, "-m", "condgan", *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "generating" not in result.stderr + result.stdout


def test_training_shows_no_bar_in_a_pipe(tmp_path):
    args = ["train", "--steps", "3", "--batch-size", "16", "--set", "model.width=8", "--out", str(tmp_path / "run")]
    result = subprocess.run([sys.executable, "-m", "condgan", *args], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "step/s" not in result.stderr + result.stdout and "done:" in result.stdout


def test_writing_a_folder_shows_its_bar(tiny_run, tmp_path):
    rc, text = run_on_terminal(["sample", str(tiny_run), "--per-class", "50", "--out", str(tmp_path / "dir")])
    assert rc == 0, text
    assert "writing PNGs" in text
