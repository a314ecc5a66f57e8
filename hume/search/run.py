"""Running a search request end to end: resolve inputs, fit, write the run (see hume/runs.py).

Kept apart from the typer layer so tests and scripts can call :func:`execute` directly.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Optional

import numpy as np
import torch

import hume
from hume.errors import HumeError
from hume.names import canonical_model, check_name
from hume.runs import (atomic_write, default_run_name, load_config, new_run_dir, resolve_run,
                       write_json)
from hume.search.config import SearchConfig, resolve
from hume.devices import check_precision, resolve_device
from hume.search.estimator import HUME, check_phi1_width, vote
from hume.search.inputs import load_views, plan_splits
from hume.store import resolve_dataset

METHODS = ("hume", "turtle")
#: --sweep grid: settings tried on top of the preset, each scored by the mean label-free score of
#: a few seeds (SWEEP_SEEDS); the best replaces the preset's values for the real search.
SWEEP_GRID: tuple[dict[str, float], ...] = (
    {"outer_lr": 0.05, "tau": 0.1},
    {"outer_lr": 0.2, "tau": 0.1},
    {"outer_lr": 0.2, "tau": 0.5},
    {"outer_lr": 0.5, "tau": 0.5},
    {"outer_lr": 0.5, "tau": 0.5, "inner_lr_scale": 3.0},
)
SWEEP_SEEDS = 2


@dataclass
class SearchRequest:
    views: list[str]
    dataset: Optional[str] = None
    k: Optional[int] = None
    seeds: int = 10
    setting: str = "transductive"
    overrides: dict[str, Any] = field(default_factory=dict)
    preset: Optional[str] = None
    sweep: bool = False
    method: str = "hume"
    device: str = "auto"
    precision: Optional[str] = None  # None: fp32 for a new run, the run's own on resume
    run: Optional[str] = None
    root: Optional[str] = None
    random_state: int = 0
    single_view: bool = False


def _save_torch(obj: Any, path: Path) -> None:
    with atomic_write(path) as tmp:
        torch.save(obj, tmp)


def _save_npz(path: Path, **arrays: np.ndarray) -> None:
    with atomic_write(path, suffix=".npz") as tmp:  # np.savez appends .npz to other names
        np.savez(tmp, **arrays)


def _load_state(path: Path) -> dict:
    """The resume state (tensors, numbers, lists, dicts only: no arbitrary unpickling)."""
    try:
        return torch.load(path, weights_only=True)
    except Exception as exc:  # any failure means the checkpoint cannot be trusted
        raise HumeError(f"the resume state {path} is unreadable ({type(exc).__name__}): delete it "
                        "to restart the run from its beginning") from None


def _progress_bar(console_err: bool = True):
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

    return Progress(TextColumn("search"), BarColumn(), TextColumn("{task.completed}/{task.total} it"),
                    TextColumn("objective {task.fields[obj]}"), TextColumn("H {task.fields[ent]}"),
                    TimeElapsedColumn(), TimeRemainingColumn(),
                    console=Console(stderr=console_err), transient=False)


def _check_request(req: SearchRequest) -> None:
    if not req.views:
        raise HumeError("--views is empty: give φ1 and at least one φ2 view, e.g. --views clip,dinov2")
    if req.method not in METHODS:
        raise HumeError(f"unknown method {req.method!r}: use hume or turtle")
    if req.seeds < 1:
        raise HumeError(f"--seeds must be ≥ 1, got {req.seeds}")
    if req.precision is not None:
        check_precision(req.precision)
    if "warm_start" in req.overrides and req.method != "turtle":
        raise HumeError("--warm-start/--cold-start apply to --method turtle only")
    if len(req.views) == 1 and not req.single_view and req.method != "turtle":
        raise HumeError(
            "a single view was given: HUME needs φ1 and at least one φ2 view (e.g. --views "
            "clip,dinov2); pass --single-view to use one space as both")
    if req.sweep and req.method != "hume":
        raise HumeError("--sweep applies to --method hume only")
    if req.sweep and req.preset == "paper":
        raise HumeError("--sweep and --preset paper exclude each other: the paper fixes every setting")
    if req.k is not None and req.k < 2:
        raise HumeError(f"--k must be at least 2, got {req.k}")


def _turtle():
    try:
        from hume.search import turtle
    except ImportError:
        raise HumeError("--method turtle is not available in this build") from None
    return turtle


def _resolve_config(req: SearchRequest):
    """The method's resolved settings (HUME: SearchConfig; TURTLE: its own config)."""
    if req.method == "hume":
        return resolve(req.preset, **req.overrides)
    turtle = _turtle()
    est = turtle.TURTLE(n_classes=2, preset=req.preset, **req.overrides)  # refuses HUME-only settings
    return est.resolved_config()


def _config_from_dict(method: str, d: dict):
    if method == "hume":
        return SearchConfig.from_dict(d)
    return _turtle().TurtleConfig.from_dict(d)


def _make_estimator(method: str, k: int, seeds: int, cfg, device: str, random_state: int,
                    single_view: bool, precision: str = "fp32"):
    if method == "turtle":
        return _turtle().TURTLE(n_classes=k, n_seeds=seeds, config=cfg, device=device,
                                precision=precision, random_state=random_state)
    return HUME(n_classes=k, n_seeds=seeds, config=cfg, device=device, precision=precision,
                random_state=random_state, allow_single_view=single_view)


def execute(req: SearchRequest, resume: bool = False) -> Path:
    """Run (or resume) a search and write its run directory; returns the run path."""
    if resume:
        return _resume(req)
    _check_request(req)
    req = replace(req, precision=req.precision or "fp32")  # a new run: fp32 unless asked
    views = [canonical_model(v) for v in req.views]
    for v in views:
        check_name("view", v)
    dataset = resolve_dataset(req.root, views, req.dataset)
    search_splits, predict_splits = plan_splits(req.root, dataset, views, req.setting,
                                                predict_all_views=req.method == "turtle")
    cfg = _resolve_config(req)
    dev = resolve_device(req.device)
    if req.precision == "tf32" and dev.type != "cuda":
        import typer

        typer.echo("note: --precision tf32 applies to CUDA GPUs; on the CPU the search runs in fp32",
                   err=True)
    loaded = load_views(req.root, dataset, views, search_splits, predict_splits, dev,
                        predict_all_views=req.method == "turtle")
    k = req.k if req.k is not None else loaded.num_classes
    if k is None:
        raise HumeError(f"the number of classes of {dataset!r} is unknown (no num_classes in its "
                        "stores): pass --k")
    n = loaded.search[0].shape[0]
    if k > n:
        raise HumeError(f"--k {k} exceeds the number of searched rows ({n})")
    if req.method == "hume":  # before the run directory exists (the estimator checks it too)
        check_phi1_width(k, loaded.search[0].shape[1], views[0])
    if req.overrides.get("subset_size") and req.overrides["subset_size"] > n:
        raise HumeError(f"--subset-size {req.overrides['subset_size']} is larger than the "
                        f"{n} searched rows: pass --subset-size ≤ {n}")
    name = req.run or default_run_name(req.method, dataset)
    run_dir = new_run_dir(req.root, name)
    config = {
        "method": req.method, "dataset": dataset, "views": views, "setting": req.setting,
        "k": int(k), "n_seeds": req.seeds,
        "hyperparameters": {**cfg.to_dict(), "random_state": req.random_state,
                            "preset": req.preset or "default", "sweep": req.sweep},
        "search_splits": search_splits, "predict_splits": predict_splits,
        "stores": loaded.stores, "status": "running", "device": str(dev),
        "precision": req.precision,
        "single_view": req.single_view,
        "created": datetime.now(timezone.utc).isoformat(), "hume_version": hume.__version__,
    }
    write_json(run_dir / "config.json", config)
    if req.sweep:
        cfg = _sweep(cfg, loaded.search, int(k), req, run_dir, config)
        config["hyperparameters"].update(cfg.to_dict())
        config["sweep_done"] = True
        write_json(run_dir / "config.json", config)
    return _fit_and_write(run_dir, config, loaded, cfg, state=None)


def _sweep(base: SearchConfig, views: list[torch.Tensor], k: int, req: SearchRequest,
           run_dir: Path, config: dict) -> SearchConfig:
    """Score each grid point by the mean label-free score of a few seeds; keep the best."""
    import typer

    trials = []
    n_seeds = min(req.seeds, SWEEP_SEEDS)
    for point in SWEEP_GRID:
        settings = {"inner_lr_scale": base.inner_lr_scale, **point}
        cfg = replace(base, inner_lr=None, **settings)
        est = HUME(n_classes=k, n_seeds=n_seeds, config=cfg, device=req.device,
                   precision=req.precision, random_state=req.random_state + 10_000,
                   allow_single_view=req.single_view)
        est.fit(views)
        score = float(np.mean(est.scores_))
        trials.append({**settings, "mean_score": score, "scores": est.scores_.tolist()})
        shown = ", ".join(f"{key} {val:g}" for key, val in settings.items())
        typer.echo(f"sweep: {shown}: label-free score {score:.4f}", err=True)
        config["sweep"] = trials
        write_json(run_dir / "config.json", config)
    best = max(trials, key=lambda t: t["mean_score"])
    chosen = {key: val for key, val in best.items() if key not in ("mean_score", "scores")}
    return replace(base, inner_lr=None, **chosen)


def _fit_and_write(run_dir: Path, config: dict, loaded, cfg: Optional[SearchConfig],
                   state: Optional[dict]) -> Path:
    import typer

    k, seeds = int(config["k"]), int(config["n_seeds"])
    random_state = int(config["hyperparameters"].get("random_state", 0))
    est = _make_estimator(config["method"], k, seeds, cfg, config.get("device", "auto"),
                          random_state, bool(config.get("single_view")),
                          config.get("precision", "fp32"))
    state_path = run_dir / "state.pt"

    def checkpoint(st: dict) -> None:
        _save_torch(st, state_path)

    fit_kw: dict[str, Any] = {"resume_state": state, "checkpoint": checkpoint,
                              "view_names": config["views"]}
    try:
        with _progress_bar() as bar:
            task = bar.add_task("search", total=None, obj="–", ent="–")

            def progress(done: int, total: int, obj: float, ent: float) -> None:
                bar.update(task, completed=done, total=total, obj=f"{obj:.4f}", ent=f"{ent:.3f}")

            fit_kw["progress"] = progress
            est.fit(loaded.search, **fit_kw)
    except KeyboardInterrupt:
        typer.echo(f"interrupted: continue with `hume search --resume --run {run_dir.name}`",
                   err=True)
        raise SystemExit(130)
    except HumeError as exc:
        config["status"] = "failed"
        config["error"] = str(exc)
        write_json(run_dir / "config.json", config)
        raise
    _write_results(run_dir, config, est, loaded)
    typer.echo(f"wrote run {run_dir}")
    return run_dir


def _write_results(run_dir: Path, config: dict, est, loaded) -> None:
    k = int(config["k"])
    seed_labels = np.asarray(est.seed_labels_, dtype=np.int64)
    seeds_npz: dict[str, np.ndarray] = {
        "labels": seed_labels, "scores": np.asarray(est.scores_, dtype=np.float64),
        "objectives": np.asarray(est.objectives_, dtype=np.float64)}
    ens: dict[str, np.ndarray] = {"labels": np.asarray(est.labels_, dtype=np.int64),
                                  "reference_seed": np.asarray(int(est.reference_seed_))}
    perms = getattr(est, "perms_", None)
    for split, xs in loaded.predict.items():
        # HUME labels new rows through φ1; TURTLE's encoders read every view.
        arg = xs[0].cpu() if config["method"] == "hume" else [x.cpu() for x in xs]
        per_seed = np.asarray(est.predict_seeds(arg), dtype=np.int64)
        seeds_npz[f"{split}_labels"] = per_seed
        ens[f"{split}_labels"] = vote(per_seed, np.asarray(perms), int(est.reference_seed_), k)
    _save_npz(run_dir / "seeds.npz", **seeds_npz)
    _save_npz(run_dir / "ensemble.npz", **ens)
    encoders = getattr(est, "encoders_", None)
    _save_torch({"encoders": encoders, "method": config["method"],
                 "phi1_mean": getattr(est, "phi1_mean_", None),
                 "perms": None if perms is None else torch.as_tensor(np.asarray(perms))},
                run_dir / "encoders.pt")
    config["status"] = "complete"
    config["finished"] = datetime.now(timezone.utc).isoformat()
    if hasattr(est, "inner_lr_"):
        config["hyperparameters"]["inner_lr_resolved"] = list(est.inner_lr_)
    write_json(run_dir / "config.json", config)


def _resume(req: SearchRequest) -> Path:
    run_dir = resolve_run(req.root, req.run)
    config = load_config(run_dir)
    if config.get("status") == "complete":
        raise HumeError(f"run {run_dir.name!r} is already complete: nothing to resume")
    state_path = run_dir / "state.pt"
    state = _load_state(state_path) if state_path.is_file() else None
    dev = resolve_device(req.device if req.device != "auto" else config.get("device", "auto"))
    loaded = load_views(req.root, config["dataset"], config["views"], config["search_splits"],
                        config["predict_splits"], dev,
                        predict_all_views=config["method"] == "turtle")
    for key, entry in loaded.stores.items():
        was = config["stores"].get(key, {})
        if was.get("store_id") and was.get("store_id") != entry.get("store_id"):
            raise HumeError(f"store {key} changed since the run started (different store_id): "
                            "start a new run")
    cfg = _config_from_dict(config["method"], config["hyperparameters"])
    config["device"] = str(dev)
    if req.precision is not None:  # like --device, an explicit --precision applies from here on
        config["precision"] = check_precision(req.precision)
    hp = config["hyperparameters"]
    if hp.get("sweep") and not config.get("sweep_done"):  # interrupted during the sweep: redo it
        sweep_req = SearchRequest(views=config["views"], seeds=int(config["n_seeds"]),
                                  device=str(dev), precision=config.get("precision", "fp32"),
                                  random_state=int(hp.get("random_state", 0)),
                                  single_view=bool(config.get("single_view")))
        cfg = _sweep(cfg, loaded.search, int(config["k"]), sweep_req, run_dir, config)
        hp.update(cfg.to_dict())
        config["sweep_done"] = True
        write_json(run_dir / "config.json", config)
        state = None
    return _fit_and_write(run_dir, config, loaded, cfg, state)
