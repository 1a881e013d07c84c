import math

import torch
from torch.testing import assert_close

from condgan.losses import LOSSES, bce_d, bce_g


def test_bce_closed_form():
    # D(x) = sigmoid(0) = 1/2 everywhere: -log(1/2) per term.
    zeros = torch.zeros(4)
    assert_close(bce_d(zeros, zeros), torch.tensor(2 * math.log(2)))
    assert_close(bce_g(zeros), torch.tensor(math.log(2)))
    # logit t: -log(sigmoid(t)) = log(1 + e^-t).
    d_real, d_fake = torch.tensor([2.0, -1.0]), torch.tensor([0.5, 3.0])
    expected = (math.log1p(math.exp(-2)) + math.log1p(math.exp(1))) / 2 + (
        math.log1p(math.exp(0.5)) + math.log1p(math.exp(3))
    ) / 2
    assert_close(bce_d(d_real, d_fake), torch.tensor(expected))
    assert_close(bce_g(d_fake), torch.tensor((math.log1p(math.exp(-0.5)) + math.log1p(math.exp(-3))) / 2))


def test_bce_is_stable_for_extreme_logits():
    big = torch.tensor([1e4, -1e4])
    assert torch.isfinite(bce_d(big, -big)) and torch.isfinite(bce_g(big))
    assert_close(bce_d(torch.tensor([100.0]), torch.tensor([-100.0])), torch.tensor(0.0), atol=1e-30, rtol=0)
    assert_close(bce_g(torch.tensor([-100.0])), torch.tensor(100.0))


def test_non_saturating_generator_gradient():
    # When D confidently rejects fakes, -log D(G(z)) still has gradient ~ -1 (log(1 - D) has ~0).
    t = torch.tensor([-10.0], requires_grad=True)
    bce_g(t).backward()
    assert t.grad.item() < -0.99


def test_registry():
    assert LOSSES.get("bce").d is bce_d
