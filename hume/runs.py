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

from hume.errors import HumeError
from hume.files import read_json
from hume.locking import ExclusiveLock
from hume.names import check_name
from hume.store.paths import resolve_root

CONFIG = "config.json"


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


def list_runs(root: str | os.PathLike | None = None) -> list[Path]:
    """Run directories (those with a config), oldest first by creation time."""
    base = runs_dir(root)
    if not base.is_dir():
        return []
    runs = [p for p in base.iterdir() if (p / CONFIG).is_file()]

    def created(p: Path) -> str:
        try:
            return str(read_json(p / CONFIG).get("created", ""))
        except (OSError, ValueError):
            return ""

    return sorted(runs, key=lambda p: (created(p), p.stat().st_mtime))


def resolve_run(root: str | os.PathLike | None, name: str | None = None) -> Path:
    """The run called ``name``, or the newest run under the root."""
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
    return runs[-1]


def load_config(run_dir: str | os.PathLike) -> dict[str, Any]:
    path = Path(run_dir) / CONFIG
    try:
        return read_json(path)
    except FileNotFoundError:
        raise HumeError(f"{run_dir} is not a run: it has no {CONFIG}") from None
    except ValueError:
        raise HumeError(f"{path} is corrupt (not valid JSON)") from None
