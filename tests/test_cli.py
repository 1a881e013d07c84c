"""The command line as a user runs it: real subprocesses, exit codes, one-line errors."""

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import TINY

BUNDLED = Path(__file__).resolve().parents[1] / "src" / "condgan" / "data" / "bundled" / "mnist"


# Environment that must reach a fresh process: read at import time, or a fault that kills the process.
NEEDS_A_PROCESS = {"CONDGAN_FOLDER_MEMORY_MB", "CONDGAN_FAULT"}


def condgan(
    *args: str, cwd: Path | None = None, env: dict[str, str] | None = None, process: bool = False
) -> subprocess.CompletedProcess:
    """`condgan ARGS` -> (returncode, stdout, stderr). In this process by default: a fresh
    interpreter costs seconds of imports per call, and the CLI is the same `main` either way;
    `process=True` (or environment only a new process sees) runs `python -m condgan`."""
    argv = [str(a) for a in args]
    if process or NEEDS_A_PROCESS & set(env or {}):
        return subprocess.run(
            [sys.executable, "-m", "condgan", *argv],
            capture_output=True,
            text=True,
            cwd=cwd,
            timeout=300,
            env={**os.environ, **(env or {})},
        )
    return _in_process(argv, cwd, env or {})


def _in_process(argv: list[str], cwd: Path | None, env: dict[str, str]) -> subprocess.CompletedProcess:
    import contextlib
    import io
    import traceback
    import warnings

    import torch

    from condgan import faults
    from condgan.cli import main

    out, err = io.StringIO(), io.StringIO()
    saved_env, saved_cwd, threads = dict(os.environ), os.getcwd(), torch.get_num_threads()

    def show(message, category, filename, lineno, file=None, line=None) -> None:  # as a process would print it
        sys.stderr.write(warnings.formatwarning(message, category, filename, lineno, line))

    os.environ.update(env)
    faults.reset()
    try:
        if cwd is not None:
            os.chdir(cwd)
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
            warnings.resetwarnings()  # a fresh interpreter's filters: shown once, these categories hidden
            for hidden in (DeprecationWarning, PendingDeprecationWarning, ImportWarning, ResourceWarning):
                warnings.simplefilter("ignore", hidden)
            warnings.showwarning = show
            try:
                code = main(argv)
            except SystemExit as exit_:  # argparse: 2 for a usage error, 0 for --help
                if isinstance(exit_.code, str):
                    print(exit_.code, file=sys.stderr)
                code = exit_.code if isinstance(exit_.code, int) else int(exit_.code is not None)
            except Exception:
                traceback.print_exc()  # what the process would show: the tests look for "Traceback"
                code = 1
    finally:
        os.chdir(saved_cwd)
        os.environ.clear()
        os.environ.update(saved_env)
        torch.set_num_threads(threads)
        faults.reset()
    return subprocess.CompletedProcess(["condgan", *argv], code, out.getvalue(), err.getvalue())


def assert_user_error(result: subprocess.CompletedProcess, message: str) -> None:
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("cli") / "run"
    result = condgan("train", *TINY, "--steps", "3", "--out", out, "--no-progress")
    assert result.returncode == 0, result.stderr
    assert f"done: {out}" in result.stdout
    return out


def test_help_lists_the_subcommands():
    result = condgan("--help")
    assert result.returncode == 0
    for command in ("train", "sample", "eval"):
        assert command in result.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--config", "nope"], "unknown preset 'nope'; valid: coloured-mnist, coloured-mnist-colourise, "),
        (["--model", "gan9000"], "unknown model 'gan9000'; valid: biggan, cdcgan, cgan-mlp, cyclegan, dcgan, pix2pix"),
        (["--loss", "l7"], "unknown loss 'l7'; valid: bce"),
        (["--dataset", "cifar"], "unknown dataset 'cifar'"),
        (["--set", "train.learning_rate=1"], "unknown config key 'train.learning_rate'; valid: train.epochs"),
        (["--set", "train.batch_size=-4"], "train.batch_size must be > 0"),
        (["--config", "missing.yaml"], "config file not found: missing.yaml"),
        (["--resume"], "--resume needs --out RUN_DIR"),
        (["--set", "model.activation=relu", *TINY, "--steps", "1"], "model.activation applies to model cgan-mlp only"),
        (["--set", "model.activation=gelu"], "model.activation must be one of leaky_relu, relu or null"),
        (["--set", "data.scale=bytes"], "data.scale must be one of signed, unit"),
        (["--set", "train.on_diverge=ignore"], "train.on_diverge must be one of rollback, stop"),
        (["--set", "train.rollback_lr_factor=2"], "train.rollback_lr_factor must be in (0, 1]"),
        (["--set", "train.lr_decay=0"], "train.lr_decay must be in (0, 1] or null, got 0"),
        (["--set", "train.keep_checkpoints=0"], "train.keep_checkpoints must be > 0"),
        (["--set", "loss.gp_every=0"], "loss.gp_every must be > 0"),
        (["--set", "train.lr_g=.nan"], "train.lr_g must be a finite number, got nan"),
        (["--set", "loss.gp_weight=.inf"], "loss.gp_weight must be a finite number, got inf"),
        (["--set", "loss.r1_gamma=-1"], "loss.r1_gamma must be >= 0, got -1.0"),
        (["--set", "loss.r1_until=0"], "loss.r1_until must be in (0, 1] or null, got 0"),
        (["--set", "loss.r1_until=0.5"], "loss.r1_until stops a term that is off: set loss.r1_gamma too"),
        (["--set", "loss.mismatch_weight=-1"], "loss.mismatch_weight must be >= 0, got -1.0"),
        (["--set", "loss.mismatch_every=0"], "loss.mismatch_every must be > 0"),
        (
            ["--set", "model.d_cond=acgan", "--set", "loss.mismatch_weight=1", *TINY, "--steps", "1"],
            "loss.mismatch_weight needs a D that reads the label; model.d_cond=acgan does not",
        ),
        (
            ["--set", "model.name=dcgan", "--set", "loss.mismatch_weight=1", *TINY, "--steps", "1"],
            "loss.mismatch_weight swaps conditions, but model dcgan is unconditional",
        ),
        (["--set", "model.width=100000"], "model.width must be at most 4,096, got 100,000"),
        (["--set", "model.g_refine=-1"], "model.g_refine must be >= 0, got -1"),
        (["--set", "model.g_refine=17"], "model.g_refine must be at most 16, got 17"),
        (
            ["--set", "model.name=cgan-mlp", "--set", "model.g_refine=1", *TINY, "--steps", "1"],
            "model.g_refine applies to the DCGAN families (cdcgan, dcgan), not cgan-mlp",
        ),
        (["--set", "train.batch_size=10000000"], "train.batch_size must be at most 65,536"),
        (["--set", "train.standing_stats=-1"], "train.standing_stats must be >= 0, got -1"),
        (["--set", "train.standing_stats=100000"], "train.standing_stats must be at most 10,000"),
        (["--set", "loss.l2_weight=-2"], "loss.l2_weight must be >= 0, got -2.0"),
        (["--set", "train=3"], "train must be a mapping, got 3"),
        (["--set", "train.epochs=many"], "train.epochs must be int or NoneType, got 'many'"),
        (["--set", "train.diffaugment=flip"], "train.diffaugment: unknown operation 'flip'"),
        (
            ["--set", "train.fuse_d=true", *TINY, "--steps", "1"],
            "train.fuse_d needs a D without batch statistics, but this D has BatchNorm2d: set model.d_norm=layer",
        ),
        (["--config", "latin1.yaml"], "config file latin1.yaml is not UTF-8 text"),
    ],
)
def test_train_user_errors(args, message, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "latin1.yaml").write_bytes("train: {epochs: 1}  # caf\xe9\n".encode("latin-1"))
    assert_user_error(
        condgan("train", "--out", tmp_path / "r", *args, "--no-progress")
        if "--resume" not in args
        else condgan("train", *args),
        message,
    )


def test_sample_png_and_npz(run_dir, tmp_path):
    a, b, c = tmp_path / "a.png", tmp_path / "b.png", tmp_path / "c.png"
    for out, seed in ((a, 0), (b, 0), (c, 1)):
        assert condgan("sample", run_dir, "--label", "7", "--n", "16", "--seed", seed, "--out", out).returncode == 0
    assert a.read_bytes() == b.read_bytes() != c.read_bytes()
    npz = tmp_path / "s.npz"
    result = condgan("sample", run_dir, "--per-class", "3", "--out", npz)
    assert result.returncode == 0, result.stderr
    with np.load(npz) as f:
        assert f["images"].shape == (30, 28, 28) and f["images"].dtype == np.uint8
        assert f["labels"].dtype == np.int64 and f["labels"].tolist() == [d for d in range(10) for _ in range(3)]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--label", "10"], "label 10 out of range: this generator has classes 0..9"),
        (["--label", "seven"], "unknown label 'seven'; valid: 0..9 or 0, 1, 2"),
        (["--n", "0"], "--n must be in 1..100,000, got 0"),
        (["--n", "1000000000"], "--n must be in 1..100,000"),
        (["--scale", "0"], "--scale must be in 1..32, got 0"),
        (["--scale", "4096"], "--scale must be in 1..32"),
        (["--per-class", "10000000"], "--per-class must be in 1..100,000"),
        (["--label", "\u00b2"], "unknown label"),
        (["--label", "\u2462"], "unknown label"),
        (["--label", "3", "--seed", "-1"], "--seed must be in 0..9223372036854775807, got -1"),
        (["--label", "3", "--attrs", "class=3"], "give --label or --attrs, not both"),
        (["--out", "x.jpg"], "--out must end in .png or .npz"),
    ],
)
def test_sample_user_errors(run_dir, tmp_path, args, message):
    out = [] if "--out" in args else ["--out", tmp_path / "x.png"]
    assert_user_error(condgan("sample", run_dir, *args, *out), message)


def test_sample_into_a_directory_is_refused(run_dir, tmp_path):
    (tmp_path / "d.png").mkdir()
    assert_user_error(condgan("sample", run_dir, "--out", tmp_path / "d.png"), "is a directory")


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--per-class", "0"], "--per-class must be in 1..100,000, got 0"),
        (["--per-class", "-3"], "--per-class must be in 1..100,000, got -3"),
        (["--per-class", "10000000"], "--per-class must be in 1..100,000"),
        (["--seed", "-2"], "--seed must be in 0.."),
    ],
)
def test_eval_user_errors(run_dir, args, message):
    assert_user_error(condgan("eval", run_dir, *args), message)


def test_an_image_size_the_model_cannot_make(tmp_path):
    from PIL import Image

    for name in ("a", "b"):
        (tmp_path / "data" / name).mkdir(parents=True)
        for i in range(4):
            Image.new("L", (40, 40), 60 * i).save(tmp_path / "data" / name / f"{i}.png")
    result = condgan(
        "train",
        "--dataset",
        tmp_path / "data",
        "--img-size",
        "128",
        "--out",
        tmp_path / "r",
        *TINY,
        "--batch-size",
        "2",
        "--steps",
        "1",
        "--no-progress",
    )
    assert_user_error(result, "model cdcgan makes images of 8..64 px, but the data is 128 px")


def test_the_done_hint_is_a_command_that_works(run_dir, tmp_path):
    from condgan.cli import _example_request
    from condgan.conditions import ConditionSpec

    hint = _example_request(ConditionSpec.classes(["cat", "dog", "fox"]))
    assert hint == "--label fox "
    result = condgan(
        "sample",
        run_dir,
        *_example_request(ConditionSpec.classes(list("0123456789"))).split(),
        "--n",
        "4",
        "--out",
        tmp_path / "x.png",
    )
    assert result.returncode == 0, result.stderr


def test_sample_a_grid_of_every_class_with_shared_noise(run_dir, tmp_path):
    from PIL import Image

    out = tmp_path / "grid.png"
    assert condgan("sample", run_dir, "--n", "3", "--scale", "1", "--no-labels", "--out", out).returncode == 0
    assert np.asarray(Image.open(out)).shape == (2 + 10 * 30, 2 + 3 * 30)  # 10 rows (classes) x 3 columns (noise)


def test_missing_run_directory(tmp_path):
    assert_user_error(
        condgan("sample", tmp_path / "nope", "--label", "1", "--out", tmp_path / "x.png"), "no trained generator at"
    )


@pytest.mark.parametrize("damage", ["truncate", "garbage"])
def test_corrupt_checkpoint_on_resume(run_dir, tmp_path, damage):
    copy = tmp_path / "run"
    subprocess.run(["cp", "-r", run_dir, copy], check=True)
    ckpt = copy / "checkpoints" / "last.pt"
    data = ckpt.read_bytes()
    ckpt.write_bytes(data[:1000] if damage == "truncate" else b"\x00" * 5000)
    assert_user_error(
        condgan("train", "--resume", "--out", copy, "--steps", "6", "--no-progress"), "is corrupt or truncated"
    )


@pytest.mark.parametrize("damage", ["truncated-gzip", "truncated-idx", "wrong-content"])
def test_corrupt_idx_files(tmp_path, damage):
    bad = tmp_path / "data" / "mnist"
    bad.mkdir(parents=True)
    for f in BUNDLED.iterdir():
        (bad / f.name).write_bytes(f.read_bytes())
    target = bad / "train-labels-idx1-ubyte.gz"
    raw = gzip.decompress(target.read_bytes())
    if damage == "truncated-gzip":
        target.write_bytes(target.read_bytes()[:-100])
        message = "is corrupt or truncated (gzip"
    elif damage == "truncated-idx":
        target.write_bytes(gzip.compress(raw[:-5]))
        message = "failed its checksum"
    else:
        target.write_bytes(gzip.compress(raw[:8] + bytes(reversed(raw[8:]))))
        message = "failed its checksum: expected content md5 a25bea736e30d166cdddb491f175f624"
    result = condgan(
        "train", "--data-dir", tmp_path / "data", "--out", tmp_path / "r", *TINY, "--steps", "1", "--no-progress"
    )
    assert_user_error(result, message)


def test_resume_via_cli_continues_to_the_new_total(run_dir, tmp_path):
    copy = tmp_path / "run"
    subprocess.run(["cp", "-r", run_dir, copy], check=True)
    result = condgan("train", "--resume", "--out", copy, "--steps", "5", "--no-progress")
    assert result.returncode == 0, result.stderr
    assert "for 5 steps" in result.stdout
    assert_user_error(
        condgan("train", "--out", copy, *TINY, "--steps", "1", "--no-progress"), "already holds a run: pass --resume"
    )


def test_a_folder_with_another_runs_files_is_refused(run_dir, tmp_path):
    copy = tmp_path / "run"
    subprocess.run(["cp", "-r", run_dir, copy], check=True)
    (copy / "checkpoints" / "last.pt").unlink()
    result = condgan("train", "--out", copy, *TINY, "--steps", "1", "--no-progress")
    assert_user_error(result, "holds generator of another run (but no checkpoint to resume)")


def test_a_malformed_fault_spec_is_one_line(tmp_path):
    result = condgan(
        "train", "--out", tmp_path / "r", *TINY, "--steps", "1", "--no-progress", env={"CONDGAN_FAULT": "boom@3"}
    )
    assert_user_error(result, "CONDGAN_FAULT: expected KIND@STEP or KIND@POINT[:N]")


def _npz_with_header(path, shape):
    """A samples file whose images header claims `shape` (no data behind it)."""
    import io
    import zipfile

    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "|u1", "fortran_order": False, "shape": shape})
    labels = io.BytesIO()
    np.save(labels, np.zeros(3, np.int64))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("images.npy", header.getvalue())
        archive.writestr("labels.npy", labels.getvalue())
    return path


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p: _npz_with_header(p, (10**9, 28000, 28000)), "would take 730,156,898 GiB (limit 8 GiB)"),
        (
            lambda p: np.savez(p, images=np.zeros((0, 28, 28), np.uint8), labels=np.zeros(0, np.int64)),
            "holds no images",
        ),
        (
            lambda p: np.savez(p, images=np.zeros((1, 28, 28), np.uint8), labels=np.zeros(1, np.int64)),
            "at least 2 images",
        ),
        (
            lambda p: np.savez(p, images=np.zeros((10, 28, 28), np.uint8), labels=np.arange(10)),
            "1 of class '0': FID and intra-FID need at least 2 images of every class",
        ),
    ],
    ids=["absurd-header", "empty", "one-sample", "one-per-class"],
)
def test_hostile_samples_files_are_one_line(tmp_path, make, message):
    path = tmp_path / "s.npz"
    make(path)
    assert_user_error(condgan("eval", path, "--fast"), message)


def _copy_run(run_dir, tmp_path):
    copy = tmp_path / "run"
    subprocess.run(["cp", "-r", run_dir, copy], check=True)
    return copy


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (
            lambda s: s["nets"]["G"].update({k: v.fill_(float("nan")) for k, v in list(s["nets"]["G"].items())[:1]}),
            "weights are not finite",
        ),
        (lambda s: s.update(step=-5), "step must be a whole number >= 0, got -5"),
        (lambda s: s.update(step="12"), "step must be a whole number >= 0, got '12'"),
        (lambda s: s.update(config=[1, 2]), "config must be a mapping, got list"),
    ],
    ids=["nan-weights", "negative-step", "string-step", "list-config"],
)
def test_a_tampered_checkpoint_is_not_resumed(run_dir, tmp_path, change, message):
    import torch

    copy = _copy_run(run_dir, tmp_path)
    path = copy / "checkpoints" / "last.pt"
    state = torch.load(path, weights_only=True)
    change(state)
    torch.save(state, path)
    assert_user_error(condgan("train", "--resume", "--out", copy, "--steps", "99", "--no-progress"), message)


def test_a_pickled_checkpoint_is_named_not_condgans(run_dir, tmp_path):
    import pickle

    copy = _copy_run(run_dir, tmp_path)

    class Payload:
        def __reduce__(self):
            return (print, ("owned",))

    import torch

    torch.save({"x": Payload()}, copy / "checkpoints" / "last.pt", pickle_module=pickle)
    result = condgan("train", "--resume", "--out", copy, "--steps", "99", "--no-progress")
    assert_user_error(result, "is not a condgan checkpoint: it holds Python objects other than tensors")
    assert "weights_only" not in result.stderr and "owned" not in result.stdout


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda m: [m], "is not a condgan generator config"),
        (lambda m: None, "is not a condgan generator config"),
        (lambda m: {**m, "kwargs": [1]}, "kwargs must be an object"),
        (lambda m: {**m, "class_names": "0123456789", "conditions": None}, "class_names must be a list of strings"),
        (lambda m: {**m, "class_names": ["a"] * 10, "conditions": None}, "class_names holds 'a' twice"),
        (
            lambda m: {**m, "class_names": ["a", "b"], "conditions": None},
            "its condition has 2 columns, the model takes 10",
        ),
        (lambda m: {**m, "class_names": [str(i) for i in range(9, -1, -1)]}, "class_names disagree with conditions"),
        (lambda m: {**m, "conditions": {"kind": "factors", "factors": "x"}}, "conditions.factors must be a list"),
        (lambda m: {**m, "kwargs": {**m["kwargs"], "z_dim": 10**9}}, "kwargs.z_dim must be a whole number 0..4,096"),
        (lambda m: {**m, "kwargs": {**m["kwargs"], "w_dim": 10**9}}, "kwargs.w_dim must be a whole number 0..4,096"),
        (lambda m: {**m, "kwargs": {**m["kwargs"], "width": [8]}}, "kwargs.width must be a number, a word or null"),
        (lambda m: {**m, "kwargs": {**m["kwargs"], "refine": 10**6}}, "kwargs.refine must be a whole number 0..16"),
    ],
    ids=[
        "list",
        "null",
        "kwargs",
        "names-string",
        "duplicates",
        "count",
        "disagree",
        "factors",
        "huge-z",
        "huge-w-dim",
        "list-w",
        "huge-refine",
    ],
)
def test_a_tampered_generator_config_is_refused_naming_the_key(run_dir, tmp_path, edit, message):
    copy = _copy_run(run_dir, tmp_path)
    path = copy / "generator" / "config.json"
    path.write_text(json.dumps(edit(json.loads(path.read_text()))))
    assert_user_error(condgan("sample", copy, "--out", tmp_path / "x.png"), message)
