"""How a dataset's files are laid out and read: IDX pairs, the EMNIST zip, CIFAR binary tars.

Every reader returns images (N, C, H, W) uint8 and labels (N,) int64, and checks each
file's checksum before trusting it. Archives are read member by member in memory: nothing
is extracted to disk and nothing is unpickled (CIFAR comes from its binary distribution).
"""

from __future__ import annotations

import gzip
import hashlib
import tarfile
import zipfile
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from condgan.data.idx import parse_idx, read_bytes
from condgan.errors import CondganError


@dataclass(frozen=True)
class DataFile:
    name: str
    md5: str
    content: bool = True  # md5 of the decompressed content (True) or of the file as downloaded


def file_md5(path: Path, data_file: DataFile, label: str | None = None) -> str:
    """The checksum the catalog states for this file: of its content or of its bytes."""
    if data_file.content:  # decompress by the catalogued name (a download's temp file has another)
        try:
            return hashlib.md5(read_bytes(path, gz=data_file.name.endswith(".gz"))).hexdigest()
        except CondganError as err:
            raise CondganError(str(err).replace(str(path), label or str(path), 1)) from None
    digest = hashlib.md5()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify(path: Path, data_file: DataFile, label: str | None = None) -> None:
    """Raise naming the file, the expected and the actual checksum when they differ."""
    _check(file_md5(path, data_file, label), data_file, label or str(path))


def _check(actual: str, data_file: DataFile, label: str) -> None:
    if actual != data_file.md5:
        what = "content md5" if data_file.content else "md5"
        raise CondganError(
            f"{label} failed its checksum: expected {what} {data_file.md5}, got {actual} (corrupt or truncated file)"
        )


Arrays = tuple[np.ndarray, np.ndarray]


class Layout(Protocol):
    @property
    def files(self) -> tuple[DataFile, ...]: ...

    @property
    def splits(self) -> tuple[str, ...]: ...

    def files_for(self, split: str) -> tuple[DataFile, ...]:
        """The files one split needs."""
        ...

    def read(self, split: str, paths: dict[str, Path]) -> Arrays:
        """paths: file name -> located file. Returns (images NCHW uint8, labels int64)."""
        ...


def _labels(labels: np.ndarray, offset: int, name: str) -> np.ndarray:
    if labels.ndim != 1:
        raise CondganError(f"{name}: labels must be one-dimensional, got shape {labels.shape}")
    return labels.astype(np.int64) - offset


@dataclass(frozen=True)
class IdxLayout:
    """One gzipped IDX file of images and one of labels per split (the MNIST family)."""

    pairs: dict[str, tuple[DataFile, DataFile]]

    @property
    def files(self) -> tuple[DataFile, ...]:
        return tuple(f for pair in self.pairs.values() for f in pair)

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(self.pairs)

    def files_for(self, split: str) -> tuple[DataFile, ...]:
        return self.pairs[split]

    def read(self, split: str, paths: dict[str, Path]) -> Arrays:
        out = []
        for data_file in self.pairs[split]:
            path = paths[data_file.name]
            if not data_file.content:
                verify(path, data_file)
            data = read_bytes(path)
            if data_file.content:  # checked on the bytes just read: one decompression, not two
                _check(hashlib.md5(data).hexdigest(), data_file, str(path))
            out.append(parse_idx(data, name=str(path)))
        images, labels = out
        labels = _labels(labels, 0, str(paths[self.pairs[split][1].name]))
        return (images[:, None] if images.ndim == 3 else images), labels


@dataclass(frozen=True)
class _OneArchive:
    """Layouts whose every split is read from one archive file."""

    archive: DataFile

    @property
    def files(self) -> tuple[DataFile, ...]:
        return (self.archive,)

    def files_for(self, split: str) -> tuple[DataFile, ...]:
        return self.files


@dataclass(frozen=True)
class EmnistLayout(_OneArchive):
    """NIST's gzip.zip holds every EMNIST split as gzipped IDX files; images are stored
    transposed (column-major), and the letters split counts its labels from 1."""

    variant: str
    label_offset: int

    @property
    def splits(self) -> tuple[str, ...]:
        return ("train", "test")

    def read(self, split: str, paths: dict[str, Path]) -> Arrays:
        path = paths[self.archive.name]
        verify(path, self.archive)
        arrays = []
        try:
            with zipfile.ZipFile(path) as zf:
                for kind in ("images-idx3", "labels-idx1"):
                    member = f"gzip/emnist-{self.variant}-{split}-{kind}-ubyte.gz"
                    arrays.append(parse_idx(gzip.decompress(zf.read(member)), name=f"{path}:{member}"))
        except (zipfile.BadZipFile, KeyError, OSError, EOFError, zlib.error) as err:
            raise CondganError(f"{path}: cannot read EMNIST {self.variant}/{split} ({err})") from None
        images, labels = arrays
        return np.ascontiguousarray(images.transpose(0, 2, 1))[:, None], _labels(labels, self.label_offset, str(path))


def read_cifar_records(data: bytes, label_bytes: int, label_index: int, name: str = "<bytes>") -> Arrays:
    """CIFAR binary records: `label_bytes` label bytes then 3072 pixel bytes (1024 R, G, B, row-major)."""
    record = label_bytes + 3 * 32 * 32
    if len(data) == 0 or len(data) % record:
        raise CondganError(f"{name}: {len(data)} bytes is not a whole number of {record}-byte CIFAR records")
    rows = np.frombuffer(data, dtype=np.uint8).reshape(-1, record)
    images = rows[:, label_bytes:].reshape(-1, 3, 32, 32).copy()
    return images, rows[:, label_index].astype(np.int64)


@dataclass(frozen=True)
class CifarLayout(_OneArchive):
    """The binary distribution: one .tar.gz with fixed-size records per batch file."""

    members: dict[str, tuple[str, ...]]  # split -> member paths inside the archive
    label_bytes: int
    label_index: int

    @property
    def splits(self) -> tuple[str, ...]:
        return tuple(self.members)

    def read(self, split: str, paths: dict[str, Path]) -> Arrays:
        path = paths[self.archive.name]
        verify(path, self.archive)
        return read_cifar_archive(path, self.members[split], self.label_bytes, self.label_index)


def read_cifar_archive(path: Path, members: tuple[str, ...], label_bytes: int, label_index: int) -> Arrays:
    parts = []
    try:
        with tarfile.open(path, "r:gz") as tar:
            for member in members:
                f = tar.extractfile(member)
                if f is None:
                    raise KeyError(member)
                parts.append(read_cifar_records(f.read(), label_bytes, label_index, name=f"{path}:{member}"))
    except (tarfile.TarError, KeyError, OSError, EOFError, zlib.error) as err:
        raise CondganError(f"{path}: cannot read CIFAR member ({err})") from None
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
