"""The label-free score on a bounded sample of rows against the score on every row, on the
datasets of the development suite (bench/suite_data.py): do the choices the score makes stay
the same?

For each dataset, HUME and TURTLE search ``--seeds`` seeds at the human K with their default
settings (in process, on the CPU); their seeds, the two ensembles ``--ensemble auto`` weighs
(cut or linkage, and the vote) and, on the datasets of uneven classes, the seeds of every
class-size weight that ``--class-sizes uneven`` tries, are scored label-free on every row with
sklearn's 100 L-BFGS iterations (the reference), then on samples of ``r · K`` rows (``r`` rows
per class on average) with fewer iterations. Per variant, over every dataset:

- the Spearman correlation of the seeds' scores (and balanced scores) with the reference;
- whether the selected seed (the highest score), the ensemble ``auto`` keeps, and the class-size
  weight (the highest mean balanced score) are the same as the reference's;
- the scoring time, as a share of the reference's.

The K and the order of the views are chosen by the seeds' stability, which reads no score; the
score reaches them only through the ensemble, so an identical ``auto`` choice leaves them as they
are. No ground-truth label is read by the scoring; this script reads none at all.

    python bench/score_bound.py                        # every dataset; results in --out are kept
    python bench/score_bound.py --only digits --methods hume
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from suite_data import planted, suite  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".suite-cache"
#: (rows per class, L-BFGS iterations) tried against the reference (every row, 100 iterations)
VARIANTS = [(r, it) for r in (25, 50, 100, 200) for it in (100, 25)]
#: a planted problem of 50 000 rows, where the default bound (10 000 rows) applies
LARGE = "planted-50k"


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    from scipy.stats import spearmanr

    if np.ptp(a) == 0 or np.ptp(b) == 0:
        return float("nan")  # no ranking to compare (every seed scored the same)
    return float(spearmanr(a, b).statistic)


def _rounded(x: float) -> float | None:
    return None if np.isnan(x) else round(x, 4)


def _score(views, labelings, k, rows, iters, seed=0):
    import torch

    from hume.search.selection.label_free_score import label_free_scores

    t = time.perf_counter()
    both = label_free_scores(
        views, torch.as_tensor(labelings), k, seed=seed, max_iter=iters, max_rows=rows, both=True
    )
    return both.double().numpy(), time.perf_counter() - t


def _labelings(d: dict, method: str, seeds: int, entropy_weight=None, ensemble=None, offset=0):
    import torch

    from hume.search.methods import get_method

    names = list(d["views"])[:2]
    views = [torch.as_tensor(d["views"][v], dtype=torch.float32) for v in names]
    model = get_method(method)(
        n_classes=d["k"],
        n_seeds=seeds,
        device="cpu",
        random_state=offset,
        entropy_weight=entropy_weight,
        ensemble=ensemble,
    ).fit(views, view_names=names)
    score_views = views[1:] if method == "hume" else views
    return model, score_views


def _made(d: dict, method: str, seeds: int) -> dict:
    """The labelings scored for one dataset: the seeds, the two ensembles ``auto`` weighs, the
    class-size trials; kept in the cache so that a rerun only scores."""
    import torch

    from hume.search.selection.ensembling import ensemble
    from hume.search.vocabulary import UNEVEN_WEIGHTS

    path = CACHE / "score_bound" / f"{method}-{d['name']}-{seeds}.npz"
    if path.is_file():
        with np.load(path) as z:
            return {key: z[key] for key in z.files}
    k = d["k"]
    model, _ = _labelings(d, method, seeds)
    labels = model.seed_labels_
    pool = "linkage" if d.get("uneven", False) else "cut"
    scores = torch.as_tensor(model.scores_)
    out = {
        "labels": labels,
        "made": np.stack(
            [
                ensemble(torch.as_tensor(labels), scores, k, kind)[0].numpy()
                for kind in (pool, "vote")
            ]
        ),
    }
    if d.get("uneven", False):
        out["trials"] = np.stack(
            [
                _labelings(d, method, 2, w, "linkage", offset=10_000)[0].seed_labels_
                for w in UNEVEN_WEIGHTS["entropy"]
            ]
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **out)
    return out


def dataset_rows(d: dict, method: str, seeds: int) -> dict:
    """Every variant's scores of one dataset's seeds, ensembles and class-size trials."""
    import torch

    k, n = d["k"], len(d["y"])
    names = list(d["views"])[:2]
    every = [torch.as_tensor(d["views"][v], dtype=torch.float32) for v in names]
    views = every[1:] if method == "hume" else every
    made = _made(d, method, seeds)
    labels, trials = made["labels"], list(made.get("trials", []))
    pool = "linkage" if d.get("uneven", False) else "cut"
    out: dict = {"n": n, "k": k, "variants": {}}
    ref = None
    # the reference, the score's own noise (other folds), fewer iterations, then samples
    plan = [("every row", None, 100, 0), ("every row, other folds", None, 100, 1)]
    plan += [("every row, 25 it", None, 25, 0)]
    plan += [(f"{r}/class, {it} it", r * k, it, 0) for r, it in VARIANTS]
    plan += [("10 000 rows, 25 it", 10_000, 25, 0), ("10 000 rows, 100 it", 10_000, 100, 0)]
    for name, rows, iters, fold_seed in plan:
        if rows is not None and rows >= n:
            continue
        s, secs = _score(views, labels, k, rows, iters, fold_seed)
        e, _ = _score(views, made["made"], k, rows, iters, fold_seed)
        w = [_score(views, t, k, rows, iters, fold_seed)[0][:, 1].mean() for t in trials]
        got = {
            "scores": s[:, 0],
            "balanced": s[:, 1],
            "seed": int(np.argmax(s[:, 0])),
            "ensemble": (pool, "vote")[int(round(e[1, 0], 9) > round(e[0, 0], 9))],
            "weight": int(np.argmax(w)) if w else None,
            "seconds": secs,
        }
        if ref is None:
            ref = got
            out["reference"] = {
                "seed": got["seed"],
                "ensemble": got["ensemble"],
                "weight": got["weight"],
                "seconds": round(secs, 2),
            }
            continue
        out["variants"][name] = {
            "rows": rows,
            "spearman": _rounded(_spearman(ref["scores"], got["scores"])),
            "spearman_balanced": _rounded(_spearman(ref["balanced"], got["balanced"])),
            "same_seed": got["seed"] == ref["seed"],
            # a different seed of equal reference score is not a different choice
            "seed_loss": round(float(ref["scores"][ref["seed"]] - ref["scores"][got["seed"]]), 5),
            "same_ensemble": got["ensemble"] == ref["ensemble"],
            "same_weight": None if got["weight"] is None else got["weight"] == ref["weight"],
            "time_share": round(secs / max(ref["seconds"], 1e-9), 3),
        }
    return out


def _mean(values: list[float], how=np.nanmean) -> float | None:
    kept = [v for v in values if not np.isnan(v)]
    return round(float(how(kept)), 3) if kept else None


def summary(results: dict) -> dict:
    """Per variant, over every dataset and method: mean and min Spearman, choices kept."""
    table: dict = {}
    for per_method in results.values():
        for row in per_method.values():
            for name, v in row["variants"].items():
                t = table.setdefault(
                    name, {"sp": [], "spb": [], "seed": [], "ens": [], "w": [], "loss": []}
                )
                t["loss"].append(v["seed_loss"])
                t["sp"].append(np.nan if v["spearman"] is None else v["spearman"])
                t["spb"].append(
                    np.nan if v["spearman_balanced"] is None else v["spearman_balanced"]
                )
                t["seed"].append(v["same_seed"] or v["seed_loss"] == 0)
                t["ens"].append(v["same_ensemble"])
                if v["same_weight"] is not None:
                    t["w"].append(v["same_weight"])
    return {
        name: {
            "cases": len(t["sp"]),
            "spearman_mean": _mean(t["sp"]),
            "spearman_min": _mean(t["sp"], np.min),
            "spearman_balanced_mean": _mean(t["spb"]),
            "ties": int(np.isnan(t["sp"]).sum()),
            "same_seed": f"{sum(t['seed'])}/{len(t['seed'])}",
            "same_ensemble": f"{sum(t['ens'])}/{len(t['ens'])}",
            "same_weight": f"{sum(t['w'])}/{len(t['w'])}",
            "seed_loss_max": round(float(np.max(t["loss"])), 4),
        }
        for name, t in table.items()
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", help="comma-separated dataset names of the suite")
    ap.add_argument("--methods", default="hume,turtle")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--out", type=Path, default=Path(__file__).with_name("score_bound.json"))
    args = ap.parse_args()
    import torch

    torch.manual_seed(0)
    only = args.only.split(",") if args.only else None
    results: dict = json.loads(args.out.read_text())["results"] if args.out.is_file() else {}
    datasets = suite(CACHE, only)
    if only is None or LARGE in only:  # rows enough for the bound to bite at its defaults
        datasets.append(planted(LARGE, 10, 1.0, True, 4, n=50_000))
    for d in datasets:
        for method in args.methods.split(","):
            if d["name"] in results.get(method, {}):
                print(f"{d['name']} {method}: kept from {args.out}", flush=True)
                continue
            t = time.perf_counter()
            row = dataset_rows(d, method, args.seeds)
            results.setdefault(method, {})[d["name"]] = row
            print(f"{d['name']} {method}: {time.perf_counter() - t:.0f} s", flush=True)
            args.out.write_text(json.dumps({"results": results}, indent=1))
    table = summary(results)
    args.out.write_text(json.dumps({"results": results, "summary": table}, indent=1))
    print(
        "| scored on | cases | Spearman with every row, mean (min) | balanced | same selected "
        "seed (largest loss) | same ensemble | same class-size weight |"
    )
    print("|---|---|---|---|---|---|---|")
    for name, t in table.items():
        print(
            f"| {name} | {t['cases']} | {t['spearman_mean']} ({t['spearman_min']}) | "
            f"{t['spearman_balanced_mean']} | {t['same_seed']} ({t['seed_loss_max']}) | "
            f"{t['same_ensemble']} | "
            f"{t['same_weight']} |"
        )


if __name__ == "__main__":
    main()
