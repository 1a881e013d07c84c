import pytest
import torch

from condgan.metrics.precision_recall import knn_radii, manifold_metrics


def test_knn_radii_on_a_line():
    points = torch.arange(6, dtype=torch.float64)[:, None]  # 0, 1, ..., 5
    assert knn_radii(points, 1).tolist() == [1.0] * 6
    assert knn_radii(points, 2).tolist() == [2.0, 1.0, 1.0, 1.0, 1.0, 2.0]
    with pytest.raises(ValueError, match="need more than k=5 points"):
        knn_radii(points[:5], 5)


def test_constructed_point_sets():
    # Real: 0..9 on a line, k=1 -> every real ball has radius 1.
    real = torch.arange(10, dtype=torch.float64)[:, None]
    # Fake: four points near 0..3 (inside real balls), one far away.
    fake = torch.tensor([0.0, 1.0, 2.0, 3.0, 50.0], dtype=torch.float64)[:, None]
    m = manifold_metrics(real, fake, k=1)
    assert m["precision"] == pytest.approx(4 / 5)
    # Fake radii (k=1): 1, 1, 1, 1, 47; the far fake's ball reaches [3, 97] -> covers 3..9,
    # the others cover 0..4: every real point is covered.
    assert m["recall"] == pytest.approx(1.0)
    # Density: fake 0 lies in the balls of reals 0, 1; fake 1 in 0, 1, 2; 2 in 1, 2, 3; 3 in 2, 3, 4; far one in none.
    assert m["density"] == pytest.approx((2 + 3 + 3 + 3) / (1 * 5))
    # Coverage: reals 0..3 have a fake at distance 0; real 4's nearest fake is 3 (distance 1 <= 1); 5..9 none.
    assert m["coverage"] == pytest.approx(5 / 10)


def test_collapse_keeps_precision_but_loses_recall_and_coverage():
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(2000, 4, generator=gen, dtype=torch.float64)
    good = manifold_metrics(real, torch.randn(2000, 4, generator=gen, dtype=torch.float64))
    collapsed = manifold_metrics(
        real, real[:1].repeat(2000, 1) + 1e-3 * torch.randn(2000, 4, generator=gen, dtype=torch.float64)
    )
    assert good["recall"] > 0.6 and good["coverage"] > 0.8
    assert collapsed["precision"] == pytest.approx(1.0)
    assert collapsed["recall"] < 0.01 and collapsed["coverage"] < 0.01
