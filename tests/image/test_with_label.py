"""pix2pix with the source's class label too (model.with_label): the condition is the image
followed by its class as one-hot constant maps, on every path (training, translate, eval,
ONNX, the server) and refused where it cannot apply."""

import io
import json
import urllib.request

import numpy as np
import pytest
import torch
from PIL import Image

from condgan.config import load_config
from condgan.errors import CondganError
from condgan.models.conditioning import with_label_maps
from condgan.models.pix2pix import PatchDiscriminator, UNetGenerator
from tests.image.test_image_runs import tampered_generator, train_tiny_p2p
from tests.test_cli import assert_user_error, condgan


def test_label_maps_follow_the_image():
    image = torch.rand(3, 1, 8, 8) * 2 - 1
    y = with_label_maps(image, torch.tensor([0, 2, 1]), 3)
    assert y.shape == (3, 4, 8, 8) and torch.equal(y[:, :1], image)
    assert torch.equal(y[:, 1:, 4, 4], torch.eye(3)[[0, 2, 1]])  # constant one-hot maps
    assert with_label_maps(image, None, 0) is image
    with pytest.raises(ValueError, match="class label too"):
        with_label_maps(image, None, 3)


def test_g_and_d_take_the_maps():
    G = UNetGenerator(1, 1, 28, width=4, label_classes=10)
    assert G(None, torch.zeros(2, 11, 28, 28)).shape == (2, 1, 28, 28)
    assert G.config["label_classes"] == 10 and G.down[0][0].in_channels == 11
    D = PatchDiscriminator(1, 1, 28, width=4, receptive_field=34, label_classes=10)
    assert D(torch.zeros(2, 1, 28, 28), torch.zeros(2, 11, 28, 28)).logits.shape[0] == 2


def test_with_label_is_refused_for_sampling_models():
    with pytest.raises(CondganError, match=r"model\.with_label adds a class label to an image condition"):
        load_config(None, [{"model": {"with_label": True}}])


@pytest.fixture(scope="module")
def labelled_run(tmp_path_factory, shared_datasets):
    out = tmp_path_factory.mktemp("labelled") / "run"
    train_tiny_p2p(out, shared_datasets, "inpaint", "--set", "model.with_label=true")
    return out


def _digit(tmp_path):
    path = tmp_path / "d.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 256, (28, 28), dtype=np.uint8)).save(path)
    return path


def test_translate_needs_the_label_and_the_label_matters(labelled_run, tmp_path):
    from condgan import load_generator

    G, condition = load_generator(labelled_run)
    assert condition.labelled and condition.label_classes == 10 and G.label_classes == 10
    assert next((labelled_run / "samples").glob("*.png")).is_file()
    digit = _digit(tmp_path)
    assert_user_error(condgan("translate", labelled_run, digit, "--out", tmp_path / "o"), "give --label (0..9)")
    assert_user_error(condgan("translate", labelled_run, digit, "--label", "x", "--out", tmp_path / "o"), "unknown")
    for label in ("1", "7"):
        result = condgan("translate", labelled_run, digit, "--label", label, "--out", tmp_path / label)
        assert result.returncode == 0, result.stderr
    one, seven = (np.asarray(Image.open(tmp_path / label / "d.png")) for label in ("1", "7"))
    assert not np.array_equal(one, seven)  # the class reaches G
    split = condgan("translate", labelled_run, "--split", "test", "--label", "1", "--out", tmp_path / "x.npz")
    assert_user_error(split, "a --split gives each pair's own class")


def test_split_picture_and_eval(labelled_run, tmp_path):
    picture = condgan("translate", labelled_run, "--split", "test", "--n", "4", "--out", tmp_path / "p.png")
    assert picture.returncode == 0, picture.stderr
    run = condgan("eval", labelled_run, "--baseline", labelled_run)
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    assert 0 <= figures["class_preserved"] <= 1
    assert figures["baselines"]["l1_only"]["l1"] == pytest.approx(figures["l1"])  # the labels reach the baseline too


def test_onnx_and_the_server(labelled_run, tmp_path):
    from condgan import load_generator
    from condgan.export import export_onnx, parity
    from condgan.translate import translate
    from tests.serve.conftest import Server
    from tests.serve.test_translate_api import png_bytes, post

    G, condition = load_generator(labelled_run)
    path = export_onnx(G, condition, tmp_path / "g.onnx")
    assert parity(G, path, n=3) < 1e-4
    digit = np.random.default_rng(1).integers(0, 256, (28, 28), dtype=np.uint8)
    expect = translate(G, digit[None, None].copy(), torch.tensor([7]))[0, 0].numpy().astype(int)
    for served_by in ([str(labelled_run)], ["--onnx", str(path)]):
        server = Server(*served_by)
        try:
            info = json.loads(urllib.request.urlopen(server.url + "/api/classes").read())
            assert info["label_classes"] == list("0123456789")
            status, _, body = post(server.url + "/api/translate", png_bytes(digit))
            assert status == 400 and "label is required" in json.loads(body)["error"]
            status, _, body = post(server.url + "/api/translate?label=zz", png_bytes(digit))
            assert status == 400 and "unknown label" in json.loads(body)["error"]
            status, _, body = post(server.url + "/api/translate?label=7", png_bytes(digit))
            assert status == 200
            served = np.asarray(Image.open(io.BytesIO(body)))[2:30, 2:30].astype(int)
            assert np.abs(served - expect).max() <= 1  # onnxruntime: within one grey level
        finally:
            server.stop()


def test_a_label_flag_that_disagrees_with_the_weights_is_refused(labelled_run, tmp_path):
    folder = tampered_generator(labelled_run, tmp_path, labelled=False)  # the weights still expect 10 label maps
    assert_user_error(condgan("translate", folder, _digit(tmp_path), "--out", tmp_path / "o"), "label classes")
