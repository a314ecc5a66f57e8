"""``hume search --sweep`` and ``--class-sizes uneven``: try a small grid of settings, keep the
point with the best label-free score.

Two grids: ``settings`` (``--sweep``: a method's outer lr / temperature / inner step scale,
judged by the mean label-free score of the seeds) and ``class_sizes`` (``--class-sizes uneven``:
the weight of the size term, judged by the *balanced* label-free score, which weighs every class
equally and counts an empty class 0, so that a prior letting classes vanish does not win; ties go
to the larger weight, the uniform prior's first; why not their stability, which is kept beside
it: docs/algorithm.md §10.3). Each grid point is searched with a few
seeds (:data:`SWEEP_SEEDS`, from a base seed of their own so the real search's seeds stay
independent); labels are never read. The best point's settings replace the preset's for the
search. Processes sharing one search share the grid points too (:func:`sweep`'s ``ranks``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from sklearn.base import clone

from hume.core.distributed import Ranks, gather
from hume.core.errors import HumeError, setting
from hume.search.estimators.estimator_base import SeedSearch

SWEEP_SEEDS = 2
#: added to the run's random_state for the sweep's seeds
SWEEP_SEED_OFFSET = 10_000


def sweep(
    model: SeedSearch,
    views: Sequence[Any],
    view_names: Sequence[str] | None = None,
    on_trial: Callable[[dict[str, Any]], None] | None = None,
    ranks: Ranks | None = None,
    grid: str = "settings",
) -> tuple[Any, list[dict[str, Any]]]:
    """(best settings, trials) of ``model``'s sweep grid over its resolved settings.

    ``on_trial(trial)`` gets each trial, in grid order, as it finishes: the grid point's settings
    plus ``mean_score`` and the per-seed ``scores``. With several ``ranks`` (every rank calls
    this), rank r searches the grid points r, r + world_size, …; each trial is searched the same
    way wherever it runs, and every rank gets every trial, so all ranks choose the same point.
    """
    ranks = ranks or Ranks()
    base = model.resolved_config()
    points = base.class_size_points() if grid == "class_sizes" else base.sweep_points()
    if not points:
        raise HumeError(
            f"{setting('method', model.method)} has no {setting('sweep')} grid: drop "
            f"{setting('sweep')}"
        )
    judge = "balanced_score" if grid == "class_sizes" else "mean_score"
    trials: list[dict[str, Any]] = []
    for first in range(0, len(points), ranks.world_size):  # one grid point per rank at a time
        mine = first + ranks.rank
        trial = None
        if mine < len(points):
            settings, cfg = points[mine]
            trial = _trial(model, settings, cfg, views, view_names, judge == "balanced_score")
        for each in gather(ranks, trial):
            if each is not None:
                trials.append(each)
                if on_trial is not None:
                    on_trial(each)
    best = max(range(len(trials)), key=lambda i: trials[i][judge])  # ties: the first point
    return points[best][1], trials


def _trial(
    model: SeedSearch,
    settings: dict[str, Any],
    cfg: Any,
    views: Sequence[Any],
    view_names: Sequence[str] | None,
    sizes: bool = False,
) -> dict[str, Any]:
    """One grid point: a few seeds of its own searched with ``cfg``, and their scores (for the
    class sizes, ``sizes``, also their stability and balanced score: always two seeds or more,
    which a stability needs)."""
    trial_model = clone(model).set_params(
        preset=None,
        config=cfg,
        n_seeds=SWEEP_SEEDS if sizes else min(int(model.n_seeds), SWEEP_SEEDS),
        random_state=model.random_state + SWEEP_SEED_OFFSET,
        **{name: None for name in model.SETTINGS},
    )
    trial_model.fit(views, view_names=view_names)
    trial = {
        **settings,
        "mean_score": float(np.mean(trial_model.scores_)),
        "scores": trial_model.scores_.tolist(),
    }
    if sizes:
        from hume.search.selection.choice_signals import signals

        measured = signals(trial_model, settings, consensus=False)
        trial["stability"], trial["balanced_score"] = measured.stability, measured.balanced
    return trial
