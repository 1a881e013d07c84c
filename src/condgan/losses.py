"""GAN losses as pure functions of discriminator outputs, plus the critic regularisers.

Logit losses use the softplus form (no log(0), no overflow):
-log(sigmoid(t)) = softplus(-t);  -log(1 - sigmoid(t)) = softplus(t).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from condgan.registry import Registry


def bce_d(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """D's binary cross-entropy: real -> 1, fake -> 0.

    Args:
        d_real: (N,) logits of real images; d_fake: (M,) logits of generated ones.
    """
    return F.softplus(-d_real).mean() + F.softplus(d_fake).mean()  # -log D(x) - log(1 - D(G(z)))


def bce_g(d_fake: torch.Tensor) -> torch.Tensor:
    """G's non-saturating loss (Goodfellow et al. 2014): strong gradients while D still wins."""
    return F.softplus(-d_fake).mean()  # -log D(G(z)), not log(1 - D(G(z)))


def wasserstein_d(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """The critic maximises E[D(x)] - E[D(G(z))], an estimate of W1 once D is 1-Lipschitz."""
    return d_fake.mean() - d_real.mean()


def wasserstein_g(d_fake: torch.Tensor) -> torch.Tensor:
    """G raises the critic's score of its samples: -E[D(G(z))] (no log, no sigmoid)."""
    return -d_fake.mean()


def hinge_d(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]: no reward for being surer than the margin."""
    return F.relu(1.0 - d_real).mean() + F.relu(1.0 + d_fake).mean()


def lsgan_d(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """Least squares (Mao et al. 2017): 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]."""
    return 0.5 * ((d_real - 1.0) ** 2).mean() + 0.5 * (d_fake**2).mean()


def lsgan_g(d_fake: torch.Tensor) -> torch.Tensor:
    """1/2 E[(D(G(z)) - 1)^2]: the gradient grows with the distance from the real target."""
    return 0.5 * ((d_fake - 1.0) ** 2).mean()


def aux_classifier_loss(class_logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """ACGAN's auxiliary term: cross-entropy of the class head against the asked-for label."""
    return F.cross_entropy(class_logits, y)


def gradient_penalty(D: nn.Module, x_real: torch.Tensor, x_fake: torch.Tensor, y: torch.Tensor | None,
                     alpha: torch.Tensor) -> torch.Tensor:  # fmt: skip
    """WGAN-GP (Gulrajani et al. 2017): E[(||grad_x D(x_hat, y)||_2 - 1)^2].

    x_hat = alpha * x_real + (1 - alpha) * x_fake, one alpha ~ U[0, 1] per sample (alpha: (N,));
    pair i keeps its label y_i, so a conditional critic is penalised where it is evaluated.
    Any (N, ...) image shape: the norm is taken over everything but the batch dimension.
    The penalty's graph is kept (create_graph) so that D's parameters receive its gradient.
    """
    alpha = alpha.view(-1, *([1] * (x_real.dim() - 1))).to(x_real.dtype)
    x_hat = (alpha * x_real.detach() + (1 - alpha) * x_fake.detach()).requires_grad_(True)
    scores = D(x_hat, y).logits
    (grad,) = torch.autograd.grad(scores.sum(), x_hat, create_graph=True)
    norm = torch.sqrt(grad.flatten(1).pow(2).sum(1) + 1e-12)  # eps: finite gradient at grad = 0
    return ((norm - 1.0) ** 2).mean()


@torch.no_grad()
def clip_weights_(D: nn.Module, c: float) -> None:
    """WGAN's weight clipping: every parameter of the critic into [-c, c] (a crude Lipschitz bound)."""
    for p in D.parameters():
        p.clamp_(-c, c)


@dataclass(frozen=True)
class GANLoss:
    """A loss pair and its recipe's defaults (used where the config leaves them unset)."""

    d: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (d_real, d_fake) -> scalar
    g: Callable[[torch.Tensor], torch.Tensor]  # d_fake -> scalar
    probability: bool = False  # D's output is a logit of P(real): logged as sigmoid means
    wasserstein: bool = False  # a critic: weight clipping applies
    clip: float | None = None  # default weight-clipping bound
    gp_weight: float = 0.0  # default gradient-penalty weight
    n_critic: int = 1  # default D steps per G step


LOSSES: Registry[GANLoss] = Registry("loss")
LOSSES.add("bce", GANLoss(bce_d, bce_g, probability=True))
LOSSES.add("wgan", GANLoss(wasserstein_d, wasserstein_g, wasserstein=True, clip=0.01, n_critic=5))
LOSSES.add("wgan-gp", GANLoss(wasserstein_d, wasserstein_g, wasserstein=True, gp_weight=10.0, n_critic=5))
LOSSES.add("hinge", GANLoss(hinge_d, wasserstein_g))  # G: -E[D(G(z))], as in SNGAN / BigGAN
LOSSES.add("lsgan", GANLoss(lsgan_d, lsgan_g))
