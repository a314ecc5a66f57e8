"""The gallery as a review tool: report.html driven in a real headless Chromium through the
DevTools protocol (rename, merge, move a thumbnail and a row of a class's paged list, save),
the saved corrections.json applied with `hume export --corrections`, and the page's data block
(row keys as corrections name them, safe inside <script>)."""

from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import invoke
from test_own_images import find_chromium, make_folder
from test_review_corrections import quick_run, read_csv

from hume.export import gallery
from hume.export.gallery_review import review_data, row_keys
from hume.export.rows import RunRows, SplitRows


class DevTools:
    """One headless Chromium page, driven over ``--remote-debugging-pipe`` (the browser reads
    JSON messages ending in a NUL byte on fd 3 and answers on fd 4: no websocket needed)."""

    def __init__(self, browser: str, profile: Path):
        def high(fd: int) -> int:  # out of the way of fds 3 and 4, which the child needs
            moved = fcntl.fcntl(fd, fcntl.F_DUPFD_CLOEXEC, 100)
            os.close(fd)
            return moved

        to_r, self._to = map(high, os.pipe())
        self._from, from_w = map(high, os.pipe())

        def child_fds() -> None:
            os.dup2(to_r, 3)
            os.dup2(from_w, 4)

        self.proc = subprocess.Popen(
            [browser, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
             "--remote-debugging-pipe", f"--user-data-dir={profile}", "about:blank"],
            preexec_fn=child_fds, close_fds=False,
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        os.close(to_r)
        os.close(from_w)
        self._buf, self._id, self.session = b"", 0, None
        self.events: list[dict] = []

    def send(self, method: str, params: dict | None = None, page: bool = True) -> dict:
        """Send one command (to the page unless ``page`` is False) and wait for its result."""
        self._id += 1
        msg = {"id": self._id, "method": method, "params": params or {}}
        if page and self.session:
            msg["sessionId"] = self.session
        os.write(self._to, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + 60
        while True:
            while b"\0" in self._buf:
                raw, self._buf = self._buf.split(b"\0", 1)
                got = json.loads(raw)
                if got.get("id") == self._id:
                    assert "error" not in got, (method, got["error"])
                    return got.get("result", {})
                self.events.append(got)
            ready, _, _ = select.select([self._from], [], [], max(0, deadline - time.monotonic()))
            assert ready, f"Chromium did not answer {method}"
            chunk = os.read(self._from, 1 << 20)
            assert chunk, f"Chromium closed the pipe during {method}"
            self._buf += chunk

    def open(self, url: str) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"}, page=False)
        attached = self.send(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}, page=False
        )
        self.session = attached["sessionId"]
        self.send("Emulation.setDeviceMetricsOverride",
                  {"width": 1200, "height": 1100, "deviceScaleFactor": 1, "mobile": False})  # fmt: skip
        self.send("Page.navigate", {"url": url})
        self.wait_for("document.readyState === 'complete' && !!window.humeCorrections")

    def eval(self, expression: str):
        got = self.send("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        assert "exceptionDetails" not in got, got["exceptionDetails"]
        return got["result"].get("value")

    def wait_for(self, expression: str, seconds: float = 30) -> None:
        deadline = time.monotonic() + seconds
        while not self.eval(f"!!({expression})"):
            assert time.monotonic() < deadline, f"timed out waiting for {expression}"
            time.sleep(0.1)

    def click(self, selector: str) -> None:
        """A real mouse click in the middle of the element ``selector`` finds."""
        box = self.eval(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)});"
            "e.scrollIntoView({block: 'center'}); const r = e.getBoundingClientRect();"
            "return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        assert box is not None, selector
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent",
                      {"type": kind, "x": box[0], "y": box[1], "button": "left", "clickCount": 1})  # fmt: skip

    def choose(self, selector: str, value: str) -> None:
        """Pick ``value`` in a <select> as a person does (the change event follows)."""
        self.eval(
            f"(() => {{ const s = document.querySelector({json.dumps(selector)});"
            f"s.value = {json.dumps(value)}; s.dispatchEvent(new Event('change')); }})()"
        )

    def close(self) -> None:
        self.proc.kill()
        self.proc.wait(timeout=30)
        os.close(self._to)
        os.close(self._from)


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    """Forty small generated images of four kinds, embedded, and a quick run ``r``."""
    base = tmp_path_factory.mktemp("gallery-review")
    folder, ws = base / "photos", base / "ws"
    make_folder(folder, 10, seed=0)
    quick_run(ws, folder)
    return {"ws": ws, "folder": folder, "base": base}


def _classes(rows):
    return {row["path"]: int(row["class"]) for row in rows}


def test_review_in_the_gallery_saves_corrections_that_export_applies(run, tmp_path, monkeypatch):
    browser = find_chromium()
    if browser is None:  # .ci/run installs chromium-headless-shell, so CI runs this test
        pytest.skip("no headless Chromium here and none could be installed (needs root + apt)")
    # few thumbnails per class, so that most rows are in the paged lists
    monkeypatch.setattr(gallery, "MOST", 2)
    monkeypatch.setattr(gallery, "LEAST", 1)
    out = tmp_path / "out"
    r = invoke("export", "--run", "r", "--root", run["ws"], "--out", out, "--format", "csv,html")
    assert r.exit_code == 0, r.output
    before = _classes(read_csv(out / "labels.csv"))
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    page = DevTools(browser, tmp_path / "profile")
    try:
        page.send("Browser.setDownloadBehavior",
                  {"behavior": "allow", "downloadPath": str(downloads), "eventsEnabled": True},
                  page=False)  # fmt: skip
        page.open((out / "report.html").as_uri())
        assert page.eval("document.querySelectorAll('section.class figure[data-key]').length") == 12
        # rename class 0: type into its name field
        page.click('section[data-class="0"] input.review-name')
        page.send("Input.insertText", {"text": "boots"})
        assert page.eval("document.querySelector('section[data-class=\"0\"] h2').textContent") == (
            "boots"
        )
        # merge class 2 into class 1
        page.choose('section[data-class="2"] select.review-merge', "1")
        assert page.eval("document.querySelector('section[data-class=\"2\"]').className") == (
            "class merged"
        )
        # move a thumbnail of class 0 to class 3: click it, then "move to…"
        thumb = page.eval(
            "document.querySelector('section[data-class=\"0\"] figure[data-key]').dataset.key"
        )
        page.click(f'section[data-class="0"] figure[data-key="{thumb}"]')
        assert page.eval("document.getElementById('review-count').textContent") == "1 selected"
        page.choose("#review-move", "3")
        # class 1's full list, paged, least confident first, then most confident first
        page.click('section[data-class="1"] details.review-rows summary')
        shown = "Array.from(document.querySelectorAll('section[data-class=\"1\"] .review-rows li'))"
        page.wait_for(f"{shown}.length > 0")  # the toggle event comes after the click
        confs = page.eval(f"{shown}.map(li => Number(li.querySelector('.conf').textContent))")
        keys = page.eval(f"{shown}.map(li => li.dataset.key)")
        size_1 = sum(1 for c in before.values() if c in (1, 2))
        assert len(keys) == size_1 - 3 and confs == sorted(confs)  # three have thumbnails
        assert all(key in before for key in keys)
        page.click("#review-order")
        flipped = page.eval(f"{shown}.map(li => Number(li.querySelector('.conf').textContent))")
        assert flipped == sorted(confs, reverse=True)
        page.click("#review-order")
        # move the least confident row of that list to class 0
        listed = keys[0]
        page.click(f'section[data-class="1"] .review-rows li[data-key="{listed}"] input')
        page.choose("#review-move", "0")
        want = {"names": {"0": "boots"}, "merge": [[1, 2]], "moves": {thumb: 3, listed: 0}}
        fix = page.eval("window.humeCorrections()")
        assert {k: fix[k] for k in want} == want
        shown_json = json.loads(page.eval("document.getElementById('corrections-json').value"))
        assert shown_json == fix
        # save: a real download of corrections.json
        page.click("#review-save")
        saved = downloads / "corrections.json"
        deadline = time.monotonic() + 30
        while not saved.is_file() and time.monotonic() < deadline:
            time.sleep(0.1)
        assert json.loads(saved.read_text()) == fix
        # a reload keeps the work in progress
        page.eval("window.beforeReload = true")
        page.send("Page.reload")
        page.wait_for("!window.beforeReload && document.readyState === 'complete' && "
                      "!!window.humeCorrections")  # fmt: skip
        assert page.eval("window.humeCorrections()") == fix
        assert page.eval("document.querySelector('section[data-class=\"0\"] h2').textContent") == (
            "boots"
        )
        stored = page.eval("Object.keys(localStorage)")
        assert len(stored) == 1 and stored[0].startswith("hume-review:r:")
        shot = page.send("Page.captureScreenshot", {"format": "png"})
        (tmp_path / "review.png").write_bytes(base64.b64decode(shot["data"]))
        assert (tmp_path / "review.png").stat().st_size > 10_000
    finally:
        page.close()
    # the saved file through the command line
    fixed = tmp_path / "fixed"
    r = invoke("export", "--run", "r", "--root", run["ws"], "--out", fixed, "--format", "csv",
                "--corrections", saved)  # fmt: skip
    assert r.exit_code == 0, r.output
    rows = read_csv(fixed / "labels.csv")
    after = _classes(rows)
    moved = {thumb: 3, listed: 0}
    assert after == {p: moved.get(p, 1 if c == 2 else c) for p, c in before.items()}
    names = {0: "boots", 1: "class_01", 3: "class_03"}
    assert all(row["name"] == names[int(row["class"])] for row in rows)


def test_the_data_block_keys_rows_as_corrections_do_and_is_safe_in_a_script(tmp_path):
    def part(split, paths):
        n = len(paths)
        return SplitRows(
            "d", split, np.arange(n) % 2, np.linspace(0, 1, n), np.zeros(n), paths,
            np.full(n, -1), source_root=str(tmp_path / "images"),
        )  # fmt: skip

    shared = "a</script><!--/x.png"
    rows = RunRows(
        "r</script>", "hume", 2, [part("train", [shared, "b.png"]), part("test", [shared])]
    )
    keys = row_keys(rows)
    assert keys == [f"train/{shared}", "b.png", f"test/{shared}"]
    block = review_data(rows, tmp_path / "out" / "report.html", keys)
    assert "<" not in block
    data = json.loads(block)
    assert data["run"] == "r</script>" and [r[0] for r in data["rows"]] == keys
    assert data["rows"][0][4] == shared and len(data["rows"][1]) == 4  # the file, where it differs
    assert data["parts"][0]["base"] == "../images/"
    assert [c[:2] for c in data["classes"]] == [[0, "class_00"], [1, "class_01"]]
