"""The torchvision datasets: ``cifar10``, ``cifar100`` (100 fine labels), ``cifar100-20`` (CIFAR-100
images with the 20 official coarse superclasses, as in SCAN/SPICE/HUME) and ``stl10`` (``train``,
``test``; ``unlabeled``, 100 000 images with label −1, on request). Downloaded by torchvision into
``data_dir`` when missing; otherwise the message says which archive goes where.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hume.core.errors import HumeError
from hume.embed.datasets.dataset_registry import register_dataset
from hume.embed.datasets.dataset_split import DatasetSplit

#: Coarse superclass of each CIFAR-100 fine label (index = fine label), the dataset's own mapping.
CIFAR100_COARSE = [
    4,
    1,
    14,
    8,
    0,
    6,
    7,
    7,
    18,
    3,
    3,
    14,
    9,
    18,
    7,
    11,
    3,
    9,
    7,
    11,
    6,
    11,
    5,
    10,
    7,
    6,
    13,
    15,
    3,
    15,
    0,
    11,
    1,
    10,
    12,
    14,
    16,
    9,
    11,
    5,
    5,
    19,
    8,
    8,
    15,
    13,
    14,
    17,
    18,
    10,
    16,
    4,
    17,
    4,
    2,
    0,
    17,
    4,
    18,
    17,
    10,
    3,
    2,
    12,
    12,
    16,
    12,
    1,
    9,
    19,
    2,
    10,
    0,
    1,
    16,
    12,
    9,
    13,
    15,
    13,
    16,
    19,
    2,
    4,
    6,
    19,
    5,
    5,
    8,
    19,
    18,
    1,
    2,
    15,
    6,
    0,
    17,
    8,
    14,
    13,
]
CIFAR100_20_CLASSES = [
    "aquatic mammals",
    "fish",
    "flowers",
    "food containers",
    "fruit and vegetables",
    "household electrical devices",
    "household furniture",
    "insects",
    "large carnivores",
    "large man-made outdoor things",
    "large natural outdoor scenes",
    "large omnivores and herbivores",
    "medium-sized mammals",
    "non-insect invertebrates",
    "people",
    "reptiles",
    "small mammals",
    "trees",
    "vehicles 1",
    "vehicles 2",
]
STL10_CLASSES = [
    "airplane",
    "bird",
    "car",
    "cat",
    "deer",
    "dog",
    "horse",
    "monkey",
    "ship",
    "truck",
]


@dataclass(frozen=True)
class TorchvisionSet:
    """How one dataset comes from torchvision, and where its files come from."""

    cls: str  # torchvision.datasets class
    archive: str
    url: str
    folder: str  # what the archive extracts to
    image_size: int
    splits: tuple[str, ...] = ("train", "test")
    coarse: bool = False  # CIFAR-100's 20 superclasses as labels


_CIFAR100 = (
    "cifar-100-python.tar.gz",
    "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
    "cifar-100-python",
)
#: Registered name -> how torchvision opens it.
TORCHVISION_SETS: dict[str, TorchvisionSet] = {
    "cifar10": TorchvisionSet(
        "CIFAR10",
        "cifar-10-python.tar.gz",
        "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
        "cifar-10-batches-py",
        32,
    ),
    "cifar100": TorchvisionSet("CIFAR100", *_CIFAR100, 32),
    "cifar100-20": TorchvisionSet("CIFAR100", *_CIFAR100, 32, coarse=True),
    "stl10": TorchvisionSet(
        "STL10",
        "stl10_binary.tar.gz",
        "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz",
        "stl10_binary",
        96,
        splits=("train", "test", "unlabeled"),
    ),
}


class CoarseLabel:
    """CIFAR-100 fine label -> its superclass (a picklable target_transform)."""

    def __call__(self, fine: int) -> int:
        return CIFAR100_COARSE[fine]


def _open(
    tv: TorchvisionSet, spec: str, split: str, data_dir: Path, *, download: bool
) -> DatasetSplit:
    from torchvision import datasets as tvd

    # STL-10 names its splits; CIFAR has a train flag
    where = {"split": split} if tv.cls == "STL10" else {"train": split == "train"}
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        ds = getattr(tvd, tv.cls)(
            str(data_dir),
            download=download,
            target_transform=CoarseLabel() if tv.coarse else None,
            **where,
        )
    except (OSError, RuntimeError, ValueError) as exc:
        what = "download failed" if download else "files are missing"
        raise HumeError(
            f"cannot open {spec} ({what}: {str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__}): "
            f"put {tv.archive} (from {tv.url}) or its extracted folder {tv.folder}/ in {data_dir}"
        ) from exc
    labels = np.asarray(ds.labels if tv.cls == "STL10" else ds.targets, dtype=np.int64)
    classes = list(getattr(ds, "classes", None) or STL10_CLASSES)
    info = {
        "source": f"torchvision.datasets.{type(ds).__name__}",
        "root": str(data_dir),
        "image_size": tv.image_size,
    }
    if tv.coarse:
        labels = np.asarray(CIFAR100_COARSE, dtype=np.int64)[labels]
        classes = list(CIFAR100_20_CLASSES)
        info["labels"] = "CIFAR-100 coarse superclasses (20)"
    return DatasetSplit(
        name=spec,
        split=split,
        dataset=ds,
        num_classes=len(classes),
        classes=classes,
        info=info,
        labels=labels,
    )


for _name, _tv in TORCHVISION_SETS.items():
    register_dataset(_name, splits=_tv.splits)(functools.partial(_open, _tv))
