"""Near-ties of ``--ensemble auto`` (issue 32): how far apart the cut's and the vote's label-free
scores fall by chance, and what a tie should fall back to, measured on the development suite at
several seed counts, the human labels read by this script alone.

For each dataset of the suite (bench/suite_data.py) and each method, one run of ``--pool`` seeds
(20) is searched at the human K; its seeds are cut into disjoint draws of 5, 10 and 20 consecutive
seeds (seed ``j``'s result depends only on ``(random_state, j)``: docs/algorithm.md §3, so a draw
is what a run of that many seeds finds). For each draw, the labelings a rule may return: the cut
and the vote (what ``auto`` weighs), the label-free selected seed, the cut of the better-scoring
half of the seeds; each one's fold accuracies on the run's folds (the terms of its label-free
score), its score on three other draws of the folds (the spread a redraw really shows), its score
on every view (φ1 as well), its mean agreement (ARI) with the seeds, and its ACC.

Rules, from those numbers alone (:func:`rule_labeling`): ``auto`` (today: the higher score, ties
to the cut) and ``auto, tie → X``: a difference within ``z`` spreads (hume.search.selection.score_spread) is
a tie, which goes to X. Which X, and which z, is chosen leave-one-dataset-out.

    python bench/ensemble_ties.py --json bench/ensemble_ties.json       # search and measure
    python bench/ensemble_ties.py --analyse bench/ensemble_ties.json --results bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from search_speed import write_section  # noqa: E402
from suite import CACHE, _import, _metrics, _search_views  # noqa: E402
from suite_data import suite  # noqa: E402

POOL = 20
COUNTS = (5, 10, 20)
#: the run's folds (0) and three other draws of them
FOLD_SEEDS = (0, 1, 2, 3)
KINDS = ("cut", "vote", "seed", "cut-top")
#: what a tie may fall back to: a labeling, or a second signal between the cut and the vote
FALLBACKS = ("cut", "vote", "seed", "cut-top", "all-views", "agreement")
ZS = (0.5, 1.0, 2.0)
METHODS = ("hume", "turtle")


def pool_run(d: dict, root: Path, method: str, pool: int) -> Path:
    """The run of ``pool`` seeds of one method at the human K (searched once, then read back)."""
    from hume.search.search_runs.request import SearchRequest
    from hume.search.search_runs.run_lifecycle import resume_search, run_search

    run = f"{d['name']}-{method}-pool{pool}"
    if (root / "runs" / run / "ensemble.npz").is_file():
        return root / "runs" / run
    if (root / "runs" / run).is_dir():  # a search stopped with this benchmark: continue it
        return Path(resume_search(str(root), run, device="cpu"))
    req = SearchRequest(
        views=_search_views(d), dataset=d["name"], k=d["k"], seeds=pool, method=method,
        device="cpu", run=run, root=str(root),
    )  # fmt: skip
    return Path(run_search(req))


def draw_row(d: dict, method: str, seed_labels: np.ndarray, scores: np.ndarray) -> dict:
    """Every labeling of :data:`KINDS` made from one draw of seeds, with its signals and ACC."""
    import torch

    from hume.core.labelings import adjusted_rand_index
    from hume.search.selection.consensus import consensus
    from hume.search.selection.ensembling import ensemble
    from hume.search.selection.label_free_score import fold_scores, label_free_scores

    k, y = d["k"], d["y"]
    views = _search_views(d)
    phi2 = [torch.as_tensor(d["views"][v]) for v in (views[1:] if method == "hume" else views)]
    every = [torch.as_tensor(d["views"][v]) for v in views]
    labels, sc = torch.as_tensor(seed_labels), torch.as_tensor(scores)
    made = {kind: ensemble(labels, sc, k, kind)[0].numpy() for kind in ("cut", "vote")}
    made["seed"] = seed_labels[int(np.argmax(scores))]
    top = scores >= np.median(scores)
    made["cut-top"] = consensus(torch.as_tensor(seed_labels[top]), k, "cut", 0).numpy()
    stacked = torch.as_tensor(np.stack([made[kind] for kind in KINDS]))
    folds = {fs: fold_scores(phi2, stacked, k, seed=fs).double().numpy() for fs in FOLD_SEEDS}
    on_every = label_free_scores(every, stacked, k).double().numpy()
    return {
        kind: {
            **_metrics(y, made[kind]),
            "folds": [round(float(v), 6) for v in folds[0][i]],
            "redraws": [round(float(folds[fs][i].mean()), 6) for fs in FOLD_SEEDS],
            "every_view": round(float(on_every[i]), 6),
            "agreement": round(
                float(np.mean([adjusted_rand_index(s, made[kind]) for s in seed_labels])), 5
            ),
        }
        for i, kind in enumerate(KINDS)
    }


def run_dataset(d: dict, pool: int, counts: tuple[int, ...], cache: str) -> dict:
    import torch

    torch.set_num_threads(1)
    root = Path(cache) / "ws"
    _import(d, root)
    row: dict[str, Any] = {"dataset": d["name"], "k": d["k"], "n": len(d["y"])}
    for method in METHODS:
        t = time.perf_counter()
        run_dir = pool_run(d, root, method, pool)
        with np.load(run_dir / "seeds.npz") as z:
            seed_labels, scores = z["labels"], z["scores"]
        searched = time.perf_counter() - t
        measured = run_dir / f"ties-{'-'.join(map(str, counts))}.json"  # kept: a rerun reads it
        if measured.is_file():
            draws = json.loads(measured.read_text())
        else:
            draws = []
            for count in counts:
                for i in range(pool // count):
                    part = slice(i * count, (i + 1) * count)
                    one = draw_row(d, method, seed_labels[part], scores[part])
                    draws.append({"seeds": count, "draw": i, "kinds": one})
            measured.write_text(json.dumps(draws))
        row[method] = {
            "search_s": round(searched, 1),
            "measure_s": round(time.perf_counter() - t - searched, 1),
            "seed_acc": [_metrics(d["y"], s)["acc"] for s in seed_labels],
            "draws": draws,
        }
        print(f"{d['name']} {method}: {len(draws)} draws", flush=True)
    return row


# ---- the rules, from the measured numbers alone -------------------------------------------


def spread(kinds: dict, a: str = "cut", b: str = "vote") -> float:
    from hume.search.selection.score_spread import paired_spread

    return paired_spread(np.array(kinds[a]["folds"]), np.array(kinds[b]["folds"]))


def score(kinds: dict, kind: str) -> float:
    return float(np.mean(kinds[kind]["folds"]))


def rule_labeling(kinds: dict, fallback: str | None, z: float) -> str:
    """The kind a rule returns: the cut or the vote by the higher score (ties to the cut), or,
    within ``z`` spreads, ``fallback`` (a kind, or the higher of a second signal)."""
    diff = score(kinds, "cut") - score(kinds, "vote")
    if fallback is None or abs(diff) > z * spread(kinds):
        return "cut" if diff >= 0 else "vote"
    if fallback == "all-views":
        return "cut" if kinds["cut"]["every_view"] >= kinds["vote"]["every_view"] else "vote"
    if fallback == "agreement":
        return "cut" if kinds["cut"]["agreement"] >= kinds["vote"]["agreement"] else "vote"
    return fallback


def rules() -> list[tuple[str, str | None, float]]:
    return [("auto", None, 0.0)] + [(f"tie({z:g}) → {x}", x, z) for z in ZS for x in FALLBACKS]


def rule_accs(out: dict, method: str, seeds: int) -> dict[str, dict[str, float]]:
    """{rule: {dataset: mean ACC over the draws of ``seeds`` seeds}}."""
    table: dict[str, dict[str, float]] = {}
    for name, fallback, z in rules():
        table[name] = {}
        for row in out["datasets"]:
            accs = [
                dr["kinds"][rule_labeling(dr["kinds"], fallback, z)]["acc"]
                for dr in row[method]["draws"]
                if dr["seeds"] == seeds
            ]
            table[name][row["dataset"]] = float(np.mean(accs))
    return table


def tie_losses(out: dict, method: str, seeds: int, fallback: str | None, z: float) -> list[str]:
    """Draws whose cut and vote tie (within ``z`` spreads; ``z`` 1 for ``auto``) and where the
    rule's labeling is more than 0.01 below the better of the two."""
    lost = []
    for row in out["datasets"]:
        for dr in row[method]["draws"]:
            kinds = dr["kinds"]
            if dr["seeds"] != seeds:
                continue
            diff = abs(score(kinds, "cut") - score(kinds, "vote"))
            if diff > max(z, 1.0) * spread(kinds):
                continue
            best = max(kinds["cut"]["acc"], kinds["vote"]["acc"])
            got = kinds[rule_labeling(kinds, fallback, z)]["acc"]
            if got < best - 0.01:
                lost.append(f"{row['dataset']} #{dr['draw']} ({got:.3f} vs {best:.3f})")
    return lost


def leave_one_out(out: dict, method: str) -> dict[str, dict[str, Any]]:
    """For each dataset, the tie rule with the best mean ACC over the other datasets and every
    seed count, and what it gives on the one left out at each seed count."""
    counts = sorted({dr["seeds"] for row in out["datasets"] for dr in row[method]["draws"]})
    tables = {c: rule_accs(out, method, c) for c in counts}
    names = [name for name, _, z in rules() if name != "auto" and z == 1.0]
    chosen = {}
    for row in out["datasets"]:
        left = row["dataset"]

        def others(name: str, left: str = left) -> float:
            return float(
                np.mean([v for c in counts for d, v in tables[c][name].items() if d != left])
            )

        pick = max(names, key=lambda name: (others(name), -names.index(name)))
        chosen[left] = {"rule": pick, **{str(c): tables[c][pick][left] for c in counts}}
    return chosen


def section(out: dict) -> str:
    counts = sorted({dr["seeds"] for row in out["datasets"] for dr in row["hume"]["draws"]})
    lines = [
        "## Near-ties of the ensemble choice (`bench/ensemble_ties.py`)",
        "",
        f"Machine: {out['machine']}. Command: `{out['command']}` ({out['seconds']:.0f} s). One "
        f"run of {out['pool']} seeds per dataset and method at the human K, cut into disjoint "
        "draws of "
        + ", ".join(str(c) for c in counts)
        + " seeds; ACC is the mean over a seed count's draws (labels read by the benchmark only).",
        "",
    ]
    for method in METHODS:
        lines += _method_section(out, method, counts)
    return "\n".join(lines)


def _method_section(out: dict, method: str, counts: list[int]) -> list[str]:
    lines = [f"### {method.upper()}", ""]
    # the spread the run measures (from its folds) against a redraw of the folds
    sizes, ratio = [], []
    for row in out["datasets"]:
        for dr in row[method]["draws"]:
            kinds = dr["kinds"]
            red = np.array(kinds["cut"]["redraws"]) - np.array(kinds["vote"]["redraws"])
            if spread(kinds) > 0:  # draws whose cut and vote differ
                sizes.append(abs(red[0]))
                ratio.append(float(np.std(red, ddof=1)) / spread(kinds))
    lines += [
        f"Redrawing the folds moves the cut − vote difference by {np.median(ratio):.2f} × the "
        f"measured spread (median over the {len(ratio)} draws whose cut and vote differ): the "
        "spread covers the folds' share of the noise, and the rows' share besides.",
        "",
        "| dataset | " + " | ".join(f"{c} seeds: cut / vote (tied draws)" for c in counts) + " |",
        "|---|" + "---|" * len(counts),
    ]
    for row in out["datasets"]:
        cells = []
        for c in counts:
            drs = [dr for dr in row[method]["draws"] if dr["seeds"] == c]
            cut = np.mean([dr["kinds"]["cut"]["acc"] for dr in drs])
            vote = np.mean([dr["kinds"]["vote"]["acc"] for dr in drs])
            ties = sum(
                abs(score(dr["kinds"], "cut") - score(dr["kinds"], "vote")) <= spread(dr["kinds"])
                for dr in drs
            )
            cells.append(f"{cut:.3f} / {vote:.3f} ({ties} of {len(drs)})")
        lines.append(f"| {row['dataset']} | " + " | ".join(cells) + " |")
    lines += ["", "Mean ACC over the suite, and the tied draws (within the rule's z, at least 1 "
              "spread) where the rule is more than 0.01 below the better of cut and vote:", "",
              "| rule | " + " | ".join(f"{c} seeds" for c in counts) + " | losses on ties |",
              "|---|" + "---|" * (len(counts) + 1)]  # fmt: skip
    tables = {c: rule_accs(out, method, c) for c in counts}
    for name, fallback, z in rules():
        means = [np.mean(list(tables[c][name].values())) for c in counts]
        lost = sum(len(tie_losses(out, method, c, fallback, z or 1.0)) for c in counts)
        lines.append(f"| {name} | " + " | ".join(f"{m:.4f}" for m in means) + f" | {lost} |")
    lodo = leave_one_out(out, method)
    lines += ["", "Leave-one-dataset-out: what a tie (1 spread) falls back to, chosen on the other "
              "datasets (mean ACC over every seed count), measured on the one left out:", "",
              "| dataset | rule chosen | " + " | ".join(f"{c} seeds" for c in counts) + " |",
              "|---|---|" + "---|" * len(counts)]  # fmt: skip
    for left, pick in lodo.items():
        lines.append(
            f"| {left} | {pick['rule']} | "
            + " | ".join(f"{pick[str(c)]:.3f}" for c in counts)
            + " |"
        )
    means = [np.mean([pick[str(c)] for pick in lodo.values()]) for c in counts]
    auto = [np.mean(list(tables[c]["auto"].values())) for c in counts]
    lines += [
        "| **mean** | | " + " | ".join(f"**{m:.3f}**" for m in means) + " |",
        "| *auto today* | | " + " | ".join(f"*{m:.3f}*" for m in auto) + " |",
        "",
    ]
    return lines


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="")
    ap.add_argument("--pool", type=int, default=POOL)
    ap.add_argument("--counts", default=",".join(map(str, COUNTS)))
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--cache", default=str(CACHE))
    ap.add_argument("--json", default="bench/ensemble_ties.json")
    ap.add_argument("--analyse", default=None, help="a JSON written before: print its section")
    ap.add_argument("--results", default=None)
    args = ap.parse_args(argv)
    if args.analyse:
        out = json.loads(Path(args.analyse).read_text())
    else:
        import torch

        t = time.perf_counter()
        only = [o for o in args.only.split(",") if o] or None
        data = [d for d in suite(Path(args.cache), only) if only is None or d["name"] in only]
        names = [d["name"] for d in data]
        counts = tuple(int(c) for c in args.counts.split(","))
        out = {
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
            "command": "python bench/ensemble_ties.py "
            + " ".join(sys.argv[1:] if argv is None else argv),
            "pool": args.pool,
            "seconds": 0.0,
            "datasets": [],
        }
        if Path(args.json).is_file():  # datasets measured by an earlier, stopped run are kept
            before = json.loads(Path(args.json).read_text())
            if before.get("pool") == args.pool:
                out["datasets"] = [row for row in before["datasets"] if row["dataset"] in names]
        done = {row["dataset"] for row in out["datasets"]}
        with ProcessPoolExecutor(args.jobs) as pool:
            jobs = [
                pool.submit(run_dataset, d, args.pool, counts, args.cache)
                for d in data
                if d["name"] not in done
            ]
            for job in as_completed(jobs):  # written as each dataset ends: a stop loses none
                try:
                    out["datasets"].append(job.result())
                except Exception as exc:  # one dataset's failure must not lose the others
                    print(f"a dataset failed: {exc!r}", flush=True)
                    continue
                out["seconds"] = round(time.perf_counter() - t, 1)
                Path(args.json).write_text(json.dumps(out, indent=1))
        out["datasets"].sort(key=lambda row: names.index(row["dataset"]))
        Path(args.json).write_text(json.dumps(out, indent=1))
    text = section(out)
    print(text)
    if args.results:
        write_section(Path(args.results), "ensemble-ties", text)


if __name__ == "__main__":
    main()
