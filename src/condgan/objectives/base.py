"""What a model family brings to the one trainer: its networks by name, their optimisers and
learning-rate multipliers, its data, and its step.

The trainer (condgan.train.trainer) owns the loop, checkpoints, resume, the guard and its
rollbacks, EMA, standing statistics, precision, DDP and logging; it iterates over the names an
objective declares and never over "the G and the D". An objective is stateless between steps
except for what it keeps in `state_dict` (CycleGAN's image pools), so a checkpoint holds it all.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, ClassVar

import torch
from torch import nn

if TYPE_CHECKING:
    from condgan.config import Config
    from condgan.train.trainer import Trainer


@dataclass(frozen=True)
class OptimiserSpec:
    """One optimiser: the networks it updates, the config's base rate it takes (`train.lr_g` or
    `train.lr_d`) and a multiplier per network (default 1) that every schedule keeps relative."""

    nets: tuple[str, ...]
    rate: str  # "lr_g" | "lr_d"
    multipliers: Mapping[str, float] = field(default_factory=dict)


def param_groups(nets: Mapping[str, nn.Module], spec: OptimiserSpec, base: float) -> list[dict[str, Any]]:
    """One parameter group per network, and one more per submodule the network names in its
    `lr_multipliers` ({"mapping": 0.01}: StyleGAN's mapping network); `base_lr` is the group's
    rate before any schedule, which every schedule scales (so the multipliers stay relative)."""
    groups = []
    for name in spec.nets:
        net, lr = nets[name], base * spec.multipliers.get(name, 1.0)
        own = getattr(net, "lr_multipliers", {})
        inner = {id(p) for sub in own for p in net.get_submodule(sub).parameters()}
        rest = [p for p in net.parameters() if id(p) not in inner]
        groups.append({"params": rest, "lr": lr, "base_lr": lr, "net": name})
        for sub, factor in own.items():
            params, sub_lr = list(net.get_submodule(sub).parameters()), lr * factor
            groups.append({"params": params, "lr": sub_lr, "base_lr": sub_lr, "net": f"{name}.{sub}"})
    return groups


class Objective:
    """The base of every family's objective. Subclasses set the class attributes and implement
    `load_data`, `build`, `make_batches` and `step`."""

    # each network: a generator (g) or a discriminator (d)
    roles: ClassVar[Mapping[str, str]] = MappingProxyType({"G": "g", "D": "d"})
    optimisers: ClassVar[Mapping[str, OptimiserSpec]] = MappingProxyType(
        {"G": OptimiserSpec(("G",), "lr_g"), "D": OptimiserSpec(("D",), "lr_d")}
    )
    saved: ClassVar[Mapping[str, str]] = MappingProxyType({"G": "generator"})  # generator -> its folder in the run
    translates: bool = False  # its generators map images to images (condgan translate), not noise to images

    def __init__(self, config: Config) -> None:
        self.config = config

    @property
    def generators(self) -> tuple[str, ...]:
        return tuple(n for n, role in self.roles.items() if role == "g")

    def load_data(self, split: str):
        raise NotImplementedError

    def build(self, trainer: Trainer) -> dict[str, nn.Module]:
        raise NotImplementedError

    def make_batches(self, trainer: Trainer, memory_format: torch.memory_format):
        raise NotImplementedError

    def spec(self, data):
        """The condition the run's generators take (recorded with each saved generator)."""
        return data.spec

    def prepare(self, trainer: Trainer) -> None:
        """Called once the networks and optimisers exist (before the first step or a resume)."""

    def steps_per_epoch(self, trainer: Trainer) -> int:
        return max(1, trainer.batches.steps_per_epoch // trainer.recipe.n_critic)

    def step(self, trainer: Trainer) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def grid(self, trainer: Trainer, saved: Mapping[str, nn.Module]) -> torch.Tensor:
        raise NotImplementedError

    def standing_inputs(self, trainer: Trainer, name: str, n: int) -> Iterator[tuple[torch.Tensor | None, Any]]:
        """The (z, y) batches that re-measure generator `name`'s BatchNorm statistics."""
        raise NotImplementedError

    def condition(self, trainer: Trainer, name: str):
        """What generator `name`'s saved folder records as its condition."""
        return trainer.spec

    def state_dict(self) -> dict[str, Any]:
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        pass
