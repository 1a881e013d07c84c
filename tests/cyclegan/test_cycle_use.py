"""A CycleGAN run's two translators through the CLI, the HTTP API, the page and ONNX."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from PIL import Image

from condgan.export import parity
from condgan.models.storage import load_generator
from tests.serve.conftest import Server, get
from tests.serve.test_translate_api import png_bytes, post
from tests.test_cli import assert_user_error, condgan


@pytest.mark.parametrize("direction", ["AtoB", "BtoA"])
def test_translate_both_ways_on_the_command_line(cycle_run, unpaired_root, tmp_path, direction):
    folder = unpaired_root / ("testA" if direction == "AtoB" else "testB")
    result = condgan("translate", cycle_run, folder, "--direction", direction, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    G, _ = load_generator(cycle_run, direction)
    first = np.array(Image.open(sorted(folder.iterdir())[0]))[None, None]
    with torch.no_grad():
        want = G(None, torch.from_numpy(first).float() / 127.5 - 1)
    got = np.asarray(Image.open(tmp_path / "out" / "000.png"))
    assert np.abs(got.astype(int) - ((want[0, 0].numpy() + 1) * 127.5).round().astype(int)).max() <= 1


def test_the_two_translators_differ_and_a_one_way_run_has_no_btoa(cycle_run, tmp_path):
    ab, _ = load_generator(cycle_run, "AtoB")
    ba, _ = load_generator(cycle_run, "BtoA")
    assert any(not torch.equal(a, b) for a, b in zip(ab.state_dict().values(), ba.state_dict().values()))
    plain = condgan("train", "--set", "model.width=8", "--batch-size", "16", "--steps", "2", "--out", tmp_path / "r")
    assert plain.returncode == 0
    result = condgan("export", tmp_path / "r", "--direction", "BtoA", "--out", tmp_path / "x.onnx")
    assert_user_error(result, "translates one way only (A to B): direction BtoA needs a CycleGAN run directory")


def test_an_unpaired_folder_has_no_pairs_to_translate_a_split_against(cycle_run, tmp_path):
    result = condgan("translate", cycle_run, "--split", "test", "--out", tmp_path / "t.npz")
    assert_user_error(result, "an unpaired folder's test split has no pairs to translate against")


@pytest.mark.parametrize("direction", ["AtoB", "BtoA"])
def test_onnx_exports_of_both_directions_match_pytorch(cycle_run, direction):
    G, _ = load_generator(cycle_run, direction)
    assert parity(G, cycle_run.parent / f"{direction}.onnx") <= 1e-4


@pytest.fixture(scope="module")
def cycle_server(cycle_run):
    srv = Server(str(cycle_run))
    yield srv
    srv.stop()


def test_the_api_translates_both_ways_and_names_the_directions(cycle_server, unpaired_root):
    status, _, body = get(cycle_server.url + "/api/classes")
    assert status == 200 and json.loads(body)["directions"] == ["AtoB", "BtoA"]
    image = np.asarray(Image.open(unpaired_root / "testB" / "000.png"))
    outputs = {}
    for direction in ("AtoB", "BtoA"):
        status, kind, body = post(f"{cycle_server.url}/api/translate?direction={direction}", png_bytes(image))
        assert status == 200 and kind == "image/png"
        outputs[direction] = body
    assert outputs["AtoB"] != outputs["BtoA"]
    status, _, body = post(f"{cycle_server.url}/api/translate?direction=CtoD", png_bytes(image))
    assert status == 400 and "direction must be AtoB or BtoA" in json.loads(body)["error"]


def test_the_page_offers_both_directions(cycle_server):
    from tests.serve.test_browser import CHROMIUM, sync_api

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto(cycle_server.url + "/")
        page.wait_for_function("document.querySelector('#translated').naturalWidth > 0")
        assert page.locator("#t-direction-label").is_visible()
        first = page.locator("#translated").screenshot()
        with page.expect_response(lambda r: "direction=BtoA" in r.url) as response:
            page.select_option("#t-direction", "BtoA")
        assert response.value.status == 200
        page.wait_for_timeout(200)
        assert page.locator("#translated").screenshot() != first
        assert not errors and page.locator("#error").text_content() == ""
        browser.close()
