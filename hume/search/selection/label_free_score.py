"""The label-free score of a labeling (docs/algorithm.md §5.1): how well an *unregularised*
multinomial logistic regression on φ2 predicts a seed's own labeling under shuffled 10-fold
cross-validation. All seeds and folds are fitted together on the device as one batch of
independent problems (per-problem L-BFGS with a batched Armijo line search). No ground-truth
label is read."""

from __future__ import annotations

from collections.abc import Sequence

import torch

from hume.core import row_sampling
from hume.core.errors import HumeError
from hume.search.views import check_seed_labelings, standardise

# Elements (rows x problems x classes) of one logits tensor; bounds memory by chunking the
# (labeling, fold) problems (one problem at a time at the least).
DEFAULT_MAX_ELEMENTS = 1 << 26


def fold_ids(n: int, n_folds: int, seed: int, device: torch.device | str = "cpu") -> torch.Tensor:
    """Shuffled K-fold assignment: ``(n,)`` long, fold of each row (sizes differ by at most one).

    Drawn on the CPU from ``seed`` so that every device gets the same folds.
    """
    gen = torch.Generator().manual_seed(int(seed))
    perm = torch.randperm(n, generator=gen)
    ids = torch.empty(n, dtype=torch.long)
    ids[perm] = torch.arange(n) % n_folds
    return ids.to(device)


def sample_rows(n: int, max_rows: int | None, seed: int) -> torch.Tensor | None:
    """Sorted indices ``(max_rows,)`` of a uniform sample of ``n`` rows drawn from ``seed`` on the
    CPU (the same rows on every device); None when every row fits (the ``label_free_score``
    stream of :func:`hume.core.row_sampling.sample_rows`, apart from the folds' draw)."""
    rows = row_sampling.sample_rows(n, max_rows, seed, "label_free_score")
    return None if rows is None else torch.from_numpy(rows)


def _standardise(x: torch.Tensor) -> torch.Tensor:
    """Per-feature zero mean / unit variance, plus a column of ones for the intercept."""
    if not x.dtype.is_floating_point or x.dtype in (torch.float16, torch.bfloat16):
        x = x.float()
    if not torch.isfinite(x).all():
        raise HumeError("φ2 features contain NaN or Inf: clean or re-embed the view")
    x = standardise(x)[0]  # constant features become zero instead of dividing by zero
    return torch.cat([x, torch.ones_like(x[:, :1])], dim=1)


class _BatchedLogReg:
    """B independent unregularised multinomial logistic regressions on shared rows ``x1``.

    Problem b fits rows with ``weights[:, b] > 0`` (weights sum to 1 per problem: mean loss, as
    sklearn) to ``targets[:, b]``; classes absent from its training rows are masked out (sklearn
    only knows the classes it saw). Parameters ``w``: ``(P, B, K)``.
    """

    def __init__(self, x1: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor, k: int):
        self.x1, self.weights, self.k = x1, weights, k
        self.targets = targets[..., None]  # (N, B, 1)
        counts = torch.zeros(targets.shape[1], k, dtype=x1.dtype, device=x1.device)
        counts.scatter_add_(1, targets.T, weights.T)
        self.present = counts > 0  # (B, K)
        # Additive mask: a huge finite negative keeps absent classes out without NaN/Inf.
        self.mask = torch.where(self.present, 0.0, -1e30).to(x1.dtype)

    def logits(self, w: torch.Tensor) -> torch.Tensor:
        p, b, k = w.shape
        return (self.x1 @ w.reshape(p, b * k)).view(-1, b, k) + self.mask

    def _loss(self, z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        lse = torch.logsumexp(z, dim=-1)  # (N, B)
        nll = lse - z.gather(-1, self.targets)[..., 0]
        return (nll * self.weights).sum(0), lse

    def loss(self, w: torch.Tensor) -> torch.Tensor:
        return self._loss(self.logits(w))[0]  # (B,)

    def loss_grad(self, w: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        z = self.logits(w)
        loss, lse = self._loss(z)
        # d(mean CE)/dz = weight * (softmax - onehot); absent classes get zero.
        dz = torch.exp(z - lse[..., None]).mul_(self.weights[..., None])
        dz.scatter_add_(-1, self.targets, -self.weights[..., None])
        p, b, k = w.shape
        grad = (self.x1.T @ dz.reshape(-1, b * k)).view(p, b, k)
        return loss, grad


def _lbfgs(
    problem: _BatchedLogReg,
    n_params: int,
    batch: int,
    max_iter: int,
    tol: float,
    history: int = 10,
    max_ls: int = 25,
) -> torch.Tensor:
    """Per-problem L-BFGS (two-loop recursion with per-problem inner products), zero start."""
    k = problem.k
    dev, dt = problem.x1.device, problem.x1.dtype
    w = torch.zeros(n_params, batch, k, device=dev, dtype=dt)
    f, g = problem.loss_grad(w)
    s_hist: list[torch.Tensor] = []
    y_hist: list[torch.Tensor] = []
    rho_hist: list[torch.Tensor] = []
    gamma = torch.ones(batch, device=dev, dtype=dt)
    active = g.abs().amax((0, 2)) > tol  # (B,)

    def dot(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
        return (a * b).sum((0, 2))

    for _ in range(max_iter):
        if not bool(active.any()):
            break
        q = g.clone()
        alphas = []
        for s, y, rho in zip(reversed(s_hist), reversed(y_hist), reversed(rho_hist)):
            a = rho * dot(s, q)
            q -= a[:, None] * y
            alphas.append(a)
        r = gamma[:, None] * q
        for s, y, rho, a in zip(s_hist, y_hist, rho_hist, reversed(alphas)):
            beta = rho * dot(y, r)
            r += (a - beta)[:, None] * s
        d = -r
        gd = dot(g, d)
        bad = gd >= 0  # not a descent direction: fall back to steepest descent
        d = torch.where(bad[:, None], -g, d)
        gd = torch.where(bad, -dot(g, g), gd)
        d = d * active[:, None]
        # Batched backtracking (Armijo), first trial step 1 (scaled by gamma above).
        step = active.to(dt)
        if not s_hist:  # first iteration: keep the first step modest
            step = step * torch.clamp(1.0 / dot(g, g).sqrt().clamp_min(1e-12), max=1.0)
        pending = active.clone()
        for _ls in range(max_ls):
            f_try = problem.loss(w + step[:, None] * d)
            ok = f_try <= f + 1e-4 * step * gd
            pending = pending & ~ok
            if not bool(pending.any()):
                break
            step = torch.where(pending, step * 0.5, step)
        step = torch.where(pending, torch.zeros_like(step), step)  # line search failed: stop it
        active = active & ~pending
        s_new = step[:, None] * d
        w = w + s_new
        f_new, g_new = problem.loss_grad(w)
        y_new = g_new - g
        sy = dot(s_new, y_new)
        valid = sy > 1e-10
        rho_hist.append(torch.where(valid, 1.0 / sy.clamp_min(1e-30), torch.zeros_like(sy)))
        s_hist.append(s_new)
        y_hist.append(y_new)
        gamma = torch.where(valid, sy / dot(y_new, y_new).clamp_min(1e-30), gamma)
        if len(s_hist) > history:
            s_hist.pop(0), y_hist.pop(0), rho_hist.pop(0)
        f, g = f_new, g_new
        active = active & (g.abs().amax((0, 2)) > tol)
    return w


def _cv_accuracy(
    x1: torch.Tensor,
    labelings: torch.Tensor,
    folds: torch.Tensor,
    n_folds: int,
    k: int,
    max_iter: int,
    tol: float,
    max_elements: int,
    live: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(S, 2)`` per labeling, for one standardised view ``x1`` (N, P): the mean fold accuracy,
    and the *balanced* score from the same fits: the mean over the K classes of the share of each
    class's rows predicted right when held out (every row is held out once; a class the labeling
    leaves empty counts 0), so that a class of a few rows counts as much as a large one and
    labelings with tiny, hard-to-learn or missing classes score low.

    ``live`` ``(S, K)`` bool: the classes each labeling uses on all its rows, when ``x1`` holds a
    sample of them; a class the sample happens to miss then does not count, one the labeling
    leaves empty still counts 0.

    Also returns ``(S, n_folds)``: each fold's held-out accuracy (what the score averages)."""
    n_seeds, n = labelings.shape
    # one problem per (labeling, fold), fitted in chunks of problems that bound the logits
    pairs = [(s, f) for s in range(n_seeds) for f in range(n_folds)]
    per_chunk = max(1, max_elements // max(n * k, 1))
    correct_folds = torch.zeros(n_seeds, n_folds, dtype=x1.dtype, device=x1.device)
    held_out = torch.bincount(folds, minlength=n_folds).to(x1.dtype)
    right = torch.zeros(n, n_seeds, dtype=x1.dtype, device=x1.device)  # held out once each
    for start in range(0, len(pairs), per_chunk):
        chunk = pairs[start : start + per_chunk]
        seeds = torch.tensor([p[0] for p in chunk], device=x1.device)
        fold = torch.tensor([p[1] for p in chunk], device=x1.device)
        targets = labelings[seeds].T.contiguous()  # (N, B)
        train = folds[:, None] != fold[None, :]  # (N, B)
        weights = train.to(x1.dtype)
        weights = weights / weights.sum(0, keepdim=True).clamp_min(1)
        problem = _BatchedLogReg(x1, targets, weights, k)
        w = _lbfgs(problem, x1.shape[1], len(chunk), max_iter, tol)
        with torch.no_grad():
            pred = problem.logits(w).argmax(-1)  # (N, B)
        correct = ((pred == targets) & ~train).to(x1.dtype)
        correct_folds[seeds, fold] = correct.sum(0)
        right.index_add_(1, seeds, correct)
    per_fold = correct_folds / held_out.clamp_min(1)
    acc = per_fold.mean(1)
    hits = torch.zeros(n_seeds, k, dtype=x1.dtype, device=x1.device)
    sizes = torch.zeros(n_seeds, k, dtype=x1.dtype, device=x1.device)
    hits.scatter_add_(1, labelings, right.T.contiguous())
    sizes.scatter_add_(1, labelings, torch.ones_like(right.T))
    recall = hits / sizes.clamp_min(1)
    if live is None:
        balanced = recall.mean(1)
    else:
        seen = (sizes > 0).sum(1).clamp_min(1)
        balanced = recall.sum(1) / seen * live.sum(1) / k
    return torch.stack([acc, balanced], 1), per_fold


@torch.no_grad()
def label_free_scores(
    phi2: Sequence[torch.Tensor] | torch.Tensor,
    labelings: torch.Tensor,
    k: int,
    n_folds: int = 10,
    seed: int = 0,
    max_iter: int = 100,
    tol: float = 1e-4,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    balanced: bool = False,
    both: bool = False,
    max_rows: int | None = None,
) -> torch.Tensor:
    """Label-free score of each labeling (docs/algorithm.md §5).

    Score = mean accuracy of ``n_folds``-fold cross-validation (shuffled folds, the same folds for
    every labeling, drawn from ``seed``) of an unregularised multinomial logistic regression on
    the standardised φ2 features that predicts the labeling itself; averaged over the φ2 views.

    Args:
        phi2: one ``(N, D)`` tensor or a sequence of them (each a φ2 view, on the compute device).
        labelings: ``(S, N)`` integer labels in ``[0, k)``; empty classes are allowed.
        k: number of classes.
        n_folds: folds (at least 2, at most N).
        seed: seed of the fold assignment.
        max_iter, tol: L-BFGS iterations and gradient tolerance (sklearn's defaults).
        max_elements: memory bound, in elements of one (rows x problems x classes) tensor.
        balanced: score by the mean per-class held-out recall instead of the accuracy (see
            :func:`_cv_accuracy`); used to compare labelings of different class sizes or K.
        both: return both scores, from the same fits.
        max_rows: score on a uniform sample of at most this many rows (drawn from ``seed``, the
            same rows for every labeling and view; None: every row). The balanced score then
            skips a class the sample misses but still counts a class the labeling leaves empty
            as 0 (docs/algorithm.md §5.8).

    Returns:
        ``(S,)`` scores in [0, 1] (float, on the device of the features); with ``both``,
        ``(S, 2)``: the score and the balanced score.
    """
    scores = _scored(phi2, labelings, k, n_folds, seed, max_iter, tol, max_elements, max_rows)[0]
    return scores if both else scores[:, int(balanced)]


@torch.no_grad()
def fold_scores(
    phi2: Sequence[torch.Tensor] | torch.Tensor,
    labelings: torch.Tensor,
    k: int,
    n_folds: int = 10,
    seed: int = 0,
    max_iter: int = 100,
    tol: float = 1e-4,
    max_elements: int = DEFAULT_MAX_ELEMENTS,
    max_rows: int | None = None,
) -> torch.Tensor:
    """``(S, n_folds)`` each fold's held-out accuracy, averaged over the φ2 views: the terms whose
    mean is :func:`label_free_scores` (same arguments, same folds and rows), from which the
    spread of a difference between two labelings' scores is measured
    (:mod:`hume.search.selection.score_spread`)."""
    return _scored(phi2, labelings, k, n_folds, seed, max_iter, tol, max_elements, max_rows)[1]


def _scored(
    phi2: Sequence[torch.Tensor] | torch.Tensor,
    labelings: torch.Tensor,
    k: int,
    n_folds: int,
    seed: int,
    max_iter: int,
    tol: float,
    max_elements: int,
    max_rows: int | None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(S, 2)`` score and balanced score, and ``(S, n_folds)`` fold accuracies, each averaged
    over the views (:func:`label_free_scores`)."""
    views = [phi2] if isinstance(phi2, torch.Tensor) else list(phi2)
    if not views:
        raise HumeError("label_free_scores needs at least one φ2 view")
    views = [torch.as_tensor(v) for v in views]
    n = views[0].shape[0]
    for v in views:
        if v.dim() != 2:
            raise HumeError(f"φ2 features must be (rows, dims), got shape {tuple(v.shape)}")
        if v.shape[0] != n:
            raise HumeError(
                f"φ2 views have different row counts ({v.shape[0]} vs {n}): "
                "use views of the same rows"
            )
    if not 2 <= n_folds <= n:
        raise HumeError(f"n_folds must be between 2 and the number of rows ({n}), got {n_folds}")
    device = views[0].device
    labelings = check_seed_labelings(labelings, k, n).to(device)
    rows = sample_rows(n, max_rows, seed)
    live = None
    if rows is not None:
        if max_rows is not None and max_rows < n_folds:
            raise HumeError(f"max_rows must be at least n_folds ({n_folds}), got {max_rows}")
        live = torch.zeros(labelings.shape[0], k, dtype=torch.bool, device=device)
        live.scatter_(1, labelings, True)
        rows = rows.to(device)
        labelings = labelings[:, rows]
        views = [v.to(device)[rows] for v in views]
        n = len(rows)
    folds = fold_ids(n, n_folds, seed, device)
    fits = [
        _cv_accuracy(
            _standardise(v.to(device)),
            labelings,
            folds,
            n_folds,
            k,
            max_iter,
            tol,
            max_elements,
            live,
        )
        for v in views
    ]
    return (
        torch.stack([f[0] for f in fits]).mean(0),
        torch.stack([f[1] for f in fits]).mean(0),
    )
