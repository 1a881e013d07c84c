import torch
from torch import nn

from condgan.train.ema import make_ema, update_ema_, warmed_decay


def test_warm_up_reaches_the_set_decay_and_never_exceeds_it():
    assert warmed_decay(0.999, 0) == 0.1
    assert warmed_decay(0.999, 90) == 91 / 100
    assert warmed_decay(0.999, 8_991) == 0.999  # (1 + s) / (10 + s) first reaches 0.999 here
    assert all(warmed_decay(0.99, s) <= 0.99 for s in range(0, 5000, 7))


def test_an_early_average_follows_g_instead_of_keeping_the_initial_weights():
    # 937 steps (one MNIST epoch at batch 64) with 0.999: without warm-up 39% of the average
    # would still be the initial weight; with it, under 1%.
    G = nn.Linear(1, 1, bias=False)
    with torch.no_grad():
        G.weight.fill_(0.0)
    G_ema = make_ema(G)
    with torch.no_grad():
        G.weight.fill_(1.0)  # G moved away from its initial weight at once and stayed
    for step in range(937):
        update_ema_(G_ema, G, warmed_decay(0.999, step))
    share_of_init = 1.0 - G_ema.weight.item()
    assert share_of_init < 0.01
    assert 0.999**937 > 0.39  # what a fixed decay would have kept
