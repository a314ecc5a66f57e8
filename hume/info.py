"""`hume info`: list the stores and runs under a root, or describe one store or run."""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from hume.errors import HumeError
from hume.runs import CONFIG, list_runs, load_config, runs_dir
from hume.store import FORMATS, list_stores, open_store, resolve_root


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def list_workspace(root: str | None, console: Console) -> None:
    where = resolve_root(root)
    stores = list_stores(root)
    table = Table(title=f"stores under {where / 'features'}")
    for col in ("dataset", "split", "model", "format", "rows x dims", "dtype", "state", "size"):
        table.add_column(col)
    for e in stores:
        try:
            with open_store(e.path, allow_incomplete=True) as st:
                missing = len(st.missing_chunks())
                state = "complete" if st.is_complete else f"incomplete ({missing}/{st.n_chunks} chunks missing)"
                table.add_row(e.dataset, e.split, e.model, e.format, f"{st.n_rows} x {st.dim}",
                              st.dtype, state, _size(st.nbytes_on_disk()))
        except HumeError:
            table.add_row(e.dataset, e.split, e.model, e.format, "?", "?", "corrupt", "?")
    console.print(table if stores else f"no stores under {where / 'features'}")
    runs = list_runs(root)
    rtable = Table(title=f"runs under {runs_dir(root)}")
    for col in ("run", "method", "dataset", "views", "seeds", "status", "report"):
        rtable.add_column(col)
    for path in runs:
        cfg = load_config(path)
        rtable.add_row(path.name, str(cfg.get("method", "?")), str(cfg.get("dataset", "?")),
                       ",".join(cfg.get("views", [])), str(cfg.get("n_seeds", "?")),
                       str(cfg.get("status", "?")), "yes" if (path / "report.json").exists() else "no")
    console.print(rtable if runs else f"no runs under {runs_dir(root)}")


def describe(path: str, console: Console) -> None:
    p = Path(path)
    if p.suffix in FORMATS.values():
        with open_store(p, allow_incomplete=True) as st:
            attrs = st.attrs
            missing = st.missing_ranges()
            console.print(f"[bold]{p}[/bold]  ({st.format})")
            console.print(f"shape {st.n_rows} x {st.dim}, {st.dtype}, chunks of {st.chunk_rows} rows, "
                          f"{_size(st.nbytes_on_disk())} on disk")
            if st.is_complete:
                console.print("state: complete")
            else:
                console.print(f"state: INCOMPLETE, unwritten rows {missing[:5]}"
                              f"{' …' if len(missing) > 5 else ''}: run the same `hume embed` again")
            console.print(json.dumps(attrs, indent=2))
        return
    if (p / CONFIG).is_file():
        cfg = load_config(p)
        console.print(f"[bold]run {p.name}[/bold] at {p}")
        console.print(json.dumps(cfg, indent=2))
        files = sorted(f.name for f in p.iterdir())
        console.print("files: " + ", ".join(files))
        return
    raise HumeError(f"{path} is neither a store (.zarr, .h5) nor a run directory")
