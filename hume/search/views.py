"""Checking the views a search is given: the one check both methods share."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from hume.core.errors import HumeError


def as_view(x: Any, name: str) -> torch.Tensor:
    """A 2-D finite real tensor (on its own device), or a HumeError naming the problem."""
    t = x if isinstance(x, torch.Tensor) else torch.as_tensor(np.asarray(x))
    if t.dim() != 2 or t.shape[0] == 0 or t.shape[1] == 0:
        raise HumeError(
            f"view {name} must be a non-empty (rows, dims) array, got shape {tuple(t.shape)}"
        )
    if not (t.dtype.is_floating_point or t.dtype in (torch.int32, torch.int64, torch.uint8)):
        raise HumeError(f"view {name} must hold real numbers, got {t.dtype}")
    if t.dtype.is_floating_point and not bool(torch.isfinite(t).all()):
        bad = int((~torch.isfinite(t).all(1)).sum())
        raise HumeError(f"view {name} contains NaN or Inf in {bad} rows: clean or re-embed it")
    return t


def view_list(views: Any) -> list[Any]:
    """One (N, d) array or a sequence of them, as a list."""
    if isinstance(views, (torch.Tensor, np.ndarray)):
        return [views]
    return list(views)


def check_views(views: Sequence[Any], names: Sequence[str] | None = None) -> list[torch.Tensor]:
    """At least one finite 2-D view, all with the same rows, as tensors (HumeError otherwise)."""
    views = view_list(views)
    if not views:
        raise HumeError("no views given: pass at least one (rows, dims) feature array")
    names = list(names) if names is not None else [f"#{i + 1}" for i in range(len(views))]
    tensors = [as_view(v, name) for v, name in zip(views, names)]
    n = tensors[0].shape[0]
    for t, name in zip(tensors, names):
        if t.shape[0] != n:
            raise HumeError(
                f"views have different row counts: {names[0]} has {n} rows, {name} has "
                f"{t.shape[0]}: use views embedded from the same dataset and split"
            )
    return tensors


def check_classes(k: int, n: int) -> None:
    """2 ≤ K ≤ N."""
    if k < 2:
        raise HumeError(f"the number of classes must be at least 2, got {k}")
    if k > n:
        raise HumeError(f"the number of classes ({k}) exceeds the number of rows ({n})")


def standardise(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(x − mean) / std per feature, and the (mean, std) used; constant features keep std 1."""
    mean, std = x.mean(0), x.std(0, unbiased=False)
    std = torch.where(std > 1e-12, std, torch.ones_like(std))
    return (x - mean) / std, mean, std


def l2_normalise(x: torch.Tensor) -> torch.Tensor:
    """Rows scaled to unit L2 norm (zero rows stay zero)."""
    return x / x.norm(dim=1, keepdim=True).clamp_min(1e-12)


def check_seed_labelings(labelings: torch.Tensor, k: int, n: int | None = None) -> torch.Tensor:
    if not isinstance(labelings, torch.Tensor):
        labelings = torch.as_tensor(labelings)
    if labelings.dim() == 1:
        labelings = labelings[None]
    if labelings.dim() != 2:
        raise HumeError(f"labelings must be (seeds, rows), got shape {tuple(labelings.shape)}")
    if labelings.dtype.is_floating_point or labelings.dtype == torch.bool:
        raise HumeError("labelings must be integer class indices, got " + str(labelings.dtype))
    if k < 1:
        raise HumeError(f"the number of classes must be at least 1, got k={k}")
    if n is not None and labelings.shape[1] != n:
        raise HumeError(
            f"labelings have {labelings.shape[1]} rows but the features have {n}: pass the labelings "
            "of the same rows"
        )
    if labelings.numel() and (int(labelings.min()) < 0 or int(labelings.max()) >= k):
        raise HumeError(f"labels must lie in [0, {k - 1}] for k={k}; relabel them or raise k")
    return labelings.long()
