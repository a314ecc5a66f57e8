"""Whether a run is evaluated already, so that `hume evaluate` has nothing to do."""

from __future__ import annotations

import os
from pathlib import Path

from hume.core.files import read_json
from hume.evaluate import baselines as bl
from hume.evaluate.report import REPORT_JSON
from hume.runs import ENSEMBLE


def existing_report(run_dir: str | os.PathLike, baselines: bool, restarts: int) -> Path | None:
    """``report.json`` of ``run_dir`` when it describes the run's labelings as they are now and
    was made with these options (baselines or not, k-means restarts) and this version's sample
    bounds of the baselines; else None."""
    run_dir = Path(run_dir)
    path, labelings = run_dir / REPORT_JSON, run_dir / ENSEMBLE
    try:
        report = read_json(path)
        fresh = path.stat().st_mtime >= labelings.stat().st_mtime
    except (OSError, ValueError):
        return None
    if not isinstance(report, dict) or report.get("run") != run_dir.name or not fresh:
        return None
    made = report.get("baselines")
    if baselines != (made is not None):
        return None
    if made is not None:
        settings = made.get("settings", {})
        if settings.get("kmeans_restarts") != restarts:
            return None
        bounds = (settings.get("kmeans_max_fit_rows"), settings.get("probe_max_rows"))
        now = (bl.kmeans_fit_rows(settings.get("k") or 0), bl.PROBE_MAX_FIT_ROWS)
        if bounds != now:  # the baselines were fitted under other sample bounds
            return None
    return path
