"""Inception FID / KID / IS through torchmetrics, only with weights the user already has.

Nothing is ever downloaded: without `--inception-weights PATH` the result says how to get
them, and the other metrics are unaffected. Inception features are meaningless for
MNIST-like data (grey 28x28 digits resized to 299x299): prefer the classifier metrics.
"""

from __future__ import annotations

from pathlib import Path

import torch

HOW_TO_GET = (
    "not computed: pass --inception-weights PATH, the FID Inception weights "
    "(pt_inception-2015-12-05-6726825d.pth, published with torch-fidelity and pytorch-fid releases), "
    "and install the extra: pip install 'condgan[inception]'"
)


def _rgb(images: torch.Tensor) -> torch.Tensor:
    """uint8 (N, C, H, W) -> uint8 (N, 3, H, W): Inception wants 3 channels."""
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


def inception_metrics(
    fake: torch.Tensor, real: torch.Tensor, weights: str | Path | None, batch_size: int = 100
) -> dict | str:
    """{"inception_fid", "inception_kid", "inception_is"}, or the reason they were not computed:
    a problem here never fails the other metrics."""
    if weights is None:
        return HOW_TO_GET
    weights = Path(weights)
    if not weights.is_file():
        return f"not computed: --inception-weights: no such file {weights}"
    path = str(weights)
    try:  # torchmetrics reports a missing torch-fidelity only when a metric is built
        from torchmetrics.image.fid import FrechetInceptionDistance
        from torchmetrics.image.inception import InceptionScore
        from torchmetrics.image.kid import KernelInceptionDistance

        fid = FrechetInceptionDistance(feature_extractor_weights_path=path)
        kid = KernelInceptionDistance(subset_size=min(1000, len(fake), len(real)), feature_extractor_weights_path=path)
        score = InceptionScore(feature_extractor_weights_path=path)
    except ImportError as err:
        return f"not computed: needs torchmetrics and torch-fidelity, pip install 'condgan[inception]' ({err})"
    for start in range(0, max(len(fake), len(real)), batch_size):
        for images, is_real in ((real, True), (fake, False)):
            chunk = _rgb(images[start : start + batch_size])
            if len(chunk):
                fid.update(chunk, real=is_real)
                kid.update(chunk, real=is_real)
                if not is_real:
                    score.update(chunk)
    kid_mean, _ = kid.compute()
    return {
        "inception_fid": fid.compute().item(),
        "inception_kid": kid_mean.item(),
        "inception_is": score.compute()[0].item(),
    }
