"""The labeled rows of a run: one entry per searched or predicted sample, with how sure it is.

Confidence has two parts, both in [0, 1]:

- ``confidence``: the fraction of the run's seeds that, after Hungarian matching to the
  reference seed, give the row the ensemble's class (1: every seed agrees);
- ``margin``: how clearly the reference seed's encoder puts the row in its class
  (:meth:`hume.search.estimators.estimator_base.SeedSearch.margins`; 0 on a boundary).

Ground truth, where a store has it, is carried along for the reader (labels.csv, galleries); it
never enters the labels, which were found without it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hume.core.errors import HumeError, command, setting
from hume.search.estimators.estimator_base import SeedSearch
from hume.store import open_store


@dataclass
class SplitRows:
    """The rows of one split of one dataset, as a run labels them."""

    dataset: str
    split: str
    labels: np.ndarray  # (M,) ensemble class, in the reference seed's numbering
    confidence: np.ndarray  # (M,) seed agreement
    margin: np.ndarray  # (M,) the reference seed's margin
    paths: list[str] | None  # (M,) each row's file relative to ``source_root``, or None
    true_labels: np.ndarray  # (M,) −1 where unknown
    stores: dict[str, Path] = field(default_factory=dict)  # view -> the store of this split
    source_root: str | None = None  # the folder ``paths`` are relative to
    searched: bool = True  # searched rows (False: labelled afterwards)

    def __len__(self) -> int:
        return len(self.labels)


@dataclass
class RunRows:
    """Every labeled row of a run (or of a prediction with it), split by split."""

    run: str
    method: str
    k: int
    parts: list[SplitRows]
    class_names: list[str] | None = None  # the true classes' names, when the stores have them
    #: found class -> the name a review gave it (hume.export.corrections); unnamed: class_03
    names: dict[int, str] = field(default_factory=dict)
    #: found class merged away by a review -> the class it is now part of
    merged_into: dict[int, int] = field(default_factory=dict)
    #: the corrections files applied, in order: {"path", "sha256", "format"}
    corrections: list[dict[str, str]] = field(default_factory=list)

    @property
    def n_rows(self) -> int:
        return sum(len(p) for p in self.parts)

    def column(self, name: str) -> np.ndarray:
        """One column over every part, concatenated."""
        return np.concatenate([np.asarray(getattr(p, name)) for p in self.parts])

    @property
    def has_truth(self) -> bool:
        return bool((self.column("true_labels") >= 0).any())

    @property
    def has_paths(self) -> bool:
        return all(p.paths is not None for p in self.parts)

    def live_classes(self) -> list[int]:
        """The found classes that a review did not merge into another, in order."""
        return [c for c in range(self.k) if c not in self.merged_into]


def _store_facts(path: Path) -> tuple[list[str] | None, np.ndarray, dict[str, Any]]:
    """(paths, ground truth, attributes) of one store."""
    with open_store(path) as st:
        return st.read_paths(), st.read_labels(), st.attrs


def source_root(attrs: dict[str, Any]) -> str | None:
    """The folder a store's row paths are relative to (image folders)."""
    info = attrs.get("dataset_info") or {}
    return info.get("root") if attrs.get("row_ids") == "paths" else None


#: Elements held for one chunk of rows labelled at once: its features (rows × dims) and its
#: seeds' scores (rows × seeds × classes), 128 MB in float64. Labelling a store takes the same
#: memory at 10 000 and at 1.28 M rows (K = 1 000, 10 seeds, 768 dims: 1 024 rows a chunk).
LABEL_CHUNK_ELEMENTS = 1 << 24


def label_chunk_rows(model: SeedSearch, dims: list[int]) -> int:
    """Rows labelled at once by ``model`` over views of ``dims``: within
    :data:`LABEL_CHUNK_ELEMENTS`."""
    per_row = int(model.n_seeds) * int(model.n_classes) + sum(int(d) for d in dims)
    return max(1, LABEL_CHUNK_ELEMENTS // max(1, per_row))


def label_rows(
    model: SeedSearch,
    dataset: str,
    split: str,
    stores: dict[str, Path],
    seed_labels: np.ndarray | None = None,
    labels: np.ndarray | None = None,
    searched: bool = True,
    chunk_rows: int | None = None,
) -> SplitRows:
    """The rows of ``stores`` (view -> store of this split, the model's views in order) as
    ``model`` labels them. ``seed_labels`` (n_seeds, M) / ``labels`` (M,): the run's own
    labelings of these rows (searched rows); without them the rows are predicted now.

    The stores are read ``chunk_rows`` rows at a time (default :func:`label_chunk_rows`), every
    chunk predicted, voted and its margins taken before the next is read: memory holds one chunk
    of features, never the whole store; the result is the one of labelling every row at once."""
    from contextlib import ExitStack

    import torch

    from hume.search.selection.ensembling import seed_agreement, vote

    views = list(stores)
    needed = views if model.predicts_from_all_views else views[:1]
    perms = torch.as_tensor(model.perms_)
    k = int(model.n_classes)
    with ExitStack() as stack:
        opened = [stack.enter_context(open_store(stores[v])) for v in needed]
        n = opened[0].n_rows
        step = chunk_rows or label_chunk_rows(model, [st.dim for st in opened])
        if chunk_rows is None and step > opened[0].chunk_rows:
            step -= step % opened[0].chunk_rows  # whole store chunks: none is read twice
        found = np.empty(n, np.int64)
        confidence = np.empty(n, np.float64)
        margin = np.empty(n, np.float64)
        for start in range(0, n, step):
            stop = min(n, start + step)
            x = [
                torch.from_numpy(st.read_features(start, stop).astype(np.float32, copy=False))
                for st in opened
            ]
            if seed_labels is None:
                seeds = torch.as_tensor(model.predict_seeds(x))
                chunk = vote(seeds, perms, model.reference_seed_, k)
            else:
                assert labels is not None
                seeds = torch.as_tensor(np.asarray(seed_labels)[:, start:stop])
                chunk = torch.as_tensor(np.asarray(labels)[start:stop])
            found[start:stop] = chunk.numpy()
            confidence[start:stop] = seed_agreement(seeds, perms, chunk, k).numpy()
            margin[start:stop] = model.margins(x)
    paths, truth, attrs = _store_facts(stores[views[0]])
    return SplitRows(
        dataset=dataset,
        split=split,
        labels=found,
        confidence=confidence,
        margin=margin,
        paths=paths,
        true_labels=truth,
        stores=dict(stores),
        source_root=source_root(attrs),
        searched=searched,
    )


def class_names_of(stores: list[Path]) -> list[str] | None:
    """The true classes' names of the first store that lists them."""
    for path in stores:
        with open_store(path) as st:
            names = st.attrs.get("classes")
        if isinstance(names, list) and names:
            return [str(n) for n in names]
    return None


def run_rows(run_dir: str | os.PathLike, root: str | os.PathLike | None = None) -> RunRows:
    """Every row a finished run labeled: its searched splits and its predicted ones."""
    from hume.evaluate.run_inputs import check_stores, load_npz
    from hume.runs import finished_config
    from hume.search.search_runs.run_readers import load_model
    from hume.store import resolve_root

    run_dir = Path(run_dir)
    config = finished_config(run_dir)
    model = load_model(run_dir)
    store_paths = check_stores(config, resolve_root(root))
    seeds = load_npz(run_dir / "seeds.npz", ["labels"])
    ens = load_npz(run_dir / "ensemble.npz", ["labels"])
    views = list(config.views)
    parts, offset = [], 0

    def part(split: str, seed_labels: Any, labels: Any, searched: bool) -> None:
        stores = {v: store_paths[f"{v}/{split}"] for v in views if f"{v}/{split}" in store_paths}
        parts.append(
            label_rows(model, config.dataset, split, stores, seed_labels, labels, searched=searched)
        )

    for split in config.search_splits:
        rows = slice(offset, offset + int(config.stores[f"{views[0]}/{split}"]["n_rows"]))
        part(split, seeds["labels"][:, rows], ens["labels"][rows], True)
        offset = rows.stop
    for split in config.predict_splits or []:
        if f"{split}_labels" not in ens:
            raise HumeError(
                f"run {run_dir.name} lacks the labels of split {split!r}: run the search again"
            )
        part(split, seeds[f"{split}_labels"], ens[f"{split}_labels"], False)
    names = class_names_of(list(store_paths.values()))
    return _with_review(
        RunRows(run_dir.name, config.method, int(model.n_classes), parts, names), config
    )


def _with_review(rows: RunRows, config: Any) -> RunRows:
    """``rows`` with the names and merges of the review a refit run was made from."""
    refit = config.extra.get("refit") or {}
    rows.names = {int(c): str(n) for c, n in (refit.get("names") or {}).items()}
    rows.merged_into = {int(c): int(t) for c, t in (refit.get("merged_into") or {}).items()}
    return rows


#: Store attributes that must agree between a run's view and a store it labels: the same model,
#: weights, feature and preprocessing, else the encoders read another space.
SAME_SPACE = ("architecture", "weights", "feature_kind", "preprocessing", "dim")


def check_same_space(view: str, run_store: Path, new_store: Path) -> None:
    """Refuse ``new_store`` unless it was embedded as the run's store of ``view`` was."""
    with open_store(run_store) as st:
        was = st.attrs
    with open_store(new_store) as st:
        now = st.attrs
    for key in SAME_SPACE:
        if key in was and key in now and was[key] != now[key]:
            raise HumeError(
                f"store {new_store} was not embedded like the run's view {view!r} ({key}: "
                f"{str(now[key])[:80]!r} there, {str(was[key])[:80]!r} in the run): embed it "
                "with the run's model, "
                f"{command('embed', setting('model', view), setting('dataset', '…'))}"
            )


def predict_rows(
    run_dir: str | os.PathLike,
    root: str | os.PathLike | None,
    dataset: str,
    split: str | None = None,
) -> RunRows:
    """The rows of another dataset's stores (new images embedded with the run's views) as a
    finished run labels them; every split the stores have, or ``split``."""
    from hume.core.names import check_name
    from hume.evaluate.run_inputs import check_stores
    from hume.runs import finished_config
    from hume.search.search_runs.run_readers import load_model
    from hume.store import find_store, resolve_root, splits_of

    run_dir = Path(run_dir)
    config = finished_config(run_dir)
    model = load_model(run_dir)
    check_name("dataset", dataset)
    views = list(config.views)
    needed = views if model.predicts_from_all_views else views[:1]
    run_stores = check_stores(config, resolve_root(root))
    if split is not None:
        splits = [check_name("split", split)]
    else:
        have = [set(splits_of(root, dataset, v)) for v in needed]
        splits = sorted(set.intersection(*have)) if have else []
        if not splits:
            raise HumeError(
                f"no stores of dataset {dataset!r} for {', '.join(needed)} under "
                f"{resolve_root(root)}: embed it with "
                f"{command('embed', setting('model', needed[0]), setting('dataset', '…'))}"
            )
    parts = []
    for s in splits:
        stores = {v: find_store(root, dataset, s, v) for v in needed}
        for v, path in stores.items():
            theirs = next(p for key, p in run_stores.items() if key.startswith(f"{v}/"))
            check_same_space(v, theirs, path)
        if len({_n_rows(p) for p in stores.values()}) > 1:
            raise HumeError(
                f"the stores of {dataset!r}/{s} have different row counts: they must "
                "be embeddings of the same samples"
            )
        parts.append(label_rows(model, dataset, s, stores, searched=False))
    names = class_names_of(list(run_stores.values()))
    return _with_review(
        RunRows(run_dir.name, config.method, int(model.n_classes), parts, names), config
    )


def _n_rows(path: Path) -> int:
    with open_store(path) as st:
        return st.n_rows
