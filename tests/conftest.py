from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

SHARED_DATASETS = Path(__file__).resolve().parents[2] / "shared" / "datasets"
if not SHARED_DATASETS.is_dir():  # a clone beside the checkout: <root>/../shared
    SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"

# A tiny model and a few steps: enough to exercise every code path in seconds.
TINY = ["--set", "model.width=8", "--batch-size", "16"]


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    if not SHARED_DATASETS.is_dir():
        pytest.skip("../shared/datasets is not present")
    return SHARED_DATASETS


@pytest.fixture(scope="session", autouse=True)
def _isolated_env(tmp_path_factory: pytest.TempPathFactory):
    """Never read or write the user's cache or data dirs from a test (session-wide, so that
    module fixtures see it too). CONDGAN_TEST_CACHE_DIR keeps trained classifiers across runs."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv("CONDGAN_DATA_DIR", raising=False)
        patch.delenv("CONDGAN_MIRROR", raising=False)
        patch.setenv("CONDGAN_OFFLINE", "1")  # no test reaches the internet; download tests use 127.0.0.1
        # a fixed thread count: bit-identical resume and fingerprint tests need one (condgan.threads)
        patch.setenv("CONDGAN_THREADS", os.environ.get("CONDGAN_THREADS") or str(torch.get_num_threads()))
        patch.setenv(
            "CONDGAN_CACHE_DIR",
            os.environ.get("CONDGAN_TEST_CACHE_DIR") or str(tmp_path_factory.getbasetemp() / "cache"),
        )
        yield


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory) -> Path:
    """A tiny trained cdcgan run (20 steps), shared by the export and serving tests."""
    from condgan.config import load_config
    from condgan.train import Trainer

    run = tmp_path_factory.mktemp("serve") / "run"
    options = {"model": {"width": 8}, "train": {"epochs": None, "steps": 20, "batch_size": 16}}
    Trainer(load_config(None, [options]), run, progress=False).fit()
    return run


@pytest.fixture(scope="session")
def tiny_onnx(tiny_run) -> Path:
    out = tiny_run.parent / "g.onnx"
    result = subprocess.run(
        [sys.executable, "-m", "condgan", "export", str(tiny_run), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "max abs diff" in result.stdout
    return out
