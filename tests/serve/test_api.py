"""The HTTP API against real servers on 127.0.0.1 (PyTorch and onnxruntime backends)."""

import io
import json
import subprocess
import sys
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image

from tests.serve.conftest import error_of, get


def image(body: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(body)))


def test_health_classes_and_page(server):
    assert json.loads(get(server.url + "/healthz")[2])["status"] == "ok"
    info = json.loads(get(server.url + "/api/classes")[2])
    assert info["classes"] == [str(d) for d in range(10)] and info["conditional"] and info["img_size"] == 28
    status, kind, body = get(server.url + "/")
    assert status == 200 and kind.startswith("text/html") and b"/api/generate" in body


def test_generate_is_a_png_grid_deterministic_in_the_seed(server):
    status, kind, body = get(server.url + "/api/generate?label=7&n=16&seed=3")
    assert status == 200 and kind == "image/png"
    grid = image(body)
    assert grid.shape == (2 + 2 * 30, 2 + 8 * 30)  # 2 rows x 8 columns of 28 px, 2 px gaps
    assert np.array_equal(grid, image(get(server.url + "/api/generate?label=7&n=16&seed=3")[2]))
    assert not np.array_equal(grid, image(get(server.url + "/api/generate?label=7&n=16&seed=4")[2]))
    by_name = image(get(server.url + "/api/generate?label=%207&n=16&seed=3")[2])
    assert np.array_equal(grid, by_name)


def test_every_class_grid_and_interpolation(server):
    status, _, body = get(server.url + "/api/grid?n=4&seed=1")
    assert status == 200 and image(body).shape == (2 + 10 * 30, 2 + 4 * 30)
    ends = [image(get(server.url + f"/api/interpolate?kind=class&a=1&b=8&t={t}&seed=2")[2]) for t in (0, 1)]
    one = image(get(server.url + "/api/generate?label=1&n=1&seed=2")[2])
    assert np.array_equal(ends[0], one)  # t=0 is class a with the same noise
    assert not np.array_equal(ends[0], ends[1])
    status, _, _ = get(server.url + "/api/interpolate?kind=seed&a=5&b=9&t=0.25&label=3")
    assert status == 200


def test_invalid_requests_get_4xx_json(server):
    u = server.url
    assert error_of(u + "/api/generate?label=10") == (400, "label 10 out of range: this generator has classes 0..9")
    assert error_of(u + "/api/generate?label=seven")[0] == 400
    assert error_of(u + "/api/generate")[1].startswith("label is required")
    assert error_of(u + "/api/generate?label=1&n=0") == (422, "n: Input should be greater than or equal to 1")
    assert error_of(u + "/api/generate?label=1&n=257")[0] == 422
    assert error_of(u + "/api/generate?label=1&seed=-1")[0] == 422
    assert error_of(u + "/api/generate?label=1&seed=1.5")[0] == 422
    assert error_of(u + "/api/generate?label=" + "x" * 3000)[0] == 414
    assert error_of(u + "/api/interpolate?kind=other&a=1&b=2")[0] == 422
    assert error_of(u + "/api/interpolate?kind=seed&a=../etc&b=2&label=1")[0] == 400
    assert error_of(u + "/api/interpolate?a=1&b=2&t=2")[0] == 422
    request = urllib.request.Request(u + "/api/generate?label=1", method="POST")
    try:
        urllib.request.urlopen(request)
        raise AssertionError("POST was accepted")
    except urllib.error.HTTPError as err:
        assert err.code == 405
    assert get(u + "/nope")[0] == 404


def test_pytorch_and_onnx_servers_draw_the_same_images(tiny_run, tiny_onnx):
    from tests.serve.conftest import Server

    servers = [Server(str(tiny_run)), Server("--onnx", str(tiny_onnx))]
    try:
        a, b = (image(get(s.url + "/api/generate?label=4&n=8&seed=11")[2]).astype(int) for s in servers)
    finally:
        for s in servers:
            s.stop()
    assert np.abs(a - b).max() <= 1  # uint8 rounding of a ~1e-7 float difference


def test_onnx_serving_never_imports_torch(tiny_onnx):
    code = (
        "import sys; from condgan.cli import build_parser; from condgan.serve.app import create_app; "
        "from condgan.serve.backends import OnnxBackend; "
        f"b = OnnxBackend({str(tiny_onnx)!r}); create_app(b); import numpy as np; "
        "b(np.zeros((1, b.z_dim), np.float32), np.eye(10, dtype=np.float32)[:1]); "
        "from condgan.threads import choose_now; choose_now(0.05, apply=False); "  # as cmd_serve does
        "assert 'torch' not in sys.modules, 'torch was imported'"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_serve_refuses_bad_input(tmp_path):
    def serve(*args):
        return subprocess.run([sys.executable, "-m", "condgan", "serve", *args], capture_output=True, text=True)

    result = serve()
    assert result.returncode == 2 and "give a RUN_DIR" in result.stderr
    (tmp_path / "bad.onnx").write_bytes(b"not onnx")
    result = serve("--onnx", str(tmp_path / "bad.onnx"))
    assert result.returncode == 2 and "cannot load" in result.stderr and "Traceback" not in result.stderr
    result = serve(str(tmp_path / "missing"))
    assert result.returncode == 2 and "no trained generator" in result.stderr


def test_bounded_load_has_no_errors(server):
    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from load_test import run

    result = run(server.url, requests=120, concurrency=8, n=4, num_classes=10)
    assert result["errors"] == 0, result


def test_cli_sample_and_the_api_draw_the_same_images(server, tiny_run, tmp_path):
    """One noise stream: `condgan sample --seed S` gives the images `/api/generate?seed=S` gives."""
    out = tmp_path / "cli.png"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "condgan",
            "sample",
            str(tiny_run),
            "--label",
            "3",
            "--n",
            "16",
            "--seed",
            "5",
            "--scale",
            "1",
            "--out",
            str(out),
        ],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    api = image(get(server.url + "/api/generate?label=3&n=16&seed=5")[2]).astype(int)
    cli = np.asarray(Image.open(out)).astype(int)
    assert cli.shape == api.shape and np.abs(cli - api).max() <= 1  # onnxruntime may round one level apart
