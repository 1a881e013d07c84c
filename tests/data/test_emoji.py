"""The emoji datasets, built from the real installed fonts (.ci/run installs them)."""

from __future__ import annotations

import collections
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from condgan.data import emoji, load_dataset
from condgan.data.emoji_labels import AGES, GENDERS, HAIRS, TONES, is_single_person, person_of
from condgan.data.paired import load_pairs
from condgan.errors import CondganError

pytestmark = pytest.mark.skipif(
    not all(s.path.is_file() for s in (emoji.NOTO, emoji.SYMBOLA, emoji.EMOJI_TEST)),
    reason="apt-get install fonts-noto-color-emoji fonts-symbola unicode-data",
)
SIZE = 32  # small for speed; the drawing is the same at every size


@pytest.fixture(scope="module")
def people() -> emoji.Built:
    return emoji.built("emoji-people", SIZE)[0]


def test_every_single_person_emoji_in_the_pinned_list_is_labelled():
    entries = [e for e in emoji.emoji_list() if is_single_person(e)]
    persons = [person_of(e) for e in entries]  # raises on any name it cannot read
    assert len(entries) == 1479
    assert {p.tone for p in persons} == set(TONES) and {p.hair for p in persons} == set(HAIRS)
    assert {p.gender for p in persons} == set(GENDERS) and {p.age for p in persons} == set(AGES)
    # the grids the edits are measured on are complete: each cell has exactly one emoji
    plain = [p for p in persons if p.role == "person"]
    hair_cells = collections.Counter((p.hair, p.gender, p.tone) for p in plain if p.age == "adult")
    age_cells = collections.Counter((p.age, p.gender, p.tone) for p in plain if p.hair == "none")
    assert len(hair_cells) == 7 * 3 * 6 and set(hair_cells.values()) == {1}
    assert len(age_cells) == 60 and set(age_cells.values()) == {1}
    full_roles = {
        r
        for r in {p.role for p in persons}
        if {(p.gender, p.tone) for p in persons if p.role == r and p.hair == "none"}
        >= {(g, t) for g in GENDERS for t in TONES}
    }
    assert len(full_roles - {"person"}) == 68  # 68 roles beside the plain person


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("woman health worker: medium-dark skin tone", ("medium-dark", "none", "woman", "adult", "health worker")),
        ("man: light skin tone, red hair", ("light", "red", "man", "adult", "person")),
        ("old woman: dark skin tone", ("dark", "none", "woman", "older", "person")),
        ("person: beard", ("default", "beard", "person", "adult", "person")),
        ("Mrs. Claus", ("default", "none", "woman", "adult", "claus")),
        ("police officer", ("default", "none", "person", "adult", "police officer")),
    ],
)
def test_labels_from_names(name, expected):
    entry = next(e for e in emoji.emoji_list() if e.name == name)
    p = person_of(entry)
    assert (p.tone, p.hair, p.gender, p.age, p.role) == expected


def test_people_dataset_every_image_drawn_and_split_by_figure(people):
    assert people.images.shape == (1479, 3, SIZE, SIZE) and people.images.dtype == np.uint8
    assert [f.name for f in people.factors] == ["tone", "hair", "gender", "age", "role"]
    train, test = set(people.figures[~people.test]), set(people.figures[people.test])
    assert train and test and not train & test  # no figure on both sides, in any tone
    assert 0.05 < people.test.mean() < 0.25
    # white background, coloured figures: corners white, the centre not
    assert (people.images[:, :, 0, 0] == 255).all()
    assert people.images[:, :, SIZE // 2 - 4 : SIZE // 2 + 4, SIZE // 2 - 4 : SIZE // 2 + 4].std() > 20
    # the same figure in two tones differs (the tone is drawn, not just named)
    woman = people.names.tolist().index("woman: light skin tone")
    dark = people.names.tolist().index("woman: dark skin tone")
    assert np.abs(people.images[woman].astype(int) - people.images[dark]).mean() > 10


def test_split_is_deterministic_and_cached(people):
    again, path = emoji.built("emoji-people", SIZE)
    assert path.is_file() and np.array_equal(again.test, people.test) and np.array_equal(again.images, people.images)
    path.write_bytes(b"damaged")  # a damaged cache is built again, not trusted
    rebuilt, _ = emoji.built("emoji-people", SIZE)
    assert np.array_equal(rebuilt.images, people.images)


def test_load_with_attributes_and_holdout(people):
    train = load_dataset("emoji-people", "train", img_size=SIZE)
    test = load_dataset("emoji-people", "test", img_size=SIZE)
    assert len(train) + len(test) == 1479 and train.labels.shape[1] == train.spec.dim
    held = load_dataset("emoji-people", "train", img_size=SIZE, holdout="hair=red,gender=woman")
    codes = held.spec.decode(held.labels.numpy())
    assert not ((codes[:, 1] == HAIRS.index("red")) & (codes[:, 2] == GENDERS.index("woman"))).any()
    assert len(train) - len(held) == int(((people.codes[:, 1] == 1) & (people.codes[:, 2] == 1) & ~people.test).sum())
    assert len(load_dataset("emoji-people", "train", img_size=SIZE, holdout="diagonal")) < len(train)
    # --attrs: unnamed factors take their defaults (hair none, age adult, role person); gender has none
    spec = train.spec
    code = spec.parse("gender=woman,hair=red,tone=medium-dark")
    assert spec.name_of(code) == "tone=medium-dark, hair=red, gender=woman, age=adult, role=person"
    with pytest.raises(CondganError, match="needs a value for gender"):
        spec.parse("hair=red")
    with pytest.raises(CondganError, match="unknown hair 'green'"):
        spec.parse("gender=man,hair=green")
    with pytest.raises(CondganError, match="not NAME=VALUE"):
        load_dataset("emoji-people", "train", img_size=SIZE, holdout="hair=green")


def test_every_emoji_by_group_and_line_art_pairs():
    groups = load_dataset("emoji", "train", img_size=SIZE)
    assert groups.spec.is_classes and "smileys-emotion" in groups.class_names and len(groups.class_names) == 10
    pairs = load_pairs("emoji-lineart", "paired", "test", img_size=SIZE)
    assert pairs.inputs.shape[1:] == (1, SIZE, SIZE) and pairs.images.shape[1:] == (3, SIZE, SIZE)
    ink = (pairs.inputs < 128).float().mean((1, 2, 3))
    assert (ink > 0.002).all() and (ink < 0.8).all()  # every input has black lines on white
    back = load_pairs("emoji-lineart", "paired", "test", img_size=SIZE, direction="BtoA")
    assert back.inputs.shape[1] == 3 and back.images.shape[1] == 1
    with pytest.raises(CondganError, match="no pairs"):
        load_pairs("emoji", "paired", "train", img_size=SIZE)


def test_a_different_font_or_a_missing_one_is_refused(tmp_path, monkeypatch):
    for source in (emoji.NOTO, emoji.SYMBOLA, emoji.EMOJI_TEST):
        shutil.copy(source.path, tmp_path / source.name)
    shutil.copy(emoji.SYMBOLA.path, tmp_path / emoji.NOTO.name)  # another file under Noto's name
    monkeypatch.setenv("CONDGAN_EMOJI_SOURCES", str(tmp_path))
    with pytest.raises(CondganError, match=r"not the pinned fonts-noto-color-emoji 2\.042"):
        emoji.built("emoji", SIZE)
    (tmp_path / emoji.NOTO.name).unlink()
    with pytest.raises(CondganError, match="apt-get install fonts-noto-color-emoji"):
        load_dataset("emoji-people", "train", img_size=SIZE)


def test_cli_build_and_its_errors(tmp_path):
    def run(*args, env=None):
        return subprocess.run(
            [sys.executable, "-m", "condgan", *(args if args[0] == "train" else ("data", *args))],
            capture_output=True,
            text=True,
            timeout=120,
            env=env,
        )

    ok = run("build", "emoji-lineart", "--img-size", "16")
    assert ok.returncode == 0, ok.stderr
    assert "emoji-lineart: 1145 images 3x16x16" in ok.stdout and "fonts-symbola" in ok.stdout
    for args, message in (
        (("build", "mnist"), "condgan data build makes emoji-people"),
        (("build", "emoji", "--img-size", "200"), "drawn at 8 to 128 px"),
    ):
        bad = run(*args)
        assert bad.returncode == 2 and message in bad.stderr and "Traceback" not in bad.stderr
    held = run("train", "--dataset", "emoji-people", "--set", "data.holdout=hair=green", "--out", str(tmp_path / "r"))
    assert held.returncode == 2 and "data.holdout: 'hair=green' is not NAME=VALUE" in held.stderr
    for source in (emoji.NOTO, emoji.EMOJI_TEST):
        shutil.copy(source.path, tmp_path / source.name)
    shutil.copy(emoji.SYMBOLA.path, tmp_path / emoji.NOTO.name)  # another file under Noto's name
    other = run("build", "emoji", env={**os.environ, "CONDGAN_EMOJI_SOURCES": str(tmp_path)})
    assert other.returncode == 2 and "is not the pinned fonts-noto-color-emoji 2.042" in other.stderr
    assert len(other.stderr.strip().splitlines()) == 1
