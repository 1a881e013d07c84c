"""BigGAN and StyleGAN networks: shapes, where the condition and the noise enter, the modulated
convolution against its closed form, and truncation."""

import pytest
import torch
import torch.nn.functional as F

from condgan.models import build_models
from condgan.models.biggan import BigGANGenerator
from condgan.models.stylegan import StyleGANGenerator, modulated_conv2d
from condgan.noise import noise


@pytest.mark.parametrize("family", ["biggan", "stylegan"])
@pytest.mark.parametrize("size", [28, 32, 64])
@torch.no_grad()
def test_every_size_and_a_condition_vector_equal_to_its_label(family, size):
    G, D = build_models(family, z_dim=20, num_classes=5, img_channels=3, img_size=size, width=4)
    G.eval(), D.eval()
    z, y = torch.randn(4, 20), torch.tensor([0, 1, 2, 4])
    x = G(z, y)
    assert x.shape == (4, 3, size, size) and float(x.abs().max()) <= 1
    assert D(x, y).logits.shape == (4,)
    onehot = torch.eye(5)[y]  # attribute rows go through the same lookups
    assert torch.allclose(G(z, onehot), x, atol=1e-5)
    assert torch.allclose(D(x, onehot).logits, D(x, y).logits, atol=1e-5)


def test_biggan_blocks_read_the_shared_embedding_and_their_own_z_chunk():
    G = BigGANGenerator(z_dim=20, num_classes=5, img_channels=1, img_size=64, width=4).eval()
    seen = []
    for block in G.blocks:
        block.norm1.register_forward_hook(lambda module, inputs, out: seen.append(inputs[1]))
        block.norm2.register_forward_hook(lambda module, inputs, out: seen.append(inputs[1]))
    z, y = torch.randn(3, 20), torch.tensor([0, 3, 4])
    x = G(z, y)
    chunks = torch.split(z, G.chunks, dim=1)
    assert len(G.chunks) == len(G.blocks) + 1 == 5 and sum(G.chunks) == 20
    assert len(seen) == 2 * len(G.blocks)
    for j in range(len(G.blocks)):  # both conditional norms of block j: [shared(y), chunk j + 1]
        expected = torch.cat([G.shared(y), chunks[j + 1]], dim=1)
        assert torch.equal(seen[2 * j], expected) and torch.equal(seen[2 * j + 1], expected)
    for j, width in enumerate(G.chunks):  # every chunk, the start map's included, changes the image
        moved = z.clone()
        moved[:, sum(G.chunks[:j]) : sum(G.chunks[: j + 1])] += 1.0
        assert not torch.allclose(G(moved, y), x, atol=1e-4), f"chunk {j} ({width} entries) is not used"


def test_a_biggan_on_a_larger_canvas_draws_it_from_that_canvas_start_and_keeps_its_centre():
    torch.manual_seed(0)
    G = BigGANGenerator(z_dim=20, num_classes=5, img_channels=1, img_size=28, width=4, canvas=32).eval()
    assert (G.s0, len(G.blocks), G.config["canvas"]) == (4, 3, 32)  # 4 -> 8 -> 16 -> 32, not 7 -> 14 -> 28
    drawn = []
    G.to_image.register_forward_hook(lambda module, inputs, out: drawn.append(torch.tanh(out)))
    z, y = torch.randn(3, 20), torch.tensor([0, 3, 4])
    with torch.no_grad():
        x = G(z, y)
    assert x.shape == (3, 1, 28, 28) and drawn[0].shape == (3, 1, 32, 32)
    assert torch.equal(x, drawn[0][:, :, 2:30, 2:30])
    plain = BigGANGenerator(z_dim=20, num_classes=5, img_channels=1, img_size=28, width=4)
    assert "canvas" not in plain.config and (plain.s0, len(plain.blocks)) == (7, 2)  # older folders match


def test_modulated_convolution_equals_its_closed_form():
    # one channel, a 1x1 kernel: w' = w s / |w s| = 1, so the output is the input
    x = torch.randn(1, 1, 3, 3)
    assert torch.allclose(modulated_conv2d(x, torch.full((1, 1, 1, 1), 2.0), torch.tensor([[3.0]])), x, atol=1e-6)
    torch.manual_seed(0)
    x, weight, styles = torch.randn(2, 3, 5, 5), torch.randn(4, 3, 3, 3), torch.rand(2, 3) + 0.5
    out = modulated_conv2d(x, weight, styles)
    plain = modulated_conv2d(x, weight, styles, demodulate=False)
    for n in range(2):
        modulated = weight * styles[n][None, :, None, None]
        assert torch.allclose(plain[n : n + 1], F.conv2d(x[n : n + 1], modulated, padding=1), atol=1e-5)
        demodulated = modulated / (modulated.square().sum(dim=(1, 2, 3), keepdim=True) + 1e-8).sqrt()
        assert torch.allclose(out[n : n + 1], F.conv2d(x[n : n + 1], demodulated, padding=1), atol=1e-5)


def test_psi_one_is_no_truncation_and_psi_zero_the_mean_w_of_the_condition():
    G = StyleGANGenerator(z_dim=8, num_classes=3, img_channels=1, img_size=32, width=4, w_dim=16).eval()
    z, y = torch.randn(6, 8), torch.tensor([0, 0, 1, 1, 2, 2])
    assert torch.equal(G(z, y, psi=1.0), G(z, y))
    flat = G.ws(z, y, psi=0.0)
    bank = G.mean_bank
    for i in range(6):
        mean = G.mapping(bank, y[i].repeat(len(bank)), bank).mean(0)
        assert torch.allclose(flat[i], mean.expand_as(flat[i]), atol=1e-5)
    images = G(z, y, psi=0.0)
    assert torch.allclose(images[0], images[1], atol=1e-5) and not torch.allclose(images[0], images[2], atol=1e-3)
    half = G.ws(z, y, psi=0.5)
    assert torch.allclose(half, (G.ws(z, y) + flat) / 2, atol=1e-5)


def test_style_mixing_swaps_the_later_layers_to_a_second_w():
    G = StyleGANGenerator(z_dim=8, num_classes=0, img_channels=1, img_size=28, width=4, w_dim=16, mixing=1.0)
    torch.manual_seed(0)
    ws = G.ws(torch.randn(64, 8), None)  # training mode: every sample mixed at a cut in 1..num_ws-1
    first = ws[:, :1]
    differs = (ws != first).any(dim=2)  # (N, num_ws): True after the cut
    cuts = differs.float().argmax(dim=1)
    assert bool((cuts >= 1).all()) and len(set(cuts.tolist())) > 1
    assert bool((differs.cumsum(1) > 0).eq(differs).all())  # one cut: second w from there on
    assert torch.equal(G.eval().ws(torch.zeros(2, 8), None)[:, 0], G.ws(torch.zeros(2, 8), None)[:, -1])


def test_truncated_noise_stays_within_its_threshold_and_is_a_function_of_the_seed():
    z = noise(500, 16, seed=3, threshold=0.5)
    assert float(abs(z).max()) <= 0.5 and float(z.std()) > 0.2  # redrawn, not clipped flat
    assert (noise(200, 16, seed=3, threshold=0.5) == z[:200]).all()  # the prefix property holds
    untouched = abs(noise(500, 16, seed=3)) <= 0.5
    assert (z[untouched] == noise(500, 16, seed=3)[untouched]).all()


def test_orthogonal_regularisation_has_biggans_gradient_and_spares_the_embedding():
    from torch import nn

    from condgan.losses import orthogonal_penalty

    net = nn.Sequential(nn.Linear(4, 3), nn.Embedding(5, 4))
    net[1].weight.data.normal_()
    orthogonal_penalty(net).backward()
    w = net[0].weight.detach()
    off = (w @ w.t()) * (1 - torch.eye(3))
    assert torch.allclose(net[0].weight.grad, 2 * off @ w, atol=1e-6)  # BigGAN-PyTorch's utils.ortho
    assert net[1].weight.grad is None
    rows = torch.linalg.qr(torch.randn(4, 4))[0][:3]  # orthonormal rows: nothing to penalise
    net[0].weight.data.copy_(rows * 3)  # nor their norms
    assert float(orthogonal_penalty(net).detach()) < 1e-8


@pytest.mark.parametrize("family", ["biggan", "stylegan"])
def test_d_width_widens_d_alone(family):
    from condgan.config import load_config
    from condgan.train.setup import build_for

    narrow = build_for(load_config(None, [{"model": {"name": family, "width": 4}}]), 10, 1, 28)
    config = load_config(None, [{"model": {"name": family, "width": 4, family: {"d_width": 12}}}])
    wide = build_for(config, 10, 1, 28)
    count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
    assert count(wide[0]) == count(narrow[0]) and count(wide[1]) > 4 * count(narrow[1])


def test_biggan_standing_statistics_reach_its_conditional_norms():
    from condgan.train.standing import with_standing_stats

    G = BigGANGenerator(z_dim=20, num_classes=5, img_channels=1, img_size=28, width=4)
    z, y = torch.randn(64, 20), torch.arange(64) % 5
    standing = with_standing_stats(G, [(z, y)])
    for block in standing.blocks:
        assert not torch.equal(block.norm1.bn.running_mean, torch.zeros_like(block.norm1.bn.running_mean))
    G.train()
    with torch.no_grad():
        batch = G(z, y)  # the batch's own statistics: what the standing ones were measured from
        # the running variance is the unbiased one (N / (N - 1)): close, not equal
        assert torch.allclose(standing(z, y), batch, atol=2e-3)
