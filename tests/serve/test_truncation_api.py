"""Truncation over HTTP and on the page: a StyleGAN's psi (both backends: the ONNX graph takes psi)
and a BigGAN's z threshold; refused in one line where a generator has none."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from tests.serve.conftest import Server, error_of, get


def _train(root: Path, model: str) -> Path:
    from condgan.config import load_config
    from condgan.train import Trainer

    run = root / model
    options = {
        "model": {"name": model, "width": 4, "z_dim": 16},
        "train": {"epochs": None, "steps": 3, "batch_size": 8},
    }
    Trainer(load_config(None, [options]), run, progress=False).fit()
    return run


@pytest.fixture(scope="module")
def style_runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("truncation")
    runs = {model: _train(root, model) for model in ("stylegan", "biggan")}
    out = root / "stylegan.onnx"
    result = subprocess.run(
        [sys.executable, "-m", "condgan", "export", str(runs["stylegan"]), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    runs["stylegan.onnx"] = out
    return runs


@pytest.fixture(scope="module", params=["pytorch", "onnx"])
def style_server(request, style_runs) -> Iterator[Server]:
    srv = (
        Server(str(style_runs["stylegan"]))
        if request.param == "pytorch"
        else Server("--onnx", str(style_runs["stylegan.onnx"]))
    )
    yield srv
    srv.stop()


def tiles(body: bytes, size: int = 28) -> list[np.ndarray]:
    """The images of a PNG grid (2 px padding, 8 columns)."""
    grid = np.asarray(Image.open(io.BytesIO(body)))
    rows, cols = (grid.shape[0] - 2) // (size + 2), (grid.shape[1] - 2) // (size + 2)
    return [
        grid[2 + r * (size + 2) : 2 + r * (size + 2) + size, 2 + c * (size + 2) : 2 + c * (size + 2) + size]
        for r in range(rows)
        for c in range(cols)
    ]


def test_psi_zero_draws_the_mean_of_the_class_on_both_backends(style_server):
    status, _, body = get(style_server.url + "/api/classes")
    assert status == 200 and json.loads(body)["truncation"]["kind"] == "psi"
    url = style_server.url + "/api/generate?label=3&n=4&seed=5"
    status, kind, mean = get(url + "&truncation=0")
    assert status == 200 and kind == "image/png"
    drawn = tiles(mean)
    assert all(np.abs(t.astype(int) - drawn[0]).max() <= 1 for t in drawn[1:4])  # every z, one image
    plain, one = get(url)[2], get(url + "&truncation=1")[2]
    assert plain == one and plain != mean  # psi 1 is no truncation
    status, message = error_of(url + "&truncation=2")
    assert status == 400 and "psi: in [0, 1]" in message


def test_same_psi_same_images_from_the_generator_folder_and_the_onnx_file(style_runs):
    bodies = []
    for args in ([str(style_runs["stylegan"])], ["--onnx", str(style_runs["stylegan.onnx"])]):
        srv = Server(*args)
        try:
            bodies.append(get(srv.url + "/api/generate?label=2&n=8&seed=1&truncation=0.6")[2])
        finally:
            srv.stop()
    a, b = (np.stack(tiles(body)).astype(int) for body in bodies)
    assert np.abs(a - b).max() <= 1


def test_biggan_threshold_and_a_generator_without_truncation(style_runs, tiny_run):
    srv = Server(str(style_runs["biggan"]))
    try:
        info = json.loads(get(srv.url + "/api/classes")[2])
        assert info["truncation"]["kind"] == "threshold"
        url = srv.url + "/api/generate?label=1&n=4&seed=2"
        assert get(url + "&truncation=0.5")[2] != get(url)[2]
        assert get(srv.url + "/api/grid?n=2&truncation=0.5")[0] == 200
        assert error_of(url + "&truncation=0")[1].startswith("truncation of a BigGAN is the z threshold")
    finally:
        srv.stop()
    srv = Server(str(tiny_run))
    try:
        assert json.loads(get(srv.url + "/api/classes")[2])["truncation"] is None
        status, message = error_of(srv.url + "/api/generate?label=1&truncation=0.5")
        assert status == 400 and "truncation applies to models biggan and stylegan only" in message
    finally:
        srv.stop()


def test_the_pages_truncation_slider_redraws_with_psi(style_runs):
    from tests.serve.test_browser import page_at

    srv = Server(str(style_runs["stylegan"]))
    try:
        with page_at(srv.url + "/") as (page, errors):
            page.wait_for_function("document.querySelector('#result').dataset.url?.includes('/api/generate')")
            assert page.locator("#truncation-label").is_visible()
            assert page.locator("#truncation-value").text_content() == "none"
            assert "truncation" not in page.evaluate("document.querySelector('#result').dataset.url")
            with page.expect_response(lambda r: "/api/generate" in r.url and "truncation=0.00" in r.url) as response:
                page.locator("#truncation").fill("0")
            assert response.value.status == 200
            assert page.locator("#truncation-value").text_content() == "ψ 0.00"
            page.wait_for_function("document.querySelector('#grid').dataset.url?.includes('truncation=0.00')")
            assert not errors and page.locator("#error").text_content() == ""
    finally:
        srv.stop()
