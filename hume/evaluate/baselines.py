"""Baselines a reviewer asks for, on the same views and samples as the run.

- :func:`kmeans_labels`: k-means (hume/core/kmeans.py: torch, k-means++ init, seeded restarts,
  best inertia kept), so it runs on the run's device; fitted on a seeded sample of at most
  :func:`kmeans_fit_rows` (100 rows per class, from 20 000 to 100 000) of the searched rows and
  applied to every evaluated row, chunk by chunk.
- :func:`linear_probe`: the supervised ceiling, a multinomial logistic regression trained with
  the TRUE labels (standardised features, lbfgs) on a seeded sample of at most
  :data:`PROBE_MAX_FIT_ROWS` labelled rows: train split -> every test row, or, when train and
  test are the same rows (transductive), k-fold cross-validated predictions on the sample and the
  probe fitted on the whole sample for the other rows, so that every labelled row is predicted by
  a probe that never saw it.

Each bound caps what grows with N (a fit's rows; one chunk of predictions in memory), so the cost
of a baseline is the same at 10 000 and at 1.28 M rows, apart from predicting every row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hume.core.errors import HumeError
from hume.core.kmeans import KMeans
from hume.core.row_sampling import sample_rows

#: Most rows k-means is fitted on (a seeded sample beyond), whatever K: its fit (restarts ×
#: iterations × rows × K × D) no longer grows with N. At K = 1 000 that is 100 rows per class.
KMEANS_MAX_FIT_ROWS = 100_000
#: Rows per class k-means is fitted on, from KMEANS_MIN_FIT_ROWS up to KMEANS_MAX_FIT_ROWS: a
#: 100 000-row fit took three quarters of `hume evaluate` at N = 100 000, K = 10, where a
#: 20 000-row fit scored the same (ACC 85.4 against 85.2 on a planted view).
KMEANS_ROWS_PER_CLASS = 100
#: Fewest rows k-means is fitted on when N has them, however small K is.
KMEANS_MIN_FIT_ROWS = 20_000
#: Most labelled rows the linear probe is fitted on (a seeded sample beyond): 2 000 rows per class
#: at K = 10, 20 at K = 1 000; lbfgs then costs the same at any N (cross-validated: 5 folds and one
#: fit on the whole sample), and only predicting the other rows, chunk by chunk, grows with N.
PROBE_MAX_FIT_ROWS = 20_000
#: Rows predicted at once (k-means labels, probe predictions): bounds the temporary copies (the
#: chunk's features in float64, its K scores) whatever N is.
PREDICT_CHUNK_ROWS = 8_192


def concat_normalised(views: Sequence[Any]):
    """The concatenation of the L2-normalised views, (N, sum D)."""
    import torch

    from hume.search.views import l2_normalise

    return torch.cat([l2_normalise(torch.as_tensor(v, dtype=torch.float32)) for v in views], dim=1)


def subsample(n: int, max_rows: int | None, seed: int) -> np.ndarray | None:
    """Sorted indices of a seeded subsample of ``max_rows`` of ``n`` rows; None if all fit
    (the ``baselines`` stream of :func:`hume.core.row_sampling.sample_rows`)."""
    return sample_rows(n, max_rows, seed, "baselines")


def kmeans_fit_rows(k: int) -> int:
    """Most rows k-means with ``k`` clusters is fitted on: :data:`KMEANS_ROWS_PER_CLASS` per
    class, within [:data:`KMEANS_MIN_FIT_ROWS`, :data:`KMEANS_MAX_FIT_ROWS`]."""
    return min(KMEANS_MAX_FIT_ROWS, max(KMEANS_MIN_FIT_ROWS, KMEANS_ROWS_PER_CLASS * int(k)))


def _n_rows(x: Any) -> int:
    return int((x[0] if isinstance(x, list) else x).shape[0])


def _take(x: Any, rows: slice | np.ndarray):
    """Rows ``rows`` of ``x`` as a float32 tensor: of an (N, D) view, or, when ``x`` is a list
    of views, of their L2-normalised concatenation (made for those rows only)."""
    import torch

    if isinstance(x, list):
        return concat_normalised([_take(v, rows) for v in x])
    t = torch.as_tensor(x)
    if isinstance(rows, np.ndarray):
        rows = torch.from_numpy(rows).to(t.device)
    return t[rows].to(torch.float32)


def _chunks(n: int, chunk_rows: int):
    for start in range(0, n, chunk_rows):
        yield slice(start, min(start + chunk_rows, n))


@dataclass
class KMeansResult:
    """k-means labels of every evaluated row, fitted on ``fit_rows`` of ``of_rows`` rows."""

    labels: np.ndarray
    fit_rows: int
    of_rows: int


def kmeans_fit_predict(
    x_fit,
    x_eval,
    k: int,
    n_init: int = 5,
    seed: int = 0,
    max_fit_rows: int | None = None,
    device: str | None = None,
    chunk_rows: int | None = None,
) -> KMeansResult:
    """Fit k-means on ``x_fit`` (at most ``max_fit_rows`` seeded rows, default
    :func:`kmeans_fit_rows`), label every row of ``x_eval`` (M,), :data:`PREDICT_CHUNK_ROWS` at a
    time.

    ``x_fit``/``x_eval``: an (N, D) tensor or array, or a list of views (N, D_i), then taken as
    their L2-normalised concatenation, made chunk by chunk (never for every row at once).
    """
    max_fit_rows = kmeans_fit_rows(k) if max_fit_rows is None else max_fit_rows
    chunk_rows = PREDICT_CHUNK_ROWS if chunk_rows is None else chunk_rows
    n_fit = _n_rows(x_fit)
    idx = subsample(n_fit, max_fit_rows, seed)
    sample = _take(x_fit, slice(None) if idx is None else idx)
    model = KMeans(k, n_init=n_init, seed=seed, device=device).fit(sample)
    del sample
    n_eval = _n_rows(x_eval)
    parts = [model.predict(_take(x_eval, rows)) for rows in _chunks(n_eval, chunk_rows)]
    labels = np.concatenate(parts) if parts else np.empty(0, np.int64)
    return KMeansResult(labels, n_fit if idx is None else len(idx), n_fit)


def kmeans_labels(x_fit, x_eval, k: int, **options: Any) -> np.ndarray:
    """:func:`kmeans_fit_predict`'s labels of ``x_eval`` (M,), with the same ``options``."""
    return kmeans_fit_predict(x_fit, x_eval, k, **options).labels


@dataclass
class ProbeResult:
    """Predictions ``y_pred`` of the linear probe on the rows ``rows`` (of the test rows, or of
    the train rows when cross-validated); it was fitted on ``fit_rows`` of ``of_rows`` labelled
    rows (the rest left out by the bound)."""

    y_pred: np.ndarray
    rows: np.ndarray
    protocol: str
    fit_rows: int = 0
    of_rows: int = 0

    @property
    def sampled(self) -> bool:
        return self.fit_rows < self.of_rows


def _probe_model(max_iter: int, seed: int):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), LogisticRegression(max_iter=max_iter, random_state=seed))


def _to_numpy(x) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().float().cpu().numpy()
    return np.asarray(x, dtype=np.float32)


def _predict_rows(model, x, rows: np.ndarray, chunk_rows: int) -> np.ndarray:
    """``model``'s predictions of the rows ``rows`` of ``x``, ``chunk_rows`` at a time."""
    out = np.empty(len(rows), np.int64)
    for part in _chunks(len(rows), chunk_rows):
        out[part] = model.predict(_to_numpy(_take(x, rows[part])))
    return out


def linear_probe(
    x_train,
    y_train: np.ndarray,
    x_test=None,
    n_folds: int = 5,
    max_iter: int = 200,
    max_rows: int | None = None,
    seed: int = 0,
    chunk_rows: int | None = None,
) -> ProbeResult:
    """Supervised linear probe: logistic regression on standardised features with true labels.

    ``x_train`` (N, D) with ``y_train`` (N,), −1 where unknown (such rows are never used); a
    seeded sample of at most ``max_rows`` (default :data:`PROBE_MAX_FIT_ROWS`) labelled rows is
    fitted. With ``x_test`` (M, D): predicts every test row. Without: stratified
    ``n_folds``-fold cross-validated predictions over the sample, and the other labelled rows
    predicted by the probe fitted on the whole sample. ``rows`` says which rows were predicted;
    predictions are made ``chunk_rows`` at a time, so memory holds the sample and one chunk.
    """
    import warnings

    from sklearn.exceptions import ConvergenceWarning
    from sklearn.model_selection import KFold, StratifiedKFold

    max_rows = PROBE_MAX_FIT_ROWS if max_rows is None else max_rows
    chunk_rows = PREDICT_CHUNK_ROWS if chunk_rows is None else chunk_rows
    y_train = np.asarray(y_train, dtype=np.int64)
    labelled = np.flatnonzero(y_train >= 0)
    if len(np.unique(y_train[labelled])) < 2:
        raise HumeError("the linear probe needs at least two classes among the labelled rows")
    idx = subsample(len(labelled), max_rows, seed)
    fit_idx = labelled if idx is None else labelled[idx]
    xs, ys = _to_numpy(_take(x_train, fit_idx)), y_train[fit_idx]
    sizes = (len(fit_idx), len(labelled))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        if x_test is not None:
            model = _probe_model(max_iter, seed).fit(xs, ys)
            rows = np.arange(_n_rows(x_test))
            pred = _predict_rows(model, x_test, rows, chunk_rows)
            return ProbeResult(pred, rows, "train -> test", *sizes)
        counts = np.bincount(ys)
        folds = int(min(n_folds, counts[counts > 0].min()))
        if folds >= 2:
            cv: Any = StratifiedKFold(folds, shuffle=True, random_state=seed)
        else:  # a class with a single sample cannot be stratified
            folds = min(n_folds, len(ys))
            cv = KFold(folds, shuffle=True, random_state=seed)
        pred = np.empty(len(labelled), np.int64)
        cross = np.empty(len(ys), np.int64)
        for train, test in cv.split(xs, ys):
            cross[test] = _probe_model(max_iter, seed).fit(xs[train], ys[train]).predict(xs[test])
        protocol = f"{folds}-fold cross-validation"
        if idx is None:
            pred = cross
        else:
            in_sample = np.zeros(len(labelled), bool)
            in_sample[idx] = True
            pred[in_sample] = cross
            model = _probe_model(max_iter, seed).fit(xs, ys)
            del xs
            pred[~in_sample] = _predict_rows(model, x_train, labelled[~in_sample], chunk_rows)
            protocol += " on the sample, the probe fitted on it for the other rows"
    return ProbeResult(pred, labelled, protocol, *sizes)
