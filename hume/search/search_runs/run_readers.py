"""A finished run's files read back by the search's side, whatever version wrote them: its
fitted model (encoders.pt: to label rows, ``hume export``, ``hume predict``) and its seeds'
signals (seeds.npz: for a choice among candidates)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from hume.core.errors import HumeError
from hume.runs import ENSEMBLE, MODEL, SEEDS, finished_config
from hume.search.estimators.estimator_base import SeedSearch
from hume.search.methods import get_method, get_method_config


def load_model(run_dir: str | os.PathLike) -> SeedSearch:
    """The fitted estimator of a finished run (any version's ``encoders.pt``)."""
    import torch

    run_dir = Path(run_dir)
    config = finished_config(run_dir)
    path = run_dir / MODEL
    try:
        saved = torch.load(path, weights_only=True)
    except FileNotFoundError as exc:
        raise HumeError(f"run {run_dir.name} has no {MODEL}: run the search again") from exc
    except OSError as exc:  # permission or the disk: not the file's content
        raise HumeError(
            f"cannot read {path}: {exc.strerror or exc}; make it readable (it may be intact), "
            "then run the same command again"
        ) from exc
    except Exception as exc:  # it was read but does not load: damaged, it cannot be trusted
        raise HumeError(
            f"{path} is unreadable ({type(exc).__name__}): run the search again"
        ) from exc
    defaults: dict[str, Any] = {"n_classes": config.k}
    if "reference_seed" not in saved:  # runs of earlier versions kept it in ensemble.npz only
        with np.load(run_dir / ENSEMBLE) as ens:
            defaults["reference_seed"] = int(ens["reference_seed"])
    state = {**defaults, **saved}
    hp = config.hyperparameters
    if state.get("method") == "turtle" and "mean" not in state and hp.get("standardise"):
        raise HumeError(
            f"run {run_dir.name} standardised its views but was written by an earlier version "
            "that did not save the statistics: run the search again to label new rows"
        )
    if state.get("method") == "refit":  # a refit's probes (hume.refit)
        from hume.search.estimators.anchored_refit import ProbeModel

        return ProbeModel.from_fitted_state(state)
    return get_method(state.get("method") or config.method).from_fitted_state(state)


def seed_signals(
    run_dir: Path, views: list[Any], all_views: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(labels (n_seeds, N), scores, balanced scores (n_seeds,)) of a finished run's seeds; a
    run written before the balanced score was kept has it computed now on its ``views`` (the
    φ2 views, or every view with ``all_views``), as the search would have."""
    import torch

    config = finished_config(run_dir)
    with np.load(run_dir / SEEDS) as seeds:
        labels, scores = seeds["labels"], seeds["scores"]
        if "balanced_scores" in seeds:
            return labels, scores, seeds["balanced_scores"]
    from hume.search.selection.label_free_score import label_free_scores

    cfg = get_method_config(config.method).from_dict(config.hyperparameters)
    balanced = label_free_scores(
        views if all_views else (views[1:] or views),
        torch.as_tensor(labels),
        config.k,
        seed=config.random_state,
        balanced=True,
        max_rows=cfg.score_sample(labels.shape[1], config.k),
        max_iter=cfg.score_iters,
    ).numpy()
    return labels, scores, balanced


def run_reproducibility(run_dir: Path) -> dict[str, Any]:
    """:func:`hume.search.selection.choice_signals.reproducibility` of a finished run's seeds."""
    from hume.search.selection.choice_signals import reproducibility

    with np.load(Path(run_dir) / SEEDS) as seeds:
        return reproducibility(seeds["labels"])
