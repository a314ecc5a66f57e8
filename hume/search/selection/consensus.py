"""Consensus of the seeds' labelings through their co-association (docs/algorithm.md §5.4).

Two rows belong together when many seeds put them in the same class: the co-association of rows
i and j is C[i, j] = (1/S) Σₛ [lₛ(i) = lₛ(j)] = (H Hᵀ)[i, j] / S, H the (N, S·K) one-hot of every
seed's labeling. Unlike the papers' vote (:func:`hume.search.selection.ensembling.vote`), no single
seed's classes frame the result: a class the reference seed merged with another, or that most seeds
split differently, can still come out whole.

- ``cut``: the normalised cut of C (spectral clustering, Ng–Jordan–Weiss): the K leading
  eigenvectors of D^-1/2 C D^-1/2, rows normalised, k-means. Like the uniform class-size prior,
  it prefers classes of comparable size.
- ``linkage``: average linkage of 1 − C, cut at K clusters; it has no preference for equal
  sizes, so it goes with ``--class-sizes uneven``.

Memory is bounded whatever N is, time linear in N: the cut works on the (S·K, S·K) Gram matrix
of H scaled by D^-1/2 (:data:`MAX_CUT_COLUMNS` bounds S·K) and fits its k-means on a sample of
rows; the linkage clusters at most :data:`MAX_LINKAGE_ROWS` rows (a seeded subsample) and every
row then joins the cluster whose rows it agrees with most, block by block.
No ground-truth label is used.
"""

from __future__ import annotations

import logging
from typing import Any

import torch

from hume.core.errors import HumeError, setting
from hume.core.row_sampling import sample_rows
from hume.search.vocabulary import Ensemble

#: the consensus kinds by name (`--ensemble` also takes vote, the papers' ensemble, and auto)
CONSENSUS_KINDS = (Ensemble.cut.value, Ensemble.linkage.value)
#: S·K bound of the cut: its Gram matrix has (S·K)² entries (16 384² doubles: 2 GiB); beyond
#: it the cut takes the best-scoring seeds (cut_seeds)
MAX_CUT_COLUMNS = 16_384
#: rows the cut's k-means fits on, at least, and per class (cut_fit_rows)
CUT_FIT_ROWS, CUT_FIT_ROWS_PER_CLASS = 20_000, 20
#: rows clustered by the linkage (its distance matrix has rows² / 2 entries); the rest join
MAX_LINKAGE_ROWS = 4096
logger = logging.getLogger(__name__)
# rows x seeds x seeds of one scatter of the Gram matrix: bounds memory whatever N is
_GRAM_BLOCK = 1 << 22


def _codes(labelings: torch.Tensor, k: int) -> torch.Tensor:
    """``(N, S)``: the column of H that row i's class in seed s occupies (s·K + lₛ(i))."""
    offsets = k * torch.arange(labelings.shape[0], device=labelings.device)
    return (labelings + offsets[:, None]).T.contiguous()


def cut_seeds(
    n_seeds: int, k: int, scores: torch.Tensor | None = None, seed: int = 0
) -> torch.Tensor:
    """Indices of the seeds the cut uses: every seed while S·K ≤ :data:`MAX_CUT_COLUMNS`, else the
    ⌊MAX_CUT_COLUMNS / K⌋ with the highest ``scores`` ``(S,)`` (a seeded draw without scores)."""
    keep = max(1, MAX_CUT_COLUMNS // k)
    if n_seeds <= keep:
        return torch.arange(n_seeds)
    if scores is not None:
        order = torch.argsort(torch.as_tensor(scores).cpu().double(), descending=True, stable=True)
    else:
        order = torch.randperm(n_seeds, generator=torch.Generator().manual_seed(int(seed)))
    logger.warning(
        f"the cut consensus of {n_seeds} seeds × {k} classes would need a {n_seeds * k}² matrix: "
        f"it takes the {keep} {'best-scoring' if scores is not None else 'drawn'} seeds "
        f"(S·K ≤ {MAX_CUT_COLUMNS})"
    )
    return order[:keep].sort().values


def cut_fit_rows(k: int) -> int:
    """Rows the cut's k-means fits on (every other row joins its nearest centre)."""
    return max(CUT_FIT_ROWS, CUT_FIT_ROWS_PER_CLASS * k)


def cut_consensus(
    labelings: torch.Tensor, k: int, seed: int = 0, scores: torch.Tensor | None = None
) -> torch.Tensor:
    """``(N,)`` labels in ``[0, k)``: the normalised cut of the co-association of ``labelings``
    ``(S, N)``, by the K leading singular vectors of A = D^-1/2 H (from the Gram AᵀA); of at
    most :func:`cut_seeds` seeds (the best by ``scores`` when there are more). The k-means on
    the rows' spectral coordinates fits at most :func:`cut_fit_rows` rows (seeded sample)."""
    from hume.core.kmeans import KMeans

    labelings = labelings[cut_seeds(labelings.shape[0], k, scores, seed).to(labelings.device)]
    n_seeds, n = labelings.shape
    cols = n_seeds * k
    codes = _codes(labelings, k)
    sizes = torch.bincount(codes.flatten(), minlength=cols).double()
    weight = 1.0 / sizes[codes].sum(1)  # 1 / degree: Σⱼ C[i, j] · S = Σₛ |class of i in seed s|
    gram = torch.zeros(cols * cols, dtype=torch.float64, device=labelings.device)
    step = max(1, _GRAM_BLOCK // (n_seeds * n_seeds))
    for start in range(0, n, step):
        c, w = codes[start : start + step], weight[start : start + step]
        pairs = (c[:, :, None] * cols + c[:, None, :]).flatten()
        gram.index_add_(0, pairs, w[:, None, None].expand(-1, n_seeds, n_seeds).flatten())
    values, vectors = torch.linalg.eigh(gram.view(cols, cols))  # ascending
    del gram
    values, vectors = values[-k:], vectors[:, -k:]
    # U = A V Σ⁻¹: each row sums the rows of V its classes select; directions without weight
    # (seeds that use fewer than K classes) are dropped rather than amplified noise
    keep = values > 1e-9 * values[-1].clamp_min(1e-300)
    inv = torch.where(keep, values.clamp_min(1e-300).rsqrt(), torch.zeros_like(values))

    def embed(rows: torch.Tensor | slice) -> torch.Tensor:
        u = vectors[codes[rows]].sum(1) * weight[rows].sqrt()[:, None] * inv
        return u / u.norm(dim=1, keepdim=True).clamp_min(1e-12)

    sample = sample_rows(n, cut_fit_rows(k), seed, "cut")
    if sample is None:
        labels = KMeans(k, n_init=10, seed=seed).fit(embed(slice(None))).labels_
        return torch.as_tensor(labels, device=labelings.device)
    model = KMeans(k, n_init=10, seed=seed).fit(
        embed(torch.from_numpy(sample).to(labelings.device))
    )
    chunk = max(1, _GRAM_BLOCK // (n_seeds * k))
    out = [
        torch.as_tensor(model.predict(embed(slice(start, start + chunk))))
        for start in range(0, n, chunk)
    ]
    return torch.cat(out).to(labelings.device)


def linkage_consensus(
    labelings: torch.Tensor, k: int, seed: int = 0, max_rows: int = MAX_LINKAGE_ROWS
) -> torch.Tensor:
    """``(N,)`` labels in ``[0, k)``: average linkage of 1 − co-association, cut at ``k``
    clusters, on at most ``max_rows`` rows (seeded subsample); every row then joins the cluster
    with the highest mean co-association to it."""
    import numpy as np
    from scipy.cluster.hierarchy import fcluster
    from scipy.spatial.distance import squareform

    n_seeds, n = labelings.shape
    sample = sample_rows(n, max_rows, seed, "linkage")
    rows = torch.arange(n) if sample is None else torch.from_numpy(sample)
    sub = labelings[:, rows.to(labelings.device)].cpu()
    together = torch.zeros(len(rows), len(rows), dtype=torch.float64)
    for lab in sub:
        together += lab[:, None] == lab[None, :]
    distance = (1.0 - together / n_seeds).numpy()
    np.fill_diagonal(distance, 0.0)
    tree = _average_linkage(squareform(distance, checks=False), seed)
    clusters = torch.as_tensor(fcluster(tree, t=k, criterion="maxclust") - 1)
    # share[c, s, l]: of cluster c's rows, the share seed s puts in class l
    share = torch.zeros(k, n_seeds, k, dtype=torch.float64)
    for s in range(n_seeds):
        share[:, s].index_put_((clusters, sub[s]), torch.ones(len(rows), dtype=share.dtype), True)
    share /= torch.bincount(clusters, minlength=k).clamp_min(1).to(share.dtype)[:, None, None]
    share = share.to(labelings.device)
    step = max(1, _GRAM_BLOCK // (k * n_seeds))
    out = []
    for start in range(0, n, step):  # (k, rows) agreement of one block of rows at a time
        block = labelings[:, start : start + step]
        out.append(sum(share[:, s, block[s]] for s in range(n_seeds)).argmax(0))
    return torch.cat(out)


def consensus(
    labelings: torch.Tensor,
    k: int,
    kind: str,
    seed: int = 0,
    scores: torch.Tensor | None = None,
) -> torch.Tensor:
    """``(N,)`` consensus labels of ``labelings`` ``(S, N)`` (integers in ``[0, k)``) by ``kind``
    (``cut`` or ``linkage``); ``seed`` fixes the k-means starts and the samples; ``scores``
    ``(S,)`` pick the seeds of a cut too wide for all of them (:func:`cut_seeds`)."""
    if kind == "cut":
        return cut_consensus(labelings, k, seed, scores)
    if kind == "linkage":
        return linkage_consensus(labelings, k, seed)
    raise HumeError(f"unknown consensus {kind!r}: use one of {', '.join(CONSENSUS_KINDS)}")


def _average_linkage(condensed: Any, seed: int) -> Any:
    """scipy's average-linkage tree of a condensed distance vector whose values tie massively.

    The co-association of S seeds takes only S + 1 values, and on such ties scipy's
    nearest-neighbour chain can return an invalid tree (a cluster merged twice). A seeded jitter far below the 1/S step breaks the ties without reordering
    any distinct distances; the tree is checked, and a second draw tried, before giving up."""
    import numpy as np
    from scipy.cluster.hierarchy import is_valid_linkage, linkage

    for attempt in range(3):
        noise = np.random.default_rng([int(seed), attempt]).uniform(0.0, 1e-9, condensed.shape)
        tree = linkage(condensed + noise, method="average")
        if is_valid_linkage(tree):
            return tree
    raise HumeError(
        "the linkage consensus got no valid tree from scipy; use "
        f"{setting('ensemble', 'cut')} or vote"
    )
