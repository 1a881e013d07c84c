"""Known datasets: files, content checksums, class names, image shape."""

from __future__ import annotations

from dataclasses import dataclass

from condgan.registry import Registry


@dataclass(frozen=True)
class IdxFile:
    name: str
    md5: str  # of the decompressed content, so recompressed copies still verify


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    splits: dict[str, tuple[IdxFile, IdxFile]]  # split -> (images, labels)
    class_names: tuple[str, ...]
    img_channels: int
    img_size: int
    bundled: bool = False  # ships inside the package (offline default)


DATASETS: Registry[DatasetInfo] = Registry("dataset")

DATASETS.add(
    "mnist",
    DatasetInfo(
        name="mnist",
        splits={
            "train": (
                IdxFile("train-images-idx3-ubyte.gz", "6bbc9ace898e44ae57da46a324031adb"),
                IdxFile("train-labels-idx1-ubyte.gz", "a25bea736e30d166cdddb491f175f624"),
            ),
            "test": (
                IdxFile("t10k-images-idx3-ubyte.gz", "2646ac647ad5339dbf082846283269ea"),
                IdxFile("t10k-labels-idx1-ubyte.gz", "27ae3e4e09519cfbb04c329615203637"),
            ),
        },
        class_names=tuple(str(d) for d in range(10)),
        img_channels=1,
        img_size=28,
        bundled=True,
    ),
)

DATASETS.add(
    "fashion-mnist",
    DatasetInfo(
        name="fashion-mnist",
        splits={
            "train": (
                IdxFile("train-images-idx3-ubyte.gz", "f4a8712d7a061bf5bd6d2ca38dc4d50a"),
                IdxFile("train-labels-idx1-ubyte.gz", "9018921c3c673c538a1fc5bad174d6f9"),
            ),
            "test": (
                IdxFile("t10k-images-idx3-ubyte.gz", "8181f5470baa50b63fa0f6fddb340f0a"),
                IdxFile("t10k-labels-idx1-ubyte.gz", "15d484375f8d13e6eb1aabb0c3f46965"),
            ),
        },
        class_names=(
            "t-shirt", "trouser", "pullover", "dress", "coat",
            "sandal", "shirt", "sneaker", "bag", "ankle-boot",
        ),
        img_channels=1,
        img_size=28,
    ),
)
