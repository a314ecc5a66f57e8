"""The default settings of HUME and TURTLE, chosen over several datasets at once by the label-free
score alone (issue: defaults that carry over).

For each method a small grid of settings (the current defaults, the official ones, and single
changes around them) is searched on every dataset; each setting gets, per dataset, the mean
label-free score of its seeds (HUME: on φ2; TURTLE: on every view, as selection scores them) and
its rank among the settings. The setting with the best mean rank over the datasets is the one the
label-free rule picks (ties: the higher mean score). ACC is recorded for the reader only. Datasets:
scikit-learn's digits (hog, pixels), its imbalanced subsample (sizes 175 … 18), a planted
mixture of 5 classes in two low-dimensional views at scales 10 and 0.1, and a harder one of 10
classes in two wide views (128 and 96 dimensions) with overlapping classes.

    python bench/choose_defaults.py --results bench/RESULTS.md
    python bench/choose_defaults.py --methods turtle   # one method, merged into the JSON
    python bench/choose_defaults.py --from-json --results bench/RESULTS.md   # the table again

Ties (equal mean scores, e.g. every setting solving a planted problem) share their mean rank.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from choose_k import digits, planted  # noqa: E402
from search_speed import write_section  # noqa: E402

from hume.evaluate.metrics import cluster_accuracy  # noqa: E402
from hume.search import HUME, TURTLE  # noqa: E402

#: per method: setting name → (estimator parameters, cost relative to the default). The choice is
#: made among the settings of the default's cost; the costlier ones show what more compute buys.
GRIDS: dict[str, dict[str, tuple[dict, float]]] = {
    "hume": {
        "default": ({}, 1.0),
        "outer lr 0.05": ({"outer_lr": 0.05}, 1.0),
        "outer lr 0.5": ({"outer_lr": 0.5}, 1.0),
        "tau 0.5": ({"tau": 0.5}, 1.0),
        "T = 50 inner steps": ({"inner_steps": 50}, 2.5),
        "300 iterations": ({"iters": 300}, 2.0),
    },
    "turtle": {
        "default": ({}, 1.0),
        "paper": ({"preset": "paper"}, 6.0),
        "paper's lrs and cold start, 1000 steps": (
            {"inner_lr": 1e-3, "outer_lr": 1e-3, "warm_start": False},
            1.0,
        ),
        "inner lr 1e-3": ({"inner_lr": 1e-3}, 1.0),
        "cold start": ({"warm_start": False}, 1.0),
        "standardised views": ({"standardise": True}, 1.0),
        "3000 steps": ({"iters": 3000}, 3.0),
    },
}


def datasets() -> list[tuple[str, list, np.ndarray, int]]:
    out = []
    for name, imb in (("digits", False), ("digits-imbalanced", True)):
        views, y = digits(imbalanced=imb)
        out.append((name, views, y, 10))
    views, y = planted(5, seed=5)
    out.append(("planted K=5 (24/16 dims, scales 10/0.1)", views, y, 5))
    views, y = planted(10, n=2000, seed=10, dims=((128, 1.0), (96, 1.0)), spread=0.35)
    out.append(("planted K=10 (128/96 dims, overlapping)", views, y, 10))
    return out


def run(method: str, views, y, k: int, seeds: int, settings: dict) -> dict:
    cls = HUME if method == "hume" else TURTLE
    t = time.perf_counter()
    model = cls(k, n_seeds=seeds, device="cpu", **settings).fit(views)
    return {
        "score": float(np.mean(model.scores_)),
        "acc": cluster_accuracy(y, model.labels_),
        "seconds": round(time.perf_counter() - t, 1),
    }


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--methods", default="hume,turtle")
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--json", default="bench/choose_defaults.json")
    ap.add_argument("--results", default=None)
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--from-json", action="store_true", help="only write the table of --json")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    path = Path(args.json)
    out = json.loads(path.read_text()) if path.exists() else {"methods": {}}
    if not args.from_json:
        data = datasets()
        out.update(
            machine=f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
            seeds=args.seeds,
            datasets=[d[0] for d in data],
        )
        for method in args.methods.split(","):
            table: dict[str, dict[str, dict]] = {name: {} for name in GRIDS[method]}
            for dname, views, y, k in data:
                for name, (settings, _) in GRIDS[method].items():
                    r = run(method, views, y, k, args.seeds, settings)
                    table[name][dname] = r
                    print(
                        f"{method} | {dname} | {name}: score {r['score']:.4f} "
                        f"ACC {r['acc']:.3f} {r['seconds']:.0f}s",
                        flush=True,
                    )
            out["methods"][method] = {"table": table}
            path.write_text(json.dumps(out, indent=1))
    for method, res in out["methods"].items():
        res.update(choose(method, res["table"], out["datasets"]))
        print(f"{method}: chosen by mean rank: {res['chosen']}", flush=True)
    path.write_text(json.dumps(out, indent=1))
    if args.results:
        results_section(out, args.results)


def choose(method: str, table: dict[str, dict[str, dict]], names: list[str]) -> dict:
    """Ranks per dataset (1 = the best mean score; ties share their mean rank), mean rank and
    mean score per setting, and the best mean rank among the settings of the default's cost."""
    from scipy.stats import rankdata

    for d in names:
        ranks = rankdata([-round(table[s][d]["score"], 4) for s in table], method="average")
        for s, rank in zip(table, ranks):
            table[s][d]["rank"] = float(rank)
    summary = {
        s: {
            "mean_rank": float(np.mean([table[s][d]["rank"] for d in names])),
            "mean_score": float(np.mean([table[s][d]["score"] for d in names])),
            "cost": GRIDS[method][s][1],
        }
        for s in table
    }
    same_cost = [s for s in table if GRIDS[method][s][1] == 1.0]
    chosen = min(same_cost, key=lambda s: (summary[s]["mean_rank"], -summary[s]["mean_score"]))
    return {"summary": summary, "chosen": chosen}


def results_section(out: dict, path: str) -> None:
    """The bench's section of RESULTS.md (between its markers), replacing an earlier one."""
    names = out["datasets"]
    lines = [
        "## Defaults chosen over several datasets (label-free score)",
        "",
        f"Machine: {out['machine']}; {out['seeds']} seeds per cell. Command: "
        "`python bench/choose_defaults.py --results bench/RESULTS.md`. Each cell: the mean "
        "label-free score of the seeds (the choice reads nothing else), its rank among the "
        "settings (ties share their mean rank), and the ensemble's ACC in brackets for the reader "
        "only. The label-free choice is the setting with the best mean rank over the datasets "
        "among those of the default's cost; costlier settings are shown for what more compute "
        "buys.",
    ]
    for method, res in out["methods"].items():
        lines += [
            "",
            f"**{method.upper()}** — chosen: **{res['chosen']}**",
            "",
            "| setting | cost | " + " | ".join(names) + " | mean rank |",
            "|---|---|" + "---|" * (len(names) + 1),
        ]
        for name, row in res["table"].items():
            cells = [
                f"{row[d]['score']:.3f} (#{row[d]['rank']:g}) [{row[d]['acc']:.3f}]" for d in names
            ]
            mark = "**" if name == res["chosen"] else ""
            lines.append(
                f"| {mark}{name}{mark} | {res['summary'][name]['cost']:g}× | "
                + " | ".join(cells)
                + f" | {res['summary'][name]['mean_rank']:.2f} |"
            )
    write_section(path, "choose_defaults", "\n".join(lines))


if __name__ == "__main__":
    main()
