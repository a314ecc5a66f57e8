"""Choosing, without labels, what a user may not know: the number of classes K, whether the
classes are about equally large, and which view is φ1.

The signals (docs/algorithm.md §10, with the measurements behind the choices):

- **stability**: the mean adjusted Rand index between the labelings of every pair of seeds. At
  the human K the seeds find the same labeling; with too few classes they merge different
  classes, with too many they cut a class in different places, and disagree;
- **score**: the mean label-free score of the seeds (cross-validated accuracy of a linear
  classifier predicting the labeling). It rises as K falls (fewer classes are easier to learn),
  so on its own it favours small K;
- **balanced score**: the same with every class weighted equally (:func:`label_free_scores`
  with ``balanced=True``; an empty class counts 0): labelings with tiny or missing classes score
  low, so it can compare labelings of different class sizes.

K is chosen by stability (ties: the smaller K) among the candidates that use all K classes; the
class-size prior (the weight of the entropy term) by the balanced score; the order of the views by
stability. A candidate whose ensemble leaves a class (nearly) empty — fewer rows than
:data:`EMPTY_SHARE` of the mean class size N/K — is a labeling of fewer classes: with a weak
entropy term (``--class-sizes uneven``) the classes beyond the human K go empty instead of
cutting a class, and such a labeling is as stable as the human one it contains. It is chosen only
when every candidate is.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hume.errors import HumeError

#: ``--class-sizes uneven``: the weights of each size term tried (each with a few seeds) before
#: the search. The entropy's include the uniform prior's 10, so balanced data can keep it; the log
#: term, which no class can escape, needs smaller weights to let sizes be uneven (§10.3).
UNEVEN_WEIGHTS = {"entropy": (10.0, 3.0, 1.0, 0.3), "log": (3.0, 1.0, 0.3, 0.1)}
#: a class with fewer rows than this share of the mean class size N/K counts as empty
EMPTY_SHARE = 0.05


def parse_k(spec: str | int) -> list[int]:
    """``10`` → [10]; ``5:15`` → 5, 6, …, 15 (both ends included); ``4,8,16`` → [4, 8, 16]."""
    text = str(spec).strip()
    try:
        bounds = [int(p) for p in text.split(":", 1)] if ":" in text else None
        listed = [int(p) for p in text.split(",") if p.strip()] if bounds is None else []
    except ValueError:
        raise HumeError(
            f"--k {text!r} is not a number, a range low:high or a list a,b,c: e.g. --k 10, "
            "--k 5:15 or --k 4,8,16"
        ) from None
    if bounds is not None and bounds[1] < bounds[0]:
        raise HumeError(f"--k {text}: the range is reversed; write it low:high, e.g. 5:15")
    values = list(range(bounds[0], bounds[1] + 1)) if bounds is not None else listed
    if not values:
        raise HumeError(f"--k {text!r} names no K: e.g. --k 10, --k 5:15 or --k 4,8,16")
    small = [k for k in values if k < 2]
    if small:
        raise HumeError(f"--k {text}: every K must be at least 2 (got {small[0]})")
    return sorted(set(values))


def stability(seed_labels: np.ndarray) -> float:
    """Mean adjusted Rand index over every pair of seeds' labelings (n_seeds, N); 1 for one seed."""
    from hume.evaluate.metrics import adjusted_rand_index

    labels = np.asarray(seed_labels)
    pairs = list(itertools.combinations(range(len(labels)), 2))
    if not pairs:
        return 1.0
    return float(np.mean([adjusted_rand_index(labels[i], labels[j]) for i, j in pairs]))


@dataclass
class Candidate:
    """One searched setting (a K, an entropy weight, an order of the views) and its signals."""

    setting: dict[str, Any]
    stability: float
    score: float
    balanced: float
    #: rows per class of the ensemble labeling, largest first
    sizes: tuple[int, ...] = ()

    @property
    def used_classes(self) -> int:
        """Classes of the ensemble that are not (nearly) empty (:data:`EMPTY_SHARE`)."""
        n = sum(self.sizes)
        return sum(size >= max(1.0, EMPTY_SHARE * n / len(self.sizes)) for size in self.sizes)

    @property
    def complete(self) -> bool:
        """Every one of the K classes is used (True when the sizes are unknown)."""
        return not self.sizes or self.used_classes == len(self.sizes)

    def as_dict(self) -> dict[str, Any]:
        sizes = {"class_sizes": list(self.sizes), "used_classes": self.used_classes}
        return {
            **self.setting,
            **(sizes if self.sizes else {}),
            "stability": round(self.stability, 6),
            "score": round(self.score, 6),
            "balanced_score": round(self.balanced, 6),
        }


def signals(model: Any, setting: dict[str, Any]) -> Candidate:
    """The signals of a fitted search: stability of its seeds, their mean score and mean balanced
    score (both computed when the seeds were selected), the class sizes of its ensemble."""
    return Candidate(
        setting,
        stability(model.seed_labels_),
        float(np.mean(model.scores_)),
        float(np.mean(model.balanced_scores_)),
        class_sizes(model.labels_, int(model.n_classes)),
    )


def class_sizes(labels: Any, k: int) -> tuple[int, ...]:
    """Rows per class of a labeling (N,) of K classes, largest first."""
    return tuple(sorted(np.bincount(np.asarray(labels), minlength=k).tolist(), reverse=True))


def choose(candidates: Sequence[Candidate]) -> Candidate:
    """The most stable candidate among those that use all their K classes (all of them when
    none does); ties: the smaller K, then the earlier order of the views (``order``, if set)."""
    if not candidates:
        raise HumeError("nothing was searched to choose from")
    pool = [c for c in candidates if c.complete] or list(candidates)
    return max(
        pool,
        key=lambda c: (round(c.stability, 9), -c.setting["k"], -c.setting.get("order", 0)),
    )
