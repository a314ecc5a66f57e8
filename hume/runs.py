"""The run directory ``<root>/runs/<name>/`` (docs/data.md §3): its configuration as one typed
record (:class:`RunConfig`, config.json), the files a finished search leaves
(:func:`write_results`: seeds.npz, ensemble.npz, encoders.pt), and naming, locking and finding
runs. Only this module writes those files; the resume state (``seeds/``, ``shards/``) is the
search's (hume.search.search_runs.seed_files, hume.search.search_runs.shards), the reports are evaluate's."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from hume.core.errors import HumeError, command, setting
from hume.core.files import read_json, save_npz, save_torch, write_json
from hume.core.locks import ExclusiveLock
from hume.core.names import check_name
from hume.store.paths import resolve_root

CONFIG = "config.json"
#: a run chosen among candidates (a K range, ``--phi1 auto``) lists them here
CHOICE = "choice.json"
SEEDS = "seeds.npz"
ENSEMBLE = "ensemble.npz"
MODEL = "encoders.pt"
#: wall time and peak memory of each stage of the search that finished the run (hume.core.stages)
STAGES = "stages.json"


@dataclass
class RunConfig:
    """A run's config.json as one record (every key: docs/data.md §3.1).

    ``hyperparameters`` holds the method's settings (its config class reads them back) plus
    ``random_state``, ``preset``, ``sweep`` and ``class_sizes``; ``stores`` maps
    ``"<view>/<split>"`` to ``{path, n_rows, store_id}``. Keys this version does not know are
    kept in ``extra`` and written back as they were.
    """

    method: str
    dataset: str
    views: list[str]
    setting: str
    k: int
    n_seeds: int
    hyperparameters: dict[str, Any]
    search_splits: list[str]
    predict_splits: list[str]
    stores: dict[str, dict[str, Any]]
    status: str = "running"
    device: str = "auto"
    precision: str = "fp32"
    single_view: bool = False
    group_size: int | None = None
    world_size: int = 1
    created: str = ""
    finished: str | None = None
    hume_version: str = ""
    #: the run this one is a candidate for (a K range, ``--phi1 auto``)
    candidate_of: str | None = None
    #: a run chosen among candidates: ``criterion``, ``scan``, ``chosen``, ``k``, ``phi1``
    choice: dict[str, Any] | None = None
    #: the trials of ``--sweep`` or ``--class-sizes uneven``, and whether they are all in
    sweep: list[dict[str, Any]] | None = None
    sweep_done: bool = False
    error: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    #: keys every config.json has had
    REQUIRED = (
        "method dataset views setting k n_seeds hyperparameters search_splits predict_splits stores"
    ).split()

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    @property
    def random_state(self) -> int:
        return int(self.hyperparameters.get("random_state", 0))

    def to_dict(self) -> dict[str, Any]:
        """config.json's content: optional keys without a value are left out."""
        out = {k: v for k, v in asdict(self).items() if k != "extra"}
        for key in ("finished", "candidate_of", "choice", "sweep", "error"):
            if out[key] is None:
                del out[key]
        if not out["sweep_done"]:
            del out["sweep_done"]
        return {**out, **self.extra}

    @classmethod
    def from_dict(cls, d: dict[str, Any], where: str = "config.json") -> RunConfig:
        """The record of a config.json of any version (keys it lacks take their defaults)."""
        missing = [key for key in cls.REQUIRED if key not in d]
        if missing:
            raise HumeError(
                f"{where} lacks {', '.join(missing)}: it is damaged or not a run's; run the "
                "search again"
            )
        known = {f.name for f in fields(cls)} - {"extra"}
        given = {k: v for k, v in d.items() if k in known}
        given["hyperparameters"] = _hyperparameters(d["method"], d["hyperparameters"])
        if "device" not in d:  # runs of earlier versions kept it among the hyperparameters
            given["device"] = d["hyperparameters"].get("device") or "auto"
        return cls(**given, extra={k: v for k, v in d.items() if k not in known})


def _hyperparameters(method: str, hyper: dict[str, Any]) -> dict[str, Any]:
    """A run's hyperparameters in this version's terms: what runs of earlier versions lacked
    takes the value they searched with (they voted; HUME's ``subset_size`` was the cap;
    TURTLE's rows per step were ``batch_size``)."""
    hyper = {"ensemble": "vote", "size_term": "entropy", **hyper}
    if method == "hume" and "max_subset_size" not in hyper:
        hyper.update(max_subset_size=hyper.get("subset_size") or 10_000, subset_size=None)
    if method == "turtle" and "batch_size" in hyper:
        hyper["subset_size"] = hyper.pop("batch_size")
    return hyper


def runs_dir(root: str | os.PathLike | None = None) -> Path:
    return resolve_root(root) / "runs"


def default_run_name(method: str, dataset: str) -> str:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{dataset}-{method}"


def new_run_dir(root: str | os.PathLike | None, name: str) -> Path:
    """Create ``<root>/runs/<name>``; refuses an existing run (use ``--resume`` to continue it)."""
    check_name("run", name)
    path = runs_dir(root) / name
    if (path / CONFIG).exists():
        raise HumeError(
            f"run {name!r} already exists at {path}: pass {setting('resume', True)} to continue "
            f"it, or choose another {setting('run')} name"
        )
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_lock(root: str | os.PathLike | None, name: str) -> ExclusiveLock:
    """The lock ``<root>/runs/.<name>.lock`` a search holds while it writes run ``name``."""
    check_name("run", name)
    return ExclusiveLock(
        runs_dir(root) / f".{name}.lock",
        f"another `hume search` is writing run {name!r} right now: wait for it to finish (or "
        f"stop it), or choose another {setting('run')} name",
    )


def _order(path: Path, config: dict[str, Any]) -> tuple[str, float]:
    """When a run last changed state: its end (``finished``), else its start (``created``)."""
    return (str(config.get("finished") or config.get("created") or ""), path.stat().st_mtime)


def _read(path: Path) -> dict[str, Any]:
    try:
        return read_json(path / CONFIG)
    except (OSError, ValueError):
        return {}


def list_runs(root: str | os.PathLike | None = None) -> list[Path]:
    """Run directories (those with a config), oldest first by the time they last changed state
    (finished, else created): the last one is the run the last search produced."""
    base = runs_dir(root)
    if not base.is_dir():
        return []
    runs = [(p, _read(p)) for p in base.iterdir() if (p / CONFIG).is_file()]
    return [p for p, config in sorted(runs, key=lambda pc: _order(*pc))]


def candidates(root: str | os.PathLike | None = None) -> dict[str, str]:
    """{candidate run: the run it was searched for} of every K range (or ``--phi1 auto``) under
    the root: what the candidates' configs say (``candidate_of``, also while the choice is under
    way), and what finished choices list (``choice.json``, also for runs of earlier versions)."""
    out: dict[str, str] = {}
    for path in list_runs(root):
        base = _read(path).get("candidate_of")
        if base:
            out[path.name] = str(base)
        choice = path / CHOICE
        if choice.is_file():
            try:
                listed = read_json(choice).get("candidates", [])
            except (OSError, ValueError):
                listed = []
            for cand in listed:
                if cand.get("run") and cand["run"] != path.name:
                    out[str(cand["run"])] = path.name
    return out


def resolve_run(root: str | os.PathLike | None, name: str | None = None) -> Path:
    """The run called ``name``, or the run the last search produced.

    That is the newest run, except that a candidate of a K range stands for the run chosen among
    the candidates; while that choice has not finished, the newest run is refused."""
    if name:
        check_name("run", name)
        path = runs_dir(root) / name
        if not (path / CONFIG).is_file():
            have = [p.name for p in list_runs(root)]
            listing = f"; runs there: {', '.join(have[-10:])}" if have else ""
            raise HumeError(f"no run {name!r} under {runs_dir(root)}{listing}")
        return path
    runs = list_runs(root)
    if not runs:
        raise HumeError(f"no runs under {runs_dir(root)}: run `hume search` first")
    newest = runs[-1]
    base = candidates(root).get(newest.name)
    if base is None:
        return newest
    chosen = runs_dir(root) / base
    if _read(chosen).get("status") == "complete":
        return chosen
    raise HumeError(
        f"the newest search, the choice among candidates for run {base!r}, has not finished: "
        f"run the same `hume search` (or `hume label`) command again to finish it, or name a "
        f"run with {setting('run')} (e.g. {setting('run', newest.name)})"
    )


def shown_ks(ks: list[int]) -> str:
    """``5:15`` for a whole range, else ``4,8,16``."""
    if len(ks) > 2 and ks == list(range(ks[0], ks[-1] + 1)):
        return f"{ks[0]}:{ks[-1]}"
    return ",".join(str(k) for k in ks)


def read_config_json(run_dir: str | os.PathLike) -> dict[str, Any]:
    """config.json as it is on disk (a listing shows whatever it holds)."""
    path = Path(run_dir) / CONFIG
    try:
        return read_json(path)
    except FileNotFoundError as exc:
        raise HumeError(f"{run_dir} is not a run: it has no {CONFIG}") from exc
    except ValueError as exc:
        raise HumeError(f"{path} is corrupt (not valid JSON)") from exc


def load_config(run_dir: str | os.PathLike) -> RunConfig:
    """The run's :class:`RunConfig`; a HumeError for a directory that is no run (or whose
    config is damaged)."""
    return RunConfig.from_dict(read_config_json(run_dir), str(Path(run_dir) / CONFIG))


def write_config(run_dir: str | os.PathLike, config: RunConfig) -> None:
    """config.json, atomically."""
    write_json(Path(run_dir) / CONFIG, config.to_dict())


def finished_config(run_dir: str | os.PathLike) -> RunConfig:
    """The run's configuration, or a HumeError saying how to finish an unfinished run."""
    config = load_config(run_dir)
    if not config.complete:
        name = Path(run_dir).name
        raise HumeError(
            f"run {name} has not finished (status {config.status!r}): continue it with "
            f"{command('search', setting('resume', True), setting('run', name))}"
        )
    return config


def write_results(
    run_dir: str | os.PathLike,
    config: RunConfig,
    seeds: dict[str, np.ndarray],
    ensemble: dict[str, np.ndarray],
    model_state: dict[str, Any],
    settings: dict[str, Any],
) -> None:
    """What a finished search leaves, then config.json marked complete (written last: a run is
    complete once it says so):

    - seeds.npz: ``labels`` (n_seeds, N_search) int64, ``scores``, ``balanced_scores``,
      ``objectives`` (n_seeds,), ``<split>_labels`` (n_seeds, N_split) per predicted split;
    - ensemble.npz: ``labels`` (N_search,), ``<split>_labels`` per predicted split,
      ``reference_seed``;
    - encoders.pt: ``model_state``, the fitted model (``SeedSearch.fitted_state``);
    - ``settings`` derived from the data (e.g. HUME's inner step) join the hyperparameters.
    """
    run_dir = Path(run_dir)
    save_npz(run_dir / SEEDS, seeds)
    save_npz(run_dir / ENSEMBLE, ensemble)
    save_torch(model_state, run_dir / MODEL)
    config.status = "complete"
    config.finished = datetime.now(UTC).isoformat()
    config.hyperparameters.update(settings)
    write_config(run_dir, config)
