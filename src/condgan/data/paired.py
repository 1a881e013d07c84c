"""Paired data for image-to-image translation: (input, target) images and the source's label.

Two sources:
- a built-in task (condgan.data.tasks) applied to any dataset of the catalog, coloured-mnist or
  an image folder: `--dataset mnist --set data.task=inpaint`; the label of every source image
  travels with its pair (coloured-mnist: the digit);
- a paired folder (`--set data.task=paired --dataset DIR`), in either of pix2pix's layouts:
    DIR/train/*.png, DIR/test/*.png    each file A and B side by side (width = 2 x height)
    DIR/A/train/x.png, DIR/B/train/x.png   two folders matched by file name
  `val/` stands in for a missing `test/`; without split folders every 10th file is the test
  split. `data.direction=BtoA` swaps input and target. Every pair must have one size (or give
  data.img_size to resize them all); the first file that does not fit is named.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from condgan.conditions import ImageCondition
from condgan.data.folder import GREY_MODES, SUFFIXES, TEST_EVERY
from condgan.data.image_data import ImageData
from condgan.data.tasks import make_inputs
from condgan.errors import CondganError

SPLIT_DIRS = {"train": ("train",), "test": ("test", "val")}


def load_pairs(
    name: str,
    task: str,
    split: str = "train",
    data_dir: str | Path | None = None,
    *,
    img_size: int | None = None,
    channels: int | None = None,
    direction: str = "AtoB",
) -> ImageData:
    """One split as paired ImageData: `images` the targets, `inputs` G's inputs (both uint8
    (N, C, H, W)), `labels` the source's class (int64; zeros without one), spec an ImageCondition."""
    from condgan.data import emoji  # data/__init__ imports the catalog; this module stays light

    if task == "paired" and name in emoji.FONT_DATASETS:
        data = emoji.load_font_dataset(name, split, img_size, channels)
        if data.inputs is None:
            paired = ", ".join(n for n, d in emoji.FONT_DATASETS.items() if d.paired)
            raise CondganError(f"{name} has no pairs for data.task=paired (datasets with pairs: {paired})")
        inputs, targets = data.inputs.numpy(), data.images.numpy()
        if direction == "BtoA":
            inputs, targets = targets, inputs
        labels, names = _source_labels(data)
    elif task == "paired":
        inputs, targets = _read_pair_folder(Path(name), split, img_size, channels, direction)
        labels, names = np.zeros(len(targets), np.int64), ()
    else:
        from condgan.data import load_dataset  # data/__init__ imports the catalog; this module stays light

        data = load_dataset(name, split, data_dir, img_size=img_size, channels=channels)
        if not isinstance(data.images, torch.Tensor):
            raise CondganError(f"{name} is too large to hold in memory for data.task={task}")
        targets = data.images.numpy()
        inputs = make_inputs(task, targets, split)
        labels, names = _source_labels(data)
    in_size = inputs.shape[-1] if inputs.shape[-1] != targets.shape[-1] else None  # superres*-small: smaller
    condition = ImageCondition(inputs.shape[1], targets.shape[-1], task, names, in_size)
    return ImageData(
        images=torch.from_numpy(np.ascontiguousarray(targets)),
        labels=torch.from_numpy(labels),
        class_names=names,
        spec=condition,
        inputs=torch.from_numpy(np.ascontiguousarray(inputs)),
    )


def run_pairs(
    trained: dict,
    split: str,
    dataset: str | None = None,
    data_dir: str | Path | None = None,
    direction: str | None = None,
) -> ImageData:
    """A split of the pairs a run was trained on (`trained`: its config.yaml data section);
    `dataset` / `data_dir` replace the run's. `direction` BtoA (a CycleGAN run's other
    translator): the targets become the inputs and the inputs the truth."""
    if not trained.get("task"):
        raise CondganError("no image-to-image training data recorded: give a pix2pix run directory (with config.yaml)")
    if trained["task"] == "unpaired":
        raise CondganError(
            "an unpaired folder's test split has no pairs to translate against: translate its files "
            "(condgan translate RUN FOLDER/testA --out out/) or evaluate the run (FID and cycle error)"
        )
    pairs = load_pairs(
        dataset or trained["dataset"],
        trained["task"],
        split,
        data_dir or trained.get("data_dir"),
        img_size=trained.get("img_size"),
        channels=trained.get("channels"),
        direction=trained.get("direction", "AtoB"),
    )
    if direction != "BtoA":
        return pairs
    spec = ImageCondition(pairs.images.shape[1], pairs.inputs.shape[-1], pairs.spec.task, pairs.class_names)
    return ImageData(pairs.inputs, pairs.labels, pairs.class_names, spec, inputs=pairs.images)


def _source_labels(data: ImageData) -> tuple[np.ndarray, tuple[str, ...]]:
    """The class of every source image: its label, or its first categorical factor (coloured-mnist's digit)."""
    spec = data.spec
    if spec.is_classes:
        return data.labels.numpy().astype(np.int64), tuple(spec.class_names)
    categorical = [f for f in spec.factors if not f.binary]
    if not categorical:
        return np.zeros(len(data), np.int64), ()
    codes = spec.decode(data.labels.numpy())
    return codes[:, spec.factors.index(categorical[0])].astype(np.int64), categorical[0].values


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES)


def _split_files(root: Path, split: str) -> list[Path]:
    """The files of `split` under root: root/<split>/, or every 10th file of root itself."""
    if split not in SPLIT_DIRS:
        raise CondganError(f"a paired folder has the splits train and test (or val), not '{split}'")
    if not root.is_dir():
        raise CondganError(f"paired folder not found: {root}")
    if any((root / d).is_dir() for ds in SPLIT_DIRS.values() for d in ds):
        folder = next((root / d for d in SPLIT_DIRS[split] if (root / d).is_dir()), None)
        if folder is None:
            raise CondganError(f"{root} has no {' or '.join(SPLIT_DIRS[split])}/ folder for the {split} split")
        files = _files(folder)
    else:
        every = _files(root)
        files = [p for i, p in enumerate(every) if (i % TEST_EVERY == TEST_EVERY - 1) == (split == "test")]
    if not files:
        raise CondganError(f"{root}: no images in the {split} split ({', '.join(sorted(SUFFIXES))})")
    return files


def _open(path: Path) -> Image.Image:
    try:
        img = Image.open(path)
        img.load()
    except (OSError, UnidentifiedImageError, ValueError, SyntaxError, Image.DecompressionBombError) as err:
        raise CondganError(f"cannot read image {path}: {err}") from None
    return img


def _array(img: Image.Image, channels: int, size: int | None) -> np.ndarray:
    img = img.convert("L" if channels == 1 else "RGB")
    if size is not None and img.size != (size, size):
        img = img.resize((size, size), Image.BICUBIC)
    array = np.asarray(img, dtype=np.uint8)
    return array[None] if channels == 1 else array.transpose(2, 0, 1)


def _read_pair_folder(
    root: Path, split: str, img_size: int | None, channels: int | None, direction: str
) -> tuple[np.ndarray, np.ndarray]:
    """(inputs, targets) as uint8 (N, C, H, W)."""
    if (root / "A").is_dir() and (root / "B").is_dir():
        a_files = _split_files(root / "A", split)
        b_dir = a_files[0].parent.relative_to(root / "A")
        b_files = {p.name: p for p in _split_files(root / "B", split)}
        unmatched = next((p for p in a_files if p.name not in b_files), None)
        if unmatched is not None:
            raise CondganError(f"{unmatched} has no partner {root / 'B' / b_dir / unmatched.name}")
        extra = next((p for n, p in sorted(b_files.items()) if n not in {a.name for a in a_files}), None)
        if extra is not None:
            raise CondganError(f"{extra} has no partner in {root / 'A' / b_dir}")
        pairs = [(_open(p), _open(b_files[p.name]), p) for p in a_files]
    else:
        pairs = []
        for path in _split_files(root, split):
            img = _open(path)
            w, h = img.size
            if w != 2 * h:
                raise CondganError(f"{path} is {w}x{h}: a side-by-side pair is twice as wide as high (A | B)")
            pairs.append((img.crop((0, 0, h, h)), img.crop((h, 0, w, h)), path))
    first = pairs[0][0].size
    for a, b, path in pairs:
        if a.size != b.size:
            raise CondganError(f"{path}: A is {a.size[0]}x{a.size[1]} but B is {b.size[0]}x{b.size[1]}")
        if img_size is None and a.size != first:
            raise CondganError(
                f"{path} is {a.size[0]}x{a.size[1]}, the first pair {first[0]}x{first[1]}: "
                "give data.img_size to resize all"
            )
        if a.size[0] != a.size[1] and img_size is None:
            raise CondganError(f"{path} is not square ({a.size[0]}x{a.size[1]}): give data.img_size to resize it")
    sides = []
    for side in (0, 1):
        c = channels or (1 if all(p[side].mode in GREY_MODES for p in pairs) else 3)
        sides.append(np.stack([_array(p[side], c, img_size) for p in pairs]))
    a, b = sides
    return (a, b) if direction == "AtoB" else (b, a)
