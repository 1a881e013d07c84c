"""DCGAN initialisation (Radford et al. 2015) and spectral normalisation (Miyato et al. 2018)."""

from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

_NORMS = (nn.BatchNorm1d, nn.BatchNorm2d, nn.LayerNorm, nn.GroupNorm)


def dcgan_init_(module: nn.Module) -> None:
    """Weights N(0, 0.02), norm scales N(1, 0.02); label-lookup tables keep their own init."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, _NORMS) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


def spectral_norm_(module: nn.Module) -> None:
    """Divide every conv / linear weight by its largest singular value (one power iteration per
    forward): D becomes ~1-Lipschitz per layer, which keeps its gradients informative."""
    for m in list(module.modules()):
        if isinstance(m, (nn.Conv2d, nn.Linear)):
            spectral_norm(m)
