"""The ensemble's reference: the best seed (the papers' vote) or a consensus of every seed's
co-association (cut, linkage); the library functions and the command's --ensemble."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch
from helpers import assert_one_line_error
from test_search_choice import planted, run_labels, search, stores

from hume.core.errors import HumeError
from hume.evaluate.metrics import adjusted_rand_index, cluster_accuracy
from hume.search import HUME, TURTLE
from hume.search.selection import consensus as consensus_module
from hume.search.selection.consensus import consensus, cut_consensus, linkage_consensus
from hume.search.selection.ensembling import ensemble, vote

pytestmark = pytest.mark.usefixtures("one_thread")
SIZES = (200, 100, 50, 30, 20)


def truth(sizes=SIZES):
    return np.repeat(np.arange(len(sizes)), sizes)


def noisy_seed(y, rng, k, noise=0.03):
    """``y`` under a random renumbering of its classes, with a share ``noise`` of rows moved."""
    lab = y.copy()
    moved = rng.random(len(y)) < noise
    lab[moved] = rng.integers(0, k, moved.sum())
    return rng.permutation(k)[lab]


def seeds_that_miss_the_small_class(rng, good=5, bad=4):
    """Seeds of a 5-class labeling (sizes 200 … 20): ``good`` ones find it; ``bad`` ones (the
    best-scoring among them) merge the smallest class into the largest and split the second
    class in two at random instead, each differently."""
    y, k = truth(), len(SIZES)
    out = [noisy_seed(y, rng, k) for _ in range(good)]
    for _ in range(bad):
        lab = y.copy()
        lab[lab == 4] = 0
        second = np.flatnonzero(lab == 1)
        lab[rng.choice(second, len(second) // 2, replace=False)] = 4
        out.append(noisy_seed(lab, rng, k))
    scores = np.r_[np.full(good, 0.90), np.linspace(0.95, 0.91, bad)]  # a bad seed scores best
    return y, torch.as_tensor(np.stack(out)), torch.as_tensor(scores)


def test_a_consensus_keeps_the_class_that_the_best_seed_merges():
    y, seeds, scores = seeds_that_miss_the_small_class(np.random.default_rng(0))
    acc = {}
    for kind in ("vote", "cut", "linkage"):
        labels, ref, perms = ensemble(seeds, scores, 5, kind)
        assert ref == 5  # the best-scoring seed, whatever the reference of the matching
        acc[kind] = cluster_accuracy(y, labels.numpy())
        # the matched vote (how new rows are labelled) gives the vote's rows back exactly
        again = vote(seeds, perms, ref, 5)
        assert torch.equal(again, labels) if kind == "vote" else (again == labels).any()
    assert acc["linkage"] >= 0.99 and acc["cut"] >= 0.99, acc
    assert acc["vote"] < acc["linkage"] - 0.1, acc  # the vote, in the best seed's classes, errs


@pytest.mark.parametrize("kind", ["cut", "linkage"])
def test_a_consensus_depends_on_the_partitions_only(kind):
    """Renumbering a seed's classes or reordering the seeds leaves the partition unchanged; the
    labels lie in [0, k); agreeing seeds give their own partition back."""
    rng = np.random.default_rng(1)
    y, k = truth((60, 50, 40)), 3
    seeds = torch.as_tensor(np.stack([noisy_seed(y, rng, k) for _ in range(6)]))
    labels = consensus(seeds, k, kind).numpy()
    assert labels.min() >= 0 and labels.max() < k
    assert cluster_accuracy(y, labels) >= 0.97
    shuffled = seeds[torch.as_tensor(rng.permutation(6))]
    renumbered = torch.stack([torch.as_tensor(rng.permutation(k))[s] for s in shuffled])
    again = consensus(renumbered, k, kind).numpy()
    assert adjusted_rand_index(labels, again) == pytest.approx(1.0)


@pytest.mark.parametrize("kind", ["cut", "linkage"])
def test_a_consensus_invents_no_class_that_no_seed_has(kind):
    y = torch.as_tensor(truth((40, 30, 20)))
    two = torch.stack([y.clamp(max=1)] * 3)  # every seed uses 2 of K = 4 classes
    assert sorted(np.bincount(consensus(two, 4, kind).numpy(), minlength=4)) == [0, 0, 40, 50]
    one = torch.zeros(4, 90, dtype=torch.long)
    assert np.bincount(consensus(one, 3, kind).numpy()).max() == 90


def test_the_linkage_of_a_subsample_joins_the_other_rows_to_their_cluster():
    rng = np.random.default_rng(2)
    y, k = truth((150, 90, 40, 20)), 4
    seeds = torch.as_tensor(np.stack([noisy_seed(y, rng, k, noise=0.02) for _ in range(8)]))
    whole = linkage_consensus(seeds, k).numpy()
    part = linkage_consensus(seeds, k, max_rows=60).numpy()  # 60 of 300 rows clustered
    assert cluster_accuracy(y, whole) >= 0.98
    assert adjusted_rand_index(whole, part) >= 0.95


#: three seeds' labelings of 64 rows, one code per row (found on digits, then shrunk): on their
#: tied co-associations scipy's average linkage alone returns a tree that merges a cluster twice
TIED_CODES = {"a": (2, 0, 1), "b": (1, 0, 1), "c": (0, 0, 1), "d": (2, 1, 0)}
TIED_ROWS = "aaaabbaaaaaaaaaaaaaaaaaabbbbabaaaaaaaaaaaaaaaaaaaaaacaaaaaaaaada"


def test_the_linkage_survives_the_ties_that_break_scipys_tree():
    from scipy.cluster.hierarchy import is_valid_linkage, linkage
    from scipy.spatial.distance import squareform

    seeds = torch.tensor([TIED_CODES[c] for c in TIED_ROWS]).T
    together = sum((s[:, None] == s[None, :]).double() for s in seeds) / 3
    apart = squareform((1.0 - together).fill_diagonal_(0).numpy(), checks=False)
    assert not is_valid_linkage(linkage(apart, method="average"))  # the trap is still there
    labels = linkage_consensus(seeds, 3).numpy()
    # the 55 rows every seed puts together stay together, the 7 of code b form their own class
    assert np.bincount(labels[[i for i, c in enumerate(TIED_ROWS) if c == "a"]]).max() == 55
    assert sorted(np.bincount(labels, minlength=3))[1:] in ([7, 56], [8, 55])


def test_a_cut_too_wide_for_every_seed_takes_the_best_scoring_ones(monkeypatch, caplog):
    monkeypatch.setattr(consensus_module, "MAX_CUT_COLUMNS", 20)  # four seeds of K = 5
    y, seeds, scores = seeds_that_miss_the_small_class(np.random.default_rng(0), good=4, bad=3)
    assert consensus_module.cut_seeds(7, 5, scores).tolist() == [0, 4, 5, 6]  # ties: the first
    # the three bad seeds score best: the four kept are those and the first good one
    kept = cut_consensus(seeds, 5, scores=scores)
    assert torch.equal(kept, cut_consensus(seeds[[0, 4, 5, 6]], 5))
    assert "takes the 4 best-scoring seeds" in caplog.text
    drawn = consensus_module.cut_seeds(7, 5, None, seed=1)
    assert len(drawn) == 4 and torch.equal(drawn, consensus_module.cut_seeds(7, 5, None, seed=1))
    with pytest.raises(HumeError, match="unknown consensus"):
        consensus(seeds, 5, "median")


def test_the_cut_fits_its_kmeans_on_a_sample_and_labels_every_row(monkeypatch):
    rng = np.random.default_rng(4)
    y, k = truth(), len(SIZES)
    seeds = torch.as_tensor(np.stack([noisy_seed(y, rng, k, noise=0.02) for _ in range(6)]))
    whole = cut_consensus(seeds, k).numpy()
    monkeypatch.setattr(consensus_module, "CUT_FIT_ROWS", 60)  # 100 of 400 rows (20 per class)
    monkeypatch.setattr(consensus_module, "_GRAM_BLOCK", 500)  # rows labelled in blocks
    assert consensus_module.cut_fit_rows(k) == 100
    part = cut_consensus(seeds, k).numpy()
    assert len(part) == len(y) and cluster_accuracy(y, whole) >= 0.95
    assert adjusted_rand_index(whole, part) >= 0.95


def test_the_linkage_labels_the_rows_block_by_block(monkeypatch):
    rng = np.random.default_rng(5)
    y, k = truth((150, 90, 40, 20)), 4
    seeds = torch.as_tensor(np.stack([noisy_seed(y, rng, k, noise=0.02) for _ in range(5)]))
    whole = linkage_consensus(seeds, k, max_rows=120)
    monkeypatch.setattr(consensus_module, "_GRAM_BLOCK", 50)  # blocks of 2 rows
    assert torch.equal(linkage_consensus(seeds, k, max_rows=120), whole)


@pytest.mark.parametrize("cls", [HUME, TURTLE])
def test_the_estimators_take_the_ensemble_from_the_preset_or_the_parameter(cls):
    """Default preset: auto for both; paper: the vote; the parameter overrides both; predict
    (the matched vote) labels the searched rows as the fit did, exactly after the vote, mostly
    after a cut."""
    assert cls(3).resolved_config().ensemble == "auto"
    assert cls(3, preset="paper").resolved_config().ensemble == "vote"
    assert cls(3, preset="paper", ensemble="linkage").resolved_config().ensemble == "linkage"
    with pytest.raises(HumeError, match="ensemble must be one of vote, cut, linkage, auto"):
        cls(3, ensemble="median").resolved_config()
    views, _ = planted(3, n=120, seed=3)
    for kind in ("vote", "cut"):
        model = cls(3, n_seeds=3, iters=30, device="cpu", ensemble=kind).fit(views)
        same = np.mean(model.predict(views) == model.labels_)
        assert same == 1.0 if kind == "vote" else same >= 0.9, (kind, same)


#: (command-line options, the ensemble every searched config has, what auto weighs against the
#: vote): docs/algorithm.md §5.4, §5.6 (uneven class sizes: the cut gives way to the linkage)
ENSEMBLE_OF = {
    "default": ({}, "auto", "cut"),
    "paper": ({"preset": "paper"}, "vote", None),
    "voted": ({"ensemble": "vote"}, "vote", None),
    "uneven": ({"class_sizes": "uneven"}, "auto", "linkage"),
    "uneven-cut": ({"class_sizes": "uneven", "ensemble": "cut"}, "linkage", None),
    "uneven-voted": ({"class_sizes": "uneven", "ensemble": "vote"}, "vote", None),
}


@pytest.mark.parametrize("case", ENSEMBLE_OF)
def test_the_request_resolves_the_ensemble_and_uneven_classes_use_the_linkage(case):
    """The command's request, resolved as ``hume search`` resolves it (no search): the ensemble
    of the config and of every point of its grid (the configs a run searches and records)."""
    from hume.search.search_runs.request import SearchRequest, check_request, grid_points
    from hume.search.settings import SearchOptions

    given, kind, consensus = ENSEMBLE_OF[case]
    options = SearchOptions(ensemble=given["ensemble"]) if "ensemble" in given else SearchOptions()
    request = SearchRequest(
        views=["va", "vb"],
        k=4,
        preset=given.get("preset"),
        class_sizes=given.get("class_sizes", "uniform"),
        options=options,
    )
    cfg, _ = check_request(request)
    configs = [cfg]
    if request.class_sizes == "uneven":
        configs = [point for _, point in grid_points(cfg, "class_sizes")]
        assert len(configs) > 1
    for config in configs:
        assert config.ensemble == kind, case
        if consensus is not None:
            assert config.auto_consensus == consensus, case


@pytest.mark.slow
def test_the_command_records_the_ensemble_of_uneven_classes(tmp_path):
    """One search through the command: uneven class sizes under auto weigh the linkage (not the
    cut) against the vote, in the run's record and in every trial of its grid."""
    views, y = planted(4, n=240, ratio=5, seed=4)
    root = stores(tmp_path, views, y)
    r = search(root, "uneven", "--k", "4", "--class-sizes", "uneven")
    assert r.exit_code == 0, r.output
    config = json.loads((root / "runs" / "uneven" / "config.json").read_text())
    hp = config["hyperparameters"]
    assert hp["ensemble"] == "auto" and hp["auto_consensus"] == "linkage"
    assert config["sweep"] and all(trial["ensemble"] == "auto" for trial in config["sweep"])
    assert set(hp["ensemble_scores"]) == {"linkage", "vote"}
    assert hp["ensemble_chosen"] in ("linkage", "vote")
    assert run_labels(root, "uneven").shape == (240,)
    assert_one_line_error(search(root, "bad", "--k", "4", "--ensemble", "median"), "--ensemble")
