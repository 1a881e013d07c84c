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
    images = test.images[:, 0].numpy()
    save_samples(tmp_path / "real.npz", images, test.labels.numpy())
    real = evaluate(tmp_path / "real.npz")
    assert real["cond_acc"] >= 0.99 and real["n"] == 10000
    assert json.loads((tmp_path / "real.eval.json").read_text())["cond_acc"] == real["cond_acc"]
    shuffled = np.random.default_rng(0).permutation(test.labels.numpy())
    save_samples(tmp_path / "shuffled.npz", images, shuffled)
    assert evaluate(tmp_path / "shuffled.npz")["cond_acc"] <= 0.15


def test_short_run_learns_the_condition(classifier, tmp_path):
    config = load_config(None, [{"model": {"width": 32}, "train": {"epochs": None, "steps": 300}}])
    run = Trainer(config, tmp_path / "run", progress=False).fit()
    result = evaluate(run, per_class=100)
    assert result["cond_acc"] >= 0.5, result["per_class"]  # chance is 0.1


@pytest.mark.slow
@pytest.mark.parametrize(("preset", "target"), [("mnist-cdcgan", 0.97), ("mnist-cgan-mlp", 0.90)])
def test_presets_reach_their_target(classifier, tmp_path, preset, target):
    out = tmp_path / preset
    train = subprocess.run([sys.executable, "-m", "condgan", "train", "--config", preset, "--out", str(out),
                            "--no-progress"], capture_output=True, text=True)  # fmt: skip
    assert train.returncode == 0, train.stderr
    result = evaluate(out, per_class=1000)
    assert result["cond_acc"] >= target, result["per_class"]
    assert torch.tensor(result["per_class"]).min() >= target - 0.1
