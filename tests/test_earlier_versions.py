"""Files written by an earlier version still load: a workspace made by hume 0.1.0 before the
renovation of the package (tests/data/workspace-0.1.0: imported Zarr and HDF5 stores, an
embedded store, a HUME run chosen from a K range with its screens and candidates, a TURTLE run)
is read by the commands of this version."""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import invoke

SAVED = Path(__file__).parent / "data" / "workspace-0.1.0"


@pytest.fixture
def ws(tmp_path):
    root = tmp_path / "ws"
    shutil.copytree(SAVED, root)
    return root


def test_the_stores_of_0_1_0_read_and_verify(ws):
    from hume.store import open_store

    for path, shape in (
        (ws / "features/tiny/all/va.zarr", (60, 6)),
        (ws / "features/tiny/all/vb.h5", (60, 5)),
        (ws / "features/digits/test/pixels.zarr", (449, 64)),
    ):
        with open_store(path) as st:
            assert st.read_features().shape == shape and st.is_complete
            assert (st.read_labels() >= 0).all()
        r = invoke("verify", path)
        assert r.exit_code == 0, r.output
    r = invoke("info", "--root", ws)
    assert r.exit_code == 0 and "krange" in r.output and "turtle" in r.output


def test_the_runs_of_0_1_0_evaluate_export_and_predict(ws, tmp_path):
    from hume.evaluate.metrics import cluster_accuracy
    from hume.store import open_store

    r = invoke("evaluate", "--root", ws, "--no-baselines")  # the newest: the TURTLE run
    assert r.exit_code == 0, r.output
    for run in ("krange", "turtle"):
        r = invoke("evaluate", "--run", run, "--root", ws, "--no-baselines", "--overwrite")
        assert r.exit_code == 0, r.output
        report = json.loads((ws / "runs" / run / "report.json").read_text())
        with np.load(ws / "runs" / run / "ensemble.npz") as ens:
            labels = ens["labels"]
        with open_store(ws / "features/tiny/all/va.zarr") as st:
            truth = st.read_labels()
        assert report["k"] == 3
        assert report["metrics"]["acc"] == pytest.approx(cluster_accuracy(truth, labels))
    choice = json.loads((ws / "runs" / "krange" / "report.json").read_text())["choice"]
    assert [c["k"] for c in choice["candidates"]] == [2, 3, 4]
    assert all("acc" in c for c in choice["candidates"])  # of the screen where not in full
    out = tmp_path / "out"
    r = invoke("export", "--run", "krange", "--root", ws, "--out", out, "--format", "csv")
    assert r.exit_code == 0, r.output
    with open(out / "labels.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    with np.load(ws / "runs" / "krange" / "ensemble.npz") as ens:
        assert [int(row["class"]) for row in rows] == ens["labels"].tolist()
    r = invoke("predict", "--run", "turtle", "--root", ws, "--dataset", "tiny", "--out", out / "p")
    assert r.exit_code == 0, r.output
    for run in ("krange", "turtle"):
        again = invoke("search", "--resume", "--run", run, "--root", ws)
        assert again.exit_code == 0 and "nothing to do" in again.output
    again = invoke(
        "search", "--views", "va,vb", "--dataset", "tiny", "--k", "2:4", "--seeds", "4", "--iters",
        "20", "--run", "krange", "--root", ws, "--device", "cpu",
    )  # fmt: skip
    assert again.exit_code == 0 and "nothing to do" in again.output
