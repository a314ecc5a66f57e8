"""`hume demo`: the whole pipeline offline; a second run reuses the stores."""

import json

import pytest
from typer.testing import CliRunner

from hume.cli import app
from hume.store import open_store, store_path

runner = CliRunner()


@pytest.mark.slow
def test_demo_runs_end_to_end_and_reuses_stores(tmp_path):
    first = runner.invoke(app, ["demo", "--root", str(tmp_path), "--seeds", "2"])
    assert first.exit_code == 0, first.output
    assert "embedding digits with hog" in first.output and "HUME ensemble" in first.output
    ids = {}
    for view in ("hog", "pixels"):
        with open_store(store_path(tmp_path, "digits", "all", view)) as st:
            assert st.n_rows == 1797
            ids[view] = st.attrs["store_id"]
    runs = sorted((tmp_path / "runs").iterdir())
    assert len(runs) == 1
    report = json.loads((runs[0] / "report.json").read_text())
    assert report["n_seeds"] == 2 and 0 <= report["metrics"]["acc"] <= 1
    assert (runs[0] / "figures" / "confusion.png").stat().st_size > 0

    second = runner.invoke(app, ["demo", "--root", str(tmp_path), "--seeds", "1"])
    assert second.exit_code == 0, second.output
    assert "reusing the hog store" in second.output and "embedding" not in second.output
    for view in ("hog", "pixels"):  # the very same stores, not rewritten
        with open_store(store_path(tmp_path, "digits", "all", view)) as st:
            assert st.attrs["store_id"] == ids[view]
    assert len(list((tmp_path / "runs").iterdir())) == 2
