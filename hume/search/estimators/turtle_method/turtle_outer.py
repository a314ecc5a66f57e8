"""TURTLE's outer loop for a group of seeds (Gadetsky, Jiang & Brbić, ICML 2024).

HUME parametrises the labeling in φ1 only and differentiates through the whole inner fit
(second order). TURTLE lets *every* view parametrise the labeling and takes a first-order
hypergradient (docs/algorithm.md §4):

- task encoder per view v: a weight-normalised linear map with bias,
  ``W_v = g_v · V_v / ‖V_v‖`` (row-wise), ``p_v(x) = softmax(W_v x_v + b_v)``;
  the labeling is ``ȳ(x) = mean_v p_v(x)`` and a row's class is ``argmax ȳ(x)``;
- one outer step: a batch of rows (default min(N, 10 000)) drawn on the device; per view a linear
  classifier (weights + bias) trained M Adam steps on soft-target cross-entropy against the
  *detached* labeling, from a fresh PyTorch-default initialisation (``warm_start`` keeps
  classifiers and their Adam state across steps); then
  ``loss = Σ_v CE(frozen classifier_v, ȳ) − γ · Σ_v H(mean_batch p_v)``, one Adam step on the
  task encoders.

Every seed of a group shares the rows and the inner initialisation of a step (common random
numbers, :mod:`hume.search.optimiser.random_streams`), and all seeds' logits come from one matrix product per
view, ``X (m, d) @ W (d, S·K)``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch

from hume.search.estimators.estimator_base import GroupResult
from hume.search.estimators.turtle_method.turtle_config import TurtleConfig
from hume.search.optimiser.adam import Adam
from hume.search.optimiser.outer_loop import GroupSearch, State
from hume.search.optimiser.random_streams import memory_budget, mix_seed, stream_generator
from hume.search.optimiser.size_terms import size_term

#: Random stream of outer step ``i``: ``STEP_STREAM + i``; seeds use streams 0, 1, 2, …
STEP_STREAM = 2_000_003


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------
def init_encoders(
    dims: Sequence[int],
    k: int,
    seed_ids: Sequence[int],
    random_state: int,
    dtype: torch.dtype = torch.float32,
) -> list[dict[str, torch.Tensor]]:
    """Per view ``{"g": (S, K), "v": (S, K, d), "b": (S, K)}``: PyTorch's default Linear init
    (U(−1/√d, 1/√d)) with weight norm (g = ‖v_k‖), one CPU generator per seed id."""
    out: list[dict[str, list[torch.Tensor]]] = [{"g": [], "v": [], "b": []} for _ in dims]
    for seed in seed_ids:
        gen = torch.Generator().manual_seed(mix_seed(random_state, seed))
        for view, d in zip(out, dims):
            bound = 1.0 / math.sqrt(d)
            v = (2 * torch.rand((k, d), generator=gen, dtype=torch.float64) - 1) * bound
            b = (2 * torch.rand((k,), generator=gen, dtype=torch.float64) - 1) * bound
            view["v"].append(v)
            view["b"].append(b)
            view["g"].append(v.norm(dim=1))
    return [{name: torch.stack(t).to(dtype) for name, t in view.items()} for view in out]


def effective_weights(enc: dict[str, torch.Tensor]) -> torch.Tensor:
    """(S, K, d) weights g · v / ‖v‖ (row-wise weight normalisation)."""
    v = enc["v"]
    return enc["g"][..., None] * v / v.norm(dim=-1, keepdim=True)


def softmax(z: torch.Tensor) -> torch.Tensor:
    """Softmax over the last dim (written out: several times faster than torch.softmax on the CPU
    for few classes; differentiable, the shift by the row max is a constant)."""
    e = torch.exp(z - z.detach().amax(-1, keepdim=True))
    return e / e.sum(-1, keepdim=True)


def log_softmax(z: torch.Tensor) -> torch.Tensor:
    zs = z - z.amax(-1, keepdim=True)
    return zs - torch.log(torch.exp(zs).sum(-1, keepdim=True))


def view_probs(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor) -> torch.Tensor:
    """(m, d) rows × (S, K, d) weights + (S, K) bias → (m, S, K) softmax probabilities."""
    s, k, d = weight.shape
    z = (x @ weight.reshape(s * k, d).T).view(-1, s, k) + bias
    return softmax(z)


def _inner_init(
    gen: torch.Generator, d: int, k: int, device: torch.device, dtype: torch.dtype
) -> tuple[torch.Tensor, torch.Tensor]:
    """(d, K) weights and (K,) bias, PyTorch-default Linear init, shared by the seeds of a step."""
    bound = 1.0 / math.sqrt(d)
    w = (2 * torch.rand((k, d), generator=gen, device=device, dtype=dtype) - 1) * bound
    b = (2 * torch.rand((k,), generator=gen, device=device, dtype=dtype) - 1) * bound
    return w.T.contiguous(), b


# --------------------------------------------------------------------------------------------
# Inner problem: M Adam steps of soft-target CE, all seeds at once, closed-form gradients
# --------------------------------------------------------------------------------------------
@dataclass
class InnerClassifiers:
    """Linear classifiers of one view for S seeds, trained by Adam with closed-form gradients."""

    w: torch.Tensor  # (d, S, K)
    b: torch.Tensor  # (S, K)
    adam: Adam

    @classmethod
    def fresh(cls, w0: torch.Tensor, b0: torch.Tensor, s: int) -> InnerClassifiers:
        """Every seed starts from the same (d, K) / (K,) initialisation."""
        w = w0[:, None, :].expand(-1, s, -1).contiguous()
        b = b0[None, :].expand(s, -1).contiguous()
        return cls(w, b, Adam([w, b]))

    @classmethod
    def restore(
        cls, st: dict[str, Any], device: torch.device, dtype: torch.dtype
    ) -> InnerClassifiers:
        """From :meth:`as_dict` (or the moments ``mw, vw, mb, vb, step`` of earlier versions)."""
        w, b = (st[key].to(device=device, dtype=dtype) for key in ("w", "b"))
        adam = st.get("adam") or {
            "m": [st["mw"], st["mb"]],
            "v": [st["vw"], st["vb"]],
            "step": st["step"],
        }
        return cls(w, b, Adam([w, b], adam))

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        d, s, k = self.w.shape
        return (x @ self.w.reshape(d, s * k)).view(-1, s, k) + self.b

    def fit_step(self, x: torch.Tensor, targets: torch.Tensor, lr: float) -> None:
        """One Adam step on the mean soft-target CE against ``targets`` (m, S, K)."""
        m = x.shape[0]
        d, s, k = self.w.shape
        dz = (softmax(self.logits(x)) - targets) / m  # (m, S, K)
        gw = (x.T @ dz.reshape(m, s * k)).view(d, s, k)
        self.adam.step([gw, dz.sum(0)], lr)

    def as_dict(self) -> dict[str, Any]:
        return {
            "w": self.w.cpu().clone(),
            "b": self.b.cpu().clone(),
            "adam": self.adam.state_dict(),
        }


# --------------------------------------------------------------------------------------------
# Outer step
# --------------------------------------------------------------------------------------------
def step_generator(device: torch.device, random_state: int, it: int) -> torch.Generator:
    """The generator of outer step ``it``, shared by every seed of the run."""
    return stream_generator(device, random_state, STEP_STREAM + it)


def step_rows(gen: torch.Generator, n: int, m: int, device: torch.device) -> torch.Tensor | None:
    """(m,) rows of one step drawn on the device without replacement; None: all rows."""
    if m >= n:
        return None
    return torch.randperm(n, generator=gen, device=device)[:m]


def outer_loss(
    xs: Sequence[torch.Tensor],
    encoders: Sequence[dict[str, torch.Tensor]],
    inner: Sequence[InnerClassifiers],
    cfg: TurtleConfig,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-seed TURTLE loss (S,) on the batch ``xs`` (one (m, d_v) tensor per view).

    Trains ``inner`` (one :class:`InnerClassifiers` per view, modified in place) for M Adam steps on the
    detached labeling, then returns ``Σ_v CE(classifier_v, ȳ) − γ Σ_v R(mean p_v)``, R the size
    term (``cfg.size_term``; the entropy H by default; the gradient reaches the encoders through ȳ
    and p_v only: first order) and the per-seed label entropy Σ_v H(mean p_v) (S,).
    """
    probs = [view_probs(x, effective_weights(e), e["b"]) for x, e in zip(xs, encoders)]
    labels = torch.stack(probs).mean(0)  # (m, S, K)
    target = labels.detach()
    with torch.no_grad():
        for _ in range(cfg.inner_steps):
            for x, st in zip(xs, inner):
                st.fit_step(x, target, cfg.inner_lr)
        log_q = [log_softmax(st.logits(x)) for x, st in zip(xs, inner)]
    pred_error = sum(-(labels * lq).sum(-1).mean(0) for lq in log_q)  # (S,)
    means = [p.mean(0) for p in probs]
    term = sum(size_term(m, cfg.size_term) for m in means)  # (S,)
    entropy = sum(size_term(m.detach(), "entropy") for m in means)  # reported whatever the term
    return pred_error - cfg.entropy_weight * term, entropy


# --------------------------------------------------------------------------------------------
# A group of seeds
# --------------------------------------------------------------------------------------------
def seed_labels(
    views: Sequence[torch.Tensor],
    weights: Sequence[torch.Tensor],
    biases: Sequence[torch.Tensor],
    max_elements: int = 1 << 25,
) -> torch.Tensor:
    """(S, N) labeling: argmax over classes of the mean over views of softmax(W_v x_v + b_v).

    Rows are processed in chunks of at most ``max_elements`` (rows × seeds × classes)."""
    n = views[0].shape[0]
    s, k, _ = weights[0].shape
    chunk = max(1, max_elements // (s * k))
    out = []
    for start in range(0, n, chunk):
        p = sum(
            view_probs(x[start : start + chunk], w, b) for x, w, b in zip(views, weights, biases)
        )
        out.append(p.argmax(-1).T)
    return torch.cat(out, 1).contiguous()


class _Group:
    """TURTLE's steps of one group's outer loop, which
    :class:`~hume.search.optimiser.outer_loop.GroupSearch` drives, on the (prepared, on-device)
    ``views``: the seeds' task encoders, their Adam, the inner classifiers (kept across steps
    with ``warm_start``)."""

    def __init__(
        self,
        views: Sequence[torch.Tensor],
        k: int,
        cfg: TurtleConfig,
        seed_ids: Sequence[int],
        random_state: int,
        state: State | None,
    ):
        self.views, self.k, self.cfg, self.random_state = views, k, cfg, random_state
        self.device, self.dtype = device, dtype = views[0].device, views[0].dtype
        self.n, self.s = views[0].shape[0], len(seed_ids)
        self.m = cfg.rows_per_step(self.n)
        if state is None:
            encoders = init_encoders([x.shape[1] for x in views], k, seed_ids, random_state, dtype)
        else:
            encoders = state["params"]
        self.encoders = [
            {key: t.to(device=device, dtype=dtype).requires_grad_(True) for key, t in e.items()}
            for e in encoders
        ]
        self.inner: list[InnerClassifiers] | None = None
        if state is not None and state.get("inner"):
            self.inner = [InnerClassifiers.restore(st, device, dtype) for st in state["inner"]]
        self.params = [e[key] for e in self.encoders for key in ("g", "v", "b")]
        self.opt = Adam(self.params, _outer_adam_state(state))

    def step(self, it: int) -> tuple[torch.Tensor, torch.Tensor]:
        views, cfg = self.views, self.cfg
        gen = step_generator(self.device, self.random_state, it)
        rows = step_rows(gen, self.n, self.m, self.device)
        xs = list(views) if rows is None else [x[rows] for x in views]
        if self.inner is None or not cfg.warm_start:
            self.inner = [
                InnerClassifiers.fresh(
                    *_inner_init(gen, x.shape[1], self.k, self.device, self.dtype), self.s
                )
                for x in views
            ]
        loss, entropy = outer_loss(xs, self.encoders, self.inner, cfg)
        for p in self.params:
            p.grad = None
        loss.sum().backward()  # seeds are independent: each gets its own gradient
        self.opt.step([p.grad for p in self.params], cfg.outer_lr)
        return loss, entropy

    def state(self) -> State:
        inner = self.inner
        return {
            "params": [
                {key: t.detach().cpu().clone() for key, t in e.items()} for e in self.encoders
            ],
            "adam": self.opt.state_dict(),
            "inner": [st.as_dict() for st in inner] if self.cfg.warm_start and inner else None,
        }

    def finish(self, objective: torch.Tensor) -> GroupResult:
        with torch.no_grad():
            weights = [effective_weights(e) for e in self.encoders]
            biases = [e["b"].detach() for e in self.encoders]
            labels = seed_labels(self.views, weights, biases)
        enc = [{"weight": w.detach(), "bias": b} for w, b in zip(weights, biases)]
        return GroupResult(enc, objective, labels)


#: ``search_group(views, k, cfg, seed_ids, random_state, state, ...)``: TURTLE for a group of
#: seeds together (:class:`~hume.search.optimiser.outer_loop.GroupSearch`) on the (prepared,
#: on-device) ``views``; returns their encoders, final objectives and labelings.
search_group = GroupSearch(_Group, progress_every=20)


def _outer_adam_state(state: State | None) -> dict[str, Any] | None:
    """The encoders' Adam state of a checkpoint; earlier versions saved torch.optim.Adam's."""
    if state is None or not state.get("adam"):
        return None
    adam = state["adam"]
    if "param_groups" not in adam:
        return adam
    per_param = [adam["state"][i] for i in sorted(adam["state"])]
    return {
        "m": [p["exp_avg"] for p in per_param],
        "v": [p["exp_avg_sq"] for p in per_param],
        "step": int(float(per_param[0]["step"])),
    }


def group_size(
    views: Sequence[torch.Tensor], k: int, cfg: TurtleConfig, budget_bytes: int | None = None
) -> int:
    """How many seeds fit in one batch within ``budget_bytes`` of device memory."""
    device = views[0].device
    item = views[0].element_size()
    budget_bytes = memory_budget(device, budget_bytes)
    m = cfg.rows_per_step(views[0].shape[0])
    # the gathered batch of rows, and the chunked labeling pass (a few tensors of 2^25 elements)
    shared = (sum(m * x.shape[1] for x in views) + 4 * (1 << 25)) * item
    # per seed and view: encoder + Adam (4 × K·d), inner classifier + Adam (3 × K·d), and about
    # a dozen (m, K) activations.
    per_seed = sum(7 * k * x.shape[1] + 12 * m * k for x in views) * item
    return max(1, int((budget_bytes - shared) // max(per_seed, 1)))
