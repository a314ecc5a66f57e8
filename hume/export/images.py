"""The image behind a row, for thumbnails: its file (image folders) or the dataset's item."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from hume.export.rows import SplitRows
from hume.store import open_store

#: row -> its image (PIL), or None when it cannot be had
ImageOf = Callable[[int], Any]


def image_source(part: SplitRows) -> tuple[ImageOf | None, str | None]:
    """(row -> PIL image, None) for the rows of ``part``, or (None, why not)."""
    if part.paths is not None and part.source_root is not None:
        folder, paths = Path(part.source_root), part.paths

        def from_file(i: int) -> Any:
            from PIL import Image

            with Image.open(folder / paths[i]) as img:
                return img.convert("RGB")

        return from_file, None
    first = next(iter(part.stores.values()), None)
    if first is None:
        return None, "the run records no store of this split"
    with open_store(first) as st:
        attrs = st.attrs
    spec = attrs.get("dataset_spec") or attrs.get("dataset")
    root = (attrs.get("dataset_info") or {}).get("root")
    dataset = _open_dataset(str(spec), part.split, root)
    if dataset is None:
        return None, f"the images of {spec!r} ({part.split}) cannot be opened here"

    def from_dataset(i: int) -> Any:
        return dataset[i][0]

    return from_dataset, None


def _open_dataset(spec: str, split: str, root: str | None) -> Any:
    """The dataset's items without downloading anything; None when that is not possible."""
    from hume.core.errors import HumeError
    from hume.embed.datasets import get_dataset

    candidates = [Path(root), Path(root).parent] if root else [Path(".")]
    for data_dir in candidates:
        try:
            return get_dataset(spec, split, data_dir, download=False).dataset
        except (HumeError, OSError, RuntimeError, ValueError):
            continue
    return None
