"""What G and D are conditioned on: one description for every run (`Condition`).

`ConditionSpec` is the kind made of factors. A class-conditional dataset has one categorical
factor (`ConditionSpec.classes(names)`), and its condition is the class index. An attribute
dataset describes each image by several factors — e.g. coloured MNIST by (digit, colour), a
CelebA-style table by 40 binary attributes — and its condition is one float vector: the
one-hot columns of every categorical factor, then one 0/1 column per binary attribute. G and D
take either through the same conditioning modules (a label acts as its one-hot row). No
factor at all is the unconditional case (`ConditionSpec.classes(())`, dim 0).

Every run's `generator/config.json` holds its condition as `{"kind": ..., ...}`; a new kind of
condition (an image, for image-to-image translation) is one class with `to_json`/`from_json`
plus one `CONDITION_KINDS` line.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol

import numpy as np

from condgan.errors import CondganError
from condgan.labels import resolve_label
from condgan.registry import Registry

CLASS_FACTOR = "class"  # the factor name of a class-conditional dataset


class Condition(Protocol):
    """The interface every kind of condition offers to the trainer, sampling, eval and serving."""

    kind: ClassVar[str]

    @property
    def dim(self) -> int: ...  # width of the condition vector G and D take (0: unconditional)

    @property
    def class_names(self) -> tuple[str, ...]: ...  # the names of its columns (of the classes, for classes)

    def to_json(self) -> dict[str, Any]: ...


@dataclass(frozen=True)
class Factor:
    name: str
    values: tuple[str, ...]  # categorical: the value names; binary: ("0", "1")
    binary: bool = False  # one 0/1 column instead of one-hot columns
    default: str | None = None  # categorical: the value --attrs takes when the factor is not named

    @property
    def width(self) -> int:
        return 1 if self.binary else len(self.values)


@dataclass(frozen=True)
class ConditionSpec:
    """A condition made of categorical factors and binary attributes (classes: one factor)."""

    factors: tuple[Factor, ...]
    kind: ClassVar[str] = "factors"

    @classmethod
    def classes(cls, names: tuple[str, ...] | list[str]) -> ConditionSpec:
        """Class labels: one categorical factor; no names is the unconditional case."""
        return cls((Factor(CLASS_FACTOR, tuple(names)),) if names else ())

    @property
    def dim(self) -> int:
        return sum(f.width for f in self.factors)

    @property
    def is_classes(self) -> bool:
        """One categorical factor: the condition is a class index (int64 labels)."""
        return len(self.factors) == 1 and not self.factors[0].binary

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.factors[0].values if self.is_classes else self.column_names

    @property
    def factor_names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.factors)

    def describe(self) -> str:
        if not self.factors:
            return "unconditional"
        if self.is_classes:
            return f"{len(self.class_names)} classes"
        return "factors " + ", ".join(self.factor_names)

    def condition(self, codes: np.ndarray) -> np.ndarray | None:
        """codes (N, F) -> what G takes: class indices (N,) int64, vectors (N, dim) float32, or None."""
        if not self.factors:
            return None
        return codes[:, 0].astype(np.int64) if self.is_classes else self.encode(codes)

    def request(self, label: str | None = None, attrs: str | None = None) -> np.ndarray:
        """One condition asked for by a user: `--label 7` (a class index or name) or
        `--attrs "digit=7,colour=red"` -> codes (F,)."""
        if label is not None and attrs is not None:
            raise CondganError("give --label or --attrs, not both")
        if label is not None:
            if self.factors and not self.is_classes:
                raise CondganError(
                    f"this generator takes --attrs (factors: {', '.join(self.factor_names)}), not --label"
                )
            return np.array([resolve_label(label, self.class_names)], np.int64)
        if attrs is not None:
            if not self.factors:
                raise CondganError("this generator is unconditional: it takes no --attrs")
            return self.parse(attrs)
        raise CondganError("give a --label or --attrs")

    def every_condition(self) -> np.ndarray:
        """Codes (M, F) of every combination of the categorical factors (one row when unconditional);
        binary attributes make too many combinations and are refused."""
        if any(f.binary for f in self.factors):
            raise CondganError(
                "binary attributes have too many combinations for --per-class; ask for one condition with --attrs"
            )
        sizes = [len(f.values) for f in self.factors]
        return np.indices(sizes).reshape(len(sizes), -1).T.astype(np.int64) if sizes else np.zeros((1, 0), np.int64)

    @property
    def column_names(self) -> tuple[str, ...]:
        names: list[str] = []
        for f in self.factors:
            names += [f.name] if f.binary else [f"{f.name}={v}" for v in f.values]
        return tuple(names)

    def offsets(self) -> list[int]:
        out, at = [], 0
        for f in self.factors:
            out.append(at)
            at += f.width
        return out

    def encode(self, codes: np.ndarray) -> np.ndarray:
        """codes: (N, F) int value indices (0/1 for binary) -> (N, dim) float32 condition vectors."""
        out = np.zeros((len(codes), self.dim), np.float32)
        for j, (f, at) in enumerate(zip(self.factors, self.offsets())):
            if f.binary:
                out[:, at] = codes[:, j]
            else:
                out[np.arange(len(codes)), at + codes[:, j]] = 1.0
        return out

    def decode(self, vectors: np.ndarray) -> np.ndarray:
        """(N, dim) -> (N, F) value indices (argmax per categorical factor, > 0.5 per binary one)."""
        cols = []
        for f, at in zip(self.factors, self.offsets()):
            block = vectors[:, at : at + f.width]
            cols.append((block[:, 0] > 0.5).astype(np.int64) if f.binary else block.argmax(1))
        return np.stack(cols, 1)

    def _named(self, text: str) -> dict[str, str]:
        """'digit=7,colour=red' -> {"digit": "7", "colour": "red"}, every name one of the factors'."""
        given: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, sep, value = part.partition("=")
            if not sep:
                raise CondganError(f"--attrs expects NAME=VALUE pairs separated by commas, got '{part}'")
            if key.strip() in given:  # "hair=white,hair=red": which one was meant is not ours to guess
                raise CondganError(f"--attrs names {key.strip()} twice")
            given[key.strip()] = value.strip()
        names = self.factor_names
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise CondganError(f"unknown attribute '{unknown[0]}'; valid: {', '.join(names)}")
        return given

    def edit(self, text: str) -> np.ndarray:
        """An edit's target for StarGAN: 'hair=white,age=older' -> (dim,) float32, the one-hot block
        of each named factor and an all-zero block ("keep it as it is") for every other one."""
        given = self._named(text)
        if not given:
            raise CondganError(f"--attrs names at least one attribute to change ({', '.join(self.factor_names)})")
        codes, named = np.zeros(len(self.factors), np.int64), np.zeros(len(self.factors), bool)
        for j, f in enumerate(self.factors):
            if f.name in given:
                if given[f.name] not in f.values:
                    raise CondganError(f"unknown {f.name} '{given[f.name]}'; valid: {', '.join(f.values)}")
                codes[j], named[j] = f.values.index(given[f.name]), True
        return self.encode_named(codes[None], named[None])[0]

    def encode_named(self, codes: np.ndarray, named: np.ndarray) -> np.ndarray:
        """codes (N, F) and named (N, F) bool -> (N, dim) float32: the encoded codes, with the block
        of every factor not named all zero (categorical factors only)."""
        out = self.encode(codes)
        for j, (f, at) in enumerate(zip(self.factors, self.offsets())):
            out[~named[:, j], at : at + f.width] = 0.0
        return out

    def parse(self, text: str) -> np.ndarray:
        """'digit=7,colour=red' -> codes (F,). Unnamed binary attributes are 0, unnamed categorical
        factors take their default; one without a default must be given."""
        given = self._named(text)
        codes = []
        for f in self.factors:
            value = given.get(f.name)
            if value is None:
                if f.binary:
                    codes.append(0)
                elif f.default is not None:
                    codes.append(f.values.index(f.default))
                else:
                    raise CondganError(f"--attrs needs a value for {f.name} ({', '.join(f.values)})")
            elif f.binary:
                if value not in ("0", "1", "-1", "+1"):
                    raise CondganError(f"{f.name} is a binary attribute: 0 or 1 (or -1 / +1), got '{value}'")
                codes.append(1 if value in ("1", "+1") else 0)
            elif value in f.values:
                codes.append(f.values.index(value))
            else:
                raise CondganError(f"unknown {f.name} '{value}'; valid: {', '.join(f.values)}")
        return np.array(codes, np.int64)

    def grid_codes(self) -> tuple[np.ndarray, int]:
        """Codes for a picture of the condition and how many of them make a row.

        Two or more categorical factors: rows = values of the first, columns = values of the
        second (the rest at their first value), per row one noise vector. Otherwise one
        condition per row — each class; for binary attributes nothing on, then each attribute
        alone — and the columns are noise vectors (`sampling.grid`)."""
        cats = [j for j, f in enumerate(self.factors) if not f.binary]
        base = np.zeros(len(self.factors), np.int64)
        if len(cats) >= 2:
            a, b = cats[:2]
            rows = [base.copy() for _ in range(len(self.factors[a].values) * len(self.factors[b].values))]
            for i, code in enumerate(rows):
                code[a], code[b] = divmod(i, len(self.factors[b].values))
            return np.stack(rows), len(self.factors[b].values)
        if self.is_classes:
            return np.arange(len(self.class_names), dtype=np.int64)[:, None], 1
        rows = [base.copy()]
        for j, f in enumerate(self.factors):
            for v in range(1 if f.binary else 0, len(f.values)):
                if f.binary or v:
                    code = base.copy()
                    code[j] = v
                    rows.append(code)
        return np.stack(rows), 1

    def grid_labels(self) -> tuple[list[str] | None, list[str] | None]:
        """Names for the rows and columns of the `grid_codes` picture (None: nothing to name)."""
        if not self.factors:
            return None, None
        codes, per_row = self.grid_codes()
        if self.is_classes:
            return list(self.class_names), None
        if per_row > 1:
            a, b = [j for j, f in enumerate(self.factors) if not f.binary][:2]
            return list(self.factors[a].values), list(self.factors[b].values)
        return [self.name_of(code, skip_defaults=True) for code in codes], None

    def name_of(self, code: np.ndarray, skip_defaults: bool = False) -> str:
        """'7' for a class; 'digit=7, colour=red' for factors (`skip_defaults`: only the values that are on)."""
        if self.is_classes:
            return self.class_names[int(code[0])]
        parts = [
            f.name if f.binary else f"{f.name}={f.values[c]}"
            for f, c in zip(self.factors, code)
            if c or not (skip_defaults or f.binary)
        ]
        return ", ".join(parts) or "none"

    def to_json(self) -> dict[str, Any]:
        factors = []
        for f in self.factors:
            factors.append({"name": f.name, "values": list(f.values), "binary": f.binary})
            if f.default is not None:
                factors[-1]["default"] = f.default
        return {"kind": self.kind, "factors": factors}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ConditionSpec:
        items = data.get("factors")
        if not isinstance(items, list) or not all(isinstance(d, dict) for d in items):
            raise CondganError("conditions.factors must be a list of {name, values, binary} objects")
        try:
            factors = tuple(
                Factor(
                    str(d["name"]),
                    tuple(str(v) for v in d["values"]),
                    bool(d.get("binary", False)),
                    None if d.get("default") is None else str(d["default"]),
                )
                for d in items
            )
        except (KeyError, TypeError):
            raise CondganError("each of conditions.factors needs a name and a list of values") from None
        for f in factors:
            if not f.values or len(set(f.values)) != len(f.values):
                raise CondganError(f"condition factor {f.name!r} needs distinct values, got {list(f.values)}")
            if f.default is not None and f.default not in f.values:
                raise CondganError(f"condition factor {f.name!r}: its default {f.default!r} is not one of its values")
        return cls(factors)


@dataclass(frozen=True)
class ImageCondition:
    """G translates an image (pix2pix): the condition is an (in_channels, in_size, in_size) image
    made by `task` (condgan.data.tasks); G's output is img_size px. `in_size` None: the input is
    img_size px too; smaller (superres4-small: 7 for 28): G enlarges it. `source_classes` name the
    labels that travel with the pairs (an inpainted 7 should still be a 7: eval's "class
    preserved"); () when there are none. `labelled`: G and D take the label too (model.with_label),
    as one-hot constant maps after the image's channels (condgan.models.conditioning.with_label_maps).
    `attributes` (StarGAN, task "edit"): G takes the target attributes of these factors as
    constant maps after the image instead (condgan.models.stargan.with_attribute_maps).
    `background`: the RGB colour the training images' transparency was flattened on (the emoji
    datasets: white), so that a transparent input is flattened on it too; None: alpha is dropped."""

    in_channels: int
    img_size: int
    task: str
    source_classes: tuple[str, ...] = ()
    in_size: int | None = None
    labelled: bool = False
    attributes: ConditionSpec | None = None  # StarGAN: G also takes the target attributes (task "edit")
    background: tuple[int, int, int] | None = None
    kind: ClassVar[str] = "image"
    dim: ClassVar[int] = 0  # no label columns: the image goes to G and D as it is
    is_classes: ClassVar[bool] = False
    factors: ClassVar[tuple] = ()

    @property
    def class_names(self) -> tuple[str, ...]:
        return self.source_classes

    @property
    def input_size(self) -> int:
        """The side of the images G takes (img_size unless the input is smaller)."""
        return self.in_size or self.img_size

    @property
    def label_classes(self) -> int:
        """How many label or attribute maps follow the image in G's input (0: none)."""
        if self.attributes is not None:
            return self.attributes.dim
        return len(self.source_classes) if self.labelled else 0

    def describe(self) -> str:
        if self.attributes is not None:
            return f"an image to edit ({self.in_channels} channel(s), {self.img_size} px) and target attributes"
        label = " and its class label" if self.labelled else ""
        return f"an image ({self.task}, {self.in_channels} channel(s), {self.input_size} px){label}"

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "in_channels": self.in_channels,
            "img_size": self.img_size,
            "task": self.task,
            "source_classes": list(self.source_classes),
            **({"in_size": self.in_size} if self.in_size else {}),
            **({"labelled": True} if self.labelled else {}),
            **({"attributes": self.attributes.to_json()} if self.attributes is not None else {}),
            **({"background": list(self.background)} if self.background is not None else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ImageCondition:
        try:
            channels, size, task = data["in_channels"], data["img_size"], data["task"]
            names = data.get("source_classes", [])
        except KeyError as err:
            raise CondganError(f"an image condition needs {err.args[0]}") from None
        in_size = data.get("in_size", size)  # files before in_size: the input is img_size px
        for key, value, hi in (("in_channels", channels, 4), ("img_size", size, 1024), ("in_size", in_size, 1024)):
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= hi:
                raise CondganError(f"conditions.{key} must be a whole number 1..{hi}, got {value!r}"[:200])
        if size % in_size:
            raise CondganError(f"conditions.in_size must divide img_size {size}, got {in_size}")
        if not isinstance(task, str) or not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise CondganError("conditions.task must be a word and source_classes a list of names")
        labelled = data.get("labelled", False)
        if not isinstance(labelled, bool) or (labelled and not names):
            raise CondganError("conditions.labelled must be true or false, and true only with source_classes")
        attributes = data.get("attributes")
        if attributes is not None:
            if not isinstance(attributes, dict):
                raise CondganError("conditions.attributes must be an object of factors")
            attributes = ConditionSpec.from_json(attributes)
            if not attributes.factors or any(f.binary for f in attributes.factors):
                raise CondganError("conditions.attributes must hold categorical factors")
        background = data.get("background")
        if background is not None and not (
            isinstance(background, list)
            and len(background) == 3
            and all(isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= 255 for v in background)
        ):
            raise CondganError(f"conditions.background must be [R, G, B] of 0..255, got {background!r}"[:200])
        in_size = in_size if in_size != size else None
        return cls(
            channels, size, task, tuple(names), in_size, labelled, attributes, tuple(background) if background else None
        )


def translates(condition: Condition | None) -> bool:
    """Whether a generator with this condition translates an image (pix2pix, CycleGAN) rather than
    sampling from noise and a label: the one test every command uses."""
    return condition is not None and condition.kind == ImageCondition.kind


def feeds_condition(condition: Condition, num_classes: int) -> bool:
    """Whether G and D take a condition y at all: label columns, or an image."""
    return bool(num_classes) or translates(condition)


CONDITION_KINDS: Registry[type] = Registry("condition kind")
CONDITION_KINDS.add(ConditionSpec.kind, ConditionSpec)
CONDITION_KINDS.add(ImageCondition.kind, ImageCondition)


def condition_from_json(data: Any, class_names: list[str] | None = None) -> Condition:
    """The condition stored in a generator's config.json (`conditions`); files written before
    conditions were stored for classes hold only `class_names`, and a list of factors."""
    if class_names is not None:
        if not isinstance(class_names, list) or not all(isinstance(n, str) for n in class_names):
            raise CondganError(f"class_names must be a list of strings, got {class_names!r}"[:200])
        if len(set(class_names)) != len(class_names):
            twice = next(n for n in class_names if class_names.count(n) > 1)
            raise CondganError(f"class_names holds {twice!r} twice: every class needs its own name")
    if data is None:
        return ConditionSpec.classes(tuple(class_names or ()))
    if isinstance(data, list):  # the first format: factors only
        data = {"kind": ConditionSpec.kind, "factors": data}
    if not isinstance(data, dict):
        raise CondganError(f"conditions must be an object with a kind, got {type(data).__name__}")
    condition = CONDITION_KINDS.get(str(data.get("kind"))).from_json(data)
    if class_names and condition.is_classes and tuple(class_names) != condition.class_names:
        raise CondganError("class_names disagree with conditions: the file was edited or damaged")
    return condition
