"""A labeling refitted around a reviewer's anchors (docs/algorithm.md §12).

Given a run's labeling (N,) with a review's corrections applied and the rows a reviewer moved
or confirmed (the anchors), :func:`refit_labeling` relabels every other row so that it agrees
with them: in each view a weighted multinomial logistic regression (a probe) is fitted to the
anchors, each weighing as much as ``anchor_weight`` rows, and to the labeling itself, each row
weighted by the share of the run's seeds that gave it its class; every row then takes the class of
the views' mean log-probability, its own class in the run counting ``stay`` more; the anchors
keep theirs. :func:`refit_with_choice` then runs k-means with the anchors held
(:func:`anchored_kmeans`) from the anchors' means and from the probes' labeling, and keeps a
k-means labeling where k-means' own objective says it is clearly tighter. The result is a
:class:`ProbeModel`, a fitted model like a search's: it labels new rows (``hume predict``)
through every view. No ground truth is read.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch

from hume.core.errors import HumeError
from hume.search.estimators.estimator_base import SeedSearch, store_params
from hume.search.views import check_views


@dataclass(frozen=True)
class RefitSettings:
    """How a refit weighs its evidence (docs/algorithm.md §12.2 has the measurements).

    ``anchor_weight``: what one anchor weighs against a row the run is sure of; ``min_trust``:
    rows fewer of whose seeds agree than this are left out of the probes' training (their class
    is the one in doubt); ``rounds``: fits of the probes, each on the labeling the one before
    gave; ``l2``: the probes' weight decay; ``stay``: what a row's class in the run adds to its
    log-probability, times the share of seeds that gave it (a row changes class only where the
    probes say so clearly); ``max_rows``: other rows a probe trains on at most (a seeded sample;
    every anchor always); ``max_iter``: L-BFGS iterations per fit."""

    anchor_weight: float = 20.0
    min_trust: float = 0.5
    rounds: int = 1
    l2: float = 0.3
    stay: float = 0.5
    max_rows: int = 20_000
    max_iter: int = 50


#: the logit of a class a probe was not shown
ABSENT = -1e4
#: rows whose log-probabilities are computed at once (bounded memory at any N)
PREDICT_CHUNK = 65_536


def _standardise(x: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    z = (x.double() - mean) / std
    return torch.cat([z, torch.ones_like(z[:, :1])], 1)


def _statistics(x: torch.Tensor, rows: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-feature mean and standard deviation (constant features: 1) over ``rows``."""
    sample = x[rows].double()
    std = sample.std(0, unbiased=False)
    return sample.mean(0), torch.where(std > 1e-12, std, torch.ones_like(std))


def fit_probe(
    z: torch.Tensor, y: torch.Tensor, w: torch.Tensor, k: int, l2: float, max_iter: int
) -> torch.Tensor:
    """A weighted multinomial logistic regression on ``z`` (n, d+1; the last column ones):
    ``(d+1, K)`` weights minimising Σ wᵢ·CE(zᵢ W, yᵢ) / Σ w + l2·‖W without bias‖². A class no
    training row has gets the logit :data:`ABSENT` (a probe never gives a class it was not
    shown)."""
    present = torch.bincount(y, minlength=k) > 0
    mask = torch.where(present, 0.0, ABSENT).to(z.dtype)
    weight = torch.zeros(z.shape[1], k, dtype=z.dtype, requires_grad=True)
    w = w.to(z.dtype) / w.sum()
    opt = torch.optim.LBFGS(
        [weight], lr=1.0, max_iter=max_iter, line_search_fn="strong_wolfe", tolerance_grad=1e-6
    )

    def closure() -> torch.Tensor:
        opt.zero_grad()
        logits = z @ weight + mask
        ce = torch.nn.functional.cross_entropy(logits, y, reduction="none")
        loss = (w * ce).sum() + l2 * weight[:-1].pow(2).sum()
        loss.backward()
        return loss

    opt.step(closure)
    out = weight.detach().clone()
    out[:, ~present] = 0.0
    out[-1, ~present] = ABSENT  # through the ones column: such a class's logit is always ABSENT
    return out


def _log_probs(
    views: Sequence[torch.Tensor], probes: Sequence[torch.Tensor], stats: Sequence[Any]
) -> torch.Tensor:
    """(V, N, K) log-probabilities of every view's probe, a chunk of rows at a time."""
    n = views[0].shape[0]
    out = torch.empty(len(views), n, probes[0].shape[1], dtype=torch.float64)
    for start in range(0, n, PREDICT_CHUNK):
        stop = min(n, start + PREDICT_CHUNK)
        for v, (x, w, (mean, std)) in enumerate(zip(views, probes, stats)):
            logits = _standardise(x[start:stop], mean.double(), std.double()) @ w.double()
            out[v, start:stop] = torch.log_softmax(logits, 1)
    return out


def _margin(log_probs: torch.Tensor) -> torch.Tensor:
    """(N,) gap between the two largest of the views' mean probabilities."""
    p = log_probs.exp().mean(0)
    top = p.topk(2, dim=1).values if p.shape[1] > 1 else torch.cat([p, 0 * p], 1)
    return (top[:, 0] - top[:, 1]).clamp(0, 1)


class ProbeModel(SeedSearch):
    """A refit's fitted model: one probe per view. ``predict_seeds`` gives (V+1, M) labelings,
    the first the views' mean log-probability (the reference), then each view's own probe, all
    in the same class numbering; the margin is the gap between the two largest mean
    probabilities. ``encoders_`` holds the probes ((d_v+1, K) each) and the views' statistics."""

    method: ClassVar[str] = "refit"

    def __init__(self, n_classes: int = 2) -> None:
        store_params(self, locals())

    def _predict_seeds(self, views: list[torch.Tensor]) -> np.ndarray:
        lp = self._log_probs(views)
        seeds = torch.cat([lp.mean(0).argmax(1)[None], lp.argmax(2)])
        return seeds.numpy().astype(np.int64)

    def _margins(self, views: list[torch.Tensor]) -> np.ndarray:
        return _margin(self._log_probs(views)).numpy()

    def _log_probs(self, views: list[torch.Tensor]) -> torch.Tensor:
        enc = self.encoders_
        stats = list(zip(enc["mean"], enc["std"]))
        return _log_probs(views, enc["probes"], stats)

    def _encoder_dims(self) -> list[int]:
        return [int(w.shape[0]) - 1 for w in self.encoders_["probes"]]


def check_anchors(rows: np.ndarray, classes: np.ndarray, n: int, k: int) -> None:
    """Anchors are distinct rows of [0, N) with classes in [0, K)."""
    if len(rows) != len(classes):
        raise HumeError(f"{len(rows)} anchored rows but {len(classes)} classes for them")
    if len(rows) and (rows.min() < 0 or rows.max() >= n or len(np.unique(rows)) != len(rows)):
        raise HumeError(f"the anchored rows must be distinct rows of 0 … {n - 1}")
    if len(classes) and (classes.min() < 0 or classes.max() >= k):
        raise HumeError(f"an anchor's class is outside 0 … {k - 1}")


def refit_labeling(
    views: Sequence[Any],
    labels: np.ndarray,
    anchor_rows: np.ndarray,
    anchor_classes: np.ndarray,
    k: int,
    trust: np.ndarray | None = None,
    settings: RefitSettings | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, ProbeModel]:
    """(labels (N,), the fitted :class:`ProbeModel`) of ``views`` (each (N, D_v)) refitted from
    ``labels`` (N,) in [0, K) around the anchors (rows (M,), classes (M,)), which keep their
    class. ``trust`` (N,) in [0, 1]: how sure the labeling is of each row (the run's seed
    agreement; None: 1 everywhere)."""
    cfg = settings or RefitSettings()
    tensors = check_views(list(views))
    n = tensors[0].shape[0]
    labels = np.asarray(labels, dtype=np.int64)
    anchor_rows = np.asarray(anchor_rows, dtype=np.int64)
    anchor_classes = np.asarray(anchor_classes, dtype=np.int64)
    if labels.shape != (n,) or (n and (labels.min() < 0 or labels.max() >= k)):
        raise HumeError(f"the labeling must be ({n},) classes in 0 … {k - 1}")
    check_anchors(anchor_rows, anchor_classes, n, k)
    trust_t = torch.ones(n, dtype=torch.float64) if trust is None else torch.as_tensor(trust)
    trust_t = trust_t.double().clamp(0, 1)
    prior_trust = trust_t.clone()
    gen = torch.Generator().manual_seed(int(seed))
    anchored = torch.zeros(n, dtype=torch.bool)
    anchored[torch.as_tensor(anchor_rows)] = True
    others = torch.nonzero(~anchored).flatten()
    if len(others) > cfg.max_rows:
        others = others[torch.randperm(len(others), generator=gen)[: cfg.max_rows]].sort().values
    fit_rows = torch.cat([others, torch.as_tensor(anchor_rows)])
    stats = [_statistics(x, fit_rows) for x in tensors]
    z = [_standardise(x[fit_rows], *s).float() for x, s in zip(tensors, stats)]
    current = torch.as_tensor(labels).clone()
    current[torch.as_tensor(anchor_rows)] = torch.as_tensor(anchor_classes)
    probes: list[torch.Tensor] = []
    for _ in range(max(1, cfg.rounds)):
        w_other = trust_t[others] * (trust_t[others] >= cfg.min_trust)
        each = cfg.anchor_weight * len(others) / max(1, n - len(anchor_rows))
        w = torch.cat([w_other, torch.full((len(anchor_rows),), each, dtype=torch.float64)])
        y = current[fit_rows]
        keep = w > 0
        probes = [
            fit_probe(zv[keep], y[keep], w[keep].float(), k, cfg.l2, cfg.max_iter).double()
            for zv in z
        ]
        lp = _log_probs(tensors, probes, stats).mean(0)
        lp[torch.arange(n), torch.as_tensor(labels)] += cfg.stay * prior_trust
        current = lp.argmax(1)
        current[torch.as_tensor(anchor_rows)] = torch.as_tensor(anchor_classes)
        trust_t = torch.ones(n, dtype=torch.float64)  # later rounds trust the refitted labeling
    model = ProbeModel(n_classes=k)
    model.encoders_ = {
        "probes": [p.float() for p in probes],
        "mean": [m.float() for m, _ in stats],
        "std": [s.float() for _, s in stats],
    }
    model.n_seeds = len(tensors) + 1
    model.perms_ = np.tile(np.arange(k, dtype=np.int64), (model.n_seeds, 1))
    model.reference_seed_ = 0
    model.dims_ = [int(t.shape[1]) for t in tensors]
    model.n_views_in_ = len(tensors)
    return current.numpy().astype(np.int64), model


def _kmeans_space(views: Sequence[Any]) -> torch.Tensor:
    """The views L2-normalised row by row and put side by side (where k-means works)."""
    return torch.cat(
        [torch.nn.functional.normalize(torch.as_tensor(v).float(), dim=1) for v in views], 1
    )


def kmeans_objective(views: Sequence[Any], labels: np.ndarray) -> float:
    """k-means' objective of ``labels`` (N,): the mean squared distance of each row to its
    class's mean, on the L2-normalised views side by side (lower: tighter classes)."""
    x = _kmeans_space(views).double()
    lab = torch.as_tensor(np.asarray(labels), dtype=torch.long)
    k = int(lab.max()) + 1 if len(lab) else 0
    sums = torch.zeros(k, x.shape[1], dtype=torch.float64).index_add_(0, lab, x)
    counts = torch.bincount(lab, minlength=k).double().clamp(min=1)
    # Σ‖x − μ‖² = Σ‖x‖² − Σ_c ‖Σ_{i∈c} xᵢ‖² / n_c
    total = x.pow(2).sum() - (sums.pow(2).sum(1) / counts).sum()
    return float(total.clamp(min=0) / max(1, len(lab)))


def anchored_kmeans(
    views: Sequence[Any],
    labels: np.ndarray,
    anchor_rows: np.ndarray,
    anchor_classes: np.ndarray,
    k: int,
    iters: int = 50,
    start: str = "anchors",
) -> np.ndarray:
    """(N,) k-means on the L2-normalised views side by side, the anchors held in their class at
    every step. ``start``: "anchors", each class's centre started at the mean of its anchors (of
    its rows in ``labels`` where it has none); "labels", at the mean of its rows in ``labels``
    (the anchors in their class). A class with neither rows nor anchors is never given."""
    if start not in ("anchors", "labels"):
        raise HumeError(f"anchored k-means starts from 'anchors' or 'labels', not {start!r}")
    x = _kmeans_space(views)
    rows = torch.as_tensor(anchor_rows, dtype=torch.long)
    classes = torch.as_tensor(anchor_classes, dtype=torch.long)
    assign = torch.as_tensor(labels, dtype=torch.long).clone()
    assign[rows] = classes
    centres = torch.zeros(k, x.shape[1])
    alive = torch.zeros(k, dtype=torch.bool)
    for c in range(k):
        mine = rows[classes == c]
        use_anchors = start == "anchors" and len(mine)
        members = mine if use_anchors else torch.nonzero(assign == c).flatten()
        if len(members):
            centres[c], alive[c] = x[members].mean(0), True
    for _ in range(iters):
        new = torch.empty_like(assign)
        for lo in range(0, len(x), PREDICT_CHUNK):
            d = torch.cdist(x[lo : lo + PREDICT_CHUNK], centres)
            new[lo : lo + PREDICT_CHUNK] = d.masked_fill(~alive, torch.inf).argmin(1)
        new[rows] = classes
        if torch.equal(new, assign):
            break
        assign = new
        for c in torch.nonzero(alive).flatten().tolist():
            members = assign == c
            if members.any():
                centres[c] = x[members].mean(0)
    return assign.numpy().astype(np.int64)


#: k-means replaces the probes' labeling only where it lowers k-means' objective by more than
#: this share (docs/algorithm.md §12.2: a smaller gain is no reason to move away from the run)
KMEANS_GAIN = 0.005
#: objectives closer than this share are a tie (k-means from the anchors' means is then kept)
OBJECTIVE_TIE = 1e-4


def refit_with_choice(
    views: Sequence[Any],
    labels: np.ndarray,
    anchor_rows: np.ndarray,
    anchor_classes: np.ndarray,
    k: int,
    trust: np.ndarray | None = None,
    settings: RefitSettings | None = None,
    seed: int = 0,
) -> tuple[np.ndarray, ProbeModel, dict[str, Any]]:
    """:func:`refit_labeling` (the probes), then :func:`anchored_kmeans` twice, started from the
    anchors' means and from the probes' labeling; the k-means labeling with the lower objective
    (:func:`kmeans_objective`; a tie within :data:`OBJECTIVE_TIE` goes to the anchors' start) is
    kept where its objective is lower than the probes' labeling's by more than
    :data:`KMEANS_GAIN`, else the probes': (labels (N,), the model, what was compared). Without
    anchors, the probes. The model of a k-means labeling is the probes fitted to it. No
    anchor is held out: the choice is k-means' own label-free objective, the anchors clamped."""
    anchor_rows = np.asarray(anchor_rows, dtype=np.int64)
    anchor_classes = np.asarray(anchor_classes, dtype=np.int64)
    tensors = check_views(list(views))
    labels = np.asarray(labels, dtype=np.int64)
    probes, model = refit_labeling(
        tensors, labels, anchor_rows, anchor_classes, k, trust, settings, seed
    )
    if not len(anchor_rows):
        return probes, model, {"chosen": "probes", "compared": False}
    fixed = labels.copy()
    fixed[anchor_rows] = anchor_classes
    kmeans = {
        "anchors": anchored_kmeans(tensors, fixed, anchor_rows, anchor_classes, k),
        "probes": anchored_kmeans(tensors, probes, anchor_rows, anchor_classes, k, start="labels"),
    }
    objective = {f"kmeans from {s}": kmeans_objective(tensors, lab) for s, lab in kmeans.items()}
    objective["probes"] = kmeans_objective(tensors, probes)
    start = "anchors"
    if objective["kmeans from probes"] < (1 - OBJECTIVE_TIE) * objective["kmeans from anchors"]:
        start = "probes"
    record: dict[str, Any] = {
        "compared": True,
        "objectives": {s: round(v, 6) for s, v in objective.items()},
        "gain_needed": KMEANS_GAIN,
    }
    if objective[f"kmeans from {start}"] < (1 - KMEANS_GAIN) * objective["probes"]:
        out = kmeans[start]
        one = dataclasses.replace(settings or RefitSettings(), rounds=1)
        _, model = refit_labeling(tensors, out, anchor_rows, anchor_classes, k, None, one, seed)
        return out, model, {**record, "chosen": f"kmeans from {start}"}
    return probes, model, {**record, "chosen": "probes"}


#: k-means runs from random starts beside the one from a split's own cut (tightest_cut)
CUT_STARTS = 4


def tightest_cut(
    views: Sequence[Any], cut: np.ndarray, parts: int, seed: int = 0
) -> tuple[np.ndarray, str]:
    """(labels (N,) in [0, parts), where they came from) of a class's rows cut into ``parts``:
    ``cut`` (a search's), or k-means started from it or from :data:`CUT_STARTS` seeded random
    labelings, whichever has the lowest :func:`kmeans_objective` among those using every part
    (docs/algorithm.md §12.1: where the views hold another cut a search learns as well, k-means'
    objective tells the two apart without labels)."""
    tensors = check_views(list(views))
    cut = np.asarray(cut, dtype=np.int64)
    none = np.empty(0, dtype=np.int64)
    rng = np.random.default_rng(seed)
    starts = [cut] + [rng.integers(0, parts, len(cut)) for _ in range(CUT_STARTS)]
    candidates = [("search", cut)] + [
        ("kmeans", anchored_kmeans(tensors, s, none, none, parts, start="labels")) for s in starts
    ]
    best, best_from, best_obj = cut, "search", math.inf
    for origin, labels in candidates:
        if len(np.unique(labels)) < parts:
            continue  # a cut that leaves a part empty is no cut into that many
        obj = kmeans_objective(tensors, labels)
        if obj < best_obj * (1 - OBJECTIVE_TIE):  # a tie goes to the earlier: the search's
            best, best_from, best_obj = labels, origin, obj
    return best, best_from
