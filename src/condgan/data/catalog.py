"""Known datasets: files, canonical URLs, checksums, class names, image shape, file layout.

A file's checksum is of its *content* (the decompressed bytes of a .gz) when that is
published, so recompressed copies (../shared/datasets, Debian's package) still verify;
otherwise of the file as downloaded (`content=False`, e.g. the EMNIST and CIFAR archives).
Files live in `<base>/<folder>/<name>` and are fetched from `<url>/<name>` or, with
CONDGAN_MIRROR set, from `$CONDGAN_MIRROR/<folder>/<name>`.
"""

from __future__ import annotations

from dataclasses import dataclass

from condgan.data.formats import CifarLayout, DataFile, EmnistLayout, IdxLayout, Layout
from condgan.registry import Registry

__all__ = ["DATASETS", "DataFile", "DatasetInfo"]


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    folder: str  # storage and mirror folder (the EMNIST splits share one archive)
    url: str  # canonical base URL of the files
    layout: Layout
    class_names: tuple[str, ...]
    img_channels: int
    img_size: int
    bundled: bool = False  # ships inside the package (offline default)

    @property
    def files(self) -> tuple[DataFile, ...]:
        return self.layout.files

    @property
    def splits(self) -> tuple[str, ...]:
        return self.layout.splits


DATASETS: Registry[DatasetInfo] = Registry("dataset")


def _idx(train_images: str, train_labels: str, test_images: str, test_labels: str, content: bool) -> IdxLayout:
    def pair(prefix: str, images: str, labels: str) -> tuple[DataFile, DataFile]:
        return (
            DataFile(f"{prefix}-images-idx3-ubyte.gz", images, content),
            DataFile(f"{prefix}-labels-idx1-ubyte.gz", labels, content),
        )

    return IdxLayout(
        {"train": pair("train", train_images, train_labels), "test": pair("t10k", test_images, test_labels)}
    )


DIGITS = tuple(str(d) for d in range(10))
DATASETS.add(
    "mnist",
    DatasetInfo(
        "mnist",
        "mnist",
        "https://ossci-datasets.s3.amazonaws.com/mnist",
        _idx(
            "6bbc9ace898e44ae57da46a324031adb",
            "a25bea736e30d166cdddb491f175f624",
            "2646ac647ad5339dbf082846283269ea",
            "27ae3e4e09519cfbb04c329615203637",
            content=True,
        ),
        DIGITS,
        1,
        28,
        bundled=True,
    ),
)
DATASETS.add(
    "fashion-mnist",
    DatasetInfo(
        "fashion-mnist",
        "fashion-mnist",
        "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com",
        _idx(
            "f4a8712d7a061bf5bd6d2ca38dc4d50a",
            "9018921c3c673c538a1fc5bad174d6f9",
            "8181f5470baa50b63fa0f6fddb340f0a",
            "15d484375f8d13e6eb1aabb0c3f46965",
            content=True,
        ),
        ("t-shirt", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle-boot"),
        1,
        28,
    ),
)
DATASETS.add(
    "kmnist",
    DatasetInfo(
        "kmnist",
        "kmnist",
        "http://codh.rois.ac.jp/kmnist/dataset/kmnist",
        _idx(
            "bdb82020997e1d708af4cf47b453dcf7",
            "e144d726b3acfaa3e44228e80efcd344",
            "5c965bf0a639b31b8f53240b1b52f4d7",
            "7320c461ea6c1c855c0b718fb2a4b134",
            content=False,
        ),
        ("o", "ki", "su", "tsu", "na", "ha", "ma", "ya", "re", "wo"),
        1,
        28,
    ),
)

EMNIST_ARCHIVE = DataFile("gzip.zip", "58c8d27c78d21e728a6bc7b3cc06412e", content=False)
EMNIST_URL = "https://biometrics.nist.gov/cs_links/EMNIST"
UPPER = tuple(chr(c) for c in range(ord("A"), ord("Z") + 1))
DATASETS.add(
    "emnist-balanced",
    DatasetInfo(
        "emnist-balanced",
        "emnist",
        EMNIST_URL,
        EmnistLayout(EMNIST_ARCHIVE, "balanced", label_offset=0),
        DIGITS + UPPER + tuple("abdefghnqrt"),
        1,
        28,
    ),
)
DATASETS.add(
    "emnist-letters",
    DatasetInfo(
        "emnist-letters",
        "emnist",
        EMNIST_URL,
        EmnistLayout(EMNIST_ARCHIVE, "letters", label_offset=1),
        tuple(c.lower() for c in UPPER),
        1,
        28,
    ),
)

CIFAR_URL = "https://www.cs.toronto.edu/~kriz"
DATASETS.add(
    "cifar10",
    DatasetInfo(
        "cifar10",
        "cifar10",
        CIFAR_URL,
        CifarLayout(
            DataFile("cifar-10-binary.tar.gz", "c32a1d4ab5d03f1284b67883e8d87530", content=False),
            {
                "train": tuple(f"cifar-10-batches-bin/data_batch_{i}.bin" for i in range(1, 6)),
                "test": ("cifar-10-batches-bin/test_batch.bin",),
            },
            label_bytes=1,
            label_index=0,
        ),
        ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"),
        3,
        32,
    ),
)
# 100 names, alphabetical = label order
_CIFAR100_NAMES = """
apple aquarium_fish baby bear beaver bed bee beetle bicycle bottle bowl boy bridge bus butterfly camel can
castle caterpillar cattle chair chimpanzee clock cloud cockroach couch crab crocodile cup dinosaur dolphin
elephant flatfish forest fox girl hamster house kangaroo keyboard lamp lawn_mower leopard lion lizard lobster
man maple_tree motorcycle mountain mouse mushroom oak_tree orange orchid otter palm_tree pear pickup_truck
pine_tree plain plate poppy porcupine possum rabbit raccoon ray road rocket rose sea seal shark shrew skunk
skyscraper snail snake spider squirrel streetcar sunflower sweet_pepper table tank telephone television tiger
tractor train trout tulip turtle wardrobe whale willow_tree wolf woman worm
"""
CIFAR100_CLASSES = tuple(_CIFAR100_NAMES.split())
DATASETS.add(
    "cifar100",
    DatasetInfo(
        "cifar100",
        "cifar100",
        CIFAR_URL,
        CifarLayout(
            DataFile("cifar-100-binary.tar.gz", "03b5dce01913d631647c71ecec9e9cb8", content=False),
            {"train": ("cifar-100-binary/train.bin",), "test": ("cifar-100-binary/test.bin",)},
            label_bytes=2,
            label_index=1,
        ),  # (coarse, fine): the 100 fine classes
        CIFAR100_CLASSES,
        3,
        32,
    ),
)
