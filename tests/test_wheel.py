"""The built wheel, installed into a fresh virtual environment away from the checkout, trains
offline and samples: presets, the bundled MNIST, the shipped judge and the page are package data."""

from __future__ import annotations

import os
import shutil
import site
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytest.importorskip("build", reason="python -m build is in the [dev] extra")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    src = tmp_path_factory.mktemp("source")  # a copy: building writes build/ and *.egg-info beside the sources
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    shutil.copytree(ROOT / "src", src / "src", ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    dist = src / "dist"
    result = subprocess.run(
        [sys.executable, "-m", "build", "--wheel", "--outdir", str(dist), str(src)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return next(dist.glob("condgan-*.whl"))


def test_the_wheel_holds_the_package_data(wheel):
    names = set(zipfile.ZipFile(wheel).namelist())
    for wanted in (
        "condgan/configs/mnist-cdcgan.yaml",
        "condgan/configs/mnist-inpaint.yaml",
        "condgan/serve/static/index.html",
        "condgan/data/bundled/mnist/train-images-idx3-ubyte.gz",
    ):
        assert wanted in names, wanted
    assert any(n.startswith("condgan/metrics/weights/mnist-") and n.endswith(".safetensors") for n in names)
    assert any(n.startswith("condgan/metrics/weights/mnist-") and n.endswith(".floor.json") for n in names)


def test_the_wheel_installs_into_a_fresh_venv_and_trains_offline(wheel, tmp_path):
    venv = tmp_path / "venv"
    # the system's packages (torch) are visible; condgan itself comes from the wheel
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True, timeout=120)
    python = venv / "bin" / "python"
    # Run from inside a virtual environment, --system-site-packages shows the *base* interpreter's
    # packages, not this environment's (where torch and tqdm are): list this one's too. A .pth
    # line adds a plain path, whose own .pth files (the checkout's editable install) are not run.
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (Path(purelib) / "_test_parent_env.pth").write_text("\n".join(site.getsitepackages()) + "\n")
    install = subprocess.run(
        [str(python), "-m", "pip", "install", "--no-deps", "--no-index", "-q", str(wheel)],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert install.returncode == 0, install.stderr
    env = {k: v for k, v in os.environ.items() if not k.startswith("CONDGAN_DATA")} | {"CONDGAN_OFFLINE": "1"}
    where = subprocess.run(
        [str(python), "-c", "import condgan; print(condgan.__file__)"], capture_output=True, text=True, cwd=tmp_path
    )
    assert str(venv) in where.stdout, where.stdout + where.stderr  # not the checkout's
    condgan = str(venv / "bin" / "condgan")
    train = subprocess.run(
        [
            condgan,
            "train",
            "--steps",
            "3",
            "--batch-size",
            "16",
            "--set",
            "model.width=8",
            "--out",
            "run",
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=300,
    )
    assert train.returncode == 0, train.stderr
    sample = subprocess.run(
        [condgan, "sample", "run", "--label", "7", "--n", "4", "--out", "seven.png"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env=env,
        timeout=120,
    )
    assert sample.returncode == 0 and (tmp_path / "seven.png").is_file(), sample.stderr
