"""POST /api/translate on both backends, its bounds and errors, and the page's image mode."""

from __future__ import annotations

import io
import json
import urllib.error
import urllib.request

import numpy as np
from PIL import Image

from tests.serve.conftest import error_of


def post(url: str, body: bytes, content_type: str = "image/png") -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, data=body, method="POST", headers={"Content-Type": content_type})
    try:
        with urllib.request.urlopen(request, timeout=30) as r:
            return r.status, r.headers.get("Content-Type", ""), r.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers.get("Content-Type", ""), err.read()


def declare_large(port: int, size: int) -> tuple[int, bytes]:
    """A POST whose headers announce `size` bytes: the answer comes before any of them is sent."""
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    conn.putrequest("POST", "/api/translate")
    conn.putheader("Content-Type", "image/png")
    conn.putheader("Content-Length", str(size))
    conn.endheaders()
    response = conn.getresponse()
    status, body = response.status, response.read()
    conn.close()
    return status, body


def png_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, format="PNG")
    return buffer.getvalue()


DIGIT = np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)


def test_translate_returns_what_condgan_translate_makes(p2p_server, p2p_generator, tmp_path):
    status, kind, body = post(p2p_server.url + "/api/translate", png_bytes(DIGIT))
    assert status == 200 and kind == "image/png"
    served = np.asarray(Image.open(io.BytesIO(body)))
    assert served.shape == (2 + 28 + 2, 2 + 28 + 2)  # one image in a padded grid
    from condgan import load_generator
    from condgan.translate import translate

    G, _ = load_generator(p2p_generator)
    expect = translate(G, DIGIT[None, None].copy())[0, 0].numpy().astype(int)
    assert np.abs(served[2:30, 2:30].astype(int) - expect).max() <= 1  # onnxruntime: within one grey level
    info = json.loads(urllib.request.urlopen(p2p_server.url + "/api/classes").read())
    assert info["image_input"] is True and info["in_channels"] == 1


def test_translate_bounds_and_errors(p2p_server):
    url = p2p_server.url + "/api/translate"
    big = png_bytes(np.zeros((40, 40), np.uint8))
    status, _, body = post(url, big)
    assert status == 400 and "is 40x40" in json.loads(body)["error"]
    status, _, body = post(url + "?label=3", png_bytes(DIGIT))
    assert status == 400 and "takes no label" in json.loads(body)["error"]
    status, _, body = post(url + "?attrs=tone%3Ddark", png_bytes(DIGIT))
    assert status == 400 and "target attributes of a StarGAN editor" in json.loads(body)["error"]
    assert post(url + "?resize=true", big)[0] == 200
    status, _, body = post(url, b"not an image")
    assert status == 400 and "not an image" in json.loads(body)["error"]
    status, _, body = post(url, b"")
    assert status == 400 and "request body" in json.loads(body)["error"]
    status, body = declare_large(p2p_server.port, 5 * 2**20)
    assert status == 413 and "larger than" in json.loads(body)["error"]  # refused before the body is read
    assert error_of(url)[0] == 405  # GET
    status, message = error_of(p2p_server.url + "/api/generate?label=3")
    assert status == 400 and "POST an image to /api/translate" in message


def test_a_sampling_generator_refuses_translate(server):
    status, _, body = post(server.url + "/api/translate", png_bytes(DIGIT))
    assert status == 400 and "use GET /api/generate" in json.loads(body)["error"]


def test_the_page_draws_and_translates(p2p_server):
    from tests.serve.test_browser import CHROMIUM, sync_api

    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page = browser.new_page()
        errors = []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto(p2p_server.url + "/")
        page.wait_for_function("document.querySelector('#translated').naturalWidth > 0")  # the first view
        assert page.locator("#translate-panel").is_visible() and not page.locator("#result").is_visible()
        first = page.locator("#translated").screenshot()
        box = page.locator("#canvas").bounding_box()
        with page.expect_response(lambda r: "/api/translate" in r.url and r.request.method == "POST") as response:
            page.mouse.move(box["x"] + 20, box["y"] + 20)
            page.mouse.down()
            page.mouse.move(box["x"] + 200, box["y"] + 200, steps=20)
            page.mouse.up()
        assert response.value.status == 200
        page.wait_for_timeout(200)
        assert page.locator("#translated").screenshot() != first  # a new drawing, a new output
        assert not errors and page.locator("#error").text_content() == ""
        browser.close()


def test_the_cli_refuses_attrs_for_a_translator(p2p_generator, tmp_path):
    from tests.test_cli import assert_user_error, condgan

    Image.fromarray(DIGIT).save(tmp_path / "digit.png")
    result = condgan(
        "translate", p2p_generator, tmp_path / "digit.png", "--attrs", "tone=dark", "--out", tmp_path / "o.png"
    )
    assert_user_error(result, "--attrs gives the target attributes of a StarGAN run")
