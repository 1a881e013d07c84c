import pytest
import torch

from condgan.models import MODELS, build_models
from condgan.models.dcgan import num_stages


@pytest.mark.parametrize("name", ["cdcgan", "cgan-mlp"])
@pytest.mark.parametrize("num_classes", [0, 10])
@pytest.mark.parametrize("size", [8, 28, 32])
@pytest.mark.parametrize("channels", [1, 3])
def test_shapes(name, num_classes, size, channels):
    G, D = build_models(name, z_dim=16, num_classes=num_classes, img_channels=channels, img_size=size, width=8)
    z = torch.randn(5, 16)
    y = torch.arange(5) % 10 if num_classes else None
    x = G(z, y)
    assert x.shape == (5, channels, size, size)
    assert x.min() >= -1 and x.max() <= 1  # tanh
    assert D(x, y).shape == (5,)


@pytest.mark.parametrize("size", [9, 11, 20, 47, 64])
def test_any_size_in_range(size):
    G, D = build_models("cdcgan", z_dim=4, num_classes=3, img_channels=1, img_size=size, width=4)
    x = G(torch.randn(2, 4), torch.tensor([0, 2]))
    assert x.shape[-2:] == (size, size) and D(x, torch.tensor([0, 2])).shape == (2,)


def test_size_out_of_range_is_refused():
    with pytest.raises(ValueError, match=r"img_size must be in 8..64"):
        num_stages(128)


def test_dcgan_is_cdcgan_without_labels():
    G, _ = build_models("dcgan", z_dim=8, num_classes=10, img_channels=1, img_size=28, width=8)
    assert G.num_classes == 0
    assert G(torch.randn(3, 8)).shape == (3, 1, 28, 28)


@pytest.mark.parametrize("name", ["cdcgan", "cgan-mlp"])
def test_the_label_changes_the_output(name):
    G, _ = build_models(name, z_dim=8, num_classes=10, img_channels=1, img_size=28, width=8)
    G.eval()
    z = torch.randn(1, 8).repeat(2, 1)
    x = G(z, torch.tensor([3, 7]))
    assert not torch.allclose(x[0], x[1])


def test_seed_mlp_sizes_and_dcgan_init():
    G, D = build_models("cgan-mlp", z_dim=100, num_classes=10, img_channels=1, img_size=28)
    linears = [m for m in G.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in linears] == [(110, 256), (256, 512), (512, 1024), (1024, 784)]
    d_linears = [m for m in D.modules() if isinstance(m, torch.nn.Linear)]
    assert [(m.in_features, m.out_features) for m in d_linears] == [(794, 512), (512, 256), (256, 1)]
    assert abs(linears[2].weight.std().item() - 0.02) < 0.002  # N(0, 0.02)


def test_registry_lists_models():
    assert MODELS.names() == ["cdcgan", "cgan-mlp", "dcgan"]
