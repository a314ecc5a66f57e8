"""``imagenet``: ILSVRC-2012 under ``data_dir/imagenet``, never downloaded.

Splits ``train`` and ``test`` (the official validation set; ``val`` is accepted for it), from the
standard archives (torchvision ImageNet) or an ImageFolder layout ``train/<wnid>/*.JPEG``,
``val/<wnid>/*.JPEG``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hume.core.errors import HumeError
from hume.embed.datasets.dataset_registry import register_dataset
from hume.embed.datasets.dataset_split import DatasetSplit
from hume.embed.datasets.imagefolder import has_class_dirs

IMAGENET_FILES = (
    "ILSVRC2012_devkit_t12.tar.gz",
    "ILSVRC2012_img_train.tar",
    "ILSVRC2012_img_val.tar",
)


@register_dataset("imagenet", splits=("train", "test", "val"))
def imagenet(spec: str, split: str, data_dir: Path, *, download: bool = False) -> DatasetSplit:
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
            raise HumeError(
                f"cannot read ImageNet under {root}: {str(exc).splitlines()[0][:200]}; "
                f"it needs {', '.join(IMAGENET_FILES)} there"
            ) from exc
        classes = [names[0] for names in ds.classes]  # first synonym of each wnid
        source = "torchvision.datasets.ImageNet"
    elif has_class_dirs(root / folder):
        from torchvision.datasets import ImageFolder

        ds = ImageFolder(str(root / folder))
        classes = list(ds.classes)  # wnids
        source = "torchvision.datasets.ImageFolder"
    else:
        raise HumeError(
            f"ImageNet {split} not found under {root}: put {', '.join(IMAGENET_FILES)} (from "
            f"image-net.org, ILSVRC-2012) in {root}, or the images as {root}/train/<wnid>/*.JPEG and "
            f"{root}/val/<wnid>/*.JPEG"
        )
    info = {"source": source, "root": str(root), "folder": folder, "image_size": None}
    return DatasetSplit(
        name="imagenet",
        split=split,
        dataset=ds,
        num_classes=len(classes),
        classes=classes,
        info=info,
        labels=np.asarray(ds.targets, dtype=np.int64),
    )
