"""Baselines a reviewer asks for, on the same views and samples as the run.

- :func:`kmeans_labels`: k-means (hume/core/kmeans.py: torch, k-means++ init, seeded restarts,
  best inertia kept), so it runs on the run's device; fitted on the searched rows and applied to
  the evaluated rows.
- :func:`linear_probe`: the supervised ceiling, a multinomial logistic regression trained with
  the TRUE labels (standardised features, lbfgs), train split -> test split, or k-fold
  cross-validated predictions when train and test are the same samples (transductive).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hume.core.errors import HumeError
from hume.core.kmeans import KMeans


def concat_normalised(views: list):
    """The concatenation of the L2-normalised views, (N, sum D)."""
    import torch

    from hume.search.views import l2_normalise

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
    import torch

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
