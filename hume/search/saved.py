"""A finished run's fitted model, loaded back to label rows (``hume export``, ``hume predict``)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np

from hume.core.errors import HumeError
from hume.runs import load_config
from hume.search.base import SeedSearch
from hume.search.methods import get_method

MODEL_FILE = "encoders.pt"


def finished_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    """The run's configuration, or a HumeError saying how to finish an unfinished run."""
    run_dir = Path(run_dir)
    config = load_config(run_dir)
    if config.get("status") != "complete":
        raise HumeError(
            f"run {run_dir.name} has not finished (status {config.get('status')!r}): continue it "
            f"with `hume search --resume --run {run_dir.name}`"
        )
    return config


def load_model(run_dir: str | os.PathLike) -> SeedSearch:
    """The fitted estimator of a finished run (any version's ``encoders.pt``)."""
    import torch

    run_dir = Path(run_dir)
    config = finished_config(run_dir)
    path = run_dir / MODEL_FILE
    try:
        saved = torch.load(path, weights_only=True)
    except FileNotFoundError:
        raise HumeError(f"run {run_dir.name} has no {MODEL_FILE}: run the search again") from None
    except Exception as exc:  # anything else: the file cannot be trusted
        raise HumeError(
            f"{path} is unreadable ({type(exc).__name__}): run the search again"
        ) from None
    defaults: dict[str, Any] = {"n_classes": int(config["k"])}
    if "reference_seed" not in saved:  # runs of earlier versions kept it in ensemble.npz only
        with np.load(run_dir / "ensemble.npz") as ens:
            defaults["reference_seed"] = int(ens["reference_seed"])
    state = {**defaults, **saved}
    hp = config.get("hyperparameters", {})
    if state.get("method") == "turtle" and "mean" not in state and hp.get("standardise"):
        raise HumeError(
            f"run {run_dir.name} standardised its views but was written by an earlier version "
            "that did not save the statistics: run the search again to label new rows"
        )
    return get_method(state.get("method") or config["method"]).from_fitted_state(state)
