import math

import pytest
import torch
from torch.testing import assert_close

from condgan.errors import CondganError
from condgan.losses import (
    LOSSES,
    REGULARISERS,
    DTerms,
    aux_classifier_loss,
    bce_d,
    bce_g,
    clip_weights_,
    critic_parameters,
    gradient_penalty,
    hinge_d,
    lsgan_d,
    lsgan_g,
    mismatch_pairs,
    r1_penalty,
    resolve_recipe,
    wasserstein_d,
    wasserstein_g,
)
from condgan.models import DOutput
from condgan.models.dcgan import DCGANDiscriminator


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


# --- the other losses against hand-computed values --------------------------------------
D_REAL, D_FAKE = torch.tensor([2.0, -0.5]), torch.tensor([0.5, -3.0])


def test_wasserstein_closed_form():
    # E[D(G(z))] - E[D(x)] = (0.5 - 3)/2 - (2 - 0.5)/2 = -1.25 - 0.75
    assert_close(wasserstein_d(D_REAL, D_FAKE), torch.tensor(-2.0))
    assert_close(wasserstein_g(D_FAKE), torch.tensor(1.25))


def test_hinge_closed_form():
    # real: max(0, 1-2)=0, max(0, 1+0.5)=1.5 -> 0.75; fake: max(0, 1+0.5)=1.5, max(0, 1-3)=0 -> 0.75
    assert_close(hinge_d(D_REAL, D_FAKE), torch.tensor(1.5))
    assert LOSSES.get("hinge").g(D_FAKE).item() == 1.25  # -E[D(G(z))]


def test_lsgan_closed_form():
    # 1/2 mean((2-1)^2, (-0.5-1)^2) + 1/2 mean(0.5^2, 3^2) = 1/2 * 1.625 + 1/2 * 4.625
    assert_close(lsgan_d(D_REAL, D_FAKE), torch.tensor(3.125))
    # 1/2 mean((0.5-1)^2, (-3-1)^2) = 1/2 * (0.25 + 16) / 2
    assert_close(lsgan_g(D_FAKE), torch.tensor(4.0625))


def test_aux_classifier_loss_closed_form():
    logits = torch.tensor([[0.0, 0.0], [math.log(3.0), 0.0]])
    # -log(1/2) and -log(3/4)
    assert_close(aux_classifier_loss(logits, torch.tensor([1, 0])), torch.tensor((math.log(2) - math.log(0.75)) / 2))


class _Linear(torch.nn.Module):
    """D(x) = <w, x>: gradient w everywhere, so the penalty is (||w|| - 1)^2."""

    def __init__(self, w: torch.Tensor) -> None:
        super().__init__()
        self.w = torch.nn.Parameter(w)

    def forward(self, x, y=None):
        return DOutput((x * self.w).flatten(1).sum(1))


class _Quadratic(torch.nn.Module):
    """D(x, y) = (y + 1)/2 * ||x||^2: gradient (y + 1) x_hat, so alpha and the label both matter."""

    def forward(self, x, y):
        return DOutput((y.float() + 1) / 2 * x.flatten(1).pow(2).sum(1))


@pytest.mark.parametrize("channels", [1, 3])
def test_gradient_penalty_linear_critic(channels):
    w = torch.full((channels, 2, 2), 0.25)  # ||w|| = 0.25 * sqrt(4 C)
    x_real, x_fake = torch.randn(3, channels, 2, 2), torch.randn(3, channels, 2, 2)
    gp = gradient_penalty(_Linear(w), x_real, x_fake, None, torch.rand(3))
    assert_close(gp, torch.tensor((0.25 * math.sqrt(4 * channels) - 1) ** 2))


@pytest.mark.parametrize("channels", [1, 3])
def test_gradient_penalty_by_hand(channels):
    x_real = torch.zeros(2, channels, 1, 1)
    x_fake = torch.ones(2, channels, 1, 1)
    alpha, y = torch.tensor([0.5, 0.0]), torch.tensor([0, 1])
    # x_hat: 0.5 and 1.0 in every channel; grad = (y + 1) x_hat, norm = (y + 1) * x_hat * sqrt(C)
    norms = torch.tensor([1 * 0.5 * math.sqrt(channels), 2 * 1.0 * math.sqrt(channels)])
    expected = ((norms - 1) ** 2).mean()
    assert_close(gradient_penalty(_Quadratic(), x_real, x_fake, y, alpha), expected)


def test_gradient_penalty_reaches_the_critic_weights():
    w = torch.full((1, 2, 2), 1.0, requires_grad=True)  # ||w|| = 2: d/dw (||w|| - 1)^2 = 2 (||w|| - 1) w / ||w||
    D = _Linear(w.detach().clone())
    gradient_penalty(D, torch.randn(4, 1, 2, 2), torch.randn(4, 1, 2, 2), None, torch.rand(4)).backward()
    assert_close(D.w.grad, torch.full((1, 2, 2), 2 * (2 - 1) * 1.0 / 2))


def test_clip_weights():
    D = _Linear(torch.tensor([[[-0.5, 0.005], [0.02, 0.01]]]))
    clip_weights_(D, 0.01)
    assert_close(D.w.detach(), torch.tensor([[[-0.01, 0.005], [0.01, 0.01]]]))


def test_clipping_leaves_the_acgan_class_head_alone():
    torch.manual_seed(0)
    D = DCGANDiscriminator(num_classes=10, img_channels=1, img_size=28, width=8, cond="acgan")
    head = D.head.classify.weight
    assert head.abs().max() > 0.01  # N(0, 0.02) init
    clip_weights_(D, 0.01)
    assert max(p.abs().max().item() for p in critic_parameters(D)) <= 0.01
    assert head.abs().max() > 0.01 and all(p is not head for p in critic_parameters(D))
    assert D.head.linear.weight.abs().max() <= 0.01  # the critic's own score is clipped


def test_every_loss_is_registered_with_its_recipe():
    assert LOSSES.names() == ["bce", "hinge", "lsgan", "wgan", "wgan-gp"]
    assert LOSSES.get("wgan").clip == 0.01 and LOSSES.get("wgan").n_critic == 5
    assert LOSSES.get("wgan-gp").gp_weight == 10 and LOSSES.get("wgan-gp").clip is None


def test_r1_penalty_of_a_linear_critic_is_the_squared_weight_norm():
    w = torch.full((1, 2, 2), 0.5)  # ||w||^2 = 1 everywhere, whatever x
    assert_close(r1_penalty(_Linear(w), torch.randn(3, 1, 2, 2), None), torch.tensor(1.0))
    x = torch.tensor([[[[1.0]]], [[[2.0]]]])
    # D = (y + 1)/2 x^2: grad (y + 1) x -> squared 1 * 1 and (2 * 2)^2, mean 8.5
    assert_close(r1_penalty(_Quadratic(), x, torch.tensor([0, 1])), torch.tensor(8.5))


def test_r1_is_a_lazy_regulariser_weighted_gamma_over_two():
    recipe = resolve_recipe(
        "bce", {"r1_gamma": 10.0, "r1_every": 4}, d_cond="concat", d_norm=None, family_d_norm="batch", n_critic=None
    )
    assert recipe.weight("r1") == 5.0 and recipe.interval("r1") == 4 and recipe.interval("gp") == 1
    eager = resolve_recipe(
        "hinge", {"r1_gamma": 1.0}, d_cond="concat", d_norm=None, family_d_norm="batch", n_critic=None
    )
    assert eager.every == () and eager.weight("r1") == 0.5
    lazy_gp = resolve_recipe(
        "wgan-gp", {"gp_every": 4}, d_cond="concat", d_norm=None, family_d_norm="batch", n_critic=1
    )
    assert lazy_gp.weight("gp") == 10.0 and lazy_gp.interval("gp") == 4


def test_r1_until_is_a_stop_of_r1_only_and_needs_r1_on():
    options = {"r1_gamma": 1.0, "r1_until": 0.6}
    recipe = resolve_recipe("bce", options, d_cond="concat", d_norm=None, family_d_norm="batch", n_critic=None)
    assert recipe.until == (("r1", 0.6),) and recipe.stops_after("r1") == 0.6 and recipe.stops_after("gp") is None
    with pytest.raises(CondganError, match=r"loss.r1_until stops a term that is off: set loss.r1_gamma too"):
        resolve_recipe("bce", {"r1_until": 0.6}, d_cond="concat", d_norm=None, family_d_norm="batch", n_critic=None)


def test_mismatch_pairs_swap_conditions_and_mark_the_rows_that_differ():
    y = torch.tensor([0, 1, 1, 2])
    draw = torch.tensor([0.9, 0.1, 0.5, 0.3])  # argsort: 1, 3, 2, 0
    y_wrong, differs = mismatch_pairs(y, draw)
    assert y_wrong.tolist() == [1, 2, 1, 0] and differs.tolist() == [True, True, False, True]
    vectors = torch.tensor([[1.0, 0.0], [1.0, 0.0], [0.0, 1.0]])  # attribute rows: a row differs anywhere
    v_wrong, v_differs = mismatch_pairs(vectors, torch.tensor([0.2, 0.1, 0.3]))
    assert_close(v_wrong, vectors[[1, 0, 2]])
    assert not v_differs.any()
    assert mismatch_pairs(vectors, torch.tensor([0.3, 0.2, 0.1]))[1].tolist() == [True, False, True]


class _LabelReader(torch.nn.Module):
    """D(x, y) = 3 * (2y - 1): says real for label 1 and fake for label 0, whatever the image."""

    def forward(self, x, y):
        return DOutput(3.0 * (2 * y.float() - 1))


@pytest.mark.parametrize("loss", ["bce", "hinge", "wgan", "lsgan"])
def test_mismatch_term_is_the_loss_fake_term_on_real_images_under_wrong_labels(loss):
    x, y = torch.zeros(4, 1, 2, 2), torch.tensor([0, 0, 1, 1])
    draw = torch.tensor([0.4, 0.3, 0.2, 0.1])  # reversed: every row gets the other label
    fake = LOSSES.get(loss).d_fake
    out = DOutput(torch.zeros(4))
    terms = DTerms(_LabelReader(), x, x, y, out, out, draw, fake)
    term = REGULARISERS.get("mismatch").d_term(terms)
    assert_close(term, fake(torch.tensor([3.0, 3.0, -3.0, -3.0])))
    same = DTerms(_LabelReader(), x, x, torch.tensor([1, 1, 1, 1]), out, out, draw, fake)
    assert REGULARISERS.get("mismatch").d_term(same).item() == 0.0  # one class: nothing to mismatch


def test_mismatch_needs_a_d_that_reads_the_label():
    recipe = resolve_recipe(
        "bce", {"mismatch_weight": 0.5}, d_cond="concat", d_norm=None, family_d_norm="batch", n_critic=None
    )
    assert recipe.weight("mismatch") == 0.5
    with pytest.raises(CondganError, match=r"loss\.mismatch_weight needs a D that reads the label"):
        resolve_recipe(
            "bce", {"mismatch_weight": 0.5}, d_cond="acgan", d_norm=None, family_d_norm="batch", n_critic=None
        )
