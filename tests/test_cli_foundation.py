"""The `hume` command: wiring, `import`, `info`, and one-line errors with exit code 2."""

import subprocess
import sys

import numpy as np
import pytest
from helpers import assert_one_line_error, invoke

from hume.store import open_store, store_path


def _npy(tmp_path, name, array):
    path = tmp_path / name
    np.save(path, array)
    return str(path)


@pytest.mark.parametrize("command", ["embed", "import", "search", "evaluate", "info", "demo"])
def test_every_command_has_help(command):
    result = invoke(command, "--help")
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output


def test_module_entry_point():
    out = subprocess.run([sys.executable, "-m", "hume", "--help"], capture_output=True, text=True)
    assert out.returncode == 0 and "embed" in out.stdout and "search" in out.stdout


def test_import_then_info(tmp_path, fmt, rng):
    x = rng.normal(size=(300, 5)).astype(np.float32)
    y = rng.integers(0, 3, size=300)
    result = invoke(
        "import",
        "--dataset",
        "mine",
        "--split",
        "train",
        "--model",
        "dino",
        "--features",
        _npy(tmp_path, "x.npy", x),
        "--labels",
        _npy(tmp_path, "y.npy", y),
        "--root",
        tmp_path / "ws",
        "--format",
        fmt,
        "--dtype",
        "float32",
    )
    assert result.exit_code == 0, result.output
    path = store_path(tmp_path / "ws", "mine", "train", "dinov2", fmt)  # alias resolved
    with open_store(path) as st:
        np.testing.assert_array_equal(st.read_features(), x)
        np.testing.assert_array_equal(st.read_labels(), y)
        assert st.attrs["num_classes"] == 3 and st.attrs["model"] == "dinov2"
    listing = invoke("info", "--root", tmp_path / "ws")
    assert listing.exit_code == 0
    assert "mine" in listing.output and "dinov2" in listing.output and "complete" in listing.output
    one = invoke("info", path)
    assert one.exit_code == 0 and "300 x 5" in one.output and "float32" in one.output


def _import(tmp_path, features, *extra):
    return invoke(
        "import",
        "--dataset",
        "mine",
        "--split",
        "train",
        "--model",
        "m",
        "--features",
        features,
        "--root",
        tmp_path / "ws",
        *extra,
    )


def test_import_bad_inputs(tmp_path, rng):
    good = _npy(tmp_path, "good.npy", rng.normal(size=(10, 3)))
    assert_one_line_error(_import(tmp_path, _npy(tmp_path, "3d.npy", np.zeros((2, 2, 2)))), "2-D")
    nan = rng.normal(size=(10, 3))
    nan[[2, 5], 1] = np.nan
    nan[7, 0] = np.inf
    assert_one_line_error(_import(tmp_path, _npy(tmp_path, "nan.npy", nan)), "3 of 10 rows")
    assert_one_line_error(
        _import(tmp_path, good, "--labels", _npy(tmp_path, "y.npy", np.zeros(9, dtype=int))),
        "9 entries",
        "10 rows",
    )
    # fixed choices are checked by the command line, which names the valid ones
    assert_one_line_error(
        _import(tmp_path, good, "--format", "parquet"), "--format", "'parquet'", "'zarr', 'hdf5'"
    )
    assert_one_line_error(
        _import(tmp_path, good, "--dtype", "float64"), "--dtype", "'float16', 'float32'"
    )
    assert_one_line_error(_import(tmp_path, str(tmp_path / "nope.npy")), "does not exist")
    bad_name = invoke(
        "import",
        "--dataset",
        "../evil",
        "--split",
        "train",
        "--model",
        "m",
        "--features",
        good,
        "--root",
        tmp_path / "ws",
    )
    assert_one_line_error(bad_name, "not allowed")
    # none of the refused imports left a store behind that looks complete
    assert not (tmp_path / "ws" / "features").exists() or not any(
        (tmp_path / "ws" / "features").rglob("*.zarr")
    )
    assert _import(tmp_path, good).exit_code == 0
    again = _import(tmp_path, good)  # the same content: nothing to do
    assert again.exit_code == 0 and "nothing to do" in again.output, again.output
    other = _npy(tmp_path, "other.npy", rng.normal(size=(10, 3)))
    assert_one_line_error(_import(tmp_path, other), "other content", "--overwrite")
    assert _import(tmp_path, other, "--overwrite").exit_code == 0


def test_info_refuses_unknown_path(tmp_path):
    assert_one_line_error(invoke("info", tmp_path), "neither a store")


def test_info_reports_incomplete_and_corrupt(tmp_path):
    from hume.store import create_store

    st = create_store(store_path(tmp_path, "d", "train", "half"), 20, 2, chunk_rows=10)
    st.write_chunk(0, np.zeros((10, 2)))
    st.close()
    bad = store_path(tmp_path, "d", "train", "broken")
    bad.mkdir(parents=True)
    (bad / "zarr.json").write_text("garbage")
    out = invoke("info", "--root", tmp_path)
    assert out.exit_code == 0
    assert "incomplete" in out.output and "corrupt" in out.output


def test_workspace_is_data_for_the_info_command(tmp_path, rng):
    from hume.store import create_store
    from hume.workspace import RunDetails, StoreDetails, describe, summarise

    path = store_path(tmp_path, "d", "train", "half")
    st = create_store(path, 20, 2, chunk_rows=10)
    st.write_chunk(0, np.zeros((10, 2)))
    st.close()
    ws = summarise(tmp_path)
    assert ws.stores_dir == tmp_path / "features" and ws.runs == []
    (s,) = ws.stores
    assert (s.entry.model, s.n_rows, s.dim, s.dtype) == ("half", 20, 2, "float16")
    assert s.state == "incomplete (1/2 chunks missing)" and s.nbytes > 0
    d = describe(path)
    assert isinstance(d, StoreDetails) and not d.complete and d.missing == [(10, 20)]
    run = tmp_path / "runs" / "r1"
    run.mkdir(parents=True)
    (run / "config.json").write_text(
        '{"method": "hume", "views": ["a", "b"], "status": "complete"}'
    )
    r = describe(run)
    assert isinstance(r, RunDetails) and r.config["method"] == "hume" and r.files == ["config.json"]
    assert [(x.name, x.views, x.has_report) for x in summarise(tmp_path).runs] == [
        ("r1", ["a", "b"], False)
    ]


LIBRARY = ["embed", "store", "core", "workspace.py", "runs.py"]


@pytest.mark.parametrize("part", LIBRARY)
def test_library_never_prints_nor_draws(part):
    """Only hume/commands/ and hume/cli.py print or use typer/rich; the library reports."""
    import re
    from pathlib import Path

    import hume

    base = Path(hume.__file__).parent / part
    files = sorted(base.rglob("*.py")) if base.is_dir() else [base]
    assert files
    for f in files:
        text = f.read_text()
        assert not re.search(r"\bprint\(|^\s*(import|from) (typer|rich)\b", text, re.M), f


def test_atomic_write_is_readable_by_others_and_leaves_no_temp(tmp_path):
    import os
    import stat

    from hume.core.files import atomic_write, write_json

    write_json(tmp_path / "a.json", {"x": 1})
    umask = os.umask(0)
    os.umask(umask)
    mode = stat.S_IMODE((tmp_path / "a.json").stat().st_mode)
    assert mode == 0o666 & ~umask and (tmp_path / "a.json").read_text().strip() == '{\n  "x": 1\n}'
    with pytest.raises(RuntimeError):
        with atomic_write(tmp_path / "b.bin") as tmp:
            open(tmp, "w").write("half")
            raise RuntimeError("crash while writing")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.json"]
