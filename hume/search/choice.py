"""Several searches and a label-free choice among them: a range of K (``--k 5:15``) and each
view as φ1 (``--phi1 auto``), docs/algorithm.md §10.

A candidate is one K and one order of the views. With ``scan="fast"`` (the default) every
candidate is first *screened*: :data:`SCREEN_SEEDS` seeds of :data:`SCREEN_SHARE` of the
iterations, no label-free scores (:func:`screen`); only the :data:`FINALISTS` first by the
criterion are then searched in full. ``exhaustive`` searches every candidate in full. A candidate
searched in full is a normal run ``<run>-k07`` (with ``--phi1 auto`` also ``-phi1-<view>``);
screens are kept in ``<run>/screens/``. The candidate searched in full with the highest
criterion is chosen and copied to ``<run>``, a normal run whose ``choice.json`` lists every
candidate. The same command again continues where it stopped; asked with other settings, it is
refused.
"""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hume.core import distributed as dist_
from hume.core.devices import resolve_device
from hume.core.distributed import Ranks
from hume.core.errors import HumeError, Interrupted
from hume.core.files import read_json, save_npz, write_json
from hume.core.names import canonical_model, check_name
from hume.core.reporting import SILENT, Reporter, Task, logger
from hume.runs import CHOICE, CONFIG, default_run_name, load_config, runs_dir, shown_ks
from hume.search.base import SeedSearch
from hume.search.k_choice import Candidate, consensus_kind, measure, ranked
from hume.search.methods import get_method
from hume.search.pipeline import (
    WAIT_FOR_RANKS,
    SearchRequest,
    check_request,
    resume_search,
    run_search,
)
from hume.search.sweep import SWEEP_SEEDS
from hume.search.view_loading import LoadedViews, load_views, plan_splits
from hume.search.vocabulary import KScan
from hume.store import resolve_dataset

CHOICE_FILE = CHOICE
#: the request a choice was started with: the same command again continues it
REQUEST_FILE = "request.json"
#: the folder of a choice's screens (one .npz per candidate)
SCREENS = "screens"
#: What a chosen run holds (copied from the candidate chosen).
RUN_FILES = ("seeds.npz", "ensemble.npz", "encoders.pt")
#: a screen's seeds (at most the run's) and its share of the run's iterations
SCREEN_SEEDS = 6
SCREEN_SHARE = 0.2
#: candidates (using all their K classes) searched in full after the screens, at least; then
#: every one that could still win, by its screen criterion plus the largest rise seen plus MARGIN
FINALISTS = 2
MARGIN = 0.02
#: the margin with ``--class-sizes uneven``, whose full runs may choose another weight than the
#: best one a screen kept, so that the rise from screen to full varies far more between K
MARGIN_UNEVEN = 0.1


@dataclass(frozen=True)
class Planned:
    """One candidate of a choice: its K, its order of the views and the run it becomes."""

    run: str
    k: int
    order: tuple[str, ...]
    index: int  # the order's position among the orders tried

    def setting(self) -> dict[str, Any]:
        return {"k": self.k, "run": self.run, "phi1": self.order[0], "order": self.index}


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
    scan: KScan | str = KScan.fast,
) -> Path:
    """Search every K of ``ks`` (None: the dataset's K; with ``phi1_auto`` every view as φ1),
    screened first unless ``scan`` is exhaustive, choose by the mean of consensus stability and
    stability, write the chosen candidate as the run ``req.run``; its path."""
    scan = KScan(scan)
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
    cfg, _ = check_request(req)
    views = [check_name("view", canonical_model(v)) for v in req.views]
    dataset = resolve_dataset(req.root, views, req.dataset)
    base = req.run or default_run_name(cls.method, dataset)
    check_name("run", base)
    base_dir = runs_dir(req.root) / base
    if (base_dir / CHOICE_FILE).is_file() and load_config(base_dir).get("status") == "complete":
        if ks is not None:  # (without ks the dataset's K, known only once its views are read)
            _claim(base_dir, _request(req, dataset, views, ks, phi1_auto, scan))
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
        plan = [
            Planned(candidate_name(base, k, order[0] if phi1_auto else None), k, tuple(order), i)
            for i, order in enumerate(orders)
            for k in ks
        ]
        asked = _request(req, dataset, views, ks, phi1_auto, scan)
        dist_.on_main(ranks, lambda: _claim(base_dir, asked))
        fast = scan is KScan.fast and len(plan) > FINALISTS
        screen_cfg = _screen_config(cfg)
        full_units = _units(cfg, req.seeds, req)
        screen_units = _units(screen_cfg, min(req.seeds, SCREEN_SEEDS), req, screen=True)
        total = (
            (len(plan) * screen_units + FINALISTS * full_units) if fast else len(plan) * full_units
        )
        what = f"choosing K among {shown_ks(ks)}" + (" and φ1" if phi1_auto else "")
        with _CountedTask(reporter.task(what, total=total, unit="seed-it"), total) as task:
            screens: dict[str, Candidate] = {}
            if fast:
                screens = _screen_all(
                    req, cls, screen_cfg, plan, inputs, base_dir, dev, ranks, task, screen_units
                )
            full: dict[str, Candidate] = {}
            by_run = {p.run: p for p in plan}
            queue = [by_run[c.setting["run"]] for c in ranked(list(screens.values()))]
            for p in queue if fast else plan:
                margin = MARGIN_UNEVEN if req.class_sizes == "uneven" else MARGIN
                if fast and not could_win(screens[p.run], screens, full, margin):
                    continue
                start = task.completed
                if start + full_units > task.total:  # one more than the finalists planned
                    task.update(total=start + full_units)
                task.advance(0, at=f"{_label(p, phi1_auto)} in full")
                nested = _Nested(reporter, task, start, full_units)
                path = _search(req, p, base, nested, cache, f"{_label(p, phi1_auto)} in full")
                task.update(completed=start + full_units)
                cand = _signals(path, inputs[p.order], cls.predicts_from_all_views)
                cand.setting.update(p.setting())
                full[p.run] = cand
                if ranks.is_main:
                    _log_candidate(cand, "")
        if fast and ranks.is_main:
            logger.info(
                "searched %d of %d candidates in full; by their screens the others could not win",
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
            _write_choice(base_dir, chosen, plan, full, screens, screen_cfg if fast else None, req)
            logger.info("chosen: %s; run %s is %s", _describe(chosen), base, chosen.setting["run"])
        dist_.barrier(ranks)
        return base_dir
    except Interrupted:
        raise Interrupted(
            "run the same command again to continue (finished candidates are kept)"
        ) from None
    finally:
        dist_.stop(joined)


def could_win(
    screened: Candidate,
    screens: dict[str, Candidate],
    full: dict[str, Candidate],
    margin: float = MARGIN,
) -> bool:
    """Whether a screened candidate must be searched in full: until :data:`FINALISTS` candidates
    searched in full use all their K classes, always; then when its screen criterion, raised by
    the largest rise from screen to full criterion seen so far plus ``margin``, reaches the best
    full criterion (docs/algorithm.md §10.6)."""
    if sum(c.complete for c in full.values()) < FINALISTS:
        return True
    best = ranked(list(full.values()))[0]
    rise = max(c.criterion - screens[run].criterion for run, c in full.items())
    return screened.criterion + rise + margin >= best.criterion


def _label(p: Planned, phi1_auto: bool) -> str:
    return f"K={p.k}" + (f" φ1 {p.order[0]}" if phi1_auto else "")


def _log_candidate(cand: Candidate, stage: str) -> None:
    k = cand.setting["k"]
    scores = (
        f", score {cand.score:.3f}, balanced score {cand.balanced:.3f}"
        if cand.score is not None and cand.balanced is not None
        else ""
    )
    logger.info(
        "%sK=%d, φ1 %s%s: criterion %.3f (consensus stability %.3f, stability %.3f)%s%s",
        stage,
        k,
        cand.setting["phi1"],
        "" if stage else f" (run {cand.setting['run']})",
        cand.criterion,
        cand.consensus if cand.consensus is not None else cand.stability,
        cand.stability,
        scores,
        "" if cand.complete else f" (uses {cand.used_classes} classes: not a {k}-class labeling)",
    )


def _request(
    req: SearchRequest,
    dataset: str,
    views: list[str],
    ks: list[int],
    phi1_auto: bool,
    scan: KScan,
) -> dict[str, Any]:
    """What defines a choice: asked again with other values, it is refused."""
    return {
        "method": req.method,
        "dataset": dataset,
        "views": views,
        "k": ks,
        "phi1": "auto" if phi1_auto else "first",
        "seeds": req.seeds,
        "setting": req.setting,
        "preset": req.preset or "default",
        "options": req.options.given(),
        "sweep": req.sweep,
        "class_sizes": req.class_sizes,
        "random_state": req.random_state,
        "single_view": req.single_view,
        "group_size": req.group_size,
        "scan": scan.value,
    }


def _claim(base_dir: Path, asked: dict[str, Any]) -> None:
    """Start the choice of ``base_dir``, or continue it when it was asked for the same; refuse a
    run of that name that is no choice, or a choice asked with other settings."""
    if (base_dir / CONFIG).is_file() and not (base_dir / CHOICE_FILE).is_file():
        raise HumeError(
            f"run {base_dir.name!r} already exists and is no choice among candidates: choose "
            "another --run name"
        )
    path = base_dir / REQUEST_FILE
    finished = (base_dir / CONFIG).is_file()
    if path.is_file():
        have = json.loads(json.dumps(read_json(path)))
        mine = json.loads(json.dumps(asked))
        for key in mine:
            if have.get(key) != mine[key]:
                then = (
                    "choose another --run name for a new choice"
                    if finished
                    else "run it again as it was started to finish it, or choose another --run name"
                )
                was, now = have.get(key), mine[key]
                if key == "k" and isinstance(was, list):
                    was, now = shown_ks(was), shown_ks(now)
                raise HumeError(
                    f"run {base_dir.name!r} was {'chosen' if finished else 'started'} with other "
                    f"settings ({key}: {was!r}, asked {now!r}): {then}"
                )
        return
    if not finished:  # a choice finished by an earlier version is taken as it is
        write_json(path, asked)


def _screen_config(cfg: Any) -> Any:
    """A screen's settings: the run's, with :data:`SCREEN_SHARE` of its iterations."""
    return replace(cfg, iters=max(1, round(cfg.iters * SCREEN_SHARE)))


def _units(cfg: Any, seeds: int, req: SearchRequest, screen: bool = False) -> int:
    """Seed-iterations of one candidate's search (its seeds, and the trial seeds of the grid it
    sweeps first) or of its screen (every weight of ``--class-sizes uneven``): the unit of the
    choice's progress."""
    points = len(cfg.class_size_points()) if req.class_sizes == "uneven" else 0
    if screen:
        return seeds * int(cfg.iters) * max(points, 1)
    trials = points or (len(cfg.sweep_points()) if req.sweep else 0)
    return (seeds + trials * SWEEP_SEEDS) * int(cfg.iters)


class _CountedTask(Task):
    """A task that remembers its completed units (the choice hands parts of it to the searches)."""

    def __init__(self, inner: Task, total: int):
        self.inner, self.completed, self.total = inner, 0, total

    def advance(self, n: int = 1, **fields: Any) -> None:
        self.completed += n
        self.inner.advance(n, **fields)

    def update(self, completed: int | None = None, total: int | None = None, **fields: Any) -> None:
        if completed is not None:
            self.completed = completed
        if total is not None:
            self.total = total
        self.inner.update(completed, total, **fields)

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> _CountedTask:
        return self


class _Nested(Reporter):
    """The reporter a candidate's search gets: its own bars as usual, and its progress carried
    into the choice's task (``units`` from ``start``), which then shows the time left."""

    def __init__(self, reporter: Reporter, outer: _CountedTask, start: int, units: int):
        self.reporter, self.outer, self.start, self.units = reporter, outer, start, units

    def task(
        self, description: str, total: int | None = None, unit: str = "", **fields: Any
    ) -> Task:
        inner = self.reporter.task(description, total, unit, **fields)
        nested = self

        class Carried(Task):
            def advance(self, n: int = 1, **f: Any) -> None:
                inner.advance(n, **f)

            def update(
                self, completed: int | None = None, total: int | None = None, **f: Any
            ) -> None:
                inner.update(completed, total, **f)
                if description == "search" and completed is not None and total:
                    share = min(1.0, completed / total)
                    nested.outer.update(completed=nested.start + int(share * nested.units))

            def close(self) -> None:
                inner.close()

        return Carried()


def _screen_all(
    req: SearchRequest,
    cls: type[SeedSearch],
    cfg: Any,
    plan: list[Planned],
    inputs: dict[tuple[str, ...], list[torch.Tensor]],
    base_dir: Path,
    dev: torch.device,
    ranks: Ranks,
    task: _CountedTask,
    units: int,
) -> dict[str, Candidate]:
    """Every candidate's screen (kept in ``<base>/screens/``, reused when there), shared over the
    ranks; their signals by run name, on every rank."""
    folder = base_dir / SCREENS
    seeds = min(req.seeds, SCREEN_SEEDS)
    mine: list[dict[str, Any]] = []
    for p in ranks.share(plan):
        path = folder / f"{p.run}.npz"
        kept = read_screen(path)
        if kept is None or (kept["k"], tuple(kept["order"]), kept["seeds"], kept["iters"]) != (
            p.k,
            p.order,
            seeds,
            int(cfg.iters),
        ):
            task.advance(0, at=f"screening {_label(p, len({q.index for q in plan}) > 1)}")
            start = task.completed

            def progress(
                done: int, total: int, objective: float, entropy: float, _start: int = start
            ) -> None:
                task.update(completed=_start + int(units * done / max(total, 1)))

            kept = screen(req, cls, cfg, p, inputs[p.order], dev, seeds, progress)
            save_screen(path, kept)
            task.update(completed=start + units)
        mine.append(_screen_meta(kept))
    out: dict[str, Candidate] = {}
    for part in dist_.gather(ranks, mine):
        for meta in part:
            p = next(q for q in plan if q.run == meta["run"])
            cand = Candidate(
                {"k": p.k, "entropy_weight": meta["entropy_weight"]},
                meta["stability"],
                None,
                None,
                tuple(meta["class_sizes"]),
                meta["consensus_stability"],
            )
            cand.setting.update(p.setting())
            out[p.run] = cand
    if ranks.is_main:
        for p in plan:
            _log_candidate(out[p.run], "screen ")
    task.update(completed=len(plan) * units)
    return out


def screen(
    req: SearchRequest,
    cls: type[SeedSearch],
    cfg: Any,
    p: Planned,
    views: list[torch.Tensor],
    dev: torch.device,
    seeds: int,
    progress: Callable[[int, int, float, float], None] | None = None,
) -> dict[str, Any]:
    """One candidate's screen: ``seeds`` seeds searched with ``cfg``, their labelings, the
    consensus of them and its signals; no label-free score is computed, nothing is written.

    With ``--class-sizes uneven`` every weight the run would try is screened and the best kept
    (by :func:`ranked`): an optimistic screen, since trials this short choose another weight
    than the run's full ones, and a K must not be passed over for that (docs/algorithm.md
    §10.6)."""
    from hume.search.consensus import consensus

    started = time.perf_counter()
    points = cfg.class_size_points() if req.class_sizes == "uneven" else [({}, cfg)]
    tried = []
    for i, (_, point) in enumerate(points):

        def part(done: int, total: int, objective: float, entropy: float, _i: int = i) -> None:
            if progress is not None:
                progress(_i * total + done, len(points) * total, objective, entropy)

        model = cls(
            p.k,
            n_seeds=seeds,
            config=point,
            device=str(dev),
            precision=req.precision,
            random_state=req.random_state,
            **({"allow_single_view": True} if req.single_view else {}),
        )
        labelings = model.search_labelings(views, view_names=list(p.order), progress=part)
        kind = consensus_kind(point.ensemble)
        labels = consensus(torch.as_tensor(labelings), p.k, kind, req.random_state).numpy()
        signals = measure({"k": p.k, "point": i}, labelings, None, None, labels, point.ensemble)
        tried.append((signals, labelings, labels, point))
    best = ranked([t[0] for t in tried])[0]
    signals, labelings, labels, point = tried[best.setting["point"]]
    return {
        "run": p.run,
        "k": p.k,
        "order": list(p.order),
        "seeds": seeds,
        "iters": int(cfg.iters),
        "ensemble": point.ensemble,
        "entropy_weight": float(point.entropy_weight),
        **(
            {"weights": {f"{t[3].entropy_weight:g}": round(t[0].criterion, 6) for t in tried}}
            if len(tried) > 1
            else {}
        ),
        "stability": signals.stability,
        "consensus_stability": signals.consensus,
        "class_sizes": list(signals.sizes),
        "seconds": round(time.perf_counter() - started, 2),
        "seed_labels": labelings,
        "labels": labels.astype(np.int64),
    }


def save_screen(path: Path, kept: dict[str, Any]) -> None:
    """A screen's labelings and what it was, in one .npz."""
    save_npz(
        path,
        {
            "seed_labels": kept["seed_labels"],
            "labels": kept["labels"],
            "meta": np.asarray(json.dumps(_screen_meta(kept))),
        },
    )


def read_screen(path: Path) -> dict[str, Any] | None:
    """A screen written by :func:`save_screen`, or None when there is none (or it is unreadable:
    it is screened again)."""
    try:
        with np.load(path) as z:
            meta = json.loads(str(z["meta"]))
            kept = {**meta, "seed_labels": z["seed_labels"], "labels": z["labels"]}
    except (OSError, ValueError, KeyError):
        return None
    needed = ("run", "k", "order", "seeds", "iters", "stability", "consensus_stability")
    return kept if all(key in kept for key in needed) else None


def _screen_meta(kept: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in kept.items() if key not in ("seed_labels", "labels")}


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


def _write_choice(
    base_dir: Path,
    chosen: Candidate,
    plan: list[Planned],
    full: dict[str, Candidate],
    screens: dict[str, Candidate],
    screen_cfg: Any,
    req: SearchRequest,
) -> None:
    """``base_dir``: the chosen candidate's run, and choice.json (every candidate)."""
    source = base_dir.parent / chosen.setting["run"]
    base_dir.mkdir(parents=True, exist_ok=True)
    for name in RUN_FILES:
        tmp = base_dir / f".{name}.copy"
        shutil.copyfile(source / name, tmp)
        tmp.replace(base_dir / name)
    rows = []
    for p in plan:
        row: dict[str, Any] = {**p.setting(), "searched": "full" if p.run in full else "screen"}
        if p.run in full:
            row.update(full[p.run].as_dict())
        if p.run in screens:
            row["screen"] = {
                key: value
                for key, value in screens[p.run].as_dict().items()
                if key not in ("k", "run", "phi1", "order")
            }
        rows.append(row)
    choice = {
        "criterion": "mean of consensus stability and stability",
        "scan": "fast" if screens else "exhaustive",
        **(
            {
                "screen": {
                    "seeds": min(req.seeds, SCREEN_SEEDS),
                    "iters": int(screen_cfg.iters),
                    "searched_in_full": len(full),
                }
            }
            if screens
            else {}
        ),
        "chosen": chosen.setting["run"],
        "k": chosen.setting["k"],
        "phi1": chosen.setting["phi1"],
        "candidates": rows,
    }
    write_json(base_dir / CHOICE_FILE, choice)
    config = read_json(source / CONFIG)
    config.pop("candidate_of", None)
    config["choice"] = {key: choice[key] for key in ("criterion", "scan", "chosen", "k", "phi1")}
    config["finished"] = datetime.now(UTC).isoformat()  # the run the last search produced
    write_json(base_dir / CONFIG, config)  # last: the run is complete once this is written


def _summary(base_dir: Path) -> str:
    choice = read_json(base_dir / CHOICE_FILE)
    return f"K={choice['k']}, φ1 {choice['phi1']}, from {choice['chosen']}"
