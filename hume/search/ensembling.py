"""The seeds' labelings made one (docs/algorithm.md §5): every seed matched to a reference by
maximum overlap (Hungarian), the papers' vote in the reference's classes, or a consensus of the
seeds' co-association (hume.search.consensus) with every seed matched to it; and how many seeds
agree with the result on each row. No ground-truth label is read."""

from __future__ import annotations

import torch

from hume.core.errors import HumeError
from hume.search.views import check_seed_labelings


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
            (hume.search.consensus), so that no single seed's classes frame the result, and
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
        raise HumeError("--ensemble auto needs the views to score on: use best_ensemble")
    if kind == "vote":
        perms = match_labelings(labelings, labelings[ref], k)
        return vote(labelings, perms, ref, k), ref, perms
    from hume.search.consensus import consensus

    labels = consensus(labelings, k, kind, seed, scores).to(labelings.device)
    return labels, ref, match_labelings(labelings, labels, k)


def best_ensemble(
    labelings: torch.Tensor,
    scores: torch.Tensor,
    k: int,
    views: list[torch.Tensor],
    consensus_kind: str = "cut",
    seed: int = 0,
    max_rows: int | None = None,
) -> tuple[torch.Tensor, int, torch.Tensor, str, dict[str, float]]:
    """``--ensemble auto``: the consensus ``consensus_kind`` (the one of the run's class-size
    prior: cut, or linkage for uneven sizes) and the vote on the same seeds, and of the two the
    one whose labeling linear classifiers learn best (its label-free score on ``views``, the φ2
    views the seeds were scored on; ties to the consensus) (docs/algorithm.md §5.6).

    Returns :func:`ensemble`'s ``(labels, reference_seed, perms)`` of that kind, the kind, and
    both kinds' label-free scores (on at most ``max_rows`` rows, the seeds' sample, with the
    papers' 100 L-BFGS iterations: the two often score within a hair of each other)."""
    from hume.search.label_free_score import label_free_scores

    kinds = (consensus_kind, "vote")
    made = {kind: ensemble(labelings, scores, k, kind, seed) for kind in kinds}
    stacked = torch.stack([made[kind][0] for kind in kinds])
    learned = (
        label_free_scores(views, stacked, k, seed=seed, max_rows=max_rows).double().cpu().tolist()
    )
    by_kind = {kind: round(float(v), 6) for kind, v in zip(kinds, learned)}
    kind = kinds[1] if round(learned[1], 9) > round(learned[0], 9) else kinds[0]
    return (*made[kind], kind, by_kind)
