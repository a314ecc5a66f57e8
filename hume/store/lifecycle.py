"""A feature store's life on disk: created atomically (built beside its path, moved into place
once whole), opened with every check that makes it trustworthy (present, readable, consistent
metadata, complete unless asked otherwise), removed, and cleared of what a killed writer left."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from hume.core.errors import HumeError, setting
from hume.core.fixed_choices import choose
from hume.core.versions import library_versions
from hume.store.backends import BACKENDS
from hume.store.checksums import CRC_ARRAY, SCHEME
from hume.store.feature_store import DEFAULT_CHUNK_ROWS, FeatureStore, StoreDtype
from hume.store.paths import format_of


def bytes_to_write(path: str | os.PathLike, n_rows: int, dim: int, dtype: str) -> int:
    """Bytes of features a store at ``path`` still needs: its unwritten chunks, or all N x D
    rows when there is no readable store there yet."""
    rows = n_rows
    with contextlib.suppress(HumeError):
        with open_store(path, allow_incomplete=True) as store:
            rows = sum(stop - start for start, stop in store.missing_ranges())
    return rows * dim * np.dtype(str(dtype)).itemsize


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
    """Remove half-built siblings of ``path`` and half-written objects inside it (Zarr's
    ``*.partial``), left by a process killed while creating or writing it.

    Only for a caller that holds the store's lock: another process may be building one now.
    """
    path = Path(path)
    if path.parent.is_dir():
        for old in path.parent.glob(_creating(path, "*").name):
            remove_store(old)
    if path.is_dir():
        for partial in path.rglob("*.partial"):
            partial.unlink(missing_ok=True)


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
        raise HumeError(
            f"a store already exists at {path}: pass {setting('overwrite', True)} to replace it"
        )
    chunk_rows = int(chunk_rows or DEFAULT_CHUNK_ROWS)
    if chunk_rows < 1:
        raise HumeError(f"chunk rows must be ≥ 1, got {chunk_rows}")
    chunk_rows = min(chunk_rows, n_rows)
    n_chunks = -(-n_rows // chunk_rows)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = _creating(path, uuid.uuid4().hex[:8])
    try:
        handle, feats, labs, done = BACKENDS[fmt][0](
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
                "checksums": SCHEME,
            }
            given = dict(attrs or {})
            versions = {
                **library_versions("hume", "numpy", "zarr" if fmt == "zarr" else "h5py"),
                **given.pop("versions", {}),
            }
            store.update_attrs(**given, **base, versions=versions)
            store.write_labels(labels if labels is not None else np.full(n_rows, -1))
            if paths is not None:
                store.write_paths(paths)
        if path.exists():  # os.replace cannot replace a directory that has files
            remove_store(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            remove_store(tmp)
    return open_store(path, mode="r+", allow_incomplete=True)


def _layout_problem(store: FeatureStore) -> str | None:
    """What contradicts between a store's arrays and its attributes (None when nothing does)."""
    a = store.attrs
    want = (a.get("n_rows", store.n_rows), a.get("dim", store.dim))
    if (store.n_rows, store.dim) != want:
        return (
            f"features are {store.n_rows} x {store.dim}, the attributes say {want[0]} x {want[1]}"
        )
    if store.dtype != a.get("dtype", store.dtype):
        return f"features are {store.dtype}, the attributes say {a['dtype']}"
    chunks = tuple(store._features.chunks or ())
    if chunks != (store.chunk_rows, store.dim):
        return f"features are chunked {chunks}, the attributes say {store.chunk_rows} rows"
    for name, arr in (("_done", store._done), (CRC_ARRAY, store._crc)):
        if arr is not None and tuple(arr.shape) != (store.n_chunks,):
            return f"{name} has shape {tuple(arr.shape)} for {store.n_chunks} chunks"
    if tuple(store._labels.shape) != (store.n_rows,):
        return f"labels have shape {tuple(store._labels.shape)} for {store.n_rows} rows"
    if a.get("checksums") and store._crc is None:
        return f"the {CRC_ARRAY} array its attributes announce is missing"
    return None


#: errors of the operating system that say a part of a store is missing or of the wrong kind
#: (the store exists): its content is damaged, not the access to it
_MISSING_PARTS = {errno.ENOENT, errno.ENOTDIR, errno.EISDIR}


def _access_problem(exc: BaseException) -> str | None:
    """What the operating system said when ``exc`` (from opening a store) is it refusing or
    failing to read the store (a permission, the disk), or None when a backend failed on what it
    read. h5py raises OSError for a file that is no HDF5 too, but without an errno."""
    code = exc.errno if isinstance(exc, OSError) else None
    return None if not code or code in _MISSING_PARTS else os.strerror(code).lower()


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
        handle, feats, labs, done = BACKENDS[fmt][1](path, mode == "r+")
        store = FeatureStore(path, fmt, handle, feats, labs, done, writable=mode == "r+")
        broken = _layout_problem(store)
    except HumeError:
        raise
    except Exception as exc:
        refused = _access_problem(exc)
        if refused:  # a permission, the disk, …: the store may well be intact
            doing, need = ("open", "writable") if mode == "r+" else ("read", "readable")
            raise HumeError(
                f"cannot {doing} the store at {path}: {refused}; make it {need} (its "
                "permissions, the disk), then run the same command again"
            ) from exc
        # anything else is the backend failing on what it read: the store cannot be trusted
        raise HumeError(
            f"the store at {path} is corrupt or not a hume store ({type(exc).__name__}); "
            f"delete it and create it again with `hume embed` or `hume import` "
            f"({setting('overwrite', True)})"
        ) from exc
    if broken:
        store.close()
        raise HumeError(
            f"the store at {path} has broken metadata ({broken}); delete it and create it "
            f"again with `hume embed` or `hume import` ({setting('overwrite', True)})"
        )
    if not allow_incomplete and not store.is_complete:
        n_missing, n_chunks = len(store.missing_chunks()), store.n_chunks
        store.close()
        raise HumeError(
            f"the store at {path} is incomplete ({n_missing} of {n_chunks} chunks "
            "unwritten): run the same `hume embed` command again to finish it, or delete it"
        )
    return store
