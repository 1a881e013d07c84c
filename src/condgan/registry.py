"""A tiny name -> object registry whose errors list the valid names."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Generic, TypeVar

from condgan.errors import CondganError

T = TypeVar("T")


class Registry(Generic[T]):
    """Maps names to objects of one kind (models, losses, datasets...)."""

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, T] = {}

    def add(self, name: str, item: T) -> T:
        if name in self._items:
            raise ValueError(f"{self.kind} '{name}' is registered twice")
        self._items[name] = item
        return item

    def register(self, name: str) -> Callable[[T], T]:
        """Decorator form of `add`."""
        return lambda item: self.add(name, item)

    def get(self, name: str) -> T:
        try:
            return self._items[name]
        except KeyError:
            raise CondganError(f"unknown {self.kind} '{name}'; valid: {', '.join(self.names())}") from None

    def in_order(self) -> list[tuple[str, T]]:
        """(name, item) pairs in registration order (where the order means something)."""
        return list(self._items.items())

    def names(self) -> list[str]:
        return sorted(self._items)

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())
