"""The feature store, tested identically on both backends."""

import multiprocessing as mp

import numpy as np
import pytest
import torch

from hume.core.errors import HumeError
from hume.search.search_runs.view_loading import load_view
from hume.store import (
    create_store,
    find_store,
    list_stores,
    open_store,
    resolve_dataset,
    resolve_root,
    store_path,
)


def _make(tmp_path, fmt, n=250, d=6, chunk_rows=100, **kw):
    path = store_path(tmp_path, "toy", "train", "m", fmt)
    return path, create_store(path, n, d, chunk_rows=chunk_rows, **kw)


def test_round_trip_features_labels_attrs(tmp_path, fmt, rng):
    x = rng.normal(size=(250, 6)).astype(np.float32)
    y = rng.integers(0, 4, size=250)
    path, st = _make(
        tmp_path,
        fmt,
        dtype="float32",
        labels=y,
        attrs={
            "dataset": "toy",
            "split": "train",
            "model": "m",
            "weights": "w@1",
            "classes": ["a", "b", "c", "d"],
            "num_classes": 4,
        },
    )
    st.write_rows(0, x)
    st.mark_complete()
    st.close()
    with open_store(path) as st:
        assert st.format == fmt and st.is_complete
        assert (st.n_rows, st.dim, st.dtype, st.n_chunks) == (250, 6, "float32", 3)
        np.testing.assert_array_equal(st.read_features(), x)
        np.testing.assert_array_equal(st.read_labels(), y)
        a = st.attrs
        assert a["weights"] == "w@1" and a["classes"] == ["a", "b", "c", "d"]
        assert a["n_rows"] == 250 and a["dim"] == 6 and a["dtype"] == "float32"
        assert a["complete"] is True and "created" in a and "numpy" in a["versions"]
        assert [s for s, _, _ in st.iter_chunks()] == [0, 100, 200]


def test_float16_default_and_unknown_labels(tmp_path, fmt, rng):
    x = rng.normal(size=(250, 6))
    path, st = _make(tmp_path, fmt)
    st.write_rows(0, x)
    st.mark_complete()
    st.close()
    with open_store(path) as st:
        assert st.dtype == "float16"
        np.testing.assert_allclose(st.read_features(), x, atol=5e-3)
        assert (st.read_labels() == -1).all()


def test_resume_after_partial_write(tmp_path, fmt, rng):
    x = rng.normal(size=(250, 6)).astype(np.float32)
    path, st = _make(tmp_path, fmt, dtype="float32")
    st.write_chunk(0, x[:100])
    st.write_chunk(2, x[200:])
    with pytest.raises(HumeError, match="1 of 3 chunks"):
        st.mark_complete()
    st.close()
    with pytest.raises(HumeError, match="incomplete"):
        open_store(path)
    with open_store(path, mode="r+", allow_incomplete=True) as st:
        assert st.missing_chunks() == [1]
        assert st.missing_ranges() == [(100, 200)]
        st.write_rows(100, x[100:200])
        st.mark_complete()
    with open_store(path) as st:
        np.testing.assert_array_equal(st.read_features(), x)


def test_missing_ranges_merge(tmp_path, fmt, rng):
    _, st = _make(tmp_path, fmt, n=500, chunk_rows=100)
    st.write_chunk(2, rng.normal(size=(100, 6)))
    assert st.missing_ranges() == [(0, 200), (300, 500)]
    st.close()


def test_unaligned_writes_refused(tmp_path, fmt, rng):
    _, st = _make(tmp_path, fmt)
    with pytest.raises(HumeError, match="whole chunks"):
        st.write_rows(50, rng.normal(size=(100, 6)))
    with pytest.raises(HumeError, match="needs shape"):
        st.write_chunk(0, rng.normal(size=(99, 6)))
    st.close()


def _writer(path, chunks, seed):
    st = open_store(path, mode="r+", allow_incomplete=True)
    for i in chunks:
        start, stop = st.chunk_bounds(i)
        st.write_chunk(
            i,
            np.full((stop - start, st.dim), float(i), dtype=np.float32)
            + np.arange(start, stop, dtype=np.float32)[:, None] / 1000,
        )
    st.close()


def test_concurrent_writers_disjoint_chunks(tmp_path):
    path, st = _make(tmp_path, "zarr", n=1000, chunk_rows=64, dtype="float32")
    st.close()
    ctx = mp.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, list(range(r, 16, 3)), r)) for r in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    with open_store(path, mode="r+", allow_incomplete=True) as st:
        assert st.missing_chunks() == []
        st.mark_complete()
    feats = open_store(path).read_features()
    rows = np.arange(1000)
    expected = (rows // 64)[:, None] + rows[:, None] / 1000
    np.testing.assert_allclose(feats, np.broadcast_to(expected, (1000, 6)), rtol=1e-6)


def test_load_view_features_only(tmp_path, fmt, rng, monkeypatch):
    x = rng.normal(size=(250, 6)).astype(np.float32)
    path, st = _make(tmp_path, fmt, dtype="float32", labels=np.zeros(250, dtype=int))
    st.write_rows(0, x)
    st.mark_complete()
    st.close()

    def no_labels(self):
        raise AssertionError("load_view must not read labels")

    monkeypatch.setattr("hume.store.feature_store.FeatureStore.read_labels", no_labels)
    t = load_view(path, dtype=torch.float64)
    assert t.shape == (250, 6) and t.dtype == torch.float64
    np.testing.assert_array_equal(t.numpy(), x.astype(np.float64))


@pytest.mark.parametrize(
    "bad, message",
    [
        (np.zeros((3, 4, 2)), "2-D"),
        (np.array([[1.0, np.nan], [np.inf, 1.0], [0.0, 0.0]]), "2 of 3 rows"),
    ],
)
def test_bad_features_refused(tmp_path, fmt, bad, message):
    _, st = _make(tmp_path, fmt, n=3, d=2, chunk_rows=3)
    with pytest.raises(HumeError, match=message):
        st.write_chunk(0, bad)
    st.close()


def test_float16_overflow_refused(tmp_path, fmt):
    _, st = _make(tmp_path, fmt, n=2, d=2, chunk_rows=2)
    with pytest.raises(HumeError, match="overflow float16"):
        st.write_chunk(0, np.array([[1e6, 0.0], [0.0, 0.0]]))
    st.close()


def test_labels_length_mismatch(tmp_path, fmt):
    with pytest.raises(HumeError, match="labels have 5 entries but the features have 250 rows"):
        _make(tmp_path, fmt, labels=np.zeros(5, dtype=int))


def test_existing_store_needs_overwrite(tmp_path, fmt):
    path, st = _make(tmp_path, fmt)
    st.close()
    with pytest.raises(HumeError, match="pass overwrite=True to replace it") as caught:
        _make(tmp_path, fmt)
    assert "pass --overwrite to replace it" in caught.value.as_flags()
    _, st = _make(tmp_path, fmt, n=10, overwrite=True)
    assert st.n_rows == 10
    st.close()


def test_creation_is_atomic_and_overwrite_keeps_the_old_store_until_the_new_one_is_ready(
    tmp_path, fmt, monkeypatch
):
    from hume.store.feature_store import FeatureStore

    path, st = _make(tmp_path, fmt, n=10, d=2, chunk_rows=5)
    st.write_rows(0, np.ones((10, 2)))
    st.mark_complete()
    st.close()

    def crash(self, labels):
        raise RuntimeError("killed while creating")

    monkeypatch.setattr(FeatureStore, "write_labels", crash)
    with pytest.raises(RuntimeError, match="killed"):
        create_store(path, 20, 3, labels=np.zeros(20, dtype=int), overwrite=True)
    with open_store(path) as old:  # untouched: complete, its own shape
        assert (old.n_rows, old.dim) == (10, 2)
    fresh = store_path(tmp_path, "toy", "test", "m", fmt)
    with pytest.raises(RuntimeError, match="killed"):
        create_store(fresh, 20, 3, labels=np.zeros(20, dtype=int))
    assert not fresh.exists()
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name]  # no .creating leftovers


def test_leftovers_of_a_killed_creation_are_removed(tmp_path, fmt):
    from hume.store import remove_leftovers

    path = store_path(tmp_path, "toy", "train", "m", fmt)
    other = store_path(tmp_path, "toy", "train", "m2", fmt)
    for p in (path, other):
        create_store(p.with_name(f".{p.stem}.0123abcd.creating{p.suffix}"), 4, 2).close()
    remove_leftovers(path)
    assert [p.name for p in path.parent.iterdir()] == [f".m2.0123abcd.creating{other.suffix}"]


def test_store_lock_is_exclusive_and_released(tmp_path):
    from hume.store import store_lock

    path = store_path(tmp_path, "toy", "train", "m")
    with store_lock(path) as lock:
        assert lock.path.name == ".m.zarr.lock" and lock.path.exists()
        with pytest.raises(HumeError, match=f"another `hume embed` is writing {path}"):
            store_lock(path).acquire()
    assert not lock.path.exists()
    with store_lock(path):  # free again
        pass


def test_open_missing_and_corrupt(tmp_path, fmt):
    path = store_path(tmp_path, "toy", "train", "m", fmt)
    with pytest.raises(HumeError, match="no feature store"):
        open_store(path)
    path.parent.mkdir(parents=True)
    if fmt == "zarr":
        path.mkdir()
        (path / "zarr.json").write_text("{not json")
    else:
        path.write_bytes(b"definitely not hdf5")
    with pytest.raises(HumeError, match="corrupt"):
        open_store(path)


@pytest.mark.parametrize("name", ["a/b", "..", "x\\y", ".hidden", ""])
def test_unsafe_names(tmp_path, name):
    with pytest.raises(HumeError):
        store_path(tmp_path, name, "train", "m")
    with pytest.raises(HumeError):
        store_path(tmp_path, "toy", "train", name)


def test_unknown_format(tmp_path):
    with pytest.raises(HumeError, match="unknown store format 'parquet': use one of zarr, hdf5"):
        store_path(tmp_path, "toy", "train", "m", "parquet")
    with pytest.raises(
        HumeError, match="unknown feature dtype 'float64': use one of float16, float32"
    ):
        create_store(store_path(tmp_path, "toy", "train", "m"), 4, 2, dtype="float64")


def test_choices_as_enums_or_strings(tmp_path):
    from hume.store import StoreDtype, StoreFormat

    assert store_path(tmp_path, "t", "s", "m", StoreFormat.hdf5) == store_path(
        tmp_path, "t", "s", "m", "hdf5"
    )
    with create_store(
        store_path(tmp_path, "t", "s", "m", StoreFormat.hdf5), 3, 2, dtype=StoreDtype.float32
    ) as st:
        assert st.format == "hdf5" and st.dtype == "float32"
        assert st.attrs["format"] == "hdf5" and st.attrs["dtype"] == "float32"


def test_catalog_listing_and_resolution(tmp_path, rng):
    for dataset, model, fmt in [
        ("a", "dinov2", "zarr"),
        ("a", "clip", "hdf5"),
        ("b", "clip", "zarr"),
    ]:
        st = create_store(store_path(tmp_path, dataset, "train", model, fmt), 4, 2)
        st.close()
    entries = list_stores(tmp_path)
    assert [(e.dataset, e.model, e.format) for e in entries] == [
        ("a", "clip", "hdf5"),
        ("a", "dinov2", "zarr"),
        ("b", "clip", "zarr"),
    ]
    assert find_store(tmp_path, "a", "train", "dino").name == "dinov2.zarr"
    assert resolve_dataset(tmp_path, ["clip", "dino"], None) == "a"
    with pytest.raises(HumeError, match="several datasets.*a, b"):
        resolve_dataset(tmp_path, ["clip"], None)
    with pytest.raises(HumeError, match="no dataset"):
        resolve_dataset(tmp_path, ["pixels"], None)
    with pytest.raises(HumeError, match="hume embed --model pixels"):
        find_store(tmp_path, "a", "train", "pixels")


def test_root_resolution(monkeypatch, tmp_path):
    monkeypatch.setenv("HUME_ROOT", str(tmp_path / "env"))
    assert resolve_root(None) == tmp_path / "env"
    assert resolve_root(tmp_path / "flag") == tmp_path / "flag"
    monkeypatch.delenv("HUME_ROOT")
    assert str(resolve_root(None)) == "hume-data"


def test_row_paths_round_trip_when_rows_are_files(tmp_path, fmt):
    paths = ["a/x.png", "b/ü y.jpg", "c.png"]
    st = create_store(store_path(tmp_path, "d", "all", "m", fmt), 3, 2, paths=paths)
    st.write_chunk(0, np.zeros((3, 2)))
    st.mark_complete()
    st.close()
    with open_store(store_path(tmp_path, "d", "all", "m", fmt)) as st:
        assert st.has_paths and st.read_paths() == paths
    with create_store(store_path(tmp_path, "d", "all", "n", fmt), 3, 2) as st:
        assert not st.has_paths and st.read_paths() is None
    with pytest.raises(HumeError, match="2 row paths for a store of 3 rows"):
        create_store(store_path(tmp_path, "d", "all", "o", fmt), 3, 2, paths=paths[:2])
