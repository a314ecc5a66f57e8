"""What a choice among searches will cost before it starts: how many screens and searches in full
it plans, and the time on this machine, from a probe of a few iterations of one seed on the
views themselves (docs/algorithm.md §10.7). Labels are never read."""

from __future__ import annotations

import time
from dataclasses import dataclass, replace

from hume.core.devices import resolve_device
from hume.core.names import canonical_model, check_name
from hume.core.reporting import counted
from hume.search.k_choice.candidates import view_orders
from hume.search.k_choice.choosing import FINALISTS, expected_screens, loaded_views
from hume.search.k_choice.screens import SCREEN_SEEDS, screen_config
from hume.search.methods import get_method
from hume.search.search_runs.request import SearchRequest, check_request
from hume.search.search_runs.sweep import SWEEP_SEEDS
from hume.search.vocabulary import KScan
from hume.store import resolve_dataset

#: iterations of the two probes (a screen's seeds): their difference is the cost of iterations,
#: the rest the set-up every search pays once
PROBE_ITERS = (2, 6)
#: a search in full costs this much more than its seed-iterations alone (the label-free scores,
#: the ensemble, the writing), and a screen this much more (its consensus and stabilities): a
#: rough calibration on digits (bench/RESULTS.md, "The cost of `hume label`")
FULL_OVERHEAD = 1.3
SCREEN_OVERHEAD = 1.2


@dataclass(frozen=True)
class ChoiceCost:
    """A choice's plan: screens (at most and as planned at first), searches in full (at least),
    and the seconds they would take on this machine (the plan at first)."""

    candidates: int
    screens_planned: int
    screens_most: int
    full_least: int
    seconds_per_seed_iter: float
    seconds: float
    screen: tuple[int, int]  # (seeds, iterations) of a screen
    search: tuple[int, int]  # (seeds, iterations) of a search in full


def estimate_choice(
    req: SearchRequest, ks: list[int], phi1_auto: bool, scan: KScan | str = KScan.fast
) -> ChoiceCost:
    """The plan of :func:`hume.search.k_choice.choosing.choose_search` for this request, and its time
    from two probes (:data:`PROBE_ITERS` iterations of a screen's seeds) at the middle K of
    ``ks`` with the first order of the views."""
    scan = KScan(scan)
    cls = get_method(req.method)
    cfg, _ = check_request(req)
    views = [check_name("view", canonical_model(v)) for v in req.views]
    dataset = resolve_dataset(req.root, views, req.dataset)
    orders = view_orders(views, phi1_auto)
    dev = resolve_device(req.device)
    x = loaded_views(req, dataset, orders[0], dev, {}).search
    k = ks[len(ks) // 2]
    screen_cfg = screen_config(cfg)
    screen = (min(req.seeds, SCREEN_SEEDS), int(screen_cfg.iters))
    search = (req.seeds, int(cfg.iters))

    def probe(iters: int) -> float:
        model = cls(
            k,
            n_seeds=screen[0],
            config=replace(cfg, iters=iters),
            device=str(dev),
            precision=req.precision,
            random_state=req.random_state,
            **({"allow_single_view": True} if req.single_view else {}),
        )
        started = time.perf_counter()
        model.search_labelings(x, view_names=list(orders[0]))
        return time.perf_counter() - started

    short, long = probe(PROBE_ITERS[0]), probe(PROBE_ITERS[1])
    # seconds per iteration of one seed, and the set-up every search pays once
    rate = max(long - short, 0.0) / (PROBE_ITERS[1] - PROBE_ITERS[0]) / screen[0]
    setup = max(short - PROBE_ITERS[0] * screen[0] * rate, 0.0)
    n = len(ks) * len(orders)
    points = len(cfg.class_size_points()) if req.class_sizes == "uneven" else 1
    if scan is KScan.exhaustive or n <= FINALISTS:
        planned = most = 0
        full = n
    else:
        planned = expected_screens(len(ks), len(orders)) if scan is KScan.fast else n
        most, full = n, FINALISTS
    per_screen = (setup + screen[0] * screen[1] * rate) * points * SCREEN_OVERHEAD
    trials = points * SWEEP_SEEDS if points > 1 else 0
    per_search = (setup * (1 + points) + (search[0] + trials) * search[1] * rate) * FULL_OVERHEAD
    return ChoiceCost(
        n, planned, most, full, rate, planned * per_screen + full * per_search, screen, search
    )


def shown_cost(c: ChoiceCost) -> str:
    """The plan in a sentence: ``about 20 screens (at most 38) …, then 2 searches in full or more …:
    about 6 min here``."""
    minutes = c.seconds / 60
    when = f"{minutes:.0f} min" if minutes >= 1.5 else f"{c.seconds:.0f} s"
    if not c.screens_most:
        return f"{counted(c.full_least, 'search', 'searches')} in full: about {when} here"
    most = f" (at most {c.screens_most})" if c.screens_most > c.screens_planned else ""
    return (
        f"about {c.screens_planned} screens{most} of {c.screen[0]} seeds × {c.screen[1]} "
        f"iterations, then {counted(c.full_least, 'search', 'searches')} in full or more of "
        f"{c.search[0]} seeds × {c.search[1]}: about {when} here"
    )
