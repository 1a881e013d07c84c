"""A several-factor run (emoji-people) served: attrs through the API on both backends and the page's
one menu per factor in the real browser."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from condgan.data import emoji
from tests.serve.conftest import Server, error_of, get

pytestmark = pytest.mark.skipif(
    not all(s.path.is_file() for s in (emoji.NOTO, emoji.EMOJI_TEST)),
    reason="apt-get install fonts-noto-color-emoji unicode-data",
)
ASK = "gender=woman,hair=red,tone=medium-dark"


@pytest.fixture(scope="module")
def attrs_run(tmp_path_factory) -> Path:
    """A tiny emoji-people run at 16 px (6 steps) and its ONNX export beside it."""
    from condgan.config import load_config
    from condgan.train import Trainer

    run = tmp_path_factory.mktemp("serve-attrs") / "run"
    options = {
        "data": {"dataset": "emoji-people", "img_size": 16},
        "model": {"width": 8},
        "train": {"epochs": None, "steps": 6, "batch_size": 16},
    }
    Trainer(load_config(None, [options]), run, progress=False).fit()
    out = run.parent / "g.onnx"
    result = subprocess.run(
        [sys.executable, "-m", "condgan", "export", str(run), "--out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0 and "parity" in result.stdout, result.stderr
    return run


@pytest.fixture(scope="module", params=["pytorch", "onnx"])
def attrs_server(request, attrs_run) -> Iterator[Server]:
    srv = Server(str(attrs_run)) if request.param == "pytorch" else Server("--onnx", str(attrs_run.parent / "g.onnx"))
    yield srv
    srv.stop()


def query(**params: str) -> str:
    return urllib.parse.urlencode(params)


def test_the_api_takes_the_attribute_set(attrs_server, attrs_run, tmp_path):
    info = json.loads(get(attrs_server.url + "/api/classes")[2])
    assert info["classes"] == [] and info["conditional"]
    assert [f["name"] for f in info["factors"]] == ["tone", "hair", "gender", "age", "role"]
    assert info["factors"][1]["default"] == "none" and "red" in info["factors"][1]["values"]
    status, kind, body = get(attrs_server.url + "/api/generate?" + query(attrs=ASK, n="1", seed="3"))
    assert status == 200 and kind == "image/png"
    served = np.asarray(Image.open(io.BytesIO(body)).convert("RGB"))[2:18, 2:18].astype(int)
    out = tmp_path / "s.npz"
    args = ["sample", str(attrs_run), "--attrs", ASK, "--n", "1", "--seed", "3", "--out", str(out)]
    result = subprocess.run(
        [sys.executable, "-m", "condgan", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    with np.load(out) as z:
        cli = z["images"][0].astype(int)  # (H, W, C)
    assert np.abs(served - cli).max() <= 1  # the CLI's image (onnxruntime: within one level)
    other = get(attrs_server.url + "/api/generate?" + query(attrs="gender=man,hair=white,tone=light", seed="3"))[2]
    assert other != body  # the attributes change the image
    for path in ("/api/grid?n=2", "/api/interpolate?" + query(kind="class", a=ASK, b="gender=man", t="0.5")):
        status, kind, _ = get(attrs_server.url + path)
        assert status == 200 and kind == "image/png", path


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"label": "3"}, "takes attrs (factors: tone, hair, gender, age, role)"),
        ({}, "attrs is required"),
        ({"attrs": "colour=red"}, "unknown attribute 'colour'"),
        ({"attrs": "gender=woman,hair=green"}, "unknown hair 'green'"),
        ({"attrs": "hair=red"}, "needs a value for gender"),
        ({"attrs": "gender=woman,hair=red,hair=blond"}, "--attrs names hair twice"),
    ],
)
def test_wrong_attributes_get_a_400_that_names_them(attrs_server, params, message):
    status, error = error_of(attrs_server.url + "/api/generate?" + query(**params))
    assert status == 400 and message in error


@pytest.mark.parametrize(
    ("attrs", "message"),
    [("gender=woman,eyes=blue", "unknown attribute 'eyes'"), ("gender=woman,gender=man", "--attrs names gender twice")],
)
def test_cli_refuses_unknown_attributes_in_one_line(attrs_run, tmp_path, attrs, message):
    args = ["sample", str(attrs_run), "--attrs", attrs, "--out", str(tmp_path / "x.png")]
    result = subprocess.run(
        [sys.executable, "-m", "condgan", *args],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2 and message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_page_has_one_menu_per_factor(attrs_server, tmp_path):
    from tests.serve.test_browser import page_at, shot

    with page_at(attrs_server.url + "/") as (page, errors):
        page.wait_for_function("document.querySelectorAll('#factors select').length === 5")
        assert page.locator("#label-label").is_hidden()
        assert page.input_value("#factor-hair") == "none" and page.input_value("#factor-role") == "person"
        page.select_option("#factor-gender", "woman")
        page.select_option("#factor-tone", "medium-dark")
        with page.expect_response(lambda r: "/api/generate" in r.url and "hair%3Dred" in r.url) as response:
            page.select_option("#factor-hair", "red")  # a change draws at once
        assert response.value.status == 200
        assert "gender%3Dwoman" in response.value.url and "tone%3Dmedium-dark" in response.value.url
        shot(page, "#result")
        shot(page, "#grid")
        page.locator("#t").fill("0.8")
        page.wait_for_function("document.querySelector('#interp').dataset.url?.includes('t=0.8')")
        assert not errors and page.locator("#error").text_content() == ""
