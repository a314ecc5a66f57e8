"""``digits``: scikit-learn's 1 797 8x8 handwritten digits (ships with scikit-learn: offline).

Split ``all`` (the dataset has no official split); ``train``/``test`` on request: every fourth
sample (index % 4 == 3, 449 images) is test, the other 1 348 train. Samples are 8x8 PIL ``L``
images with the 0..16 ink values scaled to 0..255.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hume.embed.datasets.dataset_registry import register_dataset
from hume.embed.datasets.dataset_split import DatasetSplit


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


@register_dataset("digits", default_splits=("all",), splits=("all", "train", "test"))
def digits(spec: str, split: str, data_dir: Path, *, download: bool = False) -> DatasetSplit:
    ds = DigitsDataset(digits_indices(split))
    info = {
        "source": "sklearn.datasets.load_digits",
        "image_size": 8,
        "split_rule": "all 1797" if split == "all" else "test: index % 4 == 3; train: the rest",
    }
    return DatasetSplit(
        name="digits",
        split=split,
        dataset=ds,
        num_classes=10,
        classes=[str(d) for d in range(10)],
        info=info,
        labels=ds.targets.copy(),
    )
