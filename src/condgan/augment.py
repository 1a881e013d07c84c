"""DiffAugment (Zhao et al. 2020): differentiable augmentations of D's inputs, real and fake alike.

D sees every image through the same random family of transformations, so it cannot
memorise a small training set, while G still gets gradients through them (every operation
here is differentiable in the pixels). The policy is a comma-separated list applied in
order, e.g. "translation,cutout" (the paper's choice for small data) or
"color,translation,cutout".

Random parameters are drawn per image from the caller's generator (the trainer's noise
stream, so a resumed run augments exactly as an uninterrupted one), for the whole global
batch and then sharded like the batch itself.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from condgan.errors import CondganError

Draws = dict[str, torch.Tensor]
Shard = Callable[[torch.Tensor], torch.Tensor]


def _draw_color(n: int, gen: torch.Generator, device: torch.device) -> Draws:
    return {
        "brightness": torch.rand(n, 1, 1, 1, generator=gen, device=device) - 0.5,  # +-0.5 on [-1, 1] halves
        "saturation": torch.rand(n, 1, 1, 1, generator=gen, device=device) * 2,  # x0..2 around the grey
        "contrast": torch.rand(n, 1, 1, 1, generator=gen, device=device) + 0.5,  # x0.5..1.5 around the mean
    }


def _color(x: torch.Tensor, d: Draws) -> torch.Tensor:
    x = x + d["brightness"].to(x.dtype)
    if x.shape[1] > 1:  # saturation has no meaning for one grey channel
        grey = x.mean(1, keepdim=True)
        x = (x - grey) * d["saturation"].to(x.dtype) + grey
    mean = x.mean((1, 2, 3), keepdim=True)
    return (x - mean) * d["contrast"].to(x.dtype) + mean


def _draw_translation(n: int, gen: torch.Generator, device: torch.device) -> Draws:
    return {"shift": torch.rand(n, 2, generator=gen, device=device)}  # mapped to pixels per image size


def _translation(x: torch.Tensor, d: Draws, ratio: float = 0.125) -> torch.Tensor:
    """Shift each image by up to ratio * size pixels in y and x, filling with zeros (the
    paper's padding), by gathering from a padded copy."""
    n, _, h, w = x.shape
    max_y, max_x = int(h * ratio + 0.5), int(w * ratio + 0.5)
    shift = d["shift"]
    dy = (shift[:, 0] * (2 * max_y + 1)).long().clamp_(max=2 * max_y) - max_y
    dx = (shift[:, 1] * (2 * max_x + 1)).long().clamp_(max=2 * max_x) - max_x
    rows = torch.arange(h, device=x.device).view(1, h) + dy.view(n, 1) + max_y  # (n, h) into the padded image
    cols = torch.arange(w, device=x.device).view(1, w) + dx.view(n, 1) + max_x  # (n, w)
    padded = F.pad(x, (max_x, max_x, max_y, max_y))
    idx = torch.arange(n, device=x.device).view(n, 1, 1)
    out = padded.permute(0, 2, 3, 1)[idx, rows.view(n, h, 1), cols.view(n, 1, w)]  # (n, h, w, C)
    return out.permute(0, 3, 1, 2).contiguous(memory_format=_format_of(x))


def _draw_cutout(n: int, gen: torch.Generator, device: torch.device) -> Draws:
    return {"centre": torch.rand(n, 2, generator=gen, device=device)}


def _cutout(x: torch.Tensor, d: Draws, ratio: float = 0.5) -> torch.Tensor:
    """Zero one square of half the image's side per image, centred anywhere (it may hang over the edge)."""
    n, _, h, w = x.shape
    ch, cw = int(h * ratio + 0.5), int(w * ratio + 0.5)
    cy = (d["centre"][:, 0] * (h + 1 - ch % 2)).long()
    cx = (d["centre"][:, 1] * (w + 1 - cw % 2)).long()
    ys = torch.arange(h, device=x.device).view(1, h, 1)
    xs = torch.arange(w, device=x.device).view(1, 1, w)
    inside_y = (ys >= (cy - ch // 2).view(n, 1, 1)) & (ys < (cy - ch // 2 + ch).view(n, 1, 1))
    inside_x = (xs >= (cx - cw // 2).view(n, 1, 1)) & (xs < (cx - cw // 2 + cw).view(n, 1, 1))
    keep = ~(inside_y & inside_x)  # (n, h, w)
    return x * keep.unsqueeze(1).to(x.dtype)


def _format_of(x: torch.Tensor) -> torch.memory_format:
    nhwc = x.is_contiguous(memory_format=torch.channels_last)
    return torch.channels_last if nhwc else torch.contiguous_format


# name -> (draw(n, generator, device), apply(x, draws)): the order of a policy is the order applied
Draw = Callable[[int, torch.Generator, torch.device], Draws]
Apply = Callable[[torch.Tensor, Draws], torch.Tensor]
OPERATIONS: dict[str, tuple[Draw, Apply]] = {
    "color": (_draw_color, _color),
    "translation": (_draw_translation, _translation),
    "cutout": (_draw_cutout, _cutout),
}


def parse_policy(policy: str | None) -> tuple[str, ...]:
    """ "translation,cutout" -> ("translation", "cutout"); None / "" -> (); unknown names refused."""
    if not policy:
        return ()
    names = tuple(part.strip() for part in policy.split(","))
    for name in names:
        if name not in OPERATIONS:
            raise CondganError(
                f"train.diffaugment: unknown operation {name!r}; valid: {', '.join(OPERATIONS)} "
                "(comma-separated, e.g. translation,cutout)"
            )
    if len(set(names)) != len(names):
        raise CondganError(f"train.diffaugment names an operation twice: {policy!r}")
    return names


class DiffAugment:
    """The policy's operations; `draw` then `apply`, so the caller can shard the draws."""

    def __init__(self, policy: str | None):
        self.names = parse_policy(policy)

    def __bool__(self) -> bool:
        return bool(self.names)

    def draw(self, n: int, gen: torch.Generator, device: torch.device) -> list[Draws]:
        return [OPERATIONS[name][0](n, gen, device) for name in self.names]

    def apply(self, x: torch.Tensor, draws: list[Draws], shard: Shard = lambda t: t) -> torch.Tensor:
        """Images (N, C, H, W), any range; `shard` cuts global-batch draws to this process's images."""
        for name, d in zip(self.names, draws):
            x = OPERATIONS[name][1](x, {k: shard(v) for k, v in d.items()})
        return x

    def __call__(self, x: torch.Tensor, gen: torch.Generator) -> torch.Tensor:
        """Draw and apply in one go (one process)."""
        return self.apply(x, self.draw(len(x), gen, x.device))
