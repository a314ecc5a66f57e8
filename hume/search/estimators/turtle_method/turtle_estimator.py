"""``TURTLE``: the first-order, multi-space labeling search as a scikit-learn estimator."""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import torch

from hume.search.estimators.estimator_base import SeedSearch, store_params
from hume.search.estimators.turtle_method import turtle_outer as outer
from hume.search.estimators.turtle_method.turtle_config import TurtleConfig
from hume.search.views import standardise


class TURTLE(SeedSearch):
    """TURTLE labeling search (Gadetsky, Jiang & Brbić, ICML 2024) over one or more views.

    Every view parametrises the labeling (a weight-normalised linear encoder with bias per view,
    softmax probabilities averaged over views) and is a space where linear classifiers must fit
    it; the hypergradient is first order: inner classifiers are trained on the detached labeling
    (docs/algorithm.md §4).

    Parameters (besides those of :class:`~hume.search.estimators.estimator_base.SeedSearch`): ``preset``
    ``"default"`` (warm start, larger steps, 1000 steps) or ``"paper"`` (the official settings);
    ``iters``, ``inner_steps``, ``subset_size``, ``entropy_weight``, ``size_term``,
    ``ensemble``, ``inner_lr``, ``outer_lr``, ``warm_start``, ``standardise`` override single
    settings (None: the preset's, see
    :class:`~hume.search.estimators.turtle_method.turtle_config.TurtleConfig`).

    Fitted attributes (besides the shared ones): ``encoders_``, a list per view of
    ``{"weight": (n_seeds, K, d_v), "bias": (n_seeds, K)}`` acting on the preprocessed
    features; ``mean_``/``std_`` per view (standardisation, or None).
    """

    method = "turtle"
    config_class = TurtleConfig
    algorithm: ClassVar[Any] = outer
    SETTINGS = (*TurtleConfig.OPTIONS, "standardise")  # the options, and one of its own
    predicts_from_all_views = True  # every view's encoder reads new rows

    def __init__(
        self,
        n_classes: int,
        n_seeds: int = 10,
        *,
        preset: str | None = None,
        iters: int | None = None,
        inner_steps: int | None = None,
        subset_size: int | None = None,
        entropy_weight: float | None = None,
        size_term: str | None = None,
        ensemble: str | None = None,
        inner_lr: float | None = None,
        outer_lr: float | None = None,
        warm_start: bool | None = None,
        standardise: bool | None = None,
        config: TurtleConfig | None = None,
        device: str = "auto",
        precision: str = "fp32",
        random_state: int = 0,
        group_size: int | None = None,
        dtype: torch.dtype = torch.float32,
        num_threads: int | None = None,
    ):
        store_params(self, locals())

    def _fit_views(
        self, tensors: list[torch.Tensor], names: Any, k: int, cfg: TurtleConfig
    ) -> list[torch.Tensor]:
        tensors = super()._fit_views(tensors, names, k, cfg)
        cfg.check_rows(tensors[0].shape[0])
        return tensors

    def _prepare(
        self, tensors: list[torch.Tensor], cfg: TurtleConfig, device: torch.device
    ) -> list[torch.Tensor]:
        """Views on the device, standardised with the statistics of the fitted rows (if asked)."""
        self.mean_: list[torch.Tensor | None] = []
        self.std_: list[torch.Tensor | None] = []
        out = []
        for t in tensors:
            x = t.to(device=device, dtype=self.dtype)
            if cfg.standardise:
                x, mean, std = standardise(x)
                self.mean_.append(mean.cpu())
                self.std_.append(std.cpu())
            else:
                self.mean_.append(None)
                self.std_.append(None)
            out.append(x)
        return out

    def _step_work(self, shapes: list[tuple[int, ...]], k: int, cfg: TurtleConfig) -> float:
        # per view: the encoder's product, and per inner step a forward and a gradient product
        m = cfg.rows_per_step(shapes[0][0])
        return sum((2 * cfg.inner_steps + 2) * m * d * k for _, d in shapes)

    def _standardised(self, views: list[torch.Tensor]) -> list[torch.Tensor]:
        """New rows on the host in float64, standardised as the fitted rows were."""
        xs = []
        for x, mean, std in zip(views, self.mean_, self.std_):
            x = x.to(device="cpu", dtype=torch.float64)
            xs.append(x if mean is None or std is None else (x - mean.to(x)) / std.to(x))
        return xs

    def _predict_seeds(self, views: list[torch.Tensor]) -> np.ndarray:
        xs = self._standardised(views)
        weights = [e["weight"].to(torch.float64) for e in self.encoders_]
        biases = [e["bias"].to(torch.float64) for e in self.encoders_]
        return outer.seed_labels(xs, weights, biases).numpy().astype(np.int64)

    def _reference_probs(self, views: list[torch.Tensor]) -> torch.Tensor:
        """(M, K) the reference seed's labeling probabilities: softmax averaged over views."""
        ref = self.reference_seed_
        probs = []
        for x, e in zip(self._standardised(views), self.encoders_):
            w, b = e["weight"][ref : ref + 1], e["bias"][ref : ref + 1]
            probs.append(outer.view_probs(x, w.to(torch.float64), b.to(torch.float64))[:, 0])
        return torch.stack(probs).mean(0)

    def _margins(self, views: list[torch.Tensor]) -> np.ndarray:
        top = self._reference_probs(views).topk(2, dim=1).values
        return (top[:, 0] - top[:, 1]).clamp(0, 1).numpy()

    def _preprocessing_state(self) -> dict[str, Any]:
        return {"mean": self.mean_, "std": self.std_}

    def _restore_preprocessing(self, state: dict[str, Any]) -> None:
        n = len(self.dims_)
        self.mean_ = list(state.get("mean") or [None] * n)
        self.std_ = list(state.get("std") or [None] * n)

    def _encoder_dims(self) -> list[int]:
        return [int(e["weight"].shape[2]) for e in self.encoders_]
