"""Real training judged by the domain classifier (a CNN condgan trains on MNIST's train split)."""

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from condgan.config import load_config
from condgan.data import load_dataset
from condgan.metrics.classifier import accuracy, get_classifier
from condgan.metrics.report import evaluate
from condgan.samples_file import save_samples
from condgan.train import Trainer


@pytest.fixture(scope="module")
def classifier():
    return get_classifier("mnist", verbose=False)


def test_domain_classifier_is_accurate(classifier):
    assert accuracy(classifier, load_dataset("mnist", "test")) >= 0.99


def test_eval_of_real_and_shuffled_samples(classifier, tmp_path):
    test = load_dataset("mnist", "test")
    images = test.images[:, 0].numpy()[:3000]  # 3,000 and no CAS: the full report took 90 s of the suite
    save_samples(tmp_path / "real.npz", images, test.labels.numpy()[:3000])
    real = evaluate(tmp_path / "real.npz", full=False)
    assert real["cond_acc"] >= 0.99 and real["n_fake"] == 3000
    assert json.loads((tmp_path / "real.eval.json").read_text())["cond_acc"] == real["cond_acc"]
    assert real["inception"].startswith("not computed: pass --inception-weights PATH")  # never downloads
    # A problem with the Inception weights is reported, and never fails the other metrics.
    missing = evaluate(tmp_path / "real.npz", full=False, inception_weights=tmp_path / "missing.pth")
    assert "no such file" in missing["inception"] and missing["cond_acc"] == real["cond_acc"]
    shuffled = np.random.default_rng(0).permutation(test.labels.numpy()[:3000])
    save_samples(tmp_path / "shuffled.npz", images, shuffled)
    assert evaluate(tmp_path / "shuffled.npz", full=False)["cond_acc"] <= 0.15


@pytest.mark.slow  # 500 steps at full width: 47 s of the suite on 2 cores
def test_short_run_learns_the_condition(classifier, tmp_path):
    config = load_config(None, [{"train": {"epochs": None, "steps": 500}}])  # ~0.6 of an epoch
    run = Trainer(config, tmp_path / "run", progress=False).fit()
    result = evaluate(run, per_class=100, full=False)
    assert result["cond_acc"] >= 0.4, result["per_class"]  # chance is 0.1; measured 0.59


def test_evaluation_during_training_keeps_the_best(classifier, tmp_path):
    config = load_config(
        None,
        [
            {
                "model": {"width": 8},
                "train": {
                    "epochs": None,
                    "steps": 40,
                    "batch_size": 32,
                    "eval_every": 20,
                    "eval_per_class": 20,
                    "best_metric": "cond_acc",
                },
            }
        ],
    )
    trainer = Trainer(config, tmp_path / "run", progress=False)
    run = trainer.fit()
    rows = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()]
    evals = [r for r in rows if "eval/cond_acc" in r]
    assert [r["step"] for r in evals] == [20, 40]
    assert trainer.best == max(r["eval/cond_acc"] for r in evals) == evals[-1]["best"]
    best = torch.load(run / "checkpoints" / "best.pt", weights_only=True)
    assert best["best"] == trainer.best and best["step"] in (20, 40)
    assert (run / "generator-best" / "model.safetensors").is_file()
    assert (run / "eval_fid.png").is_file() and (run / "eval_accuracy.png").is_file()


@pytest.mark.slow
@pytest.mark.parametrize(("preset", "target"), [("mnist-cdcgan", 0.97), ("mnist-cgan-mlp", 0.90)])
def test_presets_reach_their_target(classifier, tmp_path, preset, target):
    out = tmp_path / preset
    train = subprocess.run(
        [sys.executable, "-m", "condgan", "train", "--config", preset, "--out", str(out), "--no-progress"],
        capture_output=True,
        text=True,
    )
    assert train.returncode == 0, train.stderr
    alarms = [r for r in map(json.loads, (out / "metrics.jsonl").read_text().splitlines()) if "alarm" in r]
    assert alarms == [] and "alarm" not in train.stdout  # a good preset raises no false alarm
    result = evaluate(out, per_class=1000)
    assert result["cond_acc"] >= target, result["per_class"]
    assert torch.tensor(result["per_class"]).min() >= target - 0.1


def test_eval_and_compare_on_the_command_line(classifier, tmp_path):
    from tests.test_cli import assert_user_error, condgan

    test = load_dataset("mnist", "test")
    save_samples(tmp_path / "real.npz", test.images[:1000, 0].numpy(), test.labels[:1000].numpy())
    result = condgan("eval", tmp_path / "real.npz", "--fast")
    assert result.returncode == 0, result.stderr
    metrics = json.loads(result.stdout.strip().splitlines()[-1])
    assert metrics["cond_acc"] >= 0.98 and metrics["n_fake"] == 1000 and "confusion" not in metrics
    assert (tmp_path / "real.eval.md").is_file() and (tmp_path / "real.eval" / "confusion.png").is_file()
    assert f"wrote {tmp_path / 'real.eval.md'}" in result.stdout  # the report's paths, before the JSON line
    table = condgan("compare", tmp_path / "real.npz")
    assert table.returncode == 0 and f"| {tmp_path / 'real.npz'} | 1000 | {metrics['cond_acc']:.4f} |" in table.stdout
    assert_user_error(condgan("compare", tmp_path / "other.npz"), "no evaluation for")
    np.savez(tmp_path / "bad.npz", images=np.zeros((3, 28, 28), np.uint8), labels=np.zeros(2, np.int64))
    assert_user_error(condgan("eval", tmp_path / "bad.npz"), "3 images but 2 labels")
    assert_user_error(condgan("eval", tmp_path / "nope"), "does not exist")


def test_the_report_carries_the_floor_of_its_own_classifier(classifier, tmp_path):
    from condgan.metrics.classifier import cache_dir

    test = load_dataset("mnist", "test")
    save_samples(tmp_path / "real.npz", test.images[:2000, 0].numpy(), test.labels[:2000].numpy())
    result = evaluate(tmp_path / "real.npz", full=False)
    floor = result["floor"]
    assert floor["n"] == 10000 and floor["draws"] == 3
    for key in ("fid", "intra_fid", "kid", "precision", "recall", "coverage", "cond_acc"):
        assert floor[key]["min"] <= floor[key]["mean"] <= floor[key]["max"], key
    assert 0.5 < floor["fid"]["mean"] < 5 and floor["cond_acc"]["mean"] > 0.99  # real train images vs test
    assert floor["fid"]["min"] < floor["fid"]["max"]  # which images are drawn moves it
    assert not list((cache_dir() / "floors").glob("mnist-*.json"))  # the shipped judge's floor ships with it
    md = (tmp_path / "real.eval.md").read_text()
    assert "| fid | " in md and "| 2,000 / 10,000 |" in md and f"{floor['fid']['mean']:.4g} (" in md
    assert "| intra_fid | " in md and "200 / ~1,000 per class" in md


@pytest.mark.slow  # measures the floor on 30,000 + 10,000 images: ~15 s, what shipping it saves the suite
def test_the_shipped_floor_is_what_the_shipped_judge_measures(classifier):
    from condgan.metrics.floor import measure_floor, real_floor

    train, test = load_dataset("mnist", "train"), load_dataset("mnist", "test")
    shipped, measured = real_floor(classifier, train, test, "mnist"), measure_floor(classifier, train, test)
    assert shipped["n"] == measured["n"] and shipped.keys() == measured.keys()
    for key in ("fid", "intra_fid", "kid", "precision", "recall", "density", "coverage", "cond_acc"):
        for stat in ("mean", "min", "max"):  # float sums in another order: equal to ~1e-5
            assert measured[key][stat] == pytest.approx(shipped[key][stat], rel=1e-3, abs=1e-6), (key, stat)


def test_a_floor_not_shipped_is_measured_once_and_cached(classifier):
    from condgan.data import ImageData
    from condgan.metrics.classifier import cache_dir
    from condgan.metrics.floor import real_floor

    def subset(data: ImageData, n: int) -> ImageData:
        return ImageData(data.images[:n], data.labels[:n], data.class_names)

    train, test = subset(load_dataset("mnist", "train"), 3000), subset(load_dataset("mnist", "test"), 1000)
    floor = real_floor(classifier, train, test, "mnist")  # another test split: another key
    assert floor["n"] == 3000 and 0 < floor["fid"]["mean"] < 30  # every train image of the subset; ~12
    assert len(list((cache_dir() / "floors").glob("mnist-*.json"))) == 1
    assert real_floor(classifier, train, test, "mnist") == floor  # read back, not measured again
