"""`condgan translate`: a pix2pix, CycleGAN or StarGAN run's generator applied to image files or to a dataset split."""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from condgan.errors import CondganError


def cmd_translate(args: argparse.Namespace) -> None:
    import torch

    from condgan.models.storage import load_generator
    from condgan.translate import read_inputs, require_image_condition, translate

    G, condition = load_generator(args.run_dir, args.direction)
    condition = require_image_condition(condition, "condgan translate")
    out = Path(args.out)
    if condition.attributes is not None:
        _edit(G, condition, args, out)
        return
    if args.attrs is not None:
        raise CondganError("--attrs gives the target attributes of a StarGAN run; this generator translates alone")
    if args.split is not None:
        if args.inputs:
            raise CondganError("give INPUT files or --split, not both")
        if args.label is not None:
            raise CondganError("--label is for INPUT files: a --split gives each pair's own class")
        if out.suffix == ".png":
            _split_picture(G, condition, args, out)
            return
        if out.suffix != ".npz":
            raise CondganError(
                f"--split writes a .npz file (images, labels, inputs, targets) or a .png picture, got '{out.name}'"
            )
        _translate_split(G, condition, args, out)
        return
    if not args.inputs:
        raise CondganError("give INPUT images (files or folders), or --split test")
    label = _label(condition, args.label)  # checked before any file is read
    inputs, files = read_inputs([Path(p) for p in args.inputs], condition, resize=args.resize)
    labels = torch.full((len(inputs),), label) if label is not None else None
    outputs = translate(G, inputs, labels)
    _write_outputs(G, outputs, inputs, files, out, args.scale, labels=labels)


def _edit(G, condition, args: argparse.Namespace, out: Path) -> None:
    """A StarGAN run: INPUT files edited into --attrs, or with --split a picture of held-out edits."""
    import torch

    from condgan.images import save_png
    from condgan.translate import read_inputs, translate

    if args.label is not None:  # (a --direction BtoA is refused by the loader: one generator/)
        raise CondganError("a StarGAN run takes --attrs (the target attributes), not --label")
    if args.split is not None:
        if args.inputs:
            raise CondganError("give INPUT files or --split, not both")
        if args.split != "test" or out.suffix != ".png":
            raise CondganError(
                "a StarGAN run's --split test writes a .png of held-out edits beside their truths "
                "(measure them with condgan eval RUN)"
            )
        from condgan.metrics.edits import DEFAULT_TARGETS, edit_picture

        if not 1 <= args.n <= 64:
            raise CondganError(f"--n must be 1..64 rows for a picture, got {args.n}")
        targets = [t.strip() for t in args.attrs.split(";") if t.strip()] if args.attrs else list(DEFAULT_TARGETS)
        save_png(edit_picture(Path(args.run_dir), targets, args.n, args.data_dir), out, scale=args.scale)
        print(f"wrote {out} (held-out images: input, then each edit beside the true emoji)")
        return
    if args.attrs is None:
        names = ", ".join(condition.attributes.factor_names)
        raise CondganError(
            f'give --attrs: the attributes to change, e.g. --attrs "{names.split(", ")[0]}=..." ({names})'
        )
    vector = condition.attributes.edit(args.attrs)  # checked before any file is read
    if not args.inputs:
        raise CondganError("give INPUT images (files or folders) to edit")
    inputs, files = read_inputs([Path(p) for p in args.inputs], condition, resize=args.resize)
    attributes = torch.from_numpy(vector).expand(len(inputs), -1)
    outputs = translate(G, inputs, attributes=attributes)
    _write_outputs(G, outputs, inputs, files, out, args.scale, attributes=attributes)


def _write_outputs(G, outputs, inputs, files, out: Path, scale: int, labels=None, attributes=None) -> None:
    """One .png (the output, or input | output rows for several inputs) or a folder of outputs."""
    import torch

    from condgan.images import hwc, save_png
    from condgan.translate import translation_grid

    if out.suffix == ".png":
        grid = len(files) > 1
        if grid:
            picture = translation_grid(G, torch.from_numpy(inputs), None, labels, attributes=attributes)
        else:
            picture = hwc(outputs.numpy())[0]
        save_png(picture, out, scale=scale)
        print(f"wrote {out} ({len(files)} input(s))")
        return
    if out.suffix:
        raise CondganError(f"--out must be a folder, a .png file or (with --split) a .npz file, got '{out.name}'")
    out.mkdir(parents=True, exist_ok=True)
    names = [f.stem for f in files]
    if len(set(names)) != len(names):
        twice = next(n for n in names if names.count(n) > 1)
        raise CondganError(f"two inputs are named {twice!r}: their outputs would overwrite each other in {out}")
    for name, image in zip(names, hwc(outputs.numpy())):
        save_png(image, out / f"{name}.png")
    print(f"wrote {len(files)} translated image(s) to {out}/")


def _translate_split(G, condition, args: argparse.Namespace, out: Path) -> None:
    from condgan.images import hwc
    from condgan.samples_file import save_samples
    from condgan.translate import translate_split

    outputs, pairs = translate_split(
        G, condition, Path(args.run_dir), args.split, args.dataset, args.data_dir, args.direction
    )
    labels = pairs.labels.numpy() if pairs.class_names else np.full(len(outputs), -1, np.int64)
    inputs, targets = hwc(pairs.inputs.numpy()), hwc(pairs.images.numpy())
    save_samples(out, hwc(outputs.numpy()), labels, inputs=inputs, targets=targets)
    print(f"wrote {len(outputs):,} translations of the {args.split} split ({condition.task}) to {out}")


def _label(condition, label: str | None) -> int | None:
    """--label as a class index, for a generator that takes one (model.with_label); refused otherwise."""
    from condgan.labels import label_for

    classes = condition.class_names if condition.labelled else ()
    return label_for(
        label,
        classes,
        refuse="this generator takes no --label: it translates the image alone",
        require=f"this generator takes the class of the inputs too: give --label (0..{len(classes) - 1})",
    )


def _split_picture(G, condition, args: argparse.Namespace, out: Path) -> None:
    """input | output | target rows of the split's first --n pairs: what the model does, with no files of one's own."""
    from condgan.data.paired import run_pairs
    from condgan.images import save_png
    from condgan.metrics.report import run_data
    from condgan.translate import check_inputs, translation_grid

    if not 1 <= args.n <= 64:
        raise CondganError(f"--n must be 1..64 pairs for a picture, got {args.n}")
    pairs = run_pairs(run_data(Path(args.run_dir)), args.split, args.dataset, args.data_dir, args.direction)
    check_inputs(pairs, condition, args.split)
    first = slice(0, args.n)
    picture = translation_grid(G, pairs.inputs[first], pairs.images[first], pairs.labels[first])
    save_png(picture, out, scale=args.scale)
    print(f"wrote {out} (input | output | target of the first {min(args.n, len(pairs))} {args.split} pairs)")


def add_translate(sub) -> None:
    tr = sub.add_parser(
        "translate", help="translate images with an image-to-image run (pix2pix, CycleGAN), or edit them (StarGAN)"
    )
    tr.add_argument(
        "run_dir", metavar="RUN_DIR", help="a pix2pix, CycleGAN or StarGAN run directory (or a generator/ folder)"
    )
    tr.add_argument("inputs", nargs="*", metavar="INPUT", help="image files or folders of images")
    tr.add_argument(
        "--out",
        required=True,
        help="a folder (one output per input), a .png; with --split a .npz, or a .png of the first --n pairs",
    )
    tr.add_argument("--n", type=int, default=8, help="with --split and a .png --out: how many pairs (default: 8)")
    tr.add_argument("--label", help="the inputs' class, for a run trained with model.with_label (index or name)")
    tr.add_argument(
        "--attrs",
        help='a StarGAN run: the attributes to change, e.g. "hair=white,age=older" (the others are kept); '
        "with --split test, several targets separated by ';'",
    )
    tr.add_argument("--split", choices=["train", "test"], help="translate this split of the run's dataset instead")
    tr.add_argument("--dataset", help="with --split: another dataset than the run's")
    tr.add_argument("--data-dir", help="with --split: folder holding the dataset files")
    tr.add_argument(
        "--direction",
        choices=["AtoB", "BtoA"],
        default=None,
        help="a CycleGAN run translates both ways: A to B (default) or B to A",
    )
    tr.add_argument("--resize", action="store_true", help="resize inputs of another size (default: refuse them)")
    tr.add_argument("--scale", type=int, default=1, help="PNG pixel scale of a .png --out (default: 1)")
    tr.set_defaults(func=cmd_translate)
