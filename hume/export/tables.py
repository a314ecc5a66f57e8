"""labels.csv / labels.parquet (one line per row) and classes.json (one entry per class), and
the names and folders of the found classes."""

from __future__ import annotations

import csv
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from hume.core.errors import HumeError, setting
from hume.core.files import atomic_write, write_json
from hume.core.names import safe_name
from hume.export.rows import RunRows

COLUMNS = ("dataset", "split", "row", "path", "class", "name", "confidence", "margin")
#: what an export writes beside the class folders: no class folder may take one of these names
EXPORT_FILES = frozenset(
    {"labels.csv", "labels.parquet", "classes.json", "report.html", "export.json", "tasks.json"}
    | {"labeling_config.xml"}
)


def class_folder(c: int, k: int) -> str:
    """The name of class ``c``'s folder and label: ``class_03`` (zero-padded to K's width)."""
    return f"class_{c:0{max(2, len(str(k - 1)))}d}"


def class_name(rows: RunRows, c: int) -> str:
    """Class ``c``'s name: the one a review gave it, else ``class_03``."""
    return rows.names.get(c) or class_folder(c, rows.k)


def folder_name(c: int, k: int, name: str | None) -> str:
    """Class ``c``'s folder: its given ``name`` made a safe file name, else ``class_03``."""
    return safe_name("class folder", name) if name else class_folder(c, k)


def class_folders(rows: RunRows) -> dict[int, str]:
    """Every live class -> its folder in the class-folder tree."""
    return {c: folder_name(c, rows.k, rows.names.get(c)) for c in rows.live_classes()}


#: Rows of labels.csv / labels.parquet made and written at once: the table is streamed, so
#: memory holds one chunk of Python values (~25 MB), not every row (260 MB at 1.28 M rows).
TABLE_CHUNK_ROWS = 65_536
#: Rows of a row group of labels.parquet (chunks gathered as Arrow columns, ~25 MB): groups of
#: single chunks made the file 20 % larger at 1.28 M rows; a table of fewer rows is one group.
PARQUET_ROW_GROUP_ROWS = 262_144


def record_chunks(rows: RunRows, chunk_rows: int | None = None) -> Iterator[dict[str, list[Any]]]:
    """The table of every row as columns, ``chunk_rows`` rows at a time (default
    :data:`TABLE_CHUNK_ROWS`; a chunk never spans two splits): dataset, split, row, path (''
    when the stores name no files), class, name, confidence, margin, and true_label / true_class
    where ground truth exists."""
    step = int(chunk_rows or TABLE_CHUNK_ROWS)
    truth = rows.has_truth
    names = rows.class_names or []
    label_of = {c: class_name(rows, c) for c in range(rows.k)}
    for part in rows.parts:
        for start in range(0, len(part), step):
            stop = min(len(part), start + step)
            n = stop - start
            labels = part.labels[start:stop]
            cols: dict[str, list[Any]] = {
                "dataset": [part.dataset] * n,
                "split": [part.split] * n,
                "row": list(range(start, stop)),
                "path": list(part.paths[start:stop]) if part.paths is not None else [""] * n,
                "class": labels.tolist(),
                "name": [label_of[int(c)] for c in labels],
                "confidence": [round(float(v), 4) for v in part.confidence[start:stop]],
                "margin": [round(float(v), 4) for v in part.margin[start:stop]],
            }
            if truth:
                true = part.true_labels[start:stop]
                cols["true_label"] = true.tolist()
                cols["true_class"] = [names[t] if 0 <= t < len(names) else "" for t in true]
            yield cols


def header(rows: RunRows) -> list[str]:
    """The table's column names, in order."""
    return [*COLUMNS, *(("true_label", "true_class") if rows.has_truth else ())]


def write_csv(rows: RunRows, path: str | os.PathLike, chunk_rows: int | None = None) -> Path:
    """``labels.csv``: a header, then one line per row (UTF-8, comma-separated), written
    ``chunk_rows`` rows at a time."""
    with (
        atomic_write(path, suffix=".csv") as tmp,
        open(tmp, "w", newline="", encoding="utf-8") as fh,
    ):
        out = csv.writer(fh)
        out.writerow(header(rows))
        for cols in record_chunks(rows, chunk_rows):
            out.writerows(zip(*cols.values()))
    return Path(path)


def write_parquet(rows: RunRows, path: str | os.PathLike, chunk_rows: int | None = None) -> Path:
    """``labels.parquet``: the same table, typed (needs pyarrow), written ``chunk_rows`` rows at a
    time in row groups of about :data:`PARQUET_ROW_GROUP_ROWS` rows."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as exc:
        raise HumeError(
            f"{setting('formats', 'parquet')} needs pyarrow: `pip install pyarrow` (or use "
            f"{setting('formats', 'csv')})"
        ) from exc
    types = {"row": pa.int64(), "class": pa.int64(), "true_label": pa.int64()}
    types |= {"confidence": pa.float64(), "margin": pa.float64()}
    schema = pa.schema([(name, types.get(name, pa.string())) for name in header(rows)])
    with atomic_write(path, suffix=".parquet") as tmp, pq.ParquetWriter(tmp, schema) as writer:
        group: list[Any] = []
        for cols in record_chunks(rows, chunk_rows):
            group.append(pa.table(cols, schema=schema))
            if sum(t.num_rows for t in group) >= PARQUET_ROW_GROUP_ROWS:
                writer.write_table(pa.concat_tables(group))
                group = []
        if group or not rows.n_rows:
            writer.write_table(pa.concat_tables(group) if group else schema.empty_table())
    return Path(path)


def _summary(values: np.ndarray) -> dict[str, float]:
    if not len(values):
        return {}
    q = np.quantile(values, [0.0, 0.25, 0.5])
    return {
        "mean": round(float(values.mean()), 4),
        "min": round(float(q[0]), 4),
        "p25": round(float(q[1]), 4),
        "median": round(float(q[2]), 4),
    }


def matched_true_classes(rows: RunRows) -> dict[int, int]:
    """Found class -> the true class it is matched to (Hungarian, on rows with a label)."""
    from hume.evaluate.metrics import contingency, match_clusters

    labels, truth = rows.column("labels"), rows.column("true_labels")
    known = truth >= 0
    if not known.any():
        return {}
    table = contingency(truth[known], labels[known], n_clusters=rows.k)
    return match_clusters(table)


def class_summaries(rows: RunRows) -> list[dict[str, Any]]:
    """Per live found class: its name and folder, size, confidence and margin summaries, the
    classes a review merged into it, and with ground truth the matched true class and the share
    of the class's labelled rows that are of it."""
    labels, conf, margin = rows.column("labels"), rows.column("confidence"), rows.column("margin")
    truth = rows.column("true_labels")
    matched = matched_true_classes(rows)
    names = rows.class_names or []
    folders = class_folders(rows)
    # every class's rows in one stable sort (in row order within a class): O(N log N), not O(N K)
    order = np.argsort(labels, kind="stable")
    bounds = np.searchsorted(labels[order], np.arange(rows.k + 1))
    out = []
    for c in rows.live_classes():
        member = order[bounds[c] : bounds[c + 1]]
        entry: dict[str, Any] = {
            "class": c,
            "name": class_name(rows, c),
            "folder": folders[c],
            "size": int(len(member)),
            "confidence": _summary(conf[member]),
            "margin": _summary(margin[member]),
        }
        merged = sorted(m for m, into in rows.merged_into.items() if into == c)
        if merged:
            entry["merged"] = merged
        if c in matched:
            t = matched[c]
            known = truth[member][truth[member] >= 0]
            entry["true_class"] = names[t] if t < len(names) else str(t)
            entry["true_share"] = round(float((known == t).mean()), 4) if len(known) else None
        out.append(entry)
    return out


def image_roots(rows: RunRows) -> dict[str, str | None]:
    """``dataset/split`` -> the absolute folder its rows' paths (labels.csv's ``path``) are
    relative to; None for rows that are items of a library dataset."""
    return {
        f"{p.dataset}/{p.split}": os.path.abspath(p.source_root) if p.source_root else None
        for p in rows.parts
    }


def write_classes_json(rows: RunRows, path: str | os.PathLike) -> Path:
    """``classes.json``: the run, the labelled folders (:func:`image_roots`), the corrections
    files applied, and :func:`class_summaries`."""
    doc: dict[str, Any] = {
        "run": rows.run,
        "method": rows.method,
        "k": rows.k,
        "n_rows": rows.n_rows,
        "ground_truth": rows.has_truth,
        "roots": image_roots(rows),
    }
    if rows.corrections:
        doc["corrections"] = rows.corrections
    write_json(path, {**doc, "classes": class_summaries(rows)})
    return Path(path)
