"""Super-resolution from the low-resolution image itself (superres2-small / superres4-small):
the input is 7x7 for a 28x28 output, and every path (task, models, training, translate, eval,
ONNX, the server) takes it as it is."""

import io
import json
import urllib.request

import numpy as np
import pytest
import torch
from PIL import Image

from condgan.data.tasks import downsample, make_inputs, superres_factor
from condgan.errors import CondganError
from condgan.models import build_models
from condgan.models.pix2pix import PatchDiscriminator, UNetGenerator
from tests.image.test_image_runs import tampered_generator, train_tiny_p2p
from tests.test_cli import assert_user_error, condgan


@pytest.mark.parametrize("factor", [2, 4])
def test_small_inputs_are_the_block_means_themselves(factor):
    x = np.random.default_rng(0).integers(0, 256, (5, 1, 28, 28), dtype=np.uint8)
    small = make_inputs(f"superres{factor}-small", x, "train")
    assert small.shape == (5, 1, 28 // factor, 28 // factor)
    assert np.array_equal(small, downsample(x, factor))
    enlarged = make_inputs(f"superres{factor}", x, "train")  # the same means, repeated back to 28 px
    assert np.array_equal(enlarged[..., ::factor, ::factor], small)


def test_superres_factor_of_task_names():
    assert [superres_factor(t) for t in ("superres2", "superres4-small", "inpaint", "superres", "superres²")] == [
        2,
        4,
        None,
        None,
        None,
    ]


def test_g_and_d_enlarge_a_smaller_condition():
    G = UNetGenerator(1, 3, 28, width=4, in_size=7)
    assert G(None, torch.rand(2, 1, 7, 7) * 2 - 1).shape == (2, 3, 28, 28)
    assert G.config["in_size"] == 7 and G.in_size == 7
    D = PatchDiscriminator(1, 3, 28, width=4, receptive_field=34, in_size=7)
    assert D(torch.rand(2, 3, 28, 28), torch.rand(2, 1, 7, 7)).logits.shape[0] == 2
    same = UNetGenerator(1, 1, 28, width=4)
    assert "in_size" not in same.config and same.in_size == 28  # the files of same-size runs are unchanged
    with pytest.raises(ValueError, match="must divide the image size 28"):
        UNetGenerator(1, 1, 28, width=4, in_size=6)
    with pytest.raises(CondganError, match="the 9 px inputs must divide the 28 px outputs"):
        build_models("pix2pix", z_dim=0, num_classes=0, img_channels=1, img_size=28, in_channels=1, in_size=9)


@pytest.fixture(scope="module")
def small_run(tmp_path_factory, shared_datasets):
    out = tmp_path_factory.mktemp("small") / "run"
    train_tiny_p2p(out, shared_datasets, "superres4-small")
    return out


def _png(tmp_path, name, side):
    path = tmp_path / name
    Image.fromarray(np.random.default_rng(side).integers(0, 256, (side, side), dtype=np.uint8)).save(path)
    return path


def test_a_run_translates_7_px_images_to_28_px(small_run, tmp_path):
    from condgan import load_generator

    _G, condition = load_generator(small_run)
    assert (condition.in_size, condition.input_size, condition.img_size) == (7, 7, 28)
    grid = np.asarray(Image.open(next((small_run / "samples").glob("*.png"))))
    assert 3 * 2 * 28 < grid.shape[0] < 4 * 2 * 30  # input (enlarged for the picture) | output | target
    result = condgan("translate", small_run, _png(tmp_path, "low.png", 7), "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    assert Image.open(tmp_path / "out" / "low.png").size == (28, 28)
    big = _png(tmp_path, "big.png", 28)
    assert_user_error(condgan("translate", small_run, big, "--out", tmp_path / "o"), "is 28x28")
    assert condgan("translate", small_run, big, "--resize", "--out", tmp_path / "o").returncode == 0
    picture = condgan("translate", small_run, "--split", "test", "--n", "3", "--out", tmp_path / "p.png")
    assert picture.returncode == 0, picture.stderr


def test_split_npz_and_eval_with_the_bicubic_baseline(small_run, tmp_path):
    out = tmp_path / "t.npz"
    assert condgan("translate", small_run, "--split", "test", "--out", out).returncode == 0
    with np.load(out) as f:
        assert f["images"].shape == f["targets"].shape == (10_000, 28, 28) and f["inputs"].shape == (10_000, 7, 7)
    run = condgan("eval", small_run)
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    assert set(figures["baselines"]) == {"input", "bicubic"}
    bicubic = figures["baselines"]["bicubic"]
    assert 0 < bicubic["l1"] < 0.2 and bicubic["psnr"] > 10
    npz = json.loads(condgan("eval", out).stdout.strip().splitlines()[-1])
    assert npz["l1"] == pytest.approx(figures["l1"])
    with np.load(out) as f:
        arrays = dict(f)
    arrays["inputs"] = arrays["inputs"][:, :6, :6]  # not a whole fraction of 28
    np.savez(tmp_path / "bad.npz", **arrays)
    assert_user_error(condgan("eval", tmp_path / "bad.npz"), "inputs must be uint8 images")


def test_onnx_and_the_server_take_the_small_input(small_run, tmp_path):
    from condgan import load_generator
    from condgan.export import export_onnx, parity
    from tests.serve.conftest import Server
    from tests.serve.test_translate_api import png_bytes, post

    G, condition = load_generator(small_run)
    path = export_onnx(G, condition, tmp_path / "g.onnx")
    assert parity(G, path, n=3) < 1e-4
    server = Server(str(small_run))
    try:
        info = json.loads(urllib.request.urlopen(server.url + "/api/classes").read())
        assert info["in_size"] == 7 and info["img_size"] == 28
        status, _, body = post(server.url + "/api/translate", png_bytes(np.zeros((7, 7), np.uint8)))
        assert status == 200
        assert np.asarray(Image.open(io.BytesIO(body))).shape == (2 + 28 + 2, 2 + 28 + 2)
        status, _, body = post(server.url + "/api/translate", png_bytes(np.zeros((28, 28), np.uint8)))
        assert status == 400 and "is 28x28" in json.loads(body)["error"]
    finally:
        server.stop()


def test_a_condition_that_disagrees_with_the_model_is_refused(small_run, tmp_path):
    folder = tampered_generator(small_run, tmp_path, in_size=14)  # the weights were made for 7 px inputs
    assert_user_error(
        condgan("translate", folder, _png(tmp_path, "x.png", 14), "--out", tmp_path / "o"), "(1, 7, 28, 0)"
    )


def test_a_generator_folder_with_a_bad_background_is_refused_in_one_line(small_run, tmp_path):
    folder = tampered_generator(small_run, tmp_path, background=[255, 255])
    assert_user_error(
        condgan("translate", folder, _png(tmp_path, "x.png", 7), "--out", tmp_path / "o"),
        "conditions.background must be [R, G, B] of 0..255",
    )
