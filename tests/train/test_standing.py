"""Standing statistics: the saved generator's BatchNorm statistics re-measured, G as it samples."""

import pytest
import torch
from torch import nn

from condgan.train.standing import with_standing_stats


class Tiny(nn.Module):
    """(z, y) -> BatchNorm(dropout(z) + y): the shape of a generator with pix2pix's dropout."""

    def __init__(self):
        super().__init__()
        self.drop, self.bn = nn.Dropout(0.5), nn.BatchNorm1d(3)

    def forward(self, z, y):
        return self.bn(self.drop(z) + y)


def batches(n=4, size=32):
    gen = torch.Generator().manual_seed(0)
    return [(torch.randn(size, 3, generator=gen) * 2, torch.full((size, 3), float(i))) for i in range(n)]


def test_the_statistics_are_the_plain_average_measured_with_dropout_off():
    G = Tiny().train()
    data = batches()
    standing = with_standing_stats(G, data)
    inputs = [z + y for z, y in data]  # dropout off: z unscaled, nothing zeroed
    torch.testing.assert_close(standing.bn.running_mean, torch.stack([x.mean(0) for x in inputs]).mean(0))
    torch.testing.assert_close(standing.bn.running_var, torch.stack([x.var(0) for x in inputs]).mean(0))
    assert not standing.training and not standing.bn.training and standing.bn.momentum == G.bn.momentum


def test_the_network_passed_in_is_untouched():
    G = Tiny()
    before = {k: v.clone() for k, v in G.state_dict().items()}
    with_standing_stats(G, batches())
    assert all(torch.equal(before[k], v) for k, v in G.state_dict().items())


def test_without_batchnorm_it_is_the_same_network_and_an_empty_stream_is_refused():
    plain = nn.Linear(3, 3)
    assert with_standing_stats(plain, []) is plain
    with pytest.raises(ValueError, match="at least one batch"):
        with_standing_stats(Tiny(), [])
