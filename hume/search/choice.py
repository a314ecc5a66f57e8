"""Several searches and a label-free choice among them: a range of K (``--k 5:15``) and each
view as φ1 (``--phi1 auto``), docs/algorithm.md §10.

Every candidate (one K, one order of the views) is a normal run named ``<run>-k07`` (with
``--phi1 auto`` also ``-phi1-<view>``), searched as ``hume search`` searches it: seeds batched,
under torchrun shared over the ranks, with ``--class-sizes uneven`` its own choice of the
entropy weight. The stores are read once for all candidates. Each candidate's label-free
signals (:mod:`hume.search.k_choice`) come from its seeds; the candidate of the highest mean of
its consensus stability (do two halves of its seeds give the same consensus?) and its seeds'
stability is chosen (ties: the smaller K, then the earlier order). Its run is copied to
``<run>`` itself: a normal run of the chosen K whose ``choice.json`` lists every candidate, so ``hume evaluate`` and ``hume
export`` take ``<run>`` as usual, and any other candidate by its own name. Running the same
command again continues where it stopped: finished candidates are kept, unfinished ones resumed.
"""

from __future__ import annotations

import shutil
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hume import distributed as dist_
from hume.devices import resolve_device
from hume.errors import HumeError, Interrupted
from hume.files import read_json, write_json
from hume.names import canonical_model, check_name
from hume.reporting import SILENT, Reporter, logger
from hume.runs import CONFIG, default_run_name, load_config, runs_dir
from hume.search.inputs import LoadedViews, load_views, plan_splits
from hume.search.k_choice import Candidate, choose, measure
from hume.search.methods import get_method
from hume.search.pipeline import WAIT_FOR_RANKS, SearchRequest, resume_search, run_search
from hume.store import resolve_dataset

CHOICE_FILE = "choice.json"
#: What a chosen run holds (copied from the candidate chosen).
RUN_FILES = ("seeds.npz", "ensemble.npz", "encoders.pt")


def candidate_name(base: str, k: int, phi1: str | None) -> str:
    """``<base>-k07``, or ``<base>-k07-phi1-hog`` when each view is tried as φ1."""
    return f"{base}-k{k:02d}" + (f"-phi1-{phi1}" if phi1 else "")


def view_orders(views: list[str], phi1_auto: bool) -> list[list[str]]:
    """The orders searched: as given, or each view first (the others keeping their order)."""
    if not phi1_auto:
        return [views]
    return [[v, *[w for w in views if w != v]] for v in views]


def choose_search(
    req: SearchRequest,
    ks: list[int] | None,
    phi1_auto: bool = False,
    reporter: Reporter = SILENT,
) -> Path:
    """Search every K of ``ks`` (None: the dataset's K; with ``phi1_auto`` every view as φ1),
    choose by the mean of consensus stability and stability, write the chosen candidate as the
    run ``req.run``; its path."""
    cls = get_method(req.method)
    if phi1_auto and cls.predicts_from_all_views:
        raise HumeError(
            f"--phi1 auto applies to --method hume: {cls.method} lets every view parametrise the "
            "labeling, so no view is φ1; drop --phi1"
        )
    if phi1_auto and len(req.views) < 2:
        raise HumeError("--phi1 auto needs at least two views to order")
    if req.seed_range is not None:
        raise HumeError("--seed-range searches one run: give a single --k (and no --phi1 auto)")
    views = [check_name("view", canonical_model(v)) for v in req.views]
    dataset = resolve_dataset(req.root, views, req.dataset)
    base = req.run or default_run_name(cls.method, dataset)
    check_name("run", base)
    base_dir = runs_dir(req.root) / base
    if (base_dir / CHOICE_FILE).is_file() and load_config(base_dir).get("status") == "complete":
        logger.info("nothing to do: run %s is complete (%s)", base, _summary(base_dir))
        return base_dir
    ranks = dist_.ranks_from_env()
    dev = resolve_device(req.device, ranks.local_rank if ranks.distributed else None)
    orders = view_orders(views, phi1_auto)
    cache: dict[Any, Any] = {}
    joined = dist_.start(ranks, dev.type, backend="gloo", timeout=WAIT_FOR_RANKS)
    try:
        loaded = {tuple(o): _loaded(req, dataset, o, dev, cache) for o in orders}
        inputs = {order: views.search for order, views in loaded.items()}
        if ks is None:  # the dataset's own K
            known = loaded[tuple(orders[0])].num_classes
            if known is None:
                raise HumeError(
                    f"the number of classes of {dataset!r} is unknown: pass --k (a K or a "
                    "range such as 5:15)"
                )
            ks = [int(known)]
        for order in orders:  # every K is checked before the first search starts
            x = inputs[tuple(order)]
            for k in ks:
                cls.check_problem(k, x[0].shape[0], [t.shape[1] for t in x], order)
        candidates = []
        for i, order in enumerate(orders):
            for k in ks:
                name = candidate_name(base, k, order[0] if phi1_auto else None)
                path = _search(req, name, k, order, reporter, cache)
                cand = _signals(path, inputs[tuple(order)], cls.predicts_from_all_views)
                cand.setting.update(run=name, phi1=order[0], order=i)
                candidates.append(cand)
                if ranks.is_main:
                    logger.info(
                        "K=%d, φ1 %s (run %s): criterion %.3f (consensus stability %.3f, "
                        "stability %.3f), score %.3f, balanced score %.3f%s",
                        k,
                        order[0],
                        name,
                        cand.criterion,
                        cand.consensus,
                        cand.stability,
                        cand.score,
                        cand.balanced,
                        ""
                        if cand.complete
                        else f" (uses {cand.used_classes} classes: not a {k}-class labeling)",
                    )
        chosen = choose(candidates)
        if ranks.is_main and not chosen.complete:
            logger.warning(
                "every candidate leaves a class (nearly) empty: the chosen K=%d uses %d classes",
                chosen.setting["k"],
                chosen.used_classes,
            )
        if ranks.is_main:
            _write_choice(base_dir, chosen, candidates)
            logger.info("chosen: %s; run %s is %s", _describe(chosen), base, chosen.setting["run"])
        dist_.barrier(ranks)
        return base_dir
    except Interrupted:
        raise Interrupted(
            "run the same command again to continue (finished candidates are kept)"
        ) from None
    finally:
        dist_.stop(joined)


def _loaded(
    req: SearchRequest,
    dataset: str,
    order: list[str],
    device: torch.device,
    cache: dict[Any, Any],
) -> LoadedViews:
    """The views of ``order`` (read once for every candidate: ``cache``); labels never."""
    cls = get_method(req.method)
    search, predict = plan_splits(
        req.root, dataset, order, req.setting, predict_all_views=cls.predicts_from_all_views
    )
    return load_views(
        req.root,
        dataset,
        order,
        search,
        predict,
        device,
        predict_all_views=cls.predicts_from_all_views,
        cache=cache,
    )


def _search(
    req: SearchRequest,
    name: str,
    k: int,
    order: list[str],
    reporter: Reporter,
    cache: dict[Any, Any],
) -> Path:
    """The candidate's run: searched now, resumed where it stopped, or kept as it is."""
    if (runs_dir(req.root) / name / CONFIG).is_file():
        return resume_search(req.root, name, reporter=reporter)  # a finished run: a no-op
    return run_search(replace(req, k=k, views=order, run=name), reporter, cache)


def _signals(run_dir: Path, views: list[torch.Tensor], all_views: bool) -> Candidate:
    """A candidate run's label-free signals, from its seeds (labels are never read)."""
    config = load_config(run_dir)
    k = int(config["k"])
    with np.load(run_dir / "seeds.npz") as seeds:
        labels, scores = seeds["labels"], seeds["scores"]
        balanced = seeds["balanced_scores"] if "balanced_scores" in seeds else None
    if balanced is None:  # a run written before the balanced score was kept with the seeds
        from hume.search.selection import label_free_scores

        balanced = label_free_scores(
            views if all_views else (views[1:] or views),
            torch.as_tensor(labels),
            k,
            seed=int(config["hyperparameters"].get("random_state", 0)),
            balanced=True,
        ).numpy()
    with np.load(run_dir / "ensemble.npz") as ensemble:
        ensemble_labels = ensemble["labels"]
    hyper = config["hyperparameters"]
    setting = {
        "k": k,
        "size_term": hyper.get("size_term", "entropy"),
        "entropy_weight": hyper.get("entropy_weight"),
    }
    return measure(
        setting, labels, scores, balanced, ensemble_labels, hyper.get("ensemble", "vote")
    )


def _describe(c: Candidate) -> str:
    return (
        f"K={c.setting['k']}, φ1 {c.setting['phi1']} by criterion {c.criterion:.3f} "
        f"(consensus stability {c.consensus:.3f}, stability {c.stability:.3f})"
    )


def _write_choice(base_dir: Path, chosen: Candidate, candidates: list[Candidate]) -> None:
    """``base_dir``: the chosen candidate's run, and choice.json (every candidate)."""
    source = base_dir.parent / chosen.setting["run"]
    base_dir.mkdir(parents=True, exist_ok=True)
    for name in RUN_FILES:
        tmp = base_dir / f".{name}.copy"
        shutil.copyfile(source / name, tmp)
        tmp.replace(base_dir / name)
    choice = {
        "criterion": "mean of consensus stability and stability",
        "chosen": chosen.setting["run"],
        "k": chosen.setting["k"],
        "phi1": chosen.setting["phi1"],
        "candidates": [c.as_dict() for c in candidates],
    }
    write_json(base_dir / CHOICE_FILE, choice)
    config = read_json(source / CONFIG)
    config["choice"] = {key: choice[key] for key in ("criterion", "chosen", "k", "phi1")}
    write_json(base_dir / CONFIG, config)  # last: the run is complete once this is written


def _summary(base_dir: Path) -> str:
    choice = read_json(base_dir / CHOICE_FILE)
    return f"K={choice['k']}, φ1 {choice['phi1']}, from {choice['chosen']}"
