"""Conditional GANs that make the class you ask for: train, measure, serve.

The command line (`condgan train | sample | translate | eval | compare | export | serve | data`). User
errors exit 2 with one line; a run stopped by its divergence guard exits 3.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

from condgan.errors import CondganError

FORMATS = (".png", ".npz")


def _dataset_arg(name: str | None) -> str | None:
    """A dataset name as given, or an image folder as an absolute path (valid from any cwd)."""
    if name and ("/" in name or Path(name).is_dir()):
        return str(Path(name).resolve())
    return name


def _train_overrides(args: argparse.Namespace) -> list[dict[str, Any]]:
    """The command-line flags as config overlays, applied in order after the preset."""
    from condgan.config import parse_assignment

    flags: dict[str, dict[str, Any]] = {"data": {}, "model": {}, "loss": {}, "train": {}}
    for section, key, value in (
        ("data", "dataset", _dataset_arg(args.dataset)),
        ("data", "data_dir", args.data_dir and str(Path(args.data_dir).resolve())),  # valid from any cwd
        ("model", "name", args.model),
        ("loss", "name", args.loss),
        ("data", "img_size", getattr(args, "img_size", None)),
        ("train", "batch_size", args.batch_size),
        ("train", "seed", args.seed),
        ("train", "checkpoint_every", args.checkpoint_every),
        ("train", "eval_every", args.eval_every),
    ):
        if value is not None:
            flags[section][key] = value
    if getattr(args, "tensorboard", False):
        flags["train"]["tensorboard"] = True
    if args.epochs is not None:
        flags["train"].update(epochs=args.epochs, steps=None)
    if args.steps is not None:
        flags["train"].update(steps=args.steps, epochs=None)
    overlays = [{k: v for k, v in flags.items() if v}]
    return overlays + [parse_assignment(a) for a in args.set]


def cmd_train(args: argparse.Namespace) -> None:
    from condgan.config import Config, load_config, merge, read_yaml
    from condgan.train import Trainer
    from condgan.train.distributed import broadcast_from_main, init_from_env
    from condgan.train.setup import check_same_run

    overrides = _train_overrides(args)
    if args.resume:
        if args.out is None:
            raise CondganError("--resume needs --out RUN_DIR (the run to continue)")
        values = read_yaml(Path(args.out) / "config.yaml")
        for overlay in overrides:
            values = merge(values, overlay)
        config = Config.from_dict(values)
        if args.config is not None:  # the original command again: fine where it agrees with the run
            check_same_run(load_config(args.config, overrides), config, Path(args.out) / "config.yaml")
    else:
        config = load_config(args.config, overrides)
    info = init_from_env()  # under torchrun: join the group before naming the run
    name = f"{config.data.dataset}-{config.model.name}"  # the preset's name for the bundled presets
    stamp = broadcast_from_main(time.strftime("%Y%m%d-%H%M%S"), info)  # every rank writes to one run dir
    run_dir = Path(args.out) if args.out else Path("runs") / f"{name}-{stamp}"
    trainer = Trainer(config, run_dir, resume=args.resume, progress=not (args.no_progress or args.quiet), dist=info)
    say = print if info.is_main else (lambda *a: None)
    ranks = f" on {info.world_size} processes" if info.enabled else ""
    what = f"{config.data.dataset} ({config.data.task})" if config.data.task else config.data.dataset
    say(f"training {config.model.name} on {what} for {trainer.total_steps} steps{ranks} -> {run_dir}")
    trainer.fit()
    if config.model.stargan is not None:
        say(f'done: {run_dir}\nedit with: condgan translate {run_dir} face.png --attrs "..." --out edited.png')
    elif config.data.task:
        say(f"done: {run_dir}\ntranslate with: condgan translate {run_dir} --split test --out translated.npz")
    else:
        say(
            f"done: {run_dir}\nsample with: condgan sample {run_dir} {_example_request(trainer.spec)}--n 64 "
            "--out samples.png"
        )


def _example_request(spec) -> str:
    """A condition flag that works for this run: a real class name, or one value per factor."""
    if spec.is_classes:
        name = spec.class_names[min(7, len(spec.class_names) - 1)]
        return f"--label {name} " if " " not in name else f'--label "{name}" '
    if spec.factors and not any(f.binary for f in spec.factors):
        return '--attrs "' + ",".join(f"{f.name}={f.values[0]}" for f in spec.factors) + '" '
    return ""


SAMPLE_LIMITS = {"n": 100_000, "per_class": 100_000, "scale": 32}  # documented in `condgan sample --help`


def cmd_sample(args: argparse.Namespace) -> None:
    from condgan.images import save_png, to_uint8
    from condgan.models.storage import load_generator
    from condgan.samples_file import save_samples
    from condgan.sampling import (
        check_truncation,
        conditions_of,
        grid,
        per_condition,
        picture,
        psi_of,
        sample,
        truncated_noise,
    )
    from condgan.translate import refuse_image_condition

    out = Path(args.out)
    folder = args.format == "folder" or (args.format is None and not out.suffix)
    if not folder and out.suffix not in FORMATS:
        raise CondganError(f"--out must end in {' or '.join(FORMATS)} or be a folder, got '{out.name}'")
    for flag, limit in SAMPLE_LIMITS.items():
        value = getattr(args, flag)
        if value is not None and not 1 <= value <= limit:
            raise CondganError(f"--{flag.replace('_', '-')} must be in 1..{limit:,}, got {value}")
    if args.format is not None and not folder and out.suffix != f".{args.format}":
        raise CondganError(f"--format {args.format} writes a .{args.format} file, got '{out.name}'")
    if out.is_dir() and not folder:
        raise CondganError(f"--out {out} is a directory: give a file name ending in {' or '.join(FORMATS)}")
    _check_seed(args.seed)
    asked = args.label is not None or args.attrs is not None
    if args.per_class is not None and asked:
        raise CondganError("give --label / --attrs or --per-class, not both")
    G, spec = load_generator(args.run_dir)
    refuse_image_condition(spec, "condgan sample")
    cut = args.truncation
    check_truncation(getattr(G, "truncation", None), cut)
    codes, rows, columns = None, None, None
    if asked:  # n images of one condition
        code = spec.request(args.label, args.attrs)
        codes = np.repeat(code[None], args.n, axis=0)
        x, ncol = sample(G, conditions_of(spec, codes), seed=args.seed, n=args.n, truncation=cut), 8
        what = args.attrs or f"class {spec.class_names[int(code[0])]}"
    elif out.suffix == ".png" and args.per_class is None and not folder:  # every condition, shared noise
        x, ncol = grid(G, spec, truncated_noise(G, args.n, args.seed, cut), psi_of(G, cut))
        rows, columns = spec.grid_labels()
        what = spec.describe()
    else:  # N of every condition
        count = args.per_class or args.n
        codes, conditions = per_condition(spec, count)
        x, ncol = sample(G, conditions, seed=args.seed, n=len(codes), progress="generating", truncation=cut), count
        rows = [spec.name_of(c) for c in codes[::count]] if spec.factors else None
        what = f"{count} per {'class' if spec.is_classes else 'condition'}" if spec.factors else "unconditional"
    if not bool(x.isfinite().all()):
        raise CondganError(f"the generator in {args.run_dir} produced non-finite images (NaN or inf): nothing written")
    drawn = f", truncation {cut:g}" if cut is not None else ""
    if folder:
        from condgan.sample_folder import MANIFEST, write_folder

        if codes is None:
            codes = np.zeros((len(x), 0), np.int64)  # unconditional: one folder
        counts = write_folder(out, x, codes, spec, args.seed, cut)
        print(
            f"wrote {len(x)} images ({what}, seed {args.seed}{drawn}) in {len(counts)} folder(s) to {out}/ ({MANIFEST})"
        )
        return
    if out.suffix == ".png":
        labels = not args.no_labels
        save_png(picture(x, ncol, rows if labels else None, columns if labels else None), out, scale=args.scale)
    else:
        images = to_uint8(x)
        labels = codes[:, 0] if codes is not None and spec.factors else np.full(len(images), -1, np.int64)
        extra = {"truncation": np.float32(cut)} if cut is not None else {}
        vectors = None if spec.is_classes or not spec.factors else spec.encode(codes)
        save_samples(out, images, labels, vectors, **extra)
    print(f"wrote {len(x)} images ({what}, seed {args.seed}{drawn}) to {out}")


def _check_seed(seed: int) -> None:
    from condgan.noise import MAX_SEED

    if not 0 <= seed <= MAX_SEED:
        raise CondganError(f"--seed must be in 0..{MAX_SEED}, got {seed}")


def cmd_eval(args: argparse.Namespace) -> None:
    from condgan.conditions import translates
    from condgan.metrics.evaluators import EvalRequest, evaluator_for
    from condgan.models.storage import load_generator

    if not 1 <= args.per_class <= SAMPLE_LIMITS["per_class"]:
        raise CondganError(f"--per-class must be in 1..{SAMPLE_LIMITS['per_class']:,}, got {args.per_class}")
    _check_seed(args.seed)
    source = Path(args.source)
    if args.truncation is not None:
        from condgan.metrics.truncation import truncation_sweep

        if args.baseline or args.inception_weights:
            raise CondganError("--truncation sweeps a sampling run: drop --baseline / --inception-weights")
        result, paths = truncation_sweep(
            source,
            args.truncation,
            dataset=args.dataset,
            data_dir=args.data_dir,
            per_class=args.per_class,
            seed=args.seed,
        )
        for path in paths:
            print(f"wrote {path}")
        print(paths[1].read_text(), end="")
        print(json.dumps(result))
        return
    spec = load_generator(source)[1] if source.is_dir() else None
    if args.baseline is not None and not translates(spec) and not _translated_file(source):
        raise CondganError("--baseline compares image-to-image runs (pix2pix); this source samples")
    request = EvalRequest(
        source,
        args.dataset,
        args.data_dir,
        args.per_class,
        args.seed,
        not args.fast,
        args.inception_weights,
        Path(args.baseline) if args.baseline else None,
    )
    result, paths = evaluator_for(source, spec, _translated_file(source))(request)
    for path in paths:
        print(f"wrote {path}")
    print(json.dumps(result))  # the last line: the figures, for scripts


def _translated_file(source: Path) -> bool:
    """A `condgan translate --split` .npz (it holds inputs and targets)."""
    import zipfile

    if source.suffix != ".npz" or not source.is_file():
        return False
    try:
        with zipfile.ZipFile(source) as archive:
            return {"inputs.npy", "targets.npy"} <= set(archive.namelist())
    except (OSError, zipfile.BadZipFile):
        return False  # the samples-file reader says what is wrong with it


def cmd_compare(args: argparse.Namespace) -> None:
    from condgan.metrics.report import compare_table

    print(compare_table(args.sources))


def cmd_export(args: argparse.Namespace) -> None:
    from condgan.export import export_onnx, parity
    from condgan.models.storage import load_generator

    out = Path(args.out)
    if out.suffix != ".onnx":
        raise CondganError(f"--out must end in .onnx, got '{out.name}'")
    G, condition = load_generator(args.run_dir, args.direction)
    export_onnx(G, condition, out)
    diff = parity(G, out)
    print(f"wrote {out}; parity with PyTorch on 64 images: max abs diff {diff:.3g}")
    if not diff <= 1e-4:  # NaN compares False: a NaN output fails too
        raise CondganError(f"ONNX output differs from PyTorch by {diff:.3g} (> 1e-4): do not use {out}")


def cmd_data(args: argparse.Namespace) -> None:
    from condgan.data import DATASETS, candidate_dirs, download_dir, file_url, find, locate
    from condgan.data.formats import verify

    if args.action == "list":
        print(f"{'name':<16} {'classes':>7}  {'shape':<9} where")
        for name in DATASETS.names():
            info = DATASETS.get(name)
            found = [find(info, f, args.data_dir) for f in info.files]
            where = str(found[0].parent) if all(found) else "not present (condgan data download " + name + ")"
            shape = f"{info.img_channels}x{info.img_size}x{info.img_size}"
            print(f"{name:<16} {len(info.class_names):>7}  {shape:<9} {where}")
        from condgan.data import COLOURED_MNIST
        from condgan.data.attributes import COLOURED_MNIST_SPEC

        sizes = "x".join(str(len(f.values)) for f in COLOURED_MNIST_SPEC.factors)
        print(f"{COLOURED_MNIST:<16} {sizes:>7}  {'3x28x28':<9} made from mnist: factors digit x colour")
        _list_font_datasets()
        from condgan.data.tasks import PAIR_TASKS

        print("\nimage-to-image pairs (--model pix2pix --set data.task=TASK, on any dataset above):")
        for name, task in PAIR_TASKS.in_order():
            print(f"  {name:<15} {task.summary}")
        return
    from condgan.data.emoji import FONT_DATASETS

    if args.name is None:
        valid = ", ".join([*DATASETS.names(), *FONT_DATASETS])
        raise CondganError(f"condgan data {args.action} needs a dataset NAME; valid: {valid}")
    if args.name in FONT_DATASETS or args.action == "build":
        _build_font_dataset(args)
        return
    info = DATASETS.get(args.name)
    for data_file in info.files:
        path = find(info, data_file, args.data_dir)
        if path is not None:
            verify(path, data_file)
        elif args.action == "download":
            path = locate(info, data_file, args.data_dir)  # a download checks the file before keeping it
        else:
            looked = ", ".join(str(d) for d in candidate_dirs(info, args.data_dir))
            raise CondganError(
                f"{info.name}: {data_file.name} not found; looked in {looked} "
                f"(condgan data download {info.name} fetches {file_url(info, data_file)} "
                f"into {download_dir(info, args.data_dir)})"
            )
        kind = "content md5" if data_file.content else "md5"
        print(f"ok  {path}  ({kind} {data_file.md5})")


def _list_font_datasets() -> None:
    from condgan.data.emoji import FONT_DATASETS, cache_path, check_size, source_path

    print("\ndrawn from installed fonts (condgan data build NAME; any size up to 128 px, default 64):")
    for name, dataset in FONT_DATASETS.items():
        try:
            for source in dataset.sources:
                source_path(source)
        except CondganError as err:
            where = str(err)
        else:
            path = cache_path(name, check_size(name, None))
            where = str(path) if path.is_file() else "built on first use"
        print(f"  {name:<16} {dataset.summary}: {where}")


def _build_font_dataset(args: argparse.Namespace) -> None:
    from condgan.conditions import ConditionSpec
    from condgan.data.emoji import FONT_DATASETS, built, source_path

    if args.name not in FONT_DATASETS:
        raise CondganError(f"condgan data build makes {', '.join(FONT_DATASETS)}, not {args.name}")
    dataset = FONT_DATASETS[args.name]
    for source in dataset.sources:
        print(f"ok  {source_path(source)}  (sha256 {source.sha256[0][:16]}..., {source.package} {source.release})")
    if args.action == "download":
        print(f"{args.name} is drawn from the fonts above, not downloaded: condgan data build {args.name}")
    if args.action in ("build", "download"):
        data, path = built(args.name, args.img_size, rebuild=args.action == "build")
        spec = ConditionSpec(data.factors)
        figures = len(set(data.figures))
        print(
            f"{args.name}: {len(data.images)} images {'x'.join(map(str, data.images.shape[1:]))} "
            f"({int((~data.test).sum())} train, {int(data.test.sum())} test; {figures} figures, "
            f"{len(set(data.figures[data.test]))} of them only in test), {spec.describe()} -> {path}"
        )


def _add_train(sub) -> None:
    from condgan.presets import DEFAULT_PRESET, preset_names

    train = sub.add_parser("train", help="train a GAN into a run directory")
    train.add_argument(
        "--config", help=f"preset name ({', '.join(preset_names())}) or a .yaml file (default: {DEFAULT_PRESET})"
    )
    train.add_argument(
        "--dataset",
        help="dataset name (condgan data list) or an image folder with one subfolder "
        "per class (default: the preset's, mnist)",
    )
    train.add_argument("--data-dir", help="folder holding the dataset files (looked up first; see condgan data)")
    train.add_argument("--img-size", type=int, help="image folders: resize and centre-crop to this size (default 32)")
    train.add_argument(
        "--model",
        help="model family: cdcgan, cgan-mlp, dcgan, pix2pix, cyclegan, stargan, biggan, stylegan "
        "(default: the preset's)",
    )
    train.add_argument("--loss", help="GAN loss (default: the preset's, bce)")
    length = train.add_mutually_exclusive_group()
    length.add_argument("--epochs", type=int, help="passes over the data (default: the preset's)")
    length.add_argument("--steps", type=int, help="total generator updates (overrides --epochs)")
    train.add_argument("--batch-size", type=int, help="batch size (default: the preset's, 64)")
    train.add_argument("--seed", type=int, help="random seed (default: 0)")
    train.add_argument("--out", help="run directory (default: runs/<dataset>-<model>-<time>)")
    train.add_argument(
        "--checkpoint-every",
        type=int,
        help="also keep a checkpoint every N steps (default: only checkpoints/last.pt, saved every epoch)",
    )
    train.add_argument(
        "--eval-every",
        type=int,
        help="measure accuracy / FID / intra-FID every N steps and keep "
        "checkpoints/best.pt by train.best_metric (default: off)",
    )
    train.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    train.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override any config field, e.g. --set train.lr_g=1e-4 (repeatable)",
    )
    train.add_argument("--no-progress", action="store_true", help="no progress bar")
    train.add_argument(
        "--tensorboard",
        action="store_true",
        help="also log to RUN/tb/ for TensorBoard (pip install 'condgan[tensorboard]')",
    )
    train.set_defaults(func=cmd_train)


def _add_sample(sub) -> None:
    smp = sub.add_parser("sample", help="generate images from a trained run")
    smp.add_argument("run_dir", metavar="RUN_DIR", help="a run directory (or its generator/ folder)")
    smp.add_argument("--label", help="class index or name (default: a grid of every class)")
    smp.add_argument(
        "--n", type=int, default=64, help="number of images, or per class for a grid (default: 64; at most 100,000)"
    )
    smp.add_argument("--per-class", type=int, help="N images of every class (rows = classes; at most 100,000)")
    smp.add_argument("--seed", type=int, default=0, help="noise seed: same seed, same images (default: 0)")
    smp.add_argument(
        "--out",
        required=True,
        help="output: .png grid, .npz samples file, or a folder (DIR/<class>/N.png + manifest.csv)",
    )
    smp.add_argument(
        "--format", choices=["png", "npz", "folder"], help="default: from --out (a name without suffix: folder)"
    )
    smp.add_argument("--scale", type=int, default=2, help="PNG pixel scale (default: 2; at most 32)")
    smp.add_argument("--no-labels", action="store_true", help="no class / factor names beside a grid's rows")
    smp.add_argument(
        "--truncation",
        type=float,
        help="biggan: redraw z beyond this threshold (e.g. 0.7); stylegan: psi, w toward the condition's "
        "mean w (1: none, 0: the mean); fidelity up, variety down (default: none)",
    )
    smp.add_argument(
        "--attrs",
        help='several-factor generators: e.g. "digit=7,colour=red" or "Smiling=1,Male=0" '
        "(default: a grid of the factors)",
    )
    smp.set_defaults(func=cmd_sample)


def _add_eval(sub) -> None:
    ev = sub.add_parser("eval", help="measure a run or a samples .npz with the domain classifier")
    ev.add_argument("source", metavar="RUN_DIR|SAMPLES.npz", help="a run directory or a samples file")
    ev.add_argument("--dataset", help="reference dataset (default: the run's, or mnist for a .npz)")
    ev.add_argument("--data-dir", help="folder holding the dataset files")
    ev.add_argument("--per-class", type=int, default=1000, help="samples per class from a run (default: 1000)")
    ev.add_argument("--seed", type=int, default=0, help="noise seed for a run's samples (default: 0)")
    ev.add_argument("--fast", action="store_true", help="accuracy, FID and intra-FID only (no KID, P/R, CAS)")
    ev.add_argument(
        "--inception-weights",
        metavar="PATH",
        help="local FID Inception weights for Inception FID/KID/IS (never downloaded; default: skip)",
    )
    ev.add_argument(
        "--baseline", metavar="RUN_DIR", help="image-to-image runs: an L1-only run to compare with (side by side)"
    )
    ev.add_argument(
        "--truncation",
        metavar="LIST",
        help="biggan / stylegan runs: the trade-off at each truncation, e.g. 1,0.9,0.8,0.7,0.5 (none: off); "
        "writes RUN/eval-truncation.json and .md",
    )
    ev.set_defaults(func=cmd_eval)


def _add_compare(sub) -> None:
    cmp = sub.add_parser("compare", help="print the saved evaluations of several runs side by side")
    cmp.add_argument("sources", nargs="+", metavar="RUN_DIR|SAMPLES.npz", help="evaluated runs or samples files")
    cmp.set_defaults(func=cmd_compare)


def _add_export(sub) -> None:
    exp = sub.add_parser("export", help="export a run's generator to ONNX and check it against PyTorch")
    exp.add_argument("run_dir", metavar="RUN_DIR", help="a run directory (or its generator/ folder)")
    exp.add_argument("--out", required=True, help="output .onnx file")
    exp.add_argument(
        "--direction", choices=["AtoB", "BtoA"], default=None, help="a CycleGAN run: which translator (default AtoB)"
    )
    exp.set_defaults(func=cmd_export)


def _add_data(sub) -> None:
    data = sub.add_parser("data", help="list, download, verify or build the known datasets")
    data.add_argument("action", choices=["list", "download", "verify", "build"], help="what to do")
    data.add_argument("name", nargs="?", help="dataset name (download, verify, build)")
    data.add_argument("--img-size", type=int, help="build: the size to draw the emoji datasets at (default 64)")
    data.add_argument(
        "--data-dir", help="look here first, and download here (default: $CONDGAN_DATA_DIR, else the user cache)"
    )
    data.set_defaults(func=cmd_data)


def build_parser() -> argparse.ArgumentParser:
    from condgan import __version__

    parser = argparse.ArgumentParser(prog="condgan", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"condgan {__version__}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from condgan.cli_serve import add_serve
    from condgan.cli_translate import add_translate

    for add in (_add_train, _add_sample, add_translate, _add_eval, _add_compare, _add_export, add_serve, _add_data):
        add(sub)
    for command in sub.choices.values():
        command.add_argument(
            "--quiet", "-q", action="store_true", help="no progress bars (they show only on a terminal anyway)"
        )
    return parser


THREADED = ("sample", "eval", "translate", "export")  # commands that compute once, then end


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from condgan.progress import set_quiet

    set_quiet(args.quiet)
    try:
        if args.command in THREADED:  # training re-chooses as it goes (condgan.threads)
            from condgan.threads import choose_now

            chosen = choose_now()
            if chosen is not None and chosen.threads < chosen.available and not chosen.by_hand:
                print(f"condgan: compute threads: {chosen.reason}", file=sys.stderr, flush=True)
        args.func(args)
    except CondganError as err:
        from condgan.train.guard import Interrupted, TrainingStopped

        if isinstance(err, Interrupted):
            print(f"condgan: {err}", file=sys.stderr)
            return 130
        print(f"condgan: error: {err}", file=sys.stderr)
        return 3 if isinstance(err, TrainingStopped) else 2
    except KeyboardInterrupt:
        print("condgan: interrupted", file=sys.stderr)
        return 130
    except OSError as err:  # the system refused (a full disk, no permission): one line, not a traceback
        where = f": {err.filename}" if err.filename else ""
        print(f"condgan: error: {err.strerror or err}{where}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
