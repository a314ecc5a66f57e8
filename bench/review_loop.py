"""A simulated reviewer on the development suite: what a review of a few rows is worth.

For each dataset the default search runs at the human K (the suite's run is reused when it is
there). A reviewer then looks at each class's least confident rows first (the gallery's order),
R per class for a budget of 1 %, 2 % and 5 % of the rows, moves the wrong ones to the class that
stands for their true class (Hungarian matching of the run's classes to the human ones) and
confirms the right ones; with ``--structure`` they also regroup the classes (``regroup``): classes
that share a human class (one making ≥ 25 % of each) are merged, and a group holding several
human classes is split into that many, the rows of those human classes moved into the group
(the split puts them in its parts). Side by side, on the same review (ACC over every row):

- (a) the moves alone: the run's labels with the review applied;
- (b) the refit: ``hume search --from RUN --corrections FILE`` (hume.refit), through the library;
- (c) a linear probe on the reviewed rows alone (every view standardised and concatenated);
- (d) k-means on the L2-normalised views, seeded with the reviewed rows' class means (the run's
  class means for a class without any) and with the reviewed rows clamped to their class
  (hume.search.estimators.anchored_refit.anchored_kmeans, started from the anchors); with
  splits, at the K the review asks for, each split class cut first by k-means
  (``kmeans_at_review_k``).

The human labels are read here, by the benchmark and its reviewer; the refit never sees them.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from suite import CACHE, _import, _search_views  # noqa: E402
from suite_data import suite  # noqa: E402

BUDGETS = (0.01, 0.02, 0.05)
#: a class is split when its second human class holds at least this share of it
SPLIT_SHARE = 0.25


def _acc(y: np.ndarray, labels: np.ndarray) -> float:
    from hume.evaluate.metrics import cluster_accuracy

    return round(float(cluster_accuracy(y, labels)), 4)


def reviewer(
    labels: np.ndarray,
    confidence: np.ndarray,
    margin: np.ndarray,
    y: np.ndarray,
    budget: float,
    structure: bool = False,
) -> dict:
    """The corrections a reviewer makes: ``moves`` {row: class}, ``confirm`` [rows], ``merge``
    [[class, class]], ``split`` {class: 2} (class numbers of the run)."""
    from hume.core.labelings import contingency, match_clusters

    k = int(labels.max()) + 1
    table = contingency(y, labels, n_clusters=k)
    stands_for = {t: c for c, t in match_clusters(table).items()}  # human class -> run class
    merge: list[list[int]] = []
    split: dict[int, int] = {}
    target = dict(stands_for)
    if structure:
        for group, kinds in regroup(table):
            if len(group) > 1:
                merge.append(group)
            if len(kinds) > 1:
                split[group[0]] = len(kinds)
            for t in kinds:
                target[t] = group[0]  # rows of these kinds go to the class being regrouped
    per_class = max(1, math.ceil(budget * len(labels) / k))
    moves: dict[int, int] = {}
    confirm: list[int] = []
    for c in range(k):
        rows = np.flatnonzero(labels == c)
        rows = rows[np.lexsort((margin[rows], confidence[rows]))][:per_class]
        for r in rows:
            to = target.get(int(y[r]))
            if to is None:
                continue  # a human class no run class stands for: nowhere to move it
            if to == c:
                confirm.append(int(r))
            else:
                moves[int(r)] = int(to)
    return {"moves": moves, "confirm": confirm, "merge": merge, "split": split}


def regroup(table: np.ndarray) -> list[tuple[list[int], list[int]]]:
    """What a reviewer who sees the gallery asks for, from the contingency ``table`` (human ×
    run): each run class holds the human classes that make at least :data:`SPLIT_SHARE` of it
    (its kinds; at least its largest); classes that share a kind are merged, and a group holding
    several kinds is split into that many. Returns [(run classes, their kinds)] per group."""
    k = table.shape[1]
    kinds = {}
    for c in range(k):
        col = table[:, c]
        if col.sum():
            kinds[c] = {int(t) for t in np.flatnonzero(col >= SPLIT_SHARE * col.sum())}
            kinds[c].add(int(col.argmax()))
    groups: list[tuple[list[int], set[int]]] = []
    for c, mine in kinds.items():
        joined = [g for g in groups if g[1] & mine]
        members, union = [c], set(mine)
        for g in joined:
            groups.remove(g)
            members += g[0]
            union |= g[1]
        groups.append((members, union))
    return [(sorted(m), sorted(u)) for m, u in groups]


def kmeans_at_review_k(
    views: list[np.ndarray],
    fixed: np.ndarray,
    rows: np.ndarray,
    classes: np.ndarray,
    k: int,
    split: dict[int, int],
    seed: int = 0,
) -> np.ndarray:
    """(d) at the K the review asks for: a split class's rows cut by k-means at its parts (the
    lowest objective of seeded random starts), the new parts numbered from ``k`` on and the
    anchors in it kept in the part the cut gave them; then anchored k-means on every row."""
    from hume.search.estimators.anchored_refit import anchored_kmeans, tightest_cut

    labels = fixed.copy()
    classes = classes.copy()
    total = k
    for c, parts in sorted(split.items()):
        members = np.flatnonzero(labels == c)
        rng = np.random.default_rng(seed)
        start = rng.integers(0, parts, len(members))
        cut, _ = tightest_cut([v[members] for v in views], start, parts, seed)
        labels[members] = np.where(cut == 0, c, total + cut - 1)
        total += parts - 1
        inside = labels[rows] != fixed[rows]
        classes[inside] = labels[rows][inside]
    return anchored_kmeans(views, labels, rows, classes, total)


def moves_alone(labels: np.ndarray, review: dict) -> np.ndarray:
    """The run's labels with the review applied: moves, then merges (as the refit applies them:
    a row moved into a class later merged goes with it)."""
    out = labels.copy()
    for r, c in review["moves"].items():
        out[r] = c
    for first, *rest in review["merge"]:
        out[np.isin(out, rest)] = first
    return out


def anchors(labels: np.ndarray, review: dict) -> tuple[np.ndarray, np.ndarray]:
    fixed = moves_alone(labels, review)
    rows = np.array(sorted({*review["moves"], *review["confirm"]}), dtype=np.int64)
    return rows, fixed[rows]


def probe_alone(views: list[np.ndarray], rows: np.ndarray, classes: np.ndarray) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression
    from sklearn.preprocessing import StandardScaler

    x = np.concatenate([StandardScaler().fit_transform(v) for v in views], 1)
    if len(np.unique(classes)) < 2:
        return np.full(len(x), classes[0] if len(classes) else 0)
    out = LogisticRegression(max_iter=500).fit(x[rows], classes).predict(x)
    out[rows] = classes
    return out


def corrections_file(review: dict, path: Path, run: str) -> Path:
    """The review as a corrections file of the run (rows of imported arrays: ``all/<row>``)."""
    data = {
        "run": run,
        "moves": {f"all/{r}": c for r, c in review["moves"].items()},
        "confirm": [f"all/{r}" for r in review["confirm"]],
        "merge": review["merge"],
        "split": {str(c): p for c, p in review["split"].items()},
    }
    path.write_text(json.dumps(data))
    return path


def run_dataset(d: dict, seeds: int, cache: Path, structure: bool) -> dict:
    import torch

    from hume.export.rows import run_rows
    from hume.refit.refit_run import plan_refit, refit
    from hume.search.estimators.anchored_refit import anchored_kmeans
    from hume.search.search_runs.request import SearchRequest
    from hume.search.search_runs.run_lifecycle import resume_search, run_search

    torch.set_num_threads(1)
    root = cache / "ws"
    _import(d, root)
    views = _search_views(d)
    name = _run_name(d, seeds)
    if (root / "runs" / name / "config.json").is_file() and not (
        root / "runs" / name / "ensemble.npz"
    ).is_file():
        resume_search(str(root), name, device="cpu")
    elif not (root / "runs" / name / "ensemble.npz").is_file():
        run_search(
            SearchRequest(
                views=views, dataset=d["name"], k=d["k"], seeds=seeds, method="hume",
                device="cpu", run=name, root=str(root),
            )
        )  # fmt: skip
    stages = json.loads((root / "runs" / name / "stages.json").read_text())
    rows = run_rows(root / "runs" / name, root)
    labels = rows.column("labels")
    conf, margin = rows.column("confidence"), rows.column("margin")
    y = d["y"]
    x = [d["views"][v] for v in views]
    out = {
        "dataset": d["name"],
        "k": d["k"],
        "n": len(y),
        "default": _acc(y, labels),
        "search_s": round(sum(st["seconds"] for st in stages["stages"]), 1),
        "budgets": {},
    }
    for budget in BUDGETS:
        review = reviewer(labels, conf, margin, y, budget, structure)
        a_rows, a_cls = anchors(labels, review)
        # the structured review is another review: its own corrections file and run
        tag = f"{name}-review{'-structure' if structure else ''}-{budget}"
        fix = corrections_file(review, cache / f"{tag}.json", name)
        t = time.perf_counter()
        plan = plan_refit(root / "runs" / name, [fix], root, tag)
        done = plan.done
        new = refit(plan, root, "cpu")
        refit_s = time.perf_counter() - t
        with np.load(new / "ensemble.npz") as z:
            refitted = z["labels"]
        fixed = moves_alone(labels, review)
        out["budgets"][str(budget)] = {
            "reviewed": len(a_rows),
            "moved": len(review["moves"]),
            "merged": len(review["merge"]),
            "split": len(review["split"]),
            "moves": _acc(y, fixed),
            "refit": _acc(y, refitted),
            "probe": _acc(y, probe_alone(x, a_rows, a_cls)),
            "kmeans": _acc(
                y,
                kmeans_at_review_k(x, fixed, a_rows, a_cls, d["k"], review["split"])
                if review["split"]
                else anchored_kmeans(x, fixed, a_rows, a_cls, d["k"]),
            ),
            "refit_s": None if done else round(refit_s, 2),
        }
        print(d["name"], budget, out["budgets"][str(budget)], flush=True)
    return out


def _run_name(d: dict, seeds: int) -> str:
    """The default run of a dataset (the suite's own run at 10 seeds)."""
    return f"{d['name']}-hume" if seeds == 10 else f"{d['name']}-hume-s{seeds}"


def split_check(d: dict, cache: Path, seeds: int, pairs: int = 3) -> list[dict]:
    """A class that holds two human classes, split at the right K (hume.refit.refit_run.
    split_class, the run's method and settings): ACC within the class, beside a linear probe's
    (5-fold, true labels) on the same rows, for the ``pairs`` pairs of human classes that the
    run confused most."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import cross_val_predict
    from sklearn.preprocessing import StandardScaler

    from hume.core.labelings import contingency
    from hume.refit.refit_run import split_class
    from hume.runs import load_config

    name = _run_name(d, seeds)
    config = load_config(cache / "ws" / "runs" / name)
    with np.load(cache / "ws" / "runs" / name / "ensemble.npz") as z:
        labels = z["labels"]
    y = d["y"]
    table = contingency(y, labels)
    k = table.shape[0]
    shared = [
        (int(np.minimum(table[a], table[b]).sum()), a, b) for a in range(k) for b in range(a + 1, k)
    ]
    out = []
    views = [np.asarray(d["views"][v]) for v in _search_views(d)]
    import torch

    tensors = [torch.as_tensor(v) for v in views]
    for _, a, b in sorted(shared, reverse=True)[:pairs]:
        rows = np.flatnonzero((y == a) | (y == b))
        t = time.perf_counter()
        parts, chosen = split_class(config, tensors, rows, (2, 2), "cpu")
        seconds = time.perf_counter() - t
        x = np.concatenate([StandardScaler().fit_transform(v[rows]) for v in views], 1)
        probe = cross_val_predict(LogisticRegression(max_iter=500), x, y[rows], cv=5)
        out.append(
            {
                "classes": [a, b],
                "rows": len(rows),
                "cut": chosen["cut"],
                "split_acc": _acc(y[rows], parts),
                "probe_acc": round(float((probe == y[rows]).mean()), 4),
                "split_s": round(seconds, 1),
            }
        )
        print(d["name"], "split", out[-1], flush=True)
    return out


#: the datasets the refit's settings were chosen on (docs/algorithm.md §12.2)
CHOSEN_ON = ("digits", "digits-imbalanced", "fortunes")


def section(result: dict) -> str:
    """The markdown section of bench/RESULTS.md from this benchmark's JSON."""
    rows = result["rows"]
    lines = [
        "## The review loop",
        "",
        f"`{result['command']}` (x86_64 CPU, 2 cores shared with other jobs, no GPU). HUME's default run at the human K (10 seeds),"
        " then a simulated reviewer: each class's least confident rows first, R per class for"
        " the budget, wrong ones moved to their class, right ones confirmed. ACC over every row"
        " of (a) the moves alone, (b) the refit (`hume search --from RUN --corrections F`,"
        " through the library), (c) a linear probe on the reviewed rows alone, (d) k-means"
        " seeded with the reviewed rows' class means and clamped. The refit's settings were"
        f" chosen on {', '.join(CHOSEN_ON)} (marked *); the others were not looked at before"
        " they were fixed (docs/algorithm.md §12.2). The labels are read by the benchmark only.",
        "",
        "| dataset | N | K | run | budget | reviewed | moved | (a) moves | (b) refit | (c) probe"
        " | (d) k-means | refit s |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    wins = {b: 0 for b in BUDGETS}
    worst = {b: 0.0 for b in BUDGETS}
    for row in rows:
        for b in BUDGETS:
            r = row["budgets"][str(b)]
            best_other = max(r["moves"], r["probe"], r["kmeans"])
            wins[b] += r["refit"] >= best_other
            worst[b] = min(worst[b], r["refit"] - best_other)
            refit = f"**{r['refit']:.3f}**" if r["refit"] >= best_other else f"{r['refit']:.3f}"
            name = row["dataset"] + ("*" if row["dataset"] in CHOSEN_ON else "")
            lines.append(
                f"| {name} | {row['n']} | {row['k']} | {row['default']:.3f} | {b:.0%} |"
                f" {r['reviewed']} | {r['moved']} | {r['moves']:.3f} | {refit} |"
                f" {r['probe']:.3f} | {r['kmeans']:.3f} | {r['refit_s']} |"
            )
    lines += [
        "",
        "Bold: the refit at least as good as each of (a), (c), (d). "
        + "; ".join(
            f"{b:.0%}: {wins[b]} of {len(rows)} datasets, at worst {worst[b]:+.3f}" for b in BUDGETS
        )
        + ".",
    ]
    low = [row for row in rows if row["default"] < 0.9]
    if low:
        gains = ", ".join(
            f"{row['dataset']} {100 * (row['budgets']['0.02']['refit'] - row['budgets']['0.02']['moves']):+.1f}"
            for row in low
            if "0.02" in row["budgets"]
        )
        lines += [
            "",
            f"At 2 % reviewed, points over (a) where the run's ACC is below 0.9: {gains}.",
        ]
    splits = [(row["dataset"], s) for row in rows for s in row.get("split", [])]
    if splits:
        lines += [
            "",
            "A class holding two human classes split at the right K (the two human classes the"
            " run confused most; the refit's split: HUME at K = 2 on their rows with the run's"
            " settings, then k-means' cut where its objective is lower, `cut`): ACC within the"
            " class, beside a linear probe trained on their labels (5-fold).",
            "",
            "| dataset | classes | rows | cut | split ACC | probe ACC | split s |",
            "|---|---|---|---|---|---|---|",
        ]
        lines += [
            f"| {name} | {s['classes'][0]}, {s['classes'][1]} | {s['rows']} | {s.get('cut', '')}"
            f" | {s['split_acc']:.3f} | {s['probe_acc']:.3f} | {s['split_s']} |"
            for name, s in splits
        ]
        good = [s for _, s in splits if s["probe_acc"] >= 0.95]
        lines += [
            "",
            f"Where the probe separates the two (≥ 0.95): the split recovers them (≥ 0.9) on"
            f" {sum(s['split_acc'] >= 0.9 for s in good)} of {len(good)} pairs.",
        ]
    return "\n".join(lines)


def _cells(budgets: list[dict], key: str) -> str:
    """``key``'s ACC at each budget, bold where it is the best of the three."""
    out = []
    for r in budgets:
        best = max(r["refit"], r["moves"], r["kmeans"])
        out.append(f"**{r[key]:.3f}**" if r[key] >= best else f"{r[key]:.3f}")
    return " / ".join(out)


def structure_section(result: dict) -> str:
    """The markdown section of the review that also merges and splits (``--structure``)."""
    from hume.core.reporting import counted

    lines = [
        f"`{result['command']}` (x86_64 CPU, 2 cores, no GPU). The reviewer of the table above,"
        " who also regroups the classes (`regroup`: classes sharing a human class merged, a"
        " group holding several human classes split into that many). ACC of the refit, the"
        " moves and merges alone, and (d) k-means seeded with the reviewed rows at the K the"
        " review asks for (a split class cut by k-means first), at 1 / 2 / 5 %:",
        "",
        "| dataset | asked | refit | moves and merges alone | (d) k-means | refit s |",
        "|---|---|---|---|---|---|",
    ]
    for row in result["rows"]:
        b = [row["budgets"][str(x)] for x in BUDGETS]
        asked = f"{counted(b[0]['merged'], 'merge')}, {counted(b[0]['split'], 'split')}"
        seconds = [r["refit_s"] for r in b if r["refit_s"] is not None]
        spent = f"{min(seconds):.0f}–{max(seconds):.0f}" if seconds else "(kept)"
        lines.append(
            f"| {row['dataset']} | {asked} | {_cells(b, 'refit')} | {_cells(b, 'moves')}"
            f" | {_cells(b, 'kmeans')} | {spent} |"
        )
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--structure", action="store_true", help="the reviewer merges and splits")
    ap.add_argument("--split-pairs", type=int, default=0, help="pairs of classes to split")
    ap.add_argument("--cache", default=str(CACHE))
    ap.add_argument("--json", default=None, help="default: bench/review_loop[_structure].json")
    ap.add_argument("--results", default=None, help="write the section into this RESULTS.md")
    args = ap.parse_args(argv)
    only = [o for o in args.only.split(",") if o] or None
    # exactly the datasets named (a family's name in --only would bring every member)
    data = [d for d in suite(Path(args.cache), only) if only is None or d["name"] in only]
    rows = []
    for d in data:
        row = run_dataset(d, args.seeds, Path(args.cache), args.structure)
        if args.split_pairs and d["k"] > 2:
            row["split"] = split_check(d, Path(args.cache), args.seeds, args.split_pairs)
        rows.append(row)
    result = {"command": "python " + " ".join(sys.argv), "rows": rows}
    default = "bench/review_loop_structure.json" if args.structure else "bench/review_loop.json"
    Path(args.json or default).write_text(json.dumps(result, indent=1))
    if args.results:
        from search_speed import write_section

        if args.structure:
            write_section(args.results, "review-structure", structure_section(result))
        else:
            write_section(args.results, "review-loop", section(result))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
