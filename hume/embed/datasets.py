"""Dataset registry: one name + split -> a map-style dataset whose item i is row i of a store.

Names (``list_datasets()``) and splits (the default ones first; ``split_choices`` has them all):

* ``cifar10``, ``cifar100`` (100 fine labels), ``cifar100-20`` (CIFAR-100 images with the 20
  official coarse superclasses, as in SCAN/SPICE/HUME): ``train``, ``test``. Downloaded by
  torchvision into ``data_dir`` when missing.
* ``stl10``: ``train``, ``test``; ``unlabeled`` (100 000 images, label −1) on request.
* ``imagenet``: ILSVRC-2012 under ``data_dir/imagenet``: ``train`` and ``test`` (the official
  validation set; ``val`` is accepted for it), from the standard archives (torchvision ImageNet) or
  an ImageFolder layout ``train/<wnid>/*.JPEG``, ``val/<wnid>/*.JPEG``.
* ``imagefolder:PATH``: class sub-folders of PATH, labels from the sorted folder names; split
  ``all``, or ``train``/``test`` when PATH holds ``train/`` and ``test/`` (or ``val/``) folders of
  class sub-folders. The store name is the folder's name.
* ``digits``: scikit-learn's 1 797 8x8 handwritten digits (ships with scikit-learn: offline).
  Split ``all`` (the dataset has no official split); ``train``/``test`` on request: every fourth
  sample (index % 4 == 3, 449 images) is test, the other 1 348 train. Samples are 8x8 PIL ``L``
  images with the 0..16 ink values scaled to 0..255.

Items are ``(sample, label)`` with PIL images as samples and int labels (−1 where unknown).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hume.errors import HumeError
from hume.names import check_name

#: Coarse superclass of each CIFAR-100 fine label (index = fine label), the dataset's own mapping.
CIFAR100_COARSE = [
    4, 1, 14, 8, 0, 6, 7, 7, 18, 3, 3, 14, 9, 18, 7, 11, 3, 9, 7, 11, 6, 11, 5, 10, 7, 6, 13, 15, 3,
    15, 0, 11, 1, 10, 12, 14, 16, 9, 11, 5, 5, 19, 8, 8, 15, 13, 14, 17, 18, 10, 16, 4, 17, 4, 2, 0,
    17, 4, 18, 17, 10, 3, 2, 12, 12, 16, 12, 1, 9, 19, 2, 10, 0, 1, 16, 12, 9, 13, 15, 13, 16, 19, 2,
    4, 6, 19, 5, 5, 8, 19, 18, 1, 2, 15, 6, 0, 17, 8, 14, 13,
]
CIFAR100_20_CLASSES = [
    "aquatic mammals", "fish", "flowers", "food containers", "fruit and vegetables",
    "household electrical devices", "household furniture", "insects", "large carnivores",
    "large man-made outdoor things", "large natural outdoor scenes",
    "large omnivores and herbivores", "medium-sized mammals", "non-insect invertebrates", "people",
    "reptiles", "small mammals", "trees", "vehicles 1", "vehicles 2",
]
STL10_CLASSES = ["airplane", "bird", "car", "cat", "deer", "dog", "horse", "monkey", "ship", "truck"]

#: name -> (default splits, every accepted split)
_SPLITS: dict[str, tuple[list[str], list[str]]] = {
    "cifar10": (["train", "test"], ["train", "test"]),
    "cifar100": (["train", "test"], ["train", "test"]),
    "cifar100-20": (["train", "test"], ["train", "test"]),
    "stl10": (["train", "test"], ["train", "test", "unlabeled"]),
    "imagenet": (["train", "test"], ["train", "test", "val"]),
    "digits": (["all"], ["all", "train", "test"]),
}
DATASET_ALIASES = {"cifar20": "cifar100-20", "cifar-10": "cifar10", "cifar-100": "cifar100",
                   "cifar-100-20": "cifar100-20", "stl-10": "stl10", "ilsvrc2012": "imagenet"}
IMAGEFOLDER = "imagefolder:"

_DOWNLOADS = {
    "cifar10": ("cifar-10-python.tar.gz", "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",
                "cifar-10-batches-py"),
    "cifar100": ("cifar-100-python.tar.gz", "https://www.cs.toronto.edu/~kriz/cifar-100-python.tar.gz",
                 "cifar-100-python"),
    "stl10": ("stl10_binary.tar.gz", "http://ai.stanford.edu/~acoates/stl10/stl10_binary.tar.gz",
              "stl10_binary"),
}
IMAGENET_FILES = ("ILSVRC2012_devkit_t12.tar.gz", "ILSVRC2012_img_train.tar", "ILSVRC2012_img_val.tar")


@dataclass
class DatasetSplit:
    """One split of one dataset.

    ``dataset[i]`` is ``(sample, label)``; row i of a store is item i. ``labels`` is the (N,)
    int64 label array in the same order (−1 where unknown), available without decoding images.
    """

    name: str
    split: str
    dataset: Any
    num_classes: int | None
    classes: list[str] | None
    info: dict = field(default_factory=dict)
    labels: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.dataset)


def list_datasets() -> list[str]:
    """Every dataset name (``imagefolder:PATH`` comes on top)."""
    return [*_SPLITS, "imagefolder:PATH"]


def canonical_dataset(name: str) -> str:
    """Resolve aliases (``cifar20`` -> ``cifar100-20``); unknown names raise :class:`HumeError`."""
    if not isinstance(name, str) or not name.strip():
        raise HumeError(f"dataset name is empty: use one of {', '.join(list_datasets())}")
    name = name.strip()
    if name.startswith(IMAGEFOLDER):
        if not name[len(IMAGEFOLDER):].strip():
            raise HumeError("imagefolder needs a path: imagefolder:/path/to/folder")
        return name
    low = DATASET_ALIASES.get(name.lower(), name.lower())
    if low not in _SPLITS:
        raise HumeError(f"unknown dataset {name!r}: use one of {', '.join(list_datasets())}")
    return low


def store_dataset_name(name: str) -> str:
    """Name of the dataset's stores: ``imagefolder:/x/pets`` -> ``pets``, aliases resolved."""
    name = canonical_dataset(name)
    if name.startswith(IMAGEFOLDER):
        folder = Path(name[len(IMAGEFOLDER):]).expanduser()
        base = folder.resolve().name if folder.exists() else folder.name
        cleaned = "".join(c if c.isalnum() or c in "-_.+" else "-" for c in base).strip(".")
        return check_name("dataset", cleaned or "imagefolder")
    return name


def dataset_splits(name: str) -> list[str]:
    """Splits embedded when none is given: ``train``/``test``, or ``all`` where there is no split."""
    name = canonical_dataset(name)
    if name.startswith(IMAGEFOLDER):
        return _imagefolder_layout(_imagefolder_root(name))[0]
    return list(_SPLITS[name][0])


def split_choices(name: str) -> list[str]:
    """Every split ``get_dataset`` accepts for ``name`` (the defaults plus e.g. ``unlabeled``)."""
    name = canonical_dataset(name)
    if name.startswith(IMAGEFOLDER):
        return dataset_splits(name)
    return list(_SPLITS[name][1])


def get_dataset(name: str, split: str, data_dir: str | Path, *, download: bool = True) -> DatasetSplit:
    """Open ``split`` of dataset ``name``; torchvision datasets are downloaded into ``data_dir``.

    Raises :class:`HumeError` for unknown names and splits and for files that are missing and
    cannot be downloaded (the message says which files go where).
    """
    name = canonical_dataset(name)
    choices = split_choices(name)
    if split not in choices:
        raise HumeError(f"dataset {name} has no split {split!r}: use one of {', '.join(choices)}")
    data_dir = Path(data_dir).expanduser()
    if name.startswith(IMAGEFOLDER):
        return _imagefolder(name, split)
    if name == "digits":
        return _digits(split)
    if name == "imagenet":
        return _imagenet(split, data_dir)
    return _torchvision(name, split, data_dir, download)


# ---------------------------------------------------------------------------------------------


class CoarseLabel:
    """CIFAR-100 fine label -> its superclass (a picklable target_transform)."""

    def __call__(self, fine: int) -> int:
        return CIFAR100_COARSE[fine]


def _torchvision(name: str, split: str, data_dir: Path, download: bool) -> DatasetSplit:
    from torchvision import datasets as tvd

    key = "cifar100" if name.startswith("cifar100") else name
    archive, url, folder = _DOWNLOADS[key]
    try:
        data_dir.mkdir(parents=True, exist_ok=True)
        if name == "stl10":
            ds = tvd.STL10(str(data_dir), split=split, download=download)
            labels = np.asarray(ds.labels, dtype=np.int64)
            classes = list(getattr(ds, "classes", None) or STL10_CLASSES)
        elif key == "cifar10":
            ds = tvd.CIFAR10(str(data_dir), train=split == "train", download=download)
            labels, classes = np.asarray(ds.targets, dtype=np.int64), list(ds.classes)
        else:
            coarse = name == "cifar100-20"
            ds = tvd.CIFAR100(str(data_dir), train=split == "train", download=download,
                              target_transform=CoarseLabel() if coarse else None)
            labels = np.asarray(ds.targets, dtype=np.int64)
            classes = list(ds.classes)
            if coarse:
                labels = np.asarray(CIFAR100_COARSE, dtype=np.int64)[labels]
                classes = list(CIFAR100_20_CLASSES)
    except (OSError, RuntimeError, ValueError) as exc:
        what = "download failed" if download else "files are missing"
        raise HumeError(
            f"cannot open {name} ({what}: {str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__}): "
            f"put {archive} (from {url}) or its extracted folder {folder}/ in {data_dir}") from None
    info = {"source": f"torchvision.datasets.{type(ds).__name__}", "root": str(data_dir),
            "image_size": 96 if name == "stl10" else 32}
    if name == "cifar100-20":
        info["labels"] = "CIFAR-100 coarse superclasses (20)"
    return DatasetSplit(name=name, split=split, dataset=ds, num_classes=len(classes),
                        classes=classes, info=info, labels=labels)


# ---------------------------------------------------------------------------------------------


class DigitsDataset:
    """scikit-learn's 8x8 digits as ``(PIL 'L' image, label)`` items, in ``indices`` order."""

    def __init__(self, indices: np.ndarray | None = None):
        from sklearn.datasets import load_digits

        bunch = load_digits()
        images = np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)  # ink 0..16 -> 0..255
        idx = np.arange(len(images)) if indices is None else np.asarray(indices)
        self.images = images[idx]
        self.targets = bunch.target[idx].astype(np.int64)
        self.indices = idx

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, i: int):
        from PIL import Image

        return Image.fromarray(self.images[i], mode="L"), int(self.targets[i])


def digits_indices(split: str, n: int = 1797) -> np.ndarray:
    """Row indices of the digits split: ``all``, or train/test with every fourth sample as test."""
    idx = np.arange(n)
    if split == "all":
        return idx
    test = idx % 4 == 3
    return idx[test] if split == "test" else idx[~test]


def _digits(split: str) -> DatasetSplit:
    ds = DigitsDataset(digits_indices(split))
    info = {"source": "sklearn.datasets.load_digits", "image_size": 8,
            "split_rule": "all 1797" if split == "all" else "test: index % 4 == 3; train: the rest"}
    return DatasetSplit(name="digits", split=split, dataset=ds, num_classes=10,
                        classes=[str(d) for d in range(10)], info=info, labels=ds.targets.copy())


# ---------------------------------------------------------------------------------------------


def _imagenet(split: str, data_dir: Path) -> DatasetSplit:
    split = "test" if split == "val" else split
    folder = "train" if split == "train" else "val"
    root = data_dir / "imagenet"
    archives = [root / f for f in IMAGENET_FILES]
    tv_needs = [archives[0], archives[1] if folder == "train" else archives[2]]
    if (root / "meta.bin").is_file() or all(p.is_file() for p in tv_needs):
        from torchvision.datasets import ImageNet

        try:
            ds = ImageNet(str(root), split=folder)
        except (OSError, RuntimeError, ValueError) as exc:
            raise HumeError(f"cannot read ImageNet under {root}: {str(exc).splitlines()[0][:200]}; "
                            f"it needs {', '.join(IMAGENET_FILES)} there") from None
        classes = [names[0] for names in ds.classes]  # first synonym of each wnid
        source = "torchvision.datasets.ImageNet"
    elif _has_class_dirs(root / folder):
        from torchvision.datasets import ImageFolder

        ds = ImageFolder(str(root / folder))
        classes = list(ds.classes)  # wnids
        source = "torchvision.datasets.ImageFolder"
    else:
        raise HumeError(
            f"ImageNet {split} not found under {root}: put {', '.join(IMAGENET_FILES)} (from "
            f"image-net.org, ILSVRC-2012) in {root}, or the images as {root}/train/<wnid>/*.JPEG and "
            f"{root}/val/<wnid>/*.JPEG")
    info = {"source": source, "root": str(root), "folder": folder, "image_size": None}
    return DatasetSplit(name="imagenet", split=split, dataset=ds, num_classes=len(classes),
                        classes=classes, info=info, labels=np.asarray(ds.targets, dtype=np.int64))


def _has_class_dirs(path: Path) -> bool:
    return path.is_dir() and any(p.is_dir() and not p.name.startswith(".") for p in path.iterdir())


def _imagefolder_root(name: str) -> Path:
    root = Path(name[len(IMAGEFOLDER):].strip()).expanduser()
    if not root.is_dir():
        raise HumeError(f"image folder {root} does not exist: give a folder with one sub-folder per class")
    return root.resolve()


def _imagefolder_layout(root: Path) -> tuple[list[str], dict[str, Path]]:
    """(splits, split -> folder): train/test(or val) sub-folders, else the whole folder as ``all``."""
    subdirs = {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")}
    test = "test" if "test" in subdirs else "val" if "val" in subdirs else None
    if test and "train" in subdirs and subdirs <= {"train", "test", "val"} \
            and _has_class_dirs(root / "train"):
        return ["train", "test"], {"train": root / "train", "test": root / test}
    return ["all"], {"all": root}


class ClassFolder:
    """Images under ``root/<class>/``, labelled by the index of their class in ``classes``.

    Like torchvision's ImageFolder (same file order: classes in order, files sorted), but the class
    list is given, so train and test folders share one label index even if one lacks a class.
    """

    def __init__(self, root: str | Path, classes: list[str]):
        from torchvision.datasets.folder import IMG_EXTENSIONS, make_dataset

        self.root = str(root)
        self.classes = list(classes)
        self.class_to_idx = {c: i for i, c in enumerate(self.classes)}
        self.samples = make_dataset(self.root, self.class_to_idx, IMG_EXTENSIONS, allow_empty=True)
        self.targets = [t for _, t in self.samples]

    def __len__(self) -> int:
        return len(self.samples)

    def __getitem__(self, i: int):
        from torchvision.datasets.folder import default_loader

        path, target = self.samples[i]
        return default_loader(path), target


def _imagefolder(name: str, split: str) -> DatasetSplit:
    root = _imagefolder_root(name)
    folders = _imagefolder_layout(root)[1]
    folder = folders[split]
    # classes: every class folder of every split, sorted, so a label means the same in each split
    classes = sorted({p.name for f in folders.values() for p in f.iterdir()
                      if p.is_dir() and not p.name.startswith(".")})
    try:
        if not classes:
            raise FileNotFoundError(f"no class sub-folders in {folder}")
        ds = ClassFolder(folder, classes)
        if len(ds) == 0:
            raise FileNotFoundError(f"no image files under {folder}")
    except (FileNotFoundError, OSError) as exc:
        raise HumeError(f"no images in {folder}: it needs one sub-folder per class holding image files "
                        f"({str(exc).splitlines()[0][:160]})") from None
    info = {"source": "torchvision.datasets.ImageFolder", "root": str(folder), "image_size": None,
            "labels": "index of the class folder name, folders sorted"}
    return DatasetSplit(name=store_dataset_name(name), split=split, dataset=ds,
                        num_classes=len(ds.classes), classes=list(ds.classes), info=info,
                        labels=np.asarray(ds.targets, dtype=np.int64))
