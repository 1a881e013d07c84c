"""End to end in a real headless browser: Debian's chromium driven by Playwright."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is in the [dev] extra")
if not Path(CHROMIUM).exists():
    pytest.skip("Debian's chromium is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        yield b
        b.close()


@contextmanager
def page_at(url: str) -> Iterator[tuple[object, list[str]]]:
    """A fresh headless browser on `url`: (the page, the page errors seen so far)."""
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=["--no-sandbox"])
        page, errors = browser.new_page(), []
        page.on("pageerror", lambda err: errors.append(str(err)))
        page.goto(url)
        yield page, errors
        browser.close()


def shot(page, selector: str) -> bytes:
    page.wait_for_function(
        f"document.querySelector('{selector}').complete && document.querySelector('{selector}').naturalWidth > 0"
    )
    return page.locator(selector).screenshot()


def test_pick_a_class_generate_and_change_the_seed(browser, server, tmp_path):
    page = browser.new_page()
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(server.url + "/")
    page.wait_for_function("document.querySelectorAll('#label option').length === 10")
    # the first view: every image panel shows a picture, none a broken-image icon
    page.wait_for_function(
        "[...document.querySelectorAll('img')].filter(i => !i.closest('[hidden]'))"
        ".every(i => i.complete && i.naturalWidth > 0)"
    )
    page.select_option("#label", "7")
    page.fill("#n", "16")
    page.fill("#seed", "0")
    with page.expect_response(lambda r: "/api/generate" in r.url and "label=7" in r.url) as response:
        page.click("#generate")
    assert response.value.status == 200 and response.value.headers["content-type"] == "image/png"
    seed0 = shot(page, "#result")
    size = page.evaluate("(img => [img.naturalWidth, img.naturalHeight])(document.querySelector('#result'))")
    assert size == [2 + 8 * 30, 2 + 2 * 30]  # 16 images of 28 px in 8 columns
    page.fill("#seed", "1")
    with page.expect_response(lambda r: "seed=1" in r.url):
        page.click("#generate")
    seed1 = shot(page, "#result")
    assert seed1 != seed0  # new noise, new images
    page.fill("#seed", "0")
    with page.expect_response(lambda r: "seed=0" in r.url and "/api/generate" in r.url):
        page.click("#generate")
    assert shot(page, "#result") == seed0  # and the same seed gives them back
    with page.expect_response(lambda r: "/api/grid" in r.url):
        page.click("#show-grid")
    shot(page, "#grid")
    page.locator("#t").fill("0.8")
    page.wait_for_function("document.querySelector('#interp').dataset.url?.includes('t=0.8')")
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    assert (tmp_path / "page.png").stat().st_size > 10_000
    assert not errors and page.locator("#error").text_content() == ""


def test_an_invalid_request_shows_the_servers_message(browser, server):
    page = browser.new_page()
    page.goto(server.url + "/")
    page.wait_for_function("document.querySelectorAll('#label option').length === 10")
    page.fill("#n", "999")
    page.click("#generate")
    page.wait_for_function("document.querySelector('#error').textContent.length > 0")
    assert "n: Input should be less than or equal to 256" in page.locator("#error").text_content()
