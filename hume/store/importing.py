"""`hume import`: turn embeddings a user already has (.npy) into a store."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from hume.errors import HumeError
from hume.names import canonical_model, check_name
from hume.store.feature_store import StoreDtype, create_store, remove_store
from hume.store.paths import StoreFormat, check_format, store_path
from hume.store.validate import check_features, check_labels


def _load_npy(path: str | os.PathLike, what: str) -> np.ndarray:
    path = Path(path)
    if not path.is_file():
        raise HumeError(f"{what} file {path} does not exist")
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as exc:
        raise HumeError(f"{what} file {path} is not a readable .npy array ({exc})") from None


def import_features(
    dataset: str,
    split: str,
    model: str,
    features: str | os.PathLike,
    labels: str | os.PathLike | None = None,
    root: str | None = None,
    fmt: StoreFormat | str = StoreFormat.zarr,
    dtype: StoreDtype | str = StoreDtype.float16,
    overwrite: bool = False,
    chunk_rows: int | None = None,
) -> Path:
    """Write ``features`` (N x D .npy) and optional ``labels`` (N .npy) into a complete store.

    The array is memory-mapped and checked, then copied chunk by chunk, so host memory stays
    bounded. Nothing is created unless every check passes.
    """
    check_format(fmt)
    model = canonical_model(model)
    for kind, name in (("dataset", dataset), ("split", split), ("model", model)):
        check_name(kind, name)
    x = _load_npy(features, "features")
    if x.ndim != 2:
        raise HumeError(f"features must be a 2-D array (rows x dims), got shape {x.shape}")
    step = max(1, 2**24 // max(1, x.shape[1] * x.itemsize))  # ~16 MiB per check
    n_bad = 0
    for start in range(0, x.shape[0], step):
        block = np.asarray(x[start : start + step])
        if np.issubdtype(block.dtype, np.floating):
            n_bad += int((~np.isfinite(block).all(axis=1)).sum())
    if n_bad:
        raise HumeError(
            f"features contain NaN or Inf in {n_bad} of {x.shape[0]} rows; fix or drop those rows first"
        )
    check_features(x[:1])
    y = None
    if labels is not None:
        y = check_labels(np.asarray(_load_npy(labels, "labels")), x.shape[0])
    attrs: dict[str, Any] = {
        "dataset": dataset,
        "split": split,
        "model": model,
        "weights": "imported",
        "feature_kind": "imported",
        "preprocessing": "unknown (imported)",
        "source": str(Path(features).resolve()),
    }
    if y is not None and (y >= 0).any():
        attrs["num_classes"] = int(y.max()) + 1
    path = store_path(root, dataset, split, model, fmt)
    store = create_store(
        path,
        x.shape[0],
        x.shape[1],
        dtype=dtype,
        chunk_rows=chunk_rows,
        attrs=attrs,
        labels=y,
        overwrite=overwrite,
    )
    try:
        for i in range(store.n_chunks):
            start, stop = store.chunk_bounds(i)
            store.write_chunk(i, np.asarray(x[start:stop]))
        store.mark_complete()
    except BaseException:
        store.close()
        remove_store(path)
        raise
    store.close()
    return path
