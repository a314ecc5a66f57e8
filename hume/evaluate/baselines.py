"""Baselines a reviewer asks for, on the same views and samples as the run.

- :func:`kmeans` / :class:`KMeans`: k-means in torch (k-means++ init, several seeded restarts,
  best inertia kept), so it runs on the run's device; fitted on the searched rows and applied to
  the evaluated rows.
- :func:`linear_probe`: the supervised ceiling, a multinomial logistic regression trained with
  the TRUE labels (standardised features, lbfgs), train split -> test split, or k-fold
  cross-validated predictions when train and test are the same samples (transductive).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from hume.errors import HumeError

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


def concat_normalised(views: list):
    """The concatenation of the L2-normalised views, (N, sum D)."""
    from hume.search.views import l2_normalise

    torch = _torch()
    return torch.cat([l2_normalise(torch.as_tensor(v, dtype=torch.float32)) for v in views], dim=1)


def subsample(n: int, max_rows: int | None, seed: int) -> np.ndarray | None:
    """Sorted indices of a seeded subsample of ``max_rows`` of ``n`` rows; None if all fit."""
    if max_rows is None or n <= max_rows:
        return None
    return np.sort(np.random.default_rng(seed).choice(n, size=max_rows, replace=False))


def kmeans_labels(
    x_fit,
    x_eval,
    k: int,
    n_init: int = 5,
    seed: int = 0,
    max_fit_rows: int | None = 100_000,
    device: str | None = None,
) -> np.ndarray:
    """Fit k-means on ``x_fit`` (at most ``max_fit_rows`` seeded rows), label ``x_eval`` (M,)."""
    torch = _torch()
    x_fit = torch.as_tensor(x_fit)
    idx = subsample(x_fit.shape[0], max_fit_rows, seed)
    if idx is not None:
        x_fit = x_fit[torch.from_numpy(idx).to(x_fit.device)]
    model = KMeans(k, n_init=n_init, seed=seed, device=device).fit(x_fit)
    return model.predict(x_eval)


@dataclass
class ProbeResult:
    """Predictions of the linear probe on the rows ``rows`` of the evaluated samples."""

    y_pred: np.ndarray
    rows: np.ndarray
    protocol: str


def _probe_model(max_iter: int, seed: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter, random_state=seed))


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float32)


def linear_probe(
    x_train,
    y_train: np.ndarray,
    x_test=None,
    n_folds: int = 5,
    max_iter: int = 200,
    max_rows: int | None = 50_000,
    seed: int = 0,
) -> ProbeResult:
    """Supervised linear probe: logistic regression on standardised features with true labels.

    With ``x_test``: trained on (a seeded subsample of at most ``max_rows`` of) the train rows,
    predicts every test row. Without: stratified ``n_folds``-fold cross-validated predictions
    over (at most ``max_rows`` of) the train rows. ``rows`` says which rows were predicted.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import KFold, StratifiedKFold, cross_val_predict

    x_train, y_train = _to_numpy(x_train), np.asarray(y_train, dtype=np.int64)
    if len(np.unique(y_train)) < 2:
        raise HumeError("the linear probe needs at least two classes among the labelled rows")
    idx = subsample(len(y_train), max_rows, seed)
    xs, ys = (x_train, y_train) if idx is None else (x_train[idx], y_train[idx])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if x_test is not None:
            model = _probe_model(max_iter, seed).fit(xs, ys)
            x_test = _to_numpy(x_test)
            return ProbeResult(
                model.predict(x_test).astype(np.int64), np.arange(len(x_test)), "train -> test"
            )
        smallest = np.bincount(ys)[np.bincount(ys) > 0].min()
        folds = int(min(n_folds, smallest))
        if folds >= 2:
            cv = StratifiedKFold(folds, shuffle=True, random_state=seed)
        else:  # a class with a single sample cannot be stratified
            folds = min(n_folds, len(ys))
            cv = KFold(folds, shuffle=True, random_state=seed)
        pred = cross_val_predict(_probe_model(max_iter, seed), xs, ys, cv=cv)
    rows = np.arange(len(y_train)) if idx is None else idx
    return ProbeResult(pred.astype(np.int64), rows, f"{folds}-fold cross-validation")
