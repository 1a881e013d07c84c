"""Conditions made of several factors: categorical ones (one-hot columns) and binary attributes.

A class-conditional dataset has one categorical factor, and its condition is the label. An
attribute dataset describes each image by several factors — e.g. coloured MNIST by
(digit, colour), a CelebA-style table by 40 binary attributes — and its condition is one
float vector: the one-hot columns of every categorical factor, then one 0/1 column per
binary attribute. G and D take that vector through the same conditioning modules as labels.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from condgan.errors import CondganError


@dataclass(frozen=True)
class Factor:
    name: str
    values: tuple[str, ...]  # categorical: the value names; binary: ("0", "1")
    binary: bool = False  # one 0/1 column instead of one-hot columns

    @property
    def width(self) -> int:
        return 1 if self.binary else len(self.values)


@dataclass(frozen=True)
class ConditionSpec:
    factors: tuple[Factor, ...]

    @property
    def dim(self) -> int:
        return sum(f.width for f in self.factors)

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

    def parse(self, text: str) -> np.ndarray:
        """'digit=7,colour=red' -> codes (F,). Unnamed binary attributes are 0; every
        categorical factor must be given."""
        given: dict[str, str] = {}
        for part in filter(None, (p.strip() for p in text.split(","))):
            key, sep, value = part.partition("=")
            if not sep:
                raise CondganError(f"--attrs expects NAME=VALUE pairs separated by commas, got '{part}'")
            given[key.strip()] = value.strip()
        names = {f.name: f for f in self.factors}
        unknown = sorted(set(given) - set(names))
        if unknown:
            raise CondganError(f"unknown attribute '{unknown[0]}'; valid: {', '.join(names)}")
        codes = []
        for f in self.factors:
            value = given.get(f.name)
            if value is None:
                if not f.binary:
                    raise CondganError(f"--attrs needs a value for {f.name} ({', '.join(f.values)})")
                codes.append(0)
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
        """Codes for a picture of the factors and its column count: rows = values of the first
        factor, columns = values of the second (the rest at their first value); for binary
        attributes, one row with nothing on, then one row per attribute switched on alone."""
        cats = [j for j, f in enumerate(self.factors) if not f.binary]
        base = np.zeros(len(self.factors), np.int64)
        if len(cats) >= 2:
            a, b = cats[:2]
            rows = [base.copy() for _ in range(len(self.factors[a].values) * len(self.factors[b].values))]
            for i, code in enumerate(rows):
                code[a], code[b] = divmod(i, len(self.factors[b].values))
            return np.stack(rows), len(self.factors[b].values)
        rows = [base.copy()]
        for j, f in enumerate(self.factors):
            for v in range(1 if f.binary else 0, len(f.values)):
                if f.binary or v:
                    code = base.copy()
                    code[j] = v
                    rows.append(code)
        return np.stack(rows), 1

    def to_json(self) -> list[dict]:
        return [{"name": f.name, "values": list(f.values), "binary": f.binary} for f in self.factors]

    @classmethod
    def from_json(cls, items: list[dict]) -> ConditionSpec:
        return cls(tuple(Factor(d["name"], tuple(d["values"]), bool(d["binary"])) for d in items))
