"""HUME's outer loop for a group of seeds, on one device, with no host↔device copy per step.

Per outer iteration (docs/algorithm.md §2): draw S subsets of m rows on the device; soft labels
Y = sparsemax(W φ1 / t) of every seed; per subset and φ2 view, the inner classifier is fitted by
T GD steps from a fresh PyTorch-default initialisation and scored on the held-out part
(:mod:`hume.search.estimators.hume_method.inner`, exact second-order hypergradient); loss = mean over views of the
held-out CE − λ·H(mean label over the subset), averaged over subsets; per-seed gradient clipped
to norm 1; Adam; lr and t annealed at the milestones.

Randomness, so that a seed's result does not depend on how seeds are grouped: the task encoder
of seed j starts from a generator seeded by (random_state, j); the subsets and inner
initialisations of iteration i come from a device generator seeded by (random_state, i) and are
shared by every seed of the run (common random numbers; the official code runs each seed in its
own process with its own subsets). Sharing lets all seeds reuse one gathered X per subset, which
is what makes many seeds in one process cheap: X (S, n, d) @ V (S, d, B·K). When a subset is the
whole dataset (m = N, e.g. N ≤ 10 000 at the official m), the subsets differ only in which rows
are held out, and every subset and seed uses the one X (N, d) with a mask instead of a gathered
copy (:func:`hume.search.estimators.hume_method.inner.shared_rows_inner_loss`; the same sums, fewer and larger
products).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch

from hume.search.estimators.estimator_base import GroupResult
from hume.search.estimators.hume_method.encoder import (
    hard_labels,
    init_params,
    orthonormal_rows,
    soft_labels,
)
from hume.search.estimators.hume_method.hume_config import HumeConfig
from hume.search.estimators.hume_method.inner import (
    KEEP_PROBS_BYTES,
    inner_loss,
    shared_rows_inner_loss,
)
from hume.search.optimiser.adam import Adam
from hume.search.optimiser.outer_loop import GroupSearch, State, start_iteration
from hume.search.optimiser.random_streams import memory_budget, stream_generator
from hume.search.optimiser.size_terms import size_term
from hume.search.views import l2_normalise, standardise

#: Random stream of outer iteration ``i``: ``ITERATION_STREAM + i`` (−1: the large-K shared
#: inner initialisation); seeds use streams 0, 1, 2, … (see :mod:`hume.search.optimiser.random_streams`).
ITERATION_STREAM = 1_000_003


@dataclass
class Prepared:
    """Views on the device, ready for the search."""

    phi1: torch.Tensor  # (N, d1), rows L2-normalised
    phi2: list[torch.Tensor]  # each (N, d2 + 1): (standardised) φ2 and a ones column
    inner_lr: list[float]  # inner step size per φ2 view
    phi1_mean: torch.Tensor  # (d1,) subtracted before normalising (zeros: none)
    phi2_mean: list[torch.Tensor] = field(default_factory=list)
    phi2_std: list[torch.Tensor] = field(default_factory=list)

    @property
    def n(self) -> int:
        return self.phi1.shape[0]


def _lambda_max(x: torch.Tensor, iters: int = 100) -> float:
    """Largest eigenvalue of xᵀx / N by power iteration (computed once, before the loop)."""
    g = torch.Generator(device=x.device).manual_seed(0)
    v = torch.randn(x.shape[1], device=x.device, dtype=x.dtype, generator=g)
    lam = x.new_tensor(0.0)
    for _ in range(iters):
        w = x.T @ (x @ v) / x.shape[0]
        lam = w.norm()
        v = w / lam.clamp_min(1e-30)
    return float(lam)


def _whiten(x: torch.Tensor, eps: float) -> torch.Tensor:
    """ZCA whitening: centred x times (Σ + eps·mean(λ) I)^(−1/2). Makes plain GD on a linear
    model well conditioned, so few inner steps fit the classifier."""
    x = x - x.mean(0)
    cov = (x.T @ x / x.shape[0]).double()
    lam, vec = torch.linalg.eigh(cov)
    lam = lam.clamp_min(0) + eps * lam.clamp_min(0).mean()
    return x @ ((vec * lam.rsqrt()) @ vec.T).to(x.dtype)


def prepare(
    views: Sequence[torch.Tensor],
    cfg: HumeConfig,
    device: torch.device,
    dtype: torch.dtype = torch.float32,
) -> Prepared:
    """Move views to ``device`` once; normalise φ1 rows; standardise φ2; pick inner step sizes."""
    phi1 = views[0].to(device=device, dtype=dtype)
    phi1_mean = phi1.mean(0) if cfg.center_phi1 else torch.zeros_like(phi1[0])
    phi1 = l2_normalise(phi1 - phi1_mean)
    phi2, lrs, means, stds = [], [], [], []
    for v in views[1:]:
        x = v.to(device=device, dtype=dtype)
        if cfg.standardise_phi2:
            x, mean, std = standardise(x)
            means.append(mean)
            stds.append(std)
        if cfg.whiten_phi2:
            x = _whiten(x, cfg.whiten_eps)
        x = torch.cat([x, torch.ones_like(x[:, :1])], 1)
        lrs.append(
            cfg.inner_lr if cfg.inner_lr is not None else cfg.inner_lr_scale / _lambda_max(x)
        )
        phi2.append(x)
    return Prepared(phi1, phi2, lrs, phi1_mean, means, stds)


def _subset_rows(
    gen: torch.Generator, n: int, s: int, m: int, device: torch.device
) -> torch.Tensor:
    """(S, m) row indices, each row a uniform subset without replacement, drawn on the device."""
    keys = torch.rand((s, n), generator=gen, device=device)
    return keys.argsort(1)[:, :m]


def _inner_init(gen: torch.Generator, s: int, d_aug: int, k: int, device, dtype) -> torch.Tensor:
    """(S, d+1, K) PyTorch-default Linear init: U(−1/√d, 1/√d) for weights and bias."""
    bound = 1.0 / math.sqrt(d_aug - 1)
    u = torch.rand((s, d_aug, k), generator=gen, device=device, dtype=dtype)
    return (2 * u - 1) * bound


def iteration_generator(device: torch.device, random_state: int, it: int) -> torch.Generator:
    """The generator of outer iteration ``it``, shared by every seed of the run."""
    return stream_generator(device, random_state, ITERATION_STREAM + it)


#: Use :func:`shared_rows_inner_loss` when every subset holds all N rows (m = N); False forces
#: the gathered path (tests compare the two).
SHARED_ROWS = True
#: On the CPU, fit this many bytes of (subset, seed, class, row) activations at a time (the
#: inner problems of different subsets are independent); the whole batch at once on a GPU.
#: The faster of the sizes measured (bench/RESULTS.md, "Two constants of HUME's CPU search").
CPU_CHUNK_BYTES = 2 << 20


def _chunk(device: torch.device, width: int, n: int) -> int | None:
    """Subsets per inner call: bounded by the cache on the CPU, all of them elsewhere."""
    if device.type != "cpu":
        return None
    return max(1, CPU_CHUNK_BYTES // (width * n * 4))


def outer_loss(
    data: Prepared,
    a: torch.Tensor,
    k: int,
    cfg: HumeConfig,
    it: int,
    random_state: int,
    temperature: float,
    shared_init: list[torch.Tensor] | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-seed outer loss (B,) of iteration ``it`` and per-seed label entropy (B,)."""
    device, dtype = data.phi1.device, data.phi1.dtype
    n = data.n
    m = cfg.subset_rows(n)
    n_tr = max(1, min(m - 1, int(cfg.train_fraction * m)))
    b = a.shape[0]
    gen = iteration_generator(device, random_state, it)
    idx = _subset_rows(gen, n, cfg.subsets, m, device)
    w = orthonormal_rows(a)
    y = soft_labels(data.phi1, w, temperature).flatten(1)  # (N, B·K)
    shared_rows = m == n and SHARED_ROWS
    if shared_rows:  # every subset holds all rows: only the held-out rows differ
        train = torch.zeros((cfg.subsets, n), device=device, dtype=dtype)
        train.scatter_(1, idx[:, :n_tr], 1.0)
        p_bar = y.unflatten(-1, (b, k)).mean(0).expand(cfg.subsets, b, k)
    else:
        y_sub = y[idx]  # (S, m, B·K)
        p_bar = y_sub.unflatten(-1, (b, k)).mean(1)  # (S, B, K)
    ce = 0.0
    for v, x_all in enumerate(data.phi2):
        if shared_init is not None:
            v0 = shared_init[v].expand(cfg.subsets, -1, -1)
        else:
            v0 = _inner_init(gen, cfg.subsets, x_all.shape[-1], k, device, dtype)
        v0 = v0.repeat(1, 1, b)  # every seed starts its subset's classifier from the same V0
        if shared_rows:
            ce = ce + shared_rows_inner_loss(
                x_all,
                y,
                train,
                idx[:, n_tr:],
                v0,
                k,
                cfg.inner_steps,
                data.inner_lr[v],
                _chunk(device, b * k, n),
            )
            continue
        x = x_all[idx]
        ce = ce + inner_loss(
            x[:, :n_tr],
            x[:, n_tr:],
            y_sub[:, :n_tr],
            y_sub[:, n_tr:],
            v0,
            k,
            cfg.inner_steps,
            data.inner_lr[v],
        )
    ce = ce / len(data.phi2)  # (S, B)
    entropy = size_term(p_bar.detach(), "entropy")  # reported whatever the term
    loss = (ce - cfg.entropy_weight * size_term(p_bar, cfg.size_term)).mean(0)
    return loss, entropy.mean(0)


def group_size(data: Prepared, k: int, cfg: HumeConfig, budget_bytes: int | None = None) -> int:
    """How many seeds fit in one batch within ``budget_bytes`` of device memory."""
    device = data.phi1.device
    item = data.phi1.element_size()
    budget_bytes = memory_budget(device, budget_bytes)
    m = cfg.subset_rows(data.n)
    s = cfg.subsets
    shared = sum(s * m * x.shape[1] * 3 for x in data.phi2) * item
    shared += len(data.phi2) * KEEP_PROBS_BYTES  # probabilities kept until the backward pass
    per_seed = 0
    for x in data.phi2:
        # stored iterates + a few (S, m, K) activations per φ2 view
        per_seed += (cfg.inner_steps + 4) * s * x.shape[1] * k + 10 * s * m * k
    per_seed += 8 * data.n * k
    per_seed *= item
    return max(1, int((budget_bytes - shared) // max(per_seed, 1)))


class _Group:
    """HUME's steps of one group's outer loop, which
    :class:`~hume.search.optimiser.outer_loop.GroupSearch` drives: the task encoders of the
    seeds ``seed_ids``, their Adam, the annealing."""

    def __init__(
        self,
        data: Prepared,
        k: int,
        cfg: HumeConfig,
        seed_ids: Sequence[int],
        random_state: int,
        state: State | None,
    ):
        self.data, self.k, self.cfg, self.random_state = data, k, cfg, random_state
        self.device, self.dtype = device, dtype = data.phi1.device, data.phi1.dtype
        if state is None:
            a = init_params(data.phi1.shape[1], k, list(seed_ids), random_state, dtype)
            a = a.to(device)
        else:
            a = state["params"].to(device=device, dtype=dtype)
        self.a = a.requires_grad_(True)
        # states of earlier versions kept no step count: it equals the iteration
        adam_state = state.get("adam") if state is not None else None
        self.adam = Adam([self.a], adam_state, step=start_iteration(state))
        self.shared_init = None
        if cfg.shared_inner_init:
            gen = iteration_generator(device, random_state, -1)
            self.shared_init = [
                _inner_init(gen, 1, x.shape[1], k, device, dtype) for x in data.phi2
            ]
        self.milestones = cfg.milestones()

    def step(self, it: int) -> tuple[torch.Tensor, torch.Tensor]:
        cfg, a = self.cfg, self.a
        n_done = sum(1 for mm in self.milestones if it >= mm)
        scale = cfg.anneal_factor**n_done
        loss, entropy = outer_loss(
            self.data, a, self.k, cfg, it, self.random_state, cfg.tau * scale, self.shared_init
        )
        a.grad = None
        loss.sum().backward()  # seeds are independent: each gets its own gradient
        with torch.no_grad():
            norms = a.grad.flatten(1).norm(dim=1)
            coef = (cfg.clip_norm / (norms + 1e-6)).clamp(max=1.0)
            self.adam.step([a.grad * coef.view(-1, 1, 1)], cfg.outer_lr * scale)
        return loss, entropy

    def state(self) -> State:
        return {"params": self.a.detach().cpu().clone(), "adam": self.adam.state_dict()}

    def finish(self, objective: torch.Tensor) -> GroupResult:
        with torch.no_grad():
            w = orthonormal_rows(self.a.detach())
            labels = hard_labels(self.data.phi1, w)
        return GroupResult(w, objective, labels)


#: ``search_group(data, k, cfg, seed_ids, random_state, state, ...)``: the outer loop of a group
#: of seeds together (:class:`~hume.search.optimiser.outer_loop.GroupSearch`); returns their
#: encoders ((B, K, d1) orthonormal rows), final objectives and labelings argmax W φ1.
search_group = GroupSearch(_Group, progress_every=10)
