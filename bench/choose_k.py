"""Label-free choices of K, of the class-size prior and of φ1, measured (issue: when K, the class
sizes and the best φ1 are unknown).

For every dataset and every K of a range it runs the search (the estimator, as `hume search`
does) and records the label-free signals of hume.search.selection.choice_signals (stability across seeds, mean
score, balanced score) and, for the reader only, the accuracy against the true labels, which no
choice ever reads. Datasets: planted Gaussian mixtures in two views (linearly separable in both,
the views at very different scales), balanced and with class sizes in ratio 10:1, K ∈ {3, 5, 8,
12}; scikit-learn's digits (hog φ1, pixels φ2) and its imbalanced subsample (sizes 175 … 18).

    python bench/choose_k.py                   # everything; writes bench/choose_k.json
    python bench/choose_k.py --only digits     # one dataset family
    python bench/choose_k.py --results bench/RESULTS.md   # also its section of RESULTS.md
    python bench/choose_k.py --cost --results bench/RESULTS.md   # first the cost of `--k 5:15`
    python bench/choose_k.py --orders --results bench/RESULTS.md # which view is φ1 (its section)

``--cost`` times the command itself on digits (stores embedded in a temporary root): `hume search
--k 5:15` (11 K, 10 seeds each) beside a single `hume search --k 10`, and the per-K overhead
beyond the searches themselves (the command's wall time minus the time each candidate's search
took, from its config.json, per K).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from search_speed import write_section  # noqa: E402

from hume.evaluate.metrics import cluster_accuracy, normalized_mutual_info  # noqa: E402
from hume.search import HUME, TURTLE  # noqa: E402
from hume.search.search_runs.sweep import sweep  # noqa: E402
from hume.search.selection.choice_signals import choose, signals  # noqa: E402
from hume.search.vocabulary import UNEVEN_WEIGHTS

DIGITS_IMBALANCED = [175, 135, 105, 81, 63, 49, 38, 29, 23, 18]


def planted(
    k: int,
    n: int = 1200,
    ratio: float = 1.0,
    seed: int = 0,
    dims: tuple[tuple[int, float], ...] = ((24, 10.0), (16, 0.1)),
    spread: float = 3.0,
):
    """Two views of a K-class mixture (``dims``: each view's width and scale; by default
    separable in both, at scales 10 and 0.1; ``spread``: distance of the class centres in noise
    units); class sizes in geometric progression from ``ratio`` to 1 (``ratio`` 1: balanced)."""
    rng = np.random.default_rng(seed)
    weights = np.geomspace(ratio, 1, k)
    y = rng.choice(k, size=n, p=weights / weights.sum())
    views = []
    for d, scale in dims:
        centres = rng.normal(size=(k, d)) * spread
        views.append(((centres[y] + rng.normal(size=(n, d))) * scale).astype(np.float32))
    return views, y


def digits(imbalanced: bool = False):
    """hog and pixels of scikit-learn's digits, as `hume embed` computes them (no store)."""
    from hume.embed.backbones import create_backbone
    from hume.embed.datasets import get_dataset

    data = get_dataset("digits", "all", ".")
    views = []
    for name in ("hog", "pixels"):
        bb = create_backbone(name, image_size=8)
        views.append(np.stack([bb.transform(data.dataset[i][0]).numpy() for i in range(len(data))]))
    y = data.labels
    if imbalanced:
        rng = np.random.default_rng(0)
        idx = np.concatenate(
            [
                rng.choice(np.flatnonzero(y == c), s, replace=False)
                for c, s in enumerate(DIGITS_IMBALANCED)
            ]
        )
        views, y = [v[idx] for v in views], y[idx]
    return views, y


def fit(method: str, views, k: int, seeds: int, **settings):
    cls = HUME if method == "hume" else TURTLE
    return cls(k, n_seeds=seeds, device="cpu", **settings).fit(views)


def fit_uneven(method: str, views, k: int, seeds: int, term: str = "entropy"):
    """As `hume search --class-sizes uneven` searches: the weights of the size term ``term``
    tried with a few seeds each (hume/search/search_runs/sweep.py), the chosen one searched with ``seeds``."""
    cls = HUME if method == "hume" else TURTLE
    model = cls(k, n_seeds=seeds, device="cpu", size_term=term)
    cfg, trials = sweep(model, views, grid="class_sizes")
    return model.set_params(config=cfg).fit(views), trials


def scan(
    method: str, views, y, ks, seeds: int, uneven: bool, term: str = "entropy"
) -> tuple[list[dict], int]:
    """One row per K: the signals of the uniform prior (entropy, weight 10, the cut consensus)
    and, with ``uneven``, of `--class-sizes uneven` (the weight of the size term ``term`` its
    trial seeds chose, the linkage consensus); the accuracy and NMI of each, for the reader. And
    the K that `hume search --k` chooses from them (hume.search.selection.choice_signals.choose)."""
    rows, chosen_each = [], []
    for k in ks:
        t = time.perf_counter()
        tried = []
        models = [fit(method, views, k, seeds)]
        if uneven:
            model, trials = fit_uneven(method, views, k, seeds, term)
            models.append(model)
        for model in models:
            hyper = model.resolved_config().to_dict()
            setting = {"k": k, **{key: hyper[key] for key in ("size_term", "entropy_weight")}}
            cand = signals(model, setting)
            cand.setting["acc"] = cluster_accuracy(y, model.labels_)
            cand.setting["nmi"] = normalized_mutual_info(y, model.labels_)
            tried.append(cand)
        chosen = tried[-1]
        chosen_each.append(chosen)
        row = {
            "k": k,
            "uniform": tried[0].as_dict(),
            "chosen": chosen.as_dict(),
            "seconds": round(time.perf_counter() - t, 1),
        }
        if uneven:
            row["trials"] = [
                {key: tr[key] for key in ("entropy_weight", "stability", "balanced_score")}
                for tr in trials
            ]
        rows.append(row)
        c = row["chosen"]
        print(
            f"  K={k:2d} criterion {c['criterion']:.3f} consensus {c['consensus_stability']:.3f} "
            f"stab {c['stability']:.3f} "
            f"score {c['score']:.3f} bal {c['balanced_score']:.3f} {c['size_term']} "
            f"λ {c['entropy_weight']:g} ACC {c['acc']:.3f} classes used {c['used_classes']} "
            f"(uniform: consensus {row['uniform']['consensus_stability']:.3f} ACC "
            f"{row['uniform']['acc']:.3f}) {row['seconds']:.0f}s",
            flush=True,
        )
    return rows, choose(chosen_each).setting["k"]


def weak_planted(k: int, n: int = 1200, seed: int = 0):
    """A strong view (24 dims, classes well apart) and a weak one (48 dims, barely separable)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    strong = (rng.normal(size=(k, 24)) * 3)[y] + rng.normal(size=(n, 24))
    weak = (rng.normal(size=(k, 48)) * 0.4)[y] + rng.normal(size=(n, 48))
    return [strong.astype(np.float32), weak.astype(np.float32)], y


def orders(seeds: int) -> list[dict]:
    """Each view as φ1 (HUME) on digits and on planted data with one weak view: stability (the
    rule of --phi1 auto), the mean score on φ2, the mean score on every view, and ACC."""
    from hume.search.selection.label_free_score import label_free_scores

    sets = {
        "digits (hog, pixels)": (*digits(), 10),
        "planted K=5, one weak view": (*weak_planted(5), 5),
        "planted K=8, one weak view": (*weak_planted(8, seed=2), 8),
    }
    rows = []
    for name, (views, y, k) in sets.items():
        for first in (0, 1):
            ordered = [views[first], views[1 - first]]
            model = fit("hume", ordered, k, seeds)
            every = [torch.as_tensor(v) for v in ordered]
            rows.append(
                {
                    "problem": name,
                    "phi1": ["first", "second"][first],
                    "stability": signals(model, {}).stability,
                    "score_phi2": float(np.mean(model.scores_)),
                    "score_all_views": float(
                        label_free_scores(every, torch.as_tensor(model.seed_labels_), k).mean()
                    ),
                    "acc": cluster_accuracy(y, model.labels_),
                }
            )
            print(rows[-1], flush=True)
    return rows


def orders_section(rows: list[dict], machine: str, seeds: int, path: str) -> None:
    lines = [
        "## Which view is φ1, without labels (`hume search --phi1 auto`)",
        "",
        f"Machine: {machine}; HUME, {seeds} seeds per order. Command: `python bench/choose_k.py "
        "--orders --results bench/RESULTS.md`. The first view of each problem is the strong "
        "one (hog on digits). `--phi1 auto` keeps the most stable order; the mean score on φ2 "
        "and on every view are shown for comparison (ACC for the reader only).",
        "",
        "| problem | φ1 | stability | score on φ2 | score on every view | ACC |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['problem']} | {r['phi1']} view | {r['stability']:.3f} | "
            f"{r['score_phi2']:.3f} | {r['score_all_views']:.3f} | {r['acc']:.3f} |"
        )
    write_section(path, "choose_phi1", "\n".join(lines))


def cost(seeds: int = 10) -> dict:
    """Wall time of `hume search --k 5:15` on digits, of one `--k 10`, and the per-K overhead."""
    hume = [sys.executable, "-m", "hume"]
    with tempfile.TemporaryDirectory() as tmp:
        common = ["--dataset", "digits", "--root", tmp]
        for model in ("hog", "pixels"):
            subprocess.run([*hume, "embed", "--model", model, *common], check=True, **QUIET)
        walls = {}
        for run, k in (("one", "10"), ("range", "5:15")):
            t = time.perf_counter()
            subprocess.run(
                [*hume, "search", "--views", "hog,pixels", "--k", k, "--seeds", str(seeds)]
                + ["--run", run, "--device", "cpu", *common],
                check=True,
                **QUIET,
            )
            walls[run] = time.perf_counter() - t
        searched = []
        for cfg in sorted(Path(tmp, "runs").glob("range-k*/config.json")):
            c = json.loads(cfg.read_text())
            span = datetime.fromisoformat(c["finished"]) - datetime.fromisoformat(c["created"])
            searched.append(span.total_seconds())
        one = json.loads(Path(tmp, "runs", "one", "config.json").read_text())
        one_search = (
            datetime.fromisoformat(one["finished"]) - datetime.fromisoformat(one["created"])
        ).total_seconds()
    return {
        "seeds": seeds,
        "range_wall_s": round(walls["range"], 1),
        "range_searches_s": round(sum(searched), 1),
        "n_k": len(searched),
        "per_k_overhead_s": round((walls["range"] - sum(searched)) / len(searched), 2),
        "one_wall_s": round(walls["one"], 1),
        "one_search_s": round(one_search, 1),
    }


QUIET = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


def chosen_k(rows: list[dict], key: str, signal: str, complete: bool = False) -> int:
    """The K with the highest ``signal`` (ties: the smaller K); with ``complete``, among the K
    whose ensemble uses every class (if any does)."""
    pool = [r for r in rows if r[key]["used_classes"] == r["k"]] if complete else []
    return max(pool or rows, key=lambda r: (round(r[key][signal], 9), -r["k"]))["k"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="planted,planted-imbalanced,digits,digits-imbalanced")
    ap.add_argument("--methods", default="hume")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--json", default="bench/choose_k.json")
    ap.add_argument("--results", default=None)
    ap.add_argument(
        "--section",
        default=None,
        help="the RESULTS.md section to write (default: choose_k, or choose_k_<term>)",
    )
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--cost", action="store_true", help="first time `hume search --k 5:15`")
    ap.add_argument("--orders", action="store_true", help="only each view as φ1")
    ap.add_argument("--span", type=int, default=3, help="planted: K from true K − span to + span")
    ap.add_argument(
        "--size-term",
        default="entropy",
        choices=sorted(UNEVEN_WEIGHTS),
        help="the class-size term whose weights uneven problems try (its own section)",
    )
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    machine = f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}"
    if args.orders:
        rows = orders(args.seeds)
        if args.results:
            orders_section(rows, machine, args.seeds, args.results)
        return
    measured_cost = cost() if args.cost else None
    if measured_cost:
        print(f"cost: {measured_cost}", flush=True)
    problems = []
    for family in [f for f in args.only.split(",") if f]:
        if family.startswith("planted"):
            ratio = 10.0 if family.endswith("imbalanced") else 1.0
            for true_k in (3, 5, 8, 12):
                views, y = planted(true_k, ratio=ratio, seed=true_k)
                ks = list(range(max(2, true_k - args.span), true_k + args.span + 1))
                problems.append((f"{family} K={true_k}", views, y, true_k, ks, ratio > 1))
        else:
            imb = family.endswith("imbalanced")
            views, y = digits(imbalanced=imb)
            problems.append((family, views, y, 10, list(range(5, 16)), imb))
    out = {
        "machine": machine,
        "seeds": args.seeds,
        "size_term": args.size_term,
        "span": args.span,
        "ensemble": "cut (uniform prior), linkage (uneven classes)",
        "command": "python bench/choose_k.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "cost": measured_cost,
        "problems": [],
    }
    for method in args.methods.split(","):
        for name, views, y, true_k, ks, uneven in problems:
            print(f"{method} {name} (true K {true_k})", flush=True)
            rows, by_rule = scan(method, views, y, ks, args.seeds, uneven, args.size_term)
            entry = {
                "method": method,
                "problem": name,
                "true_k": true_k,
                "uneven": uneven,
                "rows": rows,
                "chosen_by": {
                    "rule": by_rule,
                    "former_rule": chosen_k(rows, "chosen", "stability", complete=True),
                    **{
                        sig: chosen_k(rows, "chosen", sig)
                        for sig in ("consensus_stability", "stability", "score", "balanced_score")
                    },
                },
            }
            out["problems"].append(entry)
            print(f"  chosen K: {entry['chosen_by']}", flush=True)
            Path(args.json).write_text(json.dumps(out, indent=1))
    if args.results:
        results_section(out, args.results, args.section)


def results_section(out: dict, path: str, section: str | None = None) -> None:
    """The bench's section of RESULTS.md (between its markers), replacing an earlier one."""
    term = out.get("size_term", "entropy")
    # measured with the present criterion (the mean of consensus stability and stability)
    criterion = any("consensus_stability" in p["chosen_by"] for p in out["problems"])
    weights = ", ".join(f"{w:g}" for w in UNEVEN_WEIGHTS[term])
    command = (
        f"`{out['command']}`."
        if "command" in out
        else "`python bench/choose_k.py --cost --results bench/RESULTS.md` (six seeds per K; the "
        "cost measured with ten)."
        if term == "entropy"
        else f"`python bench/choose_k.py --only {','.join(sorted({p['problem'].split(' ')[0] for p in out['problems']}))} "
        f"--span {out.get('span', 3)} --size-term {term} --json bench/choose_k_{term}.json "
        "--results bench/RESULTS.md`."
    )
    lines = [
        "## Choosing K without labels"
        + ("" if term == "entropy" else f", uneven classes with the {term} size term")
        + (
            ", the criterion" if criterion else ", consensus ensembles" if "ensemble" in out else ""
        ),
        "",
        f"Machine: {out['machine']}; {out['seeds']} seeds per K. Command: {command} "
        f"Ensemble: {out.get('ensemble', 'the vote (measured before `--ensemble` existed)')}.",
        "",
        "**K chosen** is what `hume search --k` chooses: the K of the highest criterion, the "
        "mean of the consensus stability (the agreement of the consensuses of two random halves "
        "of the seeds) and the seeds' stability, among those whose ensemble uses all K classes. "
        "*Former rule*: the seeds' stability alone among the same K, what `--k` chose before. "
        "The other columns pick by one signal alone over every K (including labelings with "
        "empty classes). With uneven classes each K is searched as `--class-sizes uneven` "
        f"searches it: the weight of the {term} size term among {weights} with the highest "
        "balanced score of two trial seeds."
        if criterion
        else "**K chosen** is what `hume search --k` chose then: the most stable K among those "
        "whose ensemble uses all K classes. The other columns pick by one signal alone over "
        "every K (stability including labelings with empty classes, the mean label-free score, "
        "the balanced score). With uneven classes each K is searched with the weight of the "
        f"{term} size term that the balanced score chose among {weights}.",
        "",
    ]
    if criterion:
        lines += [
            "| method | problem | true K | **K chosen** | ACC at it | former rule | by "
            "consensus stability alone | by stability alone | by score | by balanced score |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        signals_shown = ("former_rule", "consensus_stability", "stability", "score")
    else:
        lines += [
            "| method | problem | true K | **K chosen** | ACC at it | by stability alone | by "
            "score | by balanced score |",
            "|---|---|---|---|---|---|---|---|",
        ]
        signals_shown = ("stability", "score")
    for p in out["problems"]:
        by = p["chosen_by"]
        acc = next(r["chosen"]["acc"] for r in p["rows"] if r["k"] == by["rule"])
        lines.append(
            f"| {p['method']} | {p['problem']} | {p['true_k']} | **{by['rule']}** | {acc:.3f} | "
            + " | ".join(str(by[sig]) for sig in signals_shown)
            + f" | {by['balanced_score']} |"
        )
    uneven = [p for p in out["problems"] if p["uneven"]]
    if uneven:
        lines += [
            "",
            f"Uneven classes at the true K: the weight of the {term} term chosen without labels "
            "against the uniform prior (entropy, weight 10), ACC of each ensemble and the "
            "classes it uses (for the reader only):",
            "",
            "| problem | true K | weight chosen | ACC | classes used | ACC, uniform prior |",
            "|---|---|---|---|---|---|",
        ]
        for p in uneven:
            r = next(r for r in p["rows"] if r["k"] == p["true_k"])
            lines.append(
                f"| {p['problem']} | {p['true_k']} | {r['chosen']['entropy_weight']:g} | "
                f"{r['chosen']['acc']:.3f} | {r['chosen']['used_classes']} | "
                f"{r['uniform']['acc']:.3f} |"
            )
    c = out.get("cost")
    if c:
        lines += [
            "",
            f"Cost (`python bench/choose_k.py --cost`, the command itself, {c['seeds']} seeds per "
            f"K, stores read once): `hume search --views hog,pixels --k 5:15` on digits took "
            f"{c['range_wall_s']:.0f} s for {c['n_k']} K, of which {c['range_searches_s']:.0f} s "
            f"were the searches themselves: {c['per_k_overhead_s']:.1f} s per K beyond them "
            f"(writing each run, its signals, the choice; the stores loaded once). One "
            f"`--k 10` took {c['one_wall_s']:.0f} s ({c['one_search_s']:.0f} s searching).",
        ]
    for p in out["problems"]:
        if not p["problem"].startswith("digits"):
            continue
        lines += [
            "",
            f"{p['problem']} ({p['method']}), every K (ACC and NMI for the reader only):",
            "",
            (
                "| K | criterion | consensus stability "
                if "criterion" in p["rows"][0]["chosen"]
                else "| K "
            )
            + f"| stability | score | balanced score | classes used | {term} weight | ACC | NMI |",
            "|---|---|---|---|---|---|---|---|"
            + ("---|---|" if "criterion" in p["rows"][0]["chosen"] else ""),
        ]
        for r in p["rows"]:
            c = r["chosen"]
            both = (
                f"{c['criterion']:.3f} | {c['consensus_stability']:.3f} | "
                if "criterion" in c
                else ""
            )
            lines.append(
                f"| {r['k']} | {both}{c['stability']:.3f} | {c['score']:.3f} | "
                f"{c['balanced_score']:.3f} | {c['used_classes']} | {c['entropy_weight']:g} | "
                f"{c['acc']:.3f} | {c['nmi']:.3f} |"
            )
    key = section or "choose_k" + ("" if term == "entropy" else f"_{term}")
    write_section(path, key, "\n".join(lines))


if __name__ == "__main__":
    main()
