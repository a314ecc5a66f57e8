"""One feature store over two backends (Zarr v3, HDF5), with explicit per-chunk completeness.

A store holds, for one (dataset, split, model):

- ``features``: N x D float16 (default) or float32, chunked along rows;
- ``labels``: N int64 ground truth, −1 where unknown (only ``evaluate`` reads them);
- ``_done``: one flag per row chunk, set when that chunk has been written;
- ``_crc32``: the CRC-32 of every written chunk, verified on every read (:mod:`hume.store.checksums`);
- ``paths`` (image folders only): N strings, each row's file relative to the dataset's folder;
- attributes (docs/data.md §2.3), among them ``complete``, set only once every chunk is done.

Zarr keeps each chunk, checksum and done-flag in its own object, so several processes may write
disjoint whole chunks at once. HDF5 allows one writer per file; its datasets are allocated when
the file is created, so later writes change raw data in place and never the file's structure
(a killed writer or a full disk cannot break it; a full disk shows at creation).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from hume.core.errors import HumeError
from hume.store.backends import H5_ATTRS
from hume.store.checksums import (
    CRC_ARRAY,
    LABELS_CRC,
    PATHS_CRC,
    Damage,
    crc32,
    crc32_of_strings,
    damage_message,
)
from hume.store.paths import StoreFormat
from hume.store.validate import check_features, check_labels, to_stored


class StoreDtype(StrEnum):
    """How features are stored: float16 (half the disk and reading time) or float32."""

    float16 = "float16"
    float32 = "float32"


DEFAULT_CHUNK_ROWS = 1024
PATHS = "paths"  # the optional array naming every row's file


def _read_small(arr: Any, fill: int) -> np.ndarray:
    """A 1-D flag or checksum array as int64; an entry whose object is unreadable reads ``fill``
    (so a damaged flag or checksum marks its chunk damaged instead of failing every read)."""
    try:
        return np.asarray(arr[:]).astype(np.int64)
    except Exception:  # noqa: BLE001 - some entry is damaged: read them one by one
        out = np.full(arr.shape, fill, dtype=np.int64)
        for i in range(arr.shape[0]):
            with contextlib.suppress(Exception):
                out[i] = int(arr[i])
        return out


def _to_jsonable(attrs: dict[str, Any]) -> dict[str, Any]:
    try:
        return json.loads(json.dumps(attrs))
    except TypeError as exc:
        raise HumeError(f"store attributes must be JSON-serialisable: {exc}") from exc


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
        self._crc = handle[CRC_ARRAY] if CRC_ARRAY in handle else None
        self._attrs = self._read_attrs()

    # -- attributes -------------------------------------------------------------------
    def _read_attrs(self) -> dict[str, Any]:
        if self.format == "zarr":
            return dict(self._handle.attrs.asdict())
        raw = self._handle.attrs.get(H5_ATTRS)
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
            self._handle.attrs[H5_ATTRS] = json.dumps(new)
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

    @property
    def has_checksums(self) -> bool:
        """False for stores written before hume kept a checksum per chunk."""
        return self._crc is not None

    # -- completeness -----------------------------------------------------------------
    def done_mask(self) -> np.ndarray:
        """Boolean mask over chunks: True where the chunk has been written."""
        return _read_small(self._done, 0) == 1

    def recorded_crcs(self) -> np.ndarray | None:
        """(n_chunks,) the CRC-32 written with each chunk, −1 where none (or unreadable); None
        for a store without checksums."""
        return None if self._crc is None else _read_small(self._crc, -1)

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

    def _sync(self) -> None:
        """HDF5 caches chunks in the process: push them to the file before the next step."""
        if self.format == "hdf5":
            self._handle.flush()

    def write_chunk(
        self, i: int, features: np.ndarray, before_flag: Callable[[], None] | None = None
    ) -> None:
        """Write every row of chunk ``i``, then its checksum, then its done flag.

        ``before_flag`` (a test hook) runs between the rows and the checksum.
        """
        self._require_writable()
        start, stop = self.chunk_bounds(i)
        x = check_features(features)
        if x.shape != (stop - start, self.dim):
            raise HumeError(
                f"chunk {i} of {self.path} needs shape {(stop - start, self.dim)}, got {x.shape}"
            )
        x = to_stored(x, self.dtype, f"in chunk {i}")
        self._features[start:stop] = x
        self._sync()
        if before_flag is not None:
            before_flag()
        if self._crc is not None:
            self._crc[i] = crc32(x)
            self._sync()
        self._done[i] = 1  # last: a crash before it leaves the chunk to redo
        self._sync()

    def clear_chunks(self, chunks: Sequence[int]) -> None:
        """Mark ``chunks`` unwritten (to be computed again) and the store incomplete."""
        self._require_writable()
        if self.is_complete:
            self.update_attrs(complete=False)
        for i in chunks:
            self._done[int(i)] = 0
        self._sync()

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
        """Write the labels (N,) and their checksum."""
        self._require_writable()
        y = check_labels(labels, self.n_rows)
        self._labels[:] = y
        self._sync()
        self.update_attrs(**{LABELS_CRC: crc32(y)})

    def write_paths(self, paths: Sequence[str]) -> None:
        """Write (or replace) the ``paths`` array (variable-length UTF-8) and its checksum."""
        self._require_writable()
        paths = [str(p) for p in paths]
        if len(paths) != self.n_rows:
            raise HumeError(f"{len(paths)} row paths for a store of {self.n_rows} rows")
        values = np.asarray(paths, dtype=object)
        if self.format == "zarr":
            chunks = (min(self.n_rows, 1 << 16),)
            arr = self._handle.create_array(
                PATHS, shape=(self.n_rows,), chunks=chunks, dtype=str, overwrite=True
            )
            arr[:] = values
        else:
            import h5py

            if PATHS in self._handle:
                del self._handle[PATHS]
            self._handle.create_dataset(PATHS, data=values, dtype=h5py.string_dtype())
            self._sync()
        self.update_attrs(**{PATHS_CRC: crc32_of_strings(paths)})

    # -- reading (every read is verified) ----------------------------------------------
    def _chunk_file(self, i: int) -> Path | None:
        """The object holding chunk ``i`` of the features (Zarr), else None."""
        return self.path / "features" / "c" / str(i) / "0" if self.format == "zarr" else None

    def check_chunk(
        self, i: int, done: np.ndarray | None = None, crcs: np.ndarray | None = None
    ) -> tuple[np.ndarray | None, Damage | None]:
        """Chunk ``i``'s rows and what is wrong with them (None when nothing is).

        ``done``/``crcs`` (from :meth:`done_mask`, :meth:`recorded_crcs`) save re-reading them
        per chunk. An unwritten chunk of an incomplete store reads as NaN.
        """
        start, stop = self.chunk_bounds(i)
        done = self.done_mask() if done is None else done
        if crcs is None and self._crc is not None:
            crcs = self.recorded_crcs()

        def hurt(problem: str) -> tuple[None, Damage]:
            return None, Damage("features", problem, i, start, stop)

        if not done[i]:
            if self.is_complete:
                return hurt("are not flagged as written (their _done entry is missing or damaged)")
            return np.full((stop - start, self.dim), np.nan, dtype=self.dtype), None
        try:
            rows = np.asarray(self._features[start:stop])
        except Exception as exc:  # noqa: BLE001 - whatever the backend says, the chunk is bad
            return hurt(
                f"are unreadable ({type(exc).__name__}: the chunk is truncated or not of this array)"
            )
        if rows.shape != (stop - start, self.dim) or str(rows.dtype) != self.dtype:
            return hurt(f"have the wrong shape or dtype ({rows.shape} {rows.dtype})")
        if crcs is not None:
            if crcs[i] < 0:
                return hurt("have no readable checksum (their _crc32 entry is missing or damaged)")
            if crc32(rows) != crcs[i]:
                file = self._chunk_file(i)
                if file is not None and not file.exists():
                    return hurt("are missing (no chunk file: they read as fill values)")
                return hurt("fail their checksum (bytes changed)")
        elif not np.isfinite(rows).all():  # no checksum: an unwritten chunk reads as NaN
            return hurt("hold NaN (the chunk is missing)")
        return rows, None

    def read_chunk(
        self, i: int, done: np.ndarray | None = None, crcs: np.ndarray | None = None
    ) -> np.ndarray:
        """Chunk ``i``'s rows, verified; a damaged chunk raises naming its rows and the repair."""
        rows, damage = self.check_chunk(i, done, crcs)
        if damage is not None:
            raise HumeError(damage_message(self.path, [damage]))
        assert rows is not None
        return rows

    def read_features(self, start: int = 0, stop: int | None = None) -> np.ndarray:
        """Rows ``[start, stop)`` of the features as a NumPy array of the store's dtype (every
        chunk they touch is read whole and verified)."""
        stop = self.n_rows if stop is None else min(stop, self.n_rows)
        if start >= stop:
            return np.empty((0, self.dim), dtype=self.dtype)
        first, last = start // self.chunk_rows, (stop - 1) // self.chunk_rows
        done, crcs = self.done_mask(), self.recorded_crcs()
        parts = [self.read_chunk(c, done, crcs) for c in range(first, last + 1)]
        rows = np.concatenate(parts) if len(parts) > 1 else parts[0]
        offset = first * self.chunk_rows
        return rows[start - offset : stop - offset]

    def iter_chunks(self) -> Iterator[tuple[int, int, np.ndarray]]:
        """Yield ``(start, stop, rows)`` chunk by chunk, verified: memory stays at one chunk."""
        done, crcs = self.done_mask(), self.recorded_crcs()
        for i in range(self.n_chunks):
            start, stop = self.chunk_bounds(i)
            yield start, stop, self.read_chunk(i, done, crcs)

    def _checked_labels(self) -> tuple[np.ndarray | None, Damage | None]:
        try:
            y = np.asarray(self._labels[:]).astype(np.int64)
        except Exception as exc:  # noqa: BLE001 - a damaged labels chunk
            return None, Damage("labels", f"are unreadable ({type(exc).__name__})")
        expected = self._attrs.get(LABELS_CRC)
        if y.shape != (self.n_rows,) or (expected is not None and crc32(y) != expected):
            return None, Damage("labels", "fail their checksum")
        return y, None

    def _checked_paths(self) -> tuple[list[str] | None, Damage | None]:
        try:
            raw = self._handle[PATHS][:]
        except Exception as exc:  # noqa: BLE001 - a damaged paths chunk
            return None, Damage("paths", f"are unreadable ({type(exc).__name__})")
        paths = [p.decode() if isinstance(p, bytes) else str(p) for p in raw]
        expected = self._attrs.get(PATHS_CRC)
        if len(paths) != self.n_rows or (
            expected is not None and crc32_of_strings(paths) != expected
        ):
            return None, Damage("paths", "fail their checksum")
        return paths, None

    def check_labels_and_paths(self) -> list[Damage]:
        """What is wrong with the labels and the paths array (empty when nothing is)."""
        found = [self._checked_labels()[1]]
        if self.has_paths:
            found.append(self._checked_paths()[1])
        return [d for d in found if d is not None]

    def read_labels(self) -> np.ndarray:
        """Ground-truth labels (N,), −1 where unknown, verified. Only ``evaluate`` may call this."""
        y, damage = self._checked_labels()
        if damage is not None:
            raise HumeError(damage_message(self.path, [damage]))
        assert y is not None
        return y

    @property
    def has_paths(self) -> bool:
        """True when the store names the file of every row (image folders)."""
        return PATHS in self._handle

    def read_paths(self) -> list[str] | None:
        """The file of every row (N,), relative to the dataset's folder, verified; None when
        rows are identified by their index alone (torchvision datasets, imported arrays)."""
        if not self.has_paths:
            return None
        paths, damage = self._checked_paths()
        if damage is not None:
            raise HumeError(damage_message(self.path, [damage]))
        return paths

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
