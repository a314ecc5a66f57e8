"""Comparing two labelings of the same rows: their contingency table, the best one-to-one
matching of their classes (Hungarian) and the adjusted Rand index. Used by the search (which
seeds agree, which classes correspond) and by the evaluation (against ground truth) alike.

Labelings are (N,) non-negative integers; ids need not be contiguous and the two may have
different numbers of classes. Everything is computed from one contingency table: O(N + K1·K2).
"""

from __future__ import annotations

import numpy as np

from hume.core.errors import HumeError


def check_labelings(y_true: np.ndarray, y_pred: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Validate two labelings of the same N samples; return them as int64 arrays."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    for name, y in (("y_true", y_true), ("y_pred", y_pred)):
        if y.ndim != 1:
            raise HumeError(f"{name} must be 1-D, got shape {y.shape}")
        if not np.issubdtype(y.dtype, np.integer):
            raise HumeError(f"{name} must hold integers, got dtype {y.dtype}")
        if y.size and y.min() < 0:
            raise HumeError(f"{name} must be ≥ 0 (drop unlabelled rows, −1, before scoring)")
    if y_true.shape != y_pred.shape:
        raise HumeError(f"y_true has {y_true.size} entries but y_pred has {y_pred.size}")
    if y_true.size == 0:
        raise HumeError("cannot score an empty labeling")
    return y_true.astype(np.int64), y_pred.astype(np.int64)


def contingency(
    y_true: np.ndarray,
    y_pred: np.ndarray,
    n_classes: int | None = None,
    n_clusters: int | None = None,
) -> np.ndarray:
    """Counts (n_classes, n_clusters): entry [c, j] = samples of class c put in cluster j.

    Sizes default to ``max + 1`` of each labeling, so empty classes/clusters are zero rows/cols.
    """
    y_true, y_pred = check_labelings(y_true, y_pred)
    kt = max(int(y_true.max()) + 1, n_classes or 0)
    kp = max(int(y_pred.max()) + 1, n_clusters or 0)
    flat = np.bincount(y_true * kp + y_pred, minlength=kt * kp)
    return flat.reshape(kt, kp).astype(np.int64)


def best_matching(table: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, columns) of the one-to-one matching of a table's rows to its columns that
    maximises their summed counts (Hungarian; ``table`` (K1, K2), e.g. a contingency table)."""
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(np.asarray(table), maximize=True)
    return rows, cols


def match_clusters(table: np.ndarray) -> dict[int, int]:
    """Hungarian matching of clusters to classes maximising overlap: ``{cluster: class}``.

    ``table`` is a contingency table (classes × clusters). With more clusters than classes some
    clusters stay unmatched (their samples count as errors); with fewer, some classes do.
    """
    rows, cols = best_matching(table)
    return {int(j): int(c) for c, j in zip(rows, cols)}


def _comb2(x: np.ndarray) -> float:
    x = np.asarray(x, dtype=np.float64)
    return float((x * (x - 1) / 2).sum())


def adjusted_rand_index(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Adjusted Rand index (Hubert & Arabie). 1.0 when both labelings are trivially equal."""
    table = contingency(y_true, y_pred)
    n = float(table.sum())
    index = _comb2(table)
    a, b = _comb2(table.sum(axis=1)), _comb2(table.sum(axis=0))
    expected = a * b / (n * (n - 1) / 2) if n > 1 else 0.0
    maximum = (a + b) / 2
    # max == expected only when both are one cluster or both all singletons: identical labelings
    if maximum == expected:
        return 1.0
    return float((index - expected) / (maximum - expected))
