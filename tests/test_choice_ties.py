"""Near-ties of the choices a run makes without labels: the spread of a score difference, the
tie rule of ``--ensemble auto``, K's margin over its runner-up; said by `hume search`,
`hume evaluate` and the gallery."""

from __future__ import annotations

import itertools
import json
import statistics

import numpy as np
import pytest
from helpers import invoke
from test_search_choice import planted, search, stores

from hume.core.labelings import adjusted_rand_index
from hume.search.selection import score_spread
from hume.search.selection.choice_signals import (
    Candidate,
    criterion_spread,
    margin,
    stability,
    stability_and_spread,
)
from hume.search.selection.ensembling import TIE_GOES_TO, choice_text
from hume.search.selection.score_spread import is_tie, paired_spread

pytestmark = pytest.mark.usefixtures("one_thread")


def test_the_spread_of_a_paired_difference_is_the_corrected_standard_error():
    a = [0.91, 0.88, 0.93, 0.90, 0.87, 0.92, 0.89, 0.94, 0.90, 0.88]
    b = [0.90, 0.89, 0.90, 0.91, 0.85, 0.90, 0.90, 0.91, 0.88, 0.89]
    d = [x - y for x, y in zip(a, b)]
    # Nadeau & Bengio: the variance of the mean difference times (1/F + n_test/n_train)
    expected = statistics.stdev(d) * (1 / 10 + 1 / 9) ** 0.5
    assert paired_spread(a, b) == pytest.approx(expected, rel=1e-12)
    assert paired_spread(a, a) == 0.0
    # the same shift on every fold is no noise at all: any shift is then beyond the spread
    shifted = [x - 0.001 for x in a]
    assert paired_spread(a, shifted) == pytest.approx(0.0, abs=1e-12)
    assert not is_tie(0.001, paired_spread(a, shifted))
    assert is_tie(0.004, 0.004) and not is_tie(0.0041, 0.004) and is_tie(0.006, 0.004, 2.0)
    with pytest.raises(ValueError):
        paired_spread([0.9], [0.8])


def test_the_stability_spread_is_the_jackknife_over_seeds():
    rng = np.random.default_rng(0)
    truth = rng.integers(0, 4, 300)
    seeds = []
    for noise in (0.05, 0.1, 0.2, 0.3, 0.5):  # seeds of very different quality
        s = truth.copy()
        flip = rng.random(300) < noise
        s[flip] = rng.integers(0, 4, flip.sum())
        seeds.append(s)
    labels = np.stack(seeds)
    mean, se = stability_and_spread(labels)
    pairs = [
        adjusted_rand_index(labels[i], labels[j]) for i, j in itertools.combinations(range(5), 2)
    ]
    assert mean == pytest.approx(np.mean(pairs)) and mean == pytest.approx(stability(labels))
    left = np.array([stability(np.delete(labels, j, axis=0)) for j in range(5)])
    assert se == pytest.approx(np.sqrt(4 / 5 * np.sum((left - left.mean()) ** 2)))
    assert se > 0.01
    same = np.stack([truth] * 4)
    assert stability_and_spread(same) == (1.0, 0.0)
    assert stability_and_spread(same[:2])[1] == 0.0  # two seeds: nothing to resample


def test_a_margin_within_the_spread_of_both_candidates_is_a_tie():
    assert criterion_spread(0.02, None) == 0.02
    halves = [0.80, 0.84, 0.82, 0.78]
    halves_se = statistics.stdev(halves) / 2
    assert criterion_spread(0.02, halves) == pytest.approx(np.hypot(0.02, halves_se) / 2)
    a = Candidate({"k": 10}, 0.80, None, None, consensus=0.82, spread=0.006)
    b = Candidate({"k": 12}, 0.79, None, None, consensus=0.82, spread=0.008)
    ahead, spread = margin(a, b)
    assert ahead == pytest.approx(0.005) and spread == pytest.approx(0.01)
    assert is_tie(ahead, spread)
    assert margin(a, Candidate({"k": 9}, 0.8, None, None))[1] == 0.0  # not measured


def test_the_ensemble_sentence_says_a_tie_and_a_clear_win_apart():
    tie = {
        "ensemble_chosen": "cut",
        "ensemble_scores": {"cut": 0.8527, "vote": 0.8530},
        "ensemble_spread": 0.004,
        "ensemble_tie": True,
    }
    said = choice_text(tie)
    assert "cut and vote scored 0.853 / 0.853" in said and "a tie, kept the cut by rule" in said
    won = {**tie, "ensemble_chosen": "vote", "ensemble_scores": {"cut": 0.80, "vote": 0.84}}
    won["ensemble_tie"] = False
    assert choice_text(won) == (
        "vote (label-free score 0.840 against the cut's 0.800, 10.0 spreads apart)"
    )
    old = {"ensemble_chosen": "vote", "ensemble_scores": {"cut": 0.8, "vote": 0.84}}
    assert choice_text(old) == "vote (label-free score 0.840, cut 0.800)"  # an earlier run
    assert choice_text({"ensemble": "vote"}) == ""


@pytest.mark.slow
def test_a_forced_tie_is_kept_by_the_rule_and_said_by_search_evaluate_and_the_gallery(
    tmp_path, monkeypatch
):
    """Any difference counts as a tie when the tie spans a million spreads: the run keeps the
    rule's kind whatever the scores, records it, and every reader says it was a tie."""
    views, y = planted(5, n=400, ratio=10, seed=4)  # the cut and the vote differ here
    root = stores(tmp_path, views, y)
    monkeypatch.setattr(score_spread, "TIE_SPREADS", 1e6)
    r = search(root, "tied", "--k", "5", "--seeds", "6")
    assert r.exit_code == 0, r.output
    hp = json.loads((root / "runs" / "tied" / "config.json").read_text())["hyperparameters"]
    assert hp["ensemble_tie"] is True and hp["ensemble_chosen"] == TIE_GOES_TO
    assert set(hp["ensemble_scores"]) == {"cut", "vote"} and hp["ensemble_spread"] > 0
    assert "a tie, kept the cut by rule" in r.output
    report = invoke("evaluate", "--root", root, "--run", "tied", "--no-baselines")
    assert report.exit_code == 0, report.output
    assert "a tie, kept the cut by rule" in report.output
    saved = json.loads((root / "runs" / "tied" / "report.json").read_text())["ensemble"]
    assert saved["tie"] is True and saved["kind"] == "cut"
    out = tmp_path / "gallery"
    exported = invoke("export", "--root", root, "--run", "tied", "--format", "html", "--out", out)
    assert exported.exit_code == 0, exported.output
    page = next(out.rglob("report.html")).read_text()
    assert '<p class="warning" id="ensemble-choice">' in page and "a tie" in page


@pytest.mark.slow
def test_k_within_the_spread_of_its_runner_up_is_said_as_see_both(tmp_path, monkeypatch):
    """A K range: choice.json records the runner-up, the margin and its spread; a clear margin
    is said as a lead, a forced tie as "K is a or b: see both" with the other run named."""
    views, y = planted(3, n=240, seed=3)
    root = stores(tmp_path, views, y)
    r = search(root, "clear", "--k", "3:4", "--k-scan", "exhaustive")
    assert r.exit_code == 0, r.output
    choice = json.loads((root / "runs" / "clear" / "choice.json").read_text())
    assert choice["k"] == 3 and choice["runner_up"]["k"] == 4
    assert choice["runner_up"]["run"] == "clear-k04"
    ks = {c["k"]: c for c in choice["candidates"]}
    assert choice["margin"] == pytest.approx(ks[3]["criterion"] - ks[4]["criterion"], abs=2e-6)
    assert choice["margin_spread"] == pytest.approx(
        np.hypot(ks[3]["criterion_spread"], ks[4]["criterion_spread"]), abs=2e-6
    )
    assert choice["tie"] is False and choice["margin"] > choice["margin_spread"]
    assert "K=3 leads the runner-up K=4 (run clear-k04)" in r.output

    monkeypatch.setattr(score_spread, "TIE_SPREADS", 1e6)
    r = search(root, "tied", "--k", "3:4", "--k-scan", "exhaustive")
    assert r.exit_code == 0, r.output
    choice = json.loads((root / "runs" / "tied" / "choice.json").read_text())
    assert choice["tie"] is True
    assert "K is 3 or 4: see both" in r.output and "the other is run tied-k04" in r.output
    report = invoke("evaluate", "--root", root, "--run", "tied", "--no-baselines")
    assert report.exit_code == 0, report.output
    assert "K is 3 or 4: see both" in report.output
    assert "K is 3 or 4: see both" in (root / "runs" / "tied" / "report.md").read_text()
    # the runner-up is a run of its own: it exports like any
    out = tmp_path / "other"
    exported = invoke("export", "--root", root, "--run", "tied-k04", "--out", out)
    assert exported.exit_code == 0, exported.output
    page_out = tmp_path / "gallery"
    exported = invoke(
        "export", "--root", root, "--run", "tied", "--format", "html", "--out", page_out
    )
    assert exported.exit_code == 0, exported.output
    page = next(page_out.rglob("report.html")).read_text()
    assert '<p class="warning" id="k-choice">' in page and "see both" in page


def test_auto_keeps_the_higher_score_only_beyond_the_spread():
    from hume.search.selection.ensembling import weigh

    rng = np.random.default_rng(1)
    cut = 0.85 + rng.normal(0, 0.02, 10)
    noisy_vote = cut + rng.normal(0.004, 0.02, 10)  # higher on average, by far less than the noise
    tied = weigh(("cut", "vote"), [cut, noisy_vote])
    assert tied.tie and tied.kind == TIE_GOES_TO and tied.scores["vote"] > tied.scores["cut"]
    clear_vote = cut + 0.03 + rng.normal(0, 0.002, 10)  # higher on every fold
    won = weigh(("cut", "vote"), [cut, clear_vote])
    assert not won.tie and won.kind == "vote"
    assert won.spread == pytest.approx(paired_spread(cut, clear_vote))
    # the consensus of the uneven prior is the linkage: a tie goes to it when the rule's kind
    # is not among the two
    linked = weigh(("linkage", "vote"), [cut, noisy_vote])
    assert linked.kind == (TIE_GOES_TO if TIE_GOES_TO == "vote" else "linkage")
    same = weigh(("cut", "vote"), [cut, cut])  # one labeling twice: nothing to break
    assert not same.tie and same.kind == "cut" and same.spread == 0.0
