"""What every seed search shares: the estimator shell around a method's outer loop.

:class:`SeedSearch` owns ``fit``, ``predict``, ``fit_predict``: checking the views, running
``n_seeds`` independent searches in groups that fit the device (:mod:`hume.search.optimiser.random_streams`),
the CPU thread count, the matrix-product precision, label-free selection
(:mod:`hume.search.selection.label_free_score`) and the ensemble
(:mod:`hume.search.selection.ensembling`). A method (HUME, TURTLE) subclasses it and supplies its settings
class, its preparation of the views, the search of one group of seeds, and how new rows are
labelled.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from sklearn.base import BaseEstimator, ClusterMixin
from sklearn.utils.validation import check_is_fitted

from hume.core.devices import check_precision, matmul_precision, resolve_device
from hume.core.errors import HumeError
from hume.search.optimiser.random_streams import (
    Ledger,
    MemoryLedger,
    Progress,
    run_seed_groups,
    seed_groups,
)
from hume.search.settings import MethodConfig
from hume.search.views import check_classes, check_views

#: A CPU search whose outer step (all seeds) costs fewer multiply-adds than this runs on one
#: thread: for tiny products extra threads only add synchronisation (docs/algorithm.md §3.3).
THREADS_FROM_WORK = 1e8


@dataclass
class _Work:
    """What :meth:`SeedSearch.prepare_search` made ready for the steps after it."""

    tensors: list[torch.Tensor]  # the checked views, as given
    data: Any  # the method's prepared views on the device
    cfg: Any
    k: int
    device: torch.device
    threads: int | None  # CPU threads while computing (None: torch's setting)

    @contextmanager
    def threads_set(self) -> Iterator[None]:
        before = torch.get_num_threads()
        if self.threads is not None:
            torch.set_num_threads(self.threads)
        try:
            yield
        finally:
            torch.set_num_threads(before)


@dataclass
class GroupResult:
    """What the search of one group of B seeds returns."""

    encoders: Any  # tensors (or lists/dicts of them) whose first axis is the seed
    objectives: torch.Tensor  # (B,) mean outer loss over the last iterations
    labels: torch.Tensor  # (B, N) the labeling of the searched rows


class SeedSearch(ClusterMixin, BaseEstimator):
    """Base of the labeling searches. Subclasses declare their parameters in ``__init__``.

    Parameters every method has: ``n_classes`` (K), ``n_seeds`` (independent searches,
    ensembled), ``preset`` (named settings), ``config`` (a settings object; explicit settings
    override it), ``device`` (``auto``, ``cpu``, ``cuda``, ``cuda:N``), ``precision`` (``fp32``
    or ``tf32`` matrix products on a CUDA GPU), ``random_state`` (seed j depends only on
    (random_state, j)), ``group_size`` (seeds per batch; None: as many as fit), ``dtype``
    (float32; float64 for tests), ``num_threads`` (CPU threads during ``fit``; None: one thread
    for tiny problems, else torch's default; restored afterwards).

    Fitted attributes: ``labels_`` (N,), ``seed_labels_`` (n_seeds, N), ``scores_`` (n_seeds,)
    label-free scores, ``balanced_scores_`` (n_seeds,) the same with every class weighted equally, ``objectives_`` (n_seeds,), ``reference_seed_``, ``perms_`` (n_seeds, K)
    matching of every seed to the reference, ``encoders_``, ``config_``, ``fitted_settings_``
    (settings derived from the data, e.g. HUME's inner step), ``n_views_in_``, ``dims_`` (width
    of each view).
    """

    method: ClassVar[str] = ""
    config_class: ClassVar[type[MethodConfig]] = MethodConfig
    #: the method's algorithm module: ``group_size(data, k, cfg)`` (seeds per group that fit)
    #: and ``search_group(data, k, cfg, seed_ids, random_state, state, ...)`` (one group)
    algorithm: ClassVar[Any] = None
    #: estimator parameters that override single settings of the preset (config field names)
    SETTINGS: ClassVar[tuple[str, ...]] = ()
    #: True: new rows are labelled through every view; False: through the first (φ1) only
    predicts_from_all_views: ClassVar[bool] = True

    # -- settings ------------------------------------------------------------------------
    def resolved_config(self) -> Any:
        """The preset (or ``config``) with the explicit settings applied, validated."""
        settings = {name: getattr(self, name) for name in self.SETTINGS}
        return self.config_class.resolve(self.preset, base=self.config, **settings)

    @classmethod
    def check_problem(cls, k: int, n: int, dims: Sequence[int], names: Sequence[str]) -> None:
        """Refuse a problem the method cannot search: 2 ≤ K ≤ N (methods add their own rules)."""
        check_classes(k, n)

    @classmethod
    def for_run(cls, run: Any, device: Any) -> SeedSearch:
        """The estimator of a run's configuration (:class:`hume.runs.RunConfig`) on this
        process's ``device``."""
        return cls(
            n_classes=run.k,
            n_seeds=run.n_seeds,
            config=cls.config_class.from_dict(run.hyperparameters),
            device=str(device),
            precision=run.precision,
            random_state=run.random_state,
            **cls._run_parameters(run),
        )

    @classmethod
    def _run_parameters(cls, run: Any) -> dict[str, Any]:
        """Parameters of a method's own that a run's configuration sets."""
        return {}

    # -- fitting ---------------------------------------------------------------------------
    def check_inputs(
        self, views: Any, view_names: Sequence[str] | None = None
    ) -> list[torch.Tensor]:
        """The checks of :meth:`fit` without the search: the views (as tensors) it would use,
        or a HumeError naming the first problem (settings, K, rows, widths, NaN)."""
        cfg = self.resolved_config()
        if int(self.n_seeds) < 1:
            raise HumeError(f"n_seeds must be ≥ 1, got {self.n_seeds}")
        check_precision(self.precision)
        return self._fit_views(check_views(views, view_names), view_names, int(self.n_classes), cfg)

    def fit(
        self,
        views: Any,
        y: Any = None,
        *,
        view_names: Sequence[str] | None = None,
        resume_state: dict | None = None,
        checkpoint: Callable[[dict], None] | None = None,
        checkpoint_every_s: float = 60.0,
        progress: Progress | None = None,
    ) -> SeedSearch:
        """Search ``n_seeds`` labelings of the rows of ``views`` and ensemble them.

        ``views``: one (N, d) array/tensor or a sequence of them, rows aligned (see the method
        for their roles). ``y`` is ignored (scikit-learn's signature; no labels are used).
        ``checkpoint(state)`` receives the resumable state now and then and on an interrupt
        (pass it back as ``resume_state``); ``progress(done_iters, total_iters, objective,
        entropy)`` is called every few iterations.

        ``fit`` is :meth:`prepare_search`, :meth:`search_groups` over every seed, then
        :meth:`select_seeds`; processes that share the seeds of one search call those steps
        themselves (:func:`hume.search.search_runs.run_execution.search_into`).
        """
        fits = self.prepare_search(views, view_names)
        ledger = MemoryLedger(resume_state, checkpoint, int(self.group_size or fits))
        groups = seed_groups(range(int(self.n_seeds)), ledger.group_size)
        self.search_groups(groups, ledger, progress, checkpoint_every_s)
        return self.select_seeds(ledger)

    def search_labelings(
        self, views: Any, view_names: Sequence[str] | None = None, progress: Progress | None = None
    ) -> np.ndarray:
        """The seeds' labelings alone, (n_seeds, N) int64: the search of :meth:`fit` without
        the label-free scores, the selection and the ensemble (e.g. to screen a K quickly). The
        estimator is left unfitted."""
        fits = self.prepare_search(views, view_names)
        ledger = MemoryLedger(None, None, int(self.group_size or fits))
        try:
            seeds = range(int(self.n_seeds))
            self.search_groups(seed_groups(seeds, ledger.group_size), ledger, progress)
            return torch.stack([ledger.result(s)["labels"] for s in seeds]).numpy().astype(np.int64)
        finally:
            del self._work

    def prepare_search(self, views: Any, view_names: Sequence[str] | None = None) -> int:
        """Check ``views`` and put them on the device, prepared for the method (once per
        process); how many seeds fit in one group on this device."""
        tensors = self.check_inputs(views, view_names)
        cfg, k = self.resolved_config(), int(self.n_classes)
        device = resolve_device(self.device)
        self.config_ = cfg
        self.fitted_settings_: dict[str, Any] = {}  # settings the method derived from the data
        self.n_views_in_ = len(tensors)
        self.dims_ = [int(t.shape[1]) for t in tensors]
        work = _Work(tensors, None, cfg, k, device, self._threads(device, tensors, k, cfg))
        with work.threads_set():
            work.data = self._prepare(tensors, cfg, device)
            self._work = work
            return int(self._group_size(work.data, k, cfg))

    def search_groups(
        self,
        groups: list[list[int]],
        ledger: Ledger,
        progress: Progress | None = None,
        checkpoint_every_s: float = 60.0,
    ) -> int:
        """Search the ``groups`` of seeds (after :meth:`prepare_search`) whose seeds are not all
        in ``ledger`` yet, each from its state in flight there, keeping every finished group in
        ``ledger``; the number of groups searched."""
        work = self._prepared()

        def search(
            group: list[int], state: dict | None, report: Callable, save: Callable
        ) -> GroupResult:
            return self._search_group(
                work.data, work.k, work.cfg, group, state, report, save, checkpoint_every_s
            )

        def keep(result: GroupResult, j: int) -> dict:
            return {
                "encoder": _take(result.encoders, j),
                "labels": result.labels[j].cpu(),
                "objective": float(result.objectives[j]),
            }

        with work.threads_set(), matmul_precision(work.device, self.precision):
            return run_seed_groups(groups, work.cfg.iters, search, keep, ledger, progress)

    def select_seeds(self, ledger: Ledger) -> SeedSearch:
        """Take every seed 0 … n_seeds − 1 from ``ledger`` (after :meth:`prepare_search`), score
        them all together label-free, pick the reference and ensemble: the fitted model."""
        work = self._prepared()
        kept = [ledger.result(s) for s in range(int(self.n_seeds))]
        self.encoders_ = _stack([d["encoder"] for d in kept])
        self.objectives_ = np.array([d["objective"] for d in kept])
        self.seed_labels_ = torch.stack([d["labels"] for d in kept]).numpy().astype(np.int64)
        with work.threads_set():
            self._select(self._score_views(work.tensors), work.k, work.device)
        del self._work  # the views on the device are no longer needed
        return self

    def _prepared(self) -> _Work:
        work: _Work | None = getattr(self, "_work", None)
        if work is None:
            raise HumeError("call prepare_search (or fit) before searching or selecting seeds")
        return work

    def _select(self, views: Sequence[torch.Tensor], k: int, device: torch.device) -> None:
        """Score every seed label-free on ``views`` (as given), pick the reference, ensemble."""
        from hume.core.stages import stage
        from hume.search.selection.ensembling import best_ensemble, ensemble
        from hume.search.selection.label_free_score import label_free_scores

        cfg = self.config_
        labelings = torch.as_tensor(self.seed_labels_, device=device)
        views = [v.to(device=device, dtype=torch.float32) for v in views]
        bound = {"max_rows": cfg.score_sample(labelings.shape[1], k), "max_iter": cfg.score_iters}
        with stage("score"):
            both = label_free_scores(
                views, labelings, k, seed=self.random_state, both=True, **bound
            )
        self.fitted_settings_.update(score_rows_used=bound["max_rows"] or labelings.shape[1])
        scores = both[:, 0]
        kind = cfg.ensemble
        with stage("ensemble"):
            if kind == "auto":  # the kind whose labeling linear classifiers learn best, this run
                pool = getattr(cfg, "auto_consensus", "cut")
                labels, ref, perms, weighed = best_ensemble(
                    labelings, scores, k, views, pool, self.random_state, bound["max_rows"]
                )
                self.fitted_settings_.update(weighed.settings())
            else:
                labels, ref, perms = ensemble(labelings, scores, k, kind, seed=self.random_state)
        self.scores_ = scores.double().cpu().numpy()
        self.balanced_scores_ = both[:, 1].double().cpu().numpy()
        self.labels_ = labels.cpu().numpy().astype(np.int64)
        self.reference_seed_ = int(ref)
        self.perms_ = perms.cpu().numpy().astype(np.int64)

    def _threads(
        self, device: torch.device, tensors: Sequence[torch.Tensor], k: int, cfg: Any
    ) -> int | None:
        if device.type != "cpu":
            return None
        if self.num_threads is not None:
            return int(self.num_threads)
        work = self._step_work([tuple(t.shape) for t in tensors], k, cfg) * int(self.n_seeds)
        return 1 if work < THREADS_FROM_WORK else None

    # -- prediction ------------------------------------------------------------------------
    def predict_seeds(self, views: Any) -> np.ndarray:
        """(n_seeds, M) labeling of new rows by every seed, each in its own class numbering."""
        check_is_fitted(self, "encoders_")
        return self._predict_seeds(view_list_for(self, views))

    def predict(self, views: Any) -> np.ndarray:
        """(M,) ensemble labels of new rows: every seed, matched to the ensemble (``perms_``),
        majority vote. With the vote ensemble it gives the searched rows their ``labels_``
        exactly; after a consensus (``ensemble`` cut or linkage) on most rows, not all."""
        from hume.search.selection.ensembling import vote

        seeds = torch.as_tensor(self.predict_seeds(views))
        return (
            vote(seeds, torch.as_tensor(self.perms_), self.reference_seed_, int(self.n_classes))
            .numpy()
            .astype(np.int64)
        )

    def margins(self, views: Any) -> np.ndarray:
        """(M,) how clearly the reference seed's encoder puts each new row in its class, in
        [0, 1]: 0 on a boundary between two classes, 1 at the most decided (method-specific)."""
        check_is_fitted(self, "encoders_")
        return self._margins(view_list_for(self, views))

    @classmethod
    def from_fitted_state(cls, state: dict[str, Any]) -> SeedSearch:
        """A fitted model from :meth:`fitted_state` (a saved run), ready to predict.

        States of earlier versions lack ``dims`` (read off the encoders here) and
        ``n_classes``/``reference_seed`` (the caller adds them from the run)."""
        model = cls(n_classes=int(state["n_classes"]))
        model.encoders_ = state["encoders"]
        model.perms_ = np.asarray(state["perms"], dtype=np.int64)
        model.n_seeds = int(model.perms_.shape[0])
        model.reference_seed_ = int(state["reference_seed"])
        model.dims_ = [int(d) for d in state.get("dims") or model._encoder_dims()]
        model.n_views_in_ = len(model.dims_)
        model._restore_preprocessing(state)
        return model

    def fitted_state(self) -> dict[str, Any]:
        """Everything :meth:`predict_seeds` needs, as tensors and plain values (to save a run)."""
        check_is_fitted(self, "encoders_")
        return {
            "method": self.method,
            "n_classes": int(self.n_classes),
            "encoders": self.encoders_,
            "perms": torch.as_tensor(self.perms_),
            "reference_seed": int(self.reference_seed_),
            "dims": list(self.dims_),
            **self._preprocessing_state(),
        }

    # -- what a method supplies ------------------------------------------------------------
    def _fit_views(
        self, tensors: list[torch.Tensor], names: Sequence[str] | None, k: int, cfg: Any
    ) -> list[torch.Tensor]:
        """Method rules on the (checked) views; returns the views the search uses."""
        names = list(names) if names is not None else [f"#{i + 1}" for i in range(len(tensors))]
        self.check_problem(k, tensors[0].shape[0], [t.shape[1] for t in tensors], names)
        return tensors

    def _prepare(self, tensors: list[torch.Tensor], cfg: Any, device: torch.device) -> Any:
        raise NotImplementedError

    def _group_size(self, data: Any, k: int, cfg: Any) -> int:
        return int(self.algorithm.group_size(data, k, cfg))

    def _search_group(
        self,
        data: Any,
        k: int,
        cfg: Any,
        seed_ids: list[int],
        state: dict | None,
        report: Callable,
        save: Callable,
        checkpoint_every_s: float,
    ) -> GroupResult:
        result: GroupResult = self.algorithm.search_group(
            data,
            k,
            cfg,
            seed_ids,
            self.random_state,
            state,
            on_progress=report,
            checkpoint=save,
            checkpoint_every_s=checkpoint_every_s,
        )
        return result

    def _score_views(self, tensors: list[torch.Tensor]) -> list[torch.Tensor]:
        """The views (as given) that the label-free score fits classifiers in."""
        return tensors

    def _step_work(self, shapes: list[tuple[int, ...]], k: int, cfg: Any) -> float:
        """Multiply-adds of one outer step of one seed (decides the CPU thread count)."""
        raise NotImplementedError

    def _predict_seeds(self, views: list[torch.Tensor]) -> np.ndarray:
        raise NotImplementedError

    def _margins(self, views: list[torch.Tensor]) -> np.ndarray:
        raise NotImplementedError

    def _preprocessing_state(self) -> dict[str, Any]:
        return {}

    def _restore_preprocessing(self, state: dict[str, Any]) -> None:
        """Set what :meth:`_preprocessing_state` saved."""

    def _encoder_dims(self) -> list[int]:
        """The view widths the encoders act on (for states that did not save them)."""
        raise NotImplementedError


def store_params(model: SeedSearch, params: dict[str, Any]) -> None:
    """``__init__``'s job in scikit-learn's convention: keep every parameter as given, under its
    own name (``params`` is the caller's ``locals()``), and nothing else."""
    for name, value in params.items():
        if name not in ("self", "__class__"):
            setattr(model, name, value)


def view_list_for(model: SeedSearch, views: Any) -> list[torch.Tensor]:
    """New rows in the views a fitted model reads, checked against the widths it was fitted on.

    A model that labels through φ1 only accepts φ1 alone or all its views (it reads the first).
    """
    from hume.search.views import view_list

    given = view_list(views)
    need = model.n_views_in_ if model.predicts_from_all_views else 1
    if not model.predicts_from_all_views:
        if len(given) not in (1, model.n_views_in_):
            raise HumeError(
                f"the model was fitted on {model.n_views_in_} view(s) and labels through the "
                f"first: pass φ1 alone or all {model.n_views_in_} (got {len(given)})"
            )
        given = given[:1]
    tensors = check_views(given)
    if len(tensors) != need:
        raise HumeError(
            f"the model was fitted on {need} view(s); pass the new rows in the same "
            f"{need} view(s) (got {len(tensors)})"
        )
    for i, (t, d) in enumerate(zip(tensors, model.dims_)):
        if t.shape[1] != d:
            raise HumeError(
                f"view #{i + 1} of the new rows has {t.shape[1]} dims, the model was fitted on {d}"
            )
    return tensors


def _take(tree: Any, j: int) -> Any:
    """Seed ``j`` of a batched structure of tensors, on the host."""
    if isinstance(tree, torch.Tensor):
        return tree[j].cpu()
    if isinstance(tree, dict):
        return {key: _take(v, j) for key, v in tree.items()}
    return [_take(v, j) for v in tree]


def _stack(trees: list[Any]) -> Any:
    """The inverse of :func:`_take` over all seeds: one batched structure."""
    first = trees[0]
    if isinstance(first, torch.Tensor):
        return torch.stack(trees)
    if isinstance(first, dict):
        return {key: _stack([t[key] for t in trees]) for key in first}
    return [_stack([t[i] for t in trees]) for i in range(len(first))]
