"""How far apart two label-free scores fall by chance (docs/algorithm.md §5.9): the spread of a
difference between two labelings' scores measured on the same folds, and the rule that calls a
difference within it a tie.

A label-free score is the mean of its folds' held-out accuracies. Two labelings scored on the
same folds give paired fold differences ``d`` (F,); their mean is the score difference and their
spread, corrected for the folds' overlapping training rows (Nadeau & Bengio, 2003), is
``sd(d) · sqrt(1/F + 1/(F − 1))``.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

#: a difference of at most this many spreads is a tie (docs/algorithm.md §5.9)
TIE_SPREADS = 1.0


def paired_spread(folds_a: Any, folds_b: Any) -> float:
    """The spread of ``mean(folds_a) − mean(folds_b)``, from two ``(F,)`` fold accuracies of the
    same folds (F ≥ 2); 0 where the two agree on every fold."""
    a, b = np.asarray(folds_a, dtype=np.float64), np.asarray(folds_b, dtype=np.float64)
    if a.shape != b.shape or a.ndim != 1 or a.shape[0] < 2:
        raise ValueError(
            f"paired_spread needs two (F,) fold scores, F ≥ 2; got {a.shape}, {b.shape}"
        )
    d = a - b
    n = d.shape[0]
    return float(np.std(d, ddof=1) * math.sqrt(1 / n + 1 / (n - 1)))


def is_tie(difference: float, spread: float, spreads: float | None = None) -> bool:
    """True when ``|difference|`` is within ``spreads`` × ``spread`` (default
    :data:`TIE_SPREADS`)."""
    return abs(difference) <= (TIE_SPREADS if spreads is None else spreads) * spread
