"""Nothing lost, nothing silently wrong: kills at seeded random points, every kind of damage to a
store, a full disk and a read-only root, and bad command lines for every command.

Kills go through the test hooks ``HUME_EMBED_FAULT`` and ``HUME_SEARCH_FAULT`` in a child
process (SIGKILL, no clean-up of any kind); every resumed result is compared with an
uninterrupted one, stores byte for byte and runs label for label. The children fork from a
server that has imported hume and torch once, so a kill costs a fork, not an interpreter start.
`bench/faults.py` runs the long version.
"""

import json
import multiprocessing as mp
import os
import random
import shutil
import signal
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_one_line_error, invoke, planted_stores

from hume.store import open_store, store_path

SEED = 13  # every kill point is drawn from this seed
#: digits with the training-free `pixels` view: 15 chunks of 128 rows (the last one shorter)
EMBED = ("--model", "pixels", "--dataset", "digits", "--workers", "0", "--chunk-rows", "128")
N_CHUNKS = 15
ROWS_2 = "rows 256–383 (chunk 2)"  # what a message about chunk 2 must name
FAST = ["--iters", "12", "--inner-steps", "5", "--subsets", "2", "--outer-lr", "0.05"]
FAST += ["--seeds", "2", "--device", "cpu"]
VOLATILE = {"store_id", "created", "completed"}  # differ between any two stores

pytestmark = pytest.mark.usefixtures("one_thread")


def _ok(result):
    assert result.exit_code == 0, result.output
    return result


def _command(args, env):
    """The `hume` command in a child process (its output goes to /dev/null)."""
    import sys

    import torch

    torch.set_num_threads(1)
    os.environ.update(env)
    sys.stdout = sys.stderr = open(os.devnull, "w")  # noqa: SIM115 - lives as long as the child
    from hume.cli import app

    app([str(a) for a in args])


_SERVER = mp.get_context("forkserver")
_SERVER.set_forkserver_preload(
    ["torch", "hume.cli", "hume.embed.pipeline", "hume.search.search_runs.run_lifecycle"]
)


def _cli(*args, env):
    """`hume ...` in a child process, so that it can be killed for real."""
    proc = _SERVER.Process(target=_command, args=(args, env))
    proc.start()
    return proc


def _killed(proc):
    proc.join(timeout=180)
    assert proc.exitcode == -signal.SIGKILL, proc.exitcode


def store_bytes(path):
    """Everything a store holds as bytes: every array (as stored) and the attributes describing
    it. Zarr: every file, so leftovers of a killed writer would show too."""
    path = Path(path)
    with open_store(path, allow_incomplete=True) as st:
        out = {"attrs": {k: v for k, v in st.attrs.items() if k not in VOLATILE}}
    if path.is_dir():
        for f in sorted(path.rglob("*")):
            if f.is_file() and f != path / "zarr.json":  # the group's file holds the attributes
                out[str(f.relative_to(path))] = f.read_bytes()
        return out
    import h5py

    with h5py.File(path, "r") as h:
        for name, ds in h.items():
            data = np.asarray(ds[...])
            if data.dtype == object:  # strings (the paths array): their text, not pointers
                out[name] = "\0".join(v.decode() for v in data).encode()
            else:
                out[name] = data.tobytes()
    return out


@pytest.fixture(scope="module")
def references(tmp_path_factory):
    """Uninterrupted digits/pixels stores, one per format."""
    root = tmp_path_factory.mktemp("reference")
    for fmt in ("zarr", "hdf5"):
        _ok(invoke("embed", *EMBED, "--format", fmt, "--root", root))
    return {fmt: store_path(root, "digits", "all", "pixels", fmt) for fmt in ("zarr", "hdf5")}


# -- kills ----------------------------------------------------------------------------------------
def test_embed_killed_at_random_points_resumes_byte_for_byte(tmp_path, fmt, references):
    rng = random.Random(f"{SEED}-{fmt}")
    first, second = rng.randint(1, 6), rng.randint(1, 6)
    ws = tmp_path / "ws"
    path = store_path(ws, "digits", "all", "pixels", fmt)
    args = ("embed", *EMBED, "--format", fmt, "--root", ws)
    _killed(_cli(*args, env={"HUME_EMBED_FAULT": f"kill:{first}"}))  # after a chunk's flag
    with open_store(path, allow_incomplete=True) as st:
        assert int(st.done_mask().sum()) == first and not st.is_complete
    # the next run is killed between a chunk's rows and its checksum and flag
    _killed(_cli(*args, env={"HUME_EMBED_FAULT": f"kill-before-flag:{second}"}))
    with open_store(path, allow_incomplete=True) as st:
        assert int(st.done_mask().sum()) == first + second - 1
    out = _ok(invoke(*args)).output
    assert f"{N_CHUNKS - first - second + 1} of {N_CHUNKS} chunks left" in out
    assert store_bytes(path) == store_bytes(references[fmt])
    again = _ok(invoke(*args)).output
    assert again.startswith("nothing to do:") and len(again.splitlines()) == 1


def test_search_killed_at_random_points_resumes_label_for_label_one_writer_per_run(tmp_path):
    root = tmp_path / "ws"
    planted_stores(tmp_path, root=root)
    _ok(invoke("search", "--views", "va,vb", "--root", root, "--run", "ref", *FAST))
    rng = random.Random(SEED)
    first, second = rng.randint(2, 8), rng.randint(1, 3)
    run = root / "runs" / "cut"
    args = ("search", "--views", "va,vb", "--root", root, "--run", "cut", *FAST)
    ready = tmp_path / "paused"
    held = _cli(*args, env={"HUME_SEARCH_FAULT": f"pause:{first}", "HUME_FAULT_READY": str(ready)})
    deadline = time.time() + 120
    while not ready.exists() and time.time() < deadline and held.is_alive():
        time.sleep(0.1)
    assert ready.exists(), held.exitcode  # paused after its checkpoint, holding the run
    # a second process on the same run, new or resumed, is refused while the first runs
    busy = "another `hume search` is writing run 'cut'"
    assert_one_line_error(invoke(*args), busy)
    assert_one_line_error(invoke("search", "--resume", "--run", "cut", "--root", root), busy)
    held.kill()  # SIGKILL at the first point
    _killed(held)
    resume = ("search", "--resume", "--run", "cut", "--root", root)
    _killed(_cli(*resume, env={"HUME_SEARCH_FAULT": f"kill:{second}"}))
    assert json.loads((run / "config.json").read_text())["status"] == "running"
    _ok(invoke(*resume))
    for name in ("seeds.npz", "ensemble.npz"):
        got, want = np.load(run / name), np.load(root / "runs" / "ref" / name)
        assert set(got.files) == set(want.files)
        for key in want.files:
            np.testing.assert_array_equal(got[key], want[key], err_msg=f"{name}:{key}")
    assert not list(run.glob(".*partial*"))  # no leftovers of the killed writes
    again = _ok(invoke(*resume)).output
    assert "nothing to do" in again and len(again.splitlines()) == 1


# -- damage ---------------------------------------------------------------------------------------
def _flip(path, offset, n=4):
    with open(path, "r+b") as fh:
        fh.seek(offset)
        raw = bytearray(fh.read(n))
        fh.seek(offset)
        fh.write(bytes(b ^ 0xFF for b in raw))


def _h5_chunk(path, index, dataset="features"):
    """(offset, size) of chunk ``index`` of an HDF5 dataset in its file."""
    import h5py

    with h5py.File(path, "r") as h:
        ds = h[dataset]
        if ds.chunks is None:
            return ds.id.get_offset(), ds.id.get_storage_size()
        info = ds.id.get_chunk_info_by_coord((index * ds.chunks[0],) + (0,) * (ds.ndim - 1))
        return info.byte_offset, info.size


def _h5_copy_chunk(path, src, dst):
    (so, size), (do, _) = _h5_chunk(path, src), _h5_chunk(path, dst)
    with open(path, "r+b") as fh:
        fh.seek(so)
        raw = fh.read(size)
        fh.seek(do)
        fh.write(raw)


def _zarr_json(path, change):
    meta = json.loads(path.read_text())
    change(meta)
    path.write_text(json.dumps(meta))


def _h5_retype(path):
    import h5py

    with h5py.File(path, "r+") as h:
        data = h["features"][...].astype("float32")
        del h["features"]
        h.create_dataset("features", data=data, chunks=(128, data.shape[1]))


C2 = "features/c/2/0"
#: damage kind -> (what it does to a Zarr store, what the refusal names, repairable by chunk)
ZARR_DAMAGE = {
    "bytes flipped": (lambda p: _flip(p / C2, 100), ROWS_2, True),
    "truncated": (lambda p: os.truncate(p / C2, 1000), ROWS_2, True),
    "chunk file missing": (lambda p: (p / C2).unlink(), ROWS_2, True),
    "another valid chunk": (lambda p: shutil.copy(p / "features/c/3/0", p / C2), ROWS_2, True),
    "chunk of another shape": (
        lambda p: (p / C2).write_bytes(np.ones((128, 32), "<f2").tobytes()),
        ROWS_2,
        True,
    ),
    "checksum missing": (lambda p: (p / "_crc32/c/2").unlink(), ROWS_2, True),
    "flag missing": (lambda p: (p / "_done/c/2").unlink(), ROWS_2, True),
    "labels flipped": (lambda p: _flip(p / "labels/c/0", 20), "its labels", True),
    "dtype changed": (
        lambda p: _zarr_json(p / "features/zarr.json", lambda m: m.update(data_type="float32")),
        "broken metadata",
        False,
    ),
    "shape changed": (
        lambda p: _zarr_json(p / "features/zarr.json", lambda m: m.update(shape=[1797, 60])),
        "broken metadata",
        False,
    ),
    "group metadata broken": (
        lambda p: (p / "zarr.json").write_text("{not json"),
        "corrupt",
        False,
    ),
    "checksum array missing": (
        lambda p: shutil.rmtree(p / "_crc32"),
        "broken metadata",
        False,
    ),
}
HDF5_DAMAGE = {
    "bytes flipped": (lambda p: _flip(p, _h5_chunk(p, 2)[0] + 100), ROWS_2, True),
    "another valid chunk": (lambda p: _h5_copy_chunk(p, 3, 2), ROWS_2, True),
    "checksum flipped": (lambda p: _flip(p, _h5_chunk(p, 0, "_crc32")[0] + 16), ROWS_2, True),
    "labels flipped": (lambda p: _flip(p, _h5_chunk(p, 0, "labels")[0] + 80), "its labels", True),
    "truncated": (lambda p: os.truncate(p, p.stat().st_size - 4096), "corrupt", False),
    "dtype changed": (_h5_retype, "broken metadata", False),
    "superblock broken": (lambda p: _flip(p, 0, 8), "corrupt", False),
}


@pytest.mark.parametrize(
    "fmt,kind",
    [("zarr", k) for k in ZARR_DAMAGE] + [("hdf5", k) for k in HDF5_DAMAGE],
)
def test_every_damage_is_refused_in_one_line_and_repaired_exactly(tmp_path, fmt, kind, references):
    damage, named, repairable = (ZARR_DAMAGE if fmt == "zarr" else HDF5_DAMAGE)[kind]
    path = store_path(tmp_path, "digits", "all", "pixels", fmt)
    path.parent.mkdir(parents=True)
    copy = shutil.copytree if fmt == "zarr" else shutil.copy
    copy(references[fmt], path)
    damage(path)
    fix = "--repair" if repairable else "--overwrite"
    assert_one_line_error(invoke("verify", path), str(path), named, fix)
    if not repairable:
        return
    out = _ok(invoke("verify", path, "--repair")).output
    assert out.splitlines()[-1].startswith(f"ok: {path}: repaired")
    assert store_bytes(path) == store_bytes(references[fmt])  # exactly the original bytes


@pytest.mark.parametrize("damage", ["flipped", "truncated"])
def test_search_refuses_a_damaged_chunk_in_one_line(tmp_path, damage, references):
    """The two failures of issue 13: a flipped chunk was used silently (exit 0), a truncated one
    gave a traceback (exit 1)."""
    path = store_path(tmp_path, "digits", "all", "pixels")
    shutil.copytree(references["zarr"], path)
    if damage == "flipped":
        _flip(path / C2, 100)
    else:
        os.truncate(path / C2, 1000)
    r = invoke("search", "--views", "pixels", "--single-view", "--root", tmp_path, *FAST)
    assert_one_line_error(r, str(path), ROWS_2, f"hume verify {path} --repair")
    with open_store(path) as st, pytest.raises(ValueError, match="rows 256–383"):
        st.read_features(300, 310)  # every read path verifies, partial reads too


def test_damaged_labels_stop_evaluate_reads(tmp_path, references):
    path = store_path(tmp_path, "digits", "all", "pixels")
    shutil.copytree(references["zarr"], path)
    _flip(path / "labels/c/0", 20)
    with open_store(path) as st, pytest.raises(ValueError, match="its labels"):
        st.read_labels()


def test_imported_store_is_repaired_from_its_source_only_when_it_still_holds_the_rows(
    tmp_path, rng
):
    root = tmp_path / "ws"
    x = rng.normal(size=(3000, 8)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    args = ("import", "--dataset", "d", "--split", "all", "--model", "m", "--features")
    _ok(invoke(*args, tmp_path / "x.npy", "--root", root))
    path = store_path(root, "d", "all", "m")
    pristine = store_bytes(path)
    _flip(path / "features/c/1/0", 64)
    assert_one_line_error(invoke("verify", path), "rows 1024–2047 (chunk 1)")
    _ok(invoke("verify", path, "--repair"))
    assert store_bytes(path) == pristine
    _flip(path / "features/c/1/0", 64)
    x[1500] += 1  # the source changed: those rows cannot be restored from it
    np.save(tmp_path / "x.npy", x)
    assert_one_line_error(invoke("verify", path, "--repair"), "no longer holds", "--overwrite")


def test_stores_without_checksums_still_load_and_say_so(tmp_path, references):
    """A store written before checksums existed: no _crc32 array, no `checksums` attribute."""
    import zarr

    from hume.search.search_runs.view_loading import load_view

    path = store_path(tmp_path, "digits", "all", "pixels")
    shutil.copytree(references["zarr"], path)
    shutil.rmtree(path / "_crc32")
    group = zarr.open_group(str(path), mode="r+")
    attrs = dict(group.attrs.asdict())
    for key in ("checksums", "labels_crc32"):
        attrs.pop(key)
    group.attrs.clear()
    group.attrs.update(attrs)
    with open_store(references["zarr"]) as ref:
        expected = ref.read_features()
    np.testing.assert_array_equal(load_view(path).numpy(), expected.astype(np.float32))
    assert "checksums: none" in _ok(invoke("info", path)).output
    assert "no checksums" in _ok(invoke("verify", path)).output
    (path / C2).unlink()  # a missing chunk is still caught (it reads as NaN)
    assert_one_line_error(invoke("verify", path), ROWS_2, "missing")


# -- idempotence ----------------------------------------------------------------------------------
def test_evaluate_twice_is_a_no_op_and_overwrite_evaluates_again(tmp_path):
    root = tmp_path / "ws"
    planted_stores(tmp_path, root=root)
    _ok(invoke("search", "--views", "va,vb", "--root", root, "--run", "r", *FAST))
    args = ("evaluate", "--run", "r", "--root", root, "--no-baselines")
    _ok(invoke(*args))
    report = root / "runs" / "r" / "report.json"
    first = report.stat().st_mtime_ns
    again = _ok(invoke(*args)).output
    assert again.startswith("nothing to do:") and len(again.splitlines()) == 1
    assert report.stat().st_mtime_ns == first
    assert "nothing to do" not in _ok(invoke(*args, "--overwrite")).output
    assert report.stat().st_mtime_ns > first


# -- a full disk, a read-only root ------------------------------------------------------------------
@pytest.fixture
def small_disk(tmp_path):
    """A tmpfs mounted at tmp_path/"disk" (size in bytes), grown or made read-only on demand."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root (the disk-full tests run as root in CI)")
    where = tmp_path / "disk"
    where.mkdir()

    def mount(options):
        r = subprocess.run(["mount", "-o", options, where], capture_output=True, text=True)
        assert r.returncode == 0, r.stderr

    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=160k", "tmpfs", where], capture_output=True
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {r.stderr.decode().strip()}")
    yield where, mount
    subprocess.run(["umount", "-l", where], check=False)


def test_full_disk_stops_in_one_line_and_the_rerun_finishes_with_nothing_lost(
    tmp_path, small_disk, references
):
    disk, mount = small_disk
    ws = disk / "ws"
    for fmt in ("zarr", "hdf5"):
        r = invoke("embed", *EMBED, "--format", fmt, "--root", ws)
        path = store_path(ws, "digits", "all", "pixels", fmt)
        assert_one_line_error(r, "no space is left", str(path), "more is needed", "hume embed")
        if fmt == "hdf5":  # allocated at creation: nothing half-made is left behind
            assert not list(path.parent.glob("*.h5"))
        mount("remount,size=4m")
        _ok(invoke("embed", *EMBED, "--format", fmt, "--root", ws))
        assert store_bytes(path) == store_bytes(references[fmt])
        shutil.rmtree(ws)
        mount("remount,size=160k")
    # import: stops, then resumes where it stopped
    x = np.random.default_rng(0).normal(size=(3000, 64)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    args = ("import", "--dataset", "d", "--split", "all", "--model", "m")
    args += ("--features", tmp_path / "x.npy", "--root", ws)
    assert_one_line_error(invoke(*args), "no space is left", "hume import")
    mount("remount,size=4m")
    assert "resume" in _ok(invoke(*args)).output
    with open_store(store_path(ws, "d", "all", "m")) as st:
        np.testing.assert_array_equal(st.read_features(), x.astype(np.float16))
    # search: the run's files do not fit; the resumed run equals an uninterrupted one
    root = tmp_path / "root"
    planted_stores(tmp_path, root=root)
    _ok(invoke("search", "--views", "va,vb", "--root", root, "--run", "ref", *FAST))
    shutil.rmtree(ws)
    mount("remount,size=8k")
    (disk / "runs").mkdir()
    (root / "runs" / "cut").symlink_to(disk / "runs")
    args = ("search", "--views", "va,vb", "--root", root, "--run", "cut", *FAST)
    assert_one_line_error(invoke(*args), "no space is left", "--resume --run cut")
    mount("remount,size=4m")
    _ok(invoke("search", "--resume", "--run", "cut", "--root", root))
    for name in ("seeds.npz", "ensemble.npz"):
        got, want = np.load(disk / "runs" / name), np.load(root / "runs" / "ref" / name)
        np.testing.assert_array_equal(got["labels"], want["labels"])


def test_read_only_root_is_one_line(tmp_path, small_disk):
    disk, mount = small_disk
    mount("remount,ro")
    np.save(tmp_path / "x.npy", np.ones((5, 3), np.float32))
    for args in (
        ("embed", *EMBED, "--root", disk / "ws"),
        ("import", "--dataset", "d", "--split", "all", "--model", "m")
        + ("--features", tmp_path / "x.npy", "--root", disk / "ws"),
    ):
        assert_one_line_error(invoke(*args), "read-only", "--root")


# -- bad command lines ------------------------------------------------------------------------------
def make_bad_inputs(base):
    """Planted stores and a finished run `r1` under ``base/ws``, and files beside them that are not
    what they claim to be: what the lines of :data:`BAD_LINES` refer to as ``{base}``."""
    import pickle

    root = base / "ws"
    planted_stores(base, root=root)
    _ok(invoke("search", "--views", "va,vb", "--root", root, "--run", "r1", *FAST))
    np.save(base / "good.npy", np.ones((10, 3), np.float32))
    np.save(base / "objects.npy", np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    (base / "pickled.npy").write_bytes(pickle.dumps(np.ones((3, 2))))
    (base / "text.npy").write_text("not an array")
    (base / "truncated.npy").write_bytes((base / "good.npy").read_bytes()[:-20])
    np.save(base / "structured.npy", np.zeros(4, dtype=[("a", "f4"), ("b", "f4")]))
    np.save(base / "complex.npy", np.ones((4, 2), complex))
    np.save(base / "empty.npy", np.zeros((0, 3)))
    np.save(base / "one_d.npy", np.ones(5))
    np.savez(base / "archive.npz", x=np.ones((10, 3)))
    np.save(base / "fractional.npy", np.full(10, 0.5))
    np.save(base / "below_minus_one.npy", np.full(10, -2))
    np.save(base / "nan_labels.npy", np.full(10, np.nan))
    (base / "folder.npy").mkdir()
    os.mkfifo(base / "fifo.npy")
    (base / "a_file").write_text("x")


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    base = tmp_path_factory.mktemp("bad")
    make_bad_inputs(base)
    return base


def _import_line(features, *extra):
    return ["import", "--dataset", "d", "--split", "train", "--model", "m"] + [
        "--features",
        f"{{base}}/{features}",
        "--root",
        "{base}/ws",
        *extra,
    ]


SEARCH = ["search", "--views", "va,vb", "--root", "{base}/ws"]
BAD_LINES = {
    # embed
    "embed unknown model": (["embed", "--model", "nope", "--dataset", "digits"], "nope"),
    "embed empty model": (["embed", "--model", "", "--dataset", "digits"], "model"),
    "embed unknown dataset": (["embed", "--model", "pixels", "--dataset", "nope"], "nope"),
    "embed empty dataset": (["embed", "--model", "pixels", "--dataset", ""], "dataset"),
    "embed unknown split": (
        ["embed", "--model", "pixels", "--dataset", "digits", "--split", "bogus"],
        "bogus",
    ),
    "embed zero batch": (
        ["embed", "--model", "pixels", "--dataset", "digits", "--batch-size", "0"],
        "--batch-size",
    ),
    "embed negative workers": (
        ["embed", "--model", "pixels", "--dataset", "digits", "--workers", "-1"],
        "--workers",
    ),
    "embed zero chunk rows": (
        ["embed", "--model", "pixels", "--dataset", "digits", "--chunk-rows", "0"],
        "--chunk-rows",
    ),
    "embed missing folder": (
        ["embed", "--model", "pixels", "--dataset", "imagefolder:{base}/nowhere"],
        "nowhere",
    ),
    "embed folder is a file": (
        ["embed", "--model", "pixels", "--dataset", "imagefolder:{base}/a_file"],
        "a_file",
    ),
    "embed model escapes": (["embed", "--model", "../../x", "--dataset", "digits"], "x"),
    "embed root is a file": (
        ["embed", "--model", "pixels", "--dataset", "digits", "--root", "{base}/a_file"],
        "a_file",
    ),
    "embed repair and overwrite": (
        ["embed", "--model", "pixels", "--dataset", "digits", "--repair", "--overwrite"],
        "exclude",
    ),
    "embed unknown device": (
        ["embed", "--model", "pixels", "--dataset", "digits", "--device", "tpu"],
        "tpu",
    ),
    "embed unknown precision": (
        ["embed", "--model", "pixels", "--dataset", "digits", "--precision", "fp8"],
        "fp8",
    ),
    # import
    "import missing file": (_import_line("nowhere.npy"), "does not exist"),
    "import a folder": (_import_line("folder.npy"), "not a file"),
    "import a fifo": (_import_line("fifo.npy"), "not a file"),
    "import object array": (_import_line("objects.npy"), "not a readable .npy"),
    "import pickle": (_import_line("pickled.npy"), "not a readable .npy"),
    "import text": (_import_line("text.npy"), "not a readable .npy"),
    "import truncated": (_import_line("truncated.npy"), "not a readable .npy"),
    "import structured": (_import_line("structured.npy"), "2-D"),
    "import complex": (_import_line("complex.npy"), "real numbers"),
    "import empty": (_import_line("empty.npy"), "empty"),
    "import 1-D": (_import_line("one_d.npy"), "2-D"),
    "import npz": (_import_line("archive.npz"), ".npz archive"),
    "import fractional labels": (
        _import_line("good.npy", "--labels", "{base}/fractional.npy"),
        "integers",
    ),
    "import labels below -1": (
        _import_line("good.npy", "--labels", "{base}/below_minus_one.npy"),
        "−1",
    ),
    "import NaN labels": (
        _import_line("good.npy", "--labels", "{base}/nan_labels.npy"),
        "integers",
    ),
    "import pickled labels": (
        _import_line("good.npy", "--labels", "{base}/objects.npy"),
        "not a readable .npy",
    ),
    "import dataset escapes": (
        ["import", "--dataset", "../evil", "--split", "train", "--model", "m"]
        + ["--features", "{base}/good.npy", "--root", "{base}/ws"],
        "not allowed",
    ),
    "import empty split": (
        ["import", "--dataset", "d", "--split", "", "--model", "m"]
        + ["--features", "{base}/good.npy", "--root", "{base}/ws"],
        "empty",
    ),
    "import hidden model": (
        ["import", "--dataset", "d", "--split", "train", "--model", ".m"]
        + ["--features", "{base}/good.npy", "--root", "{base}/ws"],
        "not allowed",
    ),
    # search
    "search empty views": (["search", "--views", "", "--root", "{base}/ws"], "--views"),
    "search unknown view": (["search", "--views", "nope,va", "--root", "{base}/ws"], "nope"),
    "search zero seeds": (SEARCH + ["--seeds", "0"], "--seeds"),
    "search negative seeds": (SEARCH + ["--seeds", "-2"], "--seeds"),
    "search one class": (SEARCH + ["--k", "1"], "--k"),
    "search too many classes": (SEARCH + ["--k", "100000"], "100000"),
    "search negative iters": (SEARCH + ["--iters", "-1"], "iters"),
    "search zero subsets": (SEARCH + ["--subsets", "0"], "subsets"),
    "search subset too large": (SEARCH + ["--subset-size", "99999"], "99999"),
    "search train fraction out of range": (SEARCH + ["--train-fraction", "2"], "fraction"),
    "search NaN tau": (SEARCH + ["--tau", "nan"], "tau"),
    "search infinite weight": (SEARCH + ["--entropy-weight", "inf"], "entropy_weight"),
    "search negative lr": (SEARCH + ["--outer-lr", "-1"], "outer lr"),
    "search run escapes": (SEARCH + ["--run", "../x"], "not allowed"),
    "search empty run": (SEARCH + ["--run", ""], "empty"),
    "search existing run": (SEARCH + ["--run", "r1"], "--resume"),
    "search resume unknown run": (
        ["search", "--resume", "--run", "nope", "--root", "{base}/ws"],
        "nope",
    ),
    "search unknown dataset": (SEARCH + ["--dataset", "nope"], "nope"),
    "search unknown setting": (SEARCH + ["--setting", "bogus"], "bogus"),
    "search unknown method": (SEARCH + ["--method", "bogus"], "bogus"),
    "search unknown preset": (SEARCH + ["--preset", "bogus"], "bogus"),
    "search unknown device": (SEARCH + ["--device", "bogus"], "bogus"),
    "search unknown precision": (SEARCH + ["--precision", "fp8"], "fp8"),
    "search unknown option": (SEARCH + ["--bogus"], "--bogus"),
    # evaluate
    "evaluate unknown run": (["evaluate", "--run", "nope", "--root", "{base}/ws"], "nope"),
    "evaluate run escapes": (["evaluate", "--run", "../x", "--root", "{base}/ws"], "not allowed"),
    "evaluate zero restarts": (
        ["evaluate", "--restarts", "0", "--root", "{base}/ws"],
        "--restarts",
    ),
    "evaluate no runs": (["evaluate", "--root", "{base}/nothing"], "no runs"),
    "evaluate unknown device": (
        ["evaluate", "--run", "r1", "--root", "{base}/ws", "--device", "bogus"],
        "bogus",
    ),
    # export, predict
    "export unknown run": (["export", "--run", "nope", "--root", "{base}/ws"], "nope"),
    "export unknown format": (
        ["export", "--run", "r1", "--root", "{base}/ws", "--format", "bogus"],
        "bogus",
    ),
    "export into a file": (
        ["export", "--run", "r1", "--root", "{base}/ws", "--out", "{base}/a_file"],
        "a_file",
    ),
    "predict unknown dataset": (
        ["predict", "--run", "r1", "--dataset", "nope", "--root", "{base}/ws"],
        "nope",
    ),
    "predict dataset escapes": (
        ["predict", "--run", "r1", "--dataset", "../x", "--root", "{base}/ws"],
        "not allowed",
    ),
    # info, verify, demo, and no command at all
    "info missing path": (["info", "{base}/nowhere"], "neither a store"),
    "info a file": (["info", "{base}/a_file"], "neither a store"),
    "verify missing store": (["verify", "{base}/nowhere.zarr"], "no feature store"),
    "verify not a store": (["verify", "{base}/a_file"], "not a feature store"),
    "verify empty path": (["verify", ""], "not a feature store"),
    "verify folder posing as a store": (["verify", "{base}/folder.npy/x.zarr"], "no feature store"),
    "demo zero seeds": (["demo", "--seeds", "0", "--root", "{base}/ws"], "--seeds"),
    "demo unknown device": (["demo", "--device", "bogus", "--root", "{base}/ws"], "bogus"),
    "unknown command": (["bogus"], "bogus"),
}


@pytest.mark.parametrize("case", list(BAD_LINES))
def test_bad_command_lines_are_one_line_exit_2(case, workspace, monkeypatch):
    line, fragment = BAD_LINES[case]
    monkeypatch.chdir(workspace)  # commands without --root write nothing outside it
    monkeypatch.setenv("HUME_ROOT", str(workspace / "ws"))
    args = [a.replace("{base}", str(workspace)) for a in line]
    assert_one_line_error(invoke(*args), fragment)
