"""The label-free signals that choose among searched candidates (a K, an order of the views,
a class-size weight), and the ranking by them (docs/algorithm.md §10.1–10.2, where the choices
and their measurements are).

- ``stability``: the mean adjusted Rand index between every pair of seeds' labelings;
- ``consensus stability``: the same between the consensuses of two random halves of the seeds;
- the **criterion**: their mean, maximised among the candidates whose ensemble uses all K classes
  (a class below :data:`EMPTY_SHARE` of the mean class size counts as empty);
- ``score`` and ``balanced score``: the seeds' mean label-free scores (the balanced one weighs
  every class equally), kept for the reader and for the class-size weight;
- the criterion's **spread**: how far it could move with other seeds (the seeds' stability
  resampled by the jackknife, the consensus stability by its splits), so that two candidates
  within it are a tie (:func:`margin`; docs/algorithm.md §10.9).
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from hume.core.errors import HumeError
from hume.core.row_sampling import sample_rows

#: a class with fewer rows than this share of the mean class size N/K counts as empty
EMPTY_SHARE = 0.05
#: random splits of the seeds into halves that the consensus stability averages over
SPLITS = 4
#: rows the stabilities are measured on, at most (an ARI from 50 000 rows is within about 0.01
#: of the whole: docs/algorithm.md §5.8)
SIGNAL_ROWS = 50_000
#: the seeds' stability from which their labeling stands out in the views, and below which the
#: views single out no labeling (docs/algorithm.md §5.7; chosen on the development suite)
STANDS_OUT, WEAK = 0.85, 0.6


def signal_rows(seed_labels: np.ndarray, seed: int = 0) -> np.ndarray:
    """The seeds' labelings (n_seeds, N) on at most :data:`SIGNAL_ROWS` of their rows (a seeded
    sample, the same for every seed): what the stabilities are measured on."""
    labels = np.asarray(seed_labels)
    n = labels.shape[1] if labels.ndim == 2 else 0
    rows = sample_rows(n, SIGNAL_ROWS, seed, "signals")
    return labels if rows is None else labels[:, rows]


def stability(seed_labels: np.ndarray) -> float:
    """Mean adjusted Rand index over every pair of seeds' labelings (n_seeds, N), on at most
    :data:`SIGNAL_ROWS` rows (:func:`signal_rows`); 1 for one seed."""
    return stability_and_spread(seed_labels)[0]


def stability_and_spread(seed_labels: np.ndarray) -> tuple[float, float]:
    """:func:`stability` and its jackknife standard error over the seeds (each seed left out in
    turn); the error is 0 with fewer than three seeds (nothing to resample)."""
    from hume.core.labelings import adjusted_rand_index

    labels = signal_rows(seed_labels)
    n = len(labels)
    if n < 2:
        return 1.0, 0.0
    aris = np.zeros((n, n))
    for i, j in itertools.combinations(range(n), 2):
        aris[i, j] = aris[j, i] = adjusted_rand_index(labels[i], labels[j])
    pairs = n * (n - 1) / 2
    mean = float(aris.sum() / 2 / pairs)
    if n < 3:
        return mean, 0.0
    # leaving seed j out drops its n − 1 pairs
    left = (aris.sum() / 2 - aris.sum(1)) / ((n - 1) * (n - 2) / 2)
    return mean, float(np.sqrt((n - 1) / n * np.sum((left - left.mean()) ** 2)))


def consensus_stability(seed_labels: np.ndarray, k: int, kind: str, seed: int = 0) -> float:
    """Mean adjusted Rand index between the consensuses (``kind``: cut or linkage) of two
    disjoint halves of the seeds' labelings (n_seeds, N), over :data:`SPLITS` seeded random
    splits; the seeds' stability when there are fewer than four seeds (halves of one seed). On
    at most :data:`SIGNAL_ROWS` rows (:func:`signal_rows`)."""
    return float(np.mean(consensus_values(seed_labels, k, kind, seed)))


def consensus_values(seed_labels: np.ndarray, k: int, kind: str, seed: int = 0) -> list[float]:
    """The :data:`SPLITS` values :func:`consensus_stability` averages (one, the seeds'
    stability, with fewer than four seeds)."""
    import torch

    from hume.core.labelings import adjusted_rand_index
    from hume.search.selection.consensus import consensus

    labels = signal_rows(seed_labels, seed)
    n_seeds = len(labels)
    if n_seeds < 4:
        return [stability(labels)]
    values = []
    for split in range(SPLITS):
        order = np.random.default_rng([seed, split]).permutation(n_seeds)
        halves = [
            consensus(torch.as_tensor(labels[part]), k, kind, seed).numpy()
            for part in (order[: n_seeds // 2], order[n_seeds // 2 :])
        ]
        values.append(adjusted_rand_index(*halves))
    return values


def consensus_kind(ensemble: str | None, auto_consensus: str | None = None) -> str:
    """The consensus the stability of a run's ensemble is measured with: the run's own (with
    ``auto``, the consensus it weighs against the vote), or the cut for a run that votes (the
    vote of half the seeds would hang on their best seed)."""
    own = auto_consensus if ensemble == "auto" else ensemble
    return "linkage" if own == "linkage" else "cut"


@dataclass
class Candidate:
    """One searched setting (a K, an entropy weight, an order of the views) and its signals."""

    setting: dict[str, Any]
    stability: float
    #: the seeds' mean label-free score and balanced score; None where not computed (a screen)
    score: float | None
    balanced: float | None
    #: rows per class of the ensemble labeling, largest first
    sizes: tuple[int, ...] = ()
    #: :func:`consensus_stability`; None: not measured (the seeds' stability alone decides)
    consensus: float | None = None
    #: the criterion's standard error (:func:`criterion_spread`); None: not measured
    spread: float | None = None

    @property
    def criterion(self) -> float:
        """The mean of the consensus stability and the seeds' stability (the seeds' stability
        alone where the consensus stability was not measured)."""
        if self.consensus is None:
            return self.stability
        return (self.consensus + self.stability) / 2

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
            **(
                {}
                if self.consensus is None
                else {
                    "criterion": round(self.criterion, 6),
                    "consensus_stability": round(self.consensus, 6),
                }
            ),
            "stability": round(self.stability, 6),
            **({} if self.spread is None else {"criterion_spread": round(self.spread, 6)}),
            **({} if self.score is None else {"score": round(self.score, 6)}),
            **({} if self.balanced is None else {"balanced_score": round(self.balanced, 6)}),
        }


def measure(
    setting: dict[str, Any],
    seed_labels: np.ndarray,
    scores: np.ndarray | None,
    balanced: np.ndarray | None,
    labels: np.ndarray,
    kind: str,
    consensus: bool = True,
) -> Candidate:
    """The signals of a search from its seeds' labelings (n_seeds, N), their scores and balanced
    scores (n_seeds,; None: not computed) and its ensemble's labels (N,) of ``setting["k"]``
    classes: the consensus stability with the consensus ``kind`` (:func:`consensus_kind`;
    skipped without ``consensus``), the stability, the mean scores, the class sizes."""
    k = int(setting["k"])
    stable, stable_se = stability_and_spread(seed_labels)
    halves = consensus_values(seed_labels, k, kind) if consensus else None
    return Candidate(
        setting,
        stable,
        None if scores is None else float(np.mean(scores)),
        None if balanced is None else float(np.mean(balanced)),
        class_sizes(labels, k),
        None if halves is None else float(np.mean(halves)),
        criterion_spread(stable_se, halves),
    )


def criterion_spread(stability_se: float, halves: Sequence[float] | None) -> float:
    """The standard error of a candidate's criterion: of the seeds' stability (``stability_se``,
    its jackknife error) alone, or of the mean of it and the consensus stability, whose error is
    that of the mean of its split values ``halves`` (taken as independent of the other)."""
    if halves is None:
        return stability_se
    h = np.asarray(halves, dtype=np.float64)
    halves_se = float(np.std(h, ddof=1) / np.sqrt(len(h))) if len(h) > 1 else 0.0
    return float(np.hypot(stability_se, halves_se) / 2)


def margin(best: Candidate, other: Candidate) -> tuple[float, float]:
    """How far ``best``'s criterion is above ``other``'s, and the spread of that difference (the
    two candidates' seeds are searched apart: their errors add in quadrature; 0 where either
    was not measured)."""
    spread = (
        0.0
        if best.spread is None or other.spread is None
        else float(np.hypot(best.spread, other.spread))
    )
    return best.criterion - other.criterion, spread


def signals(model: Any, setting: dict[str, Any], consensus: bool = True) -> Candidate:
    """:func:`measure` of a fitted search (its scores were computed when its seeds were
    selected)."""
    cfg = model.resolved_config()
    return measure(
        {"k": int(model.n_classes), **setting},
        model.seed_labels_,
        model.scores_,
        model.balanced_scores_,
        model.labels_,
        consensus_kind(cfg.ensemble, getattr(cfg, "auto_consensus", None)),
        consensus,
    )


def class_sizes(labels: Any, k: int) -> tuple[int, ...]:
    """Rows per class of a labeling (N,) of K classes, largest first."""
    return tuple(sorted(np.bincount(np.asarray(labels), minlength=k).tolist(), reverse=True))


def ranked(candidates: Sequence[Candidate]) -> list[Candidate]:
    """The candidates best first: those that use all their K classes before those that do not,
    then by the highest criterion (mean of consensus stability and stability); ties: the smaller
    K, then the earlier order of the views (``order``, if set)."""
    return sorted(
        candidates,
        key=lambda c: (
            not c.complete,
            -round(c.criterion, 9),
            c.setting["k"],
            c.setting.get("order", 0),
        ),
    )


def choose(candidates: Sequence[Candidate]) -> Candidate:
    """The first of :func:`ranked`: the highest criterion among the candidates that use all
    their K classes (among all of them when none does)."""
    if not candidates:
        raise HumeError("nothing was searched to choose from")
    return ranked(candidates)[0]


def reproducibility(seed_labels: np.ndarray) -> dict[str, Any]:
    """How clearly the views single out one labeling, from the seeds' labelings (n_seeds, N):
    their :func:`stability`, a level (``strong``, ``partial``, ``weak``: :data:`STANDS_OUT`,
    :data:`WEAK`) and one sentence for a person."""
    value = stability(seed_labels)
    if len(seed_labels) < 2:
        level, text = "unknown", "one seed: nothing to compare it with (run more seeds)"
    elif value >= STANDS_OUT:
        level, text = "strong", "the seeds find the same labeling: it stands out in these views"
    elif value >= WEAK:
        level, text = (
            "partial",
            "the seeds find similar labelings, not one: check the classes (more seeds, or a "
            "stronger backbone, sharpen them)",
        )
    else:
        level, text = (
            "weak",
            "the seeds disagree: these views single out no labeling, so do not trust the "
            "classes; bring a stronger backbone (e.g. DINOv2 or CLIP)",
        )
    return {"stability": round(value, 4), "level": level, "message": text}
