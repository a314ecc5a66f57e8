"""Split and confirm in the gallery's review tool: report.html driven in a real headless Chromium
(a split asked for, carried along by a merge and undone, images confirmed one by one and a page
of a class's list at once, a confirmed image moved), the saved corrections.json read back by
parse_corrections and applied with Review (splits and anchors exactly as asked), refused by
`hume export` while it holds a split and applied by it without one."""

from __future__ import annotations

import base64
import json
import time
from pathlib import Path

import pytest
from helpers import invoke
from test_gallery_review import DevTools
from test_own_images import find_chromium, make_folder
from test_review_corrections import quick_run, read_csv

from hume.export import gallery
from hume.export.corrections import Review, parse_corrections
from hume.export.rows import run_rows
from hume.runs import resolve_run


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Forty small generated images of four kinds, embedded, and a quick run ``r``."""
    base = tmp_path_factory.mktemp("gallery-split")
    folder, ws = base / "photos", base / "ws"
    make_folder(folder, 10, seed=0)
    quick_run(ws, folder)
    return {"ws": ws, "folder": folder}


def _section(c: int) -> str:
    return f'section[data-class="{c}"]'


def _download(page: DevTools, downloads: Path) -> dict:
    page.click("#review-save")
    saved = downloads / "corrections.json"
    deadline = time.monotonic() + 30
    while not saved.is_file() and time.monotonic() < deadline:
        time.sleep(0.1)
    time.sleep(0.2)  # the file appears before its last write
    return json.loads(saved.read_text())


def test_split_and_confirm_in_the_gallery_round_trip_through_hume(run, tmp_path, monkeypatch):
    browser = find_chromium()
    if browser is None:  # .ci/run installs chromium-headless-shell, so CI runs this test
        pytest.skip("no headless Chromium here and none could be installed (needs root + apt)")
    monkeypatch.setattr(gallery, "MOST", 2)  # few thumbnails: most rows in the paged lists
    monkeypatch.setattr(gallery, "LEAST", 1)
    out = tmp_path / "out"
    r = invoke("export", "--run", "r", "--root", run["ws"], "--out", out, "--format", "csv,html")
    assert r.exit_code == 0, r.output
    before = {row["path"]: int(row["class"]) for row in read_csv(out / "labels.csv")}
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    page = DevTools(browser, tmp_path / "profile")
    classes_of = "(s) => Array.from(document.querySelector(s).classList)"
    note = '(c) => document.querySelector(`section[data-class="${c}"] .review-split-note`)'
    try:
        page.send("Browser.setDownloadBehavior",
                  {"behavior": "allow", "downloadPath": str(downloads), "eventsEnabled": True},
                  page=False)  # fmt: skip
        page.open((out / "report.html").as_uri())
        page.eval(f"window.classesOf = {classes_of}; window.note = {note}")
        options = page.eval(
            f"Array.from(document.querySelectorAll('{_section(3)} select.review-split option'))"
            ".map(o => [o.value, o.textContent])"
        )
        assert options == [["", "split into…"], ["2", "2 parts"], ["3", "3 parts"],
                           ["4", "4 parts"], ["5", "5 parts"], ["6", "6 parts"],
                           ["2:4", "2 to 4 (hume chooses)"]]  # fmt: skip
        # a split is shown on its class; merged away, it goes with the class it joined
        page.choose(f"{_section(2)} select.review-split", "3")
        assert "split" in page.eval(f"classesOf('{_section(2)}')")
        assert page.eval("note(2).textContent") == "to be split into 3 parts by a new search"
        assert "hume label" in page.eval("document.getElementById('review-split-hint').textContent")
        page.choose(f"{_section(2)} select.review-merge", "1")
        assert page.eval(f"document.querySelector('{_section(2)} select.review-split').disabled")
        assert "split" not in page.eval(f"classesOf('{_section(2)}')")
        assert page.eval("note(2).textContent") == ""
        assert page.eval("window.humeCorrections().split") == {"1": 3}
        # "don't split" undoes it; a range is hume's to choose
        first = f"document.querySelector('{_section(1)} select.review-split option')"
        assert page.eval(f"{first}.textContent") == "— don't split —"
        page.choose(f"{_section(1)} select.review-split", "")
        assert page.eval("window.humeCorrections().split") == {}
        assert "split" not in page.eval(f"classesOf('{_section(1)}')")
        page.choose(f"{_section(1)} select.review-split", "2:4")
        page.choose(f"{_section(3)} select.review-split", "2")
        assert page.eval("note(1).textContent") == (
            "to be split into 2 to 4 parts (hume chooses) by a new search"
        )
        # confirm two thumbnails of class 0, then move one of them: it is moved, not confirmed
        thumbs = page.eval(
            f"Array.from(document.querySelectorAll('{_section(0)} figure[data-key]'))"
            ".map(f => f.dataset.key)"
        )
        kept, moved = thumbs[0], thumbs[1]
        assert page.eval("document.getElementById('review-confirm').disabled")
        for key in (kept, moved):
            page.click(f'{_section(0)} figure[data-key="{key}"]')
        page.click("#review-confirm")
        assert page.eval("document.getElementById('review-count').textContent") == "0 selected"
        for key in (kept, moved):
            assert "confirmed" in page.eval(
                f"classesOf('{_section(0)} figure[data-key=\"{key}\"]')"
            )
        page.click(f'{_section(0)} figure[data-key="{moved}"]')
        page.choose("#review-move", "3")
        assert "confirmed" not in page.eval(
            f"classesOf('{_section(0)} figure[data-key=\"{moved}\"]')"
        )
        # class 3's paged list: move its least confident row out, confirm the rest of the page
        page.click(f"{_section(3)} details.review-rows summary")
        items = f"Array.from(document.querySelectorAll('{_section(3)} .review-rows li'))"
        page.wait_for(f"{items}.length > 0")
        listed = page.eval(f"{items}.map(li => li.dataset.key)")
        assert moved in listed and len(listed) >= 4  # moved in from class 0: listed here
        wrong = next(k for k in listed if k != moved)
        page.click(f'{_section(3)} .review-rows li[data-key="{wrong}"] input')
        page.choose("#review-move", "0")
        assert page.eval(f"{items}.map(li => li.dataset.key)") == listed  # the page kept its rows
        assert "out" in page.eval(f"classesOf('{_section(3)} li[data-key=\"{wrong}\"]')")
        page.click(f"{_section(3)} button.review-confirm-page")
        rest = [k for k in listed if k not in (moved, wrong)]
        ticked = page.eval(f"{items}.filter(li => li.classList.contains('confirmed'))"
                           ".map(li => li.dataset.key)")  # fmt: skip
        assert ticked == rest
        assert page.eval(f"document.querySelector('{_section(3)} .review-confirm-page').disabled")
        # unconfirm one of them again
        undone = rest[-1]
        page.click(f'{_section(3)} .review-rows li[data-key="{undone}"] input')
        page.click("#review-unconfirm")
        assert "confirmed" not in page.eval(f"classesOf('{_section(3)} li[data-key=\"{undone}\"]')")
        confirmed = sorted([kept, *rest[:-1]])
        want = {
            "names": {},
            "merge": [[1, 2]],
            "moves": {moved: 3, wrong: 0},
            "confirm": confirmed,
            "split": {"1": "2:4", "3": 2},
        }
        fix = page.eval("window.humeCorrections()")
        assert {k: fix[k] for k in want} == want
        data = "document.getElementById('hume-review-data').textContent"
        assert fix["run"] == page.eval(f"JSON.parse({data}).run")  # the run the file is made on
        assert json.loads(page.eval("document.getElementById('corrections-json').value")) == fix
        saved_fix = _download(page, downloads)
        assert saved_fix == fix
        # a reload keeps the splits and the confirmations, and shows them
        page.eval("window.beforeReload = true")
        page.send("Page.reload")
        page.wait_for("!window.beforeReload && document.readyState === 'complete' && "
                      "!!window.humeCorrections")  # fmt: skip
        page.eval(f"window.classesOf = {classes_of}; window.note = {note}")
        assert page.eval("window.humeCorrections()") == fix
        assert "split" in page.eval(f"classesOf('{_section(1)}')")
        assert page.eval(f"document.querySelector('{_section(3)} select.review-split').value") == (
            "2"
        )
        assert "confirmed" in page.eval(f"classesOf('{_section(0)} figure[data-key=\"{kept}\"]')")
        shot = page.send("Page.captureScreenshot", {"format": "png"})
        (tmp_path / "split.png").write_bytes(base64.b64decode(shot["data"]))
        assert (tmp_path / "split.png").stat().st_size > 10_000
    finally:
        page.close()
    saved = downloads / "corrections.json"
    # hume reads the file back exactly
    parsed = parse_corrections(json.loads(saved.read_text()), str(saved))
    assert parsed.splits == {1: (2, 4), 3: (2, 2)}
    assert parsed.confirm == confirmed and parsed.moves == {moved: 3, wrong: 0}
    assert parsed.merges == [[1, 2]] and parsed.names == {}
    review = Review(run_rows(resolve_run(run["ws"], "r"), run["ws"]))
    review.apply(parsed)
    assert review.live_splits() == {1: (2, 4), 3: (2, 2)}
    anchors = {
        review.key_of(p, int(i)): int(c)
        for p, (rows, classes) in enumerate(review.anchored())
        for i, c in zip(rows, classes)
    }
    kept_in = {k: 1 if before[k] == 2 else before[k] for k in confirmed}  # class 2 is 1's now
    assert anchors == {moved: 3, wrong: 0, **kept_in}
    # `hume export` refuses the split (only a new search carries it out) and writes nothing ...
    refused = tmp_path / "refused"
    r = invoke("export", "--run", "r", "--root", run["ws"], "--out", refused, "--format", "csv",
                "--corrections", saved)  # fmt: skip
    assert r.exit_code != 0 and "split" in r.output
    assert not (refused / "labels.csv").exists()
    # ... and applies the same review without it: the moves, and the confirmed rows kept
    unsplit = tmp_path / "unsplit.json"
    unsplit.write_text(json.dumps({k: v for k, v in saved_fix.items() if k != "split"}))
    fixed = tmp_path / "fixed"
    r = invoke("export", "--run", "r", "--root", run["ws"], "--out", fixed, "--format", "csv",
                "--corrections", unsplit)  # fmt: skip
    assert r.exit_code == 0, r.output
    after = {row["path"]: int(row["class"]) for row in read_csv(fixed / "labels.csv")}
    moves = {moved: 3, wrong: 0}
    assert after == {p: moves.get(p, 1 if c == 2 else c) for p, c in before.items()}
    # the loop closes: the page's own file makes a new run, which keeps what the page said
    r = invoke("search", "--from", "r", "--corrections", saved, "--root", run["ws"], "--run",
                "reviewed")  # fmt: skip
    assert r.exit_code == 0, r.output
    out = tmp_path / "reviewed"
    r = invoke("export", "--run", "reviewed", "--root", run["ws"], "--out", out, "--format",
                "csv,folders,html")  # fmt: skip
    assert r.exit_code == 0, r.output
    now = {row["path"]: int(row["class"]) for row in read_csv(out / "labels.csv")}
    config = json.loads((run["ws"] / "runs" / "reviewed" / "config.json").read_text())
    parts = {int(c): s["classes"] for c, s in config["refit"]["splits"].items()}
    assert sorted(parts) == [1, 3] and all(len(p) >= 2 for p in parts.values())
    assert now[moved] in parts[3] and now[wrong] == 0  # class 3 was split: one of its parts
    assert all(now[k] in parts.get(kept_in[k], [kept_in[k]]) for k in confirmed)
    assert 2 not in now.values()  # merged into 1
    assert max(now.values()) >= 4  # the splits made classes after the run's four
