"""The seeds' labelings made one (docs/algorithm.md §5): every seed matched to a reference by
maximum overlap (Hungarian), the papers' vote in the reference's classes, or a consensus of the
seeds' co-association (hume.search.selection.consensus) with every seed matched to it; and how many seeds
agree with the result on each row. No ground-truth label is read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from hume.core.errors import HumeError, setting
from hume.search.selection.score_spread import is_tie, paired_spread
from hume.search.views import check_seed_labelings

#: what a tie between the consensus and the vote keeps (docs/algorithm.md §5.9)
TIE_GOES_TO = "cut"


def overlap_counts(labelings: torch.Tensor, reference: torch.Tensor, k: int) -> torch.Tensor:
    """``(S, k, k)`` counts: ``[s, c, r]`` = rows with class c in seed s and r in the reference."""
    labelings = check_seed_labelings(labelings, k)
    reference = check_seed_labelings(reference, k, labelings.shape[1])[0].to(labelings.device)
    idx = labelings * k + reference[None]
    counts = torch.zeros(labelings.shape[0], k * k, dtype=torch.long, device=labelings.device)
    counts.scatter_add_(1, idx, torch.ones_like(idx))
    return counts.view(-1, k, k)


def match_labelings(labelings: torch.Tensor, reference: torch.Tensor, k: int) -> torch.Tensor:
    """Hungarian maximum-overlap matching of each labeling to ``reference``.

    Args:
        labelings: ``(S, N)`` labels in ``[0, k)``.
        reference: ``(N,)`` labels in ``[0, k)``.

    Returns:
        ``(S, k)`` long permutations (on the labelings' device): ``perms[s, c]`` is the reference
        class matched to class c of labeling s, so ``perms[s][labelings[s]]`` is in reference terms.
    """
    from hume.core.labelings import best_matching

    labelings = check_seed_labelings(labelings, k)
    counts = overlap_counts(labelings, reference, k).cpu().numpy()  # one copy of S*k*k counts
    perms = torch.empty(labelings.shape[0], k, dtype=torch.long)
    for s, c in enumerate(counts):
        rows, cols = best_matching(c)
        perms[s, torch.as_tensor(rows)] = torch.as_tensor(cols)
    return perms.to(labelings.device)


def vote(labelings: torch.Tensor, perms: torch.Tensor, reference: int, k: int) -> torch.Tensor:
    """Per-sample majority vote of ``labelings`` (S, N) mapped by ``perms`` (S, k) into the
    reference's class numbering; ``(N,)`` labels. Ties go to the reference seed's label (half a
    vote never overturns a majority), then to the lowest class index."""
    labelings = check_seed_labelings(labelings, k)
    perms = torch.as_tensor(perms, device=labelings.device).long()
    mapped = torch.gather(perms, 1, labelings)  # (S, N) in reference numbering
    votes = torch.zeros(labelings.shape[1], k, device=labelings.device)
    votes.scatter_add_(1, mapped.T.contiguous(), torch.ones_like(mapped.T, dtype=votes.dtype))
    votes.scatter_add_(1, mapped[reference][:, None], torch.full_like(votes[:, :1], 0.5))
    return votes.argmax(1)


def seed_agreement(
    labelings: torch.Tensor, perms: torch.Tensor, labels: torch.Tensor, k: int
) -> torch.Tensor:
    """(N,) the fraction of seeds that, after matching to the reference, give each row the
    ensemble's label ``labels`` (N,): 1 where every seed agrees, 1/S where only one does."""
    labelings = check_seed_labelings(labelings, k)
    perms = torch.as_tensor(perms, device=labelings.device).long()
    mapped = torch.gather(perms, 1, labelings)
    return (mapped == torch.as_tensor(labels, device=labelings.device)[None]).double().mean(0)


def ensemble(
    labelings: torch.Tensor, scores: torch.Tensor, k: int, kind: str = "vote", seed: int = 0
) -> tuple[torch.Tensor, int, torch.Tensor]:
    """Label-free ensemble of the seeds' labelings.

    Args:
        labelings: ``(S, N)`` labels in ``[0, k)``.
        scores: ``(S,)`` label-free scores (higher is better).
        kind: ``vote`` (the papers): every seed matched (Hungarian) to the best-scoring seed,
            majority vote; ``cut`` or ``linkage``: a consensus of every seed's co-association
            (hume.search.selection.consensus), so that no single seed's classes frame the result, and
            every seed matched to it.
        seed: the consensus's k-means starts and subsample.

    Returns:
        ``(labels, reference_seed, perms)``: ``(N,)`` ensemble labels, the index of the
        best-scoring seed, and the ``(S, k)`` matchings of the seeds to the labels. :func:`vote`
        of the matched seeds labels new rows; with ``vote`` it gives these rows their labels
        exactly, after a consensus it agrees with it on most rows (not all). Ties in the vote go
        to the best-scoring seed's label (then to the lowest class index).
    """
    labelings = check_seed_labelings(labelings, k)
    scores = torch.as_tensor(scores).flatten()
    if scores.shape[0] != labelings.shape[0]:
        raise HumeError(f"{scores.shape[0]} scores for {labelings.shape[0]} labelings")
    if torch.isnan(scores.double()).any():
        raise HumeError("label-free scores contain NaN: rerun the scoring")
    ref = int(torch.argmax(scores.double().cpu()))
    if kind == "auto":
        raise HumeError(
            f"{setting('ensemble', 'auto')} needs the views to score on: use best_ensemble"
        )
    if kind == "vote":
        perms = match_labelings(labelings, labelings[ref], k)
        return vote(labelings, perms, ref, k), ref, perms
    from hume.search.selection.consensus import consensus

    labels = consensus(labelings, k, kind, seed, scores).to(labelings.device)
    return labels, ref, match_labelings(labelings, labels, k)


@dataclass
class EnsembleChoice:
    """What ``--ensemble auto`` weighed (docs/algorithm.md §5.6, §5.9): each kind's label-free
    score, the spread of their difference, whether that difference is a tie, and the kind kept."""

    kind: str
    scores: dict[str, float]
    spread: float
    #: the difference was within the spread: :data:`TIE_GOES_TO` decided, not the scores
    tie: bool

    def settings(self) -> dict[str, Any]:
        """What a run's config records (``hyperparameters``)."""
        return {
            "ensemble_chosen": self.kind,
            "ensemble_scores": self.scores,
            "ensemble_spread": round(self.spread, 6),
            "ensemble_tie": self.tie,
        }


def best_ensemble(
    labelings: torch.Tensor,
    scores: torch.Tensor,
    k: int,
    views: list[torch.Tensor],
    consensus_kind: str = "cut",
    seed: int = 0,
    max_rows: int | None = None,
) -> tuple[torch.Tensor, int, torch.Tensor, EnsembleChoice]:
    """``--ensemble auto``: the consensus ``consensus_kind`` (the one of the run's class-size
    prior: cut, or linkage for uneven sizes) and the vote on the same seeds, and of the two the
    one whose labeling linear classifiers learn best (its label-free score on ``views``, the φ2
    views the seeds were scored on); where the two scores differ by no more than
    :data:`~hume.search.selection.score_spread.TIE_SPREADS` spreads of their difference, a tie, which
    :data:`TIE_GOES_TO` decides (docs/algorithm.md §5.6, §5.9).

    Returns :func:`ensemble`'s ``(labels, reference_seed, perms)`` of that kind, and the
    :class:`EnsembleChoice` (scores on at most ``max_rows`` rows, the seeds' sample, with the
    papers' 100 L-BFGS iterations)."""
    from hume.search.selection.label_free_score import fold_scores

    kinds = (consensus_kind, "vote")
    made = {kind: ensemble(labelings, scores, k, kind, seed) for kind in kinds}
    stacked = torch.stack([made[kind][0] for kind in kinds])
    folds = fold_scores(views, stacked, k, seed=seed, max_rows=max_rows).double().cpu().numpy()
    choice = weigh(kinds, folds)
    return (*made[choice.kind], choice)


def weigh(kinds: tuple[str, str], folds: Any) -> EnsembleChoice:
    """The rule of ``--ensemble auto`` from the two kinds' fold accuracies ``folds`` (2, F) on the
    same folds (:func:`~hume.search.selection.label_free_score.fold_scores`): the higher score, unless the
    difference is within :data:`~hume.search.selection.score_spread.TIE_SPREADS` spreads, a tie, which
    :data:`TIE_GOES_TO` (the consensus where it is not one of ``kinds``) decides."""
    import numpy as np

    folds = np.asarray(folds, dtype=np.float64)
    learned = folds.mean(1)
    by_kind = {kind: round(float(v), 6) for kind, v in zip(kinds, learned)}
    spread = paired_spread(folds[0], folds[1])
    # no spread: the two scored alike on every fold (the same labeling, or nearly): no tie to break
    tie = spread > 0 and is_tie(float(learned[0] - learned[1]), spread)
    if tie:
        kind = TIE_GOES_TO if TIE_GOES_TO in kinds else kinds[0]
    else:
        kind = kinds[1] if learned[1] > learned[0] else kinds[0]
    return EnsembleChoice(kind, by_kind, spread, tie)


def choice_text(hyperparameters: dict[str, Any]) -> str:
    """One sentence on what ``--ensemble auto`` kept and why, from a run's recorded
    hyperparameters; empty when the run chose no ensemble (a fixed kind, an earlier version)."""
    kept, scores = hyperparameters.get("ensemble_chosen"), hyperparameters.get("ensemble_scores")
    if not kept or not scores or len(scores) != 2:
        return ""
    other = next(kind for kind in scores if kind != kept)
    spread = hyperparameters.get("ensemble_spread")
    if spread is None:  # a run of an earlier version: the higher score, no spread measured
        return f"{kept} (label-free score {scores[kept]:.3f}, {other} {scores[other]:.3f})"
    if spread == 0:
        return f"{kept} (the {other} scored the same on every fold: {scores[kept]:.3f})"
    if hyperparameters.get("ensemble_tie"):
        return (
            f"{kept} and {other} scored {scores[kept]:.3f} / {scores[other]:.3f}, "
            f"within the spread ({spread:.3f}): a tie, kept the {kept} by rule; the {other} "
            f"is `--ensemble {other}`"
        )
    apart = abs(scores[kept] - scores[other]) / spread if spread > 0 else float("inf")
    return (
        f"{kept} (label-free score {scores[kept]:.3f} against the {other}'s "
        f"{scores[other]:.3f}, {apart:.1f} spreads apart)"
    )
