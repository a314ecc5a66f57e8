"""Searching a run's seeds into its directory: the grid swept first (``--sweep``,
``--class-sizes uneven``), the seed groups shared over the ranks, every finished seed in a file
of its own; then, on rank 0, every seed scored, selected and ensembled, and the run written
(:func:`hume.runs.write_results`)."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hume.core import distributed as dist_
from hume.core.disk_errors import disk_errors
from hume.core.distributed import Ranks
from hume.core.errors import HumeError, Interrupted, command, setting
from hume.core.faults import fault_point, maybe_fault
from hume.core.files import write_json
from hume.core.locks import ExclusiveLock
from hume.core.reporting import SILENT, Reporter, logger
from hume.core.stages import current as current_clock
from hume.core.stages import stage
from hume.runs import STAGES, RunConfig, load_config, write_config, write_results
from hume.search.estimators.estimator_base import SeedSearch
from hume.search.optimiser.random_streams import seed_groups
from hume.search.search_runs.request import sweep_grid
from hume.search.search_runs.seed_files import SeedFiles, seed_ranges
from hume.search.search_runs.shards import Shards, check_seed_range, shown
from hume.search.search_runs.sweep import sweep
from hume.search.search_runs.view_loading import LoadedViews
from hume.search.selection.ensembling import choice_text, vote

#: Test hook (never set by users; :mod:`hume.core.faults`): ``kill:K`` SIGKILLs the search once
#: its K-th checkpoint is saved, ``pause:K`` sleeps there until a signal arrives. While it is set
#: the state is saved after every outer iteration (not every 60 s), so kills land at known points.
FAULT_ENV = "HUME_SEARCH_FAULT"
#: With several ranks, the hook applies on this rank only (unset: on every rank).
FAULT_RANK_ENV = "HUME_SEARCH_FAULT_RANK"


def search_into(
    run_dir: Path,
    config: RunConfig,
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
    n = config.n_seeds
    fault, after_checkpoint = _fault_hook(ranks)
    files = SeedFiles(run_dir, after_checkpoint)
    again = [setting("resume", True), setting("run", run_dir.name)]
    if shard:
        again.append(setting("seed_range", shown(seeds)))
    then = f"continue with {command('search', *again)}"
    if not ranks.is_main:
        reporter = SILENT  # one bar per job: rank 0's
    claimed: ExclusiveLock | None = None
    try:
        with disk_errors("searching into", run_dir, then=then):
            try:
                grid = sweep_grid(config.hyperparameters)
                if grid is not None and not config.sweep_done:
                    with stage("sweep"):
                        _run_sweep(run_dir, config, loaded, model, ranks, grid)
                fits = model.prepare_search(loaded.search, view_names=config.views)
                size = _choose_group_size(config, seeds, dist_.gather(ranks, fits), ranks, shard)
                if shard:
                    check_seed_range(seeds, n, size)
                config.group_size = size
                groups = [g for g in seed_groups(range(n), size) if g[0] in seeds]

                def plan() -> list[list[int]]:
                    nonlocal claimed
                    write_config(run_dir, config)
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

                    with stage("search"):
                        dist_.on_every_rank(ranks, search_mine)
            except KeyboardInterrupt as exc:
                raise Interrupted(then) from exc
            if shard:
                if ranks.is_main:
                    _log_shard_done(run_dir, files, seeds, n)
                return run_dir
            dist_.on_main(ranks, lambda: _select_and_write(run_dir, config, model, loaded, files))
    except HumeError as exc:
        if lock.held and not shard:  # only the run's owner marks it failed
            config.status, config.error = "failed", str(exc)
            with contextlib.suppress(OSError):  # the disk may be the problem; the error says so
                write_config(run_dir, config)
        raise
    finally:
        if claimed is not None:
            claimed.release()
    if ranks.is_main:
        logger.info(f"wrote run {run_dir}")
        said = choice_text(load_config(run_dir).hyperparameters)
        if said:
            logger.info("ensemble: %s", said)
    return run_dir


def _run_sweep(
    run_dir: Path,
    config: RunConfig,
    loaded: LoadedViews,
    model: SeedSearch,
    ranks: Ranks,
    grid: str = "settings",
) -> None:
    """Sweep the grid (the ranks share its points), keep the best point in the model and the
    run's config (rank 0 writes it after every trial)."""
    judged = {"mean_score": "label-free score", "balanced_score": "balanced label-free score"}
    score = "balanced_score" if grid == "class_sizes" else "mean_score"
    trials: list[dict[str, Any]] = []
    config.sweep = trials

    def on_trial(trial: dict[str, Any]) -> None:
        trials.append(trial)
        if ranks.is_main:
            shown = ", ".join(
                f"{key} {val:g}" if isinstance(val, (int, float)) else f"{key} {val}"
                for key, val in trial.items()
                if key not in ("mean_score", "scores", "balanced_score", "stability")
            )
            logger.info(
                f"{'class sizes' if grid == 'class_sizes' else 'sweep'}: {shown}: "
                f"{judged[score]} {trial[score]:.4f}"
            )
            write_config(run_dir, config)

    cfg, _ = sweep(
        model, loaded.search, view_names=config.views, on_trial=on_trial, ranks=ranks, grid=grid
    )
    model.set_params(config=cfg)
    config.hyperparameters.update(cfg.to_dict())
    config.sweep_done = True
    if ranks.is_main:
        write_config(run_dir, config)


def _choose_group_size(
    config: RunConfig, seeds: range, fits: list[int], ranks: Ranks, shard: bool
) -> int:
    """The run's seeds per group, fixed once: as many as fit on every rank's device, at most an
    even share of ``seeds`` per rank, and for a shard, a size its own range does not cut."""
    if config.group_size is not None:
        return int(config.group_size)
    n = config.n_seeds
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
    run_dir: Path, config: RunConfig, model: SeedSearch, loaded: LoadedViews, files: SeedFiles
) -> None:
    """Rank 0: every seed from its file, scored together, selected and ensembled; the run."""
    then = (
        f"continue with {command('search', setting('resume', True), setting('run', run_dir.name))}"
    )
    with disk_errors("writing", run_dir, then=then):
        model.select_seeds(files)
        with stage("write"):
            seeds, ensemble = _outputs(model, loaded, config.k)
            write_results(
                run_dir, config, seeds, ensemble, model.fitted_state(), model.fitted_settings_
            )
        clock = current_clock()
        if clock is not None:
            write_json(run_dir / STAGES, clock.as_dict())


def _outputs(
    model: SeedSearch, loaded: LoadedViews, k: int
) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The arrays of seeds.npz and ensemble.npz of a fitted model, the predicted splits
    labelled by every seed and by the matched vote."""
    seeds: dict[str, np.ndarray] = {
        "labels": np.asarray(model.seed_labels_, dtype=np.int64),
        "scores": np.asarray(model.scores_, dtype=np.float64),
        "balanced_scores": np.asarray(model.balanced_scores_, dtype=np.float64),
        "objectives": np.asarray(model.objectives_, dtype=np.float64),
    }
    ensemble: dict[str, np.ndarray] = {
        "labels": np.asarray(model.labels_, dtype=np.int64),
        "reference_seed": np.asarray(int(model.reference_seed_)),
    }
    for split, xs in loaded.predict.items():
        per_seed = np.asarray(model.predict_seeds([x.cpu() for x in xs]), dtype=np.int64)
        seeds[f"{split}_labels"] = per_seed
        perms = torch.as_tensor(model.perms_)
        voted = vote(torch.as_tensor(per_seed), perms, int(model.reference_seed_), k)
        ensemble[f"{split}_labels"] = voted.numpy().astype(np.int64)
    return seeds, ensemble
