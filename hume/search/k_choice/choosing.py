"""Several searches and a label-free choice among them: a range of K (``--k 5:15``) and each
view as φ1 (``--phi1 auto``), docs/algorithm.md §10.

A candidate is one K and one order of the views. With the fast scan (the default) candidates
are first screened (:mod:`hume.search.k_choice.screens`) as far as the climb over K reaches
(:func:`climb_screens`; ``screen-all``: every candidate), then searched in full, best screen
first, while they could still win (:func:`could_win`); the exhaustive scan searches every
candidate in full. A candidate searched in full is a normal run ``<run>-k07`` (with ``--phi1
auto`` also ``-phi1-<view>``); the one of the highest criterion is copied to ``<run>`` with the
choice's files (:mod:`hume.search.k_choice.choice_files`). The same command again continues where it
stopped; asked with other settings, it is refused.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from hume.core import distributed as dist_
from hume.core.devices import resolve_device
from hume.core.errors import HumeError, Interrupted, setting
from hume.core.names import canonical_model, check_name
from hume.core.reporting import SILENT, CountedTask, NestedReporter, Reporter, logger
from hume.runs import CONFIG, default_run_name, load_config, runs_dir, shown_ks
from hume.search.k_choice.candidates import (
    Planned,
    candidate_name,
    log_candidate,
    planned_label,
    view_orders,
)
from hume.search.k_choice.choice_files import (
    CHOICE_FILE,
    claim,
    describe,
    full_signals,
    request_record,
    summary,
    write_choice,
)
from hume.search.k_choice.climbing import PHI1_AT, best_ks, climb_over, comes_close
from hume.search.k_choice.screens import SCREEN_SEEDS, screen_all, screen_config
from hume.search.methods import get_method
from hume.search.search_runs.request import WAIT_FOR_RANKS, SearchRequest, check_request
from hume.search.search_runs.run_lifecycle import resume_search, run_search
from hume.search.search_runs.sweep import SWEEP_SEEDS
from hume.search.search_runs.view_loading import LoadedViews, load_views, plan_splits
from hume.search.selection.choice_signals import Candidate, ranked
from hume.search.vocabulary import KScan
from hume.store import resolve_dataset

#: candidates (using all their K classes) searched in full after the screens, at least; then
#: every one that could still win, by its screen criterion plus the largest rise seen plus MARGIN
FINALISTS = 2
MARGIN = 0.02
#: the margin with ``--class-sizes uneven``, whose full runs may choose another weight than the
#: best one a screen kept, so that the rise from screen to full varies far more between K
MARGIN_UNEVEN = 0.1
#: the fast scan searches the second finalist in full unless its screen, raised by the rise of
#: the first and the margin plus LONE_MARGIN, stays below the first's full criterion: one rise
#: seen is a weaker guide than two (docs/algorithm.md §10.7)
LONE_MARGIN = 0.1


def choose_search(
    req: SearchRequest,
    ks: list[int] | None,
    phi1_auto: bool = False,
    reporter: Reporter = SILENT,
    scan: KScan | str = KScan.fast,
) -> Path:
    """Search every K of ``ks`` (None: the dataset's K; with ``phi1_auto`` every view as φ1),
    screened first unless ``scan`` is exhaustive, choose by the mean of consensus stability and
    stability, write the chosen candidate as the run ``req.run``; its path."""
    scan = KScan(scan)
    cls = get_method(req.method)
    if phi1_auto and cls.predicts_from_all_views:
        raise HumeError(
            f"{setting('phi1', 'auto')} applies to {setting('method', 'hume')}: {cls.method} lets "
            f"every view parametrise the labeling, so no view is φ1; drop {setting('phi1')}"
        )
    if phi1_auto and len(req.views) < 2:
        raise HumeError(f"{setting('phi1', 'auto')} needs at least two views to order")
    if req.seed_range is not None:
        raise HumeError(
            f"{setting('seed_range')} searches one run: give a single {setting('k')} (and no "
            f"{setting('phi1', 'auto')})"
        )
    cfg, _ = check_request(req)
    views = [check_name("view", canonical_model(v)) for v in req.views]
    dataset = resolve_dataset(req.root, views, req.dataset)
    base = req.run or default_run_name(cls.method, dataset)
    check_name("run", base)
    base_dir = runs_dir(req.root) / base
    if (base_dir / CHOICE_FILE).is_file() and load_config(base_dir).complete:
        if ks is not None:  # (without ks the dataset's K, known only once its views are read)
            claim(base_dir, request_record(req, dataset, views, ks, phi1_auto, scan))
        logger.info("nothing to do: run %s is complete (%s)", base, summary(base_dir))
        return base_dir
    ranks = dist_.ranks_from_env()
    dev = resolve_device(req.device, ranks.local_rank if ranks.distributed else None)
    orders = view_orders(views, phi1_auto)
    cache: dict[Any, Any] = {}
    joined = dist_.start(ranks, dev.type, backend="gloo", timeout=WAIT_FOR_RANKS)
    try:
        loaded = {tuple(o): loaded_views(req, dataset, o, dev, cache) for o in orders}
        inputs = {order: views.search for order, views in loaded.items()}
        if ks is None:  # the dataset's own K
            ks = [loaded[tuple(orders[0])].known_k(dataset)]
        for order in orders:  # every K is checked before the first search starts
            x = inputs[tuple(order)]
            for k in ks:
                cls.check_problem(k, x[0].shape[0], [t.shape[1] for t in x], order)
        plan = [
            Planned(candidate_name(base, k, order[0] if phi1_auto else None), k, tuple(order), i)
            for i, order in enumerate(orders)
            for k in ks
        ]
        asked = request_record(req, dataset, views, ks, phi1_auto, scan)
        dist_.on_main(ranks, lambda: claim(base_dir, asked))
        fast = scan is not KScan.exhaustive and len(plan) > FINALISTS
        climb = fast and scan is KScan.fast
        screen_cfg = screen_config(cfg)
        full_units = _units(cfg, req.seeds, req)
        screen_units = _units(screen_cfg, min(req.seeds, SCREEN_SEEDS), req, screen=True)
        n_screens = expected_screens(len(ks), len(orders)) if climb else len(plan)
        total = (
            (n_screens * screen_units + FINALISTS * full_units) if fast else len(plan) * full_units
        )
        what = f"choosing K among {shown_ks(ks)}" + (" and φ1" if phi1_auto else "")
        with CountedTask(reporter.task(what, total=total, unit="seed-it"), total) as task:
            screens: dict[str, Candidate] = {}
            if climb:
                args = (req, cls, screen_cfg)
                screens = climb_screens(
                    plan,
                    lambda some: screen_all(
                        *args, some, inputs, base_dir, dev, ranks, task, screen_units, phi1_auto
                    ),
                    ranks.world_size,
                    lambda left: task.update(
                        total=task.completed + left * screen_units + FINALISTS * full_units
                    ),
                )
            elif fast:
                screens = screen_all(
                    req, cls, screen_cfg, plan, inputs, base_dir, dev, ranks, task, screen_units
                )
            full: dict[str, Candidate] = {}
            by_run = {p.run: p for p in plan}
            queue = [by_run[c.setting["run"]] for c in ranked(list(screens.values()))]
            for p in queue if fast else plan:
                margin = MARGIN_UNEVEN if req.class_sizes == "uneven" else MARGIN
                lone = LONE_MARGIN if climb else None
                if fast and not could_win(screens[p.run], screens, full, margin, lone):
                    continue
                start = task.completed
                if start + full_units > task.total:  # one more than the finalists planned
                    task.update(total=start + full_units)
                task.advance(0, at=f"searching {planned_label(p, phi1_auto)} in full")
                nested = NestedReporter(reporter, task, start, full_units)
                path = _search(
                    req, p, base, nested, cache, f"{planned_label(p, phi1_auto)} in full"
                )
                cand = full_signals(path, inputs[p.order], cls.predicts_from_all_views)
                cand.setting.update(p.setting())
                full[p.run] = cand
                task.update(
                    completed=start + full_units,
                    at=f"searched {planned_label(p, phi1_auto)} in full",
                    criterion=round(cand.criterion, 3),
                )
                if ranks.is_main:
                    log_candidate(cand, "")
        if fast and ranks.is_main:
            logger.info(
                "screened %d and searched %d of %d candidates in full; by the screens the others "
                "could not win",
                len(screens),
                len(full),
                len(plan),
            )
        chosen = ranked(list(full.values()))[0]
        if ranks.is_main and not chosen.complete:
            logger.warning(
                "every candidate leaves a class (nearly) empty: the chosen K=%d uses %d classes",
                chosen.setting["k"],
                chosen.used_classes,
            )
        if ranks.is_main:
            screened = (
                {"seeds": min(req.seeds, SCREEN_SEEDS), "iters": int(screen_cfg.iters)}
                if fast
                else None
            )
            write_choice(base_dir, chosen, plan, full, screens, screened, scan.value)
            logger.info("chosen: %s; run %s is %s", describe(chosen), base, chosen.setting["run"])
        dist_.barrier(ranks)
        return base_dir
    except Interrupted as exc:
        raise Interrupted(
            "run the same command again to continue (finished candidates are kept)"
        ) from exc
    finally:
        dist_.stop(joined)


def climb_screens(
    plan: list[Planned],
    screen_some: Callable[[list[Planned]], dict[str, Candidate]],
    batch: int = 1,
    left: Callable[[int], None] | None = None,
) -> dict[str, Candidate]:
    """The fast scan's screens (docs/algorithm.md §10.7): K climbed upwards with the first order
    of the views (``batch`` K at a time: one per rank) until :func:`climb_over`; each other order
    screened at the first one's best K (:func:`best_ks`) and, when it comes close
    (:func:`comes_close`), climbed from there upwards and downwards by the same rule. ``screen_some`` screens candidates (or reads their screens back) and
    returns their signals; ``left`` is told the screens still planned, for the progress."""
    orders = sorted({p.index for p in plan})
    by_order = {i: sorted((p for p in plan if p.index == i), key=lambda p: p.k) for i in orders}
    screens: dict[str, Candidate] = {}
    looked: set[int] = set()

    def planned() -> int:
        unseen = len(orders) - 1 - len(looked - {orders[0]})
        return max(0, unseen) * PHI1_AT

    def ascend(i: int, ps: list[Planned] | None = None) -> None:
        ps = by_order[i] if ps is None else ps
        for at in range(0, len(ps), batch):
            todo = [p for p in ps[at : at + batch] if p.run not in screens]
            if todo:
                screens.update(screen_some(todo))
            done = [screens[p.run] for p in ps[: at + batch]]
            stop = climb_over(done)
            if left is not None:
                rest = 0 if stop else sum(p.run not in screens for p in ps[at + batch :])
                left(rest + planned())
            if stop:
                return

    ascend(orders[0])
    looked.add(orders[0])
    first = [screens[p.run] for p in by_order[orders[0]] if p.run in screens]
    for i in orders[1:]:
        looked.add(i)
        ks = set(best_ks(first))
        todo = [p for p in by_order[i] if p.k in ks and p.run not in screens]
        if todo:
            screens.update(screen_some(todo))
        other = [screens[p.run] for p in by_order[i] if p.run in screens]
        if comes_close(other, first):  # climb both ways from the K it was screened at
            at = next(n for n, p in enumerate(by_order[i]) if p.k in ks)
            ascend(i, by_order[i][at:])
            ascend(i, by_order[i][at::-1])
        elif left is not None:
            left(planned())
    return screens


def expected_screens(n_ks: int, n_orders: int) -> int:
    """The screens the fast scan plans at first (for the progress): every K of the first order,
    :data:`PHI1_AT` of each other; the climb usually stops before the last K."""
    return n_ks + (n_orders - 1) * min(PHI1_AT, n_ks)


def could_win(
    screened: Candidate,
    screens: dict[str, Candidate],
    full: dict[str, Candidate],
    margin: float = MARGIN,
    lone: float | None = None,
) -> bool:
    """Whether a screened candidate must be searched in full: until :data:`FINALISTS` candidates
    searched in full use all their K classes, always; then when its screen criterion, raised by
    the largest rise from screen to full criterion seen so far plus ``margin``, reaches the best
    full criterion (docs/algorithm.md §10.6). With ``lone`` (the fast scan), one such finalist
    is enough when the candidate falls short of it by more than ``margin + lone`` (§10.7)."""
    finalists = sum(c.complete for c in full.values())
    if finalists < (FINALISTS if lone is None else 1):
        return True
    best = ranked(list(full.values()))[0]
    rise = max(c.criterion - screens[run].criterion for run, c in full.items())
    extra = lone if lone is not None and finalists < FINALISTS else 0.0
    return screened.criterion + rise + margin + extra >= best.criterion


def _units(cfg: Any, seeds: int, req: SearchRequest, screen: bool = False) -> int:
    """Seed-iterations of one candidate's search (its seeds, and the trial seeds of the grid it
    sweeps first) or of its screen (every weight of ``--class-sizes uneven``): the unit of the
    choice's progress."""
    points = len(cfg.class_size_points()) if req.class_sizes == "uneven" else 0
    if screen:
        return seeds * int(cfg.iters) * max(points, 1)
    trials = points or (len(cfg.sweep_points()) if req.sweep else 0)
    return (seeds + trials * SWEEP_SEEDS) * int(cfg.iters)


def loaded_views(
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
    p: Planned,
    base: str,
    reporter: Reporter,
    cache: dict[Any, Any],
    label: str,
) -> Path:
    """The candidate's run: searched now, resumed where it stopped, or kept as it is."""
    logger.info("searching %s (run %s)", label, p.run)
    if (runs_dir(req.root) / p.run / CONFIG).is_file():
        return resume_search(req.root, p.run, reporter=reporter)  # a finished run: a no-op
    request = replace(req, k=p.k, views=list(p.order), run=p.run, candidate_of=base)
    return run_search(request, reporter, cache)
