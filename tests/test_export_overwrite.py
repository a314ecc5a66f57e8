"""Exporting again over an earlier export keeps what the person had there: `--overwrite` without
`--format` writes the same formats again (class tree, gallery, Label Studio tasks), a `--format`
that would remove some of them is refused in one line with nothing written, and `hume label`'s
folder survives the README's Label Studio step. classes.json names the labelled folder, and the
README's FiftyOne snippet puts labels.csv on the original images."""

from __future__ import annotations

import json
import os
import re
import sys
import types
from pathlib import Path

import pytest
from helpers import assert_one_line_error, invoke
from test_own_images import make_folder
from test_review_corrections import quick_workspace, read_csv, write

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    """Forty images of four kinds (``photos``) embedded into a workspace with a quick run ``r``."""
    base = tmp_path_factory.mktemp("overwrite")
    return {"ws": quick_workspace(base), "folder": base / "photos"}


def _export(ws, out, *extra):
    return invoke("export", "--run", "r", "--root", ws["ws"], "--out", out, *extra)


def _snapshot(out: Path) -> dict[str, int]:
    """Every entry under ``out`` (links not followed) -> its mtime in ns."""
    entries = {}
    for top, dirs, files in os.walk(out):
        for name in dirs + files:
            path = Path(top) / name
            entries[path.relative_to(out).as_posix()] = path.lstat().st_mtime_ns
    return entries


def _class_dirs(out: Path) -> set[str]:
    return {p.name for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")}


def test_overwrite_without_format_writes_the_same_formats_again(ws, tmp_path):
    out = tmp_path / "by-class"
    r = _export(ws, out, "--format", "csv,folders,html")
    assert r.exit_code == 0, r.output
    assert len(_class_dirs(out)) >= 2 and (out / ".thumbnails").is_dir()
    fix = write(tmp_path / "fix.json", {"names": {"0": "boots"}})
    r = _export(ws, out, "--corrections", fix, "--overwrite")
    assert r.exit_code == 0, r.output
    marker = json.loads((out / "export.json").read_text())
    assert marker["formats"] == ["csv", "folders", "html"] and marker["complete"] is True
    assert not (out / "labels.parquet").exists()  # the default formats were not used
    # the class tree, its thumbnails and the gallery are rewritten with the corrections
    rows = read_csv(out / "labels.csv")
    assert {row["name"] for row in rows if row["class"] == "0"} == {"boots"}
    assert "boots" in _class_dirs(out) and "class_00" not in _class_dirs(out)
    for row in rows:
        link = out / row["name"] / row["path"]
        assert link.resolve() == (ws["folder"] / row["path"]).resolve()
    assert (out / "report.html").is_file() and any((out / ".thumbnails").iterdir())
    assert "boots" in (out / "report.html").read_text()
    # asked the same again (no --format, the same corrections): up to date
    again = _export(ws, out, "--corrections", fix)
    assert again.exit_code == 0 and "nothing to do" in again.output


def test_a_format_that_would_remove_part_is_refused_and_nothing_written(ws, tmp_path):
    out = tmp_path / "by-class"
    r = _export(ws, out, "--format", "csv,folders,html")
    assert r.exit_code == 0, r.output
    before = _snapshot(out)
    for extra in (["--overwrite"], []):
        assert_one_line_error(
            _export(ws, out, "--format", "csv", *extra),
            f"--out {out} holds the class folders, report.html and .thumbnails",
            "--format csv would remove",
            "add folders,html to --format",
            "--out elsewhere",
        )
        assert _snapshot(out) == before
    # labels.parquet stands for labels.csv (the same table); a format added is kept too
    r = _export(ws, out, "--format", "parquet,folders,html,label-studio", "--overwrite")
    assert r.exit_code == 0, r.output
    assert not (out / "labels.csv").exists() and (out / "tasks.json").is_file()
    assert_one_line_error(
        _export(ws, out, "--format", "csv,folders,html", "--overwrite"),
        "holds tasks.json and labeling_config.xml",
        "add label-studio to --format",
    )


def test_overwrite_keeps_label_studio_image_root_and_copies(ws, tmp_path):
    out = tmp_path / "ls"
    prefix = "/data/local-files/?d=photos/"
    r = _export(ws, out, "--format", "label-studio,folders", "--image-root", prefix, "--copy")
    assert r.exit_code == 0, r.output
    fix = write(tmp_path / "fix.json", {"names": {"1": "discs"}})
    r = _export(ws, out, "--corrections", fix, "--overwrite")
    assert r.exit_code == 0, r.output
    marker = json.loads((out / "export.json").read_text())
    assert marker["formats"] == ["label-studio", "folders"]
    assert marker["image_root"] == prefix and marker["copy"] is True
    tasks = json.loads((out / "tasks.json").read_text())
    assert all(t["data"]["image"] == prefix + t["data"]["path"] for t in tasks)
    copied = [p for p in (out / "discs").rglob("*.png")]
    assert copied and not any(p.is_symlink() for p in copied)


def test_images_gone_are_refused_before_the_earlier_export_is_removed(tmp_path):
    ws = quick_workspace(tmp_path)
    out = tmp_path / "by-class"
    r = invoke("export", "--run", "r", "--root", ws, "--out", out, "--format", "csv,folders")
    assert r.exit_code == 0, r.output
    before = _snapshot(out)
    next((tmp_path / "photos").glob("*.png")).unlink()
    assert_one_line_error(
        invoke("export", "--run", "r", "--root", ws, "--out", out, "--overwrite"),
        "are gone from where they were embedded",
    )
    assert _snapshot(out) == before


def test_classes_json_names_the_labelled_folder(ws, tmp_path):
    out = tmp_path / "csv"
    assert _export(ws, out, "--format", "csv").exit_code == 0
    roots = json.loads((out / "classes.json").read_text())["roots"]
    assert roots == {"photos/all": str(ws["folder"].resolve())}
    assert Path(roots["photos/all"]).is_absolute()
    rows = read_csv(out / "labels.csv")
    assert all((Path(roots[f"{r['dataset']}/{r['split']}"]) / r["path"]).is_file() for r in rows)


def test_arrays_have_no_root(tmp_path):
    from helpers import planted_stores

    root, _ = planted_stores(tmp_path, splits=(("train", 30), ("test", 12)))
    r = invoke(
        "search", "--views", "va,vb", "--dataset", "blobs", "--k", "3", "--seeds", "2",
        "--iters", "5", "--run", "a", "--root", root, "--device", "cpu",
    )  # fmt: skip
    assert r.exit_code == 0, r.output
    r = invoke("export", "--run", "a", "--root", root, "--out", tmp_path / "e")
    assert r.exit_code == 0, r.output
    roots = json.loads((tmp_path / "e" / "classes.json").read_text())["roots"]
    assert roots == {"blobs/train": None, "blobs/test": None}


class _Recorded:
    """A stand-in for a FiftyOne object: its arguments, kept."""

    def __init__(self, *args, **kwargs):
        self.args, self.kwargs = args, kwargs


class _Dataset(_Recorded):
    made: list[_Dataset] = []

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.samples: list[_Recorded] = []
        _Dataset.made.append(self)

    def add_samples(self, samples):
        self.samples.extend(samples)


def test_the_readme_fiftyone_snippet_labels_the_original_images(ws, tmp_path, monkeypatch):
    """The README's snippet, run against a stand-in `fiftyone` (FiftyOne itself is not a test
    dependency): one sample per row, at the original image, its class name and confidence."""
    code = re.search(r"<!-- fiftyone -->\s*```python\n(.*?)```", README, re.S).group(1)
    out = tmp_path / "photos-by-class"
    fix = write(tmp_path / "fix.json", {"names": {"2": "discs"}})
    r = _export(ws, out, "--format", "csv,folders", "--corrections", fix)
    assert r.exit_code == 0, r.output
    fo = types.ModuleType("fiftyone")
    fo.Dataset, fo.Sample, fo.Classification = _Dataset, _Recorded, _Recorded
    fo.launch_app = lambda dataset: dataset
    monkeypatch.setitem(sys.modules, "fiftyone", fo)
    monkeypatch.chdir(tmp_path)  # the snippet reads ./photos-by-class
    _Dataset.made.clear()
    exec(compile(code, "README.md", "exec"), {})
    (dataset,) = _Dataset.made
    rows = read_csv(out / "labels.csv")
    assert len(dataset.samples) == len(rows)
    for sample, row in zip(dataset.samples, rows):
        path = Path(sample.kwargs["filepath"])
        assert path == ws["folder"].resolve() / row["path"] and not path.is_symlink()
        (label,) = [v for k, v in sample.kwargs.items() if k != "filepath"]
        assert label.kwargs == {"label": row["name"], "confidence": float(row["confidence"])}
    assert {s.kwargs["hume"].kwargs["label"] for s in dataset.samples} >= {"discs"}


@pytest.mark.slow
def test_label_then_the_readme_label_studio_step_keeps_the_class_tree(tmp_path):
    """`hume label`, then the README's `hume export --corrections … --overwrite` into its folder:
    the class tree, thumbnails and gallery are written again; `hume label --overwrite` again
    replaces them as it wrote them."""
    photos = tmp_path / "photos"
    make_folder(photos, 8, seed=5)
    ws = tmp_path / "ws"
    label = ["label", photos, "--models", "hog,pixels", "--k", "4", "--seeds", "2"]
    label += ["--device", "cpu", "--workers", "0", "--root", ws]
    r = invoke(*label)
    assert r.exit_code == 0, r.output
    out = tmp_path / "photos-by-class"
    formats = json.loads((out / "export.json").read_text())["formats"]
    assert {"folders", "html"} <= set(formats)
    line = next(
        ln for ln in README.splitlines() if ln.startswith("hume export --corrections ./project-1")
    )
    fix = write(tmp_path / "project-1-at-2025-06-01.json", {"names": {"0": "boots"}})
    args = line.split()[1:]
    args[args.index("--corrections") + 1] = fix
    args[args.index("--out") + 1] = out
    r = invoke(*args, "--root", ws)
    assert r.exit_code == 0, r.output
    assert json.loads((out / "export.json").read_text())["formats"] == formats
    assert "boots" in _class_dirs(out) and (out / "report.html").is_file()
    assert any((out / ".thumbnails").iterdir())
    r = invoke(*label, "--overwrite")
    assert r.exit_code == 0, r.output
    assert "class_00" in _class_dirs(out) and "boots" not in _class_dirs(out)
    assert (out / "report.html").is_file() and any((out / ".thumbnails").iterdir())
