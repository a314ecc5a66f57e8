"""k-means in torch (k-means++ seeding, several seeded restarts, best inertia kept), on the
device of its data: the k-means baseline of ``hume evaluate`` and the last step of the cut
consensus of ``hume search`` (hume/search/selection/consensus.py)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hume.core.errors import HumeError

# rows x clusters of one distance block: bounds memory whatever N and K are
_BLOCK_ELEMS = 1 << 24


def _torch():
    import torch

    return torch


def _sq_dists(x, c, c_sq):
    """Squared Euclidean distances (n, k) of rows of ``x`` to centroids ``c``."""
    d = (x * x).sum(1, keepdim=True) - 2.0 * (x @ c.T) + c_sq[None, :]
    return d.clamp_min_(0.0)


def _assign(x, c):
    """Nearest centroid of every row, and the squared distance to it, block by block."""
    torch = _torch()
    c_sq = (c * c).sum(1)
    step = max(1, _BLOCK_ELEMS // max(1, c.shape[0]))
    labels = torch.empty(x.shape[0], dtype=torch.long, device=x.device)
    dist = torch.empty(x.shape[0], dtype=x.dtype, device=x.device)
    for s in range(0, x.shape[0], step):
        d = _sq_dists(x[s : s + step], c, c_sq)
        dist[s : s + step], labels[s : s + step] = d.min(dim=1)
    return labels, dist


def _kmeans_pp(x, k: int, gen):
    """k-means++ seeding: each new centroid drawn with probability ∝ squared distance."""
    torch = _torch()
    n = x.shape[0]
    first = torch.randint(n, (1,), generator=gen, device=x.device)
    centroids = [x[first[0]]]
    best = _sq_dists(x, x[first], (x[first] ** 2).sum(1)).squeeze(1)
    for _ in range(1, k):
        total = best.sum()
        if total <= 0:  # fewer distinct points than k: pick uniformly
            idx = torch.randint(n, (1,), generator=gen, device=x.device)
        else:
            idx = torch.multinomial(best / total, 1, generator=gen)
        c = x[idx]
        centroids.append(c[0])
        best = torch.minimum(best, _sq_dists(x, c, (c * c).sum(1)).squeeze(1))
    return torch.stack(centroids)


def _lloyd(x, c, max_iter: int, tol: float):
    torch = _torch()
    k = c.shape[0]
    labels = None
    for _ in range(max_iter):
        new_labels, dist = _assign(x, c)
        counts = torch.bincount(new_labels, minlength=k)
        sums = torch.zeros_like(c).index_add_(0, new_labels, x)
        c_new = sums / counts.clamp_min(1)[:, None].to(x.dtype)
        empty = torch.nonzero(counts == 0).flatten()
        if empty.numel():  # an empty cluster restarts at the points worst served so far
            far = torch.topk(dist, min(empty.numel(), x.shape[0])).indices
            c_new[empty[: far.numel()]] = x[far]
        shift = ((c_new - c) ** 2).sum()
        c = c_new
        if labels is not None and torch.equal(new_labels, labels) and shift <= tol:
            break
        labels = new_labels
    labels, dist = _assign(x, c)
    return c, labels, float(dist.sum())


@dataclass
class KMeans:
    """k-means with k-means++ seeding and ``n_init`` seeded restarts (best inertia kept).

    ``fit(x)`` takes an (N, D) tensor or array; ``predict(x)`` returns (M,) int64 cluster ids
    as a NumPy array. Computation runs on ``device`` (default: where ``x`` lives).
    """

    n_clusters: int
    n_init: int = 5
    max_iter: int = 100
    tol: float = 1e-6
    seed: int = 0
    device: str | None = None

    def _as_tensor(self, x):
        torch = _torch()
        t = torch.as_tensor(x)
        if self.device is not None:
            t = t.to(self.device)
        return t.to(torch.float32)

    def fit(self, x) -> KMeans:
        torch = _torch()
        x = self._as_tensor(x)
        if x.ndim != 2 or x.shape[0] < 1:
            raise HumeError(f"k-means needs an (N, D) array with N ≥ 1, got shape {tuple(x.shape)}")
        if not 1 <= self.n_clusters <= x.shape[0]:
            raise HumeError(f"k-means needs 1 ≤ K ≤ N, got K={self.n_clusters} with N={x.shape[0]}")
        # tol is relative to the data's scale, as the inertia is
        tol = self.tol * float(x.var(dim=0).sum()) if x.shape[0] > 1 else 0.0
        best: tuple[Any, Any, float] | None = None
        for r in range(self.n_init):
            gen = torch.Generator(device=x.device)
            gen.manual_seed(self.seed * 1000 + r)
            c0 = _kmeans_pp(x, self.n_clusters, gen)
            c, labels, inertia = _lloyd(x, c0, self.max_iter, tol)
            if best is None or inertia < best[2]:
                best = (c, labels, inertia)
        assert best is not None  # n_init ≥ 1
        self.cluster_centers_, labels, self.inertia_ = best
        self.labels_ = labels.cpu().numpy()
        return self

    def predict(self, x) -> np.ndarray:
        if not hasattr(self, "cluster_centers_"):
            raise HumeError("KMeans.predict called before fit")
        x = self._as_tensor(x).to(self.cluster_centers_.device)
        return _assign(x, self.cluster_centers_)[0].cpu().numpy()
