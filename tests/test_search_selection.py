"""Label-free selection and ensembling (hume/search/selection/label_free_score.py)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch

from hume.core.errors import HumeError
from hume.search.selection.ensembling import ensemble, match_labelings, overlap_counts
from hume.search.selection.label_free_score import fold_ids, label_free_scores


def _problem(n=300, d=5, k=3, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, d)) * rng.uniform(0.1, 10, size=d) + rng.normal(size=d) * 5
    planted = (x / x.std(0) @ rng.normal(size=(d, k))).argmax(1)
    noisy = np.where(rng.random(n) < 0.3, rng.integers(0, k, n), planted)
    random = rng.integers(0, k, n)
    return x, planted, noisy, random


def _sklearn_cv(x, y, folds):
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_score
    from sklearn.preprocessing import StandardScaler

    xs = StandardScaler().fit_transform(x)
    cv = [(np.flatnonzero(folds != f), np.flatnonzero(folds == f)) for f in range(folds.max() + 1)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # non-convergence on separable folds is expected
        return cross_val_score(LogisticRegression(C=np.inf, max_iter=100), xs, y, cv=cv).mean()


def test_fold_ids_are_balanced_and_seeded():
    f = fold_ids(103, 10, seed=1)
    counts = torch.bincount(f, minlength=10)
    assert counts.min() >= 10 and counts.max() <= 11
    assert torch.equal(f, fold_ids(103, 10, seed=1))
    assert not torch.equal(f, fold_ids(103, 10, seed=2))


def test_scores_agree_with_sklearn_cross_validation():
    x, planted, noisy, random = _problem()
    labs = torch.tensor(np.stack([planted, noisy, random]))
    ours = label_free_scores([torch.tensor(x, dtype=torch.float32)], labs, k=3, seed=5)
    folds = fold_ids(len(x), 10, seed=5).numpy()
    ref = [_sklearn_cv(x, y, folds) for y in (planted, noisy, random)]
    assert np.allclose(ours.numpy(), ref, atol=0.02), (ours, ref)
    # Ranks the planted (linearly predictable) labeling above the noisy one above a random one.
    assert ours[0] > ours[1] > ours[2]
    assert ours[0] > 0.9 and ours[2] < 0.55


def test_empty_and_rare_classes_agree_with_sklearn():
    x, planted, _, _ = _problem(n=200, k=3, seed=1)
    y = planted.copy()
    y[:3] = 4  # class 4 has 3 members (fewer than folds); class 3 is empty with k=5
    ours = label_free_scores(torch.tensor(x), torch.tensor(y)[None], k=5, seed=0)
    assert ours.dtype == torch.float64 and torch.isfinite(ours).all()
    ref = _sklearn_cv(x, y, fold_ids(len(x), 10, seed=0).numpy())
    assert abs(float(ours[0]) - ref) <= 0.02


def test_scores_are_deterministic_and_average_views():
    x, planted, noisy, random = _problem(n=200, seed=2)
    labs = torch.tensor(np.stack([planted, random]))
    v1 = torch.tensor(x, dtype=torch.float32)
    v2 = torch.tensor(np.random.default_rng(9).normal(size=(200, 4)), dtype=torch.float32)
    a = label_free_scores([v1, v2], labs, k=3, seed=7)
    b = label_free_scores([v1, v2], labs, k=3, seed=7)
    assert torch.equal(a, b)
    single = (label_free_scores(v1, labs, 3, seed=7) + label_free_scores(v2, labs, 3, seed=7)) / 2
    assert torch.allclose(a, single)
    # Chunking the seeds (a small memory bound) gives the same scores.
    small = label_free_scores([v1, v2], labs, k=3, seed=7, max_elements=1)
    assert torch.allclose(a, small, atol=1e-6)


@pytest.mark.parametrize(
    "views, labs, k, match",
    [
        (
            [torch.zeros(10, 2), torch.zeros(9, 2)],
            torch.zeros(1, 10, dtype=torch.long),
            2,
            "row counts",
        ),
        ([torch.full((10, 2), float("nan"))], torch.zeros(1, 10, dtype=torch.long), 2, "NaN"),
        ([torch.zeros(10, 2)], torch.full((1, 10), 3, dtype=torch.long), 2, r"\[0, 1\]"),
        ([torch.zeros(10, 2)], torch.zeros(1, 8, dtype=torch.long), 2, "rows"),
        ([torch.zeros(10, 2)], torch.zeros(1, 10), 2, "integer"),
    ],
)
def test_bad_input_raises_hume_error(views, labs, k, match):
    with pytest.raises(HumeError, match=match):
        label_free_scores(views, labs, k)


def test_match_recovers_permuted_copies():
    g = torch.Generator().manual_seed(0)
    k, n = 6, 500
    ref = torch.randint(0, k, (n,), generator=g)
    perms_true = torch.stack([torch.randperm(k, generator=g) for _ in range(5)])
    # Seed s names reference class r as perms_true[s, r].
    labs = perms_true[:, ref]
    # A little disagreement must not change the matching.
    labs[:, :20] = torch.randint(0, k, (5, 20), generator=g)
    perms = match_labelings(labs, ref, k)
    for s in range(5):
        assert torch.equal(perms[s][perms_true[s]], torch.arange(k))
    exact = match_labelings(perms_true[:, ref], ref, k)
    assert torch.equal(torch.gather(exact, 1, perms_true[:, ref]), ref.expand(5, n))
    c = overlap_counts(labs, ref, k)
    assert c.shape == (5, k, k) and int(c.sum()) == 5 * n


def test_ensemble_majority_vote_and_tie_break():
    # Reference (seed 1, best score) and seeds in permuted numberings; the vote is in the
    # reference's numbering.
    ref = torch.tensor([0, 0, 1, 1, 2, 2])
    swap = torch.tensor([1, 0, 2])  # seed-side names of reference classes
    a = ref.clone()
    a[0] = 1  # disagrees on row 0
    b = swap[ref]
    b[0] = swap[2]  # disagrees on row 0 differently: row 0 is a three-way tie
    c = ref.clone()
    c[5] = 0  # disagrees on row 5 only
    labs = torch.stack([a, ref, b, c])
    labels, reference, perms = ensemble(labs, torch.tensor([0.5, 0.9, 0.3, 0.1]), k=3)
    assert reference == 1
    assert torch.equal(perms[2], torch.tensor([1, 0, 2]))
    assert torch.equal(perms[1], torch.arange(3))
    # Row 0 votes {1, 0, 2, 0}: majority 0. Row 5 votes {2, 2, 2, 0}: majority 2.
    assert torch.equal(labels, ref)
    # Two seeds, disagreeing on row 0: the tie goes to the reference (now seed 0).
    labels2, reference2, _ = ensemble(torch.stack([ref, a]), torch.tensor([0.8, 0.2]), k=3)
    assert reference2 == 0 and torch.equal(labels2, ref)
    labels3, reference3, _ = ensemble(torch.stack([ref, a]), torch.tensor([0.2, 0.8]), k=3)
    assert reference3 == 1 and torch.equal(labels3, a)


def test_ensemble_rejects_bad_scores():
    labs = torch.zeros(2, 4, dtype=torch.long)
    with pytest.raises(HumeError):
        ensemble(labs, torch.tensor([0.1]), k=2)
    with pytest.raises(HumeError):
        ensemble(labs, torch.tensor([0.1, float("nan")]), k=2)


def test_balanced_score_weighs_classes_equally_and_comes_from_the_same_fits():
    x, y, _, _ = _problem(n=300, k=3)
    x = torch.as_tensor(x, dtype=torch.float32)
    lab = torch.as_tensor(np.stack([y, np.where(y == 2, 1, y)]))  # the second leaves class 2 empty
    both = label_free_scores(x, lab, 3, both=True)
    assert both.shape == (2, 2)
    assert torch.equal(both[:, 0], label_free_scores(x, lab, 3))
    assert torch.equal(both[:, 1], label_free_scores(x, lab, 3, balanced=True))
    # an empty class counts 0 in the balanced score (at most 2 of 3 classes), not in the score
    assert both[1, 1] <= 2 / 3 + 1e-6 < both[1, 0]


def test_a_bounded_sample_scores_those_rows_and_keeps_every_row_when_it_fits():
    from hume.search.selection.label_free_score import sample_rows

    x, planted, noisy, random = _problem(n=400)
    views = [torch.tensor(x, dtype=torch.float32)]
    labs = torch.tensor(np.stack([planted, noisy, random]))
    full = label_free_scores(views, labs, 3, seed=2, both=True)
    assert torch.equal(label_free_scores(views, labs, 3, seed=2, both=True, max_rows=400), full)
    rows = sample_rows(400, 150, seed=2)
    assert rows is not None and len(rows) == 150 and torch.equal(rows, rows.sort().values)
    sampled = label_free_scores(views, labs, 3, seed=2, both=True, max_rows=150)
    by_hand = label_free_scores([views[0][rows]], labs[:, rows], 3, seed=2, both=True)
    assert torch.allclose(sampled, by_hand, atol=1e-6)
    assert not torch.equal(sampled, full)
    assert sampled[0, 0] > sampled[1, 0] > sampled[2, 0]  # the same ranking from 150 rows
    with pytest.raises(HumeError, match="max_rows"):
        label_free_scores(views, labs, 3, max_rows=5)


def test_a_class_the_sample_misses_does_not_count_but_an_empty_one_counts_zero():
    from hume.search.selection.label_free_score import sample_rows

    x, planted, _, _ = _problem(n=400, k=3, seed=0)
    assert (np.bincount(planted, minlength=3) > 0).all()
    rows = sample_rows(400, 200, seed=0)
    assert rows is not None
    left_out = np.setdiff1d(np.arange(400), rows.numpy())
    rare = planted.copy()
    rare[left_out[:2]] = 3  # class 3: two rows, both outside the sample
    views = [torch.tensor(x, dtype=torch.float32)]
    on_sample = label_free_scores(views, torch.tensor(planted)[None], 3, both=True, max_rows=200)
    # K = 4: the rare class is missed by the sample (not counted); K = 5: class 4 is empty (0)
    four = label_free_scores(views, torch.tensor(rare)[None], 4, both=True, max_rows=200)
    five = label_free_scores(views, torch.tensor(rare)[None], 5, both=True, max_rows=200)
    assert torch.allclose(four[0, 1], on_sample[0, 1], atol=1e-6)
    assert torch.allclose(five[0, 1], on_sample[0, 1] * 4 / 5, atol=1e-6)


def test_the_sample_rule_of_the_settings():
    from hume.search.estimators.hume_method.hume_config import HumeConfig
    from hume.search.estimators.turtle_method.turtle_config import TurtleConfig

    cfg = HumeConfig.preset()
    assert cfg.score_sample(5_000, 10) is None  # every row fits the bound
    assert cfg.score_sample(100_000, 10) == cfg.score_rows
    assert cfg.score_sample(10**6, 1000) == cfg.score_rows_per_class * 1000
    for paper in (
        HumeConfig.preset("paper"),
        HumeConfig.preset("large-k"),
        TurtleConfig.preset("paper"),
    ):
        assert paper.score_sample(10**6, 1000) is None  # the papers score on every row
    with pytest.raises(HumeError, match="score rows"):
        HumeConfig.resolve(score_rows=10)
