"""The review loop through the commands: corrections files (names, merges, moves, stacked,
refused) on `hume export` and `hume predict`, and the Label Studio round trip (tasks and a
labeling config out, a reviewed Label Studio export back in as corrections)."""

from __future__ import annotations

import csv
import hashlib
import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from helpers import assert_one_line_error, invoke
from test_own_images import KINDS, make_folder


def read_csv(path: Path) -> list[dict[str, str]]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def write(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj))
    return path


def quick_run(ws: Path, *folders: Path) -> None:
    """Every folder embedded with hog and pixels into ``ws``, and a quick run ``r`` over the
    first one (its dataset is named after the folder)."""
    for where in folders:
        for model in ("hog", "pixels"):
            r = invoke(
                "embed", "--model", model, "--dataset", f"imagefolder:{where}", "--root", ws,
                "--workers", "0",
            )  # fmt: skip
            assert r.exit_code == 0, r.output
    r = invoke(
        "search", "--views", "hog,pixels", "--dataset", folders[0].name, "--k", KINDS,
        "--seeds", "2", "--iters", "5", "--run", "r", "--root", ws, "--device", "cpu",
    )  # fmt: skip
    assert r.exit_code == 0, r.output


def quick_workspace(base: Path) -> Path:
    """Forty images of four kinds (``base/photos``) and twelve held back (``base/held``), both
    embedded into ``base/ws``, and a quick run ``r`` over the first: the workspace."""
    folder, held = base / "photos", base / "held"
    make_folder(folder, 10, seed=0)
    make_folder(held, 3, seed=1)
    quick_run(base / "ws", folder, held)
    return base / "ws"


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """A small folder of four kinds, a held-back folder, both embedded, and a quick run."""
    base = tmp_path_factory.mktemp("review")
    ws = quick_workspace(base)
    plain = base / "plain"
    r = invoke("export", "--run", "r", "--root", ws, "--format", "csv", "--out", plain)
    assert r.exit_code == 0, r.output
    rows = read_csv(plain / "labels.csv")
    return {"ws": ws, "folder": base / "photos", "held": base / "held", "rows": rows, "base": base}


def _export(run, out, *extra):
    return invoke("export", "--run", "r", "--root", run["ws"], "--out", out, *extra)


def _classes(rows):
    return {row["path"]: int(row["class"]) for row in rows}


def _a_row_of(rows, c, not_in=()):
    return next(row["path"] for row in rows if int(row["class"]) == c and row["path"] not in not_in)


def test_without_corrections_every_class_is_named_by_its_folder(run):
    assert all(row["name"] == f"class_{int(row['class']):02d}" for row in run["rows"])


def test_names_merge_and_move_reach_every_format(run, tmp_path):
    before = _classes(run["rows"])
    moved = _a_row_of(run["rows"], 0)
    fix = write(
        tmp_path / "fix.json",
        {"names": {"0": "boots & shoes", "3": "sandals"}, "merge": [[1, 2]], "moves": {moved: 3}},
    )
    out = tmp_path / "out"
    formats = "csv,folders" + (",parquet" if _has_pyarrow() else "")
    r = _export(run, out, "--format", formats, "--corrections", fix)
    assert r.exit_code == 0, r.output
    assert "in 3 classes" in r.output and "boots & shoes:" in r.output
    rows = read_csv(out / "labels.csv")
    after = _classes(rows)
    for path, c in before.items():
        want = 3 if path == moved else (1 if c == 2 else c)
        assert after[path] == want, path
    names = {0: "boots & shoes", 1: "class_01", 3: "sandals"}
    assert all(row["name"] == names[int(row["class"])] for row in rows)
    # the folder tree: one folder per class, named by its name made a safe file name
    folder_of = {0: "boots---shoes", 1: "class_01", 3: "sandals"}
    folders = {p.name for p in out.iterdir() if p.is_dir()}
    assert folders == {folder_of[c] for c in after.values()}
    for path, c in after.items():
        assert (out / folder_of[c] / path).resolve() == (run["folder"] / path).resolve()
    classes = json.loads((out / "classes.json").read_text())
    assert [(c["class"], c["name"]) for c in classes["classes"]] == sorted(names.items())
    assert next(c for c in classes["classes"] if c["class"] == 1)["merged"] == [2]
    digest = hashlib.sha256(fix.read_bytes()).hexdigest()
    applied = [{"path": str(fix.resolve()), "sha256": digest, "format": "hume"}]
    assert classes["corrections"] == applied
    assert json.loads((out / "export.json").read_text())["corrections"] == applied
    if _has_pyarrow():
        import pyarrow.parquet as pq

        table = pq.read_table(out / "labels.parquet").to_pydict()
        assert table["name"] == [row["name"] for row in rows]
        assert table["class"] == [int(row["class"]) for row in rows]
    # the same again is up to date; other corrections need --overwrite
    again = _export(run, out, "--format", formats, "--corrections", fix)
    assert again.exit_code == 0 and "nothing to do" in again.output
    write(fix, {"names": {"0": "boots"}})
    assert_one_line_error(
        _export(run, out, "--format", formats, "--corrections", fix), "--overwrite"
    )


def _has_pyarrow() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def test_corrections_stack_in_order_and_moves_follow_merges(run, tmp_path):
    rows0 = run["rows"]
    a, b = _a_row_of(rows0, 0), _a_row_of(rows0, 1)
    first = write(tmp_path / "1.json", {"names": {"2": "discs"}, "merge": [[0, 1]]})
    # merges first, then moves (to class 1, merged into 0 by the first file: lands in 0), then
    # names: 1 is part of 0 now, and 0 is nearer the group's front, so "zero" wins over "one"
    second = write(
        tmp_path / "2.json",
        {"merge": [[3, 2]], "moves": {a: 2, b: 1}, "names": {"1": "one", "0": "zero"}},
    )
    out = tmp_path / "out"
    r = _export(run, out, "--format", "csv", "--corrections", first, "--corrections", second)
    assert r.exit_code == 0, r.output
    rows = read_csv(out / "labels.csv")
    after = _classes(rows)
    for path, c in _classes(rows0).items():
        want = {0: 0, 1: 0, 2: 3, 3: 3}[c]
        if path == a:
            want = 3  # class 2 was merged into 3 by the second file's merge, before its moves
        if path == b:
            want = 0
        assert after[path] == want, path
    # 3 took 2, which alone was named: its name comes along
    assert {int(r["class"]): r["name"] for r in rows} == {0: "zero", 3: "discs"}
    classes = json.loads((out / "classes.json").read_text())
    assert [c["path"] for c in classes["corrections"]] == [
        str(first.resolve()),
        str(second.resolve()),
    ]
    for line in (f"{first}: 1 merge; 1 name", f"{second}: 1 merge; 2 moves (1 changed a class)"):
        assert line in r.output


BAD = {
    "unknown class name": ({"names": {"7": "x"}}, "class 7 is unknown"),
    "unknown merged class": ({"merge": [[0, 9]]}, "class 9 is unknown"),
    "unknown move target": ({"moves": {"PATH": 4}}, "class 4 is unknown"),
    "unknown path": ({"moves": {"nowhere/none.png": 1}}, "'nowhere/none.png' is no row"),
    "a key misspelt": ({"merges": [[0, 1]]}, "unknown key 'merges'"),
    "a merge of one": ({"merge": [[1]]}, "fewer than two classes"),
    "a class as text": ({"moves": {"PATH": "boots"}}, "write the class's integer"),
    "two classes one name": ({"names": {"0": "a", "1": "a"}}, "both named 'a'"),
    "one folder for two": ({"names": {"0": "a b", "1": "a-b"}}, "would share the folder"),
    "a name of markup": ({"names": {"0": "<b>"}}, "is not allowed"),
    "an export file's name": ({"names": {"0": "labels.csv"}}, "a file the export writes"),
    "no object": ([1, 2], "is no corrections file"),
    "tasks never reviewed": ([{"data": {"image": "x.png"}}], "without annotations"),
}


@pytest.mark.parametrize("case", list(BAD))
def test_a_bad_corrections_file_is_refused_and_nothing_written(run, tmp_path, case):
    content, fragment = BAD[case]
    text = json.dumps(content).replace("PATH", run["rows"][0]["path"])
    good = write(tmp_path / "good.json", {"names": {"0": "fine"}})
    bad = tmp_path / "bad.json"
    bad.write_text(text)
    out = tmp_path / "out"
    for files in (["--corrections", bad], ["--corrections", good, "--corrections", bad]):
        result = _export(run, out, "--format", "csv,folders", *files)
        assert_one_line_error(result, fragment, str(bad))
        assert not out.exists()
    result = invoke(
        "predict", "--run", "r", "--root", run["ws"], "--dataset", "held", "--out", out,
        "--corrections", bad,
    )  # fmt: skip
    assert result.exit_code == 2 and not out.exists()


def test_an_unreadable_corrections_file_is_one_line(run, tmp_path):
    out = tmp_path / "out"
    assert_one_line_error(_export(run, out, "--corrections", tmp_path / "none.json"), "not found")
    broken = tmp_path / "broken.json"
    broken.write_text('{"names": {"0": "a",}}')
    assert_one_line_error(_export(run, out, "--corrections", broken), "not valid JSON", "line 1")
    assert_one_line_error(_export(run, out, "--image-root", "http://x/"), "label-studio")
    assert not out.exists()


def test_predict_applies_the_corrections_to_the_new_images(run, tmp_path):
    out = tmp_path / "pred"
    args = ["predict", "--run", "r", "--root", run["ws"], "--dataset", "held", "--out", out]
    r = invoke(*args, "--format", "csv")
    assert r.exit_code == 0, r.output
    before = _classes(read_csv(out / "labels.csv"))
    held = sorted(before)[0]
    target = (before[held] + 1) % KINDS
    fix = write(tmp_path / "fix.json", {"names": {str(target): "chosen"}, "moves": {held: target}})
    out2 = tmp_path / "pred2"
    r = invoke(*args[:-1], out2, "--format", "csv,label-studio", "--corrections", fix)
    assert r.exit_code == 0, r.output
    rows = read_csv(out2 / "labels.csv")
    after = _classes(rows)
    assert after[held] == target and {p: c for p, c in after.items() if p != held} == {
        p: c for p, c in before.items() if p != held
    }
    assert all((row["name"] == "chosen") == (int(row["class"]) == target) for row in rows)
    # a path of the searched folder is no image of this prediction
    other = write(tmp_path / "other.json", {"moves": {"nowhere.png": 0}})
    assert_one_line_error(
        invoke(*args[:-1], tmp_path / "p3", "--corrections", other), "is no row of this export"
    )


# -- Label Studio ------------------------------------------------------------------------------


def check_tasks(tasks, names: set[str], run_name: str) -> None:
    """The Label Studio import schema hume promises (tasks with predictions, choices)."""
    assert isinstance(tasks, list) and tasks
    for task in tasks:
        assert set(task) == {"data", "predictions"}
        data = task["data"]
        assert isinstance(data["image"], str) and isinstance(data["path"], str)
        assert isinstance(data["split"], str)
        (prediction,) = task["predictions"]
        assert set(prediction) == {"model_version", "score", "result"}
        assert prediction["model_version"] == run_name
        assert isinstance(prediction["score"], float) and 0 <= prediction["score"] <= 1
        (result,) = prediction["result"]
        assert {k: result[k] for k in ("from_name", "to_name", "type")} == {
            "from_name": "class",
            "to_name": "image",
            "type": "choices",
        }
        assert isinstance(result["id"], str)
        (choice,) = result["value"]["choices"]
        assert choice in names
    ids = [t["predictions"][0]["result"][0]["id"] for t in tasks]
    assert len(set(ids)) == len(ids)


def check_config(path: Path) -> list[str]:
    """The labeling config: an Image named image on $image, single Choices named class."""
    view = ET.parse(path).getroot()
    assert view.tag == "View"
    image, choices = list(view)
    assert image.tag == "Image" and image.attrib == {"name": "image", "value": "$image"}
    assert choices.tag == "Choices"
    assert choices.attrib == {"name": "class", "toName": "image", "choice": "single"}
    assert all(c.tag == "Choice" and set(c.attrib) == {"value"} for c in choices)
    return [c.attrib["value"] for c in choices]


def test_label_studio_tasks_and_config(run, tmp_path):
    out = tmp_path / "ls"
    fix = write(tmp_path / "n.json", {"names": {"1": "disc \u00e9t\u00e9"}, "merge": [[2, 3]]})
    r = _export(run, out, "--format", "label-studio", "--corrections", fix)
    assert r.exit_code == 0, r.output
    names = check_config(out / "labeling_config.xml")
    assert names == ["class_00", "disc \u00e9t\u00e9", "class_02"]
    tasks = json.loads((out / "tasks.json").read_text())
    check_tasks(tasks, set(names), "r")
    assert len(tasks) == len(run["rows"])
    for task in tasks:  # no --image-root: the image's own path
        image = Path(task["data"]["image"])
        assert (
            image.is_absolute()
            and image.resolve() == (run["folder"] / task["data"]["path"]).resolve()
        )
    prefix = "/data/local-files/?d=photos/"
    r = _export(run, tmp_path / "ls2", "--format", "label-studio", "--image-root", prefix)
    assert r.exit_code == 0, r.output
    tasks = json.loads((tmp_path / "ls2" / "tasks.json").read_text())
    assert all(t["data"]["image"] == prefix + t["data"]["path"] for t in tasks)
    check_tasks(tasks, set(check_config(tmp_path / "ls2" / "labeling_config.xml")), "r")


def annotation(choice: str | None, **fields):
    """One annotation as Label Studio exports it: a choice, or none (an empty result)."""
    result = [] if choice is None else [
        {"id": "a", "from_name": "class", "to_name": "image", "type": "choices",
         "origin": "manual", "value": {"choices": [choice]}}
    ]  # fmt: skip
    return {"id": 5000, "result": result, "was_cancelled": False, **fields}


def reviewed(tasks, changes: dict[str, str], cancelled: str, empty: str, accepted: str):
    """Label Studio's JSON export after a review: ids, annotations that change ``changes``
    (path -> class name), accept one prediction, one cancelled and one empty annotation; the
    other tasks stay unannotated. One changed task lost hume's path (matched by its image)."""
    out = []
    for n, task in enumerate(tasks):
        path = task["data"]["path"]
        exported = {
            "id": n + 1,
            "data": dict(task["data"]),
            "annotations": [],
            "predictions": [{**task["predictions"][0], "id": 1000 + n}],
        }

        if path in changes:
            exported["annotations"] = [annotation(changes[path])]
        elif path == cancelled:
            exported["annotations"] = [annotation("class_00", was_cancelled=True)]
        elif path == empty:
            exported["annotations"] = [annotation(None)]
        elif path == accepted:
            exported["annotations"] = [
                annotation(task["predictions"][0]["result"][0]["value"]["choices"][0])
            ]
        out.append(exported)
    first_changed = next(t for t in out if t["data"]["path"] in changes)
    del first_changed["data"]["path"], first_changed["data"]["split"]
    return out


def test_label_studio_round_trip(run, tmp_path):
    names = write(tmp_path / "names.json", {"names": {"0": "stripes", "2": "discs"}})
    out = tmp_path / "ls"
    r = _export(run, out, "--format", "csv,label-studio", "--corrections", names, "--image-root",
                "http://files/photos")  # fmt: skip
    assert r.exit_code == 0, r.output
    tasks = json.loads((out / "tasks.json").read_text())
    before = _classes(read_csv(out / "labels.csv"))
    paths = sorted(before)
    number = {"stripes": 0, "class_01": 1, "discs": 2, "class_03": 3}
    order = list(number)
    changes = {  # four images, each given another class (by its name, or its class_NN name)
        p: next(n for n in order[i:] + order[:i] if number[n] != before[p])
        for i, p in enumerate(paths[:4])
    }
    export = write(
        tmp_path / "project-1-at-2025.json",
        reviewed(tasks, changes, cancelled=paths[4], empty=paths[5], accepted=paths[6]),
    )
    back = tmp_path / "back"
    r = _export(run, back, "--format", "csv", "--corrections", names, "--corrections", export)
    assert r.exit_code == 0, r.output
    note = " ".join(r.output.split())
    n = len(changes) + 1
    assert f"{len(changes)} moves ({len(changes)} changed a class)" in note
    assert f"{n} of {len(tasks)} tasks reviewed, 1 kept the predicted class" in note
    assert "2 annotations skipped (1 cancelled, 1 empty)" in note
    after = _classes(read_csv(back / "labels.csv"))
    for path, c in before.items():
        assert after[path] == (number[changes[path]] if path in changes else c), path
    applied = json.loads((back / "export.json").read_text())["corrections"]
    assert [a["format"] for a in applied] == ["hume", "label-studio"]
    # a choice the labeling config never had is refused, naming the fix
    bad = reviewed(tasks, {paths[0]: "slippers"}, cancelled="", empty="", accepted="")
    bad_file = write(tmp_path / "bad.json", bad)
    assert_one_line_error(
        _export(run, tmp_path / "x", "--corrections", names, "--corrections", bad_file),
        "'slippers', which names no class",
    )
    assert not (tmp_path / "x").exists()


def test_rows_without_files_move_by_split_and_row(tmp_path):
    """Stores of arrays name no files: a row is `<split>/<row>`; label-studio is refused."""
    from helpers import planted_stores

    root, _ = planted_stores(tmp_path, splits=(("train", 30), ("test", 12)))
    r = invoke(
        "search", "--views", "va,vb", "--dataset", "blobs", "--k", "3", "--seeds", "2",
        "--iters", "5", "--run", "b", "--root", root, "--device", "cpu",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    args = ["export", "--run", "b", "--root", root, "--format", "csv"]
    r = invoke(*args, "--out", tmp_path / "plain")
    assert r.exit_code == 0, r.output
    rows = read_csv(tmp_path / "plain" / "labels.csv")
    row = next(x for x in rows if x["split"] == "test" and x["row"] == "4")
    target = (int(row["class"]) + 1) % 3
    fix = write(tmp_path / "fix.json", {"moves": {"test/4": target}})
    r = invoke(*args, "--out", tmp_path / "fixed", "--corrections", fix)
    assert r.exit_code == 0, r.output
    after = read_csv(tmp_path / "fixed" / "labels.csv")
    changed = [(x["split"], x["row"]) for x, y in zip(rows, after) if x["class"] != y["class"]]
    assert changed == [("test", "4")] and int(after[rows.index(row)]["class"]) == target
    assert_one_line_error(
        invoke(*args[:-1], "label-studio", "--out", tmp_path / "ls"), "needs an imagefolder"
    )
    assert not (tmp_path / "ls").exists()
