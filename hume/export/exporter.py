"""Writing a labeled run into a folder: tables, a class-folder tree, a gallery.

The output folder is hume's own: ``export.json`` in it records what was written (the run, when
it finished, the formats, and whether the export completed), so that exporting the same again is
a no-op that says so, an interrupted export is redone, and ``--overwrite`` only ever replaces a
folder that an export made. A folder that exists and was
not made by an export is never written into (it may hold the user's own files).

Exporting again into a folder of an earlier export keeps what the person had there: without
formats asked for, the earlier export's formats (and its ``copy`` and ``image_root``) are written
again; formats that would leave out something it holds (its table, class tree, gallery or Label
Studio tasks) are refused before anything is written, ``--overwrite`` or not.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

from hume.core.errors import HumeError, setting
from hume.core.files import read_json, write_json
from hume.core.reporting import SILENT, Reporter
from hume.export.rows import RunRows
from hume.export.tables import class_folders, write_classes_json, write_csv, write_parquet

MARKER = "export.json"
#: the gallery's thumbnails: hidden, so that the class tree stays a clean `imagefolder:` input
THUMBNAILS = ".thumbnails"


class ExportFormat(StrEnum):
    """What ``hume export`` writes (classes.json is always written)."""

    csv = "csv"
    parquet = "parquet"
    folders = "folders"
    html = "html"
    label_studio = "label-studio"


def default_formats() -> list[ExportFormat]:
    """labels.csv, and labels.parquet too when pyarrow is installed."""
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return [ExportFormat.csv]
    return [ExportFormat.csv, ExportFormat.parquet]


@dataclass
class Exported:
    """What an export did: the files written, or nothing because ``out`` was up to date."""

    out: Path
    written: list[Path] = field(default_factory=list)
    up_to_date: bool = False


#: What each format puts into the folder, as a refusal names it.
WHAT_FORMATS_WRITE = {
    ExportFormat.csv: "labels.csv",
    ExportFormat.parquet: "labels.parquet",
    ExportFormat.folders: "the class folders",
    ExportFormat.html: f"report.html and {THUMBNAILS}",
    ExportFormat.label_studio: "tasks.json and labeling_config.xml",
}
#: labels.csv and labels.parquet are the same table: either keeps it
TABLES = frozenset({ExportFormat.csv, ExportFormat.parquet})


def earlier_export(out: str | os.PathLike) -> dict[str, Any] | None:
    """What ``out/export.json`` records of the export in ``out``; None when there is none (or it
    cannot be read)."""
    marker = Path(out) / MARKER
    if not marker.is_file():
        return None
    try:
        before = read_json(marker)
    except (OSError, ValueError):
        return None
    return before if isinstance(before, dict) else None


def earlier_formats(before: dict[str, Any] | None) -> list[ExportFormat]:
    """The formats an earlier export (its export.json) wrote, those this hume knows."""
    names = before.get("formats") if before else None
    if not isinstance(names, list):
        return []
    known = {f.value for f in ExportFormat}
    return [ExportFormat(n) for n in names if n in known]


def dropped_formats(had: list[ExportFormat], asked: list[ExportFormat]) -> list[ExportFormat]:
    """The formats of ``had`` that writing ``asked`` over it would remove: any it does not ask
    for, except that one table (csv or parquet) stands for the other."""
    keeps_table = bool(TABLES & set(asked))
    return [f for f in had if f not in asked and not (f in TABLES and keeps_table)]


def _check_kept(out: Path, before: dict[str, Any] | None, formats: list[ExportFormat]) -> None:
    """Refuse ``formats`` when they would remove part of the earlier export in ``out``."""
    gone = dropped_formats(earlier_formats(before), formats)
    if not gone:
        return
    what = ", ".join(WHAT_FORMATS_WRITE[f] for f in gone)
    asked = ",".join(f.value for f in formats)
    raise HumeError(
        f"{setting('out', out)} holds {what} from an earlier export that "
        f"{setting('formats', asked)} would remove: add {','.join(f.value for f in gone)} to "
        f"{setting('formats')} (or leave {setting('formats')} out to write the same formats "
        f"again), or pass {setting('out')} elsewhere"
    )


def _claim(out: Path, wanted: dict[str, Any], overwrite: bool) -> bool:
    """Make ``out`` ready for an export; False when it already holds exactly this export."""
    if not out.exists() or (out.is_dir() and not any(out.iterdir())):
        return True
    marker = out / MARKER
    if not out.is_dir() or not marker.is_file():
        raise HumeError(
            f"{out} exists and was not made by `hume export`: choose another {setting('out')} "
            "(an export never writes into a folder of other files)"
        )
    try:
        before = read_json(marker)
    except (OSError, ValueError):
        before = None
    unfinished = isinstance(before, dict) and before.get("complete") is False
    if before == {**wanted, "complete": True} and not overwrite:
        return False
    if not overwrite and not unfinished:  # an interrupted export of ours is simply redone
        raise HumeError(
            f"{out} holds another export already: pass {setting('overwrite', True)} to replace "
            f"it, or choose another {setting('out')}"
        )
    shutil.rmtree(out)
    return True


def _folder_pairs(rows: RunRows, out: Path) -> Iterator[tuple[Path, Path]]:
    """(image, its place in the class tree) of every row, one at a time."""
    folder_of = class_folders(rows)
    for part in rows.parts:
        root = Path(part.source_root or ".")
        assert part.paths is not None
        for rel, c in zip(part.paths, part.labels):
            yield root / rel, out / folder_of[int(c)] / rel


def check_images(rows: RunRows) -> None:
    """Refuse a class tree of ``rows`` whose stores name no files, or whose images are gone."""
    if not rows.has_paths:
        raise HumeError(
            "this run's stores name no files (their rows are items of a library dataset, "
            f"identified by index): {setting('formats', 'folders')} needs an imagefolder "
            f"dataset; use {setting('formats', 'csv')}"
        )
    gone, first = 0, None
    for src, _ in _folder_pairs(rows, Path(".")):
        if not src.exists():
            gone, first = gone + 1, first or src
    if gone:
        raise HumeError(
            f"{gone} of the run's images are gone from where they were embedded (e.g. "
            f"{first}): put them back, or export {setting('formats', 'csv')}"
        )


def write_folders(
    rows: RunRows,
    out: Path,
    copy: bool = False,
    reporter: Reporter = SILENT,
    *,
    checked: bool = False,
) -> list[Path]:
    """``out/class_03/<the file's path>`` (a named class: ``out/<its name>/…``): a symlink to
    (or, with ``copy``, a copy of) every labeled image, so the classes open in a file browser;
    ``imagefolder:out`` reads them back with the classes as labels. Returns the class folders
    written. Files are checked (unless ``checked``: :func:`check_images` was called), then
    linked, one row at a time (nothing per row is kept)."""
    if not checked:
        check_images(rows)
    folders: set[Path] = set()
    with reporter.task("folders", total=rows.n_rows, unit="file") as task:
        for src, dest in _folder_pairs(rows, out):
            if dest.parent not in folders:
                dest.parent.mkdir(parents=True, exist_ok=True)
                folders.add(dest.parent)
            if copy:
                shutil.copy2(src, dest)
            else:
                dest.symlink_to(src.resolve())
            task.advance(1)
    return sorted({out / f.relative_to(out).parts[0] for f in folders})


def export(
    rows: RunRows,
    out: str | os.PathLike,
    formats: list[ExportFormat] | None,
    *,
    copy: bool = False,
    overwrite: bool = False,
    run_dir: str | os.PathLike | None = None,
    finished: str | None = None,
    image_root: str | None = None,
    reporter: Reporter = SILENT,
) -> Exported:
    """Write ``rows`` into ``out`` in ``formats`` (+ classes.json and the export.json marker).

    ``formats`` None: those of the earlier export in ``out`` (with its ``copy``, and its
    ``image_root`` unless one is given), else :func:`default_formats`. Formats that would remove
    part of an earlier export in ``out`` are refused (:func:`dropped_formats`), and so is any
    export whose images or pyarrow are missing: all before anything is written or removed.

    ``finished`` (the run's end time), the formats, the corrections files applied to ``rows``
    (path and sha256) and ``image_root`` (label-studio: the prefix of each task's image)
    identify the export: asking for the same again finds ``out`` up to date and writes
    nothing."""
    from hume.export.gallery import write_gallery
    from hume.export.label_studio import write_label_studio

    out = Path(out)
    before = earlier_export(out)
    if formats is None:  # the same again: what the earlier export wrote, as it wrote it
        had = earlier_formats(before)
        formats = had or default_formats()
        if had and before:
            copy = bool(copy or before.get("copy"))
            if image_root is None and ExportFormat.label_studio in formats:
                image_root = before.get("image_root")
    formats = list(dict.fromkeys(ExportFormat(f) for f in formats))
    wanted: dict[str, Any] = {
        "run": rows.run,
        "finished": finished,
        "datasets": [f"{p.dataset}/{p.split}" for p in rows.parts],
        "formats": [f.value for f in formats],
        "copy": bool(copy),
    }
    if rows.corrections:  # only then: earlier exports stay up to date
        wanted["corrections"] = rows.corrections
    if image_root is not None:
        if ExportFormat.label_studio not in formats:
            raise HumeError(
                f"{setting('image_root')} is for {setting('formats', 'label-studio')}: add that "
                "format"
            )
        wanted["image_root"] = image_root
    needs_files = {ExportFormat.folders, ExportFormat.label_studio} & set(formats)
    if needs_files and not rows.has_paths:  # refused before anything is written
        raise HumeError(
            "this run's stores name no files (their rows are items of a library dataset, "
            f"identified by index): {setting('formats', sorted(needs_files)[0].value)} needs "
            f"an imagefolder dataset; use {setting('formats', 'csv')}"
        )
    if overwrite or before != {**wanted, "complete": True}:  # before anything is removed
        _check_kept(out, before, formats)
        if ExportFormat.parquet in formats:
            _need_pyarrow()
        if ExportFormat.folders in formats:
            check_images(rows)
    if not _claim(out, wanted, overwrite):
        return Exported(out, up_to_date=True)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / MARKER, {**wanted, "complete": False})  # ours from the first file on
    written = [write_classes_json(rows, out / "classes.json")]
    if ExportFormat.csv in formats:
        written.append(write_csv(rows, out / "labels.csv"))
    if ExportFormat.parquet in formats:
        written.append(write_parquet(rows, out / "labels.parquet"))
    if ExportFormat.folders in formats:
        # the class folders
        written += write_folders(rows, out, copy=copy, reporter=reporter, checked=True)
    if ExportFormat.html in formats:
        pages = write_gallery(
            rows, out / "report.html", out / THUMBNAILS, run_dir, reporter=reporter
        )
        written.append(pages[0])
    if ExportFormat.label_studio in formats:
        written += write_label_studio(rows, out, image_root)
    write_json(out / MARKER, {**wanted, "complete": True})
    return Exported(out, written)


def _need_pyarrow() -> None:
    try:
        import pyarrow  # noqa: F401
    except ImportError as exc:
        raise HumeError(
            f"{setting('formats', 'parquet')} needs pyarrow: `pip install pyarrow` (or use "
            f"{setting('formats', 'csv')})"
        ) from exc
