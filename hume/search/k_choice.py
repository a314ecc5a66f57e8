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

K is chosen by stability (ties: the smaller K); the class-size prior (the weight of the entropy
term) by the balanced score; the order of the views by stability.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hume.errors import HumeError

#: ``--class-sizes uneven``: entropy weights tried (each with a few seeds) before the search; the
#: uniform prior's 10 is among them, so balanced data can keep it.
UNEVEN_WEIGHTS = (10.0, 3.0, 1.0, 0.3)


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

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.setting,
            "stability": round(self.stability, 6),
            "score": round(self.score, 6),
            "balanced_score": round(self.balanced, 6),
        }


def signals(model: Any, score_views: Sequence[Any], setting: dict[str, Any]) -> Candidate:
    """The signals of a fitted search: stability of its seeds, their mean score and balanced
    score (the balanced score on ``score_views``, the views the method scores on)."""
    import torch

    from hume.search.selection import label_free_scores

    views = [torch.as_tensor(v, dtype=torch.float32) for v in score_views]
    balanced = label_free_scores(
        views,
        torch.as_tensor(model.seed_labels_),
        int(model.n_classes),
        seed=model.random_state,
        balanced=True,
    )
    return Candidate(
        setting,
        stability(model.seed_labels_),
        float(np.mean(model.scores_)),
        float(balanced.mean()),
    )


def best(candidates: Sequence[Candidate], by: str, prefer: str, larger: bool) -> Candidate:
    """The candidate with the highest signal ``by``; ties (within 1e-9) go to the one whose
    setting ``prefer`` is larger (``larger``) or smaller."""
    if not candidates:
        raise HumeError("nothing was searched to choose from")
    sign = 1 if larger else -1
    return max(candidates, key=lambda c: (round(getattr(c, by), 9), sign * c.setting[prefer]))
