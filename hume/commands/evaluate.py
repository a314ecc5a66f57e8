"""`hume evaluate`: the command-line layer of the evaluate stage."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hume.commands.common import Root, progress_reporter


def _table(report: dict[str, Any]):
    from rich.table import Table

    from hume.evaluate.report_markdown import percent_text, result_rows

    ev = report["evaluated_on"]
    table = Table(
        title=f"run {report['run']}: {report['dataset']}, {report['setting']}, "
        f"{'+'.join(ev['splits'])} ({ev['n_labelled']} labelled rows), ×100"
    )
    for col in ("method", "ACC", "ARI", "NMI"):
        table.add_column(col, justify="left" if col == "method" else "right")
    for label, m in result_rows(report):
        table.add_row(label, percent_text(m["acc"]), percent_text(m["ari"]), percent_text(m["nmi"]))
    return table


def _paper_table(paper: dict[str, Any]):
    """The published numbers, in a table of their own: never mixed with measurements."""
    from rich.table import Table

    from hume.evaluate.report_markdown import percent_text

    table = Table(
        title=f"published numbers for {paper['dataset']}: the papers' own backbones, "
        "NOT measured here (×100)",
        caption=paper["source"],
    )
    for col in ("method (paper)", "setting", "backbones", "ACC", "ARI"):
        table.add_column(col, justify="right" if col in ("ACC", "ARI") else "left")
    for r in paper["rows"]:
        table.add_row(
            r["method"],
            r["setting"],
            r["backbones"],
            percent_text(r["acc"]),
            percent_text(r["ari"]),
        )
    return table


def show_report(report: dict[str, Any], written: list) -> None:
    """Print a report's tables, notes and the files written (also used by `hume demo`)."""
    from rich.console import Console

    console = Console()
    if report.get("metrics"):
        console.print(_table(report))
        sp = report["spearman"]
        if sp["rho"] is not None:
            console.print(
                f"label-free score vs. true ACC over {sp['n_seeds']} seeds: "
                f"Spearman ρ = {sp['rho']:.3f}"
            )
    else:
        console.print(
            "[bold]no ground truth exists for this dataset[/bold] (all labels are −1), so no "
            "accuracy can be computed: reported label-free scores, class sizes and agreement only"
        )
    choice = report.get("choice")
    if choice:
        from rich.table import Table

        from hume.evaluate.choice_report import candidate_signals
        from hume.evaluate.report_markdown import percent_text, signal_text

        table = Table(
            title=f"chosen without labels: K = {choice['k']}, φ1 {choice['phi1']} (by "
            f"{choice['criterion']}; ACC and NMI are not used)"
            + (
                "; screened rows show their screen's signals"
                if choice.get("scan") == "fast"
                else ""
            )
        )
        columns = (
            "run",
            "K",
            "φ1",
            "searched",
            "criterion",
            "consensus",
            "stability",
            "score",
            "balanced",
        )
        for col in (*columns, "ACC", "NMI"):
            left = col in ("run", "φ1", "searched")
            table.add_column(col, justify="left" if left else "right", overflow="fold")
        for c in choice["candidates"]:
            mark = " ←" if c["run"] == choice["chosen"] else ""
            sig = candidate_signals(c)
            table.add_row(
                c["run"] + mark,
                str(c["k"]),
                c["phi1"],
                c.get("searched", "full"),
                signal_text(sig.get("criterion")),
                signal_text(sig.get("consensus_stability")),
                signal_text(sig.get("stability")),
                signal_text(sig.get("score")),
                signal_text(sig.get("balanced_score")),
                percent_text(c.get("acc")),
                percent_text(c.get("nmi")),
            )
        console.print(table)
    agree = report.get("agreement")
    if agree:
        console.print(
            f"agreement between seeds (label-free): on average {agree['mean']:.1%} of "
            f"the seeds give a row the ensemble's class; all seeds agree on "
            f"{agree['all_seeds_agree']:.1%} of the rows"
        )
    rep = report.get("reproducibility")
    if rep:
        console.print(
            f"{rep['level']} (label-free): the seeds' stability is {rep['stability']:.3f}; "
            f"{rep['message']}",
            markup=False,
        )
    ens = report.get("ensemble")
    if ens:
        scores = ens.get("label_free_scores") or {}
        shown = ", ".join(f"{k} {v:.3f}" for k, v in scores.items())
        said = ens.get("text") or f"{ens['kind']} (label-free scores {shown})"
        console.print(f"ensemble chosen without labels: {said}", markup=False)
    choice = report.get("choice") or {}
    if choice.get("margin_text"):
        console.print(f"chosen without labels: {choice['margin_text']}", markup=False)
    if report.get("paper"):
        console.print(_paper_table(report["paper"]))
    for note in report.get("notes", []):
        console.print(f"note: {note}")
    for path in written:
        typer.echo(f"wrote {path}")  # plain: paths must not be wrapped


def evaluate(
    run: Annotated[
        str | None, typer.Option("--run", help="Run name. Default: the newest run.")
    ] = None,
    root: Root = None,
    device: Annotated[
        str | None,
        typer.Option(
            "--device",
            help="auto, cpu, cuda or cuda:N for the k-means baselines. Default: the run's device.",
            show_default=False,
        ),
    ] = None,
    baselines: Annotated[
        bool,
        typer.Option(
            "--baselines/--no-baselines", help="Run the k-means and linear-probe baselines."
        ),
    ] = True,
    restarts: Annotated[
        int, typer.Option("--restarts", min=1, help="k-means restarts per baseline.")
    ] = 5,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Evaluate again a run that already has a report made with these options.",
        ),
    ] = False,
) -> None:
    """Score a search run against ground truth and baselines; write report and figures."""
    from hume.core.devices import check_device_name
    from hume.core.errors import HumeError
    from hume.evaluate.done import existing_report
    from hume.evaluate.report import evaluate_run
    from hume.export.gallery import write_run_gallery
    from hume.runs import resolve_run

    if device is not None:
        check_device_name(device)  # before anything is printed
    run_dir = resolve_run(root, run)
    done = None if overwrite else existing_report(run_dir, baselines, restarts)
    if done is not None:
        typer.echo(
            f"nothing to do: run {run_dir.name} is evaluated already ({done}); "
            "pass --overwrite to evaluate it again"
        )
        return
    typer.echo(f"evaluating run {run_dir.name} ({run_dir})")
    bars = progress_reporter()
    report, written = evaluate_run(
        run_dir, root, device=device, baselines=baselines, n_init=restarts, reporter=bars
    )
    try:
        written.append(write_run_gallery(run_dir, root, reporter=bars))
    except HumeError as exc:  # the evaluation stands; only the gallery could not be made
        report.setdefault("notes", []).append(f"no gallery (report.html): {exc.as_flags()}")
    show_report(report, written)
