import math

import torch
from torch.testing import assert_close

from condgan.metrics.fid import fid, frechet_distance, intra_fid, kid


def test_frechet_distance_of_diagonal_gaussians():
    # Commuting covariances: ||mu1 - mu2||^2 + sum (sqrt(a) - sqrt(b))^2.
    mu1, mu2 = torch.tensor([0.0, 0.0, 1.0]), torch.tensor([1.0, 2.0, 1.0])
    a, b = torch.tensor([1.0, 4.0, 9.0]), torch.tensor([4.0, 4.0, 1.0])
    expected = 5.0 + (1 - 2) ** 2 + 0 + (3 - 1) ** 2
    assert math.isclose(
        frechet_distance(mu1.double(), a.diag().double(), mu2.double(), b.diag().double()), expected, rel_tol=1e-9
    )


def test_frechet_distance_non_commuting_case():
    # S1 = [[2, 1], [1, 2]] (eigenvalues 3, 1), S2 = I: Tr(S1 + I - 2 S1^1/2) = 6 - 2 (sqrt(3) + 1).
    s1 = torch.tensor([[2.0, 1.0], [1.0, 2.0]], dtype=torch.float64)
    value = frechet_distance(
        torch.zeros(2, dtype=torch.float64), s1, torch.zeros(2, dtype=torch.float64), torch.eye(2, dtype=torch.float64)
    )
    assert math.isclose(value, 4 - 2 * math.sqrt(3), rel_tol=1e-9)


def test_sampled_fid_and_kid_are_near_zero_for_one_distribution_and_grow_with_a_shift():
    gen = torch.Generator().manual_seed(0)
    a, b = torch.randn(4000, 8, generator=gen), torch.randn(4000, 8, generator=gen)
    assert fid(a, b) < 0.05
    assert fid(a, b + 1.0) > 7.5  # ||shift||^2 = 8
    same, _ = kid(a, b, subsets=10, subset_size=500)
    shifted, _ = kid(a, b + 1.0, subsets=10, subset_size=500)
    assert abs(same) < 0.01 < shifted


def test_intra_fid_sees_swapped_classes_that_global_fid_misses():
    gen = torch.Generator().manual_seed(1)
    real = torch.cat([torch.randn(2000, 4, generator=gen) - 3, torch.randn(2000, 4, generator=gen) + 3])
    labels = torch.arange(2).repeat_interleave(2000)
    swapped = 1 - labels  # every image of the wrong class: same overall distribution
    assert fid(real, real) < 1e-6
    mean, per_class = intra_fid(real, swapped, real, labels, 2)
    assert mean > 100 and len(per_class) == 2
    assert_close(torch.tensor(intra_fid(real, labels, real, labels, 2)[0]), torch.tensor(0.0), atol=1e-6, rtol=0)
