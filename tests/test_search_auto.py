"""The choices a run makes for itself, through the commands: the ensemble kind (``--ensemble
auto``, the default) on a mixture where the papers' vote visibly errs, and the verdict on weak
views that `hume evaluate` and the gallery show."""

from __future__ import annotations

import json

import numpy as np
import pytest
from helpers import invoke
from test_search_choice import planted, run_labels, search, stores

from hume.evaluate.metrics import cluster_accuracy

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.mark.slow
def test_auto_takes_the_ensemble_that_is_learned_best_and_it_is_the_one_that_is_right(tmp_path):
    """A 5:1 mixture of 5 classes, 6 seeds: the seeds disagree on the small classes, the vote in
    the best seed's classes loses one, a consensus keeps it. The auto run records the label-free
    scores of the cut and the vote, apart by more than their spread (a clear win), and takes the
    higher; its labeling is that kind's run's, and it is right where the vote is not."""
    views, y = planted(5, n=400, ratio=5, seed=4)
    root = stores(tmp_path, views, y)
    acc = {}
    for kind in ("auto", "cut", "linkage", "vote"):
        r = search(root, kind, "--k", "5", "--seeds", "6", "--ensemble", kind)
        assert r.exit_code == 0, r.output
        acc[kind] = cluster_accuracy(y, run_labels(root, kind))
    hp = json.loads((root / "runs" / "auto" / "config.json").read_text())["hyperparameters"]
    scores, chosen = hp["ensemble_scores"], hp["ensemble_chosen"]
    assert set(scores) == {"cut", "vote"}
    # a clear win: the scores differ by more than their spread, and the higher one is kept
    assert hp["ensemble_tie"] is False
    assert abs(scores["cut"] - scores["vote"]) > hp["ensemble_spread"] > 0
    # known beforehand: on this mixture the vote errs and the cut does not (the runs below)
    assert chosen == "cut" and scores["cut"] > scores["vote"]
    assert np.array_equal(run_labels(root, "auto"), run_labels(root, "cut"))
    assert acc["auto"] > acc["vote"], acc  # the vote's error is real ...
    assert acc["auto"] == acc["cut"] > acc["vote"], acc  # ... and auto made the right one

    report = invoke("evaluate", "--root", root, "--run", "auto")
    assert report.exit_code == 0, report.output
    assert f"ensemble chosen without labels: {chosen} (label-free score" in report.output
    assert "spreads apart" in report.output
    md = (root / "runs" / "auto" / "report.md").read_text()
    assert f"ensemble chosen without labels: {chosen}" in md


@pytest.mark.parametrize(
    "kinds, cut, vote, chosen, tie, spread",
    [
        # a clear win of the consensus: differences 0.2, 0.2, 0.2, 0.3 (mean 0.225, sd 0.05)
        (("cut", "vote"), [0.9] * 4, [0.7, 0.7, 0.7, 0.6], "cut", False, 0.05 * (7 / 12) ** 0.5),
        # a clear win of the vote
        (("cut", "vote"), [0.6] * 4, [0.9, 0.9, 0.9, 0.8], "vote", False, 0.05 * (7 / 12) ** 0.5),
        # the vote higher by 0.005, well within the spread: a tie, which goes to the consensus
        (("cut", "vote"), [0.8, 0.9, 0.8, 0.88], [0.9, 0.8, 0.9, 0.8], "cut", True, None),
        (("linkage", "vote"), [0.8, 0.9, 0.8, 0.88], [0.9, 0.8, 0.9, 0.8], "linkage", True, None),
        # the same on every fold: no spread, no tie to break; the consensus
        (("cut", "vote"), [0.8, 0.9, 0.7, 0.9], [0.8, 0.9, 0.7, 0.9], "cut", False, 0.0),
    ],
)
def test_the_auto_rule_on_fold_scores_with_known_answers(kinds, cut, vote, chosen, tie, spread):
    """docs/algorithm.md §5.6, §5.9 on four hand-made folds: the higher mean score wins unless
    the difference is within one spread, sd(d)·sqrt(1/F + 1/(F − 1)); a tie goes to the
    consensus."""
    from hume.search.selection.ensembling import weigh

    choice = weigh(kinds, np.array([cut, vote]))
    assert choice.kind == chosen and choice.tie is tie
    assert choice.scores == pytest.approx({kinds[0]: np.mean(cut), "vote": np.mean(vote)})
    if spread is not None:
        assert choice.spread == pytest.approx(spread, abs=1e-9)
    else:
        assert choice.spread > abs(np.mean(cut) - np.mean(vote))


@pytest.mark.slow
def test_evaluate_and_the_gallery_say_when_the_views_single_out_no_labeling(tmp_path):
    """Views of pure noise: the seeds disagree, and the run says the classes are not to be
    trusted (weak); a clean planted mixture: the seeds agree (strong). Both label-free."""
    rng = np.random.default_rng(0)
    clean, y = planted(3, n=240, seed=1)
    noise = [rng.normal(size=(240, d)).astype(np.float32) for d in (12, 10)]
    for name, views in (("clean", clean), ("noise", noise)):
        (tmp_path / name).mkdir()
        root = stores(tmp_path / name, views, y)
        assert search(root, name, "--k", "3", "--seeds", "6").exit_code == 0
        report = invoke("evaluate", "--root", root, "--run", name)
        assert report.exit_code == 0, report.output
        level = json.loads((root / "runs" / name / "report.json").read_text())["reproducibility"][
            "level"
        ]
        assert level == ("strong" if name == "clean" else "weak"), (name, level)
        assert f"{level} (label-free): the seeds' stability is" in report.output
        out = tmp_path / name / "gallery"
        exported = invoke("export", "--root", root, "--run", name, "--format", "html", "--out", out)
        assert exported.exit_code == 0, exported.output
        page = next(out.rglob("*.html")).read_text()
        assert 'id="reproducibility"' in page
        assert ('class="warning"' in page) == (name == "noise")
        if name == "noise":
            assert "do not trust" in page and "stronger backbone" in page
