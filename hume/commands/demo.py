"""`hume demo`: the whole pipeline offline, on data that ships with scikit-learn.

Embeds the 1 797 handwritten digits with the two training-free views (``hog`` as φ1, ``pixels``
as φ2), searches for their labeling with the default settings, evaluates it against the digits'
true labels next to k-means and the supervised linear probe, and prints where the report is.
A second run reuses the stores and makes a new run.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Annotated

import typer

from hume.commands.common import Device, Root, progress_reporter

DATASET = "digits"
SPLIT = "all"
VIEWS = ("hog", "pixels")  # φ1 first


def _store_ready(root: str | None, model: str) -> bool:
    from hume.core.errors import HumeError
    from hume.store import open_store, store_path

    try:
        with open_store(store_path(root, DATASET, SPLIT, model)):
            return True
    except HumeError:
        return False


def demo(
    root: Root = None,
    device: Device = "auto",
    seeds: Annotated[
        int, typer.Option("--seeds", min=1, help="Search seeds to run and ensemble.")
    ] = 10,
) -> None:
    """Run the whole pipeline offline on scikit-learn's digits (embed, search, evaluate)."""
    from hume.commands.evaluate import show_report
    from hume.core.devices import check_device_name
    from hume.embed.pipeline import embed
    from hume.evaluate.report import evaluate_run
    from hume.export.gallery import write_run_gallery
    from hume.search.search_runs.request import SearchRequest
    from hume.search.search_runs.run_lifecycle import run_search

    check_device_name(device)  # before anything is printed
    start = time.perf_counter()
    bars = progress_reporter()
    for model in VIEWS:  # a partial store is resumed, a complete one reused
        if _store_ready(root, model):
            typer.echo(f"[1/3] reusing the {model} store of {DATASET}")
            continue
        typer.echo(f"[1/3] embedding {DATASET} with {model}")
        embed(
            model,
            DATASET,
            split=SPLIT,
            root=root,
            device=device,
            workers=0,
            precision="fp32",
            reporter=bars,
        )
    name = f"demo-{datetime.now().strftime('%Y%m%d-%H%M%S')}"
    typer.echo(
        f"[2/3] searching a labeling over {','.join(VIEWS)} with {seeds} seeds "
        f"(run {name}; labels are not read)"
    )
    run_dir = run_search(
        SearchRequest(
            views=list(VIEWS),
            dataset=DATASET,
            seeds=seeds,
            setting="transductive",
            device=device,
            run=name,
            root=root,
        ),
        reporter=bars,
    )
    typer.echo("[3/3] evaluating against the digits' true labels")
    report, written = evaluate_run(run_dir, root, reporter=bars)
    written.append(write_run_gallery(run_dir, root, reporter=bars))
    show_report(report, written)
    minutes = (time.perf_counter() - start) / 60
    typer.echo(
        f"demo finished in {minutes:.1f} min: report in {run_dir / 'report.md'}, "
        f"figures in {run_dir / 'figures'}"
    )
