"""The corrections files of one export, read, checked and applied in order.

Each file is either a hume corrections file (:mod:`hume.export.corrections`) or a Label Studio
JSON export of reviewed tasks (:mod:`hume.export.label_studio`), told apart by its content.
Every file is read and checked before the export writes anything; a bad one is a
:class:`HumeError` naming the file, the problem and the fix.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any

from hume.core.errors import HumeError, command, setting
from hume.export.corrections import Review, parse_corrections
from hume.export.label_studio import is_label_studio_export, read_label_studio
from hume.export.rows import RunRows


def read_corrections_file(path: str | os.PathLike) -> tuple[Any, str]:
    """(the file's JSON, the sha256 of its bytes)."""
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError as exc:
        raise HumeError(
            f"corrections file {path} not found: give the path of a corrections JSON file"
        ) from exc
    except OSError as exc:
        raise HumeError(f"corrections file {path} cannot be read ({exc.strerror})") from exc
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        first = raw.split(b"\n", 1)[0].decode("utf-8", "replace")
        if "," in first and not first.lstrip().startswith(("{", "[")):
            raise HumeError(
                f"{path} is a CSV file, not a corrections file: from Label Studio pass the "
                "project's JSON export (Export → JSON), not CSV or JSON_MIN"
            ) from exc
        where = f" (line {exc.lineno}: {exc.msg})" if isinstance(exc, json.JSONDecodeError) else ""
        raise HumeError(f"{path} is not valid JSON{where}: fix the file") from exc
    return data, hashlib.sha256(raw).hexdigest()


def check_file_shapes(paths: list[str]) -> None:
    """Every file readable, JSON, and a corrections file or a Label Studio export in shape
    (their classes and rows are checked against a run by :func:`reviewed`)."""
    for path in paths:
        data, _ = read_corrections_file(path)
        if not is_label_studio_export(data):
            parse_corrections(data, str(path))


def reviewed(rows: RunRows, paths: list[str | os.PathLike]) -> Review:
    """A :class:`Review` of ``rows`` with the corrections of ``paths`` applied, the first file
    first (every file checked before the next is read)."""
    review = Review(rows)
    for path in paths:
        data, digest = read_corrections_file(path)
        source = str(path)
        if is_label_studio_export(data):
            fix = read_label_studio(data, source, review)
        else:
            fix = parse_corrections(data, source)
        fix.sha256 = digest
        review.apply(fix)
    return review


def corrected(rows: RunRows, paths: list[str | os.PathLike]) -> tuple[RunRows, list[str]]:
    """``rows`` with the corrections of ``paths`` applied, the first file first, and one line
    per file saying what it did. A split is refused: only a refit carries it out."""
    if not paths:
        return rows, []
    review = reviewed(rows, paths)
    if review.splits:
        c = sorted(review.splits)[0]
        raise HumeError(
            f"the corrections split class {c}, which takes a new search of its rows: run "
            f"{command('search', setting('parent', rows.run), setting('corrections', '…'))} (or "
            f"{command('label', '…', setting('corrections', '…'))}) with the same files, then "
            "export that run"
        )
    return review.finish(), review.notes
