"""`hume info`: list the stores and runs under a root, or describe one store or run."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from hume.commands.common import Root
from hume.core.disk_errors import size_text


def _listing(root: str | None, console) -> None:
    from rich.table import Table

    from hume.workspace import summarise

    ws = summarise(root)
    stores = Table(title=f"stores under {ws.stores_dir}")
    widths = {
        "dataset": max([len(s.entry.dataset) for s in ws.stores], default=7),
        "split": max([len(s.entry.split) for s in ws.stores], default=5),
        "model": max([len(s.entry.model) for s in ws.stores], default=5),
    }
    for col in ("dataset", "split", "model", "format", "rows x dims", "dtype", "state", "size"):
        # whole names (folded only when one alone is wider than the terminal); the rest wraps
        stores.add_column(col, overflow="fold", min_width=widths.get(col))
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
    if not ws.runs:
        console.print(f"no runs under {ws.runs_dir}", markup=False, soft_wrap=True)
        return
    from hume.core.errors import HumeError
    from hume.runs import resolve_run

    try:
        taken: str | None = resolve_run(root).name
    except HumeError:
        taken = None
    console.print(f"runs under {ws.runs_dir}, oldest first:", markup=False, soft_wrap=True)
    under: dict[str, list] = {}
    for r in ws.runs:
        if r.candidate_of is not None:
            under.setdefault(r.candidate_of, []).append(r)
    shown = {r.name for r in ws.runs}
    for r in ws.runs:
        if r.candidate_of is not None and r.candidate_of in shown:
            continue  # listed under the run chosen among them
        _run_lines(console, r, "", r.name == taken)
        for cand in sorted(under.get(r.name, []), key=lambda c: c.name):
            _run_lines(console, cand, "    candidate ", False)


def _run_lines(console, r, lead: str, taken: bool) -> None:
    """A run as two lines: its whole name (at any width), then what it is."""
    mark = "   ← evaluate, export and predict take this run unless given --run" if taken else ""
    console.print(f"{lead}{r.name}{mark}", markup=False, soft_wrap=True, highlight=False)
    k = f"K={r.k}" if r.k is not None else "K=?"
    if r.chosen_from:
        k += f" chosen from {r.chosen_from}"
    facts = [
        r.method,
        f"dataset {r.dataset}",
        f"views {','.join(r.views)}",
        k,
        f"{r.n_seeds} seeds",
        r.status,
        "evaluated" if r.has_report else "not evaluated",
    ]
    indent = " " * (8 if lead else 4)
    console.print(indent + " · ".join(facts), markup=False, soft_wrap=True, highlight=False)


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
