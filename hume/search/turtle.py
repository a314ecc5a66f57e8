"""TURTLE (Gadetsky, Jiang & Brbić, ICML 2024): the first-order, multi-space labeling search.

HUME parametrises the labeling in φ1 only and differentiates through the whole inner fit
(second order). TURTLE lets *every* view parametrise the labeling and takes a first-order
hypergradient:

- task encoder per view v: a weight-normalised linear map with bias,
  ``W_v = g_v · V_v / ‖V_v‖`` (row-wise), ``p_v(x) = softmax(W_v x_v + b_v)``;
  the labeling is ``ȳ(x) = mean_v p_v(x)`` and a row's class is ``argmax ȳ(x)``;
- one outer step: a batch of rows (default min(N, 10 000)) drawn on the device; per view a linear
  classifier (weights + bias) trained M = 10 Adam steps (lr 1e-3) on soft-target cross-entropy
  against the *detached* labeling, from a fresh PyTorch-default initialisation (``warm_start``
  keeps classifiers and their Adam state across steps); then
  ``loss = Σ_v CE(frozen classifier_v, ȳ) − γ · Σ_v H(mean_batch p_v)`` (γ = 10), one Adam step
  (lr 1e-3) on the task encoders; 6000 outer steps.

Batching: every seed of a group shares the rows and the inner initialisation of a step (common
random numbers drawn from a generator seeded by (random_state, step)); a seed's task encoder
starts from a generator seeded by (random_state, seed). A seed's result therefore does not depend
on which group it runs in. All seeds' logits come from one matrix product per view:
``X (m, d) @ W (d, S·K)``. Nothing is copied to the host inside the loop except the progress
statistics every few steps.

``preset="paper"`` is the official code's settings exactly (raw features, cold start, both learning
rates 1e-3, 6000 steps). The ``default`` preset differs in four values, chosen on digits (views
``pixels`` + ``hog``, 10 seeds, both views) by the mean label-free score of the seeds alone
(accuracy was never looked at to choose): warm start, inner lr 1e-2, outer lr 1e-2, 1000 steps.
Mean label-free scores (inner lr / outer lr): paper 0.880 (6000 steps); at 1000 steps: cold
1e-3/1e-3 0.865, the same on standardised views 0.853, warm 1e-3/1e-2 0.909, warm 1e-2/1e-2
**0.910** (chosen), warm 1e-3/3e-2 0.907, standardised + warm 1e-2/1e-2 0.902; at 3000 steps
warm 1e-3/1e-2 0.907. Likely reason: with 10 inner steps of 1e-3 on low-dimensional features the
inner classifier hardly leaves its random initialisation; warm start and a larger inner step let
it carry the labeling's signal. ``standardise=True``
(per-feature standardisation of every view) is available for badly scaled features.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Optional

import numpy as np
import torch

from hume.devices import matmul_precision
from hume.errors import HumeError
from hume.search.seed_groups import OuterLoop, memory_budget, run_in_groups, select

State = dict[str, Any]
STEP_STREAM = 2_000_003  # offset of the per-step random streams (distinct from the seed streams)


@dataclass(frozen=True)
class TurtleConfig:
    """Every hyperparameter of one TURTLE search (CLI names in brackets)."""

    iters: int = 1000                 # outer steps [--iters]
    inner_steps: int = 10             # M [--inner-steps]
    batch_size: Optional[int] = None  # rows per step; None: min(N, 10 000) [--subset-size]
    entropy_weight: float = 10.0      # γ [--entropy-weight]
    inner_lr: float = 1e-2            # inner Adam lr [--inner-lr]
    outer_lr: float = 1e-2            # task-encoder Adam lr [--outer-lr]
    warm_start: bool = True           # keep inner classifiers across steps [--warm-start]
    standardise: bool = False         # per-feature standardisation of every view

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "TurtleConfig":
        known = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in known})

    def validate(self) -> "TurtleConfig":
        checks = [
            (self.iters >= 1, "iters must be ≥ 1"),
            (self.inner_steps >= 1, "inner steps must be ≥ 1"),
            (self.batch_size is None or self.batch_size >= 2, "batch (subset) size must be ≥ 2"),
            (self.entropy_weight >= 0, "entropy weight must be ≥ 0"),
            (self.inner_lr > 0, "inner lr must be > 0"),
            (self.outer_lr > 0, "outer lr must be > 0"),
        ]
        for ok, msg in checks:
            if not ok:
                raise HumeError(f"bad TURTLE setting: {msg}")
        return self

    def rows_per_step(self, n: int) -> int:
        return min(n, self.batch_size or 10_000)


#: The official TURTLE settings (the official run script's defaults), raw features.
PAPER = TurtleConfig(iters=6000, inner_lr=1e-3, outer_lr=1e-3, warm_start=False, standardise=False)
DEFAULT = TurtleConfig()
PRESETS = {"default": DEFAULT, "paper": PAPER}


def resolve_config(name: Optional[str] = None, **overrides: Any) -> TurtleConfig:
    """A TURTLE preset with the non-None ``overrides`` applied, validated."""
    key = (name or "default").lower()
    if key not in PRESETS:
        raise HumeError(f"unknown TURTLE preset {name!r}: use one of {', '.join(PRESETS)}")
    known = {f.name for f in fields(TurtleConfig)}
    bad = sorted(set(overrides) - known)
    if bad:
        raise HumeError(f"settings that TURTLE does not have: {', '.join(bad)}")
    return replace(PRESETS[key], **{k: v for k, v in overrides.items() if v is not None}).validate()


#: ``hume search`` option names (SearchRequest.overrides keys) → TurtleConfig fields.
CLI_NAMES = {"iters": "iters", "inner_steps": "inner_steps", "subset_size": "batch_size",
             "batch_size": "batch_size", "entropy_weight": "entropy_weight",
             "inner_lr": "inner_lr", "outer_lr": "outer_lr", "warm_start": "warm_start",
             "standardise": "standardise"}


def config_from_overrides(preset: Optional[str], overrides: dict[str, Any]) -> TurtleConfig:
    """The TURTLE configuration for ``hume search --method turtle``.

    ``overrides`` uses the command's names (``subset_size`` is the batch of rows per step);
    unset options are None. A HUME-only option that was set (``--subsets``, ``--tau``,
    ``--train-fraction``, ``--no-anneal``) is refused with a message naming it.
    """
    mapped, foreign = {}, []
    for key, value in overrides.items():
        if value is None:
            continue
        if key in CLI_NAMES:
            mapped[CLI_NAMES[key]] = value
        else:
            foreign.append("--no-anneal" if key == "anneal" else "--" + key.replace("_", "-"))
    if foreign:
        raise HumeError(f"{', '.join(sorted(foreign))} do(es) not apply to --method turtle "
                        "(TURTLE has no subsets, temperature or annealing): drop them")
    return resolve_config(preset, **mapped)


def stream_seed(a: int, b: int) -> int:
    """A seed for random stream ``b`` of base seed ``a`` (distinct, stable, 63 bits)."""
    x = (a * 0x9E3779B97F4A7C15 + b * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) % (1 << 64)
    x ^= x >> 31
    return x % (1 << 63)


# --------------------------------------------------------------------------------------------
# Parameters
# --------------------------------------------------------------------------------------------
def init_encoders(dims: Sequence[int], k: int, seed_ids: Sequence[int], random_state: int,
                  dtype: torch.dtype = torch.float32) -> list[dict[str, torch.Tensor]]:
    """Per view ``{"g": (S, K), "v": (S, K, d), "b": (S, K)}``: PyTorch's default Linear init
    (U(−1/√d, 1/√d)) with weight norm (g = ‖v_k‖), one CPU generator per seed id."""
    out = [{"g": [], "v": [], "b": []} for _ in dims]
    for seed in seed_ids:
        gen = torch.Generator().manual_seed(stream_seed(random_state, seed))
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


def _inner_init(gen: torch.Generator, d: int, k: int, device: torch.device,
                dtype: torch.dtype) -> tuple[torch.Tensor, torch.Tensor]:
    """(d, K) weights and (K,) bias, PyTorch-default Linear init, shared by the seeds of a step."""
    bound = 1.0 / math.sqrt(d)
    w = (2 * torch.rand((k, d), generator=gen, device=device, dtype=dtype) - 1) * bound
    b = (2 * torch.rand((k,), generator=gen, device=device, dtype=dtype) - 1) * bound
    return w.T.contiguous(), b


# --------------------------------------------------------------------------------------------
# Inner problem: M Adam steps of soft-target CE, all seeds at once, closed-form gradients
# --------------------------------------------------------------------------------------------
@dataclass
class InnerState:
    """Linear classifiers of one view for S seeds, with their Adam moments."""

    w: torch.Tensor   # (d, S, K)
    b: torch.Tensor   # (S, K)
    mw: torch.Tensor
    vw: torch.Tensor
    mb: torch.Tensor
    vb: torch.Tensor
    step: int = 0

    @classmethod
    def fresh(cls, w0: torch.Tensor, b0: torch.Tensor, s: int) -> "InnerState":
        """Every seed starts from the same (d, K) / (K,) initialisation."""
        w = w0[:, None, :].expand(-1, s, -1).contiguous()
        b = b0[None, :].expand(s, -1).contiguous()
        z = torch.zeros_like
        return cls(w, b, z(w), z(w), z(b), z(b), 0)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        d, s, k = self.w.shape
        return (x @ self.w.reshape(d, s * k)).view(-1, s, k) + self.b

    def adam_step(self, x: torch.Tensor, targets: torch.Tensor, lr: float,
                  betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8) -> None:
        """One Adam step (torch.optim.Adam's update) on mean soft-target CE against ``targets``."""
        m = x.shape[0]
        d, s, k = self.w.shape
        dz = (softmax(self.logits(x)) - targets) / m  # (m, S, K)
        gw = (x.T @ dz.reshape(m, s * k)).view(d, s, k)
        gb = dz.sum(0)
        self.step += 1
        b1, b2 = betas
        c1 = 1 - b1 ** self.step
        c2 = math.sqrt(1 - b2 ** self.step)
        for p, g, mom, vel in ((self.w, gw, self.mw, self.vw), (self.b, gb, self.mb, self.vb)):
            mom.mul_(b1).add_(g, alpha=1 - b1)
            vel.mul_(b2).addcmul_(g, g, value=1 - b2)
            p.addcdiv_(mom, vel.sqrt().div_(c2).add_(eps), value=-lr / c1)

    def to(self, device: torch.device, dtype: torch.dtype) -> "InnerState":
        t = {f: getattr(self, f).to(device=device, dtype=dtype) for f in ("w", "b", "mw", "vw", "mb", "vb")}
        return InnerState(**t, step=self.step)

    def as_dict(self) -> dict[str, Any]:
        return {f: getattr(self, f).cpu() for f in ("w", "b", "mw", "vw", "mb", "vb")} | {"step": self.step}


# --------------------------------------------------------------------------------------------
# Outer step
# --------------------------------------------------------------------------------------------
def step_generator(device: torch.device, random_state: int, it: int) -> torch.Generator:
    return torch.Generator(device=device).manual_seed(stream_seed(random_state, STEP_STREAM + it))


def step_rows(gen: torch.Generator, n: int, m: int, device: torch.device) -> Optional[torch.Tensor]:
    """(m,) rows of one step drawn on the device without replacement; None: all rows."""
    if m >= n:
        return None
    return torch.randperm(n, generator=gen, device=device)[:m]


def outer_loss(xs: Sequence[torch.Tensor], encoders: Sequence[dict[str, torch.Tensor]],
               inner: Sequence[InnerState], cfg: TurtleConfig
               ) -> tuple[torch.Tensor, torch.Tensor, list[InnerState]]:
    """Per-seed TURTLE loss (S,) on the batch ``xs`` (one (m, d_v) tensor per view).

    Trains ``inner`` (one :class:`InnerState` per view, modified in place) for M Adam steps on the
    detached labeling, then returns ``Σ_v CE(classifier_v, ȳ) − γ Σ_v H(mean p_v)`` (the gradient
    reaches the encoders through ȳ and p_v only: first order) and the per-seed label entropy
    Σ_v H(mean p_v) (S,).
    """
    probs = [view_probs(x, effective_weights(e), e["b"]) for x, e in zip(xs, encoders)]
    labels = torch.stack(probs).mean(0)  # (m, S, K)
    target = labels.detach()
    with torch.no_grad():
        for _ in range(cfg.inner_steps):
            for x, st in zip(xs, inner):
                st.adam_step(x, target, cfg.inner_lr)
        log_q = [log_softmax(st.logits(x)) for x, st in zip(xs, inner)]
    pred_error = sum(-(labels * lq).sum(-1).mean(0) for lq in log_q)  # (S,)
    entropy = sum(torch.special.entr(p.mean(0)).sum(-1) for p in probs)  # (S,)
    return pred_error - cfg.entropy_weight * entropy, entropy.detach(), list(inner)


# --------------------------------------------------------------------------------------------
# A group of seeds
# --------------------------------------------------------------------------------------------
@dataclass
class GroupResult:
    encoders: list[dict[str, torch.Tensor]]  # per view {"weight": (S, K, d), "bias": (S, K)}
    objectives: torch.Tensor                 # (S,) mean loss over the last 5 % of the steps
    labels: torch.Tensor                     # (S, N) argmax of the averaged probabilities


def seed_labels(views: Sequence[torch.Tensor], weights: Sequence[torch.Tensor],
                biases: Sequence[torch.Tensor], max_elements: int = 1 << 25) -> torch.Tensor:
    """(S, N) labeling: argmax over classes of the mean over views of softmax(W_v x_v + b_v).

    Rows are processed in chunks of at most ``max_elements`` (rows × seeds × classes)."""
    n = views[0].shape[0]
    s, k, _ = weights[0].shape
    chunk = max(1, max_elements // (s * k))
    out = []
    for start in range(0, n, chunk):
        p = sum(view_probs(x[start:start + chunk], w, b) for x, w, b in zip(views, weights, biases))
        out.append(p.argmax(-1).T)
    return torch.cat(out, 1).contiguous()


def search_group(views: Sequence[torch.Tensor], k: int, cfg: TurtleConfig,
                 seed_ids: Sequence[int], random_state: int = 0, state: Optional[State] = None,
                 on_progress: Optional[Callable[[int, torch.Tensor], None]] = None,
                 progress_every: int = 20,
                 checkpoint: Optional[Callable[[State], None]] = None,
                 checkpoint_every_s: float = 60.0) -> GroupResult:
    """Run TURTLE for the seeds ``seed_ids`` together on the (prepared, on-device) ``views``.

    ``state`` (from a checkpoint) continues the group. ``on_progress(it, stats)`` gets a device
    tensor [mean objective, mean entropy] every ``progress_every`` steps; ``checkpoint(state)``
    is called every ``checkpoint_every_s`` seconds and on KeyboardInterrupt (host copy).
    """
    device, dtype = views[0].device, views[0].dtype
    n = views[0].shape[0]
    s = len(seed_ids)
    m = cfg.rows_per_step(n)
    if state is None:
        encoders = init_encoders([x.shape[1] for x in views], k, seed_ids, random_state, dtype)
        inner = None
    else:
        encoders = state["params"]
        inner = [InnerState(**st) for st in state["inner"]] if state.get("inner") else None
    encoders = [{key: t.to(device=device, dtype=dtype).requires_grad_(True) for key, t in e.items()}
                for e in encoders]
    if inner is not None:
        inner = [st.to(device, dtype) for st in inner]
    params = [e[key] for e in encoders for key in ("g", "v", "b")]
    opt = torch.optim.Adam(params, lr=cfg.outer_lr, betas=(0.9, 0.999))
    if state is not None and state.get("adam"):
        opt.load_state_dict(state["adam"])
    loop = OuterLoop(cfg.iters, s, device, dtype, state, on_progress, progress_every, checkpoint,
                     checkpoint_every_s)

    def snapshot() -> State:
        # Copies (``.cpu()`` of a CPU tensor is the tensor itself): the caller may keep the state.
        return copy.deepcopy({
            "iteration": loop.it, "seed_ids": list(seed_ids), "obj_sum": loop.obj_sum.cpu(),
            "params": [{key: t.detach().cpu() for key, t in e.items()} for e in encoders],
            "adam": opt.state_dict(),
            "inner": [st.as_dict() for st in inner] if cfg.warm_start and inner else None})

    try:
        while loop.running:
            it = loop.it
            gen = step_generator(device, random_state, it)
            rows = step_rows(gen, n, m, device)
            xs = list(views) if rows is None else [x[rows] for x in views]
            if inner is None or not cfg.warm_start:
                inner = [InnerState.fresh(*_inner_init(gen, x.shape[1], k, device, dtype), s)
                         for x in views]
            loss, entropy, inner = outer_loss(xs, encoders, inner, cfg)
            opt.zero_grad(set_to_none=True)
            loss.sum().backward()  # seeds are independent: each gets its own gradient
            opt.step()
            loop.step_done(loss, entropy, snapshot)
    except KeyboardInterrupt:
        loop.interrupted(snapshot)
        raise
    with torch.no_grad():
        weights = [effective_weights(e) for e in encoders]
        biases = [e["b"].detach() for e in encoders]
        labels = seed_labels(views, weights, biases)
    enc = [{"weight": w.detach(), "bias": b} for w, b in zip(weights, biases)]
    return GroupResult(enc, loop.objective, labels)


def group_size(views: Sequence[torch.Tensor], k: int, cfg: TurtleConfig,
               budget_bytes: Optional[int] = None) -> int:
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


# --------------------------------------------------------------------------------------------
# Estimator
# --------------------------------------------------------------------------------------------
def _check_views(views: Sequence[Any], names: Optional[Sequence[str]] = None) -> list[torch.Tensor]:
    """One or more finite 2-D views with the same rows, as tensors (HumeError otherwise)."""
    from hume.search.estimator import as_view

    if isinstance(views, (torch.Tensor, np.ndarray)):
        views = [views]
    views = list(views)
    if not views:
        raise HumeError("no views given: pass at least one (rows, dims) feature array")
    names = list(names) if names is not None else [f"#{i + 1}" for i in range(len(views))]
    tensors = [as_view(v, name) for v, name in zip(views, names)]
    n = tensors[0].shape[0]
    for t, name in zip(tensors, names):
        if t.shape[0] != n:
            raise HumeError(
                f"views have different row counts: {names[0]} has {n} rows, {name} has "
                f"{t.shape[0]}: use views embedded from the same dataset and split")
    return tensors


class TURTLE:
    """TURTLE labeling search (Gadetsky, Jiang & Brbić, ICML 2024) over one or more views.

    Every view parametrises the labeling (a weight-normalised linear encoder with bias per view,
    softmax probabilities averaged over views) and is a space where linear classifiers must fit
    it; the hypergradient is first order (inner classifiers trained on the detached labeling).

    Parameters:
        n_classes: K.
        n_seeds: independent searches, ensembled by the label-free score.
        preset: ``"default"`` (warm start, larger steps, 1000 steps; see the module docstring)
            or ``"paper"`` (the official settings exactly).
        iters, inner_steps, batch_size (alias ``subset_size``), entropy_weight, inner_lr,
        outer_lr, warm_start, standardise: override single settings (None: the preset's).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        precision: ``"fp32"`` or ``"tf32"`` matrix products in the search on a CUDA GPU (as HUME).
        random_state: base seed; seed j of a run depends only on (random_state, j).
        group_size: seeds per batch (None: as many as fit in device memory).
        dtype: compute dtype (float32; float64 for tests).
        verbose: accepted for API symmetry with :class:`hume.search.estimator.HUME`.
        num_threads: CPU threads during ``fit`` (None: one thread for tiny problems, where
            intra-op threads only add synchronisation, else torch's default; on digits, 10
            seeds, a quiet 2-core machine: 11 s with 2 threads, 18 s with 1); restored afterwards.

    Attributes after ``fit(views)`` (views: list of (N, d_v)):
        labels_ (N,), seed_labels_ (n_seeds, N), scores_ (n_seeds,) label-free scores over all
        views, objectives_ (n_seeds,), reference_seed_ (int), perms_ (n_seeds, K),
        encoders_ (list per view of {"weight": (n_seeds, K, d_v), "bias": (n_seeds, K)} acting
        on the preprocessed features), mean_/std_ (per-view standardisation, or None), config_.
    """

    method = "turtle"

    def __init__(self, n_classes: int, n_seeds: int = 10, *, preset: Optional[str] = None,
                 iters: Optional[int] = None, inner_steps: Optional[int] = None,
                 batch_size: Optional[int] = None, subset_size: Optional[int] = None,
                 entropy_weight: Optional[float] = None, inner_lr: Optional[float] = None,
                 outer_lr: Optional[float] = None, warm_start: Optional[bool] = None,
                 standardise: Optional[bool] = None, config: Optional[TurtleConfig] = None,
                 device: str = "auto", precision: str = "fp32", random_state: int = 0,
                 group_size: Optional[int] = None,
                 dtype: torch.dtype = torch.float32, verbose: bool = False,
                 num_threads: Optional[int] = None, **unused: Any):
        given = sorted(key for key, v in unused.items() if v is not None and v is not False)
        if given:
            raise HumeError(f"settings that TURTLE does not have: {', '.join(given)} "
                            "(they belong to --method hume)")
        self.n_classes = n_classes
        self.n_seeds = n_seeds
        self.preset = preset
        self.iters, self.inner_steps = iters, inner_steps
        self.batch_size = batch_size if batch_size is not None else subset_size
        self.entropy_weight, self.inner_lr, self.outer_lr = entropy_weight, inner_lr, outer_lr
        self.warm_start, self.standardise = warm_start, standardise
        self.config = config
        self.device = device
        self.precision = precision
        self.random_state = random_state
        self.group_size = group_size
        self.dtype = dtype
        self.verbose = verbose
        self.num_threads = num_threads

    def resolved_config(self) -> TurtleConfig:
        if self.config is not None:
            return self.config.validate()
        return resolve_config(self.preset, iters=self.iters, inner_steps=self.inner_steps,
                              batch_size=self.batch_size, entropy_weight=self.entropy_weight,
                              inner_lr=self.inner_lr, outer_lr=self.outer_lr,
                              warm_start=self.warm_start, standardise=self.standardise)

    def _prepare(self, tensors: Sequence[torch.Tensor], device: torch.device, dtype: torch.dtype,
                 fit: bool) -> list[torch.Tensor]:
        """Views on ``device`` in ``dtype``, standardised with the statistics of the fitted rows."""
        out = []
        for i, t in enumerate(tensors):
            x = t.to(device=device, dtype=dtype)
            if fit:
                if self.config_.standardise:
                    mean, std = x.mean(0), x.std(0, unbiased=False)
                    self.mean_.append(mean.cpu())
                    self.std_.append(torch.where(std > 1e-12, std, torch.ones_like(std)).cpu())
                else:
                    self.mean_.append(None)
                    self.std_.append(None)
            if self.mean_[i] is not None:
                x = (x - self.mean_[i].to(x)) / self.std_[i].to(x)
            out.append(x)
        return out

    def fit(self, views: Sequence[Any], *, view_names: Optional[Sequence[str]] = None,
            resume_state: Optional[dict] = None,
            checkpoint: Optional[Callable[[dict], None]] = None,
            checkpoint_every_s: float = 60.0,
            progress: Optional[Callable[[int, int, float, float], None]] = None) -> "TURTLE":
        """Search ``n_seeds`` labelings of the rows of ``views`` and ensemble them.

        ``views``: one (N, d) array/tensor or a sequence of them (any number ≥ 1). The same
        checkpoint / resume / progress hooks as :meth:`hume.search.estimator.HUME.fit`.
        """
        from hume.devices import check_precision, resolve_device

        check_precision(self.precision)
        cfg = self.resolved_config()
        k = int(self.n_classes)
        if self.n_seeds < 1:
            raise HumeError(f"n_seeds must be ≥ 1, got {self.n_seeds}")
        tensors = _check_views(views, view_names)
        n = tensors[0].shape[0]
        if k < 2:
            raise HumeError(f"the number of classes must be at least 2, got {k}")
        if k > n:
            raise HumeError(f"the number of classes ({k}) exceeds the number of rows ({n})")
        if cfg.batch_size is not None and cfg.batch_size > n:
            raise HumeError(f"batch (subset) size {cfg.batch_size} is larger than the number of "
                            f"rows ({n}): pass --subset-size ≤ {n}")
        device = resolve_device(self.device)
        threads = self._threads(device, tensors, k, cfg)
        before = torch.get_num_threads()
        if threads is not None:
            torch.set_num_threads(threads)
        try:
            return self._fit(tensors, k, cfg, device, resume_state, checkpoint,
                             checkpoint_every_s, progress)
        finally:
            torch.set_num_threads(before)

    def _threads(self, device: torch.device, tensors: Sequence[torch.Tensor], k: int,
                 cfg: TurtleConfig) -> Optional[int]:
        if device.type != "cpu":
            return None
        if self.num_threads is not None:
            return int(self.num_threads)
        n = tensors[0].shape[0]
        work = cfg.rows_per_step(n) * sum(t.shape[1] for t in tensors) * self.n_seeds * k
        return 1 if work < 5_000_000 else None

    def _fit(self, tensors: list[torch.Tensor], k: int, cfg: TurtleConfig, device: torch.device,
             resume_state: Optional[dict], checkpoint: Optional[Callable[[dict], None]],
             checkpoint_every_s: float,
             progress: Optional[Callable[[int, int, float, float], None]]) -> "TURTLE":
        self.config_ = cfg
        self.mean_, self.std_ = [], []
        self.dims_ = [t.shape[1] for t in tensors]
        data = self._prepare(tensors, device, self.dtype, fit=True)
        bsize = self.group_size or group_size(data, k, cfg)

        def search(group, state, report, save):
            return search_group(data, k, cfg, group, self.random_state, state, on_progress=report,
                                checkpoint=save, checkpoint_every_s=checkpoint_every_s)

        def keep(res, j: int) -> dict:
            return {"encoder": [{key: t[j].cpu() for key, t in e.items()} for e in res.encoders],
                    "objective": float(res.objectives[j]), "labels": res.labels[j].cpu()}

        with matmul_precision(device, self.precision):
            done = run_in_groups(self.n_seeds, bsize, cfg.iters, search, keep, resume_state,
                                 checkpoint, progress)
        seeds = range(self.n_seeds)
        self.encoders_ = [{key: torch.stack([done[s]["encoder"][v][key] for s in seeds])
                           for key in ("weight", "bias")} for v in range(len(data))]
        self.objectives_ = np.array([done[s]["objective"] for s in seeds])
        self.seed_labels_ = torch.stack([done[s]["labels"] for s in seeds]).numpy().astype(np.int64)
        select(self, data, k, device)
        return self

    def _check_fitted(self) -> None:
        if not hasattr(self, "encoders_"):
            raise HumeError("this TURTLE model is not fitted yet: call fit(views) first")

    def predict_seeds(self, views: Sequence[Any]) -> np.ndarray:
        """(n_seeds, M) labeling of new rows (given in every fitted view) by every seed."""
        self._check_fitted()
        tensors = _check_views(views)
        if len(tensors) != len(self.dims_):
            raise HumeError(f"the model was fitted on {len(self.dims_)} views; pass the new rows "
                            f"in the same {len(self.dims_)} views (got {len(tensors)})")
        for i, (t, d) in enumerate(zip(tensors, self.dims_)):
            if t.shape[1] != d:
                raise HumeError(f"view #{i + 1} of the new rows has {t.shape[1]} dims, the model "
                                f"was fitted on {d}")
        xs = self._prepare(tensors, torch.device("cpu"), torch.float64, fit=False)
        weights = [e["weight"].to(torch.float64) for e in self.encoders_]
        biases = [e["bias"].to(torch.float64) for e in self.encoders_]
        return seed_labels(xs, weights, biases).numpy().astype(np.int64)

    def predict(self, views: Sequence[Any]) -> np.ndarray:
        """(M,) ensemble labels of new rows: every seed, matched to the reference, majority vote."""
        from hume.search.estimator import vote

        seeds = self.predict_seeds(views)
        return vote(seeds, self.perms_, self.reference_seed_, int(self.n_classes))

    def fit_predict(self, views: Sequence[Any], **kw: Any) -> np.ndarray:
        return self.fit(views, **kw).labels_
