"""Rules measured on the development suite's seeds (bench/suite.py writes what they need), and the
suite's section of bench/RESULTS.md.

A *rule* turns one run's seeds into its labeling. Fixed rules: ``cut``, ``linkage``, ``vote``
(hume's three ensembles), ``cut-top`` (the cut over the seeds whose label-free score is at least
their median), ``seed`` (the label-free selected seed). Per-run rules, each the labeling with the
highest label-free score among: ``auto`` the cut and the vote (what ``--ensemble auto`` does
under the uniform class-size prior), ``auto3`` cut, linkage and vote, ``auto+seed`` all five. Every labeling's label-free score is measured on the
same views and folds by bench/suite.py.

Leave-one-dataset-out: for each dataset, the fixed rule is chosen on the *other* datasets, once
by their mean label-free score (a choice that reads no labels) and once by their mean ACC (a
developer's choice on the suite's labels), and measured on the one left out.

    python bench/suite_rules.py bench/suite.json            # the section, printed
"""

from __future__ import annotations

import json
import sys
from typing import Any

FIXED = ("cut", "linkage", "vote", "cut-top", "seed")
POOLS = {"auto": ("cut", "vote"), "auto3": ("cut", "linkage", "vote"), "auto+seed": FIXED}
RULES = (*FIXED, *POOLS)
METHODS = ("hume", "turtle")


def rule_pick(kinds: dict[str, dict[str, float]], rule: str) -> str:
    """The labeling a rule gives: a kind of :data:`FIXED`; ``auto`` is hume's own rule
    (hume.search.selection.ensembling.weigh: the higher score unless the two are within their spread,
    where the tie rule decides) where the suite kept the fold scores, else, as the other per-run
    rules, the highest label-free score (ties to the earlier kind)."""
    if rule in FIXED:
        return rule
    pool = POOLS[rule]
    if rule == "auto" and all("folds" in kinds[kind] for kind in pool):
        from hume.search.selection.ensembling import weigh  # hume's own rule, ties included

        return weigh(("cut", "vote"), [kinds["cut"]["folds"], kinds["vote"]["folds"]]).kind
    return max(pool, key=lambda kind: (kinds[kind]["score"], -pool.index(kind)))


def rule_table(out: dict[str, Any], method: str) -> dict[str, dict[str, dict[str, Any]]]:
    """{dataset: {rule: {"kind", "acc", "score"}}} for one method."""
    table: dict[str, dict[str, dict[str, Any]]] = {}
    for row in out["datasets"]:
        kinds = row[method]["kinds"]
        table[row["dataset"]] = {}
        for rule in RULES:
            kind = rule_pick(kinds, rule)
            table[row["dataset"]][rule] = {
                "kind": kind,
                "acc": kinds[kind]["acc"],
                "score": kinds[kind]["score"],
            }
    return table


def leave_one_out(table: dict[str, dict[str, dict[str, Any]]], by: str) -> dict[str, str]:
    """For each dataset, the fixed rule with the best mean ``by`` (``score`` or ``acc``) over the
    other datasets (ties to the earlier rule)."""
    chosen = {}
    for left in table:
        others = [d for d in table if d != left]

        def mean(rule: str, others: list[str] = others) -> float:
            return sum(table[d][rule][by] for d in others) / max(len(others), 1)

        chosen[left] = max(FIXED, key=lambda r: (round(mean(r), 9), -FIXED.index(r)))
    return chosen


def _method_name(method: str) -> str:
    return "HUME `--class-sizes uneven`" if method == "hume-uneven" else method.upper()


def _best_kmeans(row: dict[str, Any]) -> float:
    return max(m["acc"] for m in row["kmeans"].values())


def section(out: dict[str, Any]) -> str:
    """The suite's section of bench/RESULTS.md."""
    lines = [
        "## The development suite",
        "",
        f"Machine: {out['machine']}. Command: `{out['command']}` ({out['seeds']} seeds per run, "
        + (
            "views read from the cache"
            if out["seconds_building_views"] < 10
            else f"views built in {out['seconds_building_views']:.0f} s"
        )
        + f", everything in {out['seconds']:.0f} s). "
        "The datasets and their views: bench/suite_data.py. ACC of each labeling against the human "
        "labels, read by the benchmark only.",
        "",
        "### The default against k-means and the selected seed",
        "",
        "| dataset | N | K | method | default | (its ensemble) | selected seed | seeds (min … max) "
        "| best k-means | probe | seeds' stability | verdict | default ≥ seed − 0.01 and ≥ best k-means |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    from hume.search.selection.choice_signals import STANDS_OUT, WEAK

    for row in out["datasets"]:
        for method in (*METHODS, "hume-uneven"):
            if method not in row:
                continue
            m = row[method]
            seeds = [s["acc"] for s in m["seeds"]]
            default, chosen = m["ensemble"]["acc"], m.get("ensemble_chosen") or "–"
            km = _best_kmeans(row)
            stab = m["stability"]
            verdict = "strong" if stab >= STANDS_OUT else "partial" if stab >= WEAK else "weak"
            ok = default >= m["selected_seed"]["acc"] - 0.01 and default >= km
            lines.append(
                f"| {row['dataset']} | {row['n']} | {row['k']} | {_method_name(method)} | {default:.3f} "
                f"| {chosen} | {m['selected_seed']['acc']:.3f} | {min(seeds):.3f} … {max(seeds):.3f} "
                f"| {km:.3f} | {max(p['acc'] for p in row['probe'].values()):.3f} | {stab:.3f} "
                f"| {verdict} | {'yes' if ok else '**no**'} |"
            )
    lines += [
        "",
        *_verdict_lines(out),
        "",
        "### Every rule on the same seeds, and leave-one-dataset-out",
        "",
    ]
    for method in METHODS:
        table = rule_table(out, method)
        by_score, by_acc = leave_one_out(table, "score"), leave_one_out(table, "acc")
        lines += [
            f"{method.upper()} (ACC; a per-run rule's pick in brackets; the last two columns: the "
            "fixed rule chosen on the other datasets by their mean label-free score, and by their "
            "mean ACC, measured here):",
            "",
            "| dataset | " + " | ".join(RULES) + " | LODO by score | LODO by ACC |",
            "|---|" + "---|" * (len(RULES) + 2),
        ]
        for name, rules in table.items():
            cells = [
                f"{rules[r]['acc']:.3f}" + (f" ({rules[r]['kind']})" if r not in FIXED else "")
                for r in RULES
            ]
            s, a = by_score[name], by_acc[name]
            lines.append(
                f"| {name} | " + " | ".join(cells) + f" | {rules[s]['acc']:.3f} ({s}) "
                f"| {rules[a]['acc']:.3f} ({a}) |"
            )
        n = len(table)
        means = [sum(table[d][r]["acc"] for d in table) / n for r in RULES]
        lodo_s = sum(table[d][by_score[d]]["acc"] for d in table) / n
        lodo_a = sum(table[d][by_acc[d]]["acc"] for d in table) / n
        lines += [
            "| **mean** | "
            + " | ".join(f"**{v:.3f}**" for v in means)
            + f" | **{lodo_s:.3f}** | **{lodo_a:.3f}** |",
            "",
        ]
    lines += _k_lines(out)
    lines += _weak_lines(out)
    return "\n".join(lines)


def _verdict_lines(out: dict[str, Any]) -> list[str]:
    """Where the default falls more than 0.01 below the best k-means, against the run's verdict."""
    from hume.search.selection.choice_signals import STANDS_OUT

    losses, strong_losses, strong = [], [], 0
    for row in out["datasets"]:
        for method in METHODS:
            m = row[method]
            lost = m["ensemble"]["acc"] < _best_kmeans(row) - 0.01
            strong += m["stability"] >= STANDS_OUT
            if lost:
                losses.append(f"{row['dataset']} {method.upper()} ({m['stability']:.3f})")
                if m["stability"] >= STANDS_OUT:
                    strong_losses.append(losses[-1])
    return [
        f"The default is more than 0.01 below the best k-means in {len(losses)} runs: "
        + (", ".join(losses) or "none")
        + " (the seeds' stability in brackets). "
        + f"Of the {strong} runs whose verdict is strong, {len(strong_losses)} are: "
        + (", ".join(strong_losses) or "none")
        + "."
    ]


def _k_lines(out: dict[str, Any]) -> list[str]:
    rows = [r for r in out["datasets"] if "k_choice" in r]
    if not rows:
        return []
    lines = [
        f"### K chosen from {out['k_range']} (HUME's defaults, the fast scan)",
        "",
        "| dataset | human K | chosen K | within ±1 | searched in full | ACC at the chosen K | seconds |",
        "|---|---|---|---|---|---|---|",
    ]
    near = 0
    images = 0
    for r in rows:
        c = r["k_choice"]
        ok = abs(c["k"] - r["k"]) <= 1
        if r["kind"] == "image":
            images += 1
            near += ok
        lines.append(
            f"| {r['dataset']} ({r['kind']}) | {r['k']} | {c['k']} | {'yes' if ok else '**no**'} "
            f"| {c['searched_in_full']} | {c['acc']:.3f} | {c['seconds']:.0f} |"
        )
    lines += ["", f"Within ±1 of the human K on {near} of {images} image datasets.", ""]
    return lines


def _weak_lines(out: dict[str, Any]) -> list[str]:
    """How much better the default's labeling is learned across the views than k-means' (the
    signal the issue proposed for weak views), against how much better it is in ACC."""
    lines = [
        "### Is the run's labeling better learned than k-means'? (the signal tried for weak views)",
        "",
        "| dataset | method | label-free score: run's labeling | k-means' | ACC: run − k-means "
        "(concatenation) | seeds' stability |",
        "|---|---|---|---|---|---|",
    ]
    for row in out["datasets"]:
        for method in METHODS:
            m = row[method]
            kinds = m["kinds"]
            own = rule_pick(kinds, "auto")
            lines.append(
                f"| {row['dataset']} | {method.upper()} | {kinds[own]['score']:.3f} "
                f"| {kinds['kmeans']['score']:.3f} | {kinds[own]['acc'] - kinds['kmeans']['acc']:+.3f} "
                f"| {m['stability']:.3f} |"
            )
    return [*lines, ""]


if __name__ == "__main__":
    sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parents[1]))
    print(
        section(json.loads(open(sys.argv[1] if len(sys.argv) > 1 else "bench/suite.json").read()))
    )
