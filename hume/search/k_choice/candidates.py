"""The candidates of a choice among searches (a K range, ``--phi1 auto``): one K and one order
of the views each, the run each becomes, and the line that reports one's signals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hume.core.reporting import logger
from hume.search.selection.choice_signals import Candidate


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


def planned_label(p: Planned, phi1_auto: bool) -> str:
    return f"K={p.k}" + (f" φ1 {p.order[0]}" if phi1_auto else "")


def log_candidate(cand: Candidate, stage: str) -> None:
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
