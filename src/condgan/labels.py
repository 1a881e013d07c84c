"""Class labels by index or name (no torch: the ONNX server uses it too)."""

from __future__ import annotations

import re

from condgan.errors import CondganError

__all__ = ["label_for", "resolve_label"]


def label_for(label: str | None, class_names: list[str] | tuple[str, ...], *, refuse: str, require: str) -> int | None:
    """The label a request gives, where the model decides whether it takes one: None for a model
    without classes (a given label refused with `refuse`), else the index (none given: `require`)."""
    if not class_names:
        if label is not None:
            raise CondganError(refuse)
        return None
    if label is None:
        raise CondganError(require)
    return resolve_label(label, class_names)


def resolve_label(label: str | int, class_names: list[str] | tuple[str, ...]) -> int:
    """A class index or name -> index; anything else is refused naming the valid choices."""
    if not class_names:
        raise CondganError("this generator is unconditional: it takes no --label")
    names = list(class_names)
    text = str(label).strip()
    if text in names:
        return names.index(text)
    if re.fullmatch(r"-?[0-9]+", text):  # ASCII digits only: "²".isdigit() is True, and int("²") fails
        index = int(text)
        if 0 <= index < len(names):
            return index
        raise CondganError(f"label {index} out of range: this generator has classes 0..{len(names) - 1}")
    raise CondganError(f"unknown label '{text}'; valid: 0..{len(names) - 1} or {', '.join(names)}")
