import torch

from condgan.data.batches import ShuffledBatches, to_signed_unit


def test_scaling_to_signed_unit():
    x = to_signed_unit(torch.tensor([0, 255], dtype=torch.uint8))
    assert x.tolist() == [-1.0, 1.0]


def test_batches_are_a_pure_function_of_seed_and_step():
    images = torch.arange(100, dtype=torch.uint8).view(100, 1, 1, 1)
    labels = torch.arange(100)
    a, b = ShuffledBatches(images, labels, 32, seed=1), ShuffledBatches(images, labels, 32, seed=1)
    assert a.steps_per_epoch == 3
    for step in [0, 5, 1, 4]:  # out of order: no hidden iterator state
        assert torch.equal(a(step)[1], b(step)[1])
    epoch0 = torch.cat([a(s)[1] for s in range(3)])
    assert len(set(epoch0.tolist())) == 96  # no repeats inside an epoch
    assert not torch.equal(epoch0, torch.cat([a(s)[1] for s in range(3, 6)]))  # reshuffled
    x, y = a(0)
    assert torch.equal(x.view(-1), to_signed_unit(images[y].view(-1)))
