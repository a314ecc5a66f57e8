"""report.md: the numbers of an evaluation (report.json) as compact tables, ×100 with one
decimal, and the rows the command layer prints."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hume.evaluate.choice_report import candidate_signals


def signal_text(value: float | None) -> str:
    """A signal of choice.json, or – where the run predates it."""
    return "–" if value is None else f"{value:.3f}"


def percent_text(x: float | None) -> str:
    return "–" if x is None else f"{100 * x:.1f}"


def result_rows(report: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """(label, metrics) rows of the measured results, in the order tables print them."""
    if not report.get("metrics"):
        return []
    method = str(report.get("method") or "hume").upper()
    rows = [
        (f"{method} ensemble", report["metrics"]),
        (f"selected seed #{report['selected_seed']['seed']} (label-free)", report["selected_seed"]),
        (f"best seed #{report['best_seed']['seed']} (oracle, uses labels)", report["best_seed"]),
        (f"median seed #{report['median_seed']['seed']}", report["median_seed"]),
    ]
    base = report.get("baselines") or {}
    for view, m in base.get("kmeans", {}).items():
        rows.append((f"k-means on {view}{_fitted_text(m, ' (', ')')}", m))
    for view, m in base.get("linear_probe", {}).items():
        label = f"supervised linear probe on {view} ({m['role']}, {m['protocol']}"
        rows.append((label + _fitted_text(m, ", ", "") + ")", m))
    return rows


def _fitted_text(m: dict[str, Any], before: str, after: str) -> str:
    """``fitted on 20000 of 1281167 rows`` (framed) for a baseline fitted on a sample, else ''."""
    fitted = m.get("fitted_on")  # reports of earlier versions have none
    if not fitted or fitted["rows"] >= fitted["of"]:
        return ""
    return f"{before}fitted on {fitted['rows']} of {fitted['of']} rows{after}"


def markdown(report: dict[str, Any]) -> str:
    """report.md: compact tables, ×100 with one decimal."""
    views = report["views"]
    ev = report["evaluated_on"]
    lines = [
        f"# Evaluation of run `{report['run']}`",
        "",
        f"- dataset `{report['dataset']}`, method `{report['method']}`, setting "
        f"`{report['setting']}`, K = {report['k']}, {report['n_seeds']} seeds",
        f"- views: φ1 = `{views[0]}`, φ2 = {', '.join(f'`{v}`' for v in views[1:]) or '–'}",
        f"- evaluated on {'+'.join(ev['splits'])}: {ev['n_rows']} rows, "
        f"{ev['n_labelled']} with a label",
    ]
    lines += [f"- note: {n}" for n in report.get("notes", [])]
    agree = report.get("agreement")
    if agree:
        lines.append(
            f"- agreement between seeds (label-free): on average {100 * agree['mean']:.1f} % of "
            f"the seeds give a row the ensemble's class; all seeds agree on "
            f"{100 * agree['all_seeds_agree']:.1f} % of the rows"
        )
    rep = report.get("reproducibility")
    if rep:
        lines.append(
            f"- **{rep['level']}** (label-free): the seeds' stability is {rep['stability']:.3f}; "
            f"{rep['message']}"
        )
    ens = report.get("ensemble")
    if ens:
        shown = ", ".join(f"{k} {v:.3f}" for k, v in (ens.get("label_free_scores") or {}).items())
        said = ens.get("text") or f"{ens['kind']} (label-free scores {shown})"
        lines.append(f"- ensemble chosen without labels: {said}")
    choice = report.get("choice")
    if choice:
        lines += [
            "",
            f"## Chosen without labels: K = {choice['k']}, φ1 `{choice['phi1']}` "
            f"(by {choice['criterion']}, run `{choice['chosen']}`)",
            "",
            "Candidates whose ensemble leaves a class (nearly) empty use fewer than K classes "
            "and are not chosen while another uses all of its K."
            + (f" {choice['margin_text']}." if choice.get("margin_text") else ""),
            "",
            "| run | K | φ1 | searched | classes used | criterion | consensus stability | "
            "stability | score | balanced score | ACC (not used) | NMI (not used) |",
            "|---|---|---|---|---|---|---|---|---|---|---|---|",
        ]
        for c in choice["candidates"]:
            sig = candidate_signals(c)
            lines.append(
                f"| `{c['run']}` | {c['k']} | `{c['phi1']}` | {c.get('searched', 'full')} | "
                f"{sig.get('used_classes', c['k'])} | {signal_text(sig.get('criterion'))} | "
                f"{signal_text(sig.get('consensus_stability'))} | {signal_text(sig.get('stability'))} | "
                f"{signal_text(sig.get('score'))} | {signal_text(sig.get('balanced_score'))} | "
                f"{percent_text(c.get('acc'))} | {percent_text(c.get('nmi'))} |"
            )
        if choice.get("scan") in ("fast", "screen-all"):
            sc = choice.get("screen", {})
            lines += [
                "",
                f"Screened candidates ({sc.get('seeds')} seeds, {sc.get('iters')} iterations, no "
                "label-free scores) show their screen's signals, lower than a full search's and "
                "compared only among screens; their ACC is that of the screen's consensus.",
            ]
    if report.get("metrics"):
        lines += [
            "",
            "## Measured results (×100)",
            "",
            "| method | ACC | ARI | NMI | clusters |",
            "|---|---|---|---|---|",
        ]
        for label, m in result_rows(report):
            lines.append(
                f"| {label} | {percent_text(m['acc'])} | {percent_text(m['ari'])} | {percent_text(m['nmi'])} "
                f"| {m['n_clusters']} |"
            )
        sp = report["spearman"]
        rho = "n/a" if sp["rho"] is None else f"{sp['rho']:.3f}"
        lines += [
            "",
            "## Label-free score vs. true accuracy",
            "",
            f"Spearman ρ = {rho} over {sp['n_seeds']} seeds.",
            "",
            "| seed | label-free score | objective | ACC | ARI | NMI |",
            "|---|---|---|---|---|---|",
        ]
        for s in report["seeds"]:
            score = "–" if s["score"] is None else f"{s['score']:.4f}"
            obj = "–" if s["objective"] is None else f"{s['objective']:.4f}"
            lines.append(
                f"| {s['seed']} | {score} | {obj} | {percent_text(s['acc'])} | {percent_text(s['ari'])} "
                f"| {percent_text(s['nmi'])} |"
            )
        pc = report["metrics"]["per_class_acc"]
        if len(pc) <= 50:
            names = report.get("class_names") or [str(i) for i in range(len(pc))]
            true, found = report["class_sizes"]["true"], report["class_sizes"]["found_matched"]
            sel = report["selected_seed"]["per_class_acc"]
            lines += [
                "",
                "## Per class (after matching; found size is the ensemble's)",
                "",
                "| class | true size | found size | ensemble acc | selected seed acc |",
                "|---|---|---|---|---|",
            ]
            for i, acc in enumerate(pc):
                name = names[i] if i < len(names) else str(i)
                lines.append(
                    f"| {name} | {true[i]} | {int(found[i])} | {percent_text(acc)} | {percent_text(sel[i])} |"
                )
    else:
        lines += [
            "",
            "**No ground truth exists for these rows**: only label-free scores and "
            "class sizes are reported.",
            "",
            "| seed | label-free score | clusters |",
            "|---|---|---|",
        ]
        for s in report["seeds"]:
            score = "–" if s["score"] is None else f"{s['score']:.4f}"
            lines.append(f"| {s['seed']} | {score} | {s['n_clusters']} |")
        lines += ["", "Found class sizes: " + ", ".join(map(str, report["class_sizes"]["found"]))]
    paper = report.get("paper")
    if paper:
        lines += [
            "",
            f"## Published numbers for {paper['dataset']} (the papers', NOT measured here)",
            "",
            f"Source: {paper['source']}. These used the authors' backbones, listed "
            "per row; compare with the measured table only where the backbones match.",
            "",
            "| method (paper) | setting | backbones | ACC | ARI |",
            "|---|---|---|---|---|",
        ]
        for r in paper["rows"]:
            lines.append(
                f"| {r['method']} | {r['setting']} | {r['backbones']} | {percent_text(r['acc'])} "
                f"| {percent_text(r['ari'])} |"
            )
    if report.get("figures"):
        lines += ["", "## Figures", ""] + [f"![{Path(f).stem}]({f})" for f in report["figures"]]
    return "\n".join(lines) + "\n"
