"""Which candidates the fast scan screens (docs/algorithm.md §10.7): K climbed upwards with the
first order of the views until the criterion has fallen behind, the other orders screened at the
best few K only, and climbed in turn when they come close. Pure rules on screened signals; the
screening itself is :mod:`hume.search.k_choice.screens`."""

from __future__ import annotations

from collections.abc import Sequence

from hume.search.selection.choice_signals import Candidate, ranked

#: the climb stops once this many K in a row (after the best) fall behind it by more than DROP,
#: or leave a class empty
PATIENCE = 3
DROP = 0.05
#: the K at which each other order of the views is screened: the best of the first order's (one:
#: a weak φ1 is far below there, and its screens cost most where its φ2 is the wide view)
PHI1_AT = 1
#: an order screened there climbs too when its best screen comes this close to the best screen
PHI1_MARGIN = 0.02


def climb_over(screened: Sequence[Candidate]) -> bool:
    """Whether a climb over K (``screened`` in the order of K) can stop: its last
    :data:`PATIENCE` screens each leave a class empty or fall more than :data:`DROP` below the
    best screen that uses all its classes, which came before them, and the last of them is not
    their highest (a criterion still rising may be climbing to a higher peak)."""
    if len(screened) <= PATIENCE:
        return False
    complete = [c.criterion for c in screened[:-PATIENCE] if c.complete]
    if not complete:
        return False
    best = max(complete)
    window = screened[-PATIENCE:]
    if not all(not c.complete or c.criterion < best - DROP for c in window):
        return False
    before = [c.criterion for c in window[:-1] if c.complete]
    last = window[-1]
    return not (last.complete and (not before or last.criterion > max(before)))


def best_ks(screened: Sequence[Candidate], n: int = PHI1_AT) -> list[int]:
    """The K of the ``n`` best screens (in the choice's order, :func:`ranked`)."""
    return [c.setting["k"] for c in ranked(list(screened))[:n]]


def comes_close(other: Sequence[Candidate], first: Sequence[Candidate]) -> bool:
    """Whether another order's screens at the first order's best K come within
    :data:`PHI1_MARGIN` of the first order's best screen (or rank above it): it climbs too."""
    if not other:
        return False
    lead = ranked(list(first))[0]
    top = ranked(list(other))[0]
    if ranked([lead, top])[0] is top:
        return True
    return top.complete and top.criterion >= lead.criterion - PHI1_MARGIN
