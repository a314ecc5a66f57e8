"""`hume import`: turn embeddings a user already has (.npy, .parquet) into a store.

The source is read memory-mapped, checked and checksummed chunk by chunk (the CRC-32 of each
chunk as it will be stored) before anything is written. Those checksums decide what an existing
store is: the same content (recorded checksums equal) makes the import a no-op when the store is
complete and a resume when it is not (chunks written and intact are kept); other content is
refused unless ``overwrite``. The same checksums let :func:`repair_import` restore exactly the
damaged chunks of an imported store from its source, proving each one before writing it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from hume.core.disk_errors import disk_errors
from hume.core.errors import HumeError, command, setting
from hume.core.fixed_choices import choose
from hume.core.names import canonical_model, check_name
from hume.core.reporting import SILENT, Reporter, logger
from hume.store.catalog import list_stores
from hume.store.checksums import LABELS_CRC, PATHS_CRC, crc32, crc32_of_strings
from hume.store.feature_store import DEFAULT_CHUNK_ROWS, FeatureStore, StoreDtype
from hume.store.import_sources import (
    ParquetVectors,
    image_paths,
    load_npy,
    open_parquet,
    read_paths_file,
)
from hume.store.lifecycle import bytes_to_write, create_store, open_store, remove_leftovers
from hume.store.paths import StoreFormat, check_format, store_lock, store_path
from hume.store.validate import check_features, check_labels, to_stored
from hume.store.verification import verify_store

LABELS_SOURCE = "labels_source"  # store attribute: the absolute path of the imported labels
VECTOR_COLUMN = "vector_column"  # store attribute: the parquet column the features came from


def _source_features(
    path: str | os.PathLike, vector_column: str | None = None, path_column: str | None = None
) -> tuple[Any, list[str] | None]:
    """The (N, D) rows of a features file (.npy, or .parquet with a vector column) and the
    paths a parquet file lists beside them (None where it has none)."""
    x: Any
    if Path(path).suffix.lower() == ".parquet":
        x, listed = open_parquet(path, vector_column, path_column)
    else:
        if vector_column is not None or path_column is not None:
            raise HumeError(
                f"{setting('vector_column')} and {setting('path_column')} name the columns of a "
                f".parquet file; {path} is an .npy array: drop them (and give its files with "
                f"{setting('paths')})"
            )
        x, listed = load_npy(path, "features"), None
    if x.ndim != 2:
        raise HumeError(f"features must be a 2-D array (rows x dims), got shape {x.shape}")
    check_features(x[:1])  # empty, non-numeric (structured, bool, complex) arrays
    return x, listed


def _row_files(
    listed: list[str] | None,
    paths: str | os.PathLike | None,
    image_root: str | os.PathLike | None,
    n_rows: int,
) -> tuple[str, list[str]] | None:
    """(folder, each row's file relative to it) from ``--paths`` or the parquet's path column;
    None when neither names the files."""
    if paths is not None:
        listed = read_paths_file(paths)
    elif image_root is not None and listed is None:
        raise HumeError(
            f"{setting('image_root')} applies to the files of the rows: give them with "
            f"{setting('paths')}"
        )
    if listed is None:
        return None
    if len(listed) != n_rows:
        raise HumeError(
            f"{len(listed)} paths for {n_rows} rows of features: give one file per row, in "
            "the rows' order"
        )
    return image_paths(listed, image_root)


def _check_same_files(
    root: str | None, dataset: str, split: str, model: str, files: tuple[str, list[str]] | None
) -> None:
    """Refuse files that differ from those of another view of this dataset and split that names
    its rows' files: two views of the same images list the same files in the same order."""
    if files is None:
        return
    mine = [os.path.join(files[0], p) for p in files[1]]
    for entry in list_stores(root):
        if (entry.dataset, entry.split) != (dataset, split) or entry.model == model:
            continue
        try:
            with open_store(entry.path, allow_incomplete=True) as other:
                theirs = other.read_paths()
                folder = (other.attrs.get("dataset_info") or {}).get("root")
        except HumeError:
            continue  # a damaged store is verify's business, not this import's
        if theirs is None or folder is None:
            continue
        if len(theirs) != len(mine):
            raise HumeError(
                f"the {entry.model!r} view of {dataset}/{split} lists {len(theirs)} files, these "
                f"features {len(mine)}: the views of one dataset must list the same files in the "
                "same order"
            )
        for i, (a, b) in enumerate(zip(mine, theirs)):
            if os.path.normpath(a) != os.path.normpath(os.path.join(folder, b)):
                raise HumeError(
                    f"row {i} is {a} here but {os.path.join(folder, b)} in the {entry.model!r} "
                    f"view of {dataset}/{split}: the views of one dataset must list the same "
                    "files in the same order"
                )


def _source_labels(path: str | os.PathLike | None, n_rows: int) -> np.ndarray:
    """The labels to store (N,) int64: the file's, or −1 everywhere without one."""
    if path is None:
        return np.full(n_rows, -1, dtype=np.int64)
    return check_labels(np.asarray(load_npy(path, "labels")), n_rows)


def _chunks(n_rows: int, chunk_rows: int) -> Iterator[tuple[int, int]]:
    for start in range(0, n_rows, chunk_rows):
        yield start, min(start + chunk_rows, n_rows)


def source_crcs(x: Any, chunk_rows: int, dtype: str) -> list[int]:
    """Check every row of ``x`` (N x D) and return the CRC-32 of each chunk as it will be stored.

    One pass, one chunk in memory: NaN/Inf rows are counted over the whole array (and refused),
    values that overflow ``dtype`` are refused.
    """
    crcs, n_bad = [], 0
    for start, stop in _chunks(x.shape[0], chunk_rows):
        block = np.asarray(x[start:stop])
        if np.issubdtype(block.dtype, np.floating):
            n_bad += int((~np.isfinite(block).all(axis=1)).sum())
        if not n_bad:
            crcs.append(crc32(to_stored(block, dtype, f"in rows {start}–{stop - 1}")))
    if n_bad:
        raise HumeError(
            f"features contain NaN or Inf in {n_bad} of {x.shape[0]} rows; fix or drop those "
            "rows first"
        )
    return crcs


def _content_crcs(store: FeatureStore) -> np.ndarray:
    """The checksum of every chunk of ``store``: recorded, or (stores without checksums)
    computed from its rows; −1 for a chunk that is unwritten or unreadable."""
    recorded = store.recorded_crcs()
    if recorded is not None:
        return recorded
    done = store.done_mask()
    out = np.full(store.n_chunks, -1, dtype=np.int64)
    for c in np.flatnonzero(done):
        rows, _ = store.check_chunk(int(c), done)
        if rows is not None:
            out[c] = crc32(rows)
    return out


def _resume_point(
    store: FeatureStore,
    shape: tuple[int, int],
    dtype: str,
    crcs: list[int],
    labels: np.ndarray,
    files: tuple[str, list[str]] | None,
) -> list[int] | None:
    """The chunks still to write into an existing store of the same content (None: it is
    complete); raises when its content differs from the source."""
    have = _content_crcs(store)
    done = store.done_mask()
    labels_crc = store.attrs.get(LABELS_CRC)
    same = (
        (store.n_rows, store.dim) == shape
        and store.dtype == dtype
        and (labels_crc is None or labels_crc == crc32(labels))
        and (store.attrs.get(PATHS_CRC) == (None if files is None else crc32_of_strings(files[1])))
        and (store.attrs.get("dataset_info") or {}).get("root") == (files[0] if files else None)
        and all(int(have[c]) == crcs[c] for c in np.flatnonzero(done))
    )
    if not same:
        raise HumeError(
            f"a store with other content already exists at {store.path}: pass "
            f"{setting('overwrite', True)} to replace it"
        )
    if store.is_complete:
        return None
    bad = [d.chunk for d in verify_store(store) if d.chunk is not None]
    if bad:
        store.clear_chunks(bad)
    return store.missing_chunks()


def _copy(store: FeatureStore, x: Any, chunks: list[int]) -> None:
    for i in chunks:
        start, stop = store.chunk_bounds(i)
        store.write_chunk(i, np.asarray(x[start:stop]))
    store.mark_complete()


def import_features(
    dataset: str,
    split: str,
    model: str,
    features: str | os.PathLike,
    labels: str | os.PathLike | None = None,
    root: str | None = None,
    fmt: StoreFormat | str = StoreFormat.zarr,
    dtype: StoreDtype | str = StoreDtype.float16,
    overwrite: bool = False,
    chunk_rows: int | None = None,
    paths: str | os.PathLike | None = None,
    image_root: str | os.PathLike | None = None,
    vector_column: str | None = None,
    path_column: str | None = None,
) -> Path | None:
    """Write ``features`` (N x D: .npy, or .parquet with a vector column) and optional
    ``labels`` (N .npy) into a complete store; return its path, or None when it already held
    them (nothing written).

    Each row's file, when known (``paths``: one path a line; or the parquet's path column;
    relative paths from ``image_root``, default the current directory), is kept as `hume embed`
    keeps it, so that export and the gallery can name and show it; another view of the same
    dataset and split must list the same files in the same order. The source is read in chunks
    (memory-mapped, or one parquet row group at a time), checked and checksummed, then copied
    chunk by chunk, so host memory stays bounded; nothing is created unless every check passes.
    An existing store with the same content is left alone when complete (logged as nothing to
    do) and finished when not (an interrupted import resumes); one with other content is
    refused unless ``overwrite``.
    """
    check_format(fmt)
    dtype_name = choose(StoreDtype, dtype, "dtype").value
    model = canonical_model(model)
    for kind, name in (("dataset", dataset), ("split", split), ("model", model)):
        check_name(kind, name)
    x, listed = _source_features(features, vector_column, path_column)
    if paths is not None and listed is not None:
        raise HumeError(
            f"{features} lists the files of its rows already (a path column): drop "
            f"{setting('paths')}, or name another column with {setting('path_column')}"
        )
    y = _source_labels(labels, x.shape[0])
    files = _row_files(listed, paths, image_root, x.shape[0])
    _check_same_files(root, dataset, split, model, files)
    path = store_path(root, dataset, split, model, fmt)
    existing = path.exists() and not overwrite
    if existing:
        with open_store(path, allow_incomplete=True) as st:
            chunk_rows = st.chunk_rows
    rows = min(int(chunk_rows or DEFAULT_CHUNK_ROWS), x.shape[0])
    crcs = source_crcs(x, rows, dtype_name)
    attrs: dict[str, Any] = {
        "dataset": dataset,
        "split": split,
        "model": model,
        "weights": "imported",
        "feature_kind": "imported",
        "preprocessing": "unknown (imported)",
        "source": str(Path(features).resolve()),
        VECTOR_COLUMN: x.column if isinstance(x, ParquetVectors) else None,
        LABELS_SOURCE: str(Path(labels).resolve()) if labels is not None else None,
        # how a row is identified: its file (as `hume embed` keeps an image folder's) or index
        "row_ids": "paths" if files is not None else "index",
        "dataset_info": {"root": files[0]} if files is not None else {},
    }
    if (y >= 0).any():
        attrs["num_classes"] = int(y.max()) + 1
    needed = lambda: bytes_to_write(path, x.shape[0], x.shape[1], dtype_name)  # noqa: E731
    then = "run the same `hume import` again (it resumes)"
    with disk_errors("importing into", path, needed, then), store_lock(path):
        remove_leftovers(path)
        if existing:
            with open_store(path, mode="r+", allow_incomplete=True) as store:
                todo = _resume_point(store, x.shape, dtype_name, crcs, y, files)
                if todo is None:
                    logger.info("nothing to do: %s already holds these features", path)
                    return None
                logger.info("resume %s: %d of %d chunks left", path, len(todo), store.n_chunks)
                _copy(store, x, todo)
            return path
        with create_store(
            path,
            x.shape[0],
            x.shape[1],
            dtype=dtype_name,
            chunk_rows=rows,
            attrs=attrs,
            labels=y,
            paths=files[1] if files is not None else None,
            overwrite=overwrite,
        ) as store:
            _copy(store, x, list(range(store.n_chunks)))
    return path


def repair_import(path: str | os.PathLike, reporter: Reporter = SILENT) -> bool:
    """Verify an imported store and copy exactly its damaged chunks (and labels) again from the
    source it was imported from; False when nothing was damaged.

    Each chunk is written only when the source still holds the bytes the store recorded (equal
    checksum); otherwise the import must be done again with ``--overwrite``.
    """
    path = Path(path)
    with disk_errors("repairing", path, then="run the repair again"), store_lock(path):
        remove_leftovers(path)
        with open_store(path, mode="r+", allow_incomplete=True) as store:
            damage = verify_store(store, reporter)
            if not damage:
                return False
            attrs = store.attrs
            source = setting("features", attrs.get("source"))
            again = f"re-import it: {command('import', '…', source, setting('overwrite', True))}"
            crcs = store.recorded_crcs()
            bad = [d.chunk for d in damage if d.chunk is not None]
            x = _source_features(attrs["source"], attrs.get(VECTOR_COLUMN))[0] if bad else None
            if x is not None and (x.shape != (store.n_rows, store.dim) or crcs is None):
                raise HumeError(f"the source of {path} changed shape (or no checksums): {again}")
            for c in bad:
                start, stop = store.chunk_bounds(c)
                assert x is not None and crcs is not None
                block = to_stored(np.asarray(x[start:stop]), store.dtype, f"in chunk {c}")
                if crc32(block) != crcs[c]:
                    raise HumeError(
                        f"the source {attrs['source']} no longer holds rows {start}–{stop - 1} of "
                        f"{path} as imported (or their checksum is damaged too): {again}"
                    )
            if any(d.part == "labels" for d in damage):
                y = _source_labels(attrs.get(LABELS_SOURCE), store.n_rows)
                if crc32(y) != attrs.get(LABELS_CRC):
                    raise HumeError(f"the labels source of {path} changed: {again}")
                store.write_labels(y)
            if bad:
                store.clear_chunks(bad)
                assert x is not None
                _copy(store, x, bad)
            logger.info(
                "repaired %s: %s, copied again from the source",
                path,
                "; ".join(d.describe() for d in damage[:3]),
            )
    return True
