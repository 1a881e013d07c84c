"""BigGAN and StyleGAN trained by the one trainer: the mapping network's rate multiplier through
the schedule, the lazy path-length term and its resumption, truncation when sampling and
evaluating, and the combinations refused in one line."""

import csv
import json

import numpy as np
import pytest
import torch
from PIL import Image

from condgan.config import load_config
from condgan.train import Trainer
from tests.test_cli import condgan


def style_config(steps: int, model: str = "stylegan", **train):
    family = {"stylegan": {"w_dim": 16, "pl_weight": 2.0, "pl_every": 2, "mixing": 0.5}} if model == "stylegan" else {}
    loss = {"r1_every": 2} if model == "stylegan" else {"ortho_weight": 1e-4}
    return load_config(
        None,
        [
            {
                "model": {"name": model, "width": 4, "z_dim": 16, **family},
                "loss": loss,
                "train": {"epochs": None, "steps": steps, "batch_size": 8, "log_every": 1, **train},
            }
        ],
    )


def test_the_mapping_network_keeps_its_hundredth_of_gs_rate_through_the_schedule(tmp_path):
    trainer = Trainer(style_config(6, lr_decay=0.5), tmp_path / "run", progress=False)
    opt, G = trainer.opts["G"], trainer.nets["G"]
    groups = {g["net"]: g for g in opt.param_groups}
    assert set(groups) == {"G", "G.mapping"}
    assert {id(p) for p in groups["G.mapping"]["params"]} == {id(p) for p in G.mapping.parameters()}
    rates, step = [], opt.step

    def recording_step(*args, **kwargs):
        rates.append((groups["G"]["lr"], groups["G.mapping"]["lr"]))
        return step(*args, **kwargs)

    opt.step = recording_step
    trainer.fit()
    assert rates[-1][0] < rates[0][0] == pytest.approx(2e-4)  # the decay ran
    for main, mapping in rates:
        assert mapping == pytest.approx(0.01 * main)


def test_path_length_term_is_lazy_and_resumes_bit_identically(tmp_path):
    straight = Trainer(style_config(6, ema=0.9), tmp_path / "straight", progress=False)
    straight.fit()
    rows = [json.loads(line) for line in (tmp_path / "straight" / "metrics.jsonl").read_text().splitlines()]
    with_pl = [row["step"] for row in rows if "g_pl" in row]
    assert with_pl == [1, 3, 5]  # every 2nd G step
    assert all(np.isfinite(row["g_pl"]) for row in rows if "g_pl" in row)
    Trainer(style_config(3, ema=0.9), tmp_path / "resumed", progress=False).fit()
    torch.manual_seed(99)  # resuming restores every stream
    resumed = Trainer(style_config(6, ema=0.9), tmp_path / "resumed", resume=True, progress=False)
    resumed.fit()
    assert torch.equal(straight.family.pl_mean, resumed.family.pl_mean)
    for name in ("G", "D"):
        for key, value in straight.nets[name].state_dict().items():
            assert torch.equal(value, resumed.nets[name].state_dict()[key]), f"{name}.{key}"
    for key, value in straight.emas["G"].state_dict().items():
        assert torch.equal(value, resumed.emas["G"].state_dict()[key]), f"G_ema.{key}"


@pytest.fixture(scope="module")
def biggan_run(tmp_path_factory):
    run = tmp_path_factory.mktemp("biggan") / "run"
    Trainer(style_config(4, model="biggan", ema=0.9), run, progress=False).fit()
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert all(row["g_ortho"] > 0 for row in rows)  # loss.ortho_weight: the term is logged
    return run


def test_sampling_with_truncation_is_recorded_and_regenerated(biggan_run, tmp_path):
    from condgan.models.storage import load_generator
    from condgan.sample_folder import read_manifest, regenerate

    out = tmp_path / "draw"
    result = condgan("sample", str(biggan_run), "--label", "3", "--n", "4", "--truncation", "0.5", "--out", str(out))
    assert result.returncode == 0, result.stderr
    assert "truncation 0.5" in result.stdout
    rows = read_manifest(out)
    assert [row["truncation"] for row in rows] == ["0.5"] * 4
    G, spec = load_generator(biggan_run)
    for row in rows:
        stored = np.asarray(Image.open(out / row["file"]))
        again = regenerate(G, spec, row, len(rows)).squeeze().astype(int)  # alone, not in a batch of 4:
        # other convolution kernels, at most one level of rounding apart
        assert np.abs(again - stored.squeeze()).max() <= 1, np.abs(again - stored.squeeze()).max()
    plain = tmp_path / "plain"
    assert condgan("sample", str(biggan_run), "--label", "3", "--n", "4", "--out", str(plain)).returncode == 0
    with open(plain / "manifest.csv", newline="") as f:
        assert [row["truncation"] for row in csv.DictReader(f)] == [""] * 4
    first = np.asarray(Image.open(plain / rows[0]["file"]))
    assert not np.array_equal(first, np.asarray(Image.open(out / rows[0]["file"])))  # truncation changed z


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--model", "biggan", "--set", "model.d_cond=projection"], "model.d_cond does not apply to model biggan"),
        (["--model", "stylegan", "--set", "model.spectral_norm=true"], "model.spectral_norm does not apply"),
        (["--model", "biggan", "--set", "model.biggan.attention=5"], "attention at 5 px: G's maps are 14, 28 px"),
        (["--model", "biggan", "--set", "model.biggan.canvas=30"], "canvas 30 px: a size G draws (28, 32, 64)"),
        (["--model", "biggan", "--set", "model.biggan.canvas=-4"], "model.biggan.canvas must be >= 0"),
        (["--model", "biggan", "--set", "model.stylegan.mixing=0.5"], "model.stylegan holds the options of model"),
        (["--model", "stylegan", "--set", "model.stylegan.mixing=2"], "model.stylegan.mixing must be in [0, 1]"),
    ],
)
def test_wrong_combinations_are_one_line(tmp_path, args, message):
    result = condgan("train", *args, "--steps", "1", "--out", str(tmp_path / "run"))
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert "Traceback" not in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_a_size_the_family_does_not_make_is_one_line(tmp_path):
    for c in ("a", "b"):
        (tmp_path / "data" / c).mkdir(parents=True)
        for i in range(4):
            Image.fromarray(np.full((48, 48, 3), 40 * i, np.uint8)).save(tmp_path / "data" / c / f"{i}.png")
    data = str(tmp_path / "data")
    result = condgan(
        "train",
        "--model",
        "stylegan",
        "--dataset",
        data,
        "--img-size",
        "48",
        "--steps",
        "1",
        "--batch-size",
        "4",
        "--out",
        str(tmp_path / "run"),
    )
    assert result.returncode == 2, result.stderr
    assert "model stylegan makes images of 28, 32, 64 px, but the data is 48 px" in result.stderr


def test_truncation_is_refused_where_it_does_not_apply(biggan_run, tiny_run, tmp_path):
    result = condgan("sample", str(tiny_run), "--truncation", "0.7", "--out", str(tmp_path / "x.png"))
    assert result.returncode == 2 and "truncation applies to models biggan and stylegan only" in result.stderr
    result = condgan("sample", str(biggan_run), "--truncation", "0", "--out", str(tmp_path / "x.png"))
    assert result.returncode == 2 and "the z threshold: in (0, 10]" in result.stderr
    result = condgan("eval", str(biggan_run), "--truncation", "1,x")
    assert result.returncode == 2 and "--truncation takes numbers" in result.stderr
    result = condgan("eval", str(biggan_run), "--truncation", "1", "--baseline", str(biggan_run))
    assert result.returncode == 2 and "--truncation sweeps a sampling run" in result.stderr
    (tmp_path / "s.npz").write_bytes(b"")
    result = condgan("eval", str(tmp_path / "s.npz"), "--truncation", "1")
    assert result.returncode == 2 and "evaluates a run directory" in result.stderr
    assert "Traceback" not in result.stderr
