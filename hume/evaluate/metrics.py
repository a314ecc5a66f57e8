"""Clustering metrics against ground truth: ACC (Hungarian), ARI, NMI, per-class accuracy
(the comparison of two labelings itself is :mod:`hume.core.labelings`).

Every function takes ``y_true`` (N,) non-negative integer class labels and ``y_pred`` (N,)
non-negative integer cluster ids. Cluster ids need not be contiguous (empty clusters are
fine) and the number of clusters may differ from the number of classes. All metrics are
computed from one contingency table, so they cost O(N + K_true·K_pred) and scale to ImageNet.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hume.core.labelings import (
    adjusted_rand_index,
    check_labelings,
    contingency,
    match_clusters,
)


def cluster_accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Clustering accuracy: fraction of samples right under the best one-to-one matching."""
    table = contingency(y_true, y_pred)
    mapping = match_clusters(table)
    return float(sum(table[c, j] for j, c in mapping.items()) / table.sum())


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
