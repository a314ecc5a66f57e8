"""``imagefolder:PATH``: images in class sub-folders of PATH, labels from the sorted folder names.

Split ``all``, or ``train``/``test`` when PATH holds ``train/`` and ``test/`` (or ``val/``) folders
of class sub-folders. The store name is the folder's own name, made safe (``my pets`` -> ``my-pets``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hume.embed.datasets.base import DatasetSplit
from hume.embed.datasets.registry import register_dataset_prefix
from hume.errors import HumeError
from hume.names import safe_name


def has_class_dirs(path: Path) -> bool:
    """True when ``path`` is a folder holding at least one visible sub-folder."""
    return path.is_dir() and any(p.is_dir() and not p.name.startswith(".") for p in path.iterdir())


def _root(spec: str) -> Path:
    root = Path(spec).expanduser()
    if not root.is_dir():
        raise HumeError(
            f"image folder {root} does not exist: give a folder with one sub-folder per class"
        )
    return root.resolve()


def layout(root: Path) -> dict[str, Path]:
    """split -> folder: ``train``/``test`` (or ``val``) sub-folders, else the whole folder as ``all``."""
    subdirs = {p.name for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")}
    test = "test" if "test" in subdirs else "val" if "val" in subdirs else None
    if (
        test
        and "train" in subdirs
        and subdirs <= {"train", "test", "val"}
        and has_class_dirs(root / "train")
    ):
        return {"train": root / "train", "test": root / test}
    return {"all": root}


def store_name(spec: str) -> str:
    """The folder's own name (resolved, so ``.`` names the current folder), made safe."""
    folder = Path(spec).expanduser()
    base = folder.resolve().name if folder.exists() else folder.name
    return safe_name("dataset", base.strip(".") or "imagefolder")


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


@register_dataset_prefix(
    "imagefolder:",
    pattern="imagefolder:PATH",
    example="imagefolder:/data/pets",
    splits=lambda spec: list(layout(_root(spec))),
    store_name=store_name,
)
def imagefolder(spec: str, split: str, data_dir: Path, *, download: bool = False) -> DatasetSplit:
    folders = layout(_root(spec))
    folder = folders[split]
    # classes: every class folder of every split, sorted, so a label means the same in each split
    classes = sorted(
        {
            p.name
            for f in folders.values()
            for p in f.iterdir()
            if p.is_dir() and not p.name.startswith(".")
        }
    )
    try:
        if not classes:
            raise FileNotFoundError(f"no class sub-folders in {folder}")
        ds = ClassFolder(folder, classes)
        if len(ds) == 0:
            raise FileNotFoundError(f"no image files under {folder}")
    except (FileNotFoundError, OSError) as exc:
        raise HumeError(
            f"no images in {folder}: it needs one sub-folder per class holding image files "
            f"({str(exc).splitlines()[0][:160]})"
        ) from None
    info = {
        "source": "torchvision.datasets.ImageFolder",
        "root": str(folder),
        "image_size": None,
        "labels": "index of the class folder name, folders sorted",
    }
    return DatasetSplit(
        name=store_name(spec),
        split=split,
        dataset=ds,
        num_classes=len(ds.classes),
        classes=list(ds.classes),
        info=info,
        labels=np.asarray(ds.targets, dtype=np.int64),
    )
