"""A search request → a run directory: resolve the stores, fit the method, write the run.

:func:`run_search` starts a run, :func:`resume_search` continues an interrupted one (a complete
run is a no-op); both write ``<root>/runs/<name>/`` as docs/data.md §3 describes, holding the
run's lock, so two processes never write one run. Labels are never read. Messages go to the
``hume`` logger, progress to the caller's :class:`~hume.reporting.Reporter`; Ctrl-C leaves a
resumable state and raises :class:`~hume.errors.Interrupted` saying how to continue; a full disk
or a read-only root raises one :class:`~hume.errors.HumeError`, the run staying resumable.
"""

from __future__ import annotations

import contextlib
import inspect
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch

import hume
from hume.devices import check_precision, resolve_device
from hume.disk_errors import disk_errors
from hume.errors import HumeError, Interrupted
from hume.faults import fault_point, maybe_fault
from hume.files import remove_partial_writes, save_npz, save_torch, write_json
from hume.names import canonical_model, check_name
from hume.reporting import SILENT, Reporter, logger
from hume.runs import (
    default_run_name,
    load_config,
    new_run_dir,
    resolve_run,
    run_lock,
    runs_dir,
)
from hume.search.base import SeedSearch
from hume.search.inputs import LoadedViews, load_views, plan_splits
from hume.search.methods import get_method
from hume.search.options import SearchOptions
from hume.search.selection import vote
from hume.search.sweep import sweep
from hume.store import resolve_dataset

STATE_FILE = "state.pt"

#: Test hook (never set by users; :mod:`hume.faults`): ``kill:K`` SIGKILLs the search once its
#: K-th checkpoint is saved, ``pause:K`` sleeps there until a signal arrives. While it is set the
#: state is saved after every outer iteration (not every 60 s), so kills land at known points.
FAULT_ENV = "HUME_SEARCH_FAULT"


@dataclass
class SearchRequest:
    """What ``hume search`` asks for (a new run)."""

    views: list[str]
    dataset: str | None = None
    k: int | None = None
    seeds: int = 10
    setting: str = "transductive"
    options: SearchOptions = field(default_factory=SearchOptions)
    preset: str | None = None
    sweep: bool = False
    method: str = "hume"
    device: str = "auto"
    precision: str = "fp32"
    run: str | None = None
    root: str | None = None
    random_state: int = 0
    single_view: bool = False


def _estimator(cls: type[SeedSearch], config: dict[str, Any], cfg: Any) -> SeedSearch:
    """The method's estimator for a run's configuration (parameters it lacks are left out)."""
    params = {
        "n_classes": int(config["k"]),
        "n_seeds": int(config["n_seeds"]),
        "config": cfg,
        "device": config.get("device", "auto"),
        "precision": config.get("precision", "fp32"),
        "random_state": int(config["hyperparameters"].get("random_state", 0)),
        "allow_single_view": bool(config.get("single_view")),
    }
    accepted = inspect.signature(cls).parameters
    return cls(**{key: value for key, value in params.items() if key in accepted})


def _load_state(path: Path) -> dict | None:
    """The resume state (tensors, numbers, lists, dicts only: no arbitrary unpickling)."""
    if not path.is_file():
        return None
    try:
        return torch.load(path, weights_only=True)
    except Exception as exc:  # any failure means the checkpoint cannot be trusted
        raise HumeError(
            f"the resume state {path} is unreadable ({type(exc).__name__}): delete it "
            "to restart the run from its beginning"
        ) from None


def run_search(req: SearchRequest, reporter: Reporter = SILENT) -> Path:
    """Start a run: check everything, create ``<root>/runs/<name>``, search, write; its path."""
    cls = get_method(req.method)
    if not req.views:
        raise HumeError(
            "--views is empty: give φ1 and at least one φ2 view, e.g. --views clip,dinov2"
        )
    if req.seeds < 1:
        raise HumeError(f"--seeds must be ≥ 1, got {req.seeds}")
    if req.k is not None and req.k < 2:
        raise HumeError(f"--k must be at least 2, got {req.k}")
    check_precision(req.precision)
    cfg = cls.config_class.from_options(req.preset, req.options)
    if req.sweep and req.preset == "paper":
        raise HumeError(
            "--sweep and --preset paper exclude each other: the paper fixes every setting"
        )
    if req.sweep and not cfg.sweep_points():
        raise HumeError(
            f"--sweep applies to --method hume only (--method {cls.method} has no "
            "sweep grid): drop --sweep"
        )
    if req.run is not None:
        check_name("run", req.run)  # an empty or unsafe name is refused before any work
    views = [check_name("view", canonical_model(v)) for v in req.views]
    dataset = resolve_dataset(req.root, views, req.dataset)
    search_splits, predict_splits = plan_splits(
        req.root, dataset, views, req.setting, predict_all_views=cls.predicts_from_all_views
    )
    dev = resolve_device(req.device)
    if req.precision == "tf32" and dev.type != "cuda":
        logger.info(
            "note: --precision tf32 applies to CUDA GPUs; on the CPU the search runs in fp32"
        )
    loaded = load_views(
        req.root,
        dataset,
        views,
        search_splits,
        predict_splits,
        dev,
        predict_all_views=cls.predicts_from_all_views,
    )
    k = req.k if req.k is not None else loaded.num_classes
    if k is None:
        raise HumeError(
            f"the number of classes of {dataset!r} is unknown (no num_classes in its "
            "stores): pass --k"
        )
    config: dict[str, Any] = {
        "method": cls.method,
        "dataset": dataset,
        "views": views,
        "setting": req.setting,
        "k": int(k),
        "n_seeds": req.seeds,
        "hyperparameters": {
            **cfg.to_dict(),
            "random_state": req.random_state,
            "preset": req.preset or "default",
            "sweep": req.sweep,
        },
        "search_splits": search_splits,
        "predict_splits": predict_splits,
        "stores": loaded.stores,
        "status": "running",
        "device": str(dev),
        "precision": req.precision,
        "single_view": req.single_view,
        "created": datetime.now(UTC).isoformat(),
        "hume_version": hume.__version__,
    }
    model = _estimator(cls, config, cfg)
    model.check_inputs(loaded.search, view_names=views)  # before the run directory exists
    name = req.run if req.run is not None else default_run_name(cls.method, dataset)
    with contextlib.ExitStack() as held:
        with disk_errors("starting", runs_dir(req.root) / name, then="run the same command again"):
            held.enter_context(run_lock(req.root, name))  # before the run can exist
            run_dir = new_run_dir(req.root, name)
            write_json(run_dir / "config.json", config)
        return _search_and_write(run_dir, config, loaded, model, state=None, reporter=reporter)


def resume_search(
    root: str | None = None,
    run: str | None = None,
    device: str | None = None,
    precision: str | None = None,
    reporter: Reporter = SILENT,
) -> Path:
    """Continue the run ``run`` (default: the newest) from its saved state; its path.

    ``device`` and ``precision`` (None: the run's own) apply from here on and are recorded.
    """
    run_dir = resolve_run(root, run)
    config = load_config(run_dir)
    if config.get("status") == "complete":
        logger.info(
            "nothing to do: run %s is already complete (start a new run to search again)",
            run_dir.name,
        )
        return run_dir
    with run_lock(root, run_dir.name):
        remove_partial_writes(run_dir)
        return _resume(run_dir, root, device, precision, reporter)


def _resume(
    run_dir: Path, root: str | None, device: str | None, precision: str | None, reporter: Reporter
) -> Path:
    config = load_config(run_dir)  # again, under the lock
    if config.get("status") == "complete":
        logger.info("nothing to do: run %s was completed meanwhile", run_dir.name)
        return run_dir
    cls = get_method(config["method"])
    state = _load_state(run_dir / STATE_FILE)
    dev = resolve_device(device or config.get("device", "auto"))
    loaded = load_views(
        root,
        config["dataset"],
        config["views"],
        config["search_splits"],
        config["predict_splits"],
        dev,
        predict_all_views=cls.predicts_from_all_views,
    )
    for key, entry in loaded.stores.items():
        was = config["stores"].get(key, {})
        if was.get("store_id") and was.get("store_id") != entry.get("store_id"):
            raise HumeError(
                f"store {key} changed since the run started (different store_id): start a new run"
            )
    config["device"] = str(dev)
    if precision is not None:  # like --device, an explicit --precision applies from here on
        config["precision"] = check_precision(precision)
    cfg = cls.config_class.from_dict(config["hyperparameters"])
    model = _estimator(cls, config, cfg)
    if config["hyperparameters"].get("sweep") and not config.get("sweep_done"):
        state = None  # interrupted during the sweep: it starts again
    return _search_and_write(run_dir, config, loaded, model, state, reporter)


def _run_sweep(
    run_dir: Path, config: dict[str, Any], loaded: LoadedViews, model: SeedSearch
) -> None:
    def on_trial(trial: dict[str, Any]) -> None:
        shown = ", ".join(
            f"{key} {val:g}" for key, val in trial.items() if key not in ("mean_score", "scores")
        )
        logger.info(f"sweep: {shown}: label-free score {trial['mean_score']:.4f}")
        config.setdefault("sweep", []).append(trial)
        write_json(run_dir / "config.json", config)

    config["sweep"] = []
    cfg, _ = sweep(model, loaded.search, view_names=config["views"], on_trial=on_trial)
    model.set_params(config=cfg)
    config["hyperparameters"].update(cfg.to_dict())
    config["sweep_done"] = True
    write_json(run_dir / "config.json", config)


def _search_and_write(
    run_dir: Path,
    config: dict[str, Any],
    loaded: LoadedViews,
    model: SeedSearch,
    state: dict | None,
    reporter: Reporter,
) -> Path:
    """(Sweep if asked and not done,) fit with checkpoints to state.pt, write the results."""
    state_path = run_dir / STATE_FILE
    fault = fault_point(FAULT_ENV)
    saved = 0

    def checkpoint(st: dict) -> None:
        nonlocal saved
        save_torch(st, state_path)
        saved += 1
        maybe_fault(fault, saved)

    then = f"continue with `hume search --resume --run {run_dir.name}`"
    try:
        with disk_errors("searching into", run_dir, then=then):
            try:
                if config["hyperparameters"].get("sweep") and not config.get("sweep_done"):
                    _run_sweep(run_dir, config, loaded, model)
                with reporter.task("search", total=None) as task:

                    def progress(done: int, total: int, objective: float, entropy: float) -> None:
                        task.update(completed=done, total=total, objective=objective, H=entropy)

                    model.fit(
                        loaded.search,
                        view_names=config["views"],
                        resume_state=state,
                        checkpoint=checkpoint,
                        checkpoint_every_s=0.0 if fault is not None else 60.0,
                        progress=progress,
                    )
            except KeyboardInterrupt:
                raise Interrupted(then) from None
            _write_results(run_dir, config, model, loaded)
    except HumeError as exc:
        config["status"] = "failed"
        config["error"] = str(exc)
        with contextlib.suppress(OSError):  # the disk may be the problem; the error says so
            write_json(run_dir / "config.json", config)
        raise
    logger.info(f"wrote run {run_dir}")
    return run_dir


def _write_results(
    run_dir: Path, config: dict[str, Any], model: SeedSearch, loaded: LoadedViews
) -> None:
    """seeds.npz, ensemble.npz (with the predicted splits), encoders.pt; then status complete."""
    k = int(config["k"])
    seeds_npz: dict[str, np.ndarray] = {
        "labels": np.asarray(model.seed_labels_, dtype=np.int64),
        "scores": np.asarray(model.scores_, dtype=np.float64),
        "objectives": np.asarray(model.objectives_, dtype=np.float64),
    }
    ens: dict[str, np.ndarray] = {
        "labels": np.asarray(model.labels_, dtype=np.int64),
        "reference_seed": np.asarray(int(model.reference_seed_)),
    }
    for split, xs in loaded.predict.items():
        per_seed = np.asarray(model.predict_seeds([x.cpu() for x in xs]), dtype=np.int64)
        seeds_npz[f"{split}_labels"] = per_seed
        ens[f"{split}_labels"] = (
            vote(
                torch.as_tensor(per_seed),
                torch.as_tensor(model.perms_),
                int(model.reference_seed_),
                k,
            )
            .numpy()
            .astype(np.int64)
        )
    save_npz(run_dir / "seeds.npz", seeds_npz)
    save_npz(run_dir / "ensemble.npz", ens)
    save_torch(model.fitted_state(), run_dir / "encoders.pt")
    config["status"] = "complete"
    config["finished"] = datetime.now(UTC).isoformat()
    config["hyperparameters"].update(model.fitted_settings_)
    write_json(run_dir / "config.json", config)
