"""Image-to-image use of a trained pix2pix generator: images in, translated images out.

    G, condition = load_generator("runs/mnist-inpaint")
    outputs = translate(G, inputs)          # uint8 (N, C_in, h, w) -> uint8 (N, C, H, W)
                                            # (h = H, or smaller for superres*-small)

G runs in eval mode (dropout off, BatchNorm's running statistics), so one input always gives
one output.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch import nn

from condgan.conditions import Condition, ImageCondition, translates
from condgan.data.batches import to_signed_unit
from condgan.data.image_data import ImageData
from condgan.errors import CondganError
from condgan.images import fit_image, quantize
from condgan.models.conditioning import with_label_maps
from condgan.models.stargan import StarGenerator, with_attribute_maps
from condgan.sampling import eval_mode

MAX_INPUT_PIXELS = 4096 * 4096  # a bigger upload or file is refused before it is decoded


def require_image_condition(condition: Condition, what: str) -> ImageCondition:
    """The generator's image condition; a label-conditioned generator is refused, naming the command to use."""
    if not translates(condition):
        raise CondganError(
            f"{what} needs an image-to-image generator (pix2pix, CycleGAN); this one samples: use condgan sample"
        )
    return condition  # type: ignore[return-value]


def refuse_image_condition(condition: Condition, what: str) -> None:
    if translates(condition):
        raise CondganError(
            f"this generator translates images ({condition.describe()}): use condgan translate, not {what}"
        )


@torch.no_grad()
def translate(
    G: nn.Module,
    inputs: torch.Tensor | np.ndarray,
    labels: torch.Tensor | np.ndarray | None = None,
    batch_size: int = 256,
    attributes: torch.Tensor | np.ndarray | None = None,
) -> torch.Tensor:
    """inputs: uint8 (N, C_in, H, W) -> G's outputs as uint8 (N, C, H, W) on the CPU. `labels`
    (N,) int64: each input's class, for a generator trained with model.with_label (else unused).
    `attributes` (N, K) float32: each input's target attributes, for a StarGAN editor
    (ConditionSpec.edit / encode_named: a zero block keeps that factor)."""
    inputs = torch.as_tensor(inputs)
    if inputs.dtype != torch.uint8 or inputs.dim() != 4:
        raise ValueError("translate takes uint8 images of shape (N, C, H, W)")
    classes = getattr(G, "label_classes", 0)
    edits = isinstance(G, StarGenerator)
    if edits:
        if attributes is None:
            raise CondganError("this generator edits images into target attributes: give --attrs")
        attributes = torch.as_tensor(attributes, dtype=torch.float32)
        if attributes.shape != (len(inputs), classes):
            raise CondganError(f"attributes must be one row of {classes} columns per input")
    elif classes:
        if labels is None:
            raise CondganError(f"this generator takes each input's class too: give a label (0..{classes - 1})")
        labels = torch.as_tensor(labels, dtype=torch.int64)
        if labels.shape != (len(inputs),) or bool(((labels < 0) | (labels >= classes)).any()):
            raise CondganError(f"labels must be one class 0..{classes - 1} per input")
    from condgan.progress import each

    device = next(G.parameters()).device
    chunks = []
    starts = range(0, len(inputs), batch_size)
    if len(starts) > 4:  # a test split: an ETA; a few files or a serving request: none
        starts = each(starts, len(inputs), "translating", "img", every=batch_size)
    with eval_mode(G):
        for i in starts:
            x = to_signed_unit(inputs[i : i + batch_size].to(device))
            if edits:
                y = with_attribute_maps(x, attributes[i : i + batch_size])
            else:
                y = with_label_maps(x, labels[i : i + batch_size] if classes else None, classes)
            chunks.append(quantize(G(None, y).float()).cpu())
    return torch.cat(chunks) if chunks else torch.empty(0, dtype=torch.uint8)


def translate_split(
    G: nn.Module, condition: ImageCondition, run_dir: Path, split: str, dataset=None, data_dir=None, direction=None
) -> tuple[torch.Tensor, ImageData]:
    """(G's outputs, the pairs) for a split of the data the run in `run_dir` was trained on
    (`direction` BtoA: a CycleGAN run's other translator, on the targets, against the inputs)."""
    from condgan.data.paired import run_pairs
    from condgan.metrics.report import run_data

    pairs = run_pairs(run_data(run_dir), split, dataset, data_dir, direction)
    check_inputs(pairs, condition, split)
    return translate(G, pairs.inputs, pairs.labels), pairs


def check_inputs(pairs: ImageData, condition: ImageCondition, split: str) -> None:
    """Refuse a split whose inputs are not of the shape the generator translates, in one line."""
    want = (condition.in_channels, condition.input_size, condition.input_size)
    if tuple(pairs.inputs.shape[1:]) != want:
        raise CondganError(f"the {split} inputs are {tuple(pairs.inputs.shape[1:])}, the generator translates {want}")
    if condition.labelled and tuple(pairs.class_names) != condition.source_classes:
        raise CondganError(f"this generator takes the class of each input, and the {split} pairs have other classes")


def _rgb(images: torch.Tensor, channels: int) -> torch.Tensor:
    return images.expand(-1, channels, -1, -1) if images.shape[1] == 1 else images


def enlarged(images: torch.Tensor, size: int) -> torch.Tensor:
    """Square images (N, C, s, s) repeated to (N, C, size, size) where s divides size (else as they are)."""
    factor = size // images.shape[-1]
    if factor <= 1 or size % images.shape[-1]:
        return images
    return images.repeat_interleave(factor, dim=-2).repeat_interleave(factor, dim=-1)


def translation_grid(
    G: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor | None = None,
    labels: torch.Tensor | None = None,
    attributes: torch.Tensor | None = None,
) -> np.ndarray:
    """A picture with rows input | output (| target), one column per pair; uint8 (H, W[, 3])."""
    from condgan.images import PAD, hwc, label_grid, make_grid

    outputs = translate(G, inputs, labels, attributes=attributes)
    inputs = enlarged(inputs, outputs.shape[-1])  # a superres*-small input, shown at the output's size
    rows = [inputs, outputs] + ([targets] if targets is not None else [])
    channels = max(r.shape[1] for r in rows)
    stacked = torch.cat([_rgb(r.cpu(), channels) for r in rows]).numpy()
    names = ["input", "output", "target"][: len(rows)]
    array = make_grid(hwc(stacked), len(inputs))
    return label_grid(array, inputs.shape[-1], PAD, names, None)


def read_inputs(paths: list[Path], condition: ImageCondition, resize: bool = False) -> tuple[np.ndarray, list[Path]]:
    """Image files (a folder: the images in it, in name order) -> (inputs (N, C_in, S, S) uint8, their files)."""
    from condgan.data.folder import SUFFIXES

    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            found = sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)
            if not found:
                raise CondganError(f"{path} holds no images ({', '.join(sorted(SUFFIXES))})")
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise CondganError(f"input not found: {path}")
    arrays = []
    size, channels, background = condition.input_size, condition.in_channels, condition.background
    for file in files:
        try:
            with Image.open(file) as img:
                if img.width * img.height > MAX_INPUT_PIXELS:
                    raise CondganError(f"{file} is {img.width}x{img.height}: too large to translate")
                img.load()
                arrays.append(fit_image(img, size, channels, str(file), resize, "--resize to fit", background))
        except (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
            raise CondganError(f"cannot read image {file}: {err}") from None
    return np.stack(arrays), files
