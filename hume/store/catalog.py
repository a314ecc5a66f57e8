"""Finding stores under a workspace root: list them, resolve a view name, pick a dataset."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from hume.core.errors import HumeError, command, setting
from hume.core.names import canonical_model, check_name
from hume.store.paths import FORMATS, features_dir, resolve_root


@dataclass(frozen=True)
class StoreEntry:
    """Where one store lives; its content is read with :func:`hume.store.open_store`."""

    dataset: str
    split: str
    model: str
    format: str
    path: Path


def list_stores(root: str | os.PathLike | None = None) -> list[StoreEntry]:
    """Every store under ``<root>/features``, sorted by dataset, split, model."""
    base = features_dir(resolve_root(root))
    entries: list[StoreEntry] = []
    if not base.is_dir():
        return entries
    suffixes = {ext: fmt for fmt, ext in FORMATS.items()}
    for path in base.glob("*/*/*"):
        fmt = suffixes.get(path.suffix)
        if fmt is None:
            continue
        entries.append(StoreEntry(path.parent.parent.name, path.parent.name, path.stem, fmt, path))
    return sorted(entries, key=lambda e: (e.dataset, e.split, e.model, e.format))


def find_store(root: str | os.PathLike | None, dataset: str, split: str, model: str) -> Path:
    """Path of the store of ``(dataset, split, model)``; aliases resolve, Zarr is preferred."""
    model = canonical_model(model)
    for kind, name in (("dataset", dataset), ("split", split), ("model", model)):
        check_name(kind, name)
    matches = [
        e for e in list_stores(root) if (e.dataset, e.split, e.model) == (dataset, split, model)
    ]
    if not matches:
        have = sorted(
            {e.model for e in list_stores(root) if e.dataset == dataset and e.split == split}
        )
        hint = f" (stores there: {', '.join(have)})" if have else ""
        raise HumeError(
            f"no store for view {model!r} of dataset {dataset!r}, split {split!r} under "
            f"{resolve_root(root)}{hint}: run "
            f"{command('embed', setting('model', model), setting('dataset', dataset))}"
        )
    return sorted(matches, key=lambda e: e.format != "zarr")[0].path


def splits_of(root: str | os.PathLike | None, dataset: str, model: str) -> list[str]:
    """The splits for which ``model`` has a store of ``dataset``."""
    model = canonical_model(model)
    return sorted({e.split for e in list_stores(root) if e.dataset == dataset and e.model == model})


def datasets_with_views(root: str | os.PathLike | None, views: list[str]) -> list[str]:
    """Datasets that have a store of every view in ``views`` (in some shared split)."""
    wanted = {canonical_model(v) for v in views}
    by_key: dict[tuple[str, str], set[str]] = {}
    for e in list_stores(root):
        by_key.setdefault((e.dataset, e.split), set()).add(e.model)
    return sorted({d for (d, _), models in by_key.items() if wanted <= models})


def resolve_dataset(root: str | os.PathLike | None, views: list[str], dataset: str | None) -> str:
    """``dataset`` if given, else the one dataset under the root that has all ``views``."""
    if dataset:
        return check_name("dataset", dataset)
    candidates = datasets_with_views(root, views)
    if len(candidates) == 1:
        return candidates[0]
    where = resolve_root(root)
    if not candidates:
        have = sorted({e.dataset for e in list_stores(root)})
        listing = f"; datasets there: {', '.join(have)}" if have else ""
        raise HumeError(
            f"no dataset under {where} has stores for all of {', '.join(views)}{listing}: "
            f"embed the missing views or pass {setting('dataset')}"
        )
    raise HumeError(
        f"several datasets under {where} have all of {', '.join(views)}: "
        f"{', '.join(candidates)}; pick one with {setting('dataset')}"
    )
