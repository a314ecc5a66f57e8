"""``HUME``: the scikit-learn-style estimator the ``hume search`` command is a thin layer over.

>>> model = HUME(n_classes=10, n_seeds=10).fit([phi1, phi2])      # arrays or tensors, (N, d_i)
>>> model.labels_            # (N,) ensemble labeling (label-free selection and majority vote)
>>> model.seed_labels_       # (n_seeds, N) every seed's labeling
>>> model.scores_            # (n_seeds,) label-free scores; model.objectives_ final objectives
>>> model.predict(phi1_new)  # ensemble labels of new rows through φ1 (inductive setting)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Optional

import numpy as np
import torch

from hume.devices import check_precision, matmul_precision, resolve_device
from hume.errors import HumeError
from hume.search import algorithm
from hume.search.config import SearchConfig, resolve
from hume.search.encoder import hard_labels, l2_normalise
from hume.search.seed_groups import run_in_groups, select


#: Below this many φ2 elements (rows × dims, summed over φ2 views) a CPU search uses one thread:
#: for tiny problems extra threads only add synchronisation. Digits (1 797 × 65) is above it:
#: on a quiet 2-core machine its default 10-seed search took 11 s with 2 threads, 17 s with 1.
SMALL_PROBLEM = 50_000


def as_view(x: Any, name: str) -> torch.Tensor:
    """A 2-D finite float tensor (on its own device) or a HumeError naming the problem."""
    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    if t.dim() != 2 or t.shape[0] == 0 or t.shape[1] == 0:
        raise HumeError(f"view {name} must be a non-empty (rows, dims) array, got shape {tuple(t.shape)}")
    if not (t.dtype.is_floating_point or t.dtype in (torch.int32, torch.int64, torch.uint8)):
        raise HumeError(f"view {name} must hold real numbers, got {t.dtype}")
    if t.dtype.is_floating_point and not bool(torch.isfinite(t).all()):
        bad = int((~torch.isfinite(t).all(1)).sum())
        raise HumeError(f"view {name} contains NaN or Inf in {bad} rows: clean or re-embed it")
    return t


def check_phi1_width(k: int, d1: int, name: str) -> None:
    """HUME's task encoder has K orthonormal rows in φ1's space, so K ≤ d1."""
    if k > d1:
        raise HumeError(
            f"the number of classes ({k}) exceeds the dimension of φ1 ({name}: {d1}): HUME's "
            "task encoder has K orthonormal rows in φ1's space, so K ≤ d1; put a wider view first "
            "or use --method turtle")


def check_views(views: Sequence[Any], k: int, allow_single_view: bool,
                names: Optional[Sequence[str]] = None) -> list[torch.Tensor]:
    """Validate the view list: ≥ 2 views (or the explicit opt-in), same rows, 2 ≤ K ≤ N, K ≤ d1."""
    views = list(views)
    names = list(names) if names is not None else [f"#{i + 1}" for i in range(len(views))]
    if not views:
        raise HumeError("no views given: pass φ1 and at least one φ2 view")
    if len(views) == 1 and not allow_single_view:
        raise HumeError(
            "a single view was given: HUME fits in φ2 the labeling parametrised in φ1, so it needs "
            "two views (e.g. --views clip,dinov2); to use the same space for both, pass "
            "--single-view (allow_single_view=True)"
        )
    tensors = [as_view(v, n) for v, n in zip(views, names)]
    n = tensors[0].shape[0]
    for t, name in zip(tensors, names):
        if t.shape[0] != n:
            raise HumeError(
                f"views have different row counts: {names[0]} has {n} rows, {name} has "
                f"{t.shape[0]}: use views embedded from the same dataset and split"
            )
    if k < 2:
        raise HumeError(f"the number of classes must be at least 2, got {k}")
    if k > n:
        raise HumeError(f"the number of classes ({k}) exceeds the number of rows ({n})")
    check_phi1_width(k, tensors[0].shape[1], names[0])
    if len(tensors) == 1:
        tensors = [tensors[0], tensors[0]]
    return tensors


class HUME:
    """HUME labeling search (Gadetsky & Brbić, NeurIPS 2023) over several representation spaces.

    Parameters:
        n_classes: K.
        n_seeds: independent searches, ensembled by the label-free score.
        preset: ``"default"`` (works across feature scales), ``"paper"`` (SPEC §2 exactly) or
            ``"large-k"`` (the official ImageNet-1000 settings).
        iters, inner_steps, subsets, subset_size, train_fraction, tau, entropy_weight, inner_lr,
        outer_lr, anneal: override single settings of the preset (None: the preset's value).
        device: ``"auto"``, ``"cpu"`` or ``"cuda"``.
        precision: ``"fp32"`` (as the official code) or ``"tf32"``: TensorFloat-32 matrix
            products in the search on a CUDA GPU (faster; no effect on the CPU).
        random_state: base seed; seed j of a run depends only on (random_state, j).
        group_size: seeds per batch (None: as many as fit in device memory).
        allow_single_view: accept one view (used as both φ1 and φ2).
        dtype: compute dtype (float32; float64 for tests).
        verbose: print progress.

    Attributes after ``fit(views)`` (views: list of (N, d_i), the first is φ1):
        labels_ (N,), seed_labels_ (n_seeds, N), scores_ (n_seeds,), objectives_ (n_seeds,),
        reference_seed_ (int), perms_ (n_seeds, K), encoders_ (n_seeds, K, d1), config_.
    """

    method = "hume"

    def __init__(self, n_classes: int, n_seeds: int = 10, *, preset: Optional[str] = None,
                 iters: Optional[int] = None, inner_steps: Optional[int] = None,
                 subsets: Optional[int] = None, subset_size: Optional[int] = None,
                 train_fraction: Optional[float] = None, tau: Optional[float] = None,
                 entropy_weight: Optional[float] = None, inner_lr: Optional[float] = None,
                 outer_lr: Optional[float] = None, anneal: Optional[bool] = None,
                 config: Optional[SearchConfig] = None, device: str = "auto",
                 precision: str = "fp32", random_state: int = 0, group_size: Optional[int] = None,
                 allow_single_view: bool = False, dtype: torch.dtype = torch.float32,
                 verbose: bool = False):
        self.n_classes = n_classes
        self.n_seeds = n_seeds
        self.preset = preset
        self.iters, self.inner_steps, self.subsets = iters, inner_steps, subsets
        self.subset_size, self.train_fraction, self.tau = subset_size, train_fraction, tau
        self.entropy_weight, self.inner_lr, self.outer_lr = entropy_weight, inner_lr, outer_lr
        self.anneal = anneal
        self.config = config
        self.device = device
        self.precision = precision
        self.random_state = random_state
        self.group_size = group_size
        self.allow_single_view = allow_single_view
        self.dtype = dtype
        self.verbose = verbose

    # -- configuration ----------------------------------------------------------------
    def resolved_config(self) -> SearchConfig:
        if self.config is not None:
            return self.config.validate()
        return resolve(self.preset, iters=self.iters, inner_steps=self.inner_steps,
                       subsets=self.subsets, subset_size=self.subset_size,
                       train_fraction=self.train_fraction, tau=self.tau,
                       entropy_weight=self.entropy_weight, inner_lr=self.inner_lr,
                       outer_lr=self.outer_lr, anneal=self.anneal)

    # -- fitting ----------------------------------------------------------------------
    def fit(self, views: Sequence[Any], *, view_names: Optional[Sequence[str]] = None,
            resume_state: Optional[dict] = None,
            checkpoint: Optional[Callable[[dict], None]] = None,
            checkpoint_every_s: float = 60.0,
            progress: Optional[Callable[[int, int, float, float], None]] = None) -> "HUME":
        """Search ``n_seeds`` labelings of the rows of ``views`` and ensemble them.

        ``views``: sequence of (N, d_i) arrays or tensors; views[0] is φ1, the rest are φ2 spaces
        (held-out loss averaged over them). ``checkpoint(state)`` receives the resumable state
        (pass it back as ``resume_state``). ``progress(done_iters, total_iters, objective,
        entropy)`` is called every few iterations.
        """
        cfg = self.resolved_config()
        k = int(self.n_classes)
        if self.n_seeds < 1:
            raise HumeError(f"n_seeds must be ≥ 1, got {self.n_seeds}")
        tensors = check_views(views, k, self.allow_single_view, view_names)
        n = tensors[0].shape[0]
        if cfg.subset_size is not None and cfg.subset_size > n \
                and self._explicit_subset_size():
            raise HumeError(
                f"subset size {cfg.subset_size} is larger than the number of rows ({n}): "
                f"pass --subset-size ≤ {n}")
        device = resolve_device(self.device)
        check_precision(self.precision)
        threads = torch.get_num_threads()
        if device.type == "cpu" and n * sum(t.shape[1] for t in tensors[1:]) < SMALL_PROBLEM:
            # Tiny products: extra threads only add synchronisation (OpenMP spin-waiting).
            torch.set_num_threads(1)
        try:
            return self._fit(tensors, cfg, k, device, view_names, resume_state, checkpoint,
                             checkpoint_every_s, progress)
        finally:
            torch.set_num_threads(threads)

    def _fit(self, tensors, cfg, k, device, view_names, resume_state, checkpoint,
             checkpoint_every_s, progress) -> "HUME":
        data = algorithm.prepare(tensors, cfg, device, self.dtype)
        self.config_ = cfg
        self.inner_lr_ = list(data.inner_lr)
        self.phi1_dim_ = tensors[0].shape[1]
        self.phi1_mean_ = data.phi1_mean.detach().cpu().double()
        bsize = self.group_size or algorithm.group_size(data, k, cfg)

        def search(group, state, report, save):
            return algorithm.search_group(data, k, cfg, group, self.random_state, state,
                                          on_progress=report, checkpoint=save,
                                          checkpoint_every_s=checkpoint_every_s)

        def keep(res, j: int) -> dict:
            return {"encoder": res.encoders[j].cpu(), "objective": float(res.objectives[j]),
                    "labels": res.labels[j].cpu()}

        with matmul_precision(device, self.precision):
            done = run_in_groups(self.n_seeds, bsize, cfg.iters, search, keep, resume_state,
                                 checkpoint, progress)
        seeds = range(self.n_seeds)
        self.encoders_ = torch.stack([done[s]["encoder"] for s in seeds])
        self.objectives_ = np.array([done[s]["objective"] for s in seeds])
        self.seed_labels_ = torch.stack([done[s]["labels"] for s in seeds]).numpy().astype(np.int64)
        # Scores use the views as given (not the search's transformed φ2), so that settings
        # with different φ2 transforms are compared on the same footing.
        select(self, [t.to(device=device, dtype=torch.float32) for t in tensors[1:]], k, device)
        return self

    def _explicit_subset_size(self) -> bool:
        # Presets mean m = min(N, subset_size) (SPEC §2); only a size the user set is refused.
        return self.subset_size is not None

    # -- prediction -------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "encoders_"):
            raise HumeError("this HUME model is not fitted yet: call fit(views) first")

    def predict_seeds(self, phi1: Any) -> np.ndarray:
        """(n_seeds, M) labeling of new rows by every seed: argmax W φ1 (own class numbering)."""
        self._check_fitted()
        x = as_view(phi1, "φ1").to(torch.float64)
        if x.shape[1] != self.phi1_dim_:
            raise HumeError(f"φ1 of the new rows has {x.shape[1]} dims, the model was fitted on "
                            f"{self.phi1_dim_}")
        return hard_labels(l2_normalise(x - self.phi1_mean_),
                           self.encoders_.to(torch.float64)).numpy()

    def predict(self, phi1: Any) -> np.ndarray:
        """(M,) ensemble labels of new rows: every seed through φ1, matched, majority vote."""
        seeds = self.predict_seeds(phi1)
        return vote(seeds, self.perms_, self.reference_seed_, int(self.n_classes))

    def fit_predict(self, views: Sequence[Any], **kw: Any) -> np.ndarray:
        return self.fit(views, **kw).labels_


def vote(seed_labels: np.ndarray, perms: np.ndarray, reference: int, k: int) -> np.ndarray:
    """Majority vote of seed labelings mapped by ``perms``; ties go to the reference seed."""
    mapped = np.take_along_axis(perms, seed_labels, axis=1)  # (S, M) in reference numbering
    votes = np.zeros((seed_labels.shape[1], k))
    for row in mapped:
        votes[np.arange(len(row)), row] += 1
    votes[np.arange(mapped.shape[1]), mapped[reference]] += 0.5
    return votes.argmax(1).astype(np.int64)
