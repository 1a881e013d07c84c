"""Manifold metrics on feature sets, with k-nearest-neighbour balls around each sample.

Precision / recall: Kynkäänniemi et al. 2019. Density / coverage: Naeem et al. 2020.
Precision and density ask "are the fakes realistic?"; recall and coverage ask "is all of
the real data covered?" — the ones that fall when a generator collapses.
"""

from __future__ import annotations

import torch

K_NEIGHBOURS = 5  # k of both papers' recommended setting


def _chunked_distances(x: torch.Tensor, y: torch.Tensor, chunk: int = 2048):
    """Yield (start, (n, len(y)) distance rows) so 10k x 10k never sits in memory at once."""
    for start in range(0, len(x), chunk):
        yield start, torch.cdist(x[start : start + chunk], y)


def knn_radii(features: torch.Tensor, k: int) -> torch.Tensor:
    """Distance from each point to its k-th nearest other point: (N,)."""
    if len(features) <= k:
        raise ValueError(f"need more than k={k} points, got {len(features)}")
    radii = torch.empty(len(features), dtype=features.dtype)
    for start, d in _chunked_distances(features, features):
        radii[start : start + len(d)] = d.kthvalue(k + 1, dim=1).values  # +1: the point itself
    return radii


def _ball_counts(points: torch.Tensor, centres: torch.Tensor, radii: torch.Tensor) -> torch.Tensor:
    """For each point, how many balls B(centre_i, radius_i) contain it: (len(points),)."""
    counts = torch.empty(len(points), dtype=torch.long)
    for start, d in _chunked_distances(points, centres):
        counts[start : start + len(d)] = (d <= radii[None]).sum(1)
    return counts


def manifold_metrics(real: torch.Tensor, fake: torch.Tensor, k: int = K_NEIGHBOURS) -> dict[str, float]:
    """real: (N, D), fake: (M, D) features -> precision, recall, density, coverage."""
    real, fake = real.double(), fake.double()
    real_radii, fake_radii = knn_radii(real, k), knn_radii(fake, k)
    fake_in_real = _ball_counts(fake, real, real_radii)
    nearest_fake = torch.cat([d.min(1).values for _, d in _chunked_distances(real, fake)])
    return {
        "precision": (fake_in_real > 0).double().mean().item(),
        "recall": (_ball_counts(real, fake, fake_radii) > 0).double().mean().item(),
        "density": (fake_in_real.double().sum() / (k * len(fake))).item(),
        "coverage": (nearest_fake <= real_radii).double().mean().item(),
    }
