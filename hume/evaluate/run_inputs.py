"""What `evaluate` reads from a run and its stores, checked against each other.

A run's labelings are only meaningful against the very rows they were computed on: every store
named in ``config.stores`` must still have the same number of rows and the same ``store_id``
(a rewritten store gets a new id), and the labelings' lengths must match. Ground truth comes
from the stores' ``labels`` (only this stage reads them).
"""

from __future__ import annotations

import os
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hume.core.errors import HumeError, setting
from hume.runs import ENSEMBLE, SEEDS, RunConfig, finished_config
from hume.store import find_store, open_store, resolve_root


@dataclass
class RunInputs:
    """A run's labelings of the evaluated rows and the ground truth of those rows.

    ``eval_splits`` are the splits scored (inductive: the predict splits; transductive: the
    searched splits), concatenated in order; ``y_true`` (N_eval,) is −1 where unknown.
    ``seed_labels`` (n_seeds, N_eval), ``ensemble`` (N_eval,), ``scores``/``objectives``
    (n_seeds,) are the run's outputs.
    """

    run_dir: Path
    config: RunConfig
    root: Path
    eval_splits: list[str]
    fit_splits: list[str]
    y_true: np.ndarray
    ensemble: np.ndarray
    seed_labels: np.ndarray
    scores: np.ndarray
    objectives: np.ndarray
    reference_seed: int
    store_paths: dict[str, Path]
    n_classes: int | None = None
    class_names: list[str] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def views(self) -> list[str]:
        return list(self.config.views)

    @property
    def has_ground_truth(self) -> bool:
        return bool((self.y_true >= 0).any())

    @property
    def same_rows(self) -> bool:
        """True when the evaluated rows are the searched rows (transductive)."""
        return self.eval_splits == self.fit_splits

    def labels_of(self, splits: list[str]) -> np.ndarray:
        """Ground truth of ``splits`` concatenated, −1 where unknown."""
        return np.concatenate([read_split_labels(self, s) for s in splits])

    def store_of(self, view: str, split: str) -> Path:
        """The store of ``view``/``split``: the run's, else (a view the search did not read on
        that split, e.g. φ2 on the predicted test split) the one under the root, size-checked."""
        path = self.store_paths.get(f"{view}/{split}")
        if path is not None:
            return path
        path = find_store(self.root, self.config.dataset, split, view)
        expected = self.config.stores.get(f"{self.views[0]}/{split}", {}).get("n_rows")
        with open_store(path) as st:
            if expected is not None and st.n_rows != expected:
                raise HumeError(
                    f"store {path} has {st.n_rows} rows but the run's φ1 store of "
                    f"split {split!r} has {expected}: they are not the same samples"
                )
        return path

    def n_rows(self, splits: list[str]) -> int:
        """Rows of ``splits`` together (as the run recorded them for φ1)."""
        return sum(int(self.config.stores[f"{self.views[0]}/{s}"]["n_rows"]) for s in splits)

    def features(
        self, view: str, splits: list[str], device: str = "cpu", rows: np.ndarray | None = None
    ):
        """Features of ``view`` over ``splits`` concatenated, an (N, D) float32 tensor.

        ``rows`` (sorted indices into the concatenation) keeps only those rows; they are picked
        chunk by chunk, so memory holds the selection, never the whole split.
        """
        import torch

        from hume.search.search_runs.view_loading import load_view

        if rows is None:
            parts = [load_view(self.store_of(view, s), device=device) for s in splits]
            return torch.cat(parts) if len(parts) > 1 else parts[0]
        parts, offset = [], 0
        for split in splits:
            with open_store(self.store_of(view, split)) as st:
                for start, stop, block in st.iter_chunks():
                    lo, hi = np.searchsorted(rows, [offset + start, offset + stop])
                    if hi > lo:
                        picked = block[rows[lo:hi] - offset - start].astype(np.float32)
                        parts.append(torch.from_numpy(picked).to(device))
                offset += st.n_rows
        return torch.cat(parts)


def load_npz(path: Path, keys: list[str]) -> dict[str, np.ndarray]:
    if not path.is_file():
        raise HumeError(
            f"the run has no {path.name} at {path.parent}: run `hume search` to "
            f"finish it (`{setting('resume', True)}` continues an interrupted run)"
        )
    try:
        with np.load(path, allow_pickle=False) as data:
            missing = [k for k in keys if k not in data.files]
            if missing:
                raise HumeError(
                    f"{path} lacks the arrays {', '.join(missing)}: the run was "
                    "written by an incompatible version; run `hume search` again"
                )
            return {k: np.asarray(data[k]) for k in data.files}
    except (ValueError, OSError, EOFError, zipfile.BadZipFile) as exc:
        raise HumeError(f"{path} is corrupt ({exc}); run `hume search` again") from exc


def _store_path(root: Path, dataset: str, key: str, entry: dict[str, Any]) -> Path:
    """Where the store recorded as ``key`` lives now (recorded path, else looked up)."""
    recorded = Path(str(entry.get("path", "")))
    for candidate in (recorded, root / recorded):
        if str(recorded) and candidate.exists():
            return candidate
    view, split = key.split("/", 1)
    return find_store(root, dataset, split, view)


def check_stores(config: RunConfig, root: Path) -> dict[str, Path]:
    """Paths of the run's stores; refuses any store changed since the search."""
    stores = config.stores
    if not stores:
        raise HumeError("the run's config.json records no stores: run `hume search` again")
    paths = {}
    for key, entry in stores.items():
        path = _store_path(root, config.dataset, key, entry)
        with open_store(path) as st:
            n_rows, store_id = st.n_rows, st.attrs.get("store_id")
        if n_rows != entry.get("n_rows") or (
            entry.get("store_id") and store_id != entry["store_id"]
        ):
            raise HumeError(
                f"store {key} at {path} changed since the search (now {n_rows} rows, id "
                f"{store_id}; the run used {entry.get('n_rows')} rows, id {entry.get('store_id')}): "
                "its labelings no longer describe these rows; run `hume search` again"
            )
        paths[key] = path
    return paths


def read_split_labels(inputs: RunInputs, split: str) -> np.ndarray:
    """Ground truth of one split from the run's stores of that split (they must agree)."""
    found = None
    for view in inputs.views:
        path = inputs.store_paths.get(f"{view}/{split}")
        if path is None:
            continue
        with open_store(path) as st:
            y = st.read_labels()
        if not (y >= 0).any():
            continue
        if found is not None and not np.array_equal(found[1], y):
            raise HumeError(
                f"the stores of split {split!r} disagree on the labels ({found[0]} vs "
                f"{path}): re-import one of them with the right labels"
            )
        found = (path, y)
    if found is None:
        key = next((k for k in inputs.store_paths if k.endswith(f"/{split}")), None)
        if key is None:
            raise HumeError(f"the run records no store of split {split!r}")
        with open_store(inputs.store_paths[key]) as st:
            return st.read_labels()
    return found[1]


def _class_info(store_paths: dict[str, Path]) -> tuple[int | None, list[str] | None]:
    n_classes, names = None, None
    for path in store_paths.values():
        with open_store(path) as st:
            attrs = st.attrs
        if n_classes is None and isinstance(attrs.get("num_classes"), int):
            n_classes = attrs["num_classes"]
        if names is None and isinstance(attrs.get("classes"), list) and attrs["classes"]:
            names = [str(c) for c in attrs["classes"]]
    return n_classes, names


def load_inputs(run_dir: str | os.PathLike, root: str | os.PathLike | None = None) -> RunInputs:
    """Read and cross-check a finished run: config, stores, labelings, ground truth."""
    run_dir = Path(run_dir)
    config = finished_config(run_dir)
    root = resolve_root(root)
    store_paths = check_stores(config, root)
    seeds = load_npz(run_dir / SEEDS, ["labels", "scores"])
    ens = load_npz(run_dir / ENSEMBLE, ["labels"])
    search_splits = list(config.search_splits)
    predict_splits = list(config.predict_splits or [])
    phi1 = config.views[0]
    notes: list[str] = []

    def n_rows(splits: list[str]) -> int:
        return sum(int(config.stores[f"{phi1}/{s}"]["n_rows"]) for s in splits)

    def check_len(arr: np.ndarray, expected: int, what: str) -> None:
        if arr.shape[-1] != expected:
            raise HumeError(
                f"{what} has {arr.shape[-1]} rows but the stores have {expected}: "
                "the run is inconsistent; run `hume search` again"
            )

    check_len(seeds["labels"], n_rows(search_splits), "seeds.npz labels")
    check_len(ens["labels"], n_rows(search_splits), "ensemble.npz labels")
    inductive = config.setting == "inductive"
    if (
        inductive
        and predict_splits
        and all(f"{s}_labels" in ens and f"{s}_labels" in seeds for s in predict_splits)
    ):
        eval_splits = predict_splits
        ensemble = np.concatenate([ens[f"{s}_labels"] for s in predict_splits])
        seed_labels = np.concatenate([seeds[f"{s}_labels"] for s in predict_splits], axis=1)
        check_len(ensemble, n_rows(predict_splits), "ensemble labels of the predict splits")
    else:
        if inductive:
            notes.append(
                "inductive run without predicted held-out splits: scored on the searched rows"
            )
        eval_splits = search_splits
        ensemble, seed_labels = ens["labels"], seeds["labels"]
    if seed_labels.ndim != 2:
        raise HumeError("seeds.npz labels must be (n_seeds, N): run `hume search` again")
    scores = np.asarray(seeds["scores"], dtype=np.float64)
    objectives = np.asarray(seeds.get("objectives", np.full(len(scores), np.nan)), np.float64)
    ref = ens.get("reference_seed")
    reference = int(ref) if ref is not None else int(np.nanargmax(scores))
    n_classes, names = _class_info(store_paths)
    inputs = RunInputs(
        run_dir,
        config,
        root,
        eval_splits,
        search_splits,
        np.empty(0, np.int64),
        ensemble.astype(np.int64),
        seed_labels.astype(np.int64),
        scores,
        objectives,
        reference,
        store_paths,
        n_classes,
        names,
        notes,
    )
    inputs.y_true = inputs.labels_of(eval_splits)
    return inputs
