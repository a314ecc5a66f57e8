"""`hume evaluate`: the command-line layer of the evaluate stage."""

from __future__ import annotations

from typing import Any, Optional

import typer

from hume.cli_common import RootOption


def _table(report: dict[str, Any]):
    from rich.table import Table

    from hume.evaluate.report import _pct, result_rows

    ev = report["evaluated_on"]
    table = Table(title=f"run {report['run']}: {report['dataset']}, {report['setting']}, "
                        f"{'+'.join(ev['splits'])} ({ev['n_labelled']} labelled rows), ×100")
    for col in ("method", "ACC", "ARI", "NMI"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for label, m in result_rows(report):
        table.add_row(label, _pct(m["acc"]), _pct(m["ari"]), _pct(m["nmi"]))
    return table


def evaluate(
    run: Optional[str] = typer.Option(None, "--run", help="Run name. Default: the newest run."),
    root: Optional[str] = RootOption,
    device: Optional[str] = typer.Option(None, "--device", help="auto, cpu or cuda for the k-means baselines. Default: the run's device."),
    baselines: bool = typer.Option(True, "--baselines/--no-baselines", help="Run the k-means and linear-probe baselines."),
    restarts: int = typer.Option(5, "--restarts", min=1, help="k-means restarts per baseline."),
) -> None:
    """Score a search run against ground truth and baselines; write report and figures."""
    from rich.console import Console

    from hume.evaluate.report import evaluate_run
    from hume.runs import resolve_run

    console = Console()
    run_dir = resolve_run(root, run)
    console.print(f"evaluating run [bold]{run_dir.name}[/bold] ({run_dir})", soft_wrap=True)
    report, written = evaluate_run(run_dir, root, device=device, baselines=baselines,
                                   n_init=restarts)
    if report.get("metrics"):
        console.print(_table(report))
        sp = report["spearman"]
        if sp["rho"] is not None:
            console.print(f"label-free score vs. true ACC over {sp['n_seeds']} seeds: "
                          f"Spearman ρ = {sp['rho']:.3f}")
    else:
        console.print("[bold]no ground truth exists for this dataset[/bold] (all labels are −1): "
                      "reported label-free scores and class sizes only")
    if report.get("paper"):
        console.print(f"published numbers for {report['paper']['dataset']} (the papers', not "
                      "measured here) are in report.md")
    for note in report.get("notes", []):
        console.print(f"note: {note}")
    for path in written:
        typer.echo(f"wrote {path}")  # plain: paths must not be wrapped
