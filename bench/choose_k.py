"""Label-free choices of K, of the class-size prior and of φ1, measured (issue: when K, the class
sizes and the best φ1 are unknown).

For every dataset and every K of a range it runs the search (the estimator, as `hume search`
does) and records the label-free signals of hume.search.k_choice (stability across seeds, mean
score, balanced score) and, for the reader only, the accuracy against the true labels, which no
choice ever reads. Datasets: planted Gaussian mixtures in two views (linearly separable in both,
the views at very different scales), balanced and with class sizes in ratio 10:1, K ∈ {3, 5, 8,
12}; scikit-learn's digits (hog φ1, pixels φ2) and its imbalanced subsample (sizes 175 … 18).

    python bench/choose_k.py                   # everything; writes bench/choose_k.json
    python bench/choose_k.py --only digits     # one dataset family
    python bench/choose_k.py --results bench/RESULTS.md   # also its section of RESULTS.md
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

from search_speed import write_section  # noqa: E402

from hume.evaluate.metrics import cluster_accuracy, normalized_mutual_info  # noqa: E402
from hume.search import HUME, TURTLE  # noqa: E402
from hume.search.k_choice import UNEVEN_WEIGHTS, best, choose, signals  # noqa: E402

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
    model = cls(k, n_seeds=seeds, device="cpu", **settings).fit(views)
    score_views = views[1:] if method == "hume" else views
    return model, score_views


def scan(method: str, views, y, ks, seeds: int, uneven: bool) -> tuple[list[dict], int]:
    """One row per K: the signals of the uniform prior and, with ``uneven``, of the entropy
    weight the balanced score chose; the accuracy and NMI of each, for the reader. And the K
    that `hume search --k` chooses from them (hume.search.k_choice.choose)."""
    rows, chosen_each = [], []
    for k in ks:
        t = time.perf_counter()
        tried = []
        for weight in UNEVEN_WEIGHTS if uneven else UNEVEN_WEIGHTS[:1]:
            model, score_views = fit(method, views, k, seeds, entropy_weight=weight)
            cand = signals(model, score_views, {"k": k, "entropy_weight": weight})
            cand.setting["acc"] = cluster_accuracy(y, model.labels_)
            cand.setting["nmi"] = normalized_mutual_info(y, model.labels_)
            tried.append(cand)
        chosen = best(tried, "balanced", "entropy_weight", larger=True)
        chosen_each.append(chosen)
        row = {
            "k": k,
            "uniform": tried[0].as_dict(),
            "chosen": chosen.as_dict(),
            "seconds": round(time.perf_counter() - t, 1),
        }
        rows.append(row)
        c = row["chosen"]
        print(
            f"  K={k:2d} stab {c['stability']:.3f} score {c['score']:.3f} bal "
            f"{c['balanced_score']:.3f} λ {c['entropy_weight']:g} ACC {c['acc']:.3f} "
            f"classes used {c['used_classes']} "
            f"(uniform: stab {row['uniform']['stability']:.3f} ACC {row['uniform']['acc']:.3f})"
            f" {row['seconds']:.0f}s",
            flush=True,
        )
    return rows, choose(chosen_each).setting["k"]


def chosen_k(rows: list[dict], key: str, signal: str) -> int:
    """The K with the highest ``signal`` (ties: the smaller K)."""
    return max(rows, key=lambda r: (round(r[key][signal], 9), -r["k"]))["k"]


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="planted,planted-imbalanced,digits,digits-imbalanced")
    ap.add_argument("--methods", default="hume")
    ap.add_argument("--seeds", type=int, default=6)
    ap.add_argument("--json", default="bench/choose_k.json")
    ap.add_argument("--results", default=None)
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    problems = []
    for family in args.only.split(","):
        if family.startswith("planted"):
            ratio = 10.0 if family.endswith("imbalanced") else 1.0
            for true_k in (3, 5, 8, 12):
                views, y = planted(true_k, ratio=ratio, seed=true_k)
                ks = list(range(max(2, true_k - 3), true_k + 4))
                problems.append((f"{family} K={true_k}", views, y, true_k, ks, ratio > 1))
        else:
            imb = family.endswith("imbalanced")
            views, y = digits(imbalanced=imb)
            problems.append((family, views, y, 10, list(range(5, 16)), imb))
    out = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "seeds": args.seeds,
        "problems": [],
    }
    for method in args.methods.split(","):
        for name, views, y, true_k, ks, uneven in problems:
            print(f"{method} {name} (true K {true_k})", flush=True)
            rows, by_rule = scan(method, views, y, ks, args.seeds, uneven)
            entry = {
                "method": method,
                "problem": name,
                "true_k": true_k,
                "uneven": uneven,
                "rows": rows,
                "chosen_by": {
                    "rule": by_rule,
                    **{
                        sig: chosen_k(rows, "chosen", sig)
                        for sig in ("stability", "score", "balanced_score")
                    },
                },
            }
            out["problems"].append(entry)
            print(f"  chosen K: {entry['chosen_by']}", flush=True)
            Path(args.json).write_text(json.dumps(out, indent=1))
    if args.results:
        results_section(out, args.results)


def results_section(out: dict, path: str) -> None:
    """The bench's section of RESULTS.md (between its markers), replacing an earlier one."""
    lines = [
        "## Choosing K without labels",
        "",
        f"Machine: {out['machine']}; {out['seeds']} seeds per K. Command: "
        "`python bench/choose_k.py --results bench/RESULTS.md`.",
        "",
        "**K chosen** is what `hume search --k` chooses: the most stable K among those whose "
        "ensemble uses all K classes. The other columns pick by one signal alone over every K "
        "(stability including labelings with empty classes, the mean label-free score, the "
        "balanced score). With uneven classes each K is searched with the entropy weight the "
        "balanced score chose among 10, 3, 1, 0.3.",
        "",
        "| method | problem | true K | **K chosen** | ACC at it | by stability alone | by score "
        "| by balanced score |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in out["problems"]:
        by = p["chosen_by"]
        acc = next(r["chosen"]["acc"] for r in p["rows"] if r["k"] == by["rule"])
        lines.append(
            f"| {p['method']} | {p['problem']} | {p['true_k']} | **{by['rule']}** | {acc:.3f} | "
            f"{by['stability']} | {by['score']} | {by['balanced_score']} |"
        )
    for p in out["problems"]:
        if not p["problem"].startswith("digits"):
            continue
        lines += [
            "",
            f"{p['problem']} ({p['method']}), every K (ACC and NMI for the reader only):",
            "",
            "| K | stability | score | balanced score | classes used | entropy weight | ACC | NMI |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for r in p["rows"]:
            c = r["chosen"]
            lines.append(
                f"| {r['k']} | {c['stability']:.3f} | {c['score']:.3f} | "
                f"{c['balanced_score']:.3f} | {c['used_classes']} | {c['entropy_weight']:g} | "
                f"{c['acc']:.3f} | {c['nmi']:.3f} |"
            )
    write_section(path, "choose_k", "\n".join(lines))


if __name__ == "__main__":
    main()
