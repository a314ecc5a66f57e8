"""What a search is asked for: the request (:class:`SearchRequest`), its checks that need no
data, the configuration of the run it starts, and what two processes working on one run must
agree on."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import torch

import hume
from hume.core.devices import check_precision
from hume.core.distributed import Ranks
from hume.core.errors import HumeError, setting
from hume.core.names import check_name
from hume.runs import RunConfig
from hume.search.methods import get_method
from hume.search.search_runs.shards import check_seed_range, parse_seed_range
from hume.search.settings import SearchOptions

NAME_THE_RUN = (
    f"{setting('seed_range')} needs {setting('run', 'NAME')}: every shard of a run must name "
    f"the same run (e.g. {setting('run', 'my-run')} {setting('seed_range', '0:10')})"
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


def check_request(req: SearchRequest) -> tuple[Any, range]:
    """Refuse a request that no data could make right (one line naming the option); its
    method's settings and the seeds this process searches."""
    cls = get_method(req.method)
    if not req.views:
        raise HumeError(
            f"{setting('views')} is empty: give φ1 and at least one φ2 view, e.g. "
            f"{setting('views', 'clip,dinov2')}"
        )
    if req.seeds < 1:
        raise HumeError(f"{setting('seeds')} must be ≥ 1, got {req.seeds}")
    if req.group_size is not None and req.group_size < 1:
        raise HumeError(f"{setting('group_size')} must be ≥ 1, got {req.group_size}")
    seeds = range(req.seeds)
    if req.seed_range is not None and req.run is None:
        raise HumeError(NAME_THE_RUN)
    if req.seed_range is not None:
        seeds = parse_seed_range(req.seed_range)
        check_seed_range(seeds, req.seeds, req.group_size or 1)
    check_precision(req.precision)
    cfg = cls.config_class.from_options(req.preset, req.options)
    if req.sweep and req.preset == "paper":
        raise HumeError(
            f"{setting('sweep')} and {setting('preset', 'paper')} exclude each other: the paper "
            "fixes every setting"
        )
    if req.sweep and not cfg.sweep_points():
        raise HumeError(
            f"{setting('sweep')} applies to {setting('method', 'hume')} only "
            f"({setting('method', cls.method)} has no sweep grid): drop {setting('sweep')}"
        )
    if req.class_sizes not in ("uniform", "uneven"):
        raise HumeError(
            f"unknown {setting('class_sizes', repr(req.class_sizes))}: use uniform or uneven"
        )
    if req.class_sizes == "uneven" and req.sweep:
        raise HumeError(
            f"{setting('sweep')} and {setting('class_sizes', 'uneven')} sweep different grids: "
            "give one of them"
        )
    if req.class_sizes == "uneven" and req.options.entropy_weight is not None:
        raise HumeError(
            f"{setting('class_sizes', 'uneven')} chooses the entropy weight itself: drop "
            f"{setting('entropy_weight')}"
        )
    if req.run is not None:
        check_name("run", req.run)  # an empty or unsafe name is refused before any work
    return cfg, seeds


def new_config(
    req: SearchRequest,
    cfg: Any,
    dataset: str,
    views: list[str],
    splits: tuple[list[str], list[str]],
    stores: dict[str, dict[str, Any]],
    k: int,
    device: torch.device,
    ranks: Ranks,
) -> RunConfig:
    """The configuration of the run ``req`` starts with the method settings ``cfg``, K ``k``,
    the (search, predict) ``splits`` and the ``stores`` read."""
    return RunConfig(
        method=get_method(req.method).method,
        dataset=dataset,
        views=views,
        setting=req.setting,
        k=int(k),
        n_seeds=req.seeds,
        hyperparameters={
            **cfg.to_dict(),
            "random_state": req.random_state,
            "preset": req.preset or "default",
            "sweep": req.sweep,
            "class_sizes": req.class_sizes,
        },
        search_splits=splits[0],
        predict_splits=splits[1],
        stores=stores,
        device=device_name(device, ranks),
        precision=req.precision,
        single_view=req.single_view,
        group_size=req.group_size,
        world_size=ranks.world_size,
        created=datetime.now(UTC).isoformat(),
        hume_version=hume.__version__,
        candidate_of=req.candidate_of,
    )


def device_name(device: torch.device, ranks: Ranks) -> str:
    """The device a run records: each rank's own GPU is ``cuda`` (rank r uses its local GPU)."""
    return device.type if ranks.distributed and device.type == "cuda" else str(device)


def identity(config: RunConfig) -> dict[str, Any]:
    """What defines a run's search: two processes working on one run must agree on all of it.

    Leaves out what differs between processes without changing the search (times, devices, the
    stores' paths) and, for a swept run, the settings its sweep chose."""
    out = {
        key: getattr(config, key)
        for key in "method dataset views setting k n_seeds search_splits predict_splits "
        "precision single_view group_size".split()
    }
    hyper = dict(config.hyperparameters)
    hyper.pop("inner_lr_resolved", None)
    grid = sweep_grid(hyper)
    if grid is not None:
        cfg = get_method(config.method).config_class.from_dict(config.hyperparameters)
        chosen = {key for settings, _ in grid_points(cfg, grid) for key in settings}
        for key in chosen | ({"inner_lr"} if grid == "settings" else set()):
            hyper.pop(key, None)
    out["hyperparameters"] = hyper
    out["stores"] = {
        key: (entry.get("n_rows"), entry.get("store_id")) for key, entry in config.stores.items()
    }
    return out


def sweep_grid(hyperparameters: dict[str, Any]) -> str | None:
    """The grid a run sweeps before its search: ``settings`` (--sweep), ``class_sizes``
    (--class-sizes uneven) or None."""
    if hyperparameters.get("sweep"):
        return "settings"
    if hyperparameters.get("class_sizes") == "uneven":
        return "class_sizes"
    return None


def grid_points(cfg: Any, grid: str) -> list[tuple[dict[str, Any], Any]]:
    """(settings, config) of every point of a run's grid."""
    return cfg.class_size_points() if grid == "class_sizes" else cfg.sweep_points()
