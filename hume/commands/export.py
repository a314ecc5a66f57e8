"""`hume export` and `hume predict`: a run's labels as files people and other tools use."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from hume.commands.common import Root, progress_reporter, split_commas

Formats = Annotated[
    list[str] | None,
    typer.Option(
        "--format",
        help="What to write, comma-separated or repeated: csv (labels.csv), parquet "
        "(labels.parquet, needs pyarrow), folders (a class-folder tree of symlinks to the images), "
        "html (report.html, a gallery of every class), label-studio (tasks.json and "
        "labeling_config.xml, to review the classes in Label Studio). Default: the formats of "
        "the export already in --out, else csv, and parquet when pyarrow is installed. "
        "classes.json is always written.",
        show_default=False,
    ),
]
Out = Annotated[
    str | None,
    typer.Option(
        "--out",
        help="Folder to write into (created; a folder of other files is never written "
        "into). Default: <run>/export (predict: <run>/predictions/<dataset>).",
        show_default=False,
    ),
]
Copy = Annotated[
    bool, typer.Option("--copy", help="folders: copy the images instead of linking to them.")
]
Overwrite = Annotated[
    bool,
    typer.Option(
        "--overwrite",
        help="Replace an earlier export in --out (never removing its formats: without --format, "
        "the same formats are written again).",
    ),
]
CorrectionFiles = Annotated[
    list[str] | None,
    typer.Option(
        "--corrections",
        help="A corrections JSON file (class names, merges, moves of single images) or a Label "
        "Studio JSON export of the reviewed tasks, applied to the labels before writing. "
        "Repeatable: each file applies on top of the ones before.",
        show_default=False,
    ),
]
ImageRoot = Annotated[
    str | None,
    typer.Option(
        "--image-root",
        help="label-studio: each task's image is this prefix + the image's relative path "
        "(URL-quoted), e.g. /data/local-files/?d=photos/ . Default: the image's absolute path.",
        show_default=False,
    ),
]
RunName = Annotated[
    str | None,
    typer.Option("--run", help="Run name. Default: the newest run.", show_default=False),
]


def _formats(values: list[str] | None) -> list[Any] | None:
    """The formats asked for; None when none was: the export decides (those of an earlier export
    in --out, else the default ones)."""
    from hume.core.errors import HumeError
    from hume.export.exporter import ExportFormat

    names = split_commas(values)
    if not names:
        return None
    choices = [f.value for f in ExportFormat]
    for name in names:
        if name not in choices:
            raise HumeError(f"unknown format {name!r}: use {', '.join(choices)}")
    return [ExportFormat(n) for n in names]


def write_rows(
    rows: Any,
    out: Path,
    formats: list[Any] | None,
    copy: bool,
    overwrite: bool,
    run_dir: Path,
    finished: str | None,
    *,
    corrections: list[str] | None = None,
    image_root: str | None = None,
) -> None:
    """Export ``rows`` of the run into ``out`` in ``formats`` (None: those of the export
    already in ``out``, else the default ones), with ``corrections`` applied first (all checked
    before anything is written), and say what was written."""
    from hume.export.exporter import export
    from hume.export.review import corrected

    rows, notes = corrected(rows, list(corrections or []))
    done = export(
        rows,
        out,
        formats,
        copy=copy,
        overwrite=overwrite,
        run_dir=run_dir,
        finished=finished,
        image_root=image_root,
        reporter=progress_reporter(),
    )
    if done.up_to_date:
        typer.echo(f"nothing to do: {out} already holds this export (--overwrite writes it again)")
        return
    from hume.export.tables import class_name

    counts = _sizes(rows)
    live = rows.live_classes()
    sizes = ", ".join(f"{class_name(rows, c)}: {counts[c]}" for c in live)
    for note in notes:
        typer.echo(f"applied {note}")
    typer.echo(f"{rows.n_rows} rows in {len(live)} classes ({sizes})")
    for path in done.written:
        typer.echo(f"wrote {path}")


def _sizes(rows: Any) -> list[int]:
    import numpy as np

    return np.bincount(rows.column("labels"), minlength=rows.k).tolist()


@dataclass
class Writing:
    """How `export` and `predict` write their rows: the options they share, formats checked."""

    formats: list[Any] | None
    out: str | None
    copy: bool
    overwrite: bool
    corrections: list[str] | None
    image_root: str | None

    def write(self, rows: Any, run_dir: Path, default_out: Path) -> None:
        """:func:`write_rows` of ``rows`` of the finished run ``run_dir`` into ``--out``, else
        ``default_out``."""
        from hume.runs import finished_config

        write_rows(
            rows,
            Path(self.out) if self.out else default_out,
            self.formats,
            self.copy,
            self.overwrite,
            run_dir,
            finished_config(run_dir).finished,
            corrections=self.corrections,
            image_root=self.image_root,
        )


def export(
    run: RunName = None,
    format: Formats = None,
    out: Out = None,
    copy: Copy = False,
    overwrite: Overwrite = False,
    corrections: CorrectionFiles = None,
    image_root: ImageRoot = None,
    root: Root = None,
) -> None:
    """Write a finished run's labels: labels.csv/parquet (one line per searched or predicted
    row: split, row, file path, class, its name, confidence, margin, true label where known),
    classes.json, a folder per class (--format folders), a gallery (--format html) and Label
    Studio tasks (--format label-studio); --corrections names, merges and moves classes first."""
    from hume.export.rows import run_rows
    from hume.runs import resolve_run

    how = Writing(_formats(format), out, copy, overwrite, corrections, image_root)
    run_dir = resolve_run(root, run)
    how.write(run_rows(run_dir, root), run_dir, run_dir / "export")


def predict(
    dataset: Annotated[
        str,
        typer.Option(
            "--dataset",
            help="The dataset to label: imagefolder:PATH (embedded first with the run's views "
            "where needed), or the name of stores embedded with the run's views.",
        ),
    ],
    run: RunName = None,
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            help="Only this split. Default: every split the stores have.",
            show_default=False,
        ),
    ] = None,
    format: Formats = None,
    out: Out = None,
    copy: Copy = False,
    overwrite: Overwrite = False,
    device: Annotated[
        str,
        typer.Option("--device", help="auto, cpu, cuda or cuda:N: for embedding new images."),
    ] = "auto",
    workers: Annotated[
        int,
        typer.Option("--workers", min=0, help="DataLoader worker processes for embedding."),
    ] = 4,
    corrections: CorrectionFiles = None,
    image_root: ImageRoot = None,
    root: Root = None,
) -> None:
    """Label another dataset with a finished run, for either method, and write the labels as
    `hume export` does. A folder (imagefolder:PATH) not embedded yet with the run's views is
    embedded first, as the run's stores were (same model, weights, feature, precision)."""
    from hume.core.names import canonical_dataset
    from hume.export.rows import predict_rows
    from hume.runs import finished_config, resolve_run

    how = Writing(_formats(format), out, copy, overwrite, corrections, image_root)
    run_dir = resolve_run(root, run)
    config = finished_config(run_dir)
    spec = canonical_dataset(dataset)
    name = _store_dataset(spec)
    if ":" in spec:  # a folder (or other dataset) the run's views have not embedded yet
        _embed_missing(config, spec, name, root, device, workers)
    how.write(predict_rows(run_dir, root, name, split), run_dir, run_dir / "predictions" / name)


def _embed_missing(
    config: Any, spec: str, name: str, root: str | None, device: str, workers: int
) -> None:
    """Embed ``spec`` with every view the run labels new rows through that has no store of it
    yet, as the run's own store of that view was embedded."""
    from hume.embed.pipeline import embed_like
    from hume.search.methods import get_method
    from hume.store import splits_of

    views = list(config.views)
    if not get_method(config.method).predicts_from_all_views:
        views = views[:1]  # HUME labels new rows through φ1 alone
    for view in views:
        if splits_of(root, name, view):
            continue
        store = next(e["path"] for key, e in config.stores.items() if key.startswith(f"{view}/"))
        typer.echo(f"embedding {name} with {view} first, as the run's {view} store was embedded")
        embed_like(
            store, spec, root=root, device=device, workers=workers, reporter=progress_reporter()
        )


def _store_dataset(name: str) -> str:
    """``imagefolder:PATH`` names its stores after the folder; other names are store names."""
    if ":" in name:
        from hume.embed.datasets import store_dataset_name

        return store_dataset_name(name)
    return name
