"""Errors name settings as data, and keep their cause (issue 34).

A library user reads a setting as they write it (``subset_size``, ``overwrite=True``); the
command line prints the same error with the flag (``--subset-size``, ``--overwrite``). No error
of the library (all of hume/ below the command layer) spells a flag itself. An error that replaces another keeps
it as its cause, and an unreadable file is not called corrupt.
"""

import ast
import errno
import os
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import assert_one_line_error, invoke
from helpers import planted_stores as _planted_stores

from hume.core.errors import HumeError
from hume.store import create_store, open_store

HUME_PACKAGE = Path(__file__).resolve().parent.parent / "hume"
#: where errors may spell flags: the command layer (everything else is the library)
COMMAND_LAYER = (HUME_PACKAGE / "commands", HUME_PACKAGE / "cli.py")
FLAG = re.compile(r"(?<![\w-])--[a-z]")


# -- (a) one error, two readers ---------------------------------------------------------------


def test_the_library_reads_the_setting_and_the_command_line_the_flag(tmp_path):
    from hume.search import HUME

    root, _ = _planted_stores(tmp_path)  # 90 train + 30 test rows: 120 searched
    views = [np.random.default_rng(0).normal(size=(120, d)).astype(np.float32) for d in (6, 9)]
    with pytest.raises(HumeError) as caught:
        HUME(n_classes=3, subset_size=1000, device="cpu").fit(views)
    err = caught.value
    assert "pass subset_size ≤ 120" in str(err)
    assert "--" not in str(err)
    assert "subset_size" in err.settings
    assert "pass --subset-size ≤ 120" in err.as_flags()

    result = invoke(
        "search", "--views", "va,vb", "--subset-size", "1000", "--root", root, "--device", "cpu"
    )
    assert_one_line_error(result, "pass --subset-size ≤ 120")
    assert "subset_size" not in result.output


def test_a_store_error_reads_overwrite_true_in_python_and_the_flag_on_the_command_line(
    tmp_path,
):
    from hume.store.importing import import_features

    root = tmp_path / "ws"
    first, second = tmp_path / "a.npy", tmp_path / "b.npy"
    np.save(first, np.ones((8, 3), dtype=np.float32))
    np.save(second, np.zeros((8, 3), dtype=np.float32))
    import_features("d", "train", "v", first, root=str(root))
    with pytest.raises(HumeError) as caught:
        import_features("d", "train", "v", second, root=str(root))
    assert "pass overwrite=True to replace it" in str(caught.value)
    assert caught.value.settings == ("overwrite",)

    result = invoke(
        "import", "--dataset", "d", "--split", "train", "--model", "v", "--features", second,
        "--root", root,
    )  # fmt: skip
    assert_one_line_error(result, "pass --overwrite to replace it")


def test_a_keyword_named_otherwise_on_the_command_line_prints_its_flag(tmp_path):
    """plan_refit's ``parent`` is ``--from``; export's ``formats`` is ``--format``."""
    from hume.core.errors import command, setting
    from hume.refit.refit_run import plan_refit

    with pytest.raises(HumeError) as caught:
        plan_refit(tmp_path / "run", [])
    assert str(caught.value).startswith("parent needs corrections:")
    assert caught.value.as_flags().startswith("--from needs --corrections:")
    shown = HumeError(f"use {setting('formats', 'csv')}")
    assert (str(shown), shown.as_flags()) == ("use formats=csv", "use --format csv")
    # a command line in an error spells them as the flags too
    assert command("search", setting("parent", "r")) == "`hume search --from r`"


# -- (b) no flag spelled inside an error ------------------------------------------------------


def _flags_in_raises(source: str, where: str) -> list[str]:
    """Every string constant (f-string parts included) inside a ``raise`` that holds a flag."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Raise):
            continue
        for part in ast.walk(node):
            if (
                isinstance(part, ast.Constant)
                and isinstance(part.value, str)
                and FLAG.search(part.value)
            ):
                found.append(f"{where}:{part.lineno}: {part.value!r}")
    return found


def _library_files() -> list[Path]:
    """Every module of hume/ but the command layer's."""
    return [
        p
        for p in sorted(HUME_PACKAGE.rglob("*.py"))
        if not any(p == part or part in p.parents for part in COMMAND_LAYER)
    ]


def test_no_error_of_the_library_spells_a_command_line_flag():
    files = _library_files()
    scanned = {p.relative_to(HUME_PACKAGE).parts[0] for p in files}
    assert {"search", "store", "embed", "export", "refit", "evaluate", "core", "runs.py"} <= scanned
    assert not {"commands", "cli.py"} & scanned
    found = [
        hit
        for path in files
        for hit in _flags_in_raises(path.read_text(encoding="utf-8"), str(path))
    ]
    assert not found, "name flags with setting()/command() (hume.core.errors):\n" + "\n".join(found)


def test_the_scan_sees_flags_in_f_strings_and_not_in_settings():
    spelled = 'def f(v):\n    raise ValueError(f"use {v} or --views a,b")\n'
    named = "def f(v):\n    raise HumeError(f\"use {v} or {setting('views', 'a,b')}\")\n"
    assert _flags_in_raises(spelled, "spelled") and not _flags_in_raises(named, "named")


# -- (c) a store that cannot be read is not a corrupt store ------------------------------------


def _store(tmp_path, name: str) -> Path:
    path = tmp_path / name
    with create_store(path, 10, 4) as store:
        store.write_chunk(0, np.ones((10, 4), dtype=np.float32))
    return path


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads whatever chmod says"
)
@pytest.mark.parametrize("name", ["v.zarr", "v.h5"])
def test_an_unreadable_store_says_so_and_not_delete(tmp_path, name):
    path = _store(tmp_path, name)
    path.chmod(0)
    try:
        with pytest.raises(HumeError) as caught:
            open_store(path)
    finally:
        path.chmod(0o755)
    text = str(caught.value)
    assert "permission denied" in text and "delete" not in text and "corrupt" not in text
    assert isinstance(caught.value.__cause__, PermissionError)


@pytest.mark.parametrize("name", ["v.zarr", "v.h5"])
def test_a_refused_read_says_what_the_system_said_and_not_delete(tmp_path, monkeypatch, name):
    """The same, wherever chmod does not bite (root): the backend's open is refused."""
    from hume.store import backends
    from hume.store.paths import format_of

    path = _store(tmp_path, name)
    fmt = format_of(path)
    create, _ = backends.BACKENDS[fmt]

    def refused(where, writable):
        raise PermissionError(errno.EACCES, "Permission denied", str(where))

    monkeypatch.setitem(backends.BACKENDS, fmt, (create, refused))
    with pytest.raises(HumeError) as caught:
        open_store(path)
    text = str(caught.value)
    assert f"cannot read the store at {path}: permission denied" in text
    assert "delete" not in text and "corrupt" not in text
    assert isinstance(caught.value.__cause__, PermissionError)
    with pytest.raises(HumeError, match="cannot open the store .* make it writable"):
        open_store(path, mode="r+")


@pytest.mark.parametrize("name", ["v.zarr", "v.h5"])
def test_a_really_corrupt_store_is_still_to_be_deleted(tmp_path, name):
    path = _store(tmp_path, name)
    if path.is_dir():
        (path / "features" / "zarr.json").write_text("not json")
    else:
        path.write_bytes(b"not an hdf5 file at all" * 10)
    with pytest.raises(HumeError) as caught:
        open_store(path)
    text = str(caught.value)
    assert "corrupt" in text and "delete it" in text
    assert "overwrite=True" in text and "--overwrite" in caught.value.as_flags()
    assert caught.value.__cause__ is not None


def test_a_seed_file_that_cannot_be_read_is_not_called_damaged(tmp_path, monkeypatch):
    from hume.search.search_runs.seed_files import SeedFiles

    files = SeedFiles(tmp_path)
    files.folder.mkdir()
    files.seed_path(0).write_bytes(b"junk")
    with pytest.raises(HumeError, match="seed-00000.pt is unreadable") as damaged:
        files.result(0)
    assert "delete it" in str(damaged.value) and damaged.value.__cause__ is not None
    assert "`hume search --resume`" in damaged.value.as_flags()

    def refused(*args, **kwargs):
        raise PermissionError(errno.EACCES, "Permission denied", str(files.seed_path(0)))

    monkeypatch.setattr(torch, "load", refused)
    with pytest.raises(HumeError) as caught:
        files.result(0)
    text = str(caught.value)
    assert "cannot read the seed file" in text and "Permission denied" in text
    assert "delete" not in text and "unreadable" not in text
    assert isinstance(caught.value.__cause__, PermissionError)


# -- (d) a replaced error stays the cause ------------------------------------------------------


def test_a_replaced_error_is_kept_as_the_cause(tmp_path):
    from hume.core.fixed_choices import choose
    from hume.runs import read_config_json
    from hume.store import StoreDtype

    with pytest.raises(HumeError) as caught:
        choose(StoreDtype, "float8", "dtype")
    assert isinstance(caught.value.__cause__, ValueError)
    with pytest.raises(HumeError, match="is not a run") as caught:
        read_config_json(tmp_path)
    assert isinstance(caught.value.__cause__, FileNotFoundError)
