import pytest
import torch

from condgan.errors import CondganError
from condgan.labels import resolve_label
from condgan.models import build_models
from condgan.sampling import class_grid, sample


@pytest.fixture
def G():
    torch.manual_seed(0)
    return build_models("cdcgan", z_dim=8, num_classes=10, img_channels=1, img_size=28, width=8)[0]


def test_same_seed_same_images_any_batch_size(G):
    labels = torch.arange(10).repeat(3)
    a = sample(G, labels, seed=5)
    assert torch.equal(a, sample(G, labels, seed=5))
    torch.testing.assert_close(a, sample(G, labels, seed=5, batch_size=7))  # kernels differ by batch
    assert not torch.equal(a, sample(G, labels, seed=6))
    assert G.training  # sampling restores the mode it found


def test_class_grid_rows_are_classes(G):
    z = torch.randn(4, 8)
    grid = class_grid(G, z)
    assert grid.shape == (40, 1, 28, 28)
    G.eval()
    torch.testing.assert_close(grid[4 * 7 : 4 * 8], G(z, torch.full((4,), 7)))  # row 7: class 7, same z


def test_label_by_index_or_name():
    names = ["t-shirt", "trouser"]
    assert resolve_label("1", names) == 1 and resolve_label("trouser", names) == 1
    with pytest.raises(CondganError, match=r"label 2 out of range: this generator has classes 0..1"):
        resolve_label("2", names)
    with pytest.raises(CondganError, match=r"label -1 out of range"):
        resolve_label("-1", names)
    with pytest.raises(CondganError, match=r"unknown label 'shoe'; valid: 0..1 or t-shirt, trouser"):
        resolve_label("shoe", names)
    with pytest.raises(CondganError, match=r"unconditional"):
        resolve_label("1", [])
