"""The review tool of ``report.html``: rename, merge, split, move and confirm in the page, save
corrections.json.

:func:`review_data` renders the page's data block (every row's key, class and confidence, the
classes and where each split's image files lie); hume.export.review_script holds the inline
script and style that turn the gallery into a review tool. The script writes the
format :func:`hume.export.corrections.parse_corrections` reads, keys rows as
:meth:`hume.export.corrections.Review.key_of` does, and keeps work in progress in the browser's
localStorage under the run's name and the export's identity. Plain ES2017, no network.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from urllib.parse import quote

import numpy as np

from hume.export.corrections import FORBIDDEN, MAX_NAME, MAX_SPLIT, Review
from hume.export.rows import RunRows
from hume.export.tables import class_name

#: Most rows the page lists for review in all: a class lists every row up to
#: max(REVIEW_MIN_PER_CLASS, REVIEW_MAX_ROWS // K), beyond that its least confident rows (and
#: those shown as thumbnails), so that the page's data block stays a few MB whatever N is.
REVIEW_MAX_ROWS = 50_000
#: Rows a class lists at least, however large K is.
REVIEW_MIN_PER_CLASS = 50


def iter_keys(rows: RunRows, review: Review | None = None) -> Iterator[str]:
    """Every row's key, in order, as corrections name it (a path, ``<split>/<path>`` or
    ``<split>/<row>``), one at a time (``review``: a :class:`Review` of ``rows`` to reuse)."""
    review = review or Review(rows)
    for p, part in enumerate(rows.parts):
        for i in range(len(part)):
            yield review.key_of(p, i)


def row_keys(rows: RunRows) -> list[str]:
    """Every row's key (:func:`iter_keys`) as a list."""
    return list(iter_keys(rows))


def listed_per_class(k: int) -> int:
    """Rows a class lists at most in the page."""
    return max(REVIEW_MIN_PER_CLASS, REVIEW_MAX_ROWS // max(1, k))


def listed_rows(rows: RunRows, shown: np.ndarray) -> np.ndarray:
    """Sorted indices (over every row) of the rows the page lists: every row of a class of at
    most :func:`listed_per_class` rows; of a larger class that many of its least confident rows
    (confidence, then margin) and its rows in ``shown`` (the thumbnails)."""
    labels, conf, margin = rows.column("labels"), rows.column("confidence"), rows.column("margin")
    order = np.lexsort((margin, conf, labels))  # by class, least confident first
    starts = np.searchsorted(labels[order], labels[order], side="left")
    rank = np.arange(len(order)) - starts
    keep = order[rank < listed_per_class(rows.k)]
    return np.union1d(keep, np.asarray(shown, dtype=np.int64))


def _base(rows: RunRows, p: int, out_html: Path) -> str | None:
    """The URL prefix from the page to split ``p``'s image files, or None without files."""
    part = rows.parts[p]
    if part.paths is None or not part.source_root:
        return None
    rel = os.path.relpath(Path(part.source_root).resolve(), out_html.parent.resolve())
    return quote(Path(rel).as_posix()) + "/"


def review_data(
    rows: RunRows,
    out_html: Path,
    keys: Sequence[str] | Mapping[int, str],
    listed: np.ndarray | None = None,
    review: Review | None = None,
) -> str:
    """The JSON data block of the review tool, safe inside a ``<script>`` element.

    ``listed``: the rows (indices over every row, sorted) the page lists, default every row;
    ``keys[r]`` is row r's key for each of them. Classes with rows left out are counted in
    ``unlisted``; the ``id`` digests every row's key and class all the same (``review``: a
    :class:`Review` of ``rows`` to reuse)."""
    labels, conf = rows.column("labels"), rows.column("confidence")
    listed = np.arange(len(labels)) if listed is None else np.asarray(listed, dtype=np.int64)
    offsets = np.cumsum([0] + [len(part) for part in rows.parts])
    part_of = (np.searchsorted(offsets, listed, side="right") - 1).tolist()
    table = []
    for r, p in zip(listed.tolist(), part_of):
        part, i = rows.parts[p], r - int(offsets[p])
        row: list = [keys[r], int(labels[r]), round(float(conf[r]), 3), p]
        if part.paths is not None and part.paths[i] != keys[r]:
            row.append(part.paths[i])  # the file, where the key carries the split
        table.append(row)
    left_out = np.bincount(labels, minlength=rows.k) - np.bincount(labels[listed], minlength=rows.k)
    digest = hashlib.sha256()
    roots = [str(part.source_root) for part in rows.parts]
    for piece in (rows.run, str(rows.k), json.dumps(rows.names, sort_keys=True), *roots):
        digest.update(piece.encode() + b"\0")
    digest.update(labels.astype("<i8").tobytes())
    for n, key in enumerate(iter_keys(rows, review)):  # as "\0".join(keys), never all in memory
        digest.update((b"\0" if n else b"") + key.encode())
    data = {
        "run": rows.run,
        "id": digest.hexdigest()[:16],
        "k": rows.k,
        "classes": [[c, class_name(rows, c), rows.names.get(c)] for c in rows.live_classes()],
        "parts": [
            {"split": part.split, "base": _base(rows, p, out_html)}
            for p, part in enumerate(rows.parts)
        ],
        "rows": table,
        "listed_per_class": listed_per_class(rows.k),
        "unlisted": {str(c): int(n) for c, n in enumerate(left_out) if n},
        "forbidden": "".join(sorted(FORBIDDEN)),
        "max_name": MAX_NAME,
        "max_split": MAX_SPLIT,
    }
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    # "<" never appears raw, so neither "</script>" nor "<!--" can end or confuse the element
    return text.replace("<", "\\u003c")
