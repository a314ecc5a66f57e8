"""What a workspace holds: its stores and runs with their state, as data (`hume info` shows it)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hume.core.errors import HumeError
from hume.core.files import read_json
from hume.runs import (
    CHOICE,
    CONFIG,
    candidates,
    list_runs,
    read_config_json,
    runs_dir,
    shown_ks,
)
from hume.store import FORMATS, StoreEntry, list_stores, open_store, resolve_root
from hume.store.paths import features_dir


@dataclass(frozen=True)
class StoreSummary:
    """One store of a listing. ``state``: ``complete``, ``incomplete (k/n chunks missing)`` or
    ``corrupt``, with ``, no checksums`` for a store written before hume kept them; shape, dtype
    and size are None for a corrupt store."""

    entry: StoreEntry
    state: str
    n_rows: int | None = None
    dim: int | None = None
    dtype: str | None = None
    nbytes: int | None = None


@dataclass(frozen=True)
class RunSummary:
    """One run of a listing, from its config."""

    name: str
    path: Path
    method: str
    dataset: str
    views: list[str]
    n_seeds: Any
    status: str
    has_report: bool
    k: Any = None
    #: the run this one is a candidate for (a K range or --phi1 auto), or None
    candidate_of: str | None = None
    #: for a run chosen among candidates: what was chosen among (``"K 5:15"``), else None
    chosen_from: str | None = None


@dataclass(frozen=True)
class Workspace:
    """The stores under ``stores_dir`` and the runs under ``runs_dir``."""

    stores_dir: Path
    runs_dir: Path
    stores: list[StoreSummary]
    runs: list[RunSummary]


@dataclass(frozen=True)
class StoreDetails:
    """Everything about one store; ``missing``: unwritten rows as ``[start, stop)`` ranges;
    ``checksums``: whether every chunk has a checksum (stores before hume kept them have none)."""

    path: Path
    format: str
    n_rows: int
    dim: int
    dtype: str
    chunk_rows: int
    nbytes: int
    complete: bool
    missing: list[tuple[int, int]]
    attrs: dict[str, Any]
    checksums: bool = True


@dataclass(frozen=True)
class RunDetails:
    """Everything about one run: its config and the files it holds."""

    path: Path
    config: dict[str, Any]
    files: list[str] = field(default_factory=list)


def summarise(root: str | os.PathLike | None = None) -> Workspace:
    """The stores and runs under ``root`` (``--root``, else ``$HUME_ROOT``, else ./hume-data)."""
    return Workspace(
        features_dir(resolve_root(root)), runs_dir(root), store_summaries(root), run_summaries(root)
    )


def store_summaries(root: str | os.PathLike | None = None) -> list[StoreSummary]:
    """Every store under the root, sorted by dataset, split, model, with its state."""
    out = []
    for entry in list_stores(root):
        try:
            with open_store(entry.path, allow_incomplete=True) as st:
                state = (
                    "complete"
                    if st.is_complete
                    else f"incomplete ({len(st.missing_chunks())}/{st.n_chunks} chunks missing)"
                ) + ("" if st.has_checksums else ", no checksums")
                out.append(
                    StoreSummary(entry, state, st.n_rows, st.dim, st.dtype, st.nbytes_on_disk())
                )
        except HumeError:
            out.append(StoreSummary(entry, "corrupt"))
    return out


def run_summaries(root: str | os.PathLike | None = None) -> list[RunSummary]:
    """Every run under the root, oldest first (the last is what `evaluate` takes by default)."""
    out = []
    of = candidates(root)
    for path in list_runs(root):
        cfg = read_config_json(path)
        out.append(
            RunSummary(
                path.name,
                path,
                str(cfg.get("method", "?")),
                str(cfg.get("dataset", "?")),
                list(cfg.get("views", [])),
                cfg.get("n_seeds", "?"),
                str(cfg.get("status", "?")),
                (path / "report.json").exists(),
                cfg.get("k"),
                of.get(path.name),
                _chosen_from(path),
            )
        )
    return out


def _chosen_from(path: Path) -> str | None:
    """``K 5:15``, ``φ1 auto`` or both, for a run chosen among candidates; else None."""
    choice = path / CHOICE
    if not choice.is_file():
        return None
    try:
        rows = read_json(choice).get("candidates", [])
    except (OSError, ValueError):
        return None
    ks = sorted({int(c["k"]) for c in rows if "k" in c})
    parts = [f"K {shown_ks(ks)}"] if len(ks) > 1 else []
    if len({c.get("phi1") for c in rows}) > 1:
        parts.append("φ1 auto")
    return ", ".join(parts) or None


def describe(path: str | os.PathLike) -> StoreDetails | RunDetails:
    """The store (``.zarr``, ``.h5``) or run directory at ``path``; anything else raises."""
    p = Path(path)
    if p.suffix in FORMATS.values():
        with open_store(p, allow_incomplete=True) as st:
            return StoreDetails(
                p,
                str(st.format),
                st.n_rows,
                st.dim,
                st.dtype,
                st.chunk_rows,
                st.nbytes_on_disk(),
                st.is_complete,
                st.missing_ranges(),
                st.attrs,
                st.has_checksums,
            )
    if (p / CONFIG).is_file():
        return RunDetails(p, read_config_json(p), sorted(f.name for f in p.iterdir()))
    raise HumeError(f"{path} is neither a store (.zarr, .h5) nor a run directory")
