"""The built-in image-to-image tasks: what each pair is, checked on constructed images."""

import numpy as np
import pytest

from condgan.data import tasks
from condgan.data.tasks import HOLE, downsample, luminance, make_inputs, sobel_edges
from condgan.errors import CondganError


def _digits(n=50, size=28, channels=1, seed=0):
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n, channels, size, size), dtype=np.uint8).clip(0, 126)  # never the hole's value


@pytest.mark.parametrize("task", ["inpaint", "inpaint-centre"])
def test_the_hole_is_one_box_inside_the_image_and_the_rest_untouched(task):
    x = _digits()
    inputs = make_inputs(task, x, "train")
    side = round(28 * tasks.HOLE_FRACTION)
    for before, after in zip(x, inputs):
        changed = (before != after).any(0)
        hole = after[0] == HOLE
        assert (changed == hole).all()  # only the hole changed
        rows, cols = np.nonzero(hole)
        assert rows.max() - rows.min() + 1 == side and cols.max() - cols.min() + 1 == side
        assert hole.sum() == side * side  # one full box, inside the image
    if task == "inpaint-centre":
        assert (inputs[:, 0] == HOLE).all(0).sum() == side * side  # the same place in every image
    assert np.array_equal(make_inputs(task, x, "train"), inputs)  # the same pairs every time
    assert not np.array_equal(make_inputs("inpaint", x, "test"), make_inputs("inpaint", x, "train"))


@pytest.mark.parametrize("factor", [2, 4])
def test_downsampling_is_exact_on_a_constant_image(factor):
    x = np.full((3, 1, 28, 28), 173, np.uint8)
    assert (downsample(x, factor) == 173).all()
    assert np.array_equal(make_inputs(f"superres{factor}", x, "train"), x)


def test_superres_input_is_the_block_means_enlarged():
    x = np.zeros((1, 1, 8, 8), np.uint8)
    x[0, 0, :4, :4] = [[0, 0, 0, 0], [0, 0, 0, 0], [0, 0, 100, 100], [0, 0, 100, 100]]
    low = downsample(x, 4)
    assert low[0, 0, 0, 0] == 25 and low.shape == (1, 1, 2, 2)
    up = make_inputs("superres4", np.pad(x, ((0, 0), (0, 0), (0, 8), (0, 8))), "train")
    assert (up[0, 0, :4, :4] == 25).all() and (up[0, 0, 4:8, 4:8] == 0).all()
    with pytest.raises(CondganError, match="divides by 4"):
        downsample(np.zeros((1, 1, 30, 30), np.uint8), 4)


def test_edges_of_a_blank_image_are_empty_and_a_square_has_its_outline():
    assert (sobel_edges(np.full((2, 3, 28, 28), 90, np.uint8)) == 0).all()
    x = np.zeros((1, 1, 28, 28), np.uint8)
    x[0, 0, 8:20, 8:20] = 255
    edges = sobel_edges(x)[0, 0] > 0
    assert edges.shape == (28, 28)
    assert edges[8:20, 7:9].any() and edges[13, 7:9].any() and not edges[13, 13]  # outline, not the inside
    assert not edges[:5].any() and not edges[:, :5].any()


def test_colourise_input_is_the_luminance():
    rng = np.random.default_rng(1)
    x = rng.integers(0, 256, (4, 3, 28, 28), dtype=np.uint8)
    grey = make_inputs("colourise", x, "train")
    expect = np.rint(0.299 * x[:, 0] + 0.587 * x[:, 1] + 0.114 * x[:, 2])
    assert grey.shape == (4, 1, 28, 28) and np.array_equal(grey[:, 0], expect.astype(np.uint8))
    assert np.array_equal(luminance(grey), grey)
    with pytest.raises(CondganError, match="colour images"):
        make_inputs("colourise", x[:, :1], "train")


def test_unknown_task_and_paired_without_a_folder():
    with pytest.raises(CondganError, match=r"unknown data\.task 'blur'; valid: colourise, edges"):
        make_inputs("blur", _digits(), "train")
    with pytest.raises(CondganError, match="reads pairs from a folder"):
        make_inputs("paired", _digits(), "train")
