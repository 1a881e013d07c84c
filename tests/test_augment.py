import pytest
import torch

from condgan.augment import OPERATIONS, DiffAugment, parse_policy
from condgan.config import load_config
from condgan.errors import CondganError


def images(n=4, c=1, size=8, seed=0):
    return torch.rand(n, c, size, size, generator=torch.Generator().manual_seed(seed)) * 2 - 1


def test_policy_parsing_names_the_bad_operation():
    assert parse_policy("translation, cutout") == ("translation", "cutout")
    assert parse_policy(None) == () and not DiffAugment("")
    with pytest.raises(CondganError, match=r"unknown operation 'flip'; valid: color, translation, cutout"):
        parse_policy("translation,flip")
    with pytest.raises(CondganError, match=r"names an operation twice"):
        parse_policy("cutout,cutout")
    with pytest.raises(CondganError, match=r"train.diffaugment: unknown operation"):
        load_config(None, [{"train": {"diffaugment": "rotate"}}])


def test_translation_shifts_by_whole_pixels_with_zero_fill():
    x = images(n=2)
    # shift fractions -> dy, dx in [-1, 1] for 8 px (ratio 1/8): 0.0 -> -1, 0.99 -> +1
    draws = {"shift": torch.tensor([[0.0, 0.99], [0.5, 0.5]])}
    out = OPERATIONS["translation"][1](x, draws)
    expected = torch.zeros_like(x[0])
    expected[:, 1:, :-1] = x[0, :, :-1, 1:]  # content moves down one row and left one column
    assert torch.equal(out[0], expected)
    assert torch.equal(out[1], x[1])  # the middle of the range is no shift


def test_cutout_zeroes_one_square_of_half_the_side():
    x = torch.ones(1, 1, 8, 8)
    out = OPERATIONS["cutout"][1](x, {"centre": torch.tensor([[0.5, 0.5]])})
    assert (out == 0).sum() == 16 and out[0, 0, 2:6, 2:6].eq(0).all()


def test_color_keeps_grey_images_grey_and_moves_brightness():
    x = images(c=1)
    d = {
        "brightness": torch.full((4, 1, 1, 1), 0.25),
        "saturation": torch.ones(4, 1, 1, 1) * 2,
        "contrast": torch.ones(4, 1, 1, 1),
    }
    assert torch.allclose(OPERATIONS["color"][1](x, d), x + 0.25)


@pytest.mark.parametrize("policy", ["color", "translation", "cutout", "color,translation,cutout"])
def test_every_operation_passes_gradients_to_the_pixels(policy):
    x = images(c=3).requires_grad_(True)
    DiffAugment(policy)(x, torch.Generator().manual_seed(0)).square().sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0


def test_draws_are_per_image_and_shardable():
    aug, x = DiffAugment("color,translation,cutout"), images(n=6, c=3)
    draws = aug.draw(6, torch.Generator().manual_seed(3), x.device)
    whole = aug.apply(x, draws)
    half = aug.apply(x[3:], draws, shard=lambda t: t[3:])  # the second process of two
    assert torch.equal(whole[3:], half)
    again = aug.apply(x, aug.draw(6, torch.Generator().manual_seed(3), x.device))
    assert torch.equal(whole, again)  # the same seed, the same augmentation
    assert not torch.equal(draws[1]["shift"][0], draws[1]["shift"][1])  # each image its own shift


def test_channels_last_input_gives_the_same_values():
    aug, x = DiffAugment("translation,cutout"), images(c=3)
    draws = aug.draw(4, torch.Generator().manual_seed(1), x.device)
    nhwc = aug.apply(x.contiguous(memory_format=torch.channels_last), draws)
    assert torch.equal(nhwc, aug.apply(x, draws)) and nhwc.is_contiguous(memory_format=torch.channels_last)
