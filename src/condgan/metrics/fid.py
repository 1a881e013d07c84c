"""Fréchet distance (FID's formula) and kernel inception distance, on any feature space.

condgan computes them on the domain classifier's penultimate features: Inception
features are meaningless for MNIST-like data and need downloaded weights.
"""

from __future__ import annotations

import torch


def gaussian_stats(features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """features: (N, D) -> mean (D,) and covariance (D, D), float64."""
    f = features.double()
    return f.mean(0), torch.cov(f.T)


def _sqrtm_psd(matrix: torch.Tensor) -> torch.Tensor:
    values, vectors = torch.linalg.eigh(matrix)
    return (vectors * values.clamp(min=0).sqrt()) @ vectors.T


def frechet_distance(mu1: torch.Tensor, sigma1: torch.Tensor, mu2: torch.Tensor, sigma2: torch.Tensor) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2), the W2 distance of two Gaussians.

    The symmetric form keeps every matrix PSD, so eigh is exact where sqrtm(S1 S2) is not.
    """
    root1 = _sqrtm_psd(sigma1)
    cross = torch.linalg.eigvalsh(root1 @ sigma2 @ root1).clamp(min=0).sqrt().sum()
    value = (mu1 - mu2).square().sum() + sigma1.trace() + sigma2.trace() - 2 * cross
    return max(value.item(), 0.0)


def fid(features_a: torch.Tensor, features_b: torch.Tensor) -> float:
    return frechet_distance(*gaussian_stats(features_a), *gaussian_stats(features_b))


def intra_fid(
    fake: torch.Tensor, fake_labels: torch.Tensor, real: torch.Tensor, real_labels: torch.Tensor, num_classes: int
) -> tuple[float, list[float]]:
    """Mean over classes of the Fréchet distance between each class's generated and real features."""
    per_class = [fid(fake[fake_labels == c], real[real_labels == c]) for c in range(num_classes)]
    return sum(per_class) / num_classes, per_class


def kid(
    features_a: torch.Tensor, features_b: torch.Tensor, subsets: int = 50, subset_size: int = 1000, seed: int = 0
) -> tuple[float, float]:
    """Unbiased MMD^2 with the kernel k(x, y) = (x.y / D + 1)^3 (Bińkowski et al. 2018), over random subsets.

    Returns (mean, standard deviation) over the subsets.
    """
    a, b = features_a.double(), features_b.double()
    m = min(subset_size, len(a), len(b))
    gen = torch.Generator().manual_seed(seed)
    values = []
    for _ in range(subsets):
        x = a[torch.randperm(len(a), generator=gen)[:m]]
        y = b[torch.randperm(len(b), generator=gen)[:m]]
        k_xx, k_yy, k_xy = ((p @ q.T / a.shape[1] + 1) ** 3 for p, q in ((x, x), (y, y), (x, y)))
        off_diagonal = (k_xx.sum() - k_xx.trace() + k_yy.sum() - k_yy.trace()) / (m * (m - 1))
        values.append((off_diagonal - 2 * k_xy.mean()).item())
    t = torch.tensor(values)
    return t.mean().item(), (t.std().item() if subsets > 1 else 0.0)
