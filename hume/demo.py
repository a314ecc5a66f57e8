"""`hume demo`: the whole pipeline offline, on data that ships with scikit-learn.

Embeds the 1 797 handwritten digits with the two training-free views (``hog`` as φ1, ``pixels``
as φ2), searches for their labeling with the default settings, evaluates it against the digits'
true labels next to k-means and the supervised linear probe, and prints where the report is.
A second run reuses the stores and makes a new run.
"""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

from rich.console import Console

DATASET = "digits"
SPLIT = "all"
VIEWS = ("hog", "pixels")  # φ1 first
DEMO_SEEDS = 10


def _store_ready(root: str | None, model: str) -> bool:
    from hume.errors import HumeError
    from hume.store import open_store, store_path

    path = store_path(root, DATASET, SPLIT, model)
    try:
        with open_store(path):
            return True
    except HumeError:
        return False


def embed_views(root: str | None, device: str, console: Console) -> None:
    """Embed every demo view whose store is not complete yet (a partial one is resumed)."""
    from hume.embed.pipeline import embed

    for model in VIEWS:
        if _store_ready(root, model):
            console.print(f"[1/3] reusing the {model} store of {DATASET}")
            continue
        console.print(f"[1/3] embedding {DATASET} with {model}")
        embed(model, DATASET, split=SPLIT, root=root, device=device, workers=0, precision="fp32")


def run_demo(root: str | None = None, device: str = "auto", seeds: int = DEMO_SEEDS,
             run: str | None = None) -> Path:
    """Embed, search and evaluate digits; returns the run directory."""
    from hume.commands.evaluate import evaluate
    from hume.search.pipeline import SearchRequest, run_search

    console = Console()
    start = time.perf_counter()
    embed_views(root, device, console)
    name = run or f"demo-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    console.print(f"[2/3] searching a labeling over {','.join(VIEWS)} with {seeds} seeds "
                  f"(run {name}; labels are not read)")
    run_dir = run_search(SearchRequest(views=list(VIEWS), dataset=DATASET, seeds=seeds,
                                       setting="transductive", device=device, run=name, root=root))
    console.print("[3/3] evaluating against the digits' true labels")
    evaluate(run=run_dir.name, root=root, device=None, baselines=True, restarts=5)
    minutes = (time.perf_counter() - start) / 60
    console.print(f"demo finished in {minutes:.1f} min: report in {run_dir / 'report.md'}, "
                  f"figures in {run_dir / 'figures'}")
    return run_dir
