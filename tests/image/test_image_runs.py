"""Image-to-image runs end to end: the L1 term, the recipe's refusals, training, resume,
translate (CLI and API), eval with its baselines, and what a label-sampling command says."""

import json

import numpy as np
import pytest
import torch
from PIL import Image

from condgan.config import load_config
from condgan.errors import CondganError
from condgan.losses import l1_loss, l2_loss
from tests.test_cli import assert_user_error, condgan

TINY_P2P = ["--model", "pix2pix", "--set", "model.width=8", "--batch-size", "16"]


def train_tiny_p2p(out, data_dir, task: str, *extra: str, steps: int = 4):
    """A few steps of a tiny pix2pix run on `task`, through the CLI; returns the CLI result."""
    result = condgan(
        "train", *TINY_P2P, "--set", f"data.task={task}", *extra, "--steps", str(steps), "--out", out,
        "--no-progress", "--data-dir", data_dir,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result


def tampered_generator(run, tmp_path, **conditions):
    """A copy of the run's generator/ whose config.json says other `conditions` than its weights."""
    import shutil

    folder = tmp_path / "generator"
    shutil.copytree(run / "generator", folder)
    meta = json.loads((folder / "config.json").read_text())
    meta["conditions"].update(conditions)
    (folder / "config.json").write_text(json.dumps(meta))
    return folder


def test_l1_term_closed_form():
    x = torch.tensor([[0.5, -1.0], [0.25, 1.0]])
    t = torch.tensor([[0.0, -0.5], [0.25, -1.0]])
    torch.testing.assert_close(l1_loss(x, t), torch.tensor((0.5 + 0.5 + 0 + 2) / 4))
    torch.testing.assert_close(l2_loss(x, t), torch.tensor((0.25 + 0.25 + 0 + 4) / 4))


def test_the_recipe_of_pix2pix():
    base = {"model": {"name": "pix2pix"}, "data": {"task": "inpaint"}}
    assert dict(load_config(None, [base]).recipe().regularisers) == {"l1": 100.0}
    l1_only = load_config(None, [base, {"loss": {"adv_weight": 0}}]).recipe()
    assert l1_only.adv_weight == 0 and l1_only.weight("l1") == 100
    assert dict(load_config(None, [base, {"loss": {"l1_weight": 10}}]).recipe().regularisers) == {"l1": 10.0}
    assert load_config(None, []).recipe().regularisers == ()  # sampling models: no L1 term
    both = load_config(None, [base, {"loss": {"l2_weight": 50, "adv_weight": 0}}]).recipe()
    assert dict(both.regularisers) == {"l1": 100.0, "l2": 50.0} and both.adv_weight == 0
    l2_only = load_config(None, [base, {"loss": {"l1_weight": 0, "l2_weight": 50, "adv_weight": 0}}]).recipe()
    assert dict(l2_only.regularisers) == {"l2": 50.0}  # a reconstruction term alone is a baseline too


@pytest.mark.parametrize(
    ("overlay", "message"),
    [
        ({"model": {"name": "pix2pix"}}, "model pix2pix translates images: choose data.task"),
        ({"data": {"task": "edges"}}, "data.task=edges makes image pairs: use model pix2pix"),
        ({"loss": {"l1_weight": 5.0}}, "loss.l1_weight needs a target image for every input"),
        ({"loss": {"l2_weight": 5.0}}, "loss.l2_weight needs a target image for every input"),
        ({"loss": {"l2_weight": -1.0}}, "loss.l2_weight must be >= 0"),
        (
            {"model": {"name": "pix2pix"}, "data": {"task": "edges"}, "loss": {"adv_weight": 0, "l1_weight": 0}},
            "leaves G nothing to learn",
        ),
        (
            {"model": {"name": "pix2pix"}, "data": {"task": "edges"}, "train": {"diffaugment": "translation"}},
            "train.diffaugment does not apply to image-to-image",
        ),
        ({"data": {"task": "blur"}}, "unknown data.task 'blur'"),
        ({"model": {"name": "pix2pix"}, "data": {"task": "edges", "redraw": True}}, "not edges"),
        ({"data": {"redraw": True}}, "data.redraw applies to image-to-image tasks"),
        ({"model": {"name": "pix2pix", "patch": 50}, "data": {"task": "edges"}}, "patch must be one of 16, 34, 70"),
    ],
)
def test_config_refusals(overlay, message):
    with pytest.raises(CondganError, match=message):
        load_config(None, [overlay])


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--model", "pix2pix", "--set", "data.task=edges", "--set", "data.redraw=true"], "not edges"),
        (["--set", "data.redraw=true"], "data.redraw applies to image-to-image tasks"),
        (["--set", "model.with_label=true"], "model.with_label adds a class label"),
    ],
)
def test_new_options_refused_through_the_cli(tmp_path, flags, message):
    assert_user_error(condgan("train", *flags, "--steps", "1", "--out", tmp_path / "run"), message)


@pytest.fixture(scope="module")
def p2p_run(tmp_path_factory, shared_datasets):
    out = tmp_path_factory.mktemp("p2p") / "run"
    result = train_tiny_p2p(out, shared_datasets, "superres4", steps=6)
    assert "translate with: condgan translate" in result.stdout
    return out


def test_the_run_has_an_image_condition_and_an_input_output_target_grid(p2p_run):
    from condgan.models.storage import load_generator

    _G, condition = load_generator(p2p_run)
    assert condition.kind == "image" and condition.task == "superres4" and condition.in_channels == 1
    assert condition.source_classes == tuple("0123456789")
    grid = np.asarray(Image.open(next((p2p_run / "samples").glob("*.png"))))
    assert grid.shape[0] > 3 * 2 * 28 and grid.shape[0] < 4 * 2 * 30  # three rows of 28 px at scale 2
    rows = [json.loads(line) for line in (p2p_run / "metrics.jsonl").read_text().splitlines()]
    logged = [r for r in rows if "g_l1" in r]
    assert logged and all(r["g_loss"] > 100 * r["g_l1"] - 1e-3 for r in logged)  # adversarial + 100 L1
    assert not any("alarm" in r for r in rows)


def test_an_l2_term_beside_l1_is_logged_and_weighted(tmp_path, shared_datasets):
    train_tiny_p2p(tmp_path / "run", shared_datasets, "colourise", "--dataset", "coloured-mnist",
                   "--set", "loss.l2_weight=40", "--set", "loss.adv_weight=0", steps=3)  # fmt: skip
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    logged = [r for r in rows if "g_l2" in r]
    assert logged and all(r["g_loss"] == pytest.approx(100 * r["g_l1"] + 40 * r["g_l2"], rel=1e-4) for r in logged)


def test_a_matching_aware_patchgan_sees_targets_under_other_inputs(tmp_path, shared_datasets):
    train_tiny_p2p(tmp_path / "run", shared_datasets, "inpaint", "--set", "loss.mismatch_weight=0.5",
                   "--set", "train.log_every=1", steps=3)  # fmt: skip
    rows = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len(rows) == 3 and all(r["d_mismatch"] > 0 for r in rows)  # wrong (input, target) pairs: fake


@pytest.mark.parametrize("standing", [None, 0])
def test_the_saved_generator_has_standing_statistics(tmp_path, shared_datasets, standing):
    from condgan.models.storage import load_generator
    from condgan.train.checkpoint import load_checkpoint

    extra = ["--set", "train.ema=0.9"] + (["--set", f"train.standing_stats={standing}"] if standing is not None else [])
    train_tiny_p2p(tmp_path / "run", shared_datasets, "inpaint", *extra, steps=3)
    G, _ = load_generator(tmp_path / "run")
    trained = load_checkpoint(tmp_path / "run" / "checkpoints" / "last.pt")["emas"]["G"]
    means = [k for k in trained if k.endswith("running_mean")]
    assert means
    same = [torch.equal(G.state_dict()[k], trained[k]) for k in means]
    assert not any(same) if standing is None else all(same)  # pix2pix re-measures them by default
    resolved = (tmp_path / "run" / "config.yaml").read_text()
    assert f"standing_stats: {50 if standing is None else 0}" in resolved


@pytest.mark.parametrize("option", [None, "data.redraw=true", "model.with_label=true"])
def test_resume_is_bit_identical(tmp_path, shared_datasets, option):
    from condgan.train.checkpoint import load_checkpoint

    common = [*TINY_P2P, "--set", "data.task=inpaint", "--no-progress", "--data-dir", shared_datasets]
    common += ["--set", option] if option else []
    assert condgan("train", *common, "--steps", "4", "--out", tmp_path / "a").returncode == 0
    assert condgan("train", *common, "--steps", "2", "--out", tmp_path / "b").returncode == 0
    assert condgan("train", *common, "--steps", "4", "--out", tmp_path / "b", "--resume").returncode == 0
    a, b = (load_checkpoint(tmp_path / r / "checkpoints" / "last.pt") for r in "ab")
    for net in ("G", "D", "opt_G"):
        flat_a, flat_b = (a["opts"]["G"], b["opts"]["G"]) if net == "opt_G" else (a["nets"][net], b["nets"][net])
        if net == "opt_G":
            flat_a, flat_b = flat_a["state"], flat_b["state"]
            assert all(torch.equal(flat_a[k]["exp_avg"], flat_b[k]["exp_avg"]) for k in flat_a)
        else:
            assert all(torch.equal(flat_a[k], flat_b[k]) for k in flat_a)


def test_redraw_gives_a_fresh_hole_each_time_an_image_is_seen():
    from condgan.data.batches import PairedBatches
    from condgan.data.tasks import HOLE, make_inputs, redrawn_inputs

    targets = torch.from_numpy(np.random.default_rng(0).integers(0, 120, (8, 1, 28, 28), dtype=np.uint8))
    stored = torch.from_numpy(make_inputs("inpaint", targets.numpy(), "train"))
    fixed = PairedBatches(targets, stored, 8, seed=0)
    fresh = PairedBatches(targets, stored, 8, seed=0, redraw=redrawn_inputs("inpaint", 5))
    x0, y0 = fresh(0)
    _x1, y1 = fresh(1)  # epoch 2: the same 8 images, in another order, with new holes
    assert torch.equal(x0, fixed(0)[0]) and torch.equal(y0, fresh(0)[1])  # same targets; a pure function of step
    order0, order1 = fresh.indices(0).argsort(), fresh.indices(1).argsort()
    assert not torch.equal(y0[order0], y1[order1])
    assert not torch.equal(y0, fixed(0)[1])
    holes = ((y0 - (HOLE / 127.5 - 1)).abs() < 1e-4).sum((1, 2, 3))  # float32 of the stored grey
    assert (holes == round(28 * 3 / 8) ** 2).all()  # one full 10x10 box per image, as in the stored pairs


def test_translate_files_a_folder_and_the_api_agree(p2p_run, tmp_path):
    from condgan import load_generator
    from condgan.translate import translate

    rng = np.random.default_rng(0)
    inputs = rng.integers(0, 256, (3, 28, 28), dtype=np.uint8)
    folder = tmp_path / "in"
    folder.mkdir()
    for i, img in enumerate(inputs):
        Image.fromarray(img).save(folder / f"d{i}.png")
    result = condgan("translate", p2p_run, folder, "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr
    G, _ = load_generator(p2p_run)
    expect = translate(G, torch.from_numpy(inputs[:, None]))
    for i in range(3):
        assert np.array_equal(np.asarray(Image.open(tmp_path / "out" / f"d{i}.png")), expect[i, 0].numpy())
    one = condgan("translate", p2p_run, folder / "d1.png", "--out", tmp_path / "one.png")
    assert one.returncode == 0 and np.array_equal(np.asarray(Image.open(tmp_path / "one.png")), expect[1, 0].numpy())
    grid = condgan("translate", p2p_run, folder / "d0.png", folder / "d2.png", "--out", tmp_path / "grid.png")
    assert grid.returncode == 0 and Image.open(tmp_path / "grid.png").height > 2 * 28


def test_translate_user_errors(p2p_run, tmp_path, tiny_run):
    run_dir = tiny_run
    Image.fromarray(np.zeros((30, 30), np.uint8)).save(tmp_path / "big.png")
    assert_user_error(condgan("translate", p2p_run, tmp_path / "big.png", "--out", tmp_path / "o"), "is 30x30")
    ok = condgan("translate", p2p_run, tmp_path / "big.png", "--resize", "--out", tmp_path / "o")
    assert ok.returncode == 0 and (tmp_path / "o" / "big.png").is_file()
    assert_user_error(condgan("translate", p2p_run, tmp_path / "none.png", "--out", tmp_path / "o"), "input not found")
    assert_user_error(condgan("translate", p2p_run, "--out", tmp_path / "o"), "give INPUT images")
    labelled = condgan("translate", p2p_run, tmp_path / "big.png", "--label", "3", "--out", tmp_path / "o")
    assert_user_error(labelled, "takes no --label")
    assert_user_error(condgan("translate", p2p_run, "--split", "test", "--out", tmp_path / "x.txt"), "writes a .npz")
    assert_user_error(
        condgan("translate", p2p_run, "--split", "test", "--n", "0", "--out", tmp_path / "x.png"), "--n must be 1..64"
    )
    sampling = condgan("translate", run_dir, tmp_path / "big.png", "--out", tmp_path / "o")
    assert_user_error(sampling, "use condgan sample")
    assert_user_error(condgan("sample", p2p_run, "--out", tmp_path / "s.png"), "use condgan translate")
    assert_user_error(condgan("eval", run_dir, "--baseline", p2p_run), "--baseline compares image-to-image runs")


def test_translate_split_picture_shows_the_first_test_pairs(p2p_run, tmp_path):
    from condgan import load_generator
    from condgan.data.paired import run_pairs
    from condgan.metrics.report import run_data
    from condgan.translate import translation_grid

    result = condgan("translate", p2p_run, "--split", "test", "--n", "4", "--out", tmp_path / "grid.png")
    assert result.returncode == 0, result.stderr
    assert "first 4 test pairs" in result.stdout
    G, _ = load_generator(p2p_run)
    pairs = run_pairs(run_data(p2p_run), "test", None, None)
    expected = translation_grid(G, pairs.inputs[:4], pairs.images[:4])  # input | output | target rows
    assert np.array_equal(np.asarray(Image.open(tmp_path / "grid.png")), expected)
    assert expected.shape[0] > 3 * 28


def test_translate_split_and_eval_with_baselines(p2p_run, tmp_path, shared_datasets):
    out = tmp_path / "t.npz"
    result = condgan("translate", p2p_run, "--split", "test", "--out", out)
    assert result.returncode == 0, result.stderr
    with np.load(out) as f:
        assert f["images"].shape == (10_000, 28, 28) and f["images"].dtype == np.uint8
        assert f["inputs"].shape == f["targets"].shape == (10_000, 28, 28)
        assert set(np.unique(f["labels"])) == set(range(10))
    run = condgan("eval", p2p_run, "--baseline", p2p_run)
    assert run.returncode == 0, run.stderr
    figures = json.loads(run.stdout.strip().splitlines()[-1])
    assert set(figures["baselines"]) == {"input", "bicubic", "l1_only"}
    assert figures["baselines"]["l1_only"]["l1"] == pytest.approx(figures["l1"])  # the same model twice
    bicubic = figures["baselines"]["bicubic"]
    assert 0 < bicubic["l1"] < 0.2 and bicubic["psnr"] > 10 and 0 < bicubic["ssim"] < 1
    assert 0 <= figures["class_preserved"] <= 1 and figures["fid"] > 0
    assert "| model |" in (p2p_run / "eval.md").read_text()
    npz = json.loads(condgan("eval", out).stdout.strip().splitlines()[-1])
    assert npz["l1"] == pytest.approx(figures["l1"])
    assert npz["class_preserved"] == pytest.approx(figures["class_preserved"])


def test_ssim_and_psnr_closed_forms():
    from condgan.metrics.translation import pair_metrics, psnr, ssim

    rng = np.random.default_rng(0)
    a = torch.from_numpy(rng.integers(0, 256, (3, 1, 28, 28), dtype=np.uint8))
    assert torch.allclose(ssim(a, a), torch.ones(3)) and (psnr(a, a) == 100).all()
    b = (a.int() + 10).clamp(max=255).to(torch.uint8)
    mse = ((a.double() - b.double()) / 255).pow(2).flatten(1).mean(1)
    torch.testing.assert_close(psnr(a, b).double(), 10 * torch.log10(1 / mse), atol=1e-4, rtol=0)
    assert (ssim(a, torch.from_numpy(rng.integers(0, 256, (3, 1, 28, 28), dtype=np.uint8))) < 0.2).all()
    assert pair_metrics(a, a)["l1"] == 0


def test_a_generator_whose_family_does_not_fit_its_condition_is_refused(p2p_run, tmp_path):
    import shutil

    from condgan.models.storage import load_generator

    copy = tmp_path / "generator"
    shutil.copytree(p2p_run / "generator", copy)
    meta = json.loads((copy / "config.json").read_text())
    (copy / "config.json").write_text(json.dumps({**meta, "family": "cdcgan"}))
    with pytest.raises(CondganError, match=r"model family 'cdcgan' does not take its condition \(kind image\)"):
        load_generator(copy)


def test_data_list_names_the_tasks():
    result = condgan("data", "list")
    assert result.returncode == 0 and "superres4" in result.stdout and "data.task=TASK" in result.stdout


def test_training_errors_through_the_cli(tmp_path):
    assert_user_error(condgan("train", "--model", "pix2pix", "--out", tmp_path / "r"), "choose data.task")
    (tmp_path / "pairs" / "A" / "train").mkdir(parents=True)
    (tmp_path / "pairs" / "B" / "train").mkdir(parents=True)
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(tmp_path / "pairs" / "A" / "train" / "x.png")
    Image.fromarray(np.zeros((16, 16), np.uint8)).save(tmp_path / "pairs" / "B" / "train" / "y.png")
    result = condgan(
        "train", *TINY_P2P, "--dataset", tmp_path / "pairs", "--set", "data.task=paired", "--out", tmp_path / "r"
    )
    assert_user_error(result, "x.png has no partner")


def test_a_split_of_another_shape_and_a_mismatched_npz_are_one_line(p2p_run, tmp_path, shared_datasets):
    result = condgan(
        "translate", p2p_run, "--split", "test", "--dataset", "coloured-mnist", "--out", tmp_path / "x.npz",
        "--data-dir", shared_datasets,
    )  # fmt: skip
    assert_user_error(result, "the generator translates (1, 28, 28)")
    bad = tmp_path / "bad.npz"
    images = np.zeros((4, 28, 28), np.uint8)
    np.savez(bad, images=images, labels=np.zeros(4, np.int64), inputs=images, targets=np.zeros((4, 14, 14), np.uint8))
    assert_user_error(condgan("eval", bad), "targets must be uint8 images, one per output")
