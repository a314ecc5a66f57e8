"""Screens: a quick look at every candidate of a choice before any is searched in full
(docs/algorithm.md §10.6): a few seeds of two fifths of the iterations, no label-free scores, kept
as ``<run>/screens/<candidate>.npz`` so that the choice run again reads them back; shared over
the ranks under torchrun."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import torch

from hume.core import distributed as dist_
from hume.core.distributed import Ranks
from hume.core.files import save_npz
from hume.core.reporting import CountedTask
from hume.search.estimators.estimator_base import SeedSearch
from hume.search.k_choice.candidates import Planned, log_candidate, planned_label
from hume.search.search_runs.request import SearchRequest
from hume.search.selection.choice_signals import Candidate, consensus_kind, measure, ranked

#: a screen's seeds (at most the run's) and its share of the run's iterations
SCREEN_SEEDS = 6
SCREEN_SHARE = 0.4
#: the folder of a choice's screens, in its run (one .npz per candidate)
SCREENS = "screens"


def screen_config(cfg: Any) -> Any:
    """A screen's settings: the run's, with :data:`SCREEN_SHARE` of its iterations."""
    return replace(cfg, iters=max(1, round(cfg.iters * SCREEN_SHARE)))


def screen_all(
    req: SearchRequest,
    cls: type[SeedSearch],
    cfg: Any,
    plan: list[Planned],
    inputs: dict[tuple[str, ...], list[torch.Tensor]],
    base_dir: Path,
    dev: torch.device,
    ranks: Ranks,
    task: CountedTask,
    units: int,
    multi_order: bool = False,
) -> dict[str, Candidate]:
    """Every candidate's screen (kept in ``<base>/screens/``, reused when there), shared over the
    ranks; their signals by run name, on every rank. ``task`` advances by ``units`` a screen;
    ``multi_order``: the candidates' φ1 is named in the progress even when ``plan`` holds one
    order of the views."""
    folder = base_dir / SCREENS
    seeds = min(req.seeds, SCREEN_SEEDS)
    begin = task.completed
    many = len({q.index for q in plan}) > 1 or multi_order
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
            task.advance(0, at=f"screening {planned_label(p, many)}")
            start = task.completed

            def progress(
                done: int, total: int, objective: float, entropy: float, _start: int = start
            ) -> None:
                task.update(completed=_start + int(units * done / max(total, 1)))

            kept = screen(req, cls, cfg, p, inputs[p.order], dev, seeds, progress)
            save_screen(path, kept)
            both = (kept["stability"], kept["consensus_stability"])
            criterion = both[0] if both[1] is None else sum(both) / 2
            task.update(
                completed=start + units,
                at=f"screened {planned_label(p, many)}",
                criterion=round(criterion, 3),
            )
        mine.append(screen_meta(kept))
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
            log_candidate(out[p.run], "screen ")
    task.update(completed=begin + len(plan) * units)
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
    from hume.search.selection.consensus import consensus

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
        kind = consensus_kind(point.ensemble, getattr(point, "auto_consensus", None))
        labels = consensus(torch.as_tensor(labelings), p.k, kind, req.random_state).numpy()
        signals = measure({"k": p.k, "point": i}, labelings, None, None, labels, kind)
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
        "spread": signals.spread,
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
            "meta": np.asarray(json.dumps(screen_meta(kept))),
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


def screen_meta(kept: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in kept.items() if key not in ("seed_labels", "labels")}
