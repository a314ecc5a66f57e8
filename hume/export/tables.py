"""labels.csv / labels.parquet (one line per row) and classes.json (one entry per class)."""

from __future__ import annotations

import csv
import os
from pathlib import Path
from typing import Any

import numpy as np

from hume.core.errors import HumeError
from hume.core.files import atomic_write, write_json
from hume.export.rows import RunRows

COLUMNS = ("dataset", "split", "row", "path", "class", "confidence", "margin")


def class_folder(c: int, k: int) -> str:
    """The name of class ``c``'s folder and label: ``class_03`` (zero-padded to K's width)."""
    return f"class_{c:0{max(2, len(str(k - 1)))}d}"


def records(rows: RunRows) -> dict[str, list[Any]]:
    """The table of every row as columns: dataset, split, row, path ('' when the stores name no
    files), class, confidence, margin, and true_label / true_class where ground truth exists."""
    cols: dict[str, list[Any]] = {c: [] for c in COLUMNS}
    truth = rows.has_truth
    if truth:
        cols["true_label"] = []
        cols["true_class"] = []
    names = rows.class_names or []
    for part in rows.parts:
        n = len(part)
        cols["dataset"] += [part.dataset] * n
        cols["split"] += [part.split] * n
        cols["row"] += list(range(n))
        cols["path"] += list(part.paths) if part.paths is not None else [""] * n
        cols["class"] += part.labels.tolist()
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
    """Per found class: its folder name, size, confidence and margin summaries, and with ground
    truth the matched true class and the share of the class's labelled rows that are of it."""
    labels, conf, margin = rows.column("labels"), rows.column("confidence"), rows.column("margin")
    truth = rows.column("true_labels")
    matched = matched_true_classes(rows)
    names = rows.class_names or []
    out = []
    for c in range(rows.k):
        member = labels == c
        entry: dict[str, Any] = {
            "class": c,
            "name": class_folder(c, rows.k),
            "size": int(member.sum()),
            "confidence": _summary(conf[member]),
            "margin": _summary(margin[member]),
        }
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
    """``classes.json``: the run, and :func:`class_summaries`."""
    write_json(
        path,
        {
            "run": rows.run,
            "method": rows.method,
            "k": rows.k,
            "n_rows": rows.n_rows,
            "ground_truth": rows.has_truth,
            "classes": class_summaries(rows),
        },
    )
    return Path(path)
