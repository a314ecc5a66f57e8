"""A search request → a run directory: resolve the stores, fit the method, write the run.

:func:`run_search` starts a run, :func:`resume_search` continues an interrupted one (a complete
run is a no-op); both write ``<root>/runs/<name>/`` as docs/data.md §3 describes, holding the
run's lock, so two searches never write one run. Labels are never read. Messages go to the
``hume`` logger, progress to the caller's :class:`~hume.core.reporting.Reporter`; Ctrl-C leaves a
resumable state and raises :class:`~hume.core.errors.Interrupted` saying how to continue; a full disk
or a read-only root raises one :class:`~hume.core.errors.HumeError`, the run staying resumable.

The unit of work is one run (one K). Its seeds run in groups fixed when the run starts
(``group_size`` in config.json); every finished seed and every group in flight has a file of its
own (:mod:`hume.search.seed_files`). Under torchrun every rank calls the same function: the ranks
share the unfinished groups, each writing its own groups' files, and rank 0, which holds the
run's lock, scores all seeds together, selects, ensembles and writes the run. With a seed range
(``--seed-range``, :mod:`hume.search.shards`) a process searches only those seeds into the run.
"""

from __future__ import annotations

import contextlib
import inspect
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import torch

import hume
from hume.core import distributed as dist_
from hume.core.devices import check_precision, resolve_device
from hume.core.disk_errors import disk_errors
from hume.core.distributed import Ranks
from hume.core.errors import HumeError, Interrupted
from hume.core.faults import fault_point, maybe_fault
from hume.core.files import remove_partial_writes, save_npz, save_torch, write_json
from hume.core.locks import ExclusiveLock
from hume.core.names import canonical_model, check_name
from hume.core.reporting import SILENT, Reporter, logger
from hume.runs import (
    default_run_name,
    load_config,
    new_run_dir,
    resolve_run,
    run_lock,
    runs_dir,
)
from hume.search.base import SeedSearch
from hume.search.methods import get_method
from hume.search.seed_files import SeedFiles, seed_ranges
from hume.search.seeds import seed_groups
from hume.search.selection import vote
from hume.search.settings import SearchOptions
from hume.search.shards import Shards, check_seed_range, parse_seed_range, shown
from hume.search.sweep import sweep
from hume.search.view_loading import LoadedViews, load_views, plan_splits
from hume.store import resolve_dataset

#: Test hook (never set by users; :mod:`hume.core.faults`): ``kill:K`` SIGKILLs the search once its
#: K-th checkpoint is saved, ``pause:K`` sleeps there until a signal arrives. While it is set the
#: state is saved after every outer iteration (not every 60 s), so kills land at known points.
FAULT_ENV = "HUME_SEARCH_FAULT"
#: With several ranks, the hook applies on this rank only (unset: on every rank).
FAULT_RANK_ENV = "HUME_SEARCH_FAULT_RANK"
_NAME_THE_RUN = (
    "--seed-range needs --run NAME: every shard of a run must name the same run "
    "(e.g. --run my-run --seed-range 0:10)"
)
#: How long a rank may wait for the others at one collective: the last one waits until the
#: slowest rank has searched its groups.
WAIT_FOR_RANKS = timedelta(days=7)


@dataclass
class SearchRequest:
    """What ``hume search`` asks for (a new run)."""

    views: list[str]
    dataset: str | None = None
    k: int | None = None
    seeds: int = 10
    setting: str = "transductive"
    options: SearchOptions = field(default_factory=SearchOptions)
    preset: str | None = None
    sweep: bool = False
    method: str = "hume"
    device: str = "auto"
    precision: str = "fp32"
    run: str | None = None
    root: str | None = None
    random_state: int = 0
    single_view: bool = False
    group_size: int | None = None  # seeds per group; None: as many as fit, shared over ranks
    seed_range: str | None = None  # "A:B": search only seeds A … B−1 into the run
    class_sizes: str = "uniform"  # "uneven": the entropy weight chosen by the balanced score
    candidate_of: str | None = None  # the run this one is a candidate for (a K range)


def _estimator(
    cls: type[SeedSearch], config: dict[str, Any], cfg: Any, device: torch.device
) -> SeedSearch:
    """The method's estimator for a run's configuration (parameters it lacks are left out) on
    this process's ``device``."""
    params = {
        "n_classes": int(config["k"]),
        "n_seeds": int(config["n_seeds"]),
        "config": cfg,
        "device": str(device),
        "precision": config.get("precision", "fp32"),
        "random_state": int(config["hyperparameters"].get("random_state", 0)),
        "allow_single_view": bool(config.get("single_view")),
    }
    accepted = inspect.signature(cls).parameters
    return cls(**{key: value for key, value in params.items() if key in accepted})


def _device_name(device: torch.device, ranks: Ranks) -> str:
    """The device a run records: each rank's own GPU is ``cuda`` (rank r uses its local GPU)."""
    return device.type if ranks.distributed and device.type == "cuda" else str(device)


def _identity(config: dict[str, Any]) -> dict[str, Any]:
    """What defines a run's search: two processes working on one run must agree on all of it.

    Leaves out what differs between processes without changing the search (times, devices, the
    stores' paths) and, for a swept run, the settings its sweep chose."""
    same = (
        "method dataset views setting k n_seeds search_splits predict_splits precision "
        "single_view group_size".split()
    )
    out = {key: config.get(key) for key in same}
    hyper = dict(config["hyperparameters"])
    hyper.pop("inner_lr_resolved", None)
    grid = _grid(hyper)
    if grid is not None:
        cfg = get_method(config["method"]).config_class.from_dict(config["hyperparameters"])
        chosen = {key for settings, _ in _grid_points(cfg, grid) for key in settings}
        for key in chosen | ({"inner_lr"} if grid == "settings" else set()):
            hyper.pop(key, None)
    out["hyperparameters"] = hyper
    out["stores"] = {
        key: (entry.get("n_rows"), entry.get("store_id")) for key, entry in config["stores"].items()
    }
    return out


def _grid(hyperparameters: dict[str, Any]) -> str | None:
    """The grid a run sweeps before its search: ``settings`` (--sweep), ``class_sizes``
    (--class-sizes uneven) or None."""
    if hyperparameters.get("sweep"):
        return "settings"
    if hyperparameters.get("class_sizes") == "uneven":
        return "class_sizes"
    return None


def _grid_points(cfg: Any, grid: str) -> list[tuple[dict[str, Any], Any]]:
    return cfg.class_size_points() if grid == "class_sizes" else cfg.sweep_points()


def check_request(req: SearchRequest) -> tuple[Any, range]:
    """Refuse a request that no data could make right (one line naming the option); its
    method's settings and the seeds this process searches."""
    cls = get_method(req.method)
    if not req.views:
        raise HumeError(
            "--views is empty: give φ1 and at least one φ2 view, e.g. --views clip,dinov2"
        )
    if req.seeds < 1:
        raise HumeError(f"--seeds must be ≥ 1, got {req.seeds}")
    if req.k is not None and req.k < 2:
        raise HumeError(f"--k must be at least 2, got {req.k}")
    if req.group_size is not None and req.group_size < 1:
        raise HumeError(f"--group-size must be ≥ 1, got {req.group_size}")
    seeds = range(req.seeds)
    if req.seed_range is not None and req.run is None:
        raise HumeError(_NAME_THE_RUN)
    if req.seed_range is not None:
        seeds = parse_seed_range(req.seed_range)
        check_seed_range(seeds, req.seeds, req.group_size or 1)
    check_precision(req.precision)
    cfg = cls.config_class.from_options(req.preset, req.options)
    if req.sweep and req.preset == "paper":
        raise HumeError(
            "--sweep and --preset paper exclude each other: the paper fixes every setting"
        )
    if req.sweep and not cfg.sweep_points():
        raise HumeError(
            f"--sweep applies to --method hume only (--method {cls.method} has no "
            "sweep grid): drop --sweep"
        )
    if req.class_sizes not in ("uniform", "uneven"):
        raise HumeError(f"unknown --class-sizes {req.class_sizes!r}: use uniform or uneven")
    if req.class_sizes == "uneven" and req.sweep:
        raise HumeError("--sweep and --class-sizes uneven sweep different grids: give one of them")
    if req.class_sizes == "uneven" and req.options.entropy_weight is not None:
        raise HumeError(
            "--class-sizes uneven chooses the entropy weight itself: drop --entropy-weight"
        )
    if req.run is not None:
        check_name("run", req.run)  # an empty or unsafe name is refused before any work
    return cfg, seeds


def run_search(
    req: SearchRequest,
    reporter: Reporter = SILENT,
    cache: dict[Any, Any] | None = None,
) -> Path:
    """Start a run: check everything, create ``<root>/runs/<name>``, search, write; its path.

    Under torchrun (``WORLD_SIZE`` > 1) every rank calls this with the same request; ranks that
    were given different requests are refused, on every rank. With ``req.seed_range`` this
    process searches only those seeds into the run, creating the run or joining it, and writes
    no selection (:mod:`hume.search.shards`). A caller running several searches under torchrun
    (e.g. one per K) may join the process group once around them (:func:`hume.core.distributed.start`)
    and pass one ``cache`` to every call, so that the stores are read once
    (:func:`hume.search.view_loading.load_views`).
    """
    ranks = dist_.ranks_from_env()
    cls = get_method(req.method)
    cfg, seeds = check_request(req)
    views = [check_name("view", canonical_model(v)) for v in req.views]
    dataset = resolve_dataset(req.root, views, req.dataset)
    search_splits, predict_splits = plan_splits(
        req.root, dataset, views, req.setting, predict_all_views=cls.predicts_from_all_views
    )
    dev = resolve_device(req.device, ranks.local_rank if ranks.distributed else None)
    if req.precision == "tf32" and dev.type != "cuda" and ranks.is_main:
        logger.info(
            "note: --precision tf32 applies to CUDA GPUs; on the CPU the search runs in fp32"
        )
    joined = dist_.start(ranks, dev.type, backend="gloo", timeout=WAIT_FOR_RANKS)
    try:
        loaded = load_views(
            req.root,
            dataset,
            views,
            search_splits,
            predict_splits,
            dev,
            predict_all_views=cls.predicts_from_all_views,
            cache=cache,
        )
        k = req.k if req.k is not None else loaded.num_classes
        if k is None:
            raise HumeError(
                f"the number of classes of {dataset!r} is unknown (no num_classes in its "
                "stores): pass --k"
            )
        config: dict[str, Any] = {
            "method": cls.method,
            "dataset": dataset,
            "views": views,
            "setting": req.setting,
            "k": int(k),
            "n_seeds": req.seeds,
            "hyperparameters": {
                **cfg.to_dict(),
                "random_state": req.random_state,
                "preset": req.preset or "default",
                "sweep": req.sweep,
                "class_sizes": req.class_sizes,
            },
            "search_splits": search_splits,
            "predict_splits": predict_splits,
            "stores": loaded.stores,
            "status": "running",
            "device": _device_name(dev, ranks),
            "precision": req.precision,
            "single_view": req.single_view,
            "group_size": req.group_size,
            "world_size": ranks.world_size,
            "created": datetime.now(UTC).isoformat(),
            "hume_version": hume.__version__,
            **({"candidate_of": req.candidate_of} if req.candidate_of else {}),
        }
        model = _estimator(cls, config, cfg, dev)
        model.check_inputs(loaded.search, view_names=views)  # before the run directory exists
        name = req.run
        if name is None:  # rank 0's clock names the run
            name = dist_.on_main(ranks, lambda: default_run_name(cls.method, dataset))
        asked = {"run": name, "seed_range": req.seed_range, **_identity(config)}
        dist_.agree(ranks, asked, "the search")
        run_dir = runs_dir(req.root) / name
        lock = run_lock(req.root, name)
        try:
            if req.seed_range is not None:
                config = dist_.on_main(ranks, lambda: _join(lock, req.root, name, config, seeds))
            else:
                config = dist_.on_main(ranks, lambda: _create(lock, req.root, name, config))
            if config.get("status") == "complete":
                return run_dir
            # a shard that joined searches with the run's settings (a sweep may have chosen them)
            model.set_params(config=cls.config_class.from_dict(config["hyperparameters"]))
            shard = req.seed_range is not None
            return _search_into(run_dir, config, loaded, model, ranks, seeds, shard, lock, reporter)
        finally:
            lock.release()  # held on rank 0 only
    finally:
        dist_.stop(joined)


def _create(
    lock: ExclusiveLock, root: str | None, name: str, config: dict[str, Any]
) -> dict[str, Any]:
    """Take the run's lock (before the run can exist), create the run and its config.json."""
    with disk_errors("starting", runs_dir(root) / name, then="run the same command again"):
        lock.acquire()
        write_json(new_run_dir(root, name) / "config.json", config)
    return config


def _join(
    lock: ExclusiveLock, root: str | None, name: str, config: dict[str, Any], seeds: range
) -> dict[str, Any]:
    """A shard's turn at the run's lock (it waits for it): create the run with ``config``, or
    join it when it exists and was asked for the same search; the run's config."""
    run_dir = runs_dir(root) / name
    if lock.held_by_another():
        logger.info("waiting for run %s: another process holds it", name)
    with disk_errors("starting", run_dir, then="run the same command again"):
        lock.acquire(wait=True)
        if not (run_dir / "config.json").is_file():
            write_json(new_run_dir(root, name) / "config.json", config)
            return config
    have = load_config(run_dir)
    if have.get("status") == "complete":
        logger.info("nothing to do: run %s is already complete", run_dir.name)
        return have
    _import_earlier_state(run_dir, have)
    mine = _identity({**config, "group_size": config["group_size"] or have.get("group_size")})
    theirs = _identity(have)
    for key in mine:
        if mine[key] != theirs.get(key):
            raise HumeError(
                f"run {run_dir.name!r} exists with other settings ({key}: {theirs.get(key)!r}, "
                f"asked {mine[key]!r}): give every shard of a run the same options, or join it "
                f"with `hume search --resume --run {run_dir.name} --seed-range A:B`"
            )
    check_seed_range(seeds, int(have["n_seeds"]), int(have.get("group_size") or 1))
    return have


def _import_earlier_state(run_dir: Path, config: dict[str, Any]) -> None:
    """Read the ``state.pt`` of a run of an earlier version into seed files, once, keeping the
    grouping it started with (the caller holds the run's lock)."""
    then = f"continue with `hume search --resume --run {run_dir.name}`"
    with disk_errors("resuming", run_dir, then=then):
        size = SeedFiles(run_dir).import_state(run_dir)
        if config.get("group_size") is None and size is not None:
            config["group_size"] = size
            write_json(run_dir / "config.json", config)


def resume_search(
    root: str | None = None,
    run: str | None = None,
    device: str | None = None,
    precision: str | None = None,
    reporter: Reporter = SILENT,
    seed_range: str | None = None,
) -> Path:
    """Continue the run ``run`` (default: the newest) from its saved seeds; its path.

    ``device`` and ``precision`` (None: the run's own) apply from here on and are recorded.
    Under torchrun the ranks share the unfinished seed groups, whatever number of ranks the run
    had before. ``seed_range`` (``"A:B"``) joins the run as a shard searching only those
    seeds. A run whose seeds were searched by shards is only selected and ensembled here, once
    every seed is in (else the missing seeds are named).
    """
    ranks = dist_.ranks_from_env()
    seeds = parse_seed_range(seed_range) if seed_range is not None else None
    if seeds is not None and run is None:
        raise HumeError(_NAME_THE_RUN)
    run_dir = resolve_run(root, run)
    config = load_config(run_dir)
    if config.get("status") == "complete":
        if ranks.is_main:
            logger.info(
                "nothing to do: run %s is already complete (start a new run to search again)",
                run_dir.name,
            )
        return run_dir
    dev = resolve_device(
        device or config.get("device", "auto"), ranks.local_rank if ranks.distributed else None
    )
    joined = dist_.start(ranks, dev.type, backend="gloo", timeout=WAIT_FOR_RANKS)
    lock = run_lock(root, run_dir.name)
    try:
        asked = {"run": run_dir.name, "device": device, "precision": precision}
        dist_.agree(ranks, {**asked, "seed_range": seed_range}, "the run to resume")
        config = dist_.on_main(ranks, lambda: _take_run(lock, run_dir, seeds))
        if config.get("status") == "complete":
            return run_dir
        cls = get_method(config["method"])
        loaded = load_views(
            root,
            config["dataset"],
            config["views"],
            config["search_splits"],
            config["predict_splits"],
            dev,
            predict_all_views=cls.predicts_from_all_views,
        )
        for key, entry in loaded.stores.items():
            was = config["stores"].get(key, {})
            if was.get("store_id") and was.get("store_id") != entry.get("store_id"):
                raise HumeError(
                    f"store {key} changed since the run started (different store_id): start a "
                    "new run"
                )
        if seeds is None:  # a shard leaves the run's device and precision as they are
            config["device"] = _device_name(dev, ranks)
            if precision is not None:  # like --device, --precision applies from here on
                config["precision"] = check_precision(precision)
            config["world_size"] = ranks.world_size
        cfg = cls.config_class.from_dict(config["hyperparameters"])
        model = _estimator(cls, config, cfg, dev)
        every = seeds if seeds is not None else range(int(config["n_seeds"]))
        shard = seeds is not None
        return _search_into(run_dir, config, loaded, model, ranks, every, shard, lock, reporter)
    finally:
        lock.release()  # held on rank 0 only
        dist_.stop(joined)


def _take_run(lock: ExclusiveLock, run_dir: Path, seeds: range | None) -> dict[str, Any]:
    """Rank 0's part of a resume: the run's lock (a shard waits for it), its config read again
    under the lock, and the run tidied for the search: a state of an earlier version imported,
    and for a run of shards, every shard done and every seed in."""
    if seeds is not None:
        if lock.held_by_another():
            logger.info("waiting for run %s: another process holds it", run_dir.name)
        lock.acquire(wait=True)
    else:
        lock.acquire()
    config = load_config(run_dir)
    if config.get("status") == "complete":
        logger.info("nothing to do: run %s was completed meanwhile", run_dir.name)
        return config
    _import_earlier_state(run_dir, config)
    if seeds is not None:  # other shards may be writing: the run is tidied by its last step
        check_seed_range(seeds, int(config["n_seeds"]), int(config.get("group_size") or 1))
        return config
    shards = Shards(run_dir)
    running = shards.running()
    if running:
        raise HumeError(
            f"shards {', '.join(shown(r) for r in running)} of run {run_dir.name!r} are still "
            "searching: run this again once they are done"
        )
    with contextlib.suppress(OSError):  # leftovers of writers that were killed
        remove_partial_writes(run_dir)
    missing = set(range(int(config["n_seeds"]))) - SeedFiles(run_dir).finished()
    if shards.recorded() and missing:
        raise HumeError(
            f"run {run_dir.name!r} is missing seeds {seed_ranges(missing)} of its "
            f"{config['n_seeds']}: search them with `hume search --resume --run {run_dir.name} "
            "--seed-range A:B` (their shards again), then run this again"
        )
    return config


def _run_sweep(
    run_dir: Path,
    config: dict[str, Any],
    loaded: LoadedViews,
    model: SeedSearch,
    ranks: Ranks,
    grid: str = "settings",
) -> None:
    """Sweep the grid (the ranks share its points), keep the best point in the model and the
    run's config (rank 0 writes it after every trial)."""
    judged = {"mean_score": "label-free score", "balanced_score": "balanced label-free score"}

    def on_trial(trial: dict[str, Any]) -> None:
        config.setdefault("sweep", []).append(trial)
        if ranks.is_main:
            shown = ", ".join(
                f"{key} {val:g}" if isinstance(val, (int, float)) else f"{key} {val}"
                for key, val in trial.items()
                if key not in ("mean_score", "scores", "balanced_score", "stability")
            )
            score = "balanced_score" if grid == "class_sizes" else "mean_score"
            logger.info(
                f"{'class sizes' if grid == 'class_sizes' else 'sweep'}: {shown}: "
                f"{judged[score]} {trial[score]:.4f}"
            )
            write_json(run_dir / "config.json", config)

    config["sweep"] = []
    cfg, _ = sweep(
        model, loaded.search, view_names=config["views"], on_trial=on_trial, ranks=ranks, grid=grid
    )
    model.set_params(config=cfg)
    config["hyperparameters"].update(cfg.to_dict())
    config["sweep_done"] = True
    if ranks.is_main:
        write_json(run_dir / "config.json", config)


def _choose_group_size(
    config: dict[str, Any], seeds: range, fits: list[int], ranks: Ranks, shard: bool
) -> int:
    """The run's seeds per group, fixed once: as many as fit on every rank's device, at most an
    even share of ``seeds`` per rank, and for a shard, a size its own range does not cut."""
    if config.get("group_size") is not None:
        return int(config["group_size"])
    n = int(config["n_seeds"])
    size = max(1, min(min(fits), -(-len(seeds) // ranks.world_size)))
    while shard and size > 1 and (seeds.start % size or (seeds.stop % size and seeds.stop != n)):
        size -= 1
    return size


def _fault_hook(ranks: Ranks) -> tuple[Any, Any]:
    """(the fault of ``HUME_SEARCH_FAULT`` on this rank or None, the hook to call per save)."""
    only = os.environ.get(FAULT_RANK_ENV)
    fault = fault_point(FAULT_ENV) if only in (None, "", str(ranks.rank)) else None
    saved = 0

    def after_checkpoint() -> None:
        nonlocal saved
        saved += 1
        maybe_fault(fault, saved)

    return fault, after_checkpoint


def _search_into(
    run_dir: Path,
    config: dict[str, Any],
    loaded: LoadedViews,
    model: SeedSearch,
    ranks: Ranks,
    seeds: range,
    shard: bool,
    lock: ExclusiveLock,
    reporter: Reporter,
) -> Path:
    """Search the unfinished groups of ``seeds`` into the run, shared over the ranks; then,
    unless this is a ``shard``, select and ensemble on rank 0 and write the results.

    Every rank calls this; rank 0 holds the run's ``lock`` (a shard lets go of it once its
    range is claimed) and is the only one to write config.json.
    """
    n = int(config["n_seeds"])
    fault, after_checkpoint = _fault_hook(ranks)
    files = SeedFiles(run_dir, after_checkpoint)
    then = f"continue with `hume search --resume --run {run_dir.name}"
    then += f" --seed-range {shown(seeds)}`" if shard else "`"
    if not ranks.is_main:
        reporter = SILENT  # one bar per job: rank 0's
    claimed: ExclusiveLock | None = None
    try:
        with disk_errors("searching into", run_dir, then=then):
            try:
                grid = _grid(config["hyperparameters"])
                if grid is not None and not config.get("sweep_done"):
                    _run_sweep(run_dir, config, loaded, model, ranks, grid)
                fits = model.prepare_search(loaded.search, view_names=config["views"])
                size = _choose_group_size(config, seeds, dist_.gather(ranks, fits), ranks, shard)
                if shard:
                    check_seed_range(seeds, n, size)
                config["group_size"] = size
                groups = [g for g in seed_groups(range(n), size) if g[0] in seeds]

                def plan() -> list[list[int]]:
                    nonlocal claimed
                    write_json(run_dir / "config.json", config)
                    if shard:  # claim the range, then let the other shards join
                        claimed = Shards(run_dir).claim(seeds)
                        lock.release()
                    else:
                        files.tidy(groups)
                    done = files.finished()
                    todo = [g for g in groups if not set(g) <= done]
                    _log_resume(run_dir, files, groups, todo, size)
                    return todo

                todo = dist_.on_main(ranks, plan)
                mine = ranks.share(todo)
                if ranks.distributed:
                    seeds_here = [s for g in mine for s in g]
                    logger.info(
                        "rank %d/%d: %d seed groups (seeds %s)",
                        ranks.rank,
                        ranks.world_size,
                        len(mine),
                        seed_ranges(seeds_here) if seeds_here else "none",
                    )
                with reporter.task("search", total=None) as task:

                    def progress(done: int, total: int, objective: float, entropy: float) -> None:
                        task.update(completed=done, total=total, objective=objective, H=entropy)

                    def search_mine() -> int:
                        with disk_errors("searching into", run_dir, then=then):
                            every = 0.0 if fault is not None else 60.0
                            return model.search_groups(mine, files, progress, every)

                    dist_.on_every_rank(ranks, search_mine)
            except KeyboardInterrupt:
                raise Interrupted(then) from None
            if shard:
                if ranks.is_main:
                    _log_shard_done(run_dir, files, seeds, n)
                return run_dir
            dist_.on_main(ranks, lambda: _select_and_write(run_dir, config, model, loaded, files))
    except HumeError as exc:
        if lock.held and not shard:  # only the run's owner marks it failed
            config["status"] = "failed"
            config["error"] = str(exc)
            with contextlib.suppress(OSError):  # the disk may be the problem; the error says so
                write_json(run_dir / "config.json", config)
        raise
    finally:
        if claimed is not None:
            claimed.release()
    if ranks.is_main:
        logger.info(f"wrote run {run_dir}")
    return run_dir


def _log_resume(
    run_dir: Path,
    files: SeedFiles,
    groups: list[list[int]],
    todo: list[list[int]],
    size: int,
) -> None:
    """Say what a search continues from: groups left, and where the groups in flight stand."""
    flying = [(g, files.in_flight(g)) for g in todo if g[0] in files.groups_in_flight()]
    if len(todo) == len(groups) and not flying:
        return
    where = "; ".join(
        f"seeds {seed_ranges(g)} at iteration {int(state['iteration'])}"
        for g, state in flying
        if state is not None
    )
    logger.info(
        "resume %s: %d of %d seed groups left (groups of %d seeds)%s",
        run_dir.name,
        len(todo),
        len(groups),
        size,
        f"; in flight: {where}" if where else "",
    )


def _log_shard_done(run_dir: Path, files: SeedFiles, seeds: range, n: int) -> None:
    missing = set(range(n)) - files.finished()
    left = f"seeds {seed_ranges(missing)} are still missing" if missing else "every seed is in"
    logger.info(
        "searched seeds %s into run %s; %s; once all are in: `hume search --resume --run %s`",
        shown(seeds),
        run_dir.name,
        left,
        run_dir.name,
    )


def _select_and_write(
    run_dir: Path, config: dict[str, Any], model: SeedSearch, loaded: LoadedViews, files: SeedFiles
) -> None:
    """Rank 0: every seed from its file, scored together, selected and ensembled; the run."""
    then = f"continue with `hume search --resume --run {run_dir.name}`"
    with disk_errors("writing", run_dir, then=then):
        model.select_seeds(files)
        _write_results(run_dir, config, model, loaded)


def _write_results(
    run_dir: Path, config: dict[str, Any], model: SeedSearch, loaded: LoadedViews
) -> None:
    """seeds.npz, ensemble.npz (with the predicted splits), encoders.pt; then status complete."""
    k = int(config["k"])
    seeds_npz: dict[str, np.ndarray] = {
        "labels": np.asarray(model.seed_labels_, dtype=np.int64),
        "scores": np.asarray(model.scores_, dtype=np.float64),
        "balanced_scores": np.asarray(model.balanced_scores_, dtype=np.float64),
        "objectives": np.asarray(model.objectives_, dtype=np.float64),
    }
    ens: dict[str, np.ndarray] = {
        "labels": np.asarray(model.labels_, dtype=np.int64),
        "reference_seed": np.asarray(int(model.reference_seed_)),
    }
    for split, xs in loaded.predict.items():
        per_seed = np.asarray(model.predict_seeds([x.cpu() for x in xs]), dtype=np.int64)
        seeds_npz[f"{split}_labels"] = per_seed
        ens[f"{split}_labels"] = (
            vote(
                torch.as_tensor(per_seed),
                torch.as_tensor(model.perms_),
                int(model.reference_seed_),
                k,
            )
            .numpy()
            .astype(np.int64)
        )
    save_npz(run_dir / "seeds.npz", seeds_npz)
    save_npz(run_dir / "ensemble.npz", ens)
    save_torch(model.fitted_state(), run_dir / "encoders.pt")
    config["status"] = "complete"
    config["finished"] = datetime.now(UTC).isoformat()
    config["hyperparameters"].update(model.fitted_settings_)
    write_json(run_dir / "config.json", config)
