"""`condgan sample --out DIR/`: an image folder with a manifest, read back by condgan's own folder
dataset, every image regenerated from its manifest row."""

import numpy as np
import pytest
from PIL import Image

from condgan.data.folder import load_folder
from condgan.models.storage import load_generator
from condgan.sample_folder import folder_name, read_manifest, regenerate
from tests.test_cli import assert_user_error, condgan


def test_a_class_run_as_a_folder_round_trips(tiny_run, tmp_path):
    out = tmp_path / "gen"
    result = condgan("sample", tiny_run, "--per-class", "12", "--seed", "3", "--out", out)
    assert result.returncode == 0, result.stderr
    rows = read_manifest(out)
    assert len(rows) == 120 and {r["class_name"] for r in rows} == {str(d) for d in range(10)}
    train, test = load_folder(out, "train"), load_folder(out, "test", img_size=28)
    assert len(train) + len(test) == 120 and train.class_names == tuple(str(d) for d in range(10))
    counts = np.bincount(np.concatenate([train.labels.numpy(), test.labels.numpy()]), minlength=10)
    assert (counts == 12).all()
    G, spec = load_generator(tiny_run)
    for row in rows[::17]:
        stored = np.asarray(Image.open(out / row["file"]))
        assert np.array_equal(regenerate(G, spec, row, len(rows)), stored)  # bit-identical
        assert row["seed"] == "3" and row["file"].startswith(row["class_name"] + "/")
    same = condgan("sample", tiny_run, "--per-class", "12", "--seed", "3", "--out", tmp_path / "same.npz")
    assert same.returncode == 0, same.stderr
    with np.load(tmp_path / "same.npz") as f:  # the .npz of the same draw holds the same images
        stored = np.asarray(Image.open(out / rows[5]["file"]))
        assert np.array_equal(f["images"][int(rows[5]["noise_index"])], stored)


def test_a_factor_run_writes_its_condition_columns(tmp_path, shared_datasets):
    from condgan.config import load_config
    from condgan.train import Trainer

    run = tmp_path / "cm"
    options = {
        "data": {"dataset": "coloured-mnist", "data_dir": str(shared_datasets)},
        "model": {"width": 8},
        "train": {"epochs": None, "steps": 2, "batch_size": 16},
    }
    Trainer(load_config("coloured-mnist", [options]), run, progress=False).fit()
    out = tmp_path / "gen"
    assert condgan("sample", run, "--per-class", "2", "--out", out, "--format", "folder").returncode == 0
    rows = read_manifest(out)
    G, spec = load_generator(run)
    assert len(rows) == 2 * 10 * len(spec.factors[1].values)
    assert "digit=7" in rows[0] and {r["class_name"] for r in rows} >= {"digit=7, colour=red"}
    assert (out / folder_name("digit=7, colour=red")).is_dir()
    row = rows[-1]
    assert np.array_equal(regenerate(G, spec, row, len(rows)), np.asarray(Image.open(out / row["file"])))


def test_folder_user_errors(tiny_run, tmp_path):
    (tmp_path / "full").mkdir()
    (tmp_path / "full" / "x.txt").write_text("mine")
    assert_user_error(
        condgan("sample", tiny_run, "--per-class", "2", "--out", tmp_path / "full"), "not an empty folder"
    )
    assert (tmp_path / "full" / "x.txt").read_text() == "mine"
    assert_user_error(condgan("sample", tiny_run, "--format", "npz", "--out", tmp_path / "a.png"), "writes a .npz")


@pytest.mark.parametrize(
    ("name", "safe"), [("t-shirt/top", "t-shirt_top"), ("..", "_"), ("digit=7, colour=red", "digit=7,colour=red")]
)
def test_folder_names_are_one_safe_component(name, safe):
    assert folder_name(name) == safe
