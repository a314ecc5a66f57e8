"""A reviewed Label Studio project read back through `hume export --corrections`, from exports a
running Label Studio (1.23.2) wrote (tests/data/label_studio/README.txt says how): kept reviews
are confirmations, changed ones moves, cancelled, empty and unreviewed tasks are skipped and
counted, and a kept review holds a row where an earlier corrections file put it."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
from helpers import assert_one_line_error, invoke
from test_review_corrections import quick_workspace, read_csv, write

DATA = Path(__file__).parent / "data" / "label_studio"
#: export.json: the review of the tasks of the run without corrections (40 tasks, 9 annotated)
KEPT = ["2024/july/extra/img0003.png", "2024/july/extra/img0007.png",
        "2024/july/extra/img0011.png", "2024/july/extra/img0015.png"]  # fmt: skip
MOVED = {
    "2024/july/extra/img0019.png": 2,
    "2024/july/extra/img0023.png": 3,
    "2024/july/extra/img0027.png": 1,  # kept at first, then updated to another class
}
CANCELLED, EMPTY = "2024/july/extra/img0031.png", "2024/july/extra/img0035.png"
#: fixes.json moves this row to class 3 (and names class 1 "rings")
FIXED, FIXED_TO = "2024/july/extra/img0003.png", 3


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """The workspace the fixtures were reviewed from (same images, same quick run ``r``) and the
    classes of its plain export."""
    base = tmp_path_factory.mktemp("ls")
    ws = quick_workspace(base)
    r = invoke("export", "--run", "r", "--root", ws, "--format", "csv", "--out", base / "plain")
    assert r.exit_code == 0, r.output
    return {"ws": ws, "before": _classes(base / "plain")}


def _export(run, out, *files):
    args = [a for f in files for a in ("--corrections", f)]
    return invoke("export", "--run", "r", "--root", run["ws"], "--format", "csv", "--out", out,
                   *args)  # fmt: skip


def _classes(out: Path) -> dict[str, int]:
    return {row["path"]: int(row["class"]) for row in read_csv(out / "labels.csv")}


def _note(output: str, source: Path) -> str:
    """The line the export printed for the file ``source``."""
    return next(ln for ln in output.splitlines() if ln.startswith(f"applied {source}"))


def _real(name: str = "export.json") -> list[dict]:
    return json.loads((DATA / name).read_text())


def test_the_fixture_has_the_shape_label_studio_exports():
    """Task predictions are ids; the prediction shown sits in each annotation."""
    tasks = _real()
    assert len(tasks) == 40 and all(t["predictions"] == [t["id"]] for t in tasks)
    annotated = [a for t in tasks for a in t["annotations"]]
    assert len(annotated) == 9
    assert all(a["prediction"]["result"][0]["type"] == "choices" for a in annotated)
    assert all(a["parent_prediction"] == a["prediction"]["id"] for a in annotated)


def test_kept_reviews_confirm_and_changed_ones_move(run, tmp_path):
    export = DATA / "export.json"
    r = _export(run, tmp_path / "out", export)
    assert r.exit_code == 0, r.output
    before, after = run["before"], _classes(tmp_path / "out")
    changed = sum(before[p] != c for p, c in MOVED.items())
    note = _note(r.output, export)
    assert f"3 moves ({changed} changed a class); 4 confirmed" in note
    assert "7 of 40 tasks reviewed, 4 kept the predicted class" in note
    assert "2 annotations skipped (1 cancelled, 1 empty)" in note
    for path, c in before.items():
        assert after[path] == MOVED.get(path, c), path
    applied = json.loads((tmp_path / "out" / "export.json").read_text())["corrections"]
    assert [a["format"] for a in applied] == ["label-studio"]


def test_a_kept_review_holds_a_row_an_earlier_file_moved(run, tmp_path):
    """The issue: fixes.json moved a row, the reviewer kept the class the task showed; the row
    stays where fixes.json put it instead of going back to hume's first class."""
    fixes, export = DATA / "fixes.json", DATA / "export.json"
    assert FIXED in KEPT and run["before"][FIXED] != FIXED_TO
    r = _export(run, tmp_path / "out", fixes, export)
    assert r.exit_code == 0, r.output
    assert "4 confirmed; 7 of 40 tasks reviewed, 4 kept" in _note(r.output, export)
    after = _classes(tmp_path / "out")
    assert after[FIXED] == FIXED_TO
    for path, c in run["before"].items():
        assert after[path] == MOVED.get(path, FIXED_TO if path == FIXED else c), path


def test_the_review_of_tasks_exported_with_an_earlier_file(run, tmp_path):
    """export-after-fixes.json reviews the tasks exported with fixes.json: the fixed row and a
    "rings" one kept, one image moved to "rings" (a name fixes.json gave), one to class_00."""
    fixes, export = DATA / "fixes.json", DATA / "export-after-fixes.json"
    r = _export(run, tmp_path / "out", fixes, export)
    assert r.exit_code == 0, r.output
    note = _note(r.output, export)
    assert "2 moves" in note and "2 confirmed; 4 of 4 tasks reviewed, 2 kept" in note
    assert "0 annotations skipped" in note
    moved = {"2024/july/extra/img0039.png": 1, "2024/july/extra/img0007.png": 0}
    after = _classes(tmp_path / "out")
    for path, c in run["before"].items():
        assert after[path] == moved.get(path, FIXED_TO if path == FIXED else c), path


def test_every_reviewed_task_is_an_anchor(run):
    from hume.export.review import reviewed
    from hume.export.rows import run_rows

    rows = run_rows(run["ws"] / "runs" / "r", run["ws"])
    review = reviewed(rows, [DATA / "fixes.json", DATA / "export.json"])
    anchors = {review.key_of(p, i): c for (p, i), c in review.anchors.items()}
    want = {p: run["before"][p] for p in KEPT} | MOVED | {FIXED: FIXED_TO}
    assert anchors == want


def test_one_skipped_annotation_is_singular(run, tmp_path):
    one = [t for t in _real() if t["data"]["path"] == CANCELLED]
    export = write(tmp_path / "one.json", one)
    r = _export(run, tmp_path / "out", export)
    assert r.exit_code == 0, r.output
    note = _note(r.output, export)
    assert "0 of 1 task reviewed" in note and "1 annotation skipped (1 cancelled" in note


def test_without_the_prediction_shown_the_row_s_class_decides(run, tmp_path):
    """An annotation made without a prediction (Label Studio stores ``{}``): choosing the class
    the row is in now confirms it, another class moves it."""
    tasks = _real()
    for task in tasks:
        for a in task["annotations"]:
            a["prediction"], a["parent_prediction"] = {}, None
    export = write(tmp_path / "bare.json", tasks)
    r = _export(run, tmp_path / "out", DATA / "fixes.json", export)
    assert r.exit_code == 0, r.output
    now = {**run["before"], FIXED: FIXED_TO}
    chosen = {p: int(_choice(p)[-2:]) for p in [*KEPT, *MOVED]}
    kept = sum(chosen[p] == now[p] for p in chosen)
    assert chosen[FIXED] != FIXED_TO  # the row goes where the annotation says
    assert f"7 of 40 tasks reviewed, {kept} kept" in _note(r.output, export)
    assert _classes(tmp_path / "out") == {**now, **chosen}  # nothing says what FIXED showed


def _choice(path: str) -> str:
    """The class name the last annotation of ``path``'s task in export.json chose."""
    task = next(t for t in _real() if t["data"]["path"] == path)
    return task["annotations"][-1]["result"][0]["value"]["choices"][0]


def test_a_second_task_for_an_image_must_agree(run, tmp_path):
    """A synced storage adds a task per image (its data only the image, no prediction)."""
    tasks = _real()
    moved = next(t for t in tasks if t["data"]["path"] == next(iter(MOVED)))
    twin = copy.deepcopy(moved)
    twin["id"], twin["data"], twin["predictions"] = 41, {"image": moved["data"]["image"]}, []
    twin["annotations"][0]["prediction"] = {}
    export = write(tmp_path / "twin.json", [*tasks, twin])
    r = _export(run, tmp_path / "out", export)
    assert r.exit_code == 0, r.output
    assert "3 moves" in _note(r.output, export)
    twin["annotations"][0]["result"][0]["value"]["choices"] = ["class_00"]
    export = write(tmp_path / "twin2.json", [*tasks, twin])
    assert_one_line_error(
        _export(run, tmp_path / "out2", export), "tasks 5 and 41 show the same image"
    )
    assert not (tmp_path / "out2").exists()


@pytest.mark.parametrize(
    "name, fragment",
    [
        ("export-min.json", "JSON-MIN export"),
        ("export.csv", "is a CSV file, not a corrections file"),
    ],
)
def test_json_min_and_csv_exports_are_refused(run, tmp_path, name, fragment):
    assert_one_line_error(_export(run, tmp_path / "out", DATA / name), fragment)
    assert not (tmp_path / "out").exists()


def test_the_tasks_file_itself_is_refused(run, tmp_path):
    tasks = [{"data": t["data"], "predictions": []} for t in _real()]
    export = write(tmp_path / "tasks.json", tasks)
    assert_one_line_error(_export(run, tmp_path / "out", export), "without annotations")
