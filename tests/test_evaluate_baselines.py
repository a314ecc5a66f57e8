"""Baselines of the evaluate stage on small made-up data with known answers."""

import numpy as np
import pytest
import torch

from hume.core.errors import HumeError
from hume.evaluate.baselines import (
    KMeans,
    concat_normalised,
    kmeans_fit_predict,
    kmeans_labels,
    linear_probe,
    subsample,
)
from hume.evaluate.metrics import cluster_accuracy
from hume.search.views import l2_normalise


def blobs(n_per: int, k: int, dim: int, spread: float, seed: int):
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 10, (k, dim))
    y = np.repeat(np.arange(k), n_per)
    x = centres[y] + rng.normal(0, spread, (len(y), dim))
    perm = rng.permutation(len(y))
    return x[perm].astype(np.float32), y[perm]


def test_kmeans_recovers_well_separated_blobs():
    x, y = blobs(40, 5, 8, 0.5, seed=1)
    model = KMeans(5, n_init=3, seed=0).fit(x)
    assert cluster_accuracy(y, model.labels_) == 1.0
    assert np.array_equal(model.predict(x), model.labels_)
    assert model.cluster_centers_.shape == (5, 8)


def test_kmeans_inertia_matches_hand_computation_and_restarts_help():
    x, _ = blobs(30, 6, 4, 2.0, seed=2)
    one = KMeans(6, n_init=1, seed=3).fit(x)
    many = KMeans(6, n_init=6, seed=3).fit(x)
    centres = one.cluster_centers_.numpy()
    hand = ((x - centres[one.labels_]) ** 2).sum()
    assert one.inertia_ == pytest.approx(float(hand), rel=1e-4)
    assert many.inertia_ <= one.inertia_ + 1e-3  # restart 0 is the same draw, so never worse


def test_kmeans_is_seeded():
    x, _ = blobs(30, 4, 4, 3.0, seed=4)
    a = KMeans(4, n_init=2, seed=7).fit(x).labels_
    b = KMeans(4, n_init=2, seed=7).fit(x).labels_
    assert np.array_equal(a, b)


def test_kmeans_with_duplicate_points_and_k_equal_n():
    x = np.zeros((5, 3), dtype=np.float32)
    x[:2] = 1.0
    model = KMeans(5, n_init=1).fit(x)  # more clusters than distinct points: no crash
    assert model.labels_.shape == (5,)
    with pytest.raises(HumeError):
        KMeans(6).fit(x)


def test_kmeans_labels_fits_on_one_set_and_labels_another():
    x, y = blobs(50, 3, 6, 0.5, seed=5)
    pred = kmeans_labels(x[:100], x[100:], k=3, n_init=2, max_fit_rows=60)
    assert pred.shape == (50,)
    assert cluster_accuracy(y[100:], pred) == 1.0


def test_concat_of_normalised_views_has_unit_blocks():
    a = torch.randn(10, 3) * 100
    b = torch.randn(10, 5)
    z = concat_normalised([a, b])
    assert z.shape == (10, 8)
    assert torch.allclose(z[:, :3].norm(dim=1), torch.ones(10), atol=1e-5)
    assert torch.allclose(z[:, 3:].norm(dim=1), torch.ones(10), atol=1e-5)
    assert torch.equal(l2_normalise(torch.zeros(2, 3)), torch.zeros(2, 3))


def test_linear_probe_train_test_on_separable_data():
    x, y = blobs(60, 4, 10, 1.0, seed=6)
    res = linear_probe(x[:180], y[:180], x[180:])
    assert res.protocol == "train -> test"
    assert np.mean(res.y_pred == y[180:]) >= 0.98


def test_linear_probe_cross_validation_and_subsample():
    x, y = blobs(30, 3, 6, 1.0, seed=7)
    res = linear_probe(x, y, n_folds=5)
    assert res.protocol == "5-fold cross-validation"
    assert np.mean(res.y_pred == y[res.rows]) >= 0.98
    assert (res.fit_rows, res.of_rows, res.sampled) == (90, 90, False)
    capped = linear_probe(x, y, n_folds=3, max_rows=45)
    # fitted on 45 rows, yet every row is predicted, each by a probe that never saw it
    assert (capped.fit_rows, capped.of_rows, capped.sampled) == (45, 90, True)
    assert np.array_equal(capped.rows, np.arange(90)) and len(capped.y_pred) == 90
    assert capped.protocol.startswith("3-fold cross-validation on the sample")
    assert np.mean(capped.y_pred == y) >= 0.95


def test_linear_probe_leaves_unlabelled_rows_out_and_predicts_in_chunks():
    x, y = blobs(40, 3, 6, 1.0, seed=9)
    y = y.copy()
    y[::7] = -1  # unknown: never fitted, never predicted by the cross-validation
    whole = linear_probe(x, y, n_folds=3, max_rows=50, chunk_rows=10_000)
    assert np.array_equal(whole.rows, np.flatnonzero(y >= 0))
    assert (whole.fit_rows, whole.of_rows) == (50, int((y >= 0).sum()))
    chunked = linear_probe(x, y, n_folds=3, max_rows=50, chunk_rows=7)
    assert np.array_equal(chunked.y_pred, whole.y_pred)
    test = linear_probe(x[:90], y[:90], x[90:], max_rows=30, chunk_rows=4)
    one_shot = linear_probe(x[:90], y[:90], x[90:], max_rows=30, chunk_rows=1000)
    assert np.array_equal(test.y_pred, one_shot.y_pred) and len(test.y_pred) == 30
    assert (test.fit_rows, test.of_rows) == (30, int((y[:90] >= 0).sum()))


def test_kmeans_predicts_every_row_in_chunks_on_a_sample_fit():
    x, _ = blobs(50, 3, 6, 0.5, seed=10)
    views = [torch.as_tensor(x[:, :3]), torch.as_tensor(x[:, 3:])]
    one = kmeans_fit_predict(views, views, 3, n_init=2, max_fit_rows=40, chunk_rows=1000)
    chunked = kmeans_fit_predict(views, views, 3, n_init=2, max_fit_rows=40, chunk_rows=16)
    assert (one.fit_rows, one.of_rows) == (40, 150) and one.labels.shape == (150,)
    assert np.array_equal(one.labels, chunked.labels)
    # a list of views is their L2-normalised concatenation
    z = concat_normalised(views)
    assert np.array_equal(one.labels, kmeans_fit_predict(z, z, 3, n_init=2, max_fit_rows=40).labels)


def test_linear_probe_is_at_chance_on_random_labels():
    rng = np.random.default_rng(8)
    x = rng.normal(size=(300, 5)).astype(np.float32)
    y = rng.integers(0, 3, 300)
    res = linear_probe(x, y, n_folds=5)
    assert np.mean(res.y_pred == y) < 0.5


def test_linear_probe_needs_two_classes():
    with pytest.raises(HumeError):
        linear_probe(np.zeros((4, 2)), np.zeros(4, dtype=int))


def test_subsample_is_seeded_and_sorted():
    assert subsample(10, None, 0) is None and subsample(10, 20, 0) is None
    a, b = subsample(100, 10, 3), subsample(100, 10, 3)
    assert np.array_equal(a, b) and np.all(np.diff(a) > 0) and len(a) == 10
