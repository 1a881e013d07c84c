"""Training that watches itself: alarms in words when a run goes wrong, while it happens.

Every log interval the watcher sees the logged figures (losses, D(x), D(G(z)), G's gradient
norm) and a probe of G: fixed noise for a few conditions, from which it measures
- diversity: the mean distance between G's images of one condition (different noise),
  relative to the same figure of real images (mode collapse: far below the real data's);
- label effect: the mean distance between G's images of different conditions for the same
  noise, relative to real images of different classes ("G ignores the label").
An alarm fires when its condition holds for `window` consecutive intervals (after a
warm-up, since a fresh G draws the same grey image for everything) and again only after it
cleared. `nan` and `eval_regressed` fire at once. The watcher is pure: the trainer feeds it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import torch

D_WINS_FAKE, D_WINS_REAL = 0.05, 0.95  # D(G(z)) below, D(x) above: D is sure of everything
COLLAPSE_RATIO = 0.2  # G's diversity below this fraction of the real data's
LABEL_RATIO = 0.02  # G's label effect below this fraction of the real data's (a healthy MLP starts at 0.04)
VANISH_RATIO = 1e-3  # G's gradient norm below this fraction of its early value
GAP_GROWTH = 10.0  # a critic's gap E[D(x)] - E[D(G(z))] above this multiple of its early value (at least 1)
EVAL_FID_FACTOR, EVAL_ACC_DROP = 1.5, 0.05  # eval worse than the best by this much


# (alarm, probe figure, fires below, message): the probe's alarms
PROBE_ALARMS = (
    (
        "collapse",
        "diversity_ratio",
        COLLAPSE_RATIO,
        "mode collapse: G's images of one condition are {:.0%} as varied as real ones",
    ),
    (
        "ignores_label",
        "label_ratio",
        LABEL_RATIO,
        "G ignores the label: the same noise with different labels differs {:.0%} as much as real classes do",
    ),
)


@dataclass(frozen=True)
class Alarm:
    kind: str  # nan | d_wins | vanishing | collapse | ignores_label | eval_regressed
    step: int
    message: str
    figures: dict[str, float] = field(default_factory=dict)

    def row(self) -> dict:
        return {"step": self.step, "alarm": self.kind, "message": self.message, **self.figures}


def _steps(n: int) -> str:
    return f"{n:,} steps"


@dataclass
class HealthWatch:
    probability: bool  # D's outputs are probabilities (BCE): the D-wins test applies
    log_every: int
    # G also learns from a reconstruction term (pix2pix's L1): D winning does not starve G, so the
    # D-wins test is off; the vanishing test (G's own gradient norm) still says if G stops learning.
    reconstruction: bool = False
    window: int = 5  # consecutive log intervals a condition must hold
    warmup: int = 300  # steps before diversity and label effect are judged
    _streak: dict[str, int] = field(default_factory=dict)
    _active: set[str] = field(default_factory=set)
    _grad_ref: float | None = None
    _gap_ref: float | None = None
    alarms: list[Alarm] = field(default_factory=list)

    def _sustained(self, kind: str, holds: bool) -> bool:
        """True once, when `holds` has been true for `window` intervals in a row."""
        if not holds:
            self._streak[kind] = 0
            self._active.discard(kind)
            return False
        self._streak[kind] = self._streak.get(kind, 0) + 1
        if self._streak[kind] >= self.window and kind not in self._active:
            self._active.add(kind)
            return True
        return False

    def observe(self, step: int, row: dict[str, float], probe: dict[str, float] | None = None) -> list[Alarm]:
        """The alarms that fire at this log interval (`row`: the logged means; `probe`: see module doc)."""
        fired = []
        span = _steps(self.window * self.log_every)
        if self.probability and "D(x)" in row and not self.reconstruction:
            fake, real = row["D(G(z))"], row["D(x)"]
            if self._sustained("d_wins", fake < D_WINS_FAKE and real > D_WINS_REAL):
                fired.append(
                    Alarm(
                        "d_wins",
                        step,
                        f"D is winning: D(G(z)) = {fake:.2f} and D(x) = {real:.2f} "
                        f"for {span} — generator gradients vanish",
                        {"D(x)": real, "D(G(z))": fake},
                    )
                )
        if not self.probability and "D(x)" in row and not self.reconstruction:
            gap = row["D(x)"] - row["D(G(z))"]
            if self._gap_ref is None:
                self._gap_ref = max(abs(gap), 1.0)
            if self._sustained("d_wins", gap > GAP_GROWTH * self._gap_ref):
                fired.append(
                    Alarm(
                        "d_wins",
                        step,
                        f"the critic is winning: its gap D(x) - D(G(z)) = {gap:.3g}, "
                        f"{gap / self._gap_ref:.0f}x its early value, for {span} — G's signal is swamped",
                        {"critic_gap": gap, "critic_gap_early": self._gap_ref},
                    )
                )
        grad = row.get("g_grad_norm")
        if grad is not None:
            if self._grad_ref is None and step >= self.log_every:
                self._grad_ref = grad
            ref = self._grad_ref or 0.0
            if self._sustained("vanishing", ref > 0 and grad < VANISH_RATIO * ref):
                fired.append(
                    Alarm(
                        "vanishing",
                        step,
                        f"G's gradients vanish: norm {grad:.2g}, against {ref:.2g} early on, for {span}",
                        {"g_grad_norm": grad, "g_grad_norm_early": ref},
                    )
                )
        if probe is not None and step >= self.warmup:
            fired += self._probe_alarms(step, probe, span)
        self.alarms += fired
        return fired

    def _probe_alarms(self, step: int, probe: dict[str, float], span: str) -> list[Alarm]:
        fired = []
        for kind, key, threshold, text in PROBE_ALARMS:
            value = probe.get(key)
            if value is not None and self._sustained(kind, value < threshold):
                fired.append(Alarm(kind, step, text.format(value) + f", for {span}", {key: value}))
        return fired

    def non_finite(self, step: int, what: Iterable[str]) -> Alarm:
        names = ", ".join(what)
        alarm = Alarm("nan", step, f"training diverged: {names} not finite at step {step:,}")
        self.alarms.append(alarm)
        return alarm

    def eval_result(self, step: int, metric: str, value: float, best: float | None, lower_is_better: bool):
        """The StudioGAN pattern: the eval metric far worse than its best -> an alarm naming generator-best/."""
        worse = best is not None and (
            value > EVAL_FID_FACTOR * best if lower_is_better else value < best - EVAL_ACC_DROP
        )
        if not worse or "eval_regressed" in self._active:
            if not worse:
                self._active.discard("eval_regressed")
            return None
        self._active.add("eval_regressed")
        alarm = Alarm(
            "eval_regressed",
            step,
            f"{metric} = {value:.4g} is well past its best ({best:.4g}): "
            "training is making G worse; the best one is in generator-best/",
            {metric: value, "best": best},
        )
        self.alarms.append(alarm)
        return alarm


def _mean_pairwise(x: torch.Tensor) -> torch.Tensor:
    """x: (G, M, D) -> (G,) mean L2 distance between the M items of each group, per sqrt(D)."""
    m = x.shape[1]
    dist = torch.cdist(x, x) / x.shape[-1] ** 0.5
    return dist.sum((1, 2)) / (m * (m - 1))


def spread(images: torch.Tensor) -> tuple[float, float | None]:
    """images: (C, M, ...) — M images of each of C conditions, image j of every condition drawn
    with the same noise (or, for real data, any M of that condition) ->
    (diversity: mean distance within a condition, label effect: mean distance across conditions for
    the same j; None for one condition)."""
    x = images.flatten(2).float()
    within = float(_mean_pairwise(x).mean())
    across = float(_mean_pairwise(x.transpose(0, 1)).mean()) if x.shape[0] > 1 else None
    return within, across


class Probe:
    """G's diversity and label effect on fixed noise, against the same figures of real images.

    Up to `conditions` conditions of the grid (`spec.grid_codes`) with at least `per` real
    images each; `per` fixed noise vectors (condgan.noise, seed `seed`: no training RNG is used).
    """

    def __init__(
        self,
        spec,
        images: torch.Tensor,
        labels: torch.Tensor,
        to_pixels,
        z_dim: int,
        seed: int,
        per: int = 8,
        conditions: int = 10,
    ) -> None:
        from condgan.sampling import conditions_of, noise

        codes = spec.grid_codes()[0][:conditions]
        wanted = conditions_of(spec, codes)
        real, keep = [], []
        for i in range(len(codes)):
            if wanted is None:
                rows = torch.arange(min(per, len(labels)))
            else:
                match = labels == wanted[i] if labels.dim() == 1 else (labels == wanted[i]).all(1)
                rows = torch.nonzero(match).flatten()[:per]
            if len(rows) == per:
                real.append(to_pixels(images[rows].float()))
                keep.append(i)
        self.conditions = None if wanted is None else wanted[keep]
        self.count = len(keep)
        self.z = noise(per, z_dim, seed)
        self.real_diversity, self.real_effect = spread(torch.stack(real)) if real else (None, None)

    def __call__(self, G) -> dict[str, float] | None:
        from condgan.sampling import generate

        if not self.count or not self.real_diversity:
            return None
        per = len(self.z)
        z = self.z.repeat(self.count, 1)
        y = None if self.conditions is None else self.conditions.repeat_interleave(per, 0)
        images = generate(G, z, y).view(self.count, per, -1)
        diversity, effect = spread(images)
        out = {"diversity": diversity, "diversity_ratio": diversity / self.real_diversity}
        if effect is not None and self.real_effect:
            out |= {"label_effect": effect, "label_ratio": effect / self.real_effect}
        return {k: round(v, 5) for k, v in out.items()}
