"""labels.csv / labels.parquet (one line per row) and classes.json (one entry per class), and
the names and folders of the found classes."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import numpy as np

from hume.core.errors import HumeError
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


def records(rows: RunRows) -> dict[str, list[Any]]:
    """The table of every row as columns: dataset, split, row, path ('' when the stores name no
    files), class, confidence, margin, and true_label / true_class where ground truth exists."""
    cols: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    truth = rows.has_truth
    if truth:
        cols["true_label"] = []
        cols["true_class"] = []
    names = rows.class_names or []
    label_of = {c: class_name(rows, c) for c in range(rows.k)}
    for part in rows.parts:
        n = len(part)
        cols["dataset"] += [part.dataset] * n
        cols["split"] += [part.split] * n
        cols["row"] += list(range(n))
        cols["path"] += list(part.paths) if part.paths is not None else [""] * n
        cols["class"] += part.labels.tolist()
        cols["name"] += [label_of[int(c)] for c in part.labels]
        cols["confidence"] += [round(float(v), 4) for v in part.confidence]
        cols["margin"] += [round(float(v), 4) for v in part.margin]
        if truth:
            cols["true_label"] += part.true_labels.tolist()
            cols["true_class"] += [
                names[t] if 0 <= t < len(names) else "" for t in part.true_labels
            ]
    return cols


def write_csv(rows: RunRows, path: str | os.PathLike) -> Path:
    """``labels.csv``: a header, then one line per row (UTF-8, comma-separated)."""
    cols = records(rows)
    with (
        atomic_write(path, suffix=".csv") as tmp,
        open(tmp, "w", newline="", encoding="utf-8") as fh,
    ):
        out = csv.writer(fh)
        out.writerow(cols)
        out.writerows(zip(*cols.values()))
    return Path(path)


def write_parquet(rows: RunRows, path: str | os.PathLike) -> Path:
    """``labels.parquet``: the same table, typed (needs pyarrow)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise HumeError(
            "--format parquet needs pyarrow: `pip install pyarrow` (or use --format csv)"
        ) from None
    table = pa.table(records(rows))
    with atomic_write(path, suffix=".parquet") as tmp:
        pq.write_table(table, tmp)
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
    out = []
    for c in rows.live_classes():
        member = labels == c
        entry: dict[str, Any] = {
            "class": c,
            "name": class_name(rows, c),
            "folder": folders[c],
            "size": int(member.sum()),
            "confidence": _summary(conf[member]),
            "margin": _summary(margin[member]),
        }
        merged = sorted(m for m, into in rows.merged_into.items() if into == c)
        if merged:
            entry["merged"] = merged
        if c in matched:
            t = matched[c]
            known = member & (truth >= 0)
            entry["true_class"] = names[t] if t < len(names) else str(t)
            entry["true_share"] = (
                round(float((truth[known] == t).mean()), 4) if known.any() else None
            )
        out.append(entry)
    return out


def write_classes_json(rows: RunRows, path: str | os.PathLike) -> Path:
    """``classes.json``: the run, the corrections files applied, and :func:`class_summaries`."""
    doc: dict[str, Any] = {
        "run": rows.run,
        "method": rows.method,
        "k": rows.k,
        "n_rows": rows.n_rows,
        "ground_truth": rows.has_truth,
    }
    if rows.corrections:
        doc["corrections"] = rows.corrections
    write_json(path, {**doc, "classes": class_summaries(rows)})
    return Path(path)
