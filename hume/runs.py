"""The run directory: what `search` writes and `evaluate` reads (docs/data.md §3).

Layout of ``<root>/runs/<name>/``:

- ``config.json``    resolved configuration: ``method``, ``dataset``, ``views`` (canonical model
                     names, first = φ1), ``setting``, ``k``, ``n_seeds``, ``hyperparameters``,
                     ``search_splits`` (splits whose rows were searched, in order, concatenated),
                     ``predict_splits`` (splits labelled through φ1 afterwards; inductive: test),
                     ``stores`` (``"<view>/<split>"`` -> ``{path, n_rows, store_id}``),
                     ``status`` (``"running"`` until the search finished, then ``"complete"``),
                     ``created``, ``hume_version``.
- ``seeds.npz``      ``labels`` (n_seeds, N_search) int64, ``scores`` (n_seeds,) label-free
                     scores, ``objectives`` (n_seeds,), and for every predict split ``<split>_labels``
                     (n_seeds, N_split).
- ``ensemble.npz``   ``labels`` (N_search,), ``<split>_labels`` per predict split,
                     ``reference_seed`` (index of the best-scoring seed).
- ``encoders.pt``    the fitted model (``SeedSearch.fitted_state()``): ``method``, ``n_classes``,
                     ``encoders`` of every seed, ``perms`` (matching to the reference),
                     ``reference_seed``, ``dims``, and the method's preprocessing
                     (HUME ``phi1_mean``; TURTLE ``mean``/``std`` per view).
- ``seeds/``         one file per finished seed and per seed group in flight, for
                     ``search --resume`` (:mod:`hume.search.seed_files`); ``state.pt`` in runs
                     of earlier versions.
- ``shards/``        the ``--seed-range`` shards of the run (:mod:`hume.search.shards`).
- ``report.json``, ``report.md``, ``figures/``   written by ``evaluate``.
"""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path
from typing import Any

from hume.core.errors import HumeError
from hume.core.files import read_json
from hume.core.locks import ExclusiveLock
from hume.core.names import check_name
from hume.store.paths import resolve_root

CONFIG = "config.json"
#: a run chosen among candidates (a K range, ``--phi1 auto``) lists them here
CHOICE = "choice.json"


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
            f"run {name!r} already exists at {path}: pass --resume to continue it, "
            "or choose another --run name"
        )
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_lock(root: str | os.PathLike | None, name: str) -> ExclusiveLock:
    """The lock ``<root>/runs/.<name>.lock`` a search holds while it writes run ``name``."""
    check_name("run", name)
    return ExclusiveLock(
        runs_dir(root) / f".{name}.lock",
        f"another `hume search` is writing run {name!r} right now: wait for it to finish (or "
        "stop it), or choose another --run name",
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
        f"run with --run (e.g. --run {newest.name})"
    )


def shown_ks(ks: list[int]) -> str:
    """``5:15`` for a whole range, else ``4,8,16``."""
    if len(ks) > 2 and ks == list(range(ks[0], ks[-1] + 1)):
        return f"{ks[0]}:{ks[-1]}"
    return ",".join(str(k) for k in ks)


def load_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    path = Path(run_dir) / CONFIG
    try:
        return read_json(path)
    except FileNotFoundError:
        raise HumeError(f"{run_dir} is not a run: it has no {CONFIG}") from None
    except ValueError:
        raise HumeError(f"{path} is corrupt (not valid JSON)") from None
