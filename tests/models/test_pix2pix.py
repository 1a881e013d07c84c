"""The U-Net and the PatchGAN: shapes for several sizes and channel counts, the skip path, the
receptive field, and the configuration's refusals."""

import pytest
import torch

from condgan.errors import CondganError
from condgan.models import build_models
from condgan.models.pix2pix import PatchDiscriminator, UNetGenerator, unet_depth


@pytest.mark.parametrize(
    ("size", "c_in", "c_out", "depth"),
    [(16, 1, 1, 3), (28, 1, 3, 2), (32, 3, 3, 4), (64, 4, 1, 5), (256, 3, 3, 7)],
)
def test_unet_maps_an_image_to_an_image_of_its_size(size, c_in, c_out, depth):
    assert unet_depth(size) == depth
    G = UNetGenerator(c_in, c_out, size, width=4)
    y = torch.rand(2, c_in, size, size) * 2 - 1
    x = G(None, y)
    assert x.shape == (2, c_out, size, size)
    assert x.abs().max() <= 1
    assert G.z_dim == 0 and G.num_classes == 0


@pytest.mark.parametrize("size", [15, 17, 14 * 9, 300, 8])
def test_unet_refuses_sizes_that_do_not_halve_twice(size):
    with pytest.raises(ValueError, match="U-Net img_size"):
        unet_depth(size)


def test_the_skip_connections_carry_the_input_around_the_bottleneck():
    """An input pixel reaches the output pixel at the same place through the first skip: the
    gradient of one output pixel is largest at its own location's neighbourhood."""
    torch.manual_seed(0)
    G = UNetGenerator(1, 1, 32, width=4, norm="none", dropout=0).eval()
    y = (torch.rand(1, 1, 32, 32) * 2 - 1).requires_grad_(True)
    G(None, y)[0, 0, 5, 27].backward()
    grad = y.grad[0, 0].abs()
    assert grad[3:8, 25:30].sum() > 0
    assert grad.argmax() // 32 in range(3, 8) and grad.argmax() % 32 in range(25, 30)


@pytest.mark.parametrize("norm", ["batch", "instance", "none"])
def test_dropout_is_the_noise_in_training_and_off_in_eval(norm):
    torch.manual_seed(0)
    G = UNetGenerator(1, 1, 28, width=4, norm=norm)
    y = torch.rand(4, 1, 28, 28) * 2 - 1
    G.train()
    assert not torch.equal(G(None, y), G(None, y))
    G.eval()
    torch.testing.assert_close(G(None, y), G(None, y), rtol=0, atol=0)


@pytest.mark.parametrize(("rf", "size", "patches"), [(16, 28, 12 * 12), (34, 28, 5 * 5), (70, 64, 6 * 6), (70, 28, 1)])
def test_patchgan_gives_one_logit_per_patch(rf, size, patches):
    D = PatchDiscriminator(1, 3, size, width=4, receptive_field=rf)
    out = D(torch.zeros(2, 3, size, size), torch.zeros(2, 1, size, size))
    assert out.logits.shape == (2, patches)


@pytest.mark.parametrize("rf", [16, 34, 70])
def test_patchgan_receptive_field_is_what_it_says(rf):
    """A centre logit's gradient reaches at most `rf` input pixels across, and at least rf - 6."""
    torch.manual_seed(0)
    D = PatchDiscriminator(1, 1, 96, width=4, norm="none", receptive_field=rf)
    x = (torch.rand(1, 1, 96, 96) * 2 - 1).requires_grad_(True)
    logits = D.net(torch.cat([torch.zeros_like(x), x], 1))
    h, w = logits.shape[-2:]
    logits[0, 0, h // 2, w // 2].backward()
    cols = (x.grad[0, 0].abs().sum(0) > 0).nonzero()
    extent = int(cols.max() - cols.min() + 1)
    assert rf - 6 <= extent <= rf


def test_build_models_for_pix2pix_and_its_refusals():
    G, _D = build_models("pix2pix", z_dim=100, num_classes=0, img_channels=3, img_size=28, in_channels=1, width=8)
    assert G.config["in_channels"] == 1 and G.config["img_channels"] == 3
    with pytest.raises(CondganError, match="paired data"):
        build_models("pix2pix", z_dim=100, num_classes=0, img_channels=1, img_size=28, width=8)
    with pytest.raises(CondganError, match=r"model\.patch"):
        build_models("pix2pix", z_dim=0, num_classes=0, img_channels=1, img_size=28, in_channels=1, patch=50)
    with pytest.raises(CondganError, match="conditioned on an image"):
        build_models("pix2pix", z_dim=0, num_classes=0, img_channels=1, img_size=28, in_channels=1, d_cond="projection")
    with pytest.raises(CondganError, match="halve at least twice"):
        build_models("pix2pix", z_dim=0, num_classes=0, img_channels=1, img_size=30, in_channels=1)
    with pytest.raises(CondganError, match="image-conditioned models"):
        build_models("cdcgan", z_dim=10, num_classes=10, img_channels=1, img_size=28, norm="instance")
