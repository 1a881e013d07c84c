"""StarGAN: its terms against closed forms, its edit targets, its networks, and a tiny run on
emoji-people edited through the CLI, ONNX and the edit report."""

from __future__ import annotations

import subprocess
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from condgan.conditions import ConditionSpec, Factor, ImageCondition, condition_from_json
from condgan.data import emoji
from condgan.errors import CondganError
from condgan.losses import LOSSES
from condgan.models.stargan import StarDiscriminator, StarGenerator, with_attribute_maps
from condgan.objectives.stargan import (
    Edits,
    StarContext,
    StarWeights,
    attribute_vectors,
    classification_loss,
    discriminator_loss,
    draw_edits,
    generator_loss,
)

SPEC = ConditionSpec((Factor("tone", ("a", "b", "c")), Factor("hair", ("x", "y")), Factor("age", ("p", "q", "r", "s"))))
WIDTHS = (3, 2, 4)
FONTS = pytest.mark.skipif(
    not all(s.path.is_file() for s in (emoji.NOTO, emoji.EMOJI_TEST)),
    reason="apt-get install fonts-noto-color-emoji unicode-data",
)


def test_classification_is_the_sum_of_each_factors_cross_entropy_over_the_rows_it_names():
    torch.manual_seed(0)
    logits, codes = torch.randn(5, 9), torch.tensor([[0, 1, 3], [2, 0, 0], [1, 1, 2], [0, 0, 1], [2, 1, 0]])
    named = torch.tensor([[1, 1, 1], [1, 0, 0], [0, 1, 1], [1, 1, 0], [0, 0, 1]], dtype=torch.bool)
    blocks = [logits[:, :3], logits[:, 3:5], logits[:, 5:]]
    expected = sum(
        sum(-torch.log_softmax(b[i], 0)[codes[i, j]] for i in range(5) if named[i, j]) / 5 for j, b in enumerate(blocks)
    )
    assert torch.allclose(classification_loss(logits, codes, named, WIDTHS), expected)
    every = sum(F.cross_entropy(b, codes[:, j]) for j, b in enumerate(blocks))
    assert torch.allclose(classification_loss(logits, codes, None, WIDTHS), every)


def test_attribute_vectors_are_the_specs_encoding_with_unnamed_blocks_zero():
    codes = np.array([[2, 0, 3], [1, 1, 0]])
    named = np.array([[True, False, True], [False, True, False]])
    ours = attribute_vectors(torch.from_numpy(codes), torch.from_numpy(named), WIDTHS).numpy()
    assert np.array_equal(ours, SPEC.encode_named(codes, named))
    assert np.array_equal(ours[0], [0, 0, 1, 0, 0, 0, 0, 0, 1])
    assert np.array_equal(SPEC.edit("hair=y"), [0, 0, 0, 0, 1, 0, 0, 0, 0])


@pytest.mark.parametrize(
    ("text", "message"),
    [("", "at least one attribute"), ("eyes=blue", "unknown attribute 'eyes'"), ("hair=z", "unknown hair 'z'")],
)
def test_an_edit_names_known_attributes(text, message):
    with pytest.raises(CondganError, match=message):
        SPEC.edit(text)


def test_each_edit_changes_one_factor_and_always_names_it():
    codes = torch.randint(0, 2, (4000, 3))
    gen = torch.Generator().manual_seed(1)
    edits = draw_edits(codes, WIDTHS, 0.5, gen)
    changed = (edits.target != codes).sum(1)
    assert changed.max() == 1
    differs = edits.target != codes
    assert bool(edits.named[differs].all())
    assert 0.55 < edits.named.float().mean() < 0.75  # 1/3 always named + 2/3 x 1/2
    assert int(edits.target[:, 2].max()) == 3  # target values reach every value of a factor
    assert bool(draw_edits(codes, WIDTHS, 0.0, gen).named.all())
    assert int(draw_edits(codes, WIDTHS, 1.0, gen).named.sum(1).max()) == 1


@pytest.fixture
def context():
    torch.manual_seed(0)
    G, D = StarGenerator(3, 3, 8, 9, width=4, blocks=1), StarDiscriminator(3, 8, 9, width=4)
    opt = torch.optim.SGD([*G.parameters(), *D.parameters()], lr=0.0)
    from contextlib import nullcontext

    weights = StarWeights(adversarial=1.0, cls=2.0, rec=10.0, mask=0.5, gp=0.0, keep=0.5)
    ctx = StarContext(
        G, D, opt, opt, LOSSES.get("wgan-gp"), weights, WIDTHS, nullcontext, lambda o: None, torch.Generator()
    )
    x = torch.rand(4, 3, 8, 8) * 2 - 1
    source = torch.tensor([[0, 1, 3], [2, 0, 0], [1, 1, 2], [0, 0, 1]])
    target = source.clone()
    target[:, 0] = torch.tensor([2, 2, 0, 1])
    named = torch.tensor([[1, 0, 1], [1, 1, 0], [1, 0, 0], [1, 1, 1]], dtype=torch.bool)
    return ctx, x, Edits(source, target, named)


def test_d_classifies_reals_by_their_source_attributes(context):
    ctx, x, edits = context
    _, stats = discriminator_loss(ctx, x, edits)
    logits = ctx.D(x).class_logits
    assert torch.allclose(stats["d_cls"], classification_loss(logits, edits.source, None, WIDTHS))
    assert not torch.allclose(stats["d_cls"], classification_loss(logits, edits.target, None, WIDTHS))


def test_g_is_read_as_the_target_and_must_come_back_to_the_source(context):
    ctx, x, edits = context
    total, stats = generator_loss(ctx, x, edits)
    G, D = ctx.G, ctx.D
    target = attribute_vectors(edits.target, edits.named, WIDTHS)
    back = attribute_vectors(edits.source, edits.named, WIDTHS)  # the way back names the source values
    fake, mask = G(None, with_attribute_maps(x, target), with_mask=True)
    rec = G(None, with_attribute_maps(fake, back))
    cls = classification_loss(D(fake).class_logits, edits.target, edits.named, WIDTHS)
    assert torch.allclose(stats["g_cls"], cls)
    assert torch.allclose(stats["g_rec"], (rec - x).abs().mean())
    adversarial = -D(fake).logits.mean()
    assert torch.allclose(total, adversarial + 2.0 * cls + 10.0 * (rec - x).abs().mean() + 0.5 * mask.mean())


def test_the_mask_keeps_the_inputs_pixels_and_padding_is_zero():
    G = StarGenerator(3, 3, 8, 9, width=4, blocks=1)
    assert not any(isinstance(m, torch.nn.ReflectionPad2d) for m in G.modules())
    with torch.no_grad():
        G.head.bias[-1] = -1e4  # attention 0 everywhere: nothing edited
    x = torch.rand(2, 3, 8, 8) * 2 - 1
    assert torch.allclose(G(None, with_attribute_maps(x, torch.ones(2, 9))), x)


def test_an_edit_condition_round_trips_through_json():
    condition = ImageCondition(3, 32, "edit", attributes=SPEC)
    assert condition.label_classes == 9
    back = condition_from_json(condition.to_json())
    assert back == condition
    with pytest.raises(CondganError, match="attributes must be an object"):
        condition_from_json({**condition.to_json(), "attributes": [1]})


def run_cli(*args: str) -> subprocess.CompletedProcess:
    from tests.test_cli import condgan  # in this process: the same `main`, without seconds of imports per call

    return condgan(*args)


@pytest.fixture(scope="module")
def star_run(tmp_path_factory) -> Path:
    """A tiny StarGAN run on emoji-people at 16 px (4 steps), with a person held out."""
    from condgan.config import load_config
    from condgan.train import Trainer

    run = tmp_path_factory.mktemp("stargan") / "run"
    options = {
        "data": {"dataset": "emoji-people", "img_size": 16, "holdout": "role=person,tone=medium-dark"},
        "model": {"name": "stargan", "width": 8, "stargan": {"attributes": "tone,hair,gender,age", "blocks": 1}},
        "train": {"epochs": None, "steps": 4, "batch_size": 8, "n_critic": 2},
    }
    Trainer(load_config(None, [options]), run, progress=False).fit()
    return run


@FONTS
def test_a_run_edits_files_through_the_cli_and_refuses_bad_attributes(star_run, tmp_path):
    from PIL import Image

    from condgan.data import load_dataset

    face = load_dataset("emoji-people", "test", img_size=16).images[0].permute(1, 2, 0).numpy()
    Image.fromarray(face).save(tmp_path / "face.png")
    out = tmp_path / "edited.png"
    result = run_cli(
        "translate", str(star_run), str(tmp_path / "face.png"), "--attrs", "hair=white,age=older", "--out", str(out)
    )
    assert result.returncode == 0, result.stderr
    assert np.asarray(Image.open(out)).shape == (16, 16, 3)
    for attrs, message in (("eyes=blue", "unknown attribute 'eyes'"), ("hair=green", "unknown hair 'green'")):
        bad = run_cli("translate", str(star_run), str(tmp_path / "face.png"), "--attrs", attrs, "--out", str(out))
        assert bad.returncode == 2 and message in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    missing = run_cli("translate", str(star_run), str(tmp_path / "face.png"), "--out", str(out))
    assert missing.returncode == 2 and "give --attrs" in missing.stderr
    picture = tmp_path / "edits.png"
    shown = run_cli(
        "translate",
        str(star_run),
        "--split",
        "test",
        "--n",
        "3",
        "--attrs",
        "tone=dark; hair=red",
        "--out",
        str(picture),
    )
    assert shown.returncode == 0, shown.stderr
    assert np.asarray(Image.open(picture)).shape[1] > 5 * 16  # input, then edit | truth per target


@FONTS
def test_a_transparent_face_is_flattened_on_the_training_background(star_run, tmp_path):
    """A transparent emoji PNG keeps arbitrary colours under alpha 0 (here black): flattened on
    white, as the font's bitmaps were for training, it is the same input as the opaque face."""
    from PIL import Image

    from condgan.data import load_dataset
    from condgan.models.storage import load_generator
    from condgan.serve.app import decode_input
    from condgan.serve.backends import TorchBackend
    from condgan.translate import read_inputs

    _, condition = load_generator(star_run)
    assert condition.background == (255, 255, 255)
    face = load_dataset("emoji-people", "test", img_size=16).images[0].permute(1, 2, 0).numpy()
    alpha = np.where((face == 255).all(-1), 0, 255).astype(np.uint8)  # the white around the face: transparent
    assert 0 < (alpha == 0).mean() < 1
    rgba = np.dstack([np.where(alpha[..., None] == 0, 0, face), alpha]).astype(np.uint8)
    Image.fromarray(face).save(tmp_path / "face.png")
    Image.fromarray(rgba, "RGBA").save(tmp_path / "face-rgba.png")
    Image.fromarray(rgba, "RGBA").convert("LA").save(tmp_path / "grey-la.png")  # another mode with alpha
    opaque, _ = read_inputs([tmp_path / "face.png"], condition)
    flattened, _ = read_inputs([tmp_path / "face-rgba.png"], condition)
    assert np.array_equal(opaque, flattened)
    grey, _ = read_inputs([tmp_path / "grey-la.png"], condition)
    assert (grey[0][:, alpha == 0] == 255).all()  # white under the transparency, not black
    backend = TorchBackend(star_run)
    upload = decode_input((tmp_path / "face-rgba.png").read_bytes(), backend, resize=False)
    assert np.array_equal(upload, decode_input((tmp_path / "face.png").read_bytes(), backend, resize=False))


@FONTS
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["FACE", "--attrs", "tone=dark", "--label", "3"], "not --label"),
        (["FACE", "--attrs", "tone=dark", "--direction", "BtoA"], "translates one way only"),
        (["--split", "train"], "--split test writes a .png"),
        (["FACE", "--split", "test"], "INPUT files or --split, not both"),
        (["--split", "test", "--n", "0"], "--n must be 1..64"),
        (["--split", "test", "--attrs", "tone=dark; eyes=blue"], "unknown attribute 'eyes'"),
        (["--attrs", "tone=dark"], "give INPUT images"),
        (["FACE", "--attrs", ""], "at least one attribute"),
    ],
)
def test_bad_translate_requests_get_one_line(star_run, tmp_path, args, message):
    from PIL import Image

    from tests.test_cli import assert_user_error

    Image.fromarray(np.full((16, 16, 3), 255, np.uint8)).save(tmp_path / "face.png")
    args = [str(tmp_path / "face.png") if a == "FACE" else a for a in args]
    assert_user_error(run_cli("translate", str(star_run), *args, "--out", str(tmp_path / "x.png")), message)


@FONTS
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["train", "--config", "emoji-stargan", "--set", "train.diffaugment=color"], "changes the colours D reads"),
        (["train", "--config", "emoji-stargan", "--set", "loss.r1_gamma=1"], "loss.r1_gamma does not apply"),
        (["train", "--config", "emoji-stargan", "--set", "model.stargan.attributes=eyes"], "'eyes' is not a factor"),
        (["train", "--model", "stargan", "--dataset", "mnist", "--eval-every", "10"], "--eval-every does not apply"),
    ],
)
def test_bad_stargan_runs_are_refused_in_one_line(tmp_path, args, message):
    from tests.test_cli import assert_user_error

    assert_user_error(run_cli(*args, "--out", str(tmp_path / "run"), "--no-progress"), message)


@FONTS
def test_eval_of_an_editor_takes_no_other_dataset(star_run):
    from tests.test_cli import assert_user_error

    assert_user_error(run_cli("eval", str(star_run), "--dataset", "mnist"), "drop --dataset / --baseline")


@FONTS
def test_the_onnx_export_takes_the_attributes_as_an_input(star_run, tmp_path):
    import onnxruntime as ort

    from condgan.serve.backends import OnnxBackend

    out = tmp_path / "edit.onnx"
    result = run_cli("export", str(star_run), "--out", str(out))
    assert result.returncode == 0 and "parity" in result.stdout, result.stderr
    session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
    assert [i.name for i in session.get_inputs()] == ["input", "attributes"]
    assert OnnxBackend(out).background == (255, 255, 255)  # a transparent upload is flattened on white


@FONTS
def test_edits_of_held_out_images_are_compared_with_held_out_truths(star_run):
    from condgan.data import load_dataset
    from condgan.metrics.attributes import train_attribute_judge
    from condgan.metrics.edits import edit_pairs, edit_set, evaluate_edits

    data = edit_set("emoji-people", "role=person,tone=medium-dark", 16)
    for factor in ("tone", "hair", "age"):
        pairs = edit_pairs(data, factor)
        assert len(pairs), factor
        j = data.spec.factor_names.index(factor)
        src, truth = data.codes[pairs[:, 0]], data.codes[pairs[:, 2]]
        assert not data.trained[pairs[:, 0]].any() and not data.trained[pairs[:, 2]].any()
        assert np.array_equal(truth[:, j], pairs[:, 1])
        assert np.array_equal(np.delete(src, j, 1), np.delete(truth, j, 1))  # only the edited factor differs
    judge = train_attribute_judge(load_dataset("emoji-people", "train", img_size=16), epochs=1)
    result = evaluate_edits(star_run, judge=judge)
    tone = result["edits"]["tone"]
    assert tone["edits"] > 500 and tone["identity"]["l1"] > 0
    assert tone["naive"]["l1"] < tone["identity"]["l1"]  # the skin recolouring moves towards the truth
    assert (star_run / "eval.md").read_text().count("| tone |") == 5


@pytest.mark.parametrize(
    ("overlay", "message"),
    [
        ({"train": {"diffaugment": "color"}}, "changes the colours D reads"),
        ({"loss": {"name": "wgan"}}, "loss.clip does not apply to model stargan"),
        ({"loss": {"r1_gamma": 1.0}}, "does not apply to model stargan"),
        ({"model": {"stargan": {"keep": 2}}}, "keep must be in"),
        ({"model": {"name": "cdcgan", "stargan": {}}}, "holds the options of model stargan"),
        ({"data": {"task": "edges"}}, "makes image pairs"),
    ],
)
def test_what_does_not_apply_to_stargan_is_refused_in_one_line(overlay, message):
    from condgan.config import Config, merge

    base = {"data": {"dataset": "emoji-people"}, "model": {"name": "stargan"}}
    with pytest.raises(CondganError, match=message):
        Config.from_dict(merge(base, overlay))


def test_the_attributes_it_edits_are_factors_of_the_data():
    from condgan.data import ImageData
    from condgan.objectives.stargan import attribute_spec

    data = ImageData(torch.zeros(2, 3, 8, 8, dtype=torch.uint8), torch.zeros(2, 9), SPEC.column_names, SPEC)
    spec, columns = attribute_spec(data, ("age", "tone"))
    assert spec.factor_names == ("age", "tone") and columns == [2, 0]
    with pytest.raises(CondganError, match="'eyes' is not a factor of this dataset"):
        attribute_spec(data, ("tone", "eyes"))


@FONTS
def test_a_resumed_run_is_bit_identical_to_an_uninterrupted_one(tmp_path):
    from condgan.config import load_config
    from condgan.train import Trainer

    def config(steps: int):
        options = {
            "data": {"dataset": "emoji-people", "img_size": 8},
            "model": {"name": "stargan", "width": 4, "stargan": {"blocks": 1, "cls_warmup": 3}},
            "loss": {"name": "lsgan"},
            "train": {"epochs": None, "steps": steps, "batch_size": 8, "ema": 0.9, "diffaugment": "translation"},
        }
        return load_config(None, [options])

    straight = Trainer(config(6), tmp_path / "straight", progress=False)
    straight.fit()
    Trainer(config(3), tmp_path / "resumed", progress=False).fit()
    resumed = Trainer(config(6), tmp_path / "resumed", resume=True, progress=False)
    resumed.fit()
    for name in ("G", "D"):
        for key, value in straight.nets[name].state_dict().items():
            assert torch.equal(value, resumed.nets[name].state_dict()[key]), f"{name}.{key}"
    for key, value in straight.emas["G"].state_dict().items():
        assert torch.equal(value, resumed.emas["G"].state_dict()[key]), f"G_ema.{key}"
