"""A search request → a run directory, under the run's lock: :func:`run_search` starts a run
(or joins it, for a ``--seed-range`` shard), :func:`resume_search` continues one (a complete
run is a no-op). Both check everything before the run exists, load the views (never labels),
build the method's estimator from the run's configuration and hand over to
:func:`hume.search.search_runs.run_execution.search_into`. Under torchrun every rank calls the same function
and rank 0 holds the lock. Ctrl-C leaves a resumable state and raises
:class:`~hume.core.errors.Interrupted` saying how to continue; a full disk is one
:class:`~hume.core.errors.HumeError`, the run staying resumable (docs/data.md §3)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import torch

from hume.core import distributed as dist_
from hume.core.devices import check_precision, resolve_device
from hume.core.disk_errors import disk_errors
from hume.core.errors import HumeError, command, setting
from hume.core.files import remove_partial_writes
from hume.core.locks import ExclusiveLock
from hume.core.names import canonical_model, check_name
from hume.core.reporting import SILENT, Reporter, logger
from hume.core.stages import clocked, stage
from hume.runs import (
    RunConfig,
    default_run_name,
    load_config,
    new_run_dir,
    resolve_run,
    run_lock,
    runs_dir,
    write_config,
)
from hume.search.methods import get_method
from hume.search.search_runs.request import (
    NAME_THE_RUN,
    WAIT_FOR_RANKS,
    SearchRequest,
    check_request,
    device_name,
    identity,
    new_config,
)
from hume.search.search_runs.run_execution import search_into
from hume.search.search_runs.seed_files import SeedFiles, seed_ranges
from hume.search.search_runs.shards import Shards, check_seed_range, parse_seed_range, shown
from hume.search.search_runs.view_loading import LoadedViews, load_views, plan_splits
from hume.store import resolve_dataset


@clocked
def run_search(
    req: SearchRequest,
    reporter: Reporter = SILENT,
    cache: dict[Any, Any] | None = None,
) -> Path:
    """Start a run: check everything, create ``<root>/runs/<name>``, search, write; its path.

    Under torchrun (``WORLD_SIZE`` > 1) every rank calls this with the same request; ranks that
    were given different requests are refused, on every rank. With ``req.seed_range`` this
    process searches only those seeds into the run, creating the run or joining it, and writes
    no selection (:mod:`hume.search.search_runs.shards`). A caller running several searches under torchrun
    (e.g. one per K) may join the process group once around them
    (:func:`hume.core.distributed.start`) and pass one ``cache`` to every call, so that the
    stores are read once (:func:`hume.search.search_runs.view_loading.load_views`).
    """
    ranks = dist_.ranks_from_env()
    cls = get_method(req.method)
    cfg, seeds = check_request(req)
    views = [check_name("view", canonical_model(v)) for v in req.views]
    dataset = resolve_dataset(req.root, views, req.dataset)
    splits = plan_splits(
        req.root, dataset, views, req.setting, predict_all_views=cls.predicts_from_all_views
    )
    dev = _device(ranks, req.device)
    if req.precision == "tf32" and dev.type != "cuda" and ranks.is_main:
        logger.info(
            "note: --precision tf32 applies to CUDA GPUs; on the CPU the search runs in fp32"
        )
    with _process_group(ranks, dev):
        loaded = _load(cls, req.root, dataset, views, *splits, dev, cache)
        k = req.k if req.k is not None else loaded.known_k(dataset)
        config = new_config(req, cfg, dataset, views, splits, loaded.stores, k, dev, ranks)
        model = cls.for_run(config, dev)
        model.check_inputs(loaded.search, view_names=views)  # before the run directory exists
        name = req.run
        if name is None:  # rank 0's clock names the run
            name = dist_.on_main(ranks, lambda: default_run_name(cls.method, dataset))
        asked = {"run": name, "seed_range": req.seed_range, **identity(config)}
        dist_.agree(ranks, asked, "the search")
        run_dir = runs_dir(req.root) / name
        lock = run_lock(req.root, name)
        try:
            if req.seed_range is not None:
                config = dist_.on_main(ranks, lambda: _join(lock, req.root, name, config, seeds))
            else:
                config = dist_.on_main(ranks, lambda: _create(lock, req.root, name, config))
            if config.complete:
                return run_dir
            # a shard that joined searches with the run's settings (a sweep may have chosen them)
            model.set_params(config=cls.config_class.from_dict(config.hyperparameters))
            shard = req.seed_range is not None
            return search_into(run_dir, config, loaded, model, ranks, seeds, shard, lock, reporter)
        finally:
            lock.release()  # held on rank 0 only


def _create(lock: ExclusiveLock, root: str | None, name: str, config: RunConfig) -> RunConfig:
    """Take the run's lock (before the run can exist), create the run and its config.json."""
    with disk_errors("starting", runs_dir(root) / name, then="run the same command again"):
        lock.acquire()
        write_config(new_run_dir(root, name), config)
    return config


def _join(
    lock: ExclusiveLock, root: str | None, name: str, config: RunConfig, seeds: range
) -> RunConfig:
    """A shard's turn at the run's lock (it waits for it): create the run with ``config``, or
    join it when it exists and was asked for the same search; the run's config."""
    run_dir = runs_dir(root) / name
    with disk_errors("starting", run_dir, then="run the same command again"):
        _wait_for(lock, name)
        if not (run_dir / "config.json").is_file():
            write_config(new_run_dir(root, name), config)
            return config
    have = load_config(run_dir)
    if have.complete:
        logger.info("nothing to do: run %s is already complete", run_dir.name)
        return have
    _import_earlier_state(run_dir, have)
    mine = identity(config)
    if mine["group_size"] is None:
        mine["group_size"] = have.group_size
    theirs = identity(have)
    for key in mine:
        if mine[key] != theirs.get(key):
            raise HumeError(
                f"run {run_dir.name!r} exists with other settings ({key}: {theirs.get(key)!r}, "
                f"asked {mine[key]!r}): give every shard of a run the same options, or join it "
                f"with {_join_again(run_dir.name)}"
            )
    check_seed_range(seeds, have.n_seeds, int(have.group_size or 1))
    return have


def _import_earlier_state(run_dir: Path, config: RunConfig) -> None:
    """Read the ``state.pt`` of a run of an earlier version into seed files, once, keeping the
    grouping it started with (the caller holds the run's lock)."""
    then = (
        f"continue with {command('search', setting('resume', True), setting('run', run_dir.name))}"
    )
    with disk_errors("resuming", run_dir, then=then):
        size = SeedFiles(run_dir).import_state(run_dir)
        if config.group_size is None and size is not None:
            config.group_size = size
            write_config(run_dir, config)


@clocked
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
        raise HumeError(NAME_THE_RUN)
    run_dir = resolve_run(root, run)
    config = load_config(run_dir)
    if config.complete:
        if ranks.is_main:
            logger.info(
                "nothing to do: run %s is already complete (start a new run to search again)",
                run_dir.name,
            )
        return run_dir
    dev = _device(ranks, device or config.device or "auto")
    with _process_group(ranks, dev):
        lock = run_lock(root, run_dir.name)
        try:
            asked = {"run": run_dir.name, "device": device, "precision": precision}
            dist_.agree(ranks, {**asked, "seed_range": seed_range}, "the run to resume")
            config = dist_.on_main(ranks, lambda: _take_run(lock, run_dir, seeds))
            if config.complete:
                return run_dir
            cls = get_method(config.method)
            splits = config.search_splits, config.predict_splits
            loaded = _load(cls, root, config.dataset, config.views, *splits, dev)
            for key, entry in loaded.stores.items():
                was = config.stores.get(key, {})
                if was.get("store_id") and was.get("store_id") != entry.get("store_id"):
                    raise HumeError(
                        f"store {key} changed since the run started (different store_id): start a "
                        "new run"
                    )
            if seeds is None:  # a shard leaves the run's device and precision as they are
                config.device = device_name(dev, ranks)
                if precision is not None:  # like --device, --precision applies from here on
                    config.precision = check_precision(precision)
                config.world_size = ranks.world_size
            model = cls.for_run(config, dev)
            every = seeds if seeds is not None else range(config.n_seeds)
            shard = seeds is not None
            return search_into(run_dir, config, loaded, model, ranks, every, shard, lock, reporter)
        finally:
            lock.release()  # held on rank 0 only


def _take_run(lock: ExclusiveLock, run_dir: Path, seeds: range | None) -> RunConfig:
    """Rank 0's part of a resume: the run's lock (a shard waits for it), its config read again
    under the lock, and the run tidied for the search: a state of an earlier version imported,
    and for a run of shards, every shard done and every seed in."""
    if seeds is not None:
        _wait_for(lock, run_dir.name)
    else:
        lock.acquire()
    config = load_config(run_dir)
    if config.complete:
        logger.info("nothing to do: run %s was completed meanwhile", run_dir.name)
        return config
    _import_earlier_state(run_dir, config)
    if seeds is not None:  # other shards may be writing: the run is tidied by its last step
        check_seed_range(seeds, config.n_seeds, int(config.group_size or 1))
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
    missing = set(range(config.n_seeds)) - SeedFiles(run_dir).finished()
    if shards.recorded() and missing:
        raise HumeError(
            f"run {run_dir.name!r} is missing seeds {seed_ranges(missing)} of its "
            f"{config.n_seeds}: search them with {_join_again(run_dir.name)} (their shards "
            "again), then run this again"
        )
    return config


def _device(ranks: dist_.Ranks, asked: str) -> torch.device:
    """The device this process searches on (under torchrun, its local rank's)."""
    return resolve_device(asked, ranks.local_rank if ranks.distributed else None)


@contextlib.contextmanager
def _process_group(ranks: dist_.Ranks, dev: torch.device) -> Iterator[None]:
    """The ranks' process group (none for a single process), left on the way out."""
    joined = dist_.start(ranks, dev.type, backend="gloo", timeout=WAIT_FOR_RANKS)
    try:
        yield
    finally:
        dist_.stop(joined)


def _load(
    cls: Any,
    root: str | None,
    dataset: str,
    views: list[str],
    search_splits: list[str],
    predict_splits: list[str],
    dev: torch.device,
    cache: dict[Any, Any] | None = None,
) -> LoadedViews:
    """The run's views as tensors on ``dev`` (never labels), as the method ``cls`` reads them."""
    with stage("load"):
        return load_views(
            root,
            dataset,
            views,
            search_splits,
            predict_splits,
            dev,
            predict_all_views=cls.predicts_from_all_views,
            cache=cache,
        )


def _wait_for(lock: ExclusiveLock, name: str) -> None:
    """Take the run's lock, waiting (and saying so) while another process holds it."""
    if lock.held_by_another():
        logger.info("waiting for run %s: another process holds it", name)
    lock.acquire(wait=True)


def _join_again(name: str) -> str:
    """The command that joins the run ``name`` as a shard."""
    return command(
        "search", setting("resume", True), setting("run", name), setting("seed_range", "A:B")
    )
