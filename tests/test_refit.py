"""A review's corrections made into a new run: the anchored refit (hume.search.estimators.anchored_refit)
and the commands that make it (`hume search --from RUN --corrections F`, `hume label FOLDER
--corrections F`): moves and confirmations kept, merges and names carried, classes split,
files refused whole, a second run a no-op, a stopped refit continued."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_one_line_error, invoke, planted_views
from test_review_corrections import quick_workspace, read_csv, write

from hume.search.estimators.anchored_refit import (
    ProbeModel,
    RefitSettings,
    anchored_kmeans,
    kmeans_objective,
    refit_labeling,
    refit_with_choice,
    tightest_cut,
)


def _blobs(n_per: int = 60, seed: int = 0) -> tuple[list[np.ndarray], np.ndarray]:
    """Two views of four well separated classes."""
    return planted_views(4 * n_per, 4, (8, 5), 6.0, seed, shuffle=False)


def test_the_refit_spreads_a_few_anchors_to_their_neighbours():
    views, y = _blobs()
    wrong = y.copy()
    wrong[y == 3] = 2  # a labeling that put classes 2 and 3 together, class 3 left empty
    rows = np.flatnonzero(y == 3)[:3]  # a reviewer moves three of them to class 3
    trust = np.where(y == 3, 0.4, 1.0)  # where the seeds disagreed, as they do on such a class
    labels, model = refit_labeling(views, wrong, rows, np.full(3, 3), 4, trust)
    assert (labels[rows] == 3).all()
    assert (labels == y).mean() > 0.95 > (wrong == y).mean()
    # the moves alone would have fixed 3 rows: the refit moved the rest of the class with them
    assert (labels[y == 3] == 3).mean() > 0.9


def test_an_anchor_keeps_its_class_and_one_odd_image_does_not_move_its_class():
    views, y = _blobs(seed=1)
    row = np.flatnonzero(y == 0)[:1]
    labels, _ = refit_labeling(views, y, row, np.array([2]), 4)
    assert labels[row].tolist() == [2]
    assert (np.delete(labels, row) == np.delete(y, row)).mean() > 0.98


def test_a_class_never_anchored_nor_labelled_is_never_given():
    views, y = _blobs(seed=2)
    merged = np.where(y == 3, 2, y)  # class 3 merged away
    labels, model = refit_labeling(views, merged, np.array([0]), np.array([0]), 4)
    assert 3 not in labels
    assert 3 not in model.predict(views)


def test_the_probe_model_round_trips_through_its_state_and_predicts_the_refit():
    views, y = _blobs(seed=3)
    labels, model = refit_labeling(views, y, np.array([0, 1]), np.array([0, 0]), 4)
    again = ProbeModel.from_fitted_state(model.fitted_state())
    assert np.array_equal(again.predict(views), model.predict(views))
    free = np.ones(len(y), bool)
    free[[0, 1]] = False
    assert (model.predict(views)[free] == labels[free]).mean() > 0.98
    assert model.predict_seeds(views).shape == (3, len(y))  # the mean, then each view
    assert ((model.margins(views) >= 0) & (model.margins(views) <= 1)).all()


def test_untrusted_rows_do_not_train_the_probes():
    views, y = _blobs(seed=4)
    noisy = y.copy()
    flip = (y == 0) & (np.random.default_rng(0).random(len(y)) < 0.6)
    noisy[flip] = 1  # most of class 0 given class 1, where the seeds disagreed
    trust = np.where(flip, 0.2, 1.0)  # the seeds disagreed exactly where the labels are wrong
    fixed, _ = refit_labeling(views, noisy, np.empty(0, int), np.empty(0, int), 4, trust)
    assert (fixed == y).mean() > 0.97
    naive, _ = refit_labeling(
        views, noisy, np.empty(0, int), np.empty(0, int), 4, None, RefitSettings(rounds=1)
    )
    assert (fixed == y).mean() > (naive == y).mean()


def test_anchors_are_checked():
    views, y = _blobs()
    with pytest.raises(ValueError, match="distinct rows"):
        refit_labeling(views, y, np.array([0, 0]), np.array([1, 1]), 4)
    with pytest.raises(ValueError, match="outside"):
        refit_labeling(views, y, np.array([0]), np.array([7]), 4)


def test_kmeans_objective_is_the_mean_squared_distance_to_the_class_means():
    views, y = _blobs(seed=5)
    x = np.concatenate([v / np.linalg.norm(v, axis=1, keepdims=True) for v in views], 1)
    by_hand = sum(((x[y == c] - x[y == c].mean(0)) ** 2).sum() for c in range(4)) / len(y)
    assert kmeans_objective(views, y) == pytest.approx(by_hand, rel=1e-5)
    assert kmeans_objective(views, y) < kmeans_objective(views, np.roll(y, 7))


def test_anchored_kmeans_holds_its_anchors_from_either_start():
    views, y = _blobs(seed=6)
    rows, classes = np.array([0, 70]), np.array([3, 0])  # two rows put where they do not belong
    for start in ("anchors", "labels"):
        assert anchored_kmeans(views, y, rows, classes, 4, start=start)[rows].tolist() == [3, 0]
    # started from the labeling, two odd rows move nothing else (from the anchors, each of the
    # two classes would start at its odd row: why the refit compares both starts)
    labels = anchored_kmeans(views, y, rows, classes, 4, start="labels")
    assert (np.delete(labels, rows) == np.delete(y, rows)).all()
    with pytest.raises(ValueError, match="starts from"):
        anchored_kmeans(views, y, rows, classes, 4, start="nowhere")


def test_the_refit_keeps_the_probes_unless_kmeans_is_clearly_tighter():
    views, y = _blobs(seed=7)
    # a right labeling: k-means gains nothing, the probes' labeling is kept
    labels, _, record = refit_with_choice(views, y, np.array([0]), np.array([0]), 4)
    assert record["chosen"] == "probes" and (labels == y).all()
    # a labeling that cut every class in two along no line the views hold, every row trusted:
    # the probes stay near it, k-means from the anchors finds the classes
    wrong = np.where(np.arange(len(y)) % 2 == 0, y, (y + 1) % 4)
    rows = np.array([np.flatnonzero(y == c)[0] for c in range(4)])
    labels, model, record = refit_with_choice(views, wrong, rows, y[rows], 4)
    assert record["chosen"].startswith("kmeans") and (labels == y).mean() > 0.98
    assert set(record["objectives"]) == {"kmeans from anchors", "kmeans from probes", "probes"}
    assert (model.predict(views) == labels).mean() > 0.98  # the model is fitted to what was kept
    # without anchors: the probes, nothing compared
    _, _, record = refit_with_choice(views, y, np.empty(0, int), np.empty(0, int), 4)
    assert record == {"chosen": "probes", "compared": False}


def test_a_split_keeps_the_searchs_cut_or_a_tighter_one_by_kmeans():
    views, y = _blobs(seed=8)
    rows = np.flatnonzero(y < 2)  # a class holding two of the blobs
    part = [v[rows] for v in views]
    truth = y[rows]
    cut, origin = tightest_cut(part, truth, 2)
    assert origin == "search" and (cut == truth).all()  # the search's cut is already the tightest
    across = np.arange(len(rows)) % 2  # a cut across both blobs
    cut, origin = tightest_cut(part, across, 2, seed=1)
    assert origin == "kmeans" and min((cut == truth).mean(), (cut != truth).mean()) == 0


# -- through the commands ----------------------------------------------------------------------


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    base = tmp_path_factory.mktemp("refit")
    ws = quick_workspace(base)
    out = base / "plain"
    r = invoke("export", "--run", "r", "--root", ws, "--format", "csv", "--out", out)
    assert r.exit_code == 0, r.output
    return {"ws": ws, "base": base, "rows": read_csv(out / "labels.csv")}


def _by_class(rows) -> dict[int, list[str]]:
    out: dict[int, list[str]] = {}
    for row in rows:
        out.setdefault(int(row["class"]), []).append(row["path"])
    return out


def _refit(ws, fix: Path, *extra):
    return invoke("search", "--from", "r", "--corrections", fix, "--root", ws["ws"], *extra)


def _config(ws, name: str) -> dict:
    return json.loads((ws["ws"] / "runs" / name / "config.json").read_text())


def test_a_refit_keeps_every_correction_and_records_its_files(ws, tmp_path):
    classes = _by_class(ws["rows"])
    big = max(classes, key=lambda c: len(classes[c]))
    others = [c for c in classes if c != big]
    moved = classes[big][:2]
    kept = classes[others[0]][:2]
    fix = write(
        tmp_path / "fix.json",
        {
            "names": {str(others[0]): "kept ones"},
            "merge": [[others[1], others[2]]],
            "moves": {p: others[0] for p in moved},
            "confirm": kept,
            "run": "r",
        },
    )
    r = _refit(ws, fix, "--run", "fixed")
    assert r.exit_code == 0, r.output
    assert "2 moves" in r.output and "2 confirmed" in r.output and "1 merge" in r.output
    record = _config(ws, "fixed")["refit"]
    assert record["from"] == "r"
    import hashlib

    assert record["corrections"][0]["sha256"] == hashlib.sha256(fix.read_bytes()).hexdigest()
    out = tmp_path / "out"
    r = invoke("export", "--run", "fixed", "--root", ws["ws"], "--format", "csv", "--out", out)
    assert r.exit_code == 0, r.output
    rows = {row["path"]: row for row in read_csv(out / "labels.csv")}
    assert all(int(rows[p]["class"]) == others[0] for p in moved + kept)
    assert {rows[p]["name"] for p in moved + kept} == {"kept ones"}
    assert others[2] not in {int(row["class"]) for row in rows.values()}  # merged away
    classes_json = json.loads((out / "classes.json").read_text())
    merged = next(c for c in classes_json["classes"] if c["class"] == others[1])
    assert merged["merged"] == [others[2]]
    # evaluate and predict read the new run as any run
    r = invoke("evaluate", "--run", "fixed", "--root", ws["ws"])
    assert r.exit_code == 0, r.output
    r = invoke(
        "predict", "--run", "fixed", "--root", ws["ws"], "--dataset", "held", "--out",
        tmp_path / "pred",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    predicted = {int(row["class"]) for row in read_csv(tmp_path / "pred" / "labels.csv")}
    assert others[2] not in predicted


def test_the_same_refit_again_does_nothing_and_says_so(ws, tmp_path):
    fix = write(tmp_path / "fix.json", {"names": {"0": "first"}})
    r = _refit(ws, fix)
    assert r.exit_code == 0, r.output
    name = r.output.strip().splitlines()[-1].split()[1].rstrip(":")
    config = ws["ws"] / "runs" / name / "config.json"
    before = config.stat().st_mtime_ns
    r = _refit(ws, fix)
    assert r.exit_code == 0, r.output
    assert "already made" in r.output
    assert config.stat().st_mtime_ns == before


def test_a_split_makes_new_classes_in_every_format(ws, tmp_path):
    classes = _by_class(ws["rows"])
    big = max(classes, key=lambda c: len(classes[c]))
    k = len(classes)
    fix = write(tmp_path / "split.json", {"split": {str(big): 2}})
    r = _refit(ws, fix, "--run", "split")
    assert r.exit_code == 0, r.output
    assert _config(ws, "split")["refit"]["splits"][str(big)]["classes"] == [big, k]
    out = tmp_path / "out"
    r = invoke(
        "export", "--run", "split", "--root", ws["ws"], "--format", "csv,folders,html", "--out",
        out,
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    found = _by_class(read_csv(out / "labels.csv"))
    assert k in found and big in found
    assert (out / f"class_{k:02d}").is_dir()
    assert f"class_{k:02d}" in (out / "report.html").read_text()


def test_a_split_over_a_range_chooses_its_parts_without_labels(ws, tmp_path):
    classes = _by_class(ws["rows"])
    big = max(classes, key=lambda c: len(classes[c]))
    fix = write(tmp_path / "range.json", {"split": {str(big): "2:3"}})
    r = _refit(ws, fix, "--run", "range")
    assert r.exit_code == 0, r.output
    chosen = _config(ws, "range")["refit"]["splits"][str(big)]
    assert chosen["range"] == [2, 3] and chosen["parts"] in (2, 3)
    assert len(chosen["classes"]) == chosen["parts"]


@pytest.mark.parametrize(
    "content, says",
    [
        ({"split": {"0": 1}}, "no number of parts"),
        ({"split": {"0": "4:2"}}, "no number of parts"),
        ({"split": {"99": 2}}, "class 99 is unknown"),
        ({"confirm": "a.png"}, "confirm must be a list"),
        ({"confirm": ["nowhere.png"]}, "'nowhere.png' is no row"),
        ({"run": "another"}, "made on run 'another'"),
    ],
)
def test_a_file_the_refit_cannot_use_is_refused_and_nothing_written(ws, tmp_path, content, says):
    runs = sorted(p.name for p in (ws["ws"] / "runs").iterdir())
    r = _refit(ws, write(tmp_path / "bad.json", content))
    assert_one_line_error(r, says)
    assert sorted(p.name for p in (ws["ws"] / "runs").iterdir()) == runs


def test_a_row_both_moved_and_confirmed_is_refused(ws, tmp_path):
    path = ws["rows"][0]["path"]
    r = _refit(ws, write(tmp_path / "both.json", {"moves": {path: 0}, "confirm": [path]}))
    assert_one_line_error(r, "both moved and confirmed")


def test_export_refuses_a_split_and_says_how_to_make_it(ws, tmp_path):
    r = invoke(
        "export", "--run", "r", "--root", ws["ws"], "--out", tmp_path / "o", "--corrections",
        write(tmp_path / "s.json", {"split": {"0": 2}}),
    )  # fmt: skip
    assert_one_line_error(r, "hume search --from r --corrections")
    assert not (tmp_path / "o").exists()


def test_from_refuses_search_options_it_would_ignore(ws, tmp_path):
    r = _refit(ws, write(tmp_path / "n.json", {}), "--views", "hog")
    assert_one_line_error(r, "leave out --views")
    r = invoke("search", "--corrections", tmp_path / "n.json", "--root", ws["ws"])
    assert_one_line_error(r, "--corrections needs --from RUN")


def test_a_stopped_refit_continues_without_searching_its_split_again(ws, tmp_path):
    classes = _by_class(ws["rows"])
    big = max(classes, key=lambda c: len(classes[c]))
    fix = write(tmp_path / "stop.json", {"split": {str(big): 2}})
    command = [
        sys.executable, "-m", "hume", "search", "--from", "r", "--corrections", str(fix),
        "--root", str(ws["ws"]), "--run", "stopped",
    ]  # fmt: skip
    env = {**os.environ, "HUME_FAULT_REFIT": "kill:1"}
    killed = subprocess.run(command, env=env, capture_output=True, text=True)
    assert killed.returncode != 0
    run = ws["ws"] / "runs" / "stopped"
    assert json.loads((run / "config.json").read_text())["status"] == "running"
    kept = (run / "splits" / f"class-{big}.npz").stat().st_mtime_ns
    done = subprocess.run(command, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert "continuing the refit" in done.stdout + done.stderr
    assert "kept" in done.stdout + done.stderr
    assert (run / "splits" / f"class-{big}.npz").stat().st_mtime_ns == kept
    assert json.loads((run / "config.json").read_text())["status"] == "complete"


def test_label_with_corrections_replaces_its_classes_and_then_does_nothing(tmp_path):
    from test_own_images import KINDS, make_folder

    folder = tmp_path / "photos"
    make_folder(folder, 8, seed=3)
    common = ["--models", "hog,pixels", "--k", KINDS, "--seeds", "2", "--root", tmp_path / "ws"]
    r = invoke("label", folder, *common)
    assert r.exit_code == 0, r.output
    out = tmp_path / "photos-by-class"
    rows = read_csv(out / "labels.csv")
    classes = _by_class(rows)
    first = sorted(classes)[0]
    target = sorted(classes)[1]
    moved = classes[first][0]
    run = json.loads((out / "export.json").read_text())["run"]
    fix = write(tmp_path / "corrections.json", {"run": run, "moves": {moved: target}})
    r = invoke("label", folder, *common, "--corrections", fix)
    assert r.exit_code == 0, r.output
    assert "[3/4]" in r.output and "made from your review" in r.output
    after = {row["path"]: int(row["class"]) for row in read_csv(out / "labels.csv")}
    assert after[moved] == target
    assert (out / "report.html").is_file() and any(p.is_dir() for p in out.iterdir())
    again = invoke("label", folder, *common, "--corrections", fix)
    assert again.exit_code == 0, again.output
    assert "nothing to do" in again.output
    assert "wrote" not in again.output


def test_label_refuses_a_bad_corrections_file_before_it_embeds_anything(tmp_path):
    from test_own_images import make_folder

    folder = tmp_path / "photos"
    make_folder(folder, 2, seed=5)
    for content, says in ((None, "not found"), ({"split": {"0": 1}}, "no number of parts")):
        fix = tmp_path / "fix.json"
        if content is not None:
            write(fix, content)
        r = invoke("label", folder, "--models", "hog", "--root", tmp_path / "ws",
                    "--corrections", fix)  # fmt: skip
        assert_one_line_error(r, says)
        assert not (tmp_path / "ws").exists() and not (tmp_path / "photos-by-class").exists()
