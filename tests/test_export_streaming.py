"""`hume export` and `hume predict` with bounded memory: labels.csv / labels.parquet written chunk
by chunk (the same files as one table of every row), new rows labelled chunk by chunk (the same
labels as labelling every row at once) and a gallery that lists a bounded sample per class. The
bounds are module constants, set low here so that a few dozen rows span many chunks."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest
import torch
from helpers import invoke
from test_gallery_review import DevTools
from test_own_images import find_chromium
from test_review_corrections import quick_workspace

from hume.export import gallery, gallery_review, rows, tables


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Forty images of four kinds and twelve held back, both embedded, and a quick run ``r``."""
    base = tmp_path_factory.mktemp("streaming")
    return {"ws": quick_workspace(base), "base": base}


def _expected_columns(run, command: str) -> dict[str, list]:
    """The table's columns as the run's files give them, read directly: the rows (the folder's
    files, in sorted order) and the classes of ``ensemble.npz``, the confidence as the share of
    ``seeds.npz``'s seeds that ``encoders.pt``'s matchings send to that class; for ``predict``,
    the held-back folder labelled through the saved model. Not through hume.export."""
    from hume.search.search_runs.run_readers import load_model
    from hume.search.search_runs.view_loading import load_view
    from hume.store import find_store

    run_dir = run["ws"] / "runs" / "r"
    dataset = "photos" if command == "export" else "held"
    folder = run["base"] / dataset
    paths = sorted(f.relative_to(folder).as_posix() for f in folder.rglob("*") if f.is_file())
    perms = torch.load(run_dir / "encoders.pt", weights_only=True)["perms"].numpy()
    model = load_model(run_dir)
    x = [load_view(find_store(run["ws"], dataset, "all", v)) for v in ("hog", "pixels")]
    if command == "export":
        labels = np.load(run_dir / "ensemble.npz")["labels"]
        seeds = np.load(run_dir / "seeds.npz")["labels"]
    else:
        labels, seeds = model.predict(x), model.predict_seeds(x)
    agree = (np.take_along_axis(perms, seeds, 1) == labels).mean(0)
    return {
        "dataset": [dataset] * len(paths),
        "split": ["all"] * len(paths),
        "row": list(range(len(paths))),
        "path": paths,
        "class": [int(c) for c in labels],
        "name": [f"class_{c:02d}" for c in labels],
        "confidence": [round(float(v), 4) for v in agree],
        "margin": [round(float(v), 4) for v in model.margins(x)],
    }


@pytest.mark.parametrize("command", ["export", "predict"])
def test_tables_are_written_in_chunks_identical_to_one_table(run, tmp_path, monkeypatch, command):
    pq = pytest.importorskip("pyarrow.parquet")
    where = ["--run", "r", "--root", run["ws"], "--format", "csv,parquet"]
    if command == "predict":
        where += ["--dataset", "held"]
    whole = invoke(command, *where, "--out", tmp_path / "whole")
    assert whole.exit_code == 0, whole.output
    monkeypatch.setattr(tables, "TABLE_CHUNK_ROWS", 5)
    monkeypatch.setattr(tables, "PARQUET_ROW_GROUP_ROWS", 10)
    monkeypatch.setattr(rows, "LABEL_CHUNK_ELEMENTS", 1)  # one row labelled at a time
    chunked = invoke(command, *where, "--out", tmp_path / "chunked")
    assert chunked.exit_code == 0, chunked.output
    a, b = tmp_path / "whole", tmp_path / "chunked"
    assert (a / "labels.csv").read_bytes() == (b / "labels.csv").read_bytes()
    assert pq.read_table(a / "labels.parquet").equals(pq.read_table(b / "labels.parquet"))
    n = (a / "labels.csv").read_text().count("\n") - 1
    assert n == (40 if command == "export" else 12)
    assert pq.ParquetFile(b / "labels.parquet").metadata.num_row_groups == -(-n // 10)
    assert pq.ParquetFile(a / "labels.parquet").metadata.num_row_groups == 1
    # the columns the run's own files give, read directly
    monkeypatch.undo()
    expected = _expected_columns(run, command)
    with open(a / "labels.csv", newline="") as fh:
        written = list(csv.DictReader(fh))
    assert list(written[0]) == list(expected)
    table = pq.read_table(a / "labels.parquet").to_pydict()
    for name, column in expected.items():
        as_text = [str(v) for v in column]
        assert [row[name] for row in written] == as_text, name
        assert table[name] == column, name
    assert all(0 <= v <= 1 for v in expected["confidence"] + expected["margin"])


def test_new_rows_labelled_in_chunks_equal_every_row_at_once(run):
    from hume.search.search_runs.run_readers import load_model
    from hume.search.search_runs.view_loading import load_view
    from hume.store import find_store

    run_dir = run["ws"] / "runs" / "r"
    model = load_model(run_dir)
    store = find_store(run["ws"], "held", "all", "hog")
    x = [load_view(store)]
    seeds = model.predict_seeds(x)
    at_once = rows.label_rows(model, "held", "all", {"hog": store}, searched=False)
    for step in (1, 5, 7, 12, 1000):
        chunked = rows.label_rows(
            model, "held", "all", {"hog": store}, searched=False, chunk_rows=step
        )
        assert np.array_equal(chunked.labels, at_once.labels)
        assert np.array_equal(chunked.confidence, at_once.confidence)
        assert np.allclose(chunked.margin, at_once.margin, rtol=0, atol=1e-12)
    assert np.array_equal(at_once.labels, model.predict(x))
    assert np.allclose(at_once.margin, model.margins(x), rtol=0, atol=1e-12)
    from hume.search.selection.ensembling import seed_agreement

    agree = seed_agreement(
        torch.as_tensor(seeds),
        torch.as_tensor(model.perms_),
        torch.as_tensor(at_once.labels),
        int(model.n_classes),
    )
    assert np.array_equal(at_once.confidence, agree.numpy())
    # a store large for its model is read in chunks of whole store chunks
    assert rows.label_chunk_rows(model, [10**6]) == max(1, rows.LABEL_CHUNK_ELEMENTS // 10**6)


def _data_block(html: str) -> dict:
    start = html.index('id="hume-review-data">') + len('id="hume-review-data">')
    return json.loads(html[start : html.index("</script>", start)])


def test_the_gallery_lists_a_bounded_sample_per_class(run, tmp_path, monkeypatch):
    monkeypatch.setattr(gallery, "MOST", 2)
    monkeypatch.setattr(gallery, "LEAST", 1)
    out_all = tmp_path / "all"
    r = invoke("export", "--run", "r", "--root", run["ws"], "--out", out_all, "--format", "html")
    assert r.exit_code == 0, r.output
    every = _data_block((out_all / "report.html").read_text())
    assert len(every["rows"]) == 40 and every["unlisted"] == {}
    monkeypatch.setattr(gallery_review, "REVIEW_MAX_ROWS", 8)
    monkeypatch.setattr(gallery_review, "REVIEW_MIN_PER_CLASS", 2)
    out = tmp_path / "bounded"
    r = invoke("export", "--run", "r", "--root", run["ws"], "--out", out, "--format", "csv,html")
    assert r.exit_code == 0, r.output
    page = (out / "report.html").read_text()
    data = _data_block(page)
    assert data["listed_per_class"] == 2  # max(2, 8 // K) with K = 4
    with open(out / "labels.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    by_key = {row["path"]: row for row in table}
    sizes = np.bincount([int(row["class"]) for row in table], minlength=4)
    listed = np.bincount([r[1] for r in data["rows"]], minlength=4)
    thumbs = {}
    for c in range(4):  # the thumbnails of a class: its 2 most and 1 least confident rows
        section = page.split(f'data-class="{c}"', 1)[1].split("</section>", 1)[0]
        thumbs[c] = set(section.split('data-key="')[i].split('"')[0] for i in range(1, 4))
    for c in range(4):
        keys = {r[0] for r in data["rows"] if r[1] == c}
        assert thumbs[c] <= keys  # every thumbnail is listed (the page looks it up)
        assert listed[c] <= 2 + 3 and listed[c] < sizes[c]
        assert data["unlisted"][str(c)] == sizes[c] - listed[c]

        # the listed rows beyond the thumbnails are the class's least confident
        def sure(key):
            return (float(by_key[key]["confidence"]), float(by_key[key]["margin"]))

        left_out = {row["path"] for row in table if int(row["class"]) == c} - keys
        assert keys - thumbs[c] and left_out
        assert max(map(sure, keys - thumbs[c])) <= min(map(sure, left_out))
    assert data["id"] == every["id"]  # the same review, so work in progress carries over
    browser = find_chromium()
    if browser is None:
        return
    page_ = DevTools(browser, tmp_path / "profile")
    try:
        page_.open((out / "report.html").as_uri())
        page_.click('section[data-class="0"] details.review-rows summary')
        summary = page_.eval(
            "document.querySelector('section[data-class=\"0\"] details.review-rows summary')"
            ".textContent"
        )
    finally:
        page_.close()
    hidden = data["unlisted"]["0"]
    assert f"{listed[0]} rows now in this class listed here, {hidden} more not in this page" in (
        summary
    )
    assert "at most its 2 least confident rows" in summary
