"""What `hume import` reads: embeddings made elsewhere, as row blocks read on demand.

- ``.npy`` (N, D), memory-mapped; the files of its rows may come from ``--paths FILE`` (one path a
  line, UTF-8);
- ``.parquet`` with a column of vectors (lists of D numbers) and, optionally, a column of file
  paths beside them (as clip-retrieval and similar tools write), read one row group at a time.

A source has ``shape`` and ``dtype`` and hands out rows with ``source[start:stop]``, so that the
importer checks and copies it chunk by chunk whatever its size. :func:`image_paths` turns the
listed files into what a store keeps (paths relative to one folder), as `hume embed` does.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hume.core.errors import HumeError, setting

#: columns tried, in order, when ``--path-column`` / ``--vector-column`` are not given
PATH_COLUMNS = ("path", "image_path", "filepath", "file_path", "filename", "file", "image")
VECTOR_COLUMNS = ("embedding", "embeddings", "vector", "features", "feature", "emb")


def load_npy(path: str | os.PathLike, what: str) -> np.ndarray:
    """An .npy array, memory-mapped, or a HumeError naming the problem."""
    path = Path(path)
    if not path.is_file():
        raise HumeError(f"{what} file {path} does not exist (or is not a file)")
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError, EOFError) as exc:
        raise HumeError(f"{what} file {path} is not a readable .npy array ({exc})") from exc
    if not isinstance(array, np.ndarray):  # an .npz archive holds several arrays
        raise HumeError(f"{what} file {path} is an .npz archive, not one .npy array: np.save it")
    return array


class ParquetVectors:
    """The vector column of a parquet file as an (N, D) array-like read one row group at a time
    (the last one kept, so reading in order reads every group once)."""

    def __init__(self, path: Path, column: str, file: Any):
        self.path, self.column, self.file = path, column, file
        meta = file.metadata
        self.bounds = np.cumsum(
            [0] + [meta.row_group(i).num_rows for i in range(meta.num_row_groups)]
        )
        self._cached: tuple[int, np.ndarray] | None = None
        if self.bounds[-1] == 0:
            raise HumeError(f"{path} has no rows")
        first = self._group(0)
        self.shape = (int(self.bounds[-1]), int(first.shape[1]))
        self.dtype = first.dtype
        self.ndim = 2

    def _group(self, i: int) -> np.ndarray:
        if self._cached is not None and self._cached[0] == i:
            return self._cached[1]
        import pyarrow as pa
        import pyarrow.compute as pc

        col = self.file.read_row_group(i, columns=[self.column]).column(0).combine_chunks()
        if not (pa.types.is_list(col.type) or pa.types.is_large_list(col.type)) and not (
            pa.types.is_fixed_size_list(col.type)
        ):
            raise HumeError(
                f"column {self.column!r} of {self.path} holds {col.type}, not vectors (lists of "
                f"numbers): name the vector column with {setting('vector_column')}"
            )
        if col.null_count:
            row = int(self.bounds[i]) + int(np.flatnonzero(col.is_null().to_numpy(False))[0])
            raise HumeError(f"row {row} of {self.path} has no vector: drop such rows first")
        lengths = pc.list_value_length(col).to_numpy(zero_copy_only=False)
        width = int(lengths[0]) if len(lengths) else 0
        if len(lengths) and (lengths != width).any():
            row = int(self.bounds[i]) + int(np.flatnonzero(lengths != width)[0])
            raise HumeError(
                f"the vectors of {self.path} differ in length (row {row} has "
                f"{int(lengths[row - int(self.bounds[i])])}, the first {width}): every row needs "
                "the same number of dims"
            )
        values = pc.list_flatten(col).to_numpy(zero_copy_only=False)
        block = np.asarray(values).reshape(len(lengths), width)
        if hasattr(self, "shape") and block.shape[1] != self.shape[1]:
            raise HumeError(
                f"the vectors of {self.path} differ in length (row group {i} has "
                f"{block.shape[1]} dims, the first {self.shape[1]})"
            )
        self._cached = (i, block)
        return block

    def __getitem__(self, rows: slice) -> np.ndarray:
        start, stop, _ = rows.indices(self.shape[0])
        first = int(np.searchsorted(self.bounds, start, side="right")) - 1
        last = int(np.searchsorted(self.bounds, max(stop - 1, start), side="right")) - 1
        parts = []
        for g in range(first, last + 1):
            lo, hi = int(self.bounds[g]), int(self.bounds[g + 1])
            parts.append(self._group(g)[max(start, lo) - lo : min(stop, hi) - lo])
        return np.concatenate(parts) if len(parts) > 1 else parts[0]


def _pick(
    names: Sequence[str], given: str | None, tried: Sequence[str], what: str, path: Path
) -> str | None:
    if given is not None:
        if given not in names:
            raise HumeError(
                f"{path} has no column {given!r} (it has {', '.join(names)}): name the {what} "
                "column"
            )
        return given
    return next((c for c in tried if c in names), None)


def open_parquet(
    path: str | os.PathLike, vector_column: str | None, path_column: str | None
) -> tuple[ParquetVectors, list[str] | None]:
    """The vectors of a parquet file and, when it has a path column, the path of every row."""
    path = Path(path)
    if not path.is_file():
        raise HumeError(f"features file {path} does not exist (or is not a file)")
    try:
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise HumeError(
            "reading parquet needs pyarrow: `pip install pyarrow` (or hume[parquet])"
        ) from exc
    try:
        file = pq.ParquetFile(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several kinds for a bad file
        raise HumeError(f"{path} is not a readable parquet file ({type(exc).__name__})") from exc
    names = list(file.schema_arrow.names)
    vectors = _pick(names, vector_column, VECTOR_COLUMNS, "vector", path)
    if vectors is None:
        raise HumeError(
            f"{path} has no vector column among {', '.join(VECTOR_COLUMNS)} (it has "
            f"{', '.join(names)}): pass {setting('vector_column', 'NAME')}"
        )
    source = ParquetVectors(path, vectors, file)
    paths_col = _pick(names, path_column, PATH_COLUMNS, "path", path)
    listed = None
    if paths_col is not None:
        table = file.read(columns=[paths_col]).column(0)
        if table.null_count:
            raise HumeError(f"column {paths_col!r} of {path} lacks a path in some rows")
        listed = [str(p) for p in table.to_pylist()]
    return source, listed


def read_paths_file(path: str | os.PathLike) -> list[str]:
    """One path a line (UTF-8; blank lines at the end ignored)."""
    path = Path(path)
    if not path.is_file():
        raise HumeError(f"paths file {path} does not exist (or is not a file)")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise HumeError(f"paths file {path} is not UTF-8 text") from exc
    while lines and not lines[-1].strip():
        lines.pop()
    for i, line in enumerate(lines):
        if not line.strip():
            raise HumeError(f"line {i + 1} of {path} is empty: every row needs its file")
    return lines


def image_paths(listed: list[str], image_root: str | os.PathLike | None) -> tuple[str, list[str]]:
    """(folder, paths relative to it) of the listed files: relative ones are taken from
    ``image_root`` (default: the current directory); the folder is the deepest one that holds
    them all. URLs are refused: the images must be files here."""
    base = Path(image_root or ".").resolve()
    absolute = []
    for i, p in enumerate(listed):
        if "://" in p:
            raise HumeError(
                f"row {i} names {p!r}, not a file: download the images first (hume links and "
                "shows the files themselves), or import without the paths"
            )
        absolute.append(os.path.normpath(base / p))
    seen: dict[str, int] = {}
    for i, p in enumerate(absolute):
        if p in seen:
            raise HumeError(
                f"rows {seen[p]} and {i} name the same file {listed[i]!r}: each row needs a file "
                "of its own"
            )
        seen[p] = i
    folder = os.path.commonpath(absolute)
    if len(absolute) == 1 or folder in absolute:
        folder = os.path.dirname(folder)
    return folder, [os.path.relpath(p, folder) for p in absolute]
