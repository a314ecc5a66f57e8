"""`hume info`: list the stores and runs under a root, or describe one store or run."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from hume.commands.common import Root
from hume.disk_errors import size_text


def _listing(root: str | None, console) -> None:
    from rich.table import Table

    from hume.workspace import summarise

    ws = summarise(root)
    stores = Table(title=f"stores under {ws.stores_dir}")
    for col in ("dataset", "split", "model", "format", "rows x dims", "dtype", "state", "size"):
        stores.add_column(col)
    for s in ws.stores:
        e = s.entry
        known = s.n_rows is not None
        stores.add_row(
            e.dataset,
            e.split,
            e.model,
            str(e.format),
            f"{s.n_rows} x {s.dim}" if known else "?",
            s.dtype or "?",
            s.state,
            size_text(s.nbytes) if s.nbytes is not None else "?",
        )
    console.print(stores if ws.stores else f"no stores under {ws.stores_dir}")
    runs = Table(title=f"runs under {ws.runs_dir}")
    for col in ("run", "method", "dataset", "views", "seeds", "status", "report"):
        runs.add_column(col)
    for r in ws.runs:
        runs.add_row(
            r.name,
            r.method,
            r.dataset,
            ",".join(r.views),
            str(r.n_seeds),
            r.status,
            "yes" if r.has_report else "no",
        )
    console.print(runs if ws.runs else f"no runs under {ws.runs_dir}")


def _details(path: str, console) -> None:
    from rich.markup import escape

    from hume.workspace import StoreDetails, describe

    d = describe(path)
    if isinstance(d, StoreDetails):
        console.print(f"[bold]{escape(str(d.path))}[/bold]  ({d.format})")
        console.print(
            f"shape {d.n_rows} x {d.dim}, {d.dtype}, chunks of {d.chunk_rows} rows, "
            f"{size_text(d.nbytes)} on disk"
        )
        if d.complete:
            console.print("state: complete")
        else:
            console.print(
                f"state: INCOMPLETE, unwritten rows {d.missing[:5]}"
                f"{' …' if len(d.missing) > 5 else ''}: run the same `hume embed` again"
            )
        console.print(
            f"checksums: crc32 of every chunk, checked on every read (`hume verify {d.path}` "
            "checks them all)"
            if d.checksums
            else "checksums: none (the store was written before hume kept them: flipped bytes "
            "cannot be detected; `hume embed … --overwrite` writes it again with them)",
            markup=False,
            soft_wrap=True,
        )
        console.print(json.dumps(d.attrs, indent=2), markup=False, soft_wrap=True)
        return
    console.print(f"[bold]run {escape(d.path.name)}[/bold] at {escape(str(d.path))}")
    console.print(json.dumps(d.config, indent=2), markup=False, soft_wrap=True)
    console.print("files: " + ", ".join(d.files), markup=False)


def info(
    path: Annotated[
        str | None,
        typer.Argument(
            help="A store (.zarr/.h5) or run directory to describe.", show_default=False
        ),
    ] = None,
    root: Root = None,
) -> None:
    """List stores and runs under the root, or describe one store or run."""
    from rich.console import Console

    console = Console()
    if path:
        _details(path, console)
    else:
        _listing(root, console)
