"""The attribute judge and the generation report of a several-factor dataset (emoji-people)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from condgan.conditions import ConditionSpec, Factor
from condgan.data import emoji, load_dataset
from condgan.data.emoji import held_out, holdout_combos
from condgan.metrics import attributes
from condgan.metrics.classifier import DomainCNN

SPEC = ConditionSpec((Factor("tone", ("a", "b", "c")), Factor("hair", ("x", "y"))))


def test_factor_blocks_and_reading():
    logits = torch.tensor([[0.0, 5.0, 1.0, 2.0, -1.0], [9.0, 0.0, 0.0, 0.0, 3.0]])
    blocks = attributes.factor_logits(SPEC, logits)
    assert [b.shape[1] for b in blocks] == [3, 2]
    assert [b.argmax(1).tolist() for b in blocks] == [[1, 0], [0, 1]]

    class Fixed(DomainCNN):
        def features(self, x):
            return torch.zeros(len(x), 2)

    judge = Fixed(3, SPEC.dim)
    judge.head = torch.nn.Linear(2, SPEC.dim)
    with torch.no_grad():
        judge.head.weight.zero_()
        judge.head.bias.copy_(torch.tensor([0.0, 0.0, 1.0, 0.0, 1.0]))
    read = attributes.read_factors(SPEC, judge, torch.zeros(4, 3, 8, 8, dtype=torch.uint8))
    assert read.tolist() == [[2, 1]] * 4


def test_holdout_combinations_match_every_named_value():
    codes = np.array([[0, 0], [0, 1], [1, 1], [2, 1]])
    combos = holdout_combos(SPEC, "tone=a,hair=y; tone=c")
    assert combos == [{0: 0, 1: 1}, {0: 2}]
    assert held_out(codes, combos).tolist() == [False, True, False, True]
    assert not held_out(codes, holdout_combos(SPEC, None)).any()


@pytest.mark.skipif(not emoji.NOTO.path.is_file(), reason="apt-get install fonts-noto-color-emoji unicode-data")
def test_the_report_reads_a_generator_that_copies_the_training_images(monkeypatch):
    """A 'generator' that returns the real training image of the asked combination scores what
    the judge scores on its own training images (a generator that ignores the condition does not)."""
    monkeypatch.setattr(attributes, "JUDGE_EPOCHS", 3)
    train = load_dataset("emoji-people", "train", img_size=16, holdout="diagonal")
    table = {tuple(v.tolist()): i for i, v in enumerate(train.labels)}

    class Copy(torch.nn.Module):
        num_classes, z_dim, config = train.spec.dim, 4, {}

        def __init__(self):
            super().__init__()
            self.unused = torch.nn.Parameter(torch.zeros(1))  # sampling asks G for its device

        def forward(self, z, y):
            picked = torch.stack([train.images[table.get(tuple(v.tolist()), 0)] for v in y])
            return picked.float() / 127.5 - 1

    class Blind(Copy):
        def forward(self, z, y):
            return train.images[: len(y)].float() / 127.5 - 1

    copy = attributes.generation_report(Copy(), "emoji-people", "diagonal", total=400, img_size=16)
    blind = attributes.generation_report(Blind(), "emoji-people", "diagonal", total=400, img_size=16)
    assert copy["seen_combinations"] == len(np.unique(train.spec.decode(train.labels.numpy()), axis=0))
    assert copy["held_out_images"] >= 1 and "held_out_tone_acc" in copy
    assert copy["seen_tone_acc"] > blind["seen_tone_acc"] + 0.2
    assert copy["fid_judge"] < blind["fid_judge"]
