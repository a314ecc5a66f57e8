"""Metrics of the evaluate stage: hand-computed cases and agreement with scikit-learn."""

import numpy as np
import pytest
from sklearn.metrics import adjusted_rand_score, normalized_mutual_info_score

from hume.core.errors import HumeError
from hume.evaluate.metrics import (
    adjusted_rand_index,
    cluster_accuracy,
    contingency,
    matched_confusion,
    n_nonempty_clusters,
    normalized_mutual_info,
    per_class_accuracy,
    score_labeling,
)


def test_acc_is_invariant_to_a_permutation_of_cluster_ids():
    y = np.array([0, 0, 1, 1, 2, 2])
    assert cluster_accuracy(y, np.array([2, 2, 0, 0, 1, 1])) == 1.0


def test_acc_hand_computed():
    y_true = np.array([0, 0, 0, 1, 1, 1])
    y_pred = np.array([1, 1, 0, 0, 0, 0])
    # best matching: cluster 1 -> class 0 (2 right), cluster 0 -> class 1 (3 right) = 5/6
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(5 / 6)


def test_acc_more_clusters_than_classes_counts_unmatched_clusters_as_errors():
    y_true = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    y_pred = np.array([0, 0, 2, 2, 1, 1, 1, 3])
    # matched: 0->0 (2) and 1->1 (3); clusters 2 and 3 stay unmatched: 5/8
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(5 / 8)


def test_acc_fewer_clusters_than_classes_and_sparse_ids():
    y_true = np.array([0, 0, 1, 1, 2, 2])
    y_pred = np.array([7, 7, 7, 7, 3, 3])  # ids 0-2 and 4-6 are empty clusters
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(4 / 6)
    assert n_nonempty_clusters(y_pred) == 2


def test_contingency_counts():
    table = contingency(np.array([0, 1, 1, 2]), np.array([1, 1, 0, 0]), n_clusters=3)
    assert table.tolist() == [[0, 1, 0], [1, 1, 0], [1, 0, 0]]


def test_ari_and_nmi_hand_computed():
    y_true = np.array([0, 0, 1, 1])
    y_pred = np.array([0, 0, 0, 1])
    # contingency [[2,0],[1,1]]: index 1, a = 2, b = 3, expected = 6/6 = 1, max = 2.5 -> 0
    assert adjusted_rand_index(y_true, y_pred) == pytest.approx(0.0)
    h_true = np.log(2)
    h_pred = -(0.75 * np.log(0.75) + 0.25 * np.log(0.25))
    mi = (
        0.5 * np.log(0.5 / (0.5 * 0.75))
        + 0.25 * np.log(0.25 / (0.5 * 0.75))
        + 0.25 * np.log(0.25 / (0.5 * 0.25))
    )
    assert normalized_mutual_info(y_true, y_pred) == pytest.approx(mi / np.sqrt(h_true * h_pred))


def test_identical_and_trivial_labelings():
    y = np.array([0, 1, 2, 0])
    assert adjusted_rand_index(y, y) == pytest.approx(1.0)
    assert normalized_mutual_info(y, y) == pytest.approx(1.0)
    one = np.zeros(5, dtype=int)
    assert adjusted_rand_index(one, one) == 1.0
    assert normalized_mutual_info(one, one) == 1.0
    assert normalized_mutual_info(np.array([0, 0, 1, 1]), np.zeros(4, dtype=int)) == 0.0


@pytest.mark.parametrize("k_true,k_pred,n", [(3, 3, 50), (5, 8, 200), (10, 4, 300), (2, 20, 40)])
def test_ari_nmi_agree_with_sklearn(k_true, k_pred, n):
    rng = np.random.default_rng(k_true * 100 + k_pred)
    y_true = rng.integers(0, k_true, n)
    # partly informative prediction so the scores are neither 0 nor 1
    y_pred = np.where(rng.random(n) < 0.6, y_true % k_pred, rng.integers(0, k_pred, n))
    assert adjusted_rand_index(y_true, y_pred) == pytest.approx(adjusted_rand_score(y_true, y_pred))
    assert normalized_mutual_info(y_true, y_pred) == pytest.approx(
        normalized_mutual_info_score(y_true, y_pred, average_method="geometric")
    )


def test_acc_agrees_with_brute_force_over_permutations():
    from itertools import permutations

    rng = np.random.default_rng(0)
    y_true = rng.integers(0, 4, 60)
    y_pred = rng.integers(0, 4, 60)
    brute = max(np.mean(np.array(p)[y_pred] == y_true) for p in permutations(range(4)))
    assert cluster_accuracy(y_true, y_pred) == pytest.approx(brute)


def test_matched_confusion_puts_matches_on_the_diagonal_and_keeps_extra_clusters():
    y_true = np.array([0, 0, 0, 1, 1, 2, 2])
    y_pred = np.array([5, 5, 1, 3, 3, 3, 9])
    conf = matched_confusion(y_true, y_pred)
    m = conf.matrix
    assert m.shape[0] == 3 and m.sum() == 7
    # each class's diagonal entry is its matched cluster's overlap
    assert conf.clusters[0] == 5 and m[0, 0] == 2
    assert conf.clusters[1] == 3 and m[1, 1] == 2
    assert conf.clusters[2] == 9 and m[2, 2] == 1
    assert conf.clusters[3:] == [1]  # unmatched non-empty cluster appended
    assert np.diag(m[:, :3]).sum() / 7 == pytest.approx(cluster_accuracy(y_true, y_pred))
    acc = per_class_accuracy(conf)
    assert acc == pytest.approx([2 / 3, 1.0, 0.5])


def test_matched_confusion_class_without_cluster_and_empty_class():
    y_true = np.array([0, 0, 1, 1, 3])
    y_pred = np.array([0, 0, 0, 0, 0])
    conf = matched_confusion(y_true, y_pred, n_classes=4)
    assert conf.matrix.shape == (4, 4)
    assert conf.clusters.count(-1) == 3
    acc = per_class_accuracy(conf)
    assert np.isnan(acc[2])  # class 2 has no samples
    assert sorted(np.nan_to_num(acc, nan=-1).tolist()) == [-1.0, 0.0, 0.0, 1.0]


def test_score_labeling_is_json_ready():
    import json

    out = score_labeling(np.array([0, 0, 1, 1]), np.array([1, 1, 0, 2]), n_classes=3)
    json.dumps(out)
    assert out["acc"] == pytest.approx(0.75)
    assert out["n_clusters"] == 3
    assert out["per_class_acc"][2] is None
    assert 0 <= out["ari"] <= 1 and 0 <= out["nmi"] <= 1


def test_bad_inputs_raise():
    with pytest.raises(HumeError):
        cluster_accuracy(np.array([0, -1]), np.array([0, 1]))
    with pytest.raises(HumeError):
        cluster_accuracy(np.array([0, 1]), np.array([0, 1, 1]))
    with pytest.raises(HumeError):
        cluster_accuracy(np.array([0.5, 1]), np.array([0, 1]))
