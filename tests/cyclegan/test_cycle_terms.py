"""CycleGAN's terms against closed forms, its image pool, and its generator's shapes."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from condgan.losses import LOSSES, cycle_loss
from condgan.models.conditioning import DOutput
from condgan.models.cyclegan import ResnetGenerator
from condgan.objectives.cyclegan import CycleBatch, CycleContext, CycleWeights, ImagePool, generator_loss


class Scale(nn.Module):
    """G(x) = s * x: a translator whose round trip and identity errors have closed forms."""

    def __init__(self, s: float) -> None:
        super().__init__()
        self.s = s

    def forward(self, z, y):
        return self.s * y


class Constant(nn.Module):
    """D(x) = c for every patch."""

    def __init__(self, c: float) -> None:
        super().__init__()
        self.c = c

    def forward(self, x, y=None):
        return DOutput(torch.full((len(x), 4), self.c))


def context(s: float, c: float, weights: CycleWeights) -> CycleContext:
    nets = {"G_AB": Scale(s), "G_BA": Scale(s), "D_A": Constant(c), "D_B": Constant(c)}
    none = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0)
    pools = {"A": ImagePool(0), "B": ImagePool(0)}
    return CycleContext(nets, none, none, LOSSES.get("lsgan"), weights, pools, torch.no_grad, lambda o: None, None)


def test_cycle_and_identity_terms_match_their_closed_forms():
    a, b = torch.full((2, 1, 4, 4), 0.5), torch.full((2, 1, 4, 4), -0.25)
    s, c, lam, idt = 0.5, 0.2, 10.0, 0.5
    loss, fakes, stats = generator_loss(context(s, c, CycleWeights(1.0, lam, lam * idt)), CycleBatch(a, b))
    # round trip s^2 x: |s^2 x - x| = (1 - s^2)|x|; identity s x: (1 - s)|x|
    cycle = (1 - s**2) * (0.5 + 0.25)
    identity = (1 - s) * (0.5 + 0.25)
    adversarial = 2 * 0.5 * (c - 1) ** 2  # LSGAN's G term, each way
    torch.testing.assert_close(stats["g_cycle"], torch.tensor(cycle))
    torch.testing.assert_close(stats["g_identity"], torch.tensor(identity))
    torch.testing.assert_close(stats["g_adv"], torch.tensor(adversarial))
    torch.testing.assert_close(loss, torch.tensor(adversarial + lam * cycle + lam * idt * identity))
    torch.testing.assert_close(fakes["B"], s * a)


def test_the_b_cycle_takes_its_own_weight():
    a, b = torch.full((2, 1, 4, 4), 0.5), torch.full((2, 1, 4, 4), -0.25)
    s = 0.5
    loss, _, _ = generator_loss(context(s, 1.0, CycleWeights(0.0, 10.0, 0.0, cycle_b=2.0)), CycleBatch(a, b))
    torch.testing.assert_close(loss, torch.tensor(10.0 * (1 - s**2) * 0.5 + 2.0 * (1 - s**2) * 0.25))


def test_identity_off_leaves_the_term_out():
    a = torch.ones(1, 1, 4, 4)
    loss, _, stats = generator_loss(context(1.0, 1.0, CycleWeights(1.0, 10.0, 0.0)), CycleBatch(a, a))
    assert "g_identity" not in stats and float(loss) == 0.0  # a perfect round trip, D fooled: nothing to learn


def test_cycle_noise_reaches_the_way_back_only():
    a = torch.full((4, 1, 8, 8), 0.5)
    ctx = context(1.0, 1.0, CycleWeights(1.0, 10.0, 0.0, noise=0.1))
    ctx = CycleContext(**{**ctx.__dict__, "generator": torch.Generator().manual_seed(0)})
    _, fakes, stats = generator_loss(ctx, CycleBatch(a, a))
    assert torch.equal(fakes["B"], a)  # D judges the translation itself
    # |G_BA(fake + noise) - a| = |noise|: E|N(0, s^2)| = s sqrt(2 / pi), each way
    expected = 2 * 0.1 * (2 / torch.pi) ** 0.5
    assert abs(float(stats["g_cycle"]) - expected) < 0.01


def test_cycle_loss_is_the_mean_absolute_round_trip_error():
    x = torch.tensor([[[[0.0, 1.0], [-1.0, 0.5]]]])
    torch.testing.assert_close(cycle_loss(x, torch.zeros_like(x)), torch.tensor(2.5 / 4))


def test_the_pool_fills_then_swaps_about_half_and_restores_exactly():
    gen = torch.Generator().manual_seed(0)
    pool = ImagePool(4)
    first = torch.arange(4.0).view(4, 1, 1, 1)
    assert torch.equal(pool.query(first, gen), first)  # filling: the new fakes pass through
    new = 10 + torch.arange(64.0).view(64, 1, 1, 1)
    out = pool.query(new, gen)
    from_pool = (out != new).flatten()
    assert 20 <= int(from_pool.sum()) <= 44  # about half come from the pool
    assert all(float(v) in set(range(4)) | set(range(10, 74)) for v in out.flatten())
    state = pool.state_dict()
    again, gen2 = ImagePool(4), torch.Generator().manual_seed(1)
    again.load_state_dict(state)
    gen.manual_seed(1)
    assert torch.equal(pool.query(new, gen), again.query(new, gen2))


def test_a_pool_of_zero_returns_the_newest_fakes():
    x = torch.randn(3, 1, 2, 2)
    assert ImagePool(0).query(x, torch.Generator()) is x


@pytest.mark.parametrize("size", [16, 28, 32])
def test_the_resnet_generator_keeps_the_size_and_pads_by_reflection(size):
    G = ResnetGenerator(1, 3, size, width=8, blocks=2)
    out = G(None, torch.randn(2, 1, size, size))
    assert out.shape == (2, 3, size, size) and out.abs().max() <= 1
    assert any(isinstance(m, nn.ReflectionPad2d) for m in G.modules())
    with pytest.raises(ValueError, match="multiple of 4"):
        ResnetGenerator(1, 1, 18)
