"""Checks on feature and label arrays before they enter a store."""

from __future__ import annotations

import numpy as np

from hume.core.errors import HumeError, setting


def check_features(x: np.ndarray, what: str = "features") -> np.ndarray:
    """Return ``x`` (N x D, real) or raise naming the problem: not 2-D, empty, NaN/Inf rows."""
    x = np.asarray(x)
    if x.ndim != 2:
        raise HumeError(f"{what} must be a 2-D array (rows x dims), got shape {x.shape}")
    if x.shape[0] == 0 or x.shape[1] == 0:
        raise HumeError(f"{what} are empty (shape {x.shape})")
    if not np.issubdtype(x.dtype, np.number) or np.iscomplexobj(x):
        raise HumeError(f"{what} must be real numbers, got dtype {x.dtype}")
    if np.issubdtype(x.dtype, np.floating):
        bad = ~np.isfinite(x).all(axis=1)
        n_bad = int(bad.sum())
        if n_bad:
            first = int(np.flatnonzero(bad)[0])
            raise HumeError(
                f"{what} contain NaN or Inf in {n_bad} of {x.shape[0]} rows (first: row {first}); "
                "fix or drop those rows first"
            )
    return x


def to_stored(x: np.ndarray, dtype: str, where: str) -> np.ndarray:
    """``x`` (finite) as the store's ``dtype``; refuses values that overflow it (float16)."""
    with np.errstate(over="ignore"):
        y = x.astype(dtype, copy=False)
    if not np.isfinite(y).all():
        raise HumeError(
            f"features overflow {dtype} {where} (values beyond ±65504): "
            f"store them as float32 ({setting('dtype', 'float32')}) or rescale them"
        )
    return y


def check_labels(y: np.ndarray, n_rows: int) -> np.ndarray:
    """Return labels as int64 of length ``n_rows`` (−1 for unknown) or raise."""
    y = np.asarray(y)
    if y.ndim != 1:
        raise HumeError(f"labels must be a 1-D array, got shape {y.shape}")
    if len(y) != n_rows:
        raise HumeError(f"labels have {len(y)} entries but the features have {n_rows} rows")
    if not np.issubdtype(y.dtype, np.integer):
        if (
            np.issubdtype(y.dtype, np.floating)
            and np.isfinite(y).all()
            and (y == np.round(y)).all()
        ):
            y = y.astype(np.int64)
        else:
            raise HumeError(f"labels must be integers (−1 for unknown), got dtype {y.dtype}")
    if (y < -1).any():
        raise HumeError("labels must be ≥ 0, or −1 where unknown")
    return y.astype(np.int64)
