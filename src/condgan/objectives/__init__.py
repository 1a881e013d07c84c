"""Each model family's objective over named networks (condgan.objectives.base): the sampling
GANs and pix2pix (condgan.objectives.gan), CycleGAN (condgan.objectives.cyclegan), StarGAN
(condgan.objectives.stargan) and StyleGAN2's (condgan.objectives.stylegan: the sampling step plus
its path-length term). A family's `Architecture.objective` names its entry here."""

from __future__ import annotations

from typing import TYPE_CHECKING

from condgan.objectives.base import Objective, OptimiserSpec

if TYPE_CHECKING:
    from condgan.config import Config


def objective_for(config: Config) -> Objective:
    """The objective of the model family `config.model.name` names."""
    from condgan.models import MODELS
    from condgan.objectives.cyclegan import CycleGANObjective
    from condgan.objectives.gan import GANObjective, Pix2PixObjective
    from condgan.objectives.stargan import StarGANObjective
    from condgan.objectives.stylegan import StyleGANObjective

    objectives = {
        "gan": GANObjective,
        "pix2pix": Pix2PixObjective,
        "cyclegan": CycleGANObjective,
        "stargan": StarGANObjective,
        "stylegan": StyleGANObjective,
    }
    return objectives[MODELS.get(config.model.name).objective](config)


__all__ = ["Objective", "OptimiserSpec", "objective_for"]
