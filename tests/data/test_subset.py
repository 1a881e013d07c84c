import pytest
import torch

from condgan.data import load_dataset
from condgan.data.subset import per_class_subset
from condgan.errors import CondganError
from condgan.train.trainer import Trainer
from tests.train.test_trainer import tiny_config


@pytest.fixture(scope="module")
def mnist():
    return load_dataset("mnist", "train")


def test_k_of_every_class_seeded_and_nested(mnist):
    ten = per_class_subset(mnist, 10, seed=3)
    assert torch.bincount(ten.labels, minlength=10).tolist() == [10] * 10
    again = per_class_subset(mnist, 10, seed=3)
    assert torch.equal(ten.images, again.images)
    other = per_class_subset(mnist, 10, seed=4)
    assert not torch.equal(ten.images, other.images)
    fifty = per_class_subset(mnist, 50, seed=3)
    # every image of the 10-per-class set is in the 50-per-class set of the same seed
    rows = {bytes(x.numpy().tobytes()) for x in fifty.images}
    assert all(bytes(x.numpy().tobytes()) in rows for x in ten.images)


def test_a_class_with_too_few_images_is_named(mnist):
    with pytest.raises(CondganError, match=r"data.per_class=6000, but class '5' has only 5421"):
        per_class_subset(mnist, 6000)


def test_several_factor_conditions_are_refused():
    coloured = load_dataset("coloured-mnist", "test")
    with pytest.raises(CondganError, match="several factors"):
        per_class_subset(coloured, 5)


def test_the_trainer_trains_on_the_subset(tmp_path):
    config = tiny_config(steps=2)
    config.data.per_class = 3
    trainer = Trainer(config, tmp_path / "run", progress=False)
    assert len(trainer.data) == 30
    with pytest.raises(CondganError, match="batch_size 16 exceeds the dataset size 10"):
        bad = tiny_config(steps=2)
        bad.data.per_class = 1
        Trainer(bad, tmp_path / "bad", progress=False)
