"""Every alarm of the health watch on constructed metric streams, and the probe's figures."""

import math

import pytest
import torch

from condgan.train.guard import non_finite
from condgan.train.health import HealthWatch, spread


def feed(watch, rows, probes=None):
    fired = []
    for i, row in enumerate(rows):
        step = (i + 1) * watch.log_every
        fired += watch.observe(step, row, probes[i] if probes else None)
    return fired


def healthy_row(i=0):
    return {"D(x)": 0.7, "D(G(z))": 0.3, "g_grad_norm": 5.0 + i % 3, "d_loss": 1.1, "g_loss": 1.2}


def test_a_healthy_stream_raises_nothing():
    watch = HealthWatch(probability=True, log_every=100)
    probes = [{"diversity_ratio": 0.8, "label_ratio": 0.5}] * 30
    assert feed(watch, [healthy_row(i) for i in range(30)], probes) == []


def test_d_wins_after_a_sustained_window_once_and_again_after_it_cleared():
    watch = HealthWatch(probability=True, log_every=100, window=5)
    winning = {"D(x)": 0.99, "D(G(z))": 0.004, "g_grad_norm": 5.0}
    fired = feed(watch, [winning] * 4)
    assert fired == []  # 400 steps: not yet sustained
    fired = feed(watch, [winning] * 10)
    assert [a.kind for a in fired] == ["d_wins"]  # once, not every interval
    assert "D is winning: D(G(z)) = 0.00" in fired[0].message and "500 steps" in fired[0].message
    assert fired[0].row()["alarm"] == "d_wins" and fired[0].row()["D(G(z))"] == 0.004
    assert feed(watch, [healthy_row()] + [winning] * 5)[0].kind == "d_wins"  # re-armed once it cleared


def test_with_a_reconstruction_term_d_winning_is_no_alarm_but_vanishing_still_is():
    """pix2pix: G learns from its L1 term whatever D says; its own gradient norm still tells."""
    watch = HealthWatch(probability=True, log_every=100, window=5, reconstruction=True)
    assert feed(watch, [{"D(x)": 0.99, "D(G(z))": 0.004, "g_grad_norm": 5.0}] * 10) == []
    fired = feed(watch, [{"D(x)": 0.99, "D(G(z))": 0.004, "g_grad_norm": 1e-6}] * 5)
    assert [a.kind for a in fired] == ["vanishing"]


def test_critics_are_judged_by_their_gap_not_by_probabilities():
    watch = HealthWatch(probability=False, log_every=100, window=3)
    steady = {"D(x)": 12.0, "D(G(z))": -12.0, "g_grad_norm": 1.0}  # a large but steady gap is fine
    assert feed(watch, [steady] * 20) == []
    fired = feed(watch, [{"D(x)": 300.0, "D(G(z))": -200.0, "g_grad_norm": 1.0}] * 3)
    assert [a.kind for a in fired] == ["d_wins"] and "the critic is winning" in fired[0].message


def test_vanishing_generator_gradients():
    watch = HealthWatch(probability=False, log_every=100, window=3)
    rows = [{"g_grad_norm": 10.0}] * 2 + [{"g_grad_norm": 1e-5}] * 3
    fired = feed(watch, rows)
    assert [a.kind for a in fired] == ["vanishing"] and "gradients vanish" in fired[0].message


def test_collapse_and_ignored_labels_only_after_the_warmup():
    watch = HealthWatch(probability=True, log_every=100, window=3, warmup=300)
    probes = [{"diversity_ratio": 0.05, "label_ratio": 0.003}] * 6
    fired = feed(watch, [healthy_row()] * 6, probes)
    assert [(a.kind, a.step) for a in fired] == [("collapse", 500), ("ignores_label", 500)]
    assert "mode collapse" in fired[0].message and "5% as varied" in fired[0].message
    assert "G ignores the label" in fired[1].message


def test_eval_regression_points_at_the_best_generator():
    watch = HealthWatch(probability=True, log_every=100)
    assert watch.eval_result(1000, "fid", 10.0, None, lower_is_better=True) is None
    assert watch.eval_result(2000, "fid", 12.0, 10.0, lower_is_better=True) is None  # within 1.5x
    alarm = watch.eval_result(3000, "fid", 31.0, 10.0, lower_is_better=True)
    assert alarm.kind == "eval_regressed" and "generator-best/" in alarm.message
    assert watch.eval_result(4000, "fid", 35.0, 10.0, lower_is_better=True) is None  # said once
    assert watch.eval_result(5000, "fid", 11.0, 10.0, lower_is_better=True) is None  # recovered: re-armed
    accuracy = HealthWatch(probability=True, log_every=100)
    assert accuracy.eval_result(1000, "cond_acc", 0.95, 0.97, lower_is_better=False) is None
    assert accuracy.eval_result(2000, "cond_acc", 0.80, 0.97, lower_is_better=False).kind == "eval_regressed"


def test_non_finite_figures_are_named():
    assert non_finite({"step": 5, "d_loss": math.nan, "g_loss": 1.0, "weight_norm": math.inf}) == [
        "d_loss",
        "weight_norm",
    ]
    alarm = HealthWatch(probability=True, log_every=10).non_finite(50, ["d_loss"])
    assert alarm.kind == "nan" and "d_loss not finite at step 50" in alarm.message


def test_spread_of_identical_and_of_label_driven_images():
    same = torch.ones(3, 4, 1, 2, 2)  # 3 conditions x 4 images, all equal
    assert spread(same) == (0.0, 0.0)
    by_label = torch.arange(3.0).view(3, 1, 1, 1, 1).expand(3, 4, 1, 2, 2)  # each condition its own constant
    within, across = spread(by_label)
    assert within == 0.0 and across == pytest.approx((1 + 2 + 1) * 2 / 6)  # mean |a - b| over ordered pairs
