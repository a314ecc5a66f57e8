"""A new run made from a finished run and a review of it: ``hume search --from RUN
--corrections FILE`` and ``hume label FOLDER --corrections FILE`` (docs/algorithm.md §12).

The corrections files are read and checked against the run first (hume.export.review; a file
that cannot be used is refused before anything is written). Then each class the review splits
is searched again on its own rows (the run's method and settings; a range of parts chosen
without labels as a K range is), its largest part keeping the class's number and the others
taking the next free ones; then every row is relabelled around the anchors (the rows moved or
confirmed; hume.search.estimators.anchored_refit), which keep their class. Merged classes stay merged,
named classes keep their names. The new run is written like a search's (config.json with a
``refit`` record: the run it came from, the files (sha256) that made it, the splits, the
names), so evaluate, export and predict read it as any run. Its name is derived from the run
and the files' contents: the same command again finds it complete and does nothing.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from hume.core.errors import HumeError, setting
from hume.core.faults import fault_point, maybe_fault
from hume.core.files import read_json, save_npz, write_json
from hume.core.reporting import SILENT, Reporter, logger
from hume.export.corrections import Review
from hume.export.review import reviewed
from hume.export.rows import RunRows, run_rows
from hume.runs import (
    RunConfig,
    finished_config,
    load_config,
    run_lock,
    runs_dir,
    write_config,
    write_results,
)

#: a finished split's labels, kept so that a refit stopped after it does not search it again
SPLITS_DIR = "splits"
#: test hook (hume.core.faults): ``kill:K`` stops the process once the K-th split is kept
FAULT_ENV = "HUME_FAULT_REFIT"


@dataclasses.dataclass
class RefitPlan:
    """What a refit will do: the run it starts from, the new run's name and whether it is
    already complete."""

    parent: Path
    name: str
    review: Review
    rows: RunRows
    done: bool


def refit_name(parent: str, review: Review) -> str:
    """``<parent>-fix-<8 hex>``: the digest of the files applied, in order."""
    digest = hashlib.sha256("".join(f["sha256"] for f in review.applied).encode()).hexdigest()
    return f"{parent}-fix-{digest[:8]}"


def plan_refit(
    parent: Path,
    corrections: Sequence[str | os.PathLike],
    root: str | os.PathLike | None = None,
    run: str | None = None,
) -> RefitPlan:
    """Read and check every file against the finished run ``parent``; the new run's name
    (``run``, else :func:`refit_name`) and whether it is complete with the same files."""
    if not corrections:
        raise HumeError(
            f"{setting('parent')} needs {setting('corrections')}: the files of a review of the run"
        )
    finished_config(parent)
    rows = run_rows(parent, root)
    review = reviewed(rows, list(corrections))
    name = run or refit_name(parent.name, review)
    path = runs_dir(root) / name
    done = False
    if (path / "config.json").is_file():
        config = load_config(path)
        record = config.extra.get("refit") or {}
        same = record.get("from") == parent.name and [
            f["sha256"] for f in record.get("corrections", [])
        ] == [f["sha256"] for f in review.applied]
        if not same:
            raise HumeError(
                f"run {name!r} already exists and was not made from {parent.name} with these "
                f"files: choose another {setting('run')} name"
            )
        done = config.complete
    return RefitPlan(parent, name, review, rows, done)


def _searched(rows: RunRows) -> tuple[np.ndarray, np.ndarray, list[int]]:
    """(labels, trust) of the searched rows, concatenated, and the row offset of each part
    (−1 for parts that were predicted, not searched)."""
    offsets, labels, trust, n = [], [], [], 0
    for part in rows.parts:
        if part.searched:
            offsets.append(n)
            labels.append(part.labels)
            trust.append(part.confidence)
            n += len(part)
        else:
            offsets.append(-1)
    return np.concatenate(labels), np.concatenate(trust), offsets


def split_class(
    config: RunConfig, views: list[Any], rows: np.ndarray, parts: tuple[int, int], device: str
) -> tuple[np.ndarray, dict[str, Any]]:
    """(part of each of ``rows`` (M,) in [0, P), what was chosen) of a class searched again on
    its own rows with the run's method and settings at P parts, or P chosen without labels
    among ``parts`` = (fewest, most) as a K range is (hume.search.selection.choice_signals); the search's
    cut is then kept, or k-means' where that is tighter (hume.search.estimators.anchored_refit.
    tightest_cut; ``cut`` in what was chosen says which)."""
    from hume.search.estimators.anchored_refit import tightest_cut
    from hume.search.methods import get_method
    from hume.search.selection.choice_signals import choose, signals

    lo, hi = parts
    if len(rows) < 2 * hi:
        raise HumeError(
            f"a class of {len(rows)} rows cannot be split into {hi} parts: ask for fewer parts"
        )
    subset = [v[rows] for v in views]
    fitted = {}
    for p in range(lo, hi + 1):
        model = get_method(config.method).for_run(dataclasses.replace(config, k=p), device)
        model.fit(subset, view_names=config.views)
        fitted[p] = model
    record: dict[str, Any] = {"parts": lo}
    if lo != hi:
        chosen = choose([signals(m, {}) for m in fitted.values()])
        record = {"parts": int(chosen.setting["k"]), "range": [lo, hi]}
        record["criterion"] = chosen.criterion
    p = record["parts"]
    cut, origin = tightest_cut(subset, fitted[p].labels_, p, config.random_state)
    return cut, {**record, "cut": origin}


def refit(
    plan: RefitPlan,
    root: str | os.PathLike | None = None,
    device: str = "cpu",
    reporter: Reporter = SILENT,
) -> Path:
    """Make the run ``plan`` names (see the module's docstring); returns its directory. A
    complete one is left as it is."""
    from hume.core.devices import resolve_device
    from hume.search.estimators.anchored_refit import RefitSettings, refit_with_choice
    from hume.search.search_runs.view_loading import load_views

    path = runs_dir(root) / plan.name
    if plan.done:
        logger.info("nothing to do: run %s was already made from these corrections", plan.name)
        return path
    parent = finished_config(plan.parent)
    review, rows = plan.review, plan.rows
    with run_lock(root, plan.name):
        path.mkdir(parents=True, exist_ok=True)
        fixed = review.finish()
        if not (path / "config.json").is_file():  # a stopped refit is found and continued
            write_config(path, _config(parent, plan, fixed, parent.stores, device))
        else:
            logger.info("continuing the refit %s where it stopped", plan.name)
        # the run's labels with the merges: the moves enter as anchors
        target = np.asarray(review.target)
        merged = dataclasses.replace(
            rows, parts=[dataclasses.replace(p, labels=target[p.labels]) for p in rows.parts]
        )
        labels, trust, offsets = _searched(merged)
        corrected_labels = _searched(fixed)[0]
        loaded = load_views(
            None if root is None else str(root),
            parent.dataset,
            list(parent.views),
            list(parent.search_splits),
            list(parent.predict_splits or []),
            resolve_device(device),
            predict_all_views=True,
        )
        views = loaded.search
        k = rows.k
        anchor_rows, anchor_classes = _anchors(review, offsets)
        split_record: dict[str, Any] = {}
        splits = review.live_splits()
        searched_splits = 0
        with reporter.task("refit: splitting classes", total=len(splits)) as task:
            for c, parts in sorted(splits.items()):
                into = labels == c  # its rows, with those moved into it, less those moved out
                into[anchor_rows[anchor_classes != c]] = False
                into[anchor_rows[anchor_classes == c]] = True
                members = np.flatnonzero(into)
                saved = path / SPLITS_DIR / f"class-{c}.npz"
                if saved.is_file():
                    with np.load(saved) as z:
                        found = z["parts"]
                    chosen = read_json(path / SPLITS_DIR / f"class-{c}.json")
                    logger.info("class %d: its split was done before the stop, kept", c)
                else:
                    found, chosen = split_class(parent, views, members, parts, device)
                    write_json(path / SPLITS_DIR / f"class-{c}.json", chosen)
                    save_npz(saved, {"parts": found})
                    searched_splits += 1
                    maybe_fault(fault_point(FAULT_ENV), searched_splits)
                sizes = np.bincount(found, minlength=int(chosen["parts"]))
                order = np.argsort(-sizes, kind="stable")
                numbers = [c] + list(range(k, k + len(order) - 1))
                to_class = np.empty(len(order), np.int64)
                to_class[order] = numbers
                labels[members] = to_class[found]
                k += len(order) - 1
                split_record[str(c)] = {**chosen, "classes": numbers}
                task.advance()
        # an anchor in a split class stays in the part the split gave it
        in_split = np.isin(anchor_classes, [int(c) for c in splits])
        anchor_classes[in_split] = labels[anchor_rows[in_split]]
        settings = RefitSettings()
        with reporter.task("refit: relabelling around the anchors", total=1) as task:
            new_labels, model, compared = refit_with_choice(
                views, labels, anchor_rows, anchor_classes, k, trust, settings, parent.random_state
            )
            task.advance()
        seed_labels = model.predict_seeds(views)
        ensemble: dict[str, np.ndarray] = {"labels": new_labels, "reference_seed": np.array(0)}
        kept = _predicted_anchors(review, fixed)
        seeds: dict[str, np.ndarray] = {
            "labels": seed_labels,
            "scores": np.full(len(seed_labels), np.nan),
            "balanced_scores": np.full(len(seed_labels), np.nan),
            "objectives": np.full(len(seed_labels), np.nan),
        }
        for split, xs in loaded.predict.items():
            predicted = model.predict(xs)
            for i, c in kept.get(split, []):
                predicted[i] = c  # a correction of a labelled (not searched) row holds too
            ensemble[f"{split}_labels"] = predicted
            seeds[f"{split}_labels"] = model.predict_seeds(xs)
        config = _config(
            parent,
            plan,
            fixed,
            loaded.stores,
            device,
            k=k,
            n_seeds=len(seed_labels),
            splits=split_record,
            anchors=int(len(anchor_rows)),
            changed=int((new_labels != corrected_labels).sum()),
            settings=dataclasses.asdict(settings),
            method=compared,
        )
        write_results(path, config, seeds, ensemble, model.fitted_state(), {})
    logger.info(
        "refit %s from %s: %d anchors, %d rows changed class",
        plan.name,
        plan.parent.name,
        len(anchor_rows),
        config.extra["refit"]["changed"],
    )
    return path


def _config(
    parent: RunConfig,
    plan: RefitPlan,
    fixed: RunRows,
    stores: dict[str, Any],
    device: str,
    k: int | None = None,
    n_seeds: int | None = None,
    **record: Any,
) -> RunConfig:
    """The new run's config.json: the run's own, with K, seeds and the ``refit`` record
    (``fixed``: the run's rows with the review applied)."""
    return dataclasses.replace(
        parent,
        k=parent.k if k is None else k,
        n_seeds=parent.n_seeds if n_seeds is None else n_seeds,
        hyperparameters=dict(parent.hyperparameters),
        stores=stores,
        status="running",
        finished=None,
        choice=None,
        candidate_of=None,
        sweep=None,
        error=None,
        device=device,
        extra={
            **{key: v for key, v in parent.extra.items() if key != "refit"},
            "refit": {
                "from": plan.parent.name,
                "corrections": plan.review.applied,
                "names": {str(c): n for c, n in fixed.names.items()},
                "merged_into": {str(c): t for c, t in fixed.merged_into.items()},
                **record,
            },
        },
    )


def _predicted_anchors(review: Review, fixed: RunRows) -> dict[str, list[tuple[int, int]]]:
    """{split: [(row, class)]} of the anchors in parts that were labelled, not searched."""
    out: dict[str, list[tuple[int, int]]] = {}
    for part, (rows, classes) in zip(fixed.parts, review.anchored()):
        if not part.searched:
            out.setdefault(part.split, []).extend(zip(rows.tolist(), classes.tolist()))
    return out


def _anchors(review: Review, offsets: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """(rows among the searched rows, classes) of every anchor in a searched part."""
    rows, classes = [], []
    for (part_rows, part_classes), offset in zip(review.anchored(), offsets):
        if offset >= 0:
            rows.append(part_rows + offset)
            classes.append(part_classes)
    if not rows:
        return np.empty(0, np.int64), np.empty(0, np.int64)
    return np.concatenate(rows), np.concatenate(classes)
