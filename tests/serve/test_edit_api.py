"""A StarGAN editor served: POST /api/translate?attrs= on both backends (the CLI's image), its
errors, and the page's upload with one menu per attribute in the real browser."""

from __future__ import annotations

import io
import json
import urllib.parse
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from condgan.data import emoji
from tests.serve.conftest import Server, get
from tests.serve.test_translate_api import post

pytestmark = pytest.mark.skipif(
    not all(s.path.is_file() for s in (emoji.NOTO, emoji.EMOJI_TEST)),
    reason="apt-get install fonts-noto-color-emoji unicode-data",
)


@pytest.fixture(scope="module")
def edit_run(tmp_path_factory) -> Path:
    """A tiny StarGAN run at 16 px (3 steps), its ONNX export beside it and one test emoji as a PNG."""
    from condgan.config import load_config
    from condgan.data import load_dataset
    from condgan.train import Trainer

    run = tmp_path_factory.mktemp("serve-edit") / "run"
    options = {
        "data": {"dataset": "emoji-people", "img_size": 16},
        "model": {"name": "stargan", "width": 8, "stargan": {"attributes": "tone,hair,age", "blocks": 1}},
        "train": {"epochs": None, "steps": 3, "batch_size": 8, "n_critic": 1},
    }
    Trainer(load_config(None, [options]), run, progress=False).fit()
    from tests.test_cli import condgan

    result = condgan("export", str(run), "--out", str(run.parent / "edit.onnx"))
    assert result.returncode == 0 and "parity" in result.stdout, result.stderr
    face = load_dataset("emoji-people", "test", img_size=16).images[3].permute(1, 2, 0).numpy()
    Image.fromarray(face).save(run.parent / "face.png")
    return run


@pytest.fixture(scope="module", params=["pytorch", "onnx"])
def edit_server(request, edit_run) -> Iterator[Server]:
    onnx = ("--onnx", str(edit_run.parent / "edit.onnx"))
    srv = Server(str(edit_run)) if request.param == "pytorch" else Server(*onnx)
    yield srv
    srv.stop()


def translate_url(server: Server, **params: str) -> str:
    return server.url + "/api/translate?" + urllib.parse.urlencode(params)


def test_the_api_edits_an_upload_as_the_cli_does(edit_server, edit_run, tmp_path):
    info = json.loads(get(edit_server.url + "/api/classes")[2])
    assert info["image_input"] and [f["name"] for f in info["edit_factors"]] == ["tone", "hair", "age"]
    face = (edit_run.parent / "face.png").read_bytes()
    status, kind, body = post(translate_url(edit_server, attrs="tone=dark,hair=white"), face)
    assert status == 200 and kind == "image/png"
    served = np.asarray(Image.open(io.BytesIO(body)).convert("RGB"))[2:18, 2:18].astype(int)
    from tests.test_cli import condgan

    out = tmp_path / "cli.png"
    args = ["translate", str(edit_run), str(edit_run.parent / "face.png"), "--attrs", "tone=dark,hair=white"]
    result = condgan(*args, "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert np.abs(served - np.asarray(Image.open(out)).astype(int)).max() <= 1  # onnxruntime: within one level
    other = post(translate_url(edit_server, attrs="tone=light"), face)[2]
    assert other != body  # the attributes reach the generator


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "attrs is required"),
        ({"attrs": "eyes=blue"}, "unknown attribute 'eyes'"),
        ({"attrs": "hair=green"}, "unknown hair 'green'"),
        ({"attrs": "gender=man"}, "unknown attribute 'gender'"),  # this run does not edit gender
        ({"attrs": "tone=dark", "label": "3"}, "takes no label"),
    ],
)
def test_wrong_attributes_get_a_400_that_names_them(edit_server, edit_run, params, message):
    status, _, body = post(translate_url(edit_server, **params), (edit_run.parent / "face.png").read_bytes())
    assert status == 400 and message in json.loads(body)["error"]


def test_the_page_uploads_and_edits_with_one_menu_per_attribute(edit_server, edit_run):
    from tests.serve.test_browser import page_at

    with page_at(edit_server.url + "/") as (page, errors):
        page.wait_for_function("document.querySelectorAll('#t-attrs select').length === 3")
        assert page.locator("#translate-panel").is_visible()
        assert page.input_value("#edit-hair") == ""  # (keep)
        page.wait_for_function("document.querySelector('#translated').src.startsWith('blob:')")  # the first edit
        with page.expect_response(lambda r: "/api/translate" in r.url) as response:
            page.set_input_files("#upload", str(edit_run.parent / "face.png"))
        assert response.value.status == 200 and "tone%3Ddark" in response.value.url
        with page.expect_response(lambda r: "/api/translate" in r.url and "hair%3Dred" in r.url) as response:
            page.select_option("#edit-hair", "red")  # a change edits at once
        assert response.value.status == 200
        page.wait_for_function(
            "document.querySelector('#translated').complete && document.querySelector('#translated').naturalWidth >= 16"
        )
        assert not errors and page.locator("#error").text_content() == ""
