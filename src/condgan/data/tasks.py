"""Image-to-image tasks made from any labelled dataset: (input, target) pairs for pix2pix.

Each task maps target images (N, C, H, W) uint8 to the inputs G learns to translate, with
the same height and width (the U-Net maps an image to an image of its own size):

- `inpaint`: a box of 3/8 the side (10x10 px of 28x28: 14% of the image) at a random place
  in every image, painted mid-grey (127: neither the black background nor a white stroke, so
  G can see where the hole is); `inpaint-centre`: the box in the middle. (A half-size box
  erases what tells digits apart too often: MNIST's classifier reads 48% of such images right
  with the hole black, 78% with this box.)
- `superres2` / `superres4`: the image averaged over 2x2 / 4x4 blocks, then enlarged back by
  repeating each block (nearest): the detail is what G must restore; `superres2-small` /
  `superres4-small`: the block means themselves (a 7x7 input for a 28x28 target), not
  enlarged: G and D enlarge them (condgan.models.pix2pix), so a user's low-resolution
  images go in as they are;
- `edges`: a binary Sobel edge map of the image's luminance (edges2shoes' analogue);
- `colourise`: the luminance (ITU-R 601) of a colour image.

Masks are drawn from a generator seeded by the split's name, so a split's pairs are the same
every time. `paired` reads pairs from a folder instead (condgan.data.paired).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from condgan.errors import CondganError
from condgan.registry import Registry

DIRECTIONS = ("AtoB", "BtoA")
HOLE = 127  # the value of an inpainting hole
HOLE_FRACTION = 3 / 8  # its side, of the image's
EDGE_THRESHOLD = 0.25  # Sobel magnitude, as a fraction of a full black-to-white step's, that is an edge
LUMA = np.array([0.299, 0.587, 0.114])  # ITU-R BT.601


@dataclass(frozen=True)
class PairTask:
    """make(targets (N, C, H, W) uint8, rng) -> inputs (N, C_in, H, W) uint8; None: read from a folder."""

    make: Callable[[np.ndarray, np.random.Generator], np.ndarray] | None
    summary: str
    input_channels: Callable[[int], int] = lambda c: c  # C_in from the target's C
    random: bool = False  # make draws from rng (inpaint's box): training can draw it anew (data.redraw)


def _box(images: np.ndarray, rng: np.random.Generator, centred: bool) -> np.ndarray:
    n, _, h, w = images.shape
    bh, bw = max(1, round(h * HOLE_FRACTION)), max(1, round(w * HOLE_FRACTION))
    if centred:
        tops, lefts = np.full(n, (h - bh) // 2), np.full(n, (w - bw) // 2)
    else:
        tops, lefts = rng.integers(0, h - bh + 1, n), rng.integers(0, w - bw + 1, n)
    rows = np.arange(h)[None, :, None]
    cols = np.arange(w)[None, None, :]
    in_rows = (rows >= tops[:, None, None]) & (rows < (tops + bh)[:, None, None])
    mask = in_rows & (cols >= lefts[:, None, None]) & (cols < (lefts + bw)[:, None, None])
    out = images.copy()
    out[np.broadcast_to(mask[:, None], out.shape)] = HOLE
    return out


def inpaint_mask(images: np.ndarray) -> np.ndarray:
    """Where the hole is: (N, H, W) bool (every channel at HOLE)."""
    return (images == HOLE).all(axis=1)


def downsample(images: np.ndarray, factor: int) -> np.ndarray:
    """(N, C, H, W) uint8 -> (N, C, H/f, W/f) block means, rounded."""
    n, c, h, w = images.shape
    if h % factor or w % factor:
        raise CondganError(f"superres{factor} needs images whose size divides by {factor}, got {h}x{w}")
    blocks = images.reshape(n, c, h // factor, factor, w // factor, factor).astype(np.float64)
    return np.rint(blocks.mean(axis=(3, 5))).astype(np.uint8)


def _superres(factor: int, enlarged: bool = True) -> Callable[[np.ndarray, np.random.Generator], np.ndarray]:
    def make(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        low = downsample(images, factor)
        return low.repeat(factor, axis=2).repeat(factor, axis=3) if enlarged else low

    return make


def superres_factor(task: str) -> int | None:
    """4 for superres4 and superres4-small; None for a task that is not super-resolution."""
    digits = task.removeprefix("superres").removesuffix("-small")
    return int(digits) if task.startswith("superres") and digits.isdecimal() and digits.isascii() else None


def luminance(images: np.ndarray) -> np.ndarray:
    """(N, 3, H, W) uint8 RGB -> (N, 1, H, W) uint8 grey; grey images pass through."""
    if images.shape[1] == 1:
        return images
    if images.shape[1] != 3:
        raise CondganError(f"luminance needs grey or RGB images, got {images.shape[1]} channels")
    # contiguous first: the BLAS sum's order follows the memory layout, and a view (an NHWC array
    # transposed) could round a .5 the other way
    grey = np.tensordot(LUMA, np.ascontiguousarray(images, dtype=np.float64), axes=([0], [1]))
    return np.clip(np.rint(grey), 0, 255).astype(np.uint8)[:, None]


def sobel_edges(images: np.ndarray) -> np.ndarray:
    """(N, C, H, W) uint8 -> (N, 1, H, W) uint8: 255 on an edge of the luminance, else 0."""
    grey = luminance(images)[:, 0].astype(np.float64) / 255.0
    p = np.pad(grey, ((0, 0), (1, 1), (1, 1)), mode="edge")
    gx = (p[:, :-2, 2:] + 2 * p[:, 1:-1, 2:] + p[:, 2:, 2:]) - (p[:, :-2, :-2] + 2 * p[:, 1:-1, :-2] + p[:, 2:, :-2])
    gy = (p[:, 2:, :-2] + 2 * p[:, 2:, 1:-1] + p[:, 2:, 2:]) - (p[:, :-2, :-2] + 2 * p[:, :-2, 1:-1] + p[:, :-2, 2:])
    magnitude = np.hypot(gx, gy) / 4.0  # a full black-to-white step gives 1
    return np.where(magnitude > EDGE_THRESHOLD, 255, 0).astype(np.uint8)[:, None]


def _colourise(images: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    if images.shape[1] != 3:
        raise CondganError(
            "task colourise needs colour images (coloured-mnist, or an RGB image folder with data.channels=3)"
        )
    return luminance(images)


PAIR_TASKS: Registry[PairTask] = Registry("data.task")
PAIR_TASKS.add(
    "inpaint", PairTask(lambda x, rng: _box(x, rng, centred=False), "a random 3/8-side box masked out", random=True)
)
PAIR_TASKS.add("inpaint-centre", PairTask(lambda x, rng: _box(x, rng, centred=True), "the central box masked out"))
PAIR_TASKS.add("superres2", PairTask(_superres(2), "2x2 block means, enlarged back"))
PAIR_TASKS.add("superres4", PairTask(_superres(4), "4x4 block means, enlarged back"))
PAIR_TASKS.add("superres2-small", PairTask(_superres(2, enlarged=False), "2x2 block means, not enlarged (G does it)"))
PAIR_TASKS.add("superres4-small", PairTask(_superres(4, enlarged=False), "4x4 block means, not enlarged (G does it)"))
PAIR_TASKS.add("edges", PairTask(lambda x, rng: sobel_edges(x), "Sobel edge map -> image", lambda c: 1))
PAIR_TASKS.add("colourise", PairTask(_colourise, "luminance -> colour", lambda c: 1))
PAIR_TASKS.add("paired", PairTask(None, "pairs read from a folder (A|B side by side, or A/ and B/)"))
PAIR_TASKS.add(
    "unpaired", PairTask(None, "two unmatched folders A/ and B/ (or trainA/ trainB/ testA/ testB/): CycleGAN")
)
FOLDER_TASKS = ("paired", "unpaired")


def redrawn_inputs(task: str, seed: int) -> Callable[[np.ndarray, int], np.ndarray]:
    """(targets of batch `step`, step) -> their inputs drawn anew: a pure function of (seed, step),
    so a resumed run sees the same holes as an uninterrupted one."""
    make = PAIR_TASKS.get(task).make
    if make is None or not PAIR_TASKS.get(task).random:
        raise CondganError(f"data.redraw needs a task that draws its inputs at random (inpaint), not {task}")

    def draw(targets: np.ndarray, step: int) -> np.ndarray:
        return make(targets, np.random.default_rng([seed, step]))

    return draw


def make_inputs(task: str, targets: np.ndarray, split: str) -> np.ndarray:
    """The inputs of a built-in task for one split's targets (the same on every call)."""
    spec = PAIR_TASKS.get(task)
    if spec.make is None:
        raise CondganError(f"data.task={task} reads pairs from a folder: pass the folder as --dataset")
    rng = np.random.default_rng(zlib.crc32(f"{task}/{split}".encode()))
    return spec.make(targets, rng)
