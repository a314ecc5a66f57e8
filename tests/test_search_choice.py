"""When K, the class sizes or the best φ1 are unknown: a K range chosen by consensus stability,
the class-size prior by the balanced score, each view tried as φ1; through the command."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import assert_one_line_error, invoke, planted_views

from hume.commands.search_options import parse_k
from hume.core.errors import HumeError
from hume.evaluate.metrics import cluster_accuracy
from hume.search.selection.choice_signals import (
    Candidate,
    choose,
    class_sizes,
    consensus_stability,
    stability,
)
from hume.store import FeatureStore
from hume.store.importing import import_features

pytestmark = pytest.mark.usefixtures("one_thread")


def planted(k, n=300, ratio=1.0, seed=0, weak=False):
    """Two views of a K-class mixture, separable in both (the second barely, with ``weak``),
    at scales 10 and 0.1; class sizes in geometric progression from ``ratio`` to 1."""
    seps = (3.0, 0.35 if weak else 3.0)
    return planted_views(n, k, (12, 10), seps, seed, scales=(10.0, 0.1), ratio=ratio)


def stores(tmp_path, views, y, names=("va", "vb"), dataset="blobs"):
    root = tmp_path / "ws"
    for name, x in zip(names, views):
        f = tmp_path / f"{dataset}-{name}.npy"
        np.save(f, x)
        labels = tmp_path / f"{dataset}-y.npy"
        np.save(labels, y)
        import_features(dataset, "all", name, f, labels, root=str(root), dtype="float32")
    return root


def run_labels(root, run):
    return np.load(root / "runs" / run / "ensemble.npz")["labels"]


FAST = ["--seeds", "4", "--iters", "60", "--device", "cpu"]


def search(root, run, *args):
    """`hume search` of the views va, vb under ``root`` as run ``run``, fast settings."""
    return invoke("search", "--views", "va,vb", "--run", run, "--root", root, *FAST, *args)


def test_parse_k_and_its_bad_input():
    assert parse_k("7") == [7] and parse_k("5:8") == [5, 6, 7, 8] and parse_k("8,4,4") == [4, 8]
    for bad, match in [
        ("9:5", "reversed"),
        ("1:4", "at least 2"),
        ("x", "not a number"),
        (",", "names no K"),
        ("3:", "not a number"),
    ]:
        with pytest.raises(HumeError, match=match):
            parse_k(bad)


def test_stability_is_one_for_identical_seeds_and_low_for_unrelated_ones():
    rng = np.random.default_rng(0)
    same = np.tile(rng.integers(0, 4, 200), (3, 1))
    assert stability(same) == pytest.approx(1.0)
    assert stability(rng.integers(0, 4, (3, 200))) < 0.05


def test_a_k_whose_labeling_leaves_a_class_empty_is_not_chosen():
    """With a weak entropy term the classes beyond the human K go empty: such a labeling is as
    stable as the one it contains, and is not a K-class labeling."""

    def cand(k, stab, sizes, order=0):
        return Candidate({"k": k, "order": order}, stab, 0.9, 0.9, tuple(sizes))

    three = cand(3, 0.95, (600, 300, 100))
    four = cand(4, 1.0, (600, 300, 100, 2))  # 2 rows < 5 % of the mean class size 250
    assert (three.used_classes, four.used_classes) == (3, 3)
    assert three.complete and not four.complete
    assert choose([three, four]) is three
    assert choose([four, cand(5, 0.9, (600, 300, 100, 0, 0))]) is four  # none complete
    assert choose([cand(4, 0.8, (250,) * 4), cand(3, 0.8, (300,) * 3)]).setting["k"] == 3
    assert choose([cand(3, 0.8, (300,) * 3, 1), cand(3, 0.8, (300,) * 3, 0)]).setting["order"] == 0
    with pytest.raises(HumeError):
        choose([])


def test_the_k_whose_consensus_is_reproducible_wins_over_seeds_that_agree_on_a_merge():
    """Eight classes. At K = 7 every seed merges the last (30 rows) whole into one of two others
    (half the seeds one, half the other): the seeds agree closely, but two halves of them
    disagree on the merge. At K = 8 each seed errs elsewhere (1 % of the rows moved at random):
    the seeds agree less, yet every half's consensus is the eight classes. The criterion (the
    mean of the two) chooses 8, the seeds' stability alone 7, as `--k` did before on a 10:1
    mixture of 8 classes."""
    rng = np.random.default_rng(4)
    sizes = (120, 100, 70, 50, 35, 25, 18, 30)
    y = np.repeat(np.arange(8), sizes)
    merged = [np.where(y == 7, 5 + seed % 2, y) for seed in range(10)]  # five seeds each way
    noisy = []
    for _ in range(10):
        lab = y.copy()
        moved = rng.random(len(y)) < 0.01
        lab[moved] = rng.integers(0, 8, moved.sum())
        noisy.append(lab)
    cands = []
    for k, seeds in ((7, np.stack(merged)), (8, np.stack(noisy))):
        c = Candidate({"k": k}, stability(seeds), 1.0, 1.0, class_sizes(seeds[0], k))
        c.consensus = consensus_stability(seeds, k, "linkage")
        cands.append(c)
    seven, eight = cands
    assert seven.stability > eight.stability  # the seeds alone prefer the merge …
    assert eight.consensus > seven.consensus  # … their consensus does not
    assert eight.consensus >= 0.99
    assert choose(cands) is eight
    assert eight.criterion == pytest.approx((eight.consensus + eight.stability) / 2)
    # where the consensus stability ties, the seeds' stability decides
    seven.consensus = eight.consensus
    assert choose(cands) is seven
    # fewer than four seeds: no halves to compare, the seeds' stability instead
    assert consensus_stability(np.stack(merged[:3]), 7, "cut") == stability(np.stack(merged[:3]))


@pytest.mark.slow
@pytest.mark.parametrize("true_k", [3, 5])
def test_a_k_range_chooses_the_planted_k_without_reading_labels(tmp_path, monkeypatch, true_k):
    views, y = planted(true_k, seed=true_k)
    root = stores(tmp_path, views, y)

    def no_labels(self):
        raise AssertionError("the search read ground-truth labels")

    monkeypatch.setattr(FeatureStore, "read_labels", no_labels)
    r = search(root, "kr", "--k", f"{true_k - 1}:{true_k + 1}", "--k-scan", "exhaustive")
    assert r.exit_code == 0, r.output
    choice = json.loads((root / "runs" / "kr" / "choice.json").read_text())
    assert choice["k"] == true_k and choice["chosen"] == f"kr-k{true_k:02d}"
    assert [c["k"] for c in choice["candidates"]] == [true_k - 1, true_k, true_k + 1]
    config = json.loads((root / "runs" / "kr" / "config.json").read_text())
    assert config["status"] == "complete" and config["k"] == true_k
    assert config["choice"]["chosen"] == f"kr-k{true_k:02d}"
    for k in (true_k - 1, true_k + 1):  # every candidate is a run of its own
        cfg = json.loads((root / "runs" / f"kr-k{k:02d}" / "config.json").read_text())
        assert cfg["k"] == k and cfg["status"] == "complete"
    assert np.array_equal(run_labels(root, "kr"), run_labels(root, f"kr-k{true_k:02d}"))
    again = search(root, "kr", "--k", f"{true_k - 1}:{true_k + 1}", "--k-scan", "exhaustive")
    assert again.exit_code == 0 and "nothing to do" in again.output
    monkeypatch.undo()
    # evaluate shows every candidate; the accuracy is there for the reader only
    r = invoke("evaluate", "--run", "kr", "--root", root, "--no-baselines")
    assert r.exit_code == 0, r.output
    report = json.loads((root / "runs" / "kr" / "report.json").read_text())
    rows = report["choice"]["candidates"]
    assert [c["k"] for c in rows] == [true_k - 1, true_k, true_k + 1]
    assert all(0 <= c["acc"] <= 1 for c in rows)
    assert report["choice"]["criterion"] == "mean of consensus stability and stability"
    chosen = next(c for c in rows if c["k"] == true_k)
    assert chosen["criterion"] == max(c["criterion"] for c in rows)
    for c in rows:
        assert c["criterion"] == pytest.approx(
            (c["consensus_stability"] + c["stability"]) / 2, abs=2e-6
        )
    assert "| criterion | consensus stability |" in (root / "runs" / "kr" / "report.md").read_text()
    assert (root / "runs" / "kr" / "figures" / "choice.png").stat().st_size > 1000
    assert cluster_accuracy(y, run_labels(root, "kr")) >= 0.95


@pytest.mark.slow
def test_uneven_class_sizes_keep_a_large_class_whole(tmp_path):
    """Class sizes in ratio 10:1: the uniform prior splits the large class; the entropy weight
    chosen by the balanced score keeps it whole."""
    views, y = planted(4, n=400, ratio=10, seed=3)
    root = stores(tmp_path, views, y)
    accs = {}
    for mode in ("uniform", "uneven"):
        r = search(root, mode, "--k", "4", "--class-sizes", mode)
        assert r.exit_code == 0, r.output
        accs[mode] = cluster_accuracy(y, run_labels(root, mode))
    assert accs["uneven"] >= 0.9 > accs["uniform"], accs
    config = json.loads((root / "runs" / "uneven" / "config.json").read_text())
    trials = config["sweep"]
    assert [t["entropy_weight"] for t in trials] == [10.0, 3.0, 1.0, 0.3]
    assert all(-1 <= t["stability"] <= 1 for t in trials)  # kept for the reader
    best = max(trials, key=lambda t: t["balanced_score"])  # ties: the first, larger weight
    assert config["hyperparameters"]["entropy_weight"] == best["entropy_weight"] < 10


def test_the_size_terms_are_largest_at_equal_sizes_and_only_log_forbids_an_empty_class():
    import torch

    from hume.search.optimiser.size_terms import size_term

    k = 4
    uniform = torch.full((k,), 1 / k)
    uneven = torch.tensor([0.7, 0.2, 0.09, 0.01])
    almost_empty = torch.tensor([0.5, 0.3, 0.2 - 1e-9, 1e-9])
    assert size_term(uniform, "entropy").item() == pytest.approx(np.log(k))
    assert size_term(uniform, "log").item() == pytest.approx(0.0, abs=1e-6)
    for kind in ("entropy", "log"):
        assert size_term(uneven, kind) < size_term(uniform, kind)
    # a vanishing class costs the entropy little, the log term without bound
    assert size_term(almost_empty, "entropy").item() > 1.0
    assert size_term(almost_empty, "log").item() < -4.0
    # both pull the smallest class up hardest
    p = uneven.clone().requires_grad_(True)
    size_term(p, "log").backward()
    assert int(torch.argmax(p.grad)) == 3
    with pytest.raises(ValueError, match="unknown class-size term"):
        size_term(uniform, "gini")


@pytest.mark.slow
def test_the_log_size_term_keeps_a_small_class_that_a_weak_entropy_term_gives_up(tmp_path):
    """Class sizes in ratio 10:1 over six classes, weight 0.3: with the entropy term one class is
    left empty (ACC 0.943 when written), with ``--size-term log`` every class is kept (1.000);
    ``--class-sizes uneven --size-term log`` tries the log term's own weights. The vote shows
    the seeds' own classes (a consensus can mend a class the seeds give up: see
    test_search_consensus.py)."""
    views, y = planted(6, n=400, ratio=10, seed=2)
    root = stores(tmp_path, views, y)
    used, accs = {}, {}
    for term in ("entropy", "log"):
        r = search(
            root,
            term,
            "--k",
            "6",
            "--entropy-weight",
            "0.3",
            "--size-term",
            term,
            "--ensemble",
            "vote",
        )
        assert r.exit_code == 0, r.output
        labels = run_labels(root, term)
        used[term] = int((np.bincount(labels, minlength=6) > 0).sum())
        accs[term] = cluster_accuracy(y, labels)
        config = json.loads((root / "runs" / term / "config.json").read_text())
        assert config["hyperparameters"]["size_term"] == term
    assert used == {"entropy": 5, "log": 6}, (used, accs)
    assert accs["log"] >= 0.99 > accs["entropy"]
    r = search(root, "uneven-log", "--k", "6", "--class-sizes", "uneven", "--size-term", "log")
    assert r.exit_code == 0, r.output
    config = json.loads((root / "runs" / "uneven-log" / "config.json").read_text())
    assert [t["entropy_weight"] for t in config["sweep"]] == [3.0, 1.0, 0.3, 0.1]
    assert config["hyperparameters"]["size_term"] == "log"
    assert cluster_accuracy(y, run_labels(root, "uneven-log")) >= 0.95


@pytest.mark.slow
@pytest.mark.parametrize("order", ["va,vb", "vb,va"])
def test_phi1_auto_takes_the_strong_view_first_whatever_the_order(tmp_path, order):
    views, y = planted(4, seed=7, weak=True)
    root = stores(tmp_path, views, y)
    r = invoke(
        "search",
        "--views",
        order,
        "--k",
        "4",
        "--phi1",
        "auto",
        "--run",
        "pa",
        "--root",
        root,
        *FAST,
    )
    assert r.exit_code == 0, r.output
    choice = json.loads((root / "runs" / "pa" / "choice.json").read_text())
    assert choice["phi1"] == "va" and {c["phi1"] for c in choice["candidates"]} == {"va", "vb"}
    assert cluster_accuracy(y, run_labels(root, "pa")) >= 0.95


def test_bad_choices_are_refused_before_any_run(tmp_path):
    views, y = planted(3, n=60)
    root = stores(tmp_path, views, y)
    base = ["search", "--views", "va,vb", "--root", root, *FAST]
    assert_one_line_error(invoke(*base, "--k", "6:3"), "reversed")
    assert_one_line_error(invoke(*base, "--k", "1:3"), "at least 2")
    assert_one_line_error(invoke(*base, "--k", ""), "names no K")
    assert_one_line_error(
        invoke(*base, "--k", "3:70", "--method", "turtle"), "exceeds the number of rows"
    )
    assert_one_line_error(invoke(*base, "--k", "11:13"), "dimension of φ1")  # va has 12 dims
    assert_one_line_error(
        invoke(*base, "--k", "3", "--phi1", "auto", "--method", "turtle"),
        "--phi1 auto applies to --method hume",
    )
    assert_one_line_error(
        invoke(*base, "--k", "3", "--class-sizes", "uneven", "--sweep"),
        "--sweep and --class-sizes uneven",
    )
    assert_one_line_error(
        invoke(*base, "--k", "3", "--class-sizes", "uneven", "--entropy-weight", "2"),
        "drop --entropy-weight",
    )
    assert_one_line_error(invoke(*base, "--k", "3", "--size-term", "gini"), "--size-term")
    assert_one_line_error(
        invoke(*base, "--k", "3:4", "--run", "s", "--seed-range", "0:2"),
        "--seed-range searches one run",
    )
    assert not (root / "runs").exists() or not any((root / "runs").iterdir())


@pytest.mark.slow
def test_a_k_range_with_uneven_classes_chooses_the_planted_k(tmp_path):
    """Class sizes in ratio 10:1, K unknown: with --class-sizes uneven the K above the planted one
    leaves a class empty, is more stable here than the planted labeling it contains (0.985 vs
    0.975 when written), and is passed over."""
    views, y = planted(3, n=400, ratio=10, seed=5)
    root = stores(tmp_path, views, y)
    r = search(root, "ku", "--k", "3:4", "--class-sizes", "uneven")
    assert r.exit_code == 0, r.output
    choice = json.loads((root / "runs" / "ku" / "choice.json").read_text())
    by_k = {c["k"]: c for c in choice["candidates"]}
    assert by_k[4]["used_classes"] < 4 and "not a 4-class labeling" in r.output
    assert choice["k"] == 3, by_k
    assert cluster_accuracy(y, run_labels(root, "ku")) >= 0.9


@pytest.mark.slow
def test_a_k_range_with_uneven_classes_finds_eight_classes_the_seeds_alone_merge(tmp_path):
    """Eight classes in ratio 10:1, K unknown (--k 7:8 --class-sizes uneven): the seeds agree more
    at K = 7, where they merge a small class, than at 8; the consensus of either half of them is
    the eight classes every time, so K = 8 is chosen."""
    views, y = planted(8, n=600, ratio=10, seed=8)
    root = stores(tmp_path, views, y)
    r = search(root, "k8", "--k", "7:8", "--class-sizes", "uneven", "--seeds", "10")
    assert r.exit_code == 0, r.output
    choice = json.loads((root / "runs" / "k8" / "choice.json").read_text())
    by_k = {c["k"]: c for c in choice["candidates"]}
    assert by_k[7]["stability"] > by_k[8]["stability"]  # the former criterion: K = 7
    assert by_k[8]["consensus_stability"] > by_k[7]["consensus_stability"]
    assert by_k[8]["criterion"] > by_k[7]["criterion"]
    assert choice["k"] == 8 and by_k[8]["used_classes"] == 8
    assert cluster_accuracy(y, run_labels(root, "k8")) >= 0.95


def test_a_candidate_is_searched_in_full_while_its_screen_could_still_win():
    """docs/algorithm.md §10.6 on hand-made screens: until two complete finalists are in, every
    candidate goes on; then one goes on while its screen, raised by the largest rise seen plus
    the margin, reaches the best full criterion. Here the best full criterion is 0.70 and the
    largest rise 0.10, so a screen goes on iff it is at least 0.60 − margin."""
    from hume.search.k_choice.choosing import could_win

    def cand(k, criterion, sizes=None):
        c = Candidate({"k": k, "run": f"r{k}"}, criterion, None, None, sizes or (10,) * k)
        c.consensus = criterion
        return c

    screens = {
        f"r{k}": cand(k, c) for k, c in ((4, 0.60), (5, 0.58), (6, 0.50), (7, 0.40), (8, 0.56))
    }
    full: dict = {}
    assert could_win(screens["r7"], screens, full, 0.05)  # none searched in full yet
    full["r4"] = cand(4, 0.70)  # the screen rose by 0.10
    assert could_win(screens["r7"], screens, full, 0.05)  # one complete finalist: go on
    full["r5"] = cand(5, 0.66)  # rose by 0.08: the largest rise stays 0.10
    expected = {  # margin → the screens that go on (those ≥ 0.60 − margin)
        0.0: set(),
        0.02: set(),  # the documented margin: 0.58 + 0.12 = 0.70 is r5's own screen only
        0.05: {"r8"},  # 0.56 + 0.15 = 0.71 ≥ 0.70; 0.50 + 0.15 = 0.65 is not
        0.12: {"r6", "r8"},  # 0.50 + 0.22 = 0.72; 0.40 + 0.22 = 0.62 is not
        0.25: {"r6", "r7", "r8"},
    }
    for margin, going_on in expected.items():
        got = {r for r in ("r6", "r7", "r8") if could_win(screens[r], screens, full, margin)}
        assert got == going_on, margin
    # the best full criterion counts, not the last one: a weaker third finalist changes nothing
    full["r9"] = cand(9, 0.30)
    screens["r9"] = cand(9, 0.29)
    assert could_win(screens["r8"], screens, full, 0.05)
    assert not could_win(screens["r6"], screens, full, 0.05)
    # a finalist that leaves a class empty does not count as one: every candidate goes on
    full = {"r4": cand(4, 0.70, (40, 0, 0, 0)), "r5": cand(5, 0.66)}
    assert could_win(screens["r7"], screens, full, 0.0)


@pytest.mark.slow
def test_the_fast_scan_chooses_what_the_exhaustive_one_does_and_searches_fewer_in_full(tmp_path):
    views, y = planted(4, seed=11)
    root = stores(tmp_path, views, y)
    for scan in ("exhaustive", "fast"):
        r = search(root, scan, "--k", "2:6", "--k-scan", scan)
        assert r.exit_code == 0, r.output
    ex = json.loads((root / "runs" / "exhaustive" / "choice.json").read_text())
    fast = json.loads((root / "runs" / "fast" / "choice.json").read_text())
    assert ex["k"] == fast["k"] == 4 and fast["scan"] == "fast" and ex["scan"] == "exhaustive"
    searched = [c for c in fast["candidates"] if c["searched"] == "full"]
    # one in full when the runner-up's screen falls far short (LONE_MARGIN), else two or more
    assert 1 <= len(searched) < 5 and fast["screen"]["searched_in_full"] == len(searched)
    assert all("screen" in c for c in fast["candidates"])  # 2:6: the climb reached every K
    for c in fast["candidates"]:  # only the candidates searched in full are runs
        assert (root / "runs" / c["run"] / "config.json").is_file() == (c["searched"] == "full")
        assert (root / "runs" / "fast" / "screens" / f"{c['run']}.npz").is_file()
    # a candidate searched in full has the same signals as in the exhaustive scan
    by_k = {c["k"]: c for c in ex["candidates"]}
    for c in searched:
        assert c["criterion"] == by_k[c["k"]]["criterion"]
    assert np.array_equal(run_labels(root, "fast"), run_labels(root, "exhaustive"))
    # again: nothing to do; with other settings: refused; evaluate shows the screened candidates
    again = search(root, "fast", "--k", "2:6")
    assert again.exit_code == 0 and "nothing to do" in again.output
    assert_one_line_error(search(root, "fast", "--k", "2:7"), "chosen with other settings")
    r = invoke("evaluate", "--run", "fast", "--root", root, "--no-baselines")
    assert r.exit_code == 0, r.output
    rows = json.loads((root / "runs" / "fast" / "report.json").read_text())["choice"]["candidates"]
    assert all(0 <= c["acc"] <= 1 for c in rows)  # the screens' consensus, for the reader
    assert "| screen |" in (root / "runs" / "fast" / "report.md").read_text()


@pytest.mark.slow
def test_an_interrupted_choice_continues_and_the_newest_run_is_the_chosen_one(
    tmp_path, monkeypatch
):
    """Commands without --run take the run the last search produced: the chosen one, not the
    candidate searched last; while the choice is unfinished they refuse and say how to go on."""
    import hume.search.k_choice.choosing as choice_module
    from hume.runs import resolve_run

    views, y = planted(3, seed=2)
    root = stores(tmp_path, views, y)
    real = choice_module.write_choice

    def killed(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(choice_module, "write_choice", killed)
    r = search(root, "kc", "--k", "2:5")
    assert r.exit_code == 130, r.output
    screens = sorted((root / "runs" / "kc" / "screens").glob("*.npz"))
    assert len(screens) == 4
    with pytest.raises(HumeError, match="has not finished"):
        resolve_run(root)
    assert_one_line_error(invoke("export", "--root", root), "has not finished", "--run")
    stamps = [p.stat().st_mtime_ns for p in screens]
    monkeypatch.setattr(choice_module, "write_choice", real)
    r = search(root, "kc", "--k", "2:5")
    assert r.exit_code == 0, r.output
    assert "screen K=" in r.output  # read back, not searched again
    assert [p.stat().st_mtime_ns for p in screens] == stamps
    assert resolve_run(root).name == "kc"
    out = tmp_path / "out"
    r = invoke("export", "--root", root, "--out", out)
    assert r.exit_code == 0, r.output
    assert len(set(np.loadtxt(out / "labels.csv", delimiter=",", skiprows=1, usecols=4))) == 3


def test_the_stabilities_are_measured_on_a_bounded_sample_of_rows(monkeypatch):
    from hume.search.selection import choice_signals

    rng = np.random.default_rng(0)
    y = rng.integers(0, 4, 2000)
    seeds = np.stack(
        [np.where(rng.random(2000) < 0.1, rng.integers(0, 4, 2000), y) for _ in range(4)]
    )
    whole = choice_signals.stability(seeds)
    monkeypatch.setattr(choice_signals, "SIGNAL_ROWS", 500)
    sample = choice_signals.signal_rows(seeds)
    assert sample.shape == (4, 500) and np.array_equal(sample, choice_signals.signal_rows(seeds))
    assert choice_signals.stability(seeds) == choice_signals.stability(sample)
    assert abs(choice_signals.stability(seeds) - whole) < 0.05
    on_sample = choice_signals.consensus_stability(sample, 4, "cut")
    assert choice_signals.consensus_stability(seeds, 4, "cut") == on_sample


def _screened(k, criterion, phi1="va", index=0, sizes=None):
    c = Candidate({"k": k, "run": f"r{k}-{phi1}"}, criterion, None, None, sizes or (10,) * k)
    c.consensus = criterion
    c.setting.update({"phi1": phi1, "order": index})
    return c


def test_the_climb_over_k_stops_once_the_criterion_has_fallen_behind_for_several_k():
    from hume.search.k_choice.climbing import DROP, PATIENCE, climb_over

    rising = [_screened(k, 0.5 + 0.05 * k) for k in range(2, 8)]
    assert not climb_over(rising)
    peak = [_screened(2, 0.6), _screened(3, 0.9)]
    fallen = [_screened(k, 0.9 - DROP - 0.01) for k in range(4, 4 + PATIENCE)]
    assert not climb_over(peak + fallen[:-1])  # one K short of the patience
    assert climb_over(peak + fallen)
    # a K within DROP of the best keeps the climb going; so does a valley before a higher peak
    assert not climb_over([*peak, *fallen[:-1], _screened(9, 0.9 - DROP + 0.01)])
    # a K that leaves a class empty has fallen behind, however stable its seeds
    empty = _screened(4 + PATIENCE, 1.0, sizes=(40,) * (3 + PATIENCE) + (0,))
    assert climb_over([*peak, *fallen[:-1], empty])
    # fallen behind but still rising: the peak may be ahead (digits, CNN as φ1: the screen of
    # K = 3 at 0.60, then 0.44, 0.57, 0.43, 0.47, 0.51, and K = 10 at 0.68)
    digits = [0.35, 0.60, 0.44, 0.57, 0.43, 0.47, 0.51]
    assert not climb_over([_screened(k, c) for k, c in zip(range(2, 9), digits)])
    assert climb_over([_screened(k, c) for k, c in zip(range(2, 10), [*digits, 0.45])])
    # no complete candidate yet: go on
    assert not climb_over([_screened(k, 0.9, sizes=(40,) * (k - 1) + (0,)) for k in range(2, 9)])


def test_the_fast_scan_screens_other_orders_at_the_best_k_and_climbs_them_when_close():
    from hume.search.k_choice.candidates import Planned
    from hume.search.k_choice.choosing import climb_screens

    curves = {
        "va": {2: 0.5, 3: 0.6, 4: 0.95, 5: 0.7, 6: 0.6, 7: 0.6, 8: 0.5, 9: 0.5},
        "vb": {2: 0.4, 3: 0.5, 4: 0.80, 5: 0.6, 6: 0.5, 7: 0.5, 8: 0.4, 9: 0.4},
    }
    plan = [
        Planned(f"r{k}-{phi1}", k, (phi1, other), i)
        for i, (phi1, other) in enumerate((("va", "vb"), ("vb", "va")))
        for k in range(2, 10)
    ]
    asked: list[list[str]] = []
    left: list[int] = []

    def screen_some(some):
        asked.append([p.run for p in some])
        return {p.run: _screened(p.k, curves[p.order[0]][p.k], p.order[0], p.index) for p in some}

    screens = climb_screens(plan, screen_some, left=left.append)
    # va climbed to 7 (5, 6, 7 fell behind 0.95), vb screened at va's best K only
    assert sorted(screens) == sorted([f"r{k}-va" for k in range(2, 8)] + ["r4-vb"])
    assert asked[-1] == ["r4-vb"] and left[-1] == 0
    # an order that comes close climbs too, up and down from that K, by the same rule; screens
    # already read are not asked again
    curves["vb"].update({4: 0.94, 5: 0.97, 6: 0.90, 7: 0.7, 8: 0.6, 9: 0.6})
    asked.clear()
    screens = climb_screens(plan, screen_some, batch=2)
    vb = sorted(p.k for p in plan if p.order[0] == "vb" and p.run in screens)
    assert vb == [2, 3, 4, 5, 6, 7, 8, 9]  # up past its peak at 5 to 9; down from 4 to 2
    assert sum(run == "r4-vb" for some in asked for run in some) == 1
    assert all(len(some) <= 2 for some in asked)  # one K per rank


def test_the_fast_scan_skips_the_second_finalist_only_when_its_screen_falls_far_short():
    """docs/algorithm.md §10.7: with one complete finalist (full 0.98, its screen rose by 0.03),
    the fast scan searches another in full only when its screen + 0.03 + margin + lone reaches
    0.98; the screened scan (no lone) always searches a second finalist."""
    from hume.search.k_choice.choosing import could_win

    screens = {"r2": _screened(2, 0.95), "r5": _screened(5, 0.35), "r6": _screened(6, 0.86)}
    screens = {c.setting["run"]: c for c in screens.values()}
    full = {"r2-va": _screened(2, 0.98)}  # rose by 0.03
    far, near = screens["r5-va"], screens["r6-va"]
    assert could_win(far, screens, full, 0.02)  # the screened scan: two finalists always
    assert not could_win(far, screens, full, 0.02, 0.1)  # 0.35 + 0.15 = 0.50 < 0.98
    assert could_win(near, screens, full, 0.02, 0.1)  # 0.86 + 0.15 = 1.01 ≥ 0.98
    assert not could_win(near, screens, full, 0.02, 0.05)  # 0.86 + 0.10 = 0.96 < 0.98
