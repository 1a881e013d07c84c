"""GAN losses and their regularisers: the whole meaning of `--loss NAME` in one file.

A loss is a pair of pure functions of D's outputs plus its recipe's defaults (registry at
the end): e.g. wgan-gp = the Wasserstein critic, a gradient penalty of weight 10, five
critic steps per G step, and (the penalty being per sample) no BatchNorm in the critic.
`resolve_recipe` turns the config's loss options into the `Recipe` the trainer runs,
refusing combinations that contradict each other.

Logit losses use the softplus form (no log(0), no overflow):
-log(sigmoid(t)) = softplus(-t);  -log(1 - sigmoid(t)) = softplus(t).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from condgan.errors import CondganError
from condgan.registry import Registry

if TYPE_CHECKING:  # models import nothing from here; the type alone is needed
    from condgan.models.conditioning import DOutput


def bce_d(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """D's binary cross-entropy: real -> 1, fake -> 0.

    Args:
        d_real: (N,) logits of real images; d_fake: (M,) logits of generated ones.
    """
    return F.softplus(-d_real).mean() + bce_d_fake(d_fake)  # -log D(x) - log(1 - D(G(z)))


def bce_d_fake(d_fake: torch.Tensor) -> torch.Tensor:
    """D's BCE term for images it must call fake: -log(1 - D(x))."""
    return F.softplus(d_fake).mean()


def bce_g(d_fake: torch.Tensor) -> torch.Tensor:
    """G's non-saturating loss (Goodfellow et al. 2014): strong gradients while D still wins."""
    return F.softplus(-d_fake).mean()  # -log D(G(z)), not log(1 - D(G(z)))


def wasserstein_d(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """The critic maximises E[D(x)] - E[D(G(z))], an estimate of W1 once D is 1-Lipschitz."""
    return wasserstein_d_fake(d_fake) - d_real.mean()


def wasserstein_d_fake(d_fake: torch.Tensor) -> torch.Tensor:
    return d_fake.mean()


def wasserstein_g(d_fake: torch.Tensor) -> torch.Tensor:
    """G raises the critic's score of its samples: -E[D(G(z))] (no log, no sigmoid)."""
    return -d_fake.mean()


def hinge_d(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))]: no reward for being surer than the margin."""
    return F.relu(1.0 - d_real).mean() + hinge_d_fake(d_fake)


def hinge_d_fake(d_fake: torch.Tensor) -> torch.Tensor:
    return F.relu(1.0 + d_fake).mean()


def lsgan_d(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """Least squares (Mao et al. 2017): 1/2 E[(D(x) - 1)^2] + 1/2 E[D(G(z))^2]."""
    return 0.5 * ((d_real - 1.0) ** 2).mean() + lsgan_d_fake(d_fake)


def lsgan_d_fake(d_fake: torch.Tensor) -> torch.Tensor:
    return 0.5 * (d_fake**2).mean()


def lsgan_g(d_fake: torch.Tensor) -> torch.Tensor:
    """1/2 E[(D(G(z)) - 1)^2]: the gradient grows with the distance from the real target."""
    return 0.5 * ((d_fake - 1.0) ** 2).mean()


def aux_classifier_loss(class_logits: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """ACGAN's auxiliary term: cross-entropy of the class head against the asked-for label."""
    return F.cross_entropy(class_logits, y)


def gradient_penalty(
    D: nn.Module, x_real: torch.Tensor, x_fake: torch.Tensor, y: torch.Tensor | None, alpha: torch.Tensor
) -> torch.Tensor:
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


def r1_penalty(D: nn.Module, x_real: torch.Tensor, y: torch.Tensor | None) -> torch.Tensor:
    """R1 (Mescheder et al. 2018): E[||grad_x D(x, y)||^2] on real images only, zero-centred.

    It pushes D's surface flat where the data is, so D cannot push G away from it with steep
    gradients; weighted by gamma / 2 (`loss.r1_gamma`). A separate forward of D on the real
    batch (the penalty's graph must start at the pixels), which lazy application amortises.
    """
    x = x_real.detach().requires_grad_(True)
    scores = D(x, y).logits
    (grad,) = torch.autograd.grad(scores.float().sum(), x, create_graph=True)
    return grad.float().flatten(1).pow(2).sum(1).mean()


def l1_loss(x_fake: torch.Tensor, x_target: torch.Tensor) -> torch.Tensor:
    """pix2pix's reconstruction term: E|G(x_in) - x_target| per pixel (sharp where the GAN term
    is, L1 alone gives the blurry mean of the plausible outputs)."""
    return (x_fake.float() - x_target.float()).abs().mean()


def cycle_loss(x: torch.Tensor, x_rec: torch.Tensor) -> torch.Tensor:
    """CycleGAN's cycle consistency (Zhu et al. 2017): E|F(G(x)) - x|, the mean absolute error
    of the round trip (N, C, H, W) to where it started, in fp32; weighted by lambda
    (model.cyclegan.cycle_weight). Its identity term, E|G(y) - y| for y already of G's output
    domain (weight identity_weight x lambda), is the same distance."""
    return l1_loss(x_rec, x)


def l2_loss(x_fake: torch.Tensor, x_target: torch.Tensor) -> torch.Tensor:
    """E(G(x_in) - x_target)^2 per pixel. Beside L1 it lets a channel out of a median trap: when a
    colour is on in a minority of the pixels G cannot yet tell apart, L1's sign-only gradient keeps
    it off for good (coloured-mnist's blue, docs/results.md); the squared error's does not."""
    return (x_fake.float() - x_target.float()).pow(2).mean()


def critic_parameters(D: nn.Module) -> list[nn.Parameter]:
    """The parameters of D's score: all but those of modules marked `auxiliary` (ACGAN's class
    head), which compute no part of the critic's value."""
    aux = {id(p) for m in D.modules() if getattr(m, "auxiliary", False) for p in m.parameters()}
    return [p for p in D.parameters() if id(p) not in aux]


@torch.no_grad()
def clip_weights_(D: nn.Module, c: float) -> None:
    """WGAN's weight clipping: every parameter of the critic into [-c, c] (a crude Lipschitz bound).

    An auxiliary class head is left alone: it is not the critic, and clipped to 0.01 it could not
    learn the classes (the class loss stayed near chance, docs/results.md); the features it
    shares with the critic stay clipped."""
    for p in critic_parameters(D):
        p.clamp_(-c, c)


# --- regularisers: what a recipe adds to the plain loss pair ------------------------------
@dataclass(frozen=True)
class DTerms:
    """What a regulariser's loss term may read: one D step's batch and D's outputs (fp32).

    Terms are computed in the autocast region of D's forwards (they may call D again, and
    share its cast weights); return them in fp32."""

    D: nn.Module
    x_real: torch.Tensor
    x_fake: torch.Tensor  # detached from G for D's terms
    y: torch.Tensor | None
    out_real: DOutput
    out_fake: DOutput
    draw: torch.Tensor | None  # this regulariser's random numbers for the step (see Regulariser.draw)
    fake_loss: Callable[[torch.Tensor], torch.Tensor]  # the loss's D term for fakes (GANLoss.d_fake)


@dataclass(frozen=True)
class GTerms:
    """What a regulariser's G term may read: D's output on G's images, the condition, G's images
    (with G's graph) and the real images of the same condition (for pix2pix, the targets)."""

    out_fake: DOutput
    y: torch.Tensor | None
    x_fake: torch.Tensor
    x_real: torch.Tensor
    G: nn.Module | None = None  # the generator itself (a term on its weights: orthogonal regularisation)


@dataclass(frozen=True)
class Regulariser:
    """One extra ingredient of training. Every hook is optional:

    d_term(terms) -> scalar, added to D's loss times the weight (logged under `stat`);
    g_term(terms: GTerms) -> scalar, added to G's loss times the weight (outside autocast);
    after_d_update(D, weight): applied to D's weights after each of its updates;
    draw(n, generator, device): random numbers drawn once per D step, in the trainer's stream.
    """

    stat: str
    d_term: Callable[[DTerms], torch.Tensor] | None = None
    g_term: Callable[[GTerms], torch.Tensor] | None = None
    after_d_update: Callable[[nn.Module, float], None] | None = None
    draw: Callable[[int, torch.Generator, torch.device], torch.Tensor] | None = None
    bounds_critic: bool = False  # a Lipschitz bound of the critic: at most one per recipe
    needs_critic: bool = False  # only meaningful for a Wasserstein critic
    per_sample: bool = False  # computed per sample: BatchNorm in D (which mixes samples) is refused
    needs_d_cond: str | None = None  # only with this model.d_cond
    reads_label: bool = False  # only for a D that reads the label (not ACGAN's label-free D)
    needs_pairs: bool = False  # only for image-conditioned models (a target for every input)
    config_key: str = ""  # the LossConfig field that sets its weight
    scale: float = 1.0  # the weight the term is multiplied by is scale * (the config's value)
    every_key: str = ""  # the LossConfig field of its lazy interval (the term on every k-th D step, times k)
    until_key: str = ""  # the LossConfig field of the fraction of the run after which the term stops


def _gp_term(t: DTerms) -> torch.Tensor:
    return gradient_penalty(t.D, t.x_real, t.x_fake, t.y, t.draw).float()


def _r1_term(t: DTerms) -> torch.Tensor:
    return r1_penalty(t.D, t.x_real, t.y)


def mismatch_pairs(y: torch.Tensor, draw: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Each sample's condition swapped for another sample's (a permutation drawn from `draw`,
    (N,) uniform), and which rows actually differ: (y_wrong, mask). Class labels (N,) or
    condition vectors (N, K): no class count is needed, and attribute vectors work the same."""
    y_wrong = y[torch.argsort(draw)]
    differs = y_wrong != y
    return y_wrong, differs if differs.dim() == 1 else differs.flatten(1).any(1)


def _mismatch_term(t: DTerms) -> torch.Tensor:
    """Matching-aware D (Reed et al. 2016, GAN-CLS): real images under another sample's label
    are fakes too, so D must read the label, not only judge realism."""
    y_wrong, differs = mismatch_pairs(t.y, t.draw)
    if not bool(differs.any()):  # a batch of one class: nothing to mismatch
        return t.out_real.logits.new_zeros(())
    # D sees the whole batch (a fixed shape: no new kernels per step), the loss only the rows that differ
    logits = t.D(t.x_real, y_wrong).logits
    return t.fake_loss(logits.float()[differs])


def _aux_d_term(t: DTerms) -> torch.Tensor:
    return aux_classifier_loss(t.out_real.class_logits, t.y) + aux_classifier_loss(t.out_fake.class_logits, t.y)


def _aux_g_term(t: GTerms) -> torch.Tensor:
    return aux_classifier_loss(t.out_fake.class_logits, t.y)


def _l1_g_term(t: GTerms) -> torch.Tensor:
    return l1_loss(t.x_fake, t.x_real)


def _l2_g_term(t: GTerms) -> torch.Tensor:
    return l2_loss(t.x_fake, t.x_real)


def orthogonal_penalty(G: nn.Module) -> torch.Tensor:
    """BigGAN's orthogonal regularisation (Brock et al. 2019): sum over G's weight matrices W
    (conv kernels flattened per output channel) of 1/2 ||W W^T (1 - I)||_F^2: filters pushed
    toward orthogonality without constraining their norms, which keeps G amenable to the
    truncation trick. Label tables (embeddings) are left out, as in the reference."""
    total, tables = None, {id(p) for m in G.modules() if isinstance(m, nn.Embedding) for p in m.parameters()}
    for p in G.parameters():
        if p.dim() < 2 or id(p) in tables:
            continue
        w = p.float().flatten(1)
        gram = w @ w.t()
        off = gram - torch.diag_embed(torch.diagonal(gram))
        term = 0.5 * off.square().sum()
        total = term if total is None else total + term
    return total if total is not None else torch.zeros(())


def _ortho_g_term(t: GTerms) -> torch.Tensor:
    return orthogonal_penalty(t.G)


def _uniform(n: int, generator: torch.Generator, device: torch.device) -> torch.Tensor:
    return torch.rand(n, generator=generator, device=device)


REGULARISERS: Registry[Regulariser] = Registry("regulariser")
REGULARISERS.add(
    "gp",
    Regulariser(
        "gp",
        d_term=_gp_term,
        draw=_uniform,
        bounds_critic=True,
        per_sample=True,
        config_key="gp_weight",
        every_key="gp_every",
    ),
)
REGULARISERS.add(
    "clip", Regulariser("clip", after_d_update=clip_weights_, bounds_critic=True, needs_critic=True, config_key="clip")
)
REGULARISERS.add(
    "r1",
    Regulariser("r1", d_term=_r1_term, config_key="r1_gamma", scale=0.5, every_key="r1_every", until_key="r1_until"),
)
REGULARISERS.add(
    "aux", Regulariser("d_aux", d_term=_aux_d_term, g_term=_aux_g_term, needs_d_cond="acgan", config_key="aux_weight")
)
REGULARISERS.add(
    "mismatch",
    Regulariser(
        "d_mismatch",
        d_term=_mismatch_term,
        draw=_uniform,
        reads_label=True,
        config_key="mismatch_weight",
        every_key="mismatch_every",
    ),
)
REGULARISERS.add("l1", Regulariser("g_l1", g_term=_l1_g_term, needs_pairs=True, config_key="l1_weight"))
REGULARISERS.add("l2", Regulariser("g_l2", g_term=_l2_g_term, needs_pairs=True, config_key="l2_weight"))
REGULARISERS.add("ortho", Regulariser("g_ortho", g_term=_ortho_g_term, config_key="ortho_weight"))


# --- losses and their recipes ----------------------------------------------------------
@dataclass(frozen=True)
class GANLoss:
    """A loss pair and its recipe's defaults (used where the config leaves them unset)."""

    d: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]  # (d_real, d_fake) -> scalar
    g: Callable[[torch.Tensor], torch.Tensor]  # d_fake -> scalar
    d_fake: Callable[[torch.Tensor], torch.Tensor]  # d's term for what it must call fake -> scalar
    probability: bool = False  # D's output is a logit of P(real): logged as sigmoid means
    wasserstein: bool = False  # a critic: weight clipping applies
    regularisers: Mapping[str, float] = field(default_factory=dict)  # default weights by REGULARISERS name
    n_critic: int = 1  # default D steps per G step

    def __post_init__(self) -> None:
        object.__setattr__(self, "regularisers", MappingProxyType(dict(self.regularisers)))

    @property
    def clip(self) -> float | None:
        return self.regularisers.get("clip")

    @property
    def gp_weight(self) -> float:
        return self.regularisers.get("gp", 0.0)


LOSSES: Registry[GANLoss] = Registry("loss")
_CRITIC = dict(d=wasserstein_d, g=wasserstein_g, d_fake=wasserstein_d_fake, wasserstein=True, n_critic=5)
LOSSES.add("bce", GANLoss(bce_d, bce_g, bce_d_fake, probability=True))
LOSSES.add("wgan", GANLoss(**_CRITIC, regularisers={"clip": 0.01}))
LOSSES.add("wgan-gp", GANLoss(**_CRITIC, regularisers={"gp": 10.0}))
LOSSES.add("hinge", GANLoss(hinge_d, wasserstein_g, hinge_d_fake))  # G: -E[D(G(z))], as in SNGAN / BigGAN
LOSSES.add("lsgan", GANLoss(lsgan_d, lsgan_g, lsgan_d_fake))


@dataclass(frozen=True)
class Recipe:
    """What the trainer actually does: the loss pair, the active regularisers and their
    weights (in registration order: the order their terms are added), critic steps per G step, and D's normalisation."""

    name: str
    loss: GANLoss
    regularisers: tuple[tuple[str, float], ...]
    n_critic: int
    d_norm: str  # batch | layer | none
    every: tuple[tuple[str, int], ...] = ()  # lazy regularisers: (name, k), applied on every k-th D step
    until: tuple[tuple[str, float], ...] = ()  # (name, f): the term stops after the fraction f of the D steps
    adv_weight: float = 1.0  # G's adversarial term's weight (0 with pix2pix's L1: the L1-only baseline)

    def weight(self, name: str) -> float:
        return dict(self.regularisers).get(name, 0.0)

    def interval(self, name: str) -> int:
        """D steps between applications of regulariser `name` (1: every step)."""
        return dict(self.every).get(name, 1)

    def stops_after(self, name: str) -> float | None:
        """The fraction of the run's D steps after which regulariser `name` stops (None: never)."""
        return dict(self.until).get(name)

    @property
    def active(self) -> tuple[tuple[str, Regulariser, float], ...]:
        """(name, regulariser, weight) of each active regulariser, in order."""
        return tuple((name, REGULARISERS.get(name), w) for name, w in self.regularisers)

    @property
    def clip(self) -> float | None:
        return self.weight("clip") or None

    @property
    def gp_weight(self) -> float:
        return self.weight("gp")

    @property
    def aux_weight(self) -> float:
        return self.weight("aux")


def resolve_recipe(
    name: str,
    options: Mapping[str, float | None],
    *,
    d_cond: str,
    d_norm: str | None,
    family_d_norm: str,
    n_critic: int | None,
    family_regularisers: Mapping[str, float] = MappingProxyType({}),
    paired: bool = False,
) -> Recipe:
    """The loss `name` with the config's options (`options`: LossConfig fields, None = the
    loss's default, then the model family's: pix2pix's L1 100) and the model's D; `paired`: the
    model translates images. Wrong combinations raise CondganError naming them."""
    loss = LOSSES.get(name)
    weights: dict[str, float] = {}
    every: dict[str, int] = {}
    until: dict[str, float] = {}
    for reg_name, reg in REGULARISERS.in_order():
        given = options.get(reg.config_key)
        if reg.needs_critic and given is not None and not loss.wasserstein:
            raise CondganError(
                f"loss.{reg.config_key} (weight clipping) needs a Wasserstein critic, but loss is "
                f"{name!r}; use loss wgan, or drop loss.{reg.config_key}"
            )
        if reg.needs_d_cond:
            if given is not None and d_cond != reg.needs_d_cond:
                raise CondganError(
                    f"loss.{reg.config_key} applies only to model.d_cond={reg.needs_d_cond}, not {d_cond!r}"
                )
            given = (given or 1.0) if d_cond == reg.needs_d_cond else None
        if reg.reads_label and given and d_cond == "acgan":
            raise CondganError(
                f"loss.{reg.config_key} needs a D that reads the label; model.d_cond=acgan does not "
                "(use concat, embedding or projection)"
            )
        if reg.needs_pairs and given and not paired:
            raise CondganError(
                f"loss.{reg.config_key} needs a target image for every input: use model pix2pix on paired data"
            )
        default = family_regularisers.get(reg_name, loss.regularisers.get(reg_name, 0.0))
        weight = given if given is not None else default
        if weight:
            weights[reg_name] = float(weight) * reg.scale
            k = int(options.get(reg.every_key) or 1) if reg.every_key else 1
            if k > 1:
                every[reg_name] = k
            if reg.until_key and options.get(reg.until_key) is not None:
                until[reg_name] = float(options[reg.until_key])
        elif reg.until_key and options.get(reg.until_key) is not None:
            raise CondganError(f"loss.{reg.until_key} stops a term that is off: set loss.{reg.config_key} too")
    bounds = [n for n in weights if REGULARISERS.get(n).bounds_critic]
    if len(bounds) > 1:
        shown = ", ".join(f"{REGULARISERS.get(n).config_key}={weights[n]}" for n in bounds)
        raise CondganError(
            f"loss.clip and a gradient penalty ({shown}) both bound the critic; choose one: "
            "loss wgan clips, loss wgan-gp penalises"
        )
    per_sample = any(REGULARISERS.get(n).per_sample for n in weights)
    if per_sample and d_norm == "batch":
        raise CondganError(
            f"model.d_norm=batch conflicts with the gradient penalty of loss {name!r}: "
            "the penalty is per sample, BatchNorm mixes samples; use layer or none"
        )
    norm = d_norm or family_d_norm
    if per_sample and norm == "batch":
        norm = "layer"  # the family default; an explicit batch was refused above
    adv = options.get("adv_weight")
    adv = 1.0 if adv is None else float(adv)
    if not adv and not (weights.get("l1") or weights.get("l2")):
        raise CondganError(
            "loss.adv_weight=0 leaves G nothing to learn: it is for the L1-only baseline (loss.l1_weight)"
        )
    steps = n_critic or loss.n_critic
    return Recipe(
        name, loss, tuple(weights.items()), steps, norm, tuple(every.items()), tuple(until.items()), adv_weight=adv
    )
