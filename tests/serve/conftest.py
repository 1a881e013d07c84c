"""A tiny trained run, its ONNX export, and real `condgan serve` processes on 127.0.0.1."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, timeout: float = 30) -> tuple[int, str, bytes]:
    """(status, content type, body) of a GET, 4xx/5xx included."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), err.read()


def error_of(url: str) -> tuple[int, str]:
    status, kind, body = get(url)
    assert kind.startswith("application/json"), (status, kind)
    return status, json.loads(body)["error"]


class Server:
    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "condgan", "serve", *args, "--port", str(self.port)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"condgan serve exited: {self.process.stderr.read()}")
            try:
                if get(self.url + "/healthz", timeout=2)[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError("condgan serve did not start in 60 s")

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


@pytest.fixture(scope="session", params=["pytorch", "onnx"])
def server(request, tiny_run, tiny_onnx) -> Iterator[Server]:
    args = [str(tiny_run)] if request.param == "pytorch" else ["--onnx", str(tiny_onnx)]
    srv = Server(*args)
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def p2p_generator(tmp_path_factory) -> Path:
    """A tiny pix2pix run (superres4 on the bundled MNIST, 6 steps) and its ONNX export beside it."""
    from condgan.config import load_config
    from condgan.train import Trainer

    run = tmp_path_factory.mktemp("serve-p2p") / "run"
    options = {
        "model": {"name": "pix2pix", "width": 8},
        "data": {"task": "superres4"},
        "train": {"epochs": None, "steps": 6, "batch_size": 16},
    }
    Trainer(load_config(None, [options]), run, progress=False).fit()
    result = subprocess.run(
        [sys.executable, "-m", "condgan", "export", str(run), "--out", str(run.parent / "p2p.onnx")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return run


@pytest.fixture(scope="session", params=["pytorch", "onnx"])
def p2p_server(request, p2p_generator) -> Iterator[Server]:
    onnx = p2p_generator.parent / "p2p.onnx"
    srv = Server(str(p2p_generator)) if request.param == "pytorch" else Server("--onnx", str(onnx))
    yield srv
    srv.stop()
