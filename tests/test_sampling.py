import numpy as np
import pytest
import torch

from condgan import noise as noise_stream
from condgan.conditions import ConditionSpec, Factor
from condgan.errors import CondganError
from condgan.labels import resolve_label
from condgan.models import build_models
from condgan.sampling import grid, interpolate_conditions, interpolate_noise, noise, per_condition, sample

DIGITS = ConditionSpec.classes([str(d) for d in range(10)])


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
    images, ncol = grid(G, DIGITS, z)
    assert images.shape == (40, 1, 28, 28) and ncol == 4
    G.eval()
    torch.testing.assert_close(images[4 * 7 : 4 * 8], G(z, torch.full((4,), 7)))  # row 7: class 7, same z


def test_factor_grid_rows_share_one_noise_vector():
    spec = ConditionSpec((Factor("digit", ("0", "1", "2")), Factor("colour", ("red", "blue"))))
    torch.manual_seed(0)
    G = build_models("cdcgan", z_dim=8, num_classes=spec.dim, img_channels=3, img_size=16, width=8)[0].eval()
    z = torch.randn(2, 8)
    images, ncol = grid(G, spec, z)
    assert images.shape == (6, 3, 16, 16) and ncol == 2
    row2 = torch.from_numpy(spec.encode(np.array([[2, 0], [2, 1]])))
    torch.testing.assert_close(images[4:], G(z[[0, 0]], row2))  # row 2 is drawn with z[2 mod 2]


def test_unconditional_grid_and_per_condition():
    torch.manual_seed(0)
    G = build_models("dcgan", z_dim=8, num_classes=0, img_channels=1, img_size=16, width=8)[0]
    images, ncol = grid(G, ConditionSpec.classes(()), torch.randn(3, 8))
    assert images.shape == (3, 1, 16, 16) and ncol == 3
    codes, conditions = per_condition(ConditionSpec.classes(()), 5)
    assert codes.shape == (5, 0) and conditions is None
    codes, conditions = per_condition(DIGITS, 2)
    assert conditions.tolist() == [d for d in range(10) for _ in range(2)]


def test_one_noise_stream_for_the_cli_and_the_server():
    """`condgan sample --seed S` and `/api/generate?seed=S` draw z from condgan.noise alone."""
    z = noise(6, 8, seed=3)
    assert z.dtype == torch.float32 and np.array_equal(z.numpy(), noise_stream.noise(6, 8, 3))
    assert torch.equal(noise(2, 8, seed=3), z[:2])  # a prefix: asking for fewer images keeps the first ones
    assert not torch.equal(noise(6, 8, seed=4), z)


def test_interpolation_helpers():
    path = interpolate_noise(8, 1, 2, steps=5)
    a, b = noise_stream.noise(1, 8, 1)[0], noise_stream.noise(1, 8, 2)[0]
    np.testing.assert_allclose(path[0].numpy(), a, rtol=1e-5)
    np.testing.assert_allclose(path[-1].numpy(), b, rtol=1e-5)
    norms = path.norm(dim=1)
    assert norms.min() > 0.9 * min(np.linalg.norm(a), np.linalg.norm(b))  # slerp keeps typical norms
    mix = interpolate_conditions(DIGITS, np.array([3]), np.array([7]), steps=3)
    assert mix.shape == (3, 10) and mix[1, 3] == mix[1, 7] == 0.5 and mix[0, 3] == mix[2, 7] == 1


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
    for crafted in ("²", "③", "٣", "1e3", " "):  # digits to str.isdigit, not to int(): one clear error each
        with pytest.raises(CondganError, match=r"unknown label"):
            resolve_label(crafted, names)
