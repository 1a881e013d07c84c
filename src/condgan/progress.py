"""Progress bars with an ETA for every long job (train, eval, sample, translate, download).

On stderr and only on a terminal: a log file or a pipe gets none (tqdm's disable=None),
and `--quiet` (any command) turns them off everywhere.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import TypeVar

from tqdm import tqdm

T = TypeVar("T")
_quiet = False


def set_quiet(quiet: bool) -> None:
    global _quiet
    _quiet = quiet


def enabled() -> bool:
    return not _quiet


def bar(total: int | None, desc: str, unit: str = "it", *, show: bool = True, **options) -> tqdm:
    """A bar of `total` units; `show=False` (a caller's own switch) hides it like --quiet does."""
    hidden = True if _quiet or not show else None  # None: tqdm shows it only on a terminal
    return tqdm(total=total, desc=desc, unit=unit, disable=hidden, leave=False, dynamic_ncols=True, **options)


def each(items: Iterable[T], total: int, desc: str, unit: str = "it", *, every: int = 1) -> Iterator[T]:
    """`items` with a bar advanced by `every` per item (e.g. images per batch)."""
    with bar(total, desc, unit) as progress:
        for item in items:
            yield item
            progress.update(min(every, total - progress.n))
