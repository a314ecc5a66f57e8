"""``HUME``: the second-order labeling search as a scikit-learn estimator.

>>> model = HUME(n_classes=10, n_seeds=10).fit([phi1, phi2])      # arrays or tensors, (N, d_i)
>>> model.labels_            # (N,) ensemble labeling (label-free selection and majority vote)
>>> model.seed_labels_       # (n_seeds, N) every seed's labeling
>>> model.scores_            # (n_seeds,) label-free scores; model.objectives_ final objectives
>>> model.predict(phi1_new)  # ensemble labels of new rows through φ1 (inductive setting)
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar

import numpy as np
import torch

from hume.core.errors import HumeError, setting
from hume.search.estimators.estimator_base import SeedSearch, store_params
from hume.search.estimators.hume_method import hume_outer as outer
from hume.search.estimators.hume_method.encoder import hard_labels
from hume.search.estimators.hume_method.hume_config import HumeConfig
from hume.search.views import l2_normalise


class HUME(SeedSearch):
    """HUME labeling search (Gadetsky & Brbić, NeurIPS 2023) over several representation spaces.

    ``fit(views)``: views[0] is φ1, the space the labeling is parametrised in (argmax W φ1, W
    with K orthonormal rows, so K ≤ d1); every further view is a φ2 space where linear
    classifiers are fitted to the labeling and tested on held-out rows (losses averaged over
    the φ2 views); the hypergradient is exact, second order (docs/algorithm.md §2).

    Parameters (besides those of :class:`~hume.search.estimators.estimator_base.SeedSearch`): ``preset``
    ``"default"`` (works across feature scales), ``"paper"`` (the official settings) or
    ``"large-k"`` (the official ImageNet-1000 settings); ``iters``, ``inner_steps``,
    ``subsets``, ``subset_size``, ``train_fraction``, ``tau``, ``entropy_weight``,
    ``size_term``, ``ensemble``, ``inner_lr``, ``outer_lr``, ``anneal`` override single
    settings (None: the preset's, see :class:`~hume.search.estimators.hume_method.hume_config.HumeConfig`); ``allow_single_view`` accepts one view, used
    as both φ1 and φ2.

    Fitted attributes (besides the shared ones): ``encoders_`` (n_seeds, K, d1),
    ``inner_lr_`` (step size per φ2 view), ``phi1_mean_`` (d1,) subtracted from φ1 before the
    row normalisation.
    """

    method = "hume"
    config_class = HumeConfig
    algorithm: ClassVar[Any] = outer
    SETTINGS = HumeConfig.OPTIONS  # every option is a setting of the same name
    predicts_from_all_views = False  # new rows are labelled through φ1 alone

    def __init__(
        self,
        n_classes: int,
        n_seeds: int = 10,
        *,
        preset: str | None = None,
        iters: int | None = None,
        inner_steps: int | None = None,
        subsets: int | None = None,
        subset_size: int | None = None,
        train_fraction: float | None = None,
        tau: float | None = None,
        entropy_weight: float | None = None,
        size_term: str | None = None,
        ensemble: str | None = None,
        inner_lr: float | None = None,
        outer_lr: float | None = None,
        anneal: bool | None = None,
        config: HumeConfig | None = None,
        device: str = "auto",
        precision: str = "fp32",
        random_state: int = 0,
        group_size: int | None = None,
        allow_single_view: bool = False,
        dtype: torch.dtype = torch.float32,
        num_threads: int | None = None,
    ):
        store_params(self, locals())

    @classmethod
    def _run_parameters(cls, run: Any) -> dict[str, Any]:
        return {"allow_single_view": bool(run.single_view)}

    @classmethod
    def check_problem(cls, k: int, n: int, dims: Sequence[int], names: Sequence[str]) -> None:
        """2 ≤ K ≤ N, and K ≤ d1: the task encoder has K orthonormal rows in φ1's space."""
        super().check_problem(k, n, dims, names)
        if k > dims[0]:
            raise HumeError(
                f"the number of classes ({k}) exceeds the dimension of φ1 ({names[0]}: "
                f"{dims[0]}): HUME's task encoder has K orthonormal rows in φ1's space, so "
                f"K ≤ d1; put a wider view first or use {setting('method', 'turtle')}"
            )

    def _fit_views(
        self, tensors: list[torch.Tensor], names: Sequence[str] | None, k: int, cfg: HumeConfig
    ) -> list[torch.Tensor]:
        if len(tensors) == 1 and not self.allow_single_view:
            raise HumeError(
                "a single view was given: HUME fits in φ2 the labeling parametrised in φ1, so it "
                f"needs two views (e.g. {setting('views', 'clip,dinov2')}); to use the same space "
                f"for both, pass {setting('allow_single_view', True)}"
            )
        tensors = super()._fit_views(tensors, names, k, cfg)
        cfg.check_rows(tensors[0].shape[0])
        return tensors * 2 if len(tensors) == 1 else tensors

    def _prepare(
        self, tensors: list[torch.Tensor], cfg: HumeConfig, device: torch.device
    ) -> outer.Prepared:
        data = outer.prepare(tensors, cfg, device, self.dtype)
        self.inner_lr_ = list(data.inner_lr)
        self.fitted_settings_ = {"inner_lr_resolved": self.inner_lr_}
        self.phi1_mean_ = data.phi1_mean.detach().cpu().double()
        return data

    def _score_views(self, tensors: list[torch.Tensor]) -> list[torch.Tensor]:
        # the φ2 views as given (not the search's transform), so that settings with different
        # φ2 transforms are compared on the same footing; one view serves as both φ1 and φ2
        return tensors[1:] or tensors

    def _step_work(self, shapes: list[tuple[int, ...]], k: int, cfg: HumeConfig) -> float:
        # per subset, φ2 view and inner step: four (m × (d2+1) × K) products, forward and back
        m = cfg.subset_rows(shapes[0][0])
        return sum(cfg.subsets * cfg.inner_steps * 4 * m * (d + 1) * k for _, d in shapes[1:])

    def _predict_seeds(self, views: list[torch.Tensor]) -> np.ndarray:
        x = views[0].to(torch.float64)
        return hard_labels(
            l2_normalise(x - self.phi1_mean_), self.encoders_.to(torch.float64)
        ).numpy()

    def _margins(self, views: list[torch.Tensor]) -> np.ndarray:
        # W has orthonormal rows and its input unit norm, so every logit lies in [−1, 1]
        x = l2_normalise(views[0].to(torch.float64) - self.phi1_mean_)
        z = x @ self.encoders_[self.reference_seed_].to(torch.float64).T
        top = z.topk(2, dim=1).values
        return ((top[:, 0] - top[:, 1]) / 2).clamp(0, 1).numpy()

    def _preprocessing_state(self) -> dict[str, Any]:
        return {"phi1_mean": self.phi1_mean_}

    def _restore_preprocessing(self, state: dict[str, Any]) -> None:
        mean = state.get("phi1_mean")
        self.phi1_mean_ = (
            torch.zeros(self.dims_[0], dtype=torch.float64)
            if mean is None
            else torch.as_tensor(mean).double()
        )

    def _encoder_dims(self) -> list[int]:
        return [int(self.encoders_.shape[2])]
