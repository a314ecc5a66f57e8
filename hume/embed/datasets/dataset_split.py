"""What every dataset family opens: one split of one dataset, row i = item i."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np


@dataclass
class DatasetSplit:
    """One split of one dataset.

    ``dataset[i]`` is ``(sample, label)`` with a PIL image as sample; row i of a store is item i.
    ``labels`` is the (N,) int64 label array in the same order (−1 where unknown), available
    without decoding images. ``name`` is the dataset's store name. ``paths`` (N,) names each
    row's file relative to the dataset's folder where rows are files (image folders); elsewhere
    the row index is the identity (item i of the library's dataset).
    """

    name: str
    split: str
    dataset: Any
    num_classes: int | None
    classes: list[str] | None
    info: dict = field(default_factory=dict)
    labels: np.ndarray | None = None
    paths: list[str] | None = None

    def __len__(self) -> int:
        return len(self.dataset)
