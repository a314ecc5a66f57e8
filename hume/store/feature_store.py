"""One feature store over two backends (Zarr v3, HDF5), with explicit per-chunk completeness.

A store holds, for one (dataset, split, model):

- ``features``: N x D float16 (default) or float32, chunked along rows;
- ``labels``: N int64 ground truth, −1 where unknown (only ``evaluate`` reads them);
- ``_done``: one flag per row chunk, set when that chunk has been written;
- ``paths`` (image folders only): N strings, each row's file relative to the dataset's folder;
- attributes (docs/data.md §2.3), among them ``complete``, set only once every chunk is done.

Zarr keeps each chunk and each done-flag in its own object, so several processes may write
disjoint whole chunks at once. HDF5 allows one writer per file.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from hume.choices import choose
from hume.errors import HumeError
from hume.store.paths import StoreFormat, format_of
from hume.store.validate import check_features, check_labels
from hume.versions import library_versions


class StoreDtype(StrEnum):
    """How features are stored: float16 (half the disk and reading time) or float32."""

    float16 = "float16"
    float32 = "float32"


DEFAULT_CHUNK_ROWS = 1024
PATHS = "paths"  # the optional array naming every row's file
_H5_ATTRS = "hume_attrs"  # HDF5 keeps the attribute dict as one JSON string


def _to_jsonable(attrs: dict[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(json.dumps(attrs))
    except TypeError as exc:
        raise HumeError(f"store attributes must be JSON-serialisable: {exc}") from None


class FeatureStore:
    """An open store. Get one from :func:`create_store` or :func:`open_store`."""

    def __init__(
        self,
        path: Path,
        fmt: StoreFormat,
        handle: Any,
        features: Any,
        labels: Any,
        done: Any,
        writable: bool,
    ):
        self.path = Path(path)
        self.format = fmt
        self._handle = handle
        self._features = features
        self._labels = labels
        self._done = done
        self.writable = writable
        self._attrs = self._read_attrs()

    # -- attributes -------------------------------------------------------------------
    def _read_attrs(self) -> dict[str, Any]:
        if self.format == "zarr":
            return dict(self._handle.attrs.asdict())
        raw = self._handle.attrs.get(_H5_ATTRS)
        return json.loads(raw) if raw is not None else {}

    @property
    def attrs(self) -> dict[str, Any]:
        """A copy of the store's attributes."""
        return dict(self._attrs)

    def update_attrs(self, **values: Any) -> None:
        """Add or change attributes (one writer at a time: rank 0 or the creating process)."""
        self._require_writable()
        new = {**self._attrs, **_to_jsonable(values)}
        if self.format == "zarr":
            self._handle.attrs.update(_to_jsonable(values))
        else:
            self._handle.attrs[_H5_ATTRS] = json.dumps(new)
            self._handle.flush()
        self._attrs = new

    # -- shape ------------------------------------------------------------------------
    @property
    def n_rows(self) -> int:
        return int(self._features.shape[0])

    @property
    def dim(self) -> int:
        return int(self._features.shape[1])

    @property
    def dtype(self) -> str:
        return str(np.dtype(self._features.dtype))

    @property
    def chunk_rows(self) -> int:
        return int(self._attrs["chunk_rows"])

    @property
    def n_chunks(self) -> int:
        return -(-self.n_rows // self.chunk_rows)

    @property
    def is_complete(self) -> bool:
        return bool(self._attrs.get("complete", False))

    def chunk_bounds(self, i: int) -> tuple[int, int]:
        """Rows ``[start, stop)`` of chunk ``i``."""
        if not 0 <= i < self.n_chunks:
            raise IndexError(f"chunk {i} out of range (store has {self.n_chunks})")
        start = i * self.chunk_rows
        return start, min(start + self.chunk_rows, self.n_rows)

    # -- completeness -----------------------------------------------------------------
    def done_mask(self) -> np.ndarray:
        """Boolean mask over chunks: True where the chunk has been written."""
        return np.asarray(self._done[:]).astype(bool)

    def missing_chunks(self) -> list[int]:
        return [int(i) for i in np.flatnonzero(~self.done_mask())]

    def missing_ranges(self) -> list[tuple[int, int]]:
        """Unwritten rows as merged ``[start, stop)`` ranges."""
        ranges: list[tuple[int, int]] = []
        for i in self.missing_chunks():
            start, stop = self.chunk_bounds(i)
            if ranges and ranges[-1][1] == start:
                ranges[-1] = (ranges[-1][0], stop)
            else:
                ranges.append((start, stop))
        return ranges

    def mark_complete(self) -> None:
        """Set the completeness marker; refuses while any chunk is unwritten."""
        missing = self.missing_chunks()
        if missing:
            raise HumeError(
                f"store {self.path} cannot be marked complete: {len(missing)} of "
                f"{self.n_chunks} chunks are not written (first missing rows: "
                f"{self.missing_ranges()[0]})"
            )
        self.update_attrs(complete=True, completed=datetime.now(UTC).isoformat())

    # -- writing ----------------------------------------------------------------------
    def _require_writable(self) -> None:
        if not self.writable:
            raise HumeError(f"store {self.path} is open read-only")

    def write_chunk(self, i: int, features: np.ndarray) -> None:
        """Write every row of chunk ``i`` and flag it done."""
        self._require_writable()
        start, stop = self.chunk_bounds(i)
        x = check_features(features)
        if x.shape != (stop - start, self.dim):
            raise HumeError(
                f"chunk {i} of {self.path} needs shape {(stop - start, self.dim)}, got {x.shape}"
            )
        with np.errstate(over="ignore"):
            x = x.astype(self.dtype, copy=False)
        if not np.isfinite(x).all():
            raise HumeError(
                f"features overflow {self.dtype} in chunk {i} (values beyond ±65504): "
                "store them as float32 (--dtype float32) or rescale them"
            )
        self._features[start:stop] = x
        self._done[i] = 1  # after the data: a crash in between leaves the chunk to redo

    def write_rows(self, start: int, features: np.ndarray) -> None:
        """Write rows ``[start, start + len(features))``, which must cover whole chunks."""
        x = check_features(features)
        stop = start + x.shape[0]
        if (
            start % self.chunk_rows
            or (stop % self.chunk_rows and stop != self.n_rows)
            or stop > self.n_rows
        ):
            raise HumeError(
                f"rows [{start}, {stop}) do not cover whole chunks of {self.chunk_rows} rows "
                f"in a store of {self.n_rows} rows"
            )
        for i in range(start // self.chunk_rows, -(-stop // self.chunk_rows)):
            s, e = self.chunk_bounds(i)
            self.write_chunk(i, x[s - start : e - start])

    def write_labels(self, labels: np.ndarray) -> None:
        self._require_writable()
        self._labels[:] = check_labels(labels, self.n_rows)

    # -- reading ----------------------------------------------------------------------
    def read_features(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows ``[start, stop)`` of the features as a NumPy array of the store's dtype."""
        return np.asarray(self._features[start:stop])

    def iter_chunks(self) -> Iterator[tuple[int, int, np.ndarray]]:
        """Yield ``(start, stop, rows)`` chunk by chunk: memory stays at one chunk."""
        for i in range(self.n_chunks):
            start, stop = self.chunk_bounds(i)
            yield start, stop, self.read_features(start, stop)

    def read_labels(self) -> np.ndarray:
        """Ground-truth labels (N,), −1 where unknown. Only ``evaluate`` may call this."""
        return np.asarray(self._labels[:]).astype(np.int64)

    @property
    def has_paths(self) -> bool:
        """True when the store names the file of every row (image folders)."""
        return PATHS in self._handle

    def read_paths(self) -> list[str] | None:
        """The file of every row (N,), relative to the dataset's folder; None when rows are
        identified by their index alone (torchvision datasets, imported arrays)."""
        if not self.has_paths:
            return None
        raw = self._handle[PATHS][:]
        return [p.decode() if isinstance(p, bytes) else str(p) for p in raw]

    def nbytes_on_disk(self) -> int:
        if self.path.is_dir():
            return sum(f.stat().st_size for f in self.path.rglob("*") if f.is_file())
        return self.path.stat().st_size

    # -- lifetime ---------------------------------------------------------------------
    def close(self) -> None:
        if self.format == "hdf5" and self._handle is not None:
            self._handle.close()
        self._handle = None

    def __enter__(self) -> FeatureStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = (
            "complete"
            if self.is_complete
            else f"incomplete ({len(self.missing_chunks())} chunks missing)"
        )
        return f"FeatureStore({str(self.path)!r}, {self.n_rows}x{self.dim} {self.dtype}, {state})"


# -- backends ------------------------------------------------------------------------------
def _create_zarr(path: Path, n_rows: int, dim: int, dtype: str, chunk_rows: int, n_chunks: int):
    import zarr

    group = zarr.open_group(str(path), mode="w")
    features = group.create_array(
        "features",
        shape=(n_rows, dim),
        chunks=(chunk_rows, dim),
        dtype=dtype,
        fill_value=np.nan,
        compressors=None,
    )
    labels = group.create_array(
        "labels", shape=(n_rows,), chunks=(max(n_rows, 1),), dtype="int64", fill_value=-1
    )
    done = group.create_array("_done", shape=(n_chunks,), chunks=(1,), dtype="uint8", fill_value=0)
    return group, features, labels, done


def _open_zarr(path: Path, writable: bool):
    import zarr

    group = zarr.open_group(str(path), mode="r+" if writable else "r")
    return group, group["features"], group["labels"], group["_done"]


def _create_hdf5(path: Path, n_rows: int, dim: int, dtype: str, chunk_rows: int, n_chunks: int):
    import h5py

    handle = h5py.File(path, "w")
    features = handle.create_dataset(
        "features", shape=(n_rows, dim), dtype=dtype, chunks=(chunk_rows, dim), fillvalue=np.nan
    )
    labels = handle.create_dataset("labels", shape=(n_rows,), dtype="int64", fillvalue=-1)
    done = handle.create_dataset("_done", shape=(n_chunks,), dtype="uint8", fillvalue=0)
    return handle, features, labels, done


def _open_hdf5(path: Path, writable: bool):
    import h5py

    handle = h5py.File(path, "r+" if writable else "r")
    try:
        return handle, handle["features"], handle["labels"], handle["_done"]
    except KeyError:
        handle.close()
        raise


_BACKENDS = {"zarr": (_create_zarr, _open_zarr), "hdf5": (_create_hdf5, _open_hdf5)}


def _write_paths(handle: Any, fmt: StoreFormat, paths: list[str], n_rows: int) -> None:
    """The ``paths`` array (variable-length UTF-8 strings) of a store being created."""
    if len(paths) != n_rows:
        raise HumeError(f"{len(paths)} row paths for a store of {n_rows} rows")
    if fmt == "zarr":
        arr = handle.create_array(PATHS, shape=(n_rows,), chunks=(min(n_rows, 1 << 16),), dtype=str)
        arr[:] = np.asarray(paths, dtype=object)
    else:
        import h5py

        handle.create_dataset(
            PATHS, data=np.asarray(paths, dtype=object), dtype=h5py.string_dtype()
        )


def remove_store(path: str | os.PathLike) -> None:
    path = Path(path)
    if path.is_dir():
        shutil.rmtree(path)
    elif path.exists():
        path.unlink()


def _creating(path: Path, tag: str) -> Path:
    """Where a store for ``path`` is built before it moves into place (a hidden sibling)."""
    return path.with_name(f".{path.stem}.{tag}.creating{path.suffix}")


def remove_leftovers(path: str | os.PathLike) -> None:
    """Remove half-built siblings of ``path`` left by a process killed while creating it.

    Only for a caller that holds the store's lock: another process may be building one now.
    """
    path = Path(path)
    if path.parent.is_dir():
        for old in path.parent.glob(_creating(path, "*").name):
            remove_store(old)


def create_store(
    path: str | os.PathLike,
    n_rows: int,
    dim: int,
    *,
    dtype: StoreDtype | str = StoreDtype.float16,
    chunk_rows: int | None = None,
    attrs: dict[str, Any] | None = None,
    labels: np.ndarray | None = None,
    paths: Sequence[str] | None = None,
    overwrite: bool = False,
) -> FeatureStore:
    """Create an empty, incomplete store for ``n_rows`` x ``dim`` features and open it for writing.

    ``attrs`` should carry the description of docs/data.md §2.3 (dataset, split, model, weights, feature kind,
    preprocessing, ...); shape, dtype, chunking, versions, creation time and the completeness
    marker are added here. An existing store is refused unless ``overwrite``.

    ``paths`` (N,) names each row's file (relative to the dataset's folder) when rows are files.

    The store is built beside ``path`` and moved there once its attributes, ``labels`` and
    ``paths`` are in, so a store at ``path`` is never half-created whatever kills the process; with
    ``overwrite`` the old store goes only once the new one is ready.
    """
    path = Path(path)
    fmt = format_of(path)
    dtype = choose(StoreDtype, dtype, "feature dtype")
    if n_rows < 1 or dim < 1:
        raise HumeError(f"a store needs at least one row and one dimension, got {n_rows}x{dim}")
    if path.exists() and not overwrite:
        raise HumeError(f"a store already exists at {path}: pass --overwrite to replace it")
    chunk_rows = int(chunk_rows or DEFAULT_CHUNK_ROWS)
    if chunk_rows < 1:
        raise HumeError(f"chunk rows must be ≥ 1, got {chunk_rows}")
    chunk_rows = min(chunk_rows, n_rows)
    n_chunks = -(-n_rows // chunk_rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _creating(path, uuid.uuid4().hex[:8])
    try:
        handle, feats, labs, done = _BACKENDS[fmt][0](
            tmp, n_rows, dim, dtype.value, chunk_rows, n_chunks
        )
        with FeatureStore(tmp, fmt, handle, feats, labs, done, writable=True) as store:
            base = {
                "format": fmt.value,
                "dtype": dtype.value,
                "n_rows": int(n_rows),
                "dim": int(dim),
                "chunk_rows": chunk_rows,
                "store_id": uuid.uuid4().hex,
                "created": datetime.now(UTC).isoformat(),
                "complete": False,
            }
            given = dict(attrs or {})
            versions = {
                **library_versions("hume", "numpy", "zarr" if fmt == "zarr" else "h5py"),
                **given.pop("versions", {}),
            }
            store.update_attrs(**given, **base, versions=versions)
            if labels is not None:
                store.write_labels(labels)
            if paths is not None:
                _write_paths(handle, fmt, list(paths), n_rows)
        if path.exists():  # os.replace cannot replace a directory that has files
            remove_store(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            remove_store(tmp)
    return open_store(path, mode="r+", allow_incomplete=True)


def open_store(
    path: str | os.PathLike, *, mode: str = "r", allow_incomplete: bool = False
) -> FeatureStore:
    """Open an existing store (``mode`` ``"r"`` or ``"r+"``).

    Refuses, with a message that says what to do, a missing path, something that is not a
    readable store, and (unless ``allow_incomplete``) a store whose rows are not all written.
    """
    path = Path(path)
    fmt = format_of(path)
    if not path.exists():
        raise HumeError(f"no feature store at {path}: create it with `hume embed` or `hume import`")
    try:
        handle, feats, labs, done = _BACKENDS[fmt][1](path, mode == "r+")
        store = FeatureStore(path, fmt, handle, feats, labs, done, writable=mode == "r+")
        _ = store.chunk_rows
    except HumeError:
        raise
    except Exception as exc:  # any backend failure means the store cannot be trusted
        raise HumeError(
            f"the store at {path} is corrupt or not a hume store ({type(exc).__name__}); "
            "delete it and create it again with `hume embed` or `hume import`"
        ) from None
    if not allow_incomplete and not store.is_complete:
        n_missing, n_chunks = len(store.missing_chunks()), store.n_chunks
        store.close()
        raise HumeError(
            f"the store at {path} is incomplete ({n_missing} of {n_chunks} chunks "
            "unwritten): run the same `hume embed` command again to finish it, or delete it"
        )
    return store
