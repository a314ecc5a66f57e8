"""Clustering metrics against ground truth: ACC (Hungarian), ARI, NMI, per-class accuracy.

Every function takes ``y_true`` (N,) non-negative integer class labels and ``y_pred`` (N,)
non-negative integer cluster ids. Cluster ids need not be contiguous (empty clusters are
fine) and the number of clusters may differ from the number of classes. All metrics are
computed from one contingency table, so they cost O(N + K_true·K_pred) and scale to ImageNet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

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


def match_clusters(table: np.ndarray) -> dict[int, int]:
    """Hungarian matching of clusters to classes maximising overlap: ``{cluster: class}``.

    ``table`` is a contingency table (classes × clusters). With more clusters than classes some
    clusters stay unmatched (their samples count as errors); with fewer, some classes do.
    """
    from scipy.optimize import linear_sum_assignment

    rows, cols = linear_sum_assignment(table, maximize=True)
    return {int(j): int(c) for c, j in zip(rows, cols)}


def cluster_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Clustering accuracy: fraction of samples right under the best one-to-one matching."""
    table = contingency(y_true, y_pred)
    mapping = match_clusters(table)
    return float(sum(table[c, j] for j, c in mapping.items()) / table.sum())


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


def _entropy(counts: np.ndarray) -> float:
    p = counts[counts > 0] / counts.sum()
    return float(-(p * np.log(p)).sum())


def normalized_mutual_info(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """NMI with the geometric mean of the two entropies as normaliser (natural log)."""
    table = contingency(y_true, y_pred)
    rows, cols = table.sum(axis=1), table.sum(axis=0)
    if (rows > 0).sum() == 1 and (cols > 0).sum() == 1:
        return 1.0  # neither labeling splits the data: a perfect (trivial) match
    n = table.sum()
    nz = table > 0
    pij = table[nz] / n
    outer = np.outer(rows, cols)[nz] / (n * n)
    mi = float((pij * (np.log(pij) - np.log(outer))).sum())
    if mi <= 0:
        return 0.0
    return float(mi / np.sqrt(_entropy(rows) * _entropy(cols)))


def n_nonempty_clusters(y_pred: np.ndarray) -> int:
    """Number of distinct cluster ids actually used."""
    return int(np.unique(np.asarray(y_pred)).size)


@dataclass
class MatchedConfusion:
    """Confusion after matching: ``matrix`` (n_classes, n_columns) counts.

    Column c < n_classes holds the cluster matched to class c (zeros if no cluster was matched
    to it); further columns are the unmatched non-empty clusters. ``clusters[j]`` is the
    original cluster id of column j, or −1 for a class without a matched cluster.
    """

    matrix: np.ndarray
    clusters: list[int]


def matched_confusion(
    y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None = None
) -> MatchedConfusion:
    """Confusion matrix with clusters reordered so the diagonal holds the matched pairs."""
    table = contingency(y_true, y_pred, n_classes=n_classes)
    kt = table.shape[0]
    to_class = match_clusters(table)
    by_class = {c: j for j, c in to_class.items()}
    clusters = [by_class.get(c, -1) for c in range(kt)]
    used = table.sum(axis=0) > 0
    clusters += [j for j in range(table.shape[1]) if used[j] and j not in to_class]
    cols = [table[:, j] if j >= 0 else np.zeros(kt, np.int64) for j in clusters]
    return MatchedConfusion(np.stack(cols, axis=1), clusters)


def per_class_accuracy(confusion: MatchedConfusion) -> np.ndarray:
    """Recall of each class under the matching (n_classes,); NaN for classes with no samples."""
    m = confusion.matrix
    kt = m.shape[0]
    support = m.sum(axis=1).astype(np.float64)
    hits = np.diag(m[:, :kt]).astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(support > 0, hits / np.where(support > 0, support, 1), np.nan)


def score_labeling(
    y_true: np.ndarray, y_pred: np.ndarray, n_classes: int | None = None, detail: bool = True
) -> dict:
    """Every metric of one labeling, JSON-ready (fractions in [0, 1]).

    ``detail`` adds per-class accuracy, the matched confusion matrix and its cluster ids.
    """
    y_true, y_pred = check_labelings(y_true, y_pred)
    out: dict[str, Any] = {
        "acc": cluster_accuracy(y_true, y_pred),
        "ari": adjusted_rand_index(y_true, y_pred),
        "nmi": normalized_mutual_info(y_true, y_pred),
        "n_clusters": n_nonempty_clusters(y_pred),
        "n_samples": int(y_true.size),
    }
    if detail:
        conf = matched_confusion(y_true, y_pred, n_classes=n_classes)
        out["per_class_acc"] = [None if np.isnan(v) else float(v) for v in per_class_accuracy(conf)]
        out["confusion"] = conf.matrix.tolist()
        out["confusion_clusters"] = conf.clusters
    return out
