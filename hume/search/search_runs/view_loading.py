"""Which stores a search reads, and loading them as tensors: features only, never labels."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import torch

from hume.core import errors
from hume.core.errors import HumeError, command
from hume.core.names import canonical_model
from hume.search.vocabulary import Setting
from hume.store import FeatureStore, find_store, open_store, splits_of


def load_view(
    store: FeatureStore | str | os.PathLike,
    device: str | torch.device = "cpu",
    dtype: torch.dtype = torch.float32,
) -> torch.Tensor:
    """All rows of a complete store's ``features`` as an (N, D) tensor on ``device``.

    The output is allocated once and filled one chunk at a time, so host memory holds the
    result (on the CPU) plus a single chunk, never a second full copy. Labels are not read.
    """
    own = not isinstance(store, FeatureStore)
    st = store if isinstance(store, FeatureStore) else open_store(store)
    try:
        out = torch.empty((st.n_rows, st.dim), dtype=dtype, device=device)
        for start, stop, rows in st.iter_chunks():
            out[start:stop].copy_(torch.from_numpy(rows), non_blocking=False)
        return out
    finally:
        if own:
            st.close()


def plan_splits(
    root: str | None, dataset: str, views: list[str], setting: str, predict_all_views: bool = False
) -> tuple[list[str], list[str]]:
    """(search_splits, predict_splits) for the setting, given the splits every view has.

    Inductive: the test split is predicted when φ1 has it (HUME labels new rows through φ1
    alone), or, with ``predict_all_views`` (TURTLE), when every view has it."""
    if setting not in {s.value for s in Setting}:
        raise HumeError(f"unknown setting {setting!r}: use inductive or transductive")
    have = None
    phi1_splits: set[str] = set()
    for v in views:
        s = set(splits_of(root, dataset, v))
        phi1_splits = phi1_splits or s
        if not s:
            raise HumeError(
                f"view {v!r} has no store for dataset {dataset!r}: run "
                f"{command('embed', errors.setting('model', v), errors.setting('dataset', dataset))} "
                "first"
            )
        have = s if have is None else have & s
    assert have is not None
    if setting == "transductive":
        if {"train", "test"} <= have:
            return ["train", "test"], []
        if "all" in have:
            return ["all"], []
        if "train" in have:
            raise HumeError(
                f"a transductive search needs the test split of {dataset!r} for every view "
                f"(splits present in all views: {', '.join(sorted(have))}): embed the test split "
                f"or use {errors.setting('setting', 'inductive')}"
            )
        raise HumeError(
            f"views {', '.join(views)} share no split of {dataset!r} usable for a "
            f"transductive search (shared: {', '.join(sorted(have)) or 'none'})"
        )
    if "train" not in have:
        raise HumeError(
            f"an inductive search needs the train split of {dataset!r} for every view (shared "
            f"splits: {', '.join(sorted(have)) or 'none'}): use "
            f"{errors.setting('setting', 'transductive')}"
        )
    predictable = have if predict_all_views else phi1_splits
    return ["train"], (["test"] if "test" in predictable else [])


@dataclass
class LoadedViews:
    """Features of every view, concatenated over the searched splits, plus what they came from."""

    search: list[torch.Tensor]  # per view: (N_search, d)
    predict: dict[str, list[torch.Tensor]] = field(default_factory=dict)  # split -> views' rows
    stores: dict[str, dict[str, Any]] = field(default_factory=dict)
    num_classes: int | None = None

    def known_k(self, dataset: str) -> int:
        """The number of classes the stores record (a dataset that knows its classes), or a
        HumeError asking for ``--k``."""
        if self.num_classes is None:
            raise HumeError(
                f"the number of classes of {dataset!r} is unknown (no num_classes in its "
                f"stores): pass {errors.setting('k')} (a K, or a range such as 5:15)"
            )
        return int(self.num_classes)


def _open_checked(root, dataset: str, split: str, view: str):
    path = find_store(root, dataset, split, view)
    st = open_store(path)  # refuses incomplete stores with a clear message
    attrs = st.attrs
    for key, want in (("dataset", dataset), ("split", split)):
        got = attrs.get(key)
        if got is not None and got != want:
            st.close()
            raise HumeError(
                f"store {path} says {key} {got!r}, but it sits where {key} {want!r} "
                "belongs: re-embed or re-import it"
            )
    return path, st


def load_views(
    root: str | None,
    dataset: str,
    views: list[str],
    search_splits: list[str],
    predict_splits: list[str],
    device: torch.device,
    predict_all_views: bool = False,
    cache: dict[tuple[str, str, str], torch.Tensor] | None = None,
) -> LoadedViews:
    """Load each view of each split once onto ``device`` (float32). Labels are never read.

    Predict splits are loaded for φ1 only (HUME labels new rows through φ1), or for every view
    with ``predict_all_views`` (TURTLE's encoders read every view). ``cache`` (a dict the caller
    keeps) holds the tensors of the stores already loaded, by (path, store id, device), so that
    several searches over the same stores (a K range, each view as φ1) read them once."""
    views = [canonical_model(v) for v in views]
    out = LoadedViews(search=[])
    for vi, view in enumerate(views):
        parts, widths = [], set()
        for split in search_splits + (predict_splits if vi == 0 or predict_all_views else []):
            path, st = _open_checked(root, dataset, split, view)
            try:
                out.stores[f"{view}/{split}"] = {
                    "path": str(path),
                    "n_rows": st.n_rows,
                    "store_id": st.attrs.get("store_id"),
                }
                if out.num_classes is None and st.attrs.get("num_classes") is not None:
                    out.num_classes = int(st.attrs["num_classes"])
                widths.add(st.dim)
                key = (str(path), str(st.attrs.get("store_id")), str(device))
                x = cache.get(key) if cache is not None else None
                if x is None:
                    x = load_view(st, device=device, dtype=torch.float32)
                    if cache is not None:
                        cache[key] = x
            finally:
                st.close()
            if split in search_splits:
                parts.append(x)
            else:
                out.predict.setdefault(split, []).append(x)
        if len(widths) > 1:
            raise HumeError(
                f"the stores of view {view!r} differ in width across splits "
                f"({sorted(widths)}): re-embed every split of {view!r} with one model"
            )
        out.search.append(torch.cat(parts) if len(parts) > 1 else parts[0])
    # Views must describe the same rows, split by split.
    for split in search_splits + predict_splits:
        rows = {
            v: out.stores[f"{v}/{split}"]["n_rows"] for v in views if f"{v}/{split}" in out.stores
        }
        if len(set(rows.values())) > 1:
            listing = ", ".join(f"{v}: {n}" for v, n in rows.items())
            raise HumeError(
                f"views have different row counts in split {split!r} ({listing}): "
                "they must be embeddings of the same samples"
            )
    return out
