"""The development suite: every automatic choice of hume measured on datasets with human labels
that can be built offline (bench/suite_data.py), the human labels read by this script alone.

For each dataset the views are imported with `hume import` into a workspace under the cache
folder, and, for HUME and TURTLE with their default settings at the human K (transductive,
``--seeds`` seeds):

- ACC / ARI / NMI of the run's ensemble, of every ensemble kind on the same seeds (cut, linkage,
  vote), of the label-free selected seed, of the best and the mean seed;
- the label-free signals of each ensemble (its agreement with the seeds, its label-free score),
  from which a per-run choice of the ensemble is measured (bench/suite_rules.py);
- on the datasets of uneven classes, HUME with ``--class-sizes uneven`` too;
- for HUME, the K chosen from ``--k 2:20`` (`hume label`'s default range; the fast scan);
- k-means on each view and on their concatenation, and the supervised linear probe (the
  ceiling).

    python bench/suite.py --results bench/RESULTS.md        # everything (30-35 min on 2 cores)
    python bench/suite.py --only digits,lfw --no-k           # some datasets, no K range

Per-seed labelings are kept in the cache (``<cache>/runs/``) so that rules on the seeds can be
measured without searching again (bench/suite_rules.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from search_speed import write_section  # noqa: E402
from suite_data import suite  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".suite-cache"
K_RANGE = "2:20"


def _metrics(y: np.ndarray, labels: np.ndarray) -> dict:
    from hume.core.labelings import adjusted_rand_index
    from hume.evaluate.metrics import cluster_accuracy, normalized_mutual_info

    return {
        "acc": round(float(cluster_accuracy(y, labels)), 4),
        "ari": round(float(adjusted_rand_index(y, labels)), 4),
        "nmi": round(float(normalized_mutual_info(y, labels)), 4),
    }


def _import(d: dict, root: Path) -> None:
    from hume.store.importing import import_features

    folder = root / "arrays"
    folder.mkdir(parents=True, exist_ok=True)
    np.save(folder / f"{d['name']}-y.npy", d["y"])
    for view, x in d["views"].items():
        np.save(folder / f"{d['name']}-{view}.npy", x.astype(np.float32))
        import_features(
            d["name"],
            "all",
            view,
            folder / f"{d['name']}-{view}.npy",
            folder / f"{d['name']}-y.npy",
            root=str(root),
            dtype="float32",
        )


def _search_views(d: dict) -> list[str]:
    """The two views searched: the pretrained one as φ1, then HOG (images), or the two views."""
    views = list(d["views"])
    return views[:2]


def method_rows(d: dict, root: Path, method: str, seeds: int, class_sizes: str = "uniform") -> dict:
    """One method at the human K: every ensemble kind on its seeds, the seeds, the signals."""
    import torch

    from hume.core.labelings import adjusted_rand_index
    from hume.evaluate.baselines import concat_normalised, kmeans_labels
    from hume.search.search_runs.request import SearchRequest
    from hume.search.search_runs.run_lifecycle import run_search
    from hume.search.selection.choice_signals import stability
    from hume.search.selection.consensus import consensus
    from hume.search.selection.ensembling import ensemble
    from hume.search.selection.label_free_score import fold_scores

    run = f"{d['name']}-{method}" + ("-uneven" if class_sizes == "uneven" else "")
    views = _search_views(d)
    t = time.perf_counter()
    run_dir = run_search(
        SearchRequest(
            views=views, dataset=d["name"], k=d["k"], seeds=seeds, method=method, device="cpu",
            run=run, root=str(root), class_sizes=class_sizes,
        )
    ) if not (root / "runs" / run / "ensemble.npz").is_file() else root / "runs" / run  # fmt: skip
    seconds = time.perf_counter() - t
    with np.load(run_dir / "seeds.npz") as z:
        seed_labels, scores = z["labels"], z["scores"]
    with np.load(run_dir / "ensemble.npz") as z:
        run_labels = z["labels"]
    y, k = d["y"], d["k"]
    phi2 = [torch.as_tensor(d["views"][v]) for v in (views[1:] if method == "hume" else views)]
    out: dict = {
        "seconds": round(seconds, 1),
        "ensemble": _metrics(y, run_labels),
        "seeds": [_metrics(y, s) for s in seed_labels],
        "scores": [round(float(s), 5) for s in scores],
    }
    sel = int(np.argmax(scores))
    out["selected_seed"] = {**out["seeds"][sel], "seed": sel}
    config = json.loads((run_dir / "config.json").read_text())
    out["ensemble_chosen"] = config["hyperparameters"].get("ensemble_chosen")
    out["stability"] = round(stability(seed_labels), 4)
    # every candidate labeling of a rule, scored label-free on the same views and folds
    candidates = {
        kind: ensemble(torch.as_tensor(seed_labels), torch.as_tensor(scores), k, kind)[0].numpy()
        for kind in ("cut", "linkage", "vote")
    }
    kept = scores >= np.median(scores)
    candidates["cut-top"] = consensus(torch.as_tensor(seed_labels[kept]), k, "cut", 0).numpy()
    candidates["seed"] = seed_labels[sel]
    # k-means on the concatenated views: the labeling a run must beat to be worth its cost
    both = concat_normalised([torch.as_tensor(x) for x in d["views"].values()])
    candidates["kmeans"] = np.asarray(kmeans_labels(both, both, k, n_init=5, seed=0, device="cpu"))
    stacked = torch.as_tensor(np.stack(list(candidates.values())))
    folds = fold_scores(phi2, stacked, k).double().numpy()  # the score is their mean
    out["kinds"] = {
        kind: {
            **_metrics(y, labels),
            "score": round(float(f.mean()), 5),
            "folds": [round(float(v), 6) for v in f],
            "agreement": round(
                float(np.mean([adjusted_rand_index(x, labels) for x in seed_labels])), 4
            ),
        }
        for (kind, labels), f in zip(candidates.items(), folds)
    }
    np.savez(root / "runs" / run / "suite-kinds.npz", **candidates)
    return out


def k_choice(d: dict, root: Path, seeds: int) -> dict:
    from hume.commands.search_options import parse_k
    from hume.search.k_choice.choosing import choose_search
    from hume.search.search_runs.request import SearchRequest

    t = time.perf_counter()
    req = SearchRequest(
        views=_search_views(d), dataset=d["name"], seeds=seeds, device="cpu", run=f"{d['name']}-k",
        root=str(root),
    )  # fmt: skip
    run_dir = choose_search(req, parse_k(K_RANGE))
    choice = json.loads((run_dir / "choice.json").read_text())
    with np.load(run_dir / "ensemble.npz") as z:
        labels = z["labels"]
    return {
        "k": choice["k"],
        "seconds": round(time.perf_counter() - t, 1),
        "searched_in_full": sum(c["searched"] == "full" for c in choice["candidates"]),
        **_metrics(d["y"], labels),
    }


def baselines(d: dict) -> dict:
    import torch

    from hume.evaluate.baselines import concat_normalised, kmeans_labels, linear_probe

    out: dict = {"kmeans": {}, "probe": {}}
    views = {v: torch.as_tensor(x) for v, x in d["views"].items()}
    for name, x in [*views.items(), ("concat", concat_normalised(list(views.values())))]:
        labels = np.asarray(kmeans_labels(x, x, d["k"], n_init=5, seed=0, device="cpu"))
        out["kmeans"][name] = _metrics(d["y"], labels)
    for name, x in views.items():
        probe = linear_probe(x, d["y"], seed=0)
        out["probe"][name] = _metrics(d["y"][probe.rows], probe.y_pred)
    return out


def run_dataset(d: dict, seeds: int, with_k: bool, cache: str) -> dict:
    import torch

    torch.set_num_threads(1)
    root = Path(cache) / "ws"
    _import(d, root)
    row = {"dataset": d["name"], "kind": d["kind"], "k": d["k"], "n": len(d["y"])}
    row["views"] = {v: int(x.shape[1]) for v, x in d["views"].items()}
    row["searched_views"] = _search_views(d)
    for method in ("hume", "turtle"):
        row[method] = method_rows(d, root, method, seeds)
    if d["uneven"]:  # what a person who knows the classes are uneven gets
        row["hume-uneven"] = method_rows(d, root, "hume", seeds, "uneven")
    if with_k and d["kind"] != "planted":
        row["k_choice"] = k_choice(d, root, seeds)
    row.update(baselines(d))
    print(
        f"{d['name']}: HUME {row['hume']['ensemble']['acc']:.3f} (vote "
        f"{row['hume']['kinds']['vote']['acc']:.3f}, selected seed "
        f"{row['hume']['selected_seed']['acc']:.3f}); TURTLE {row['turtle']['ensemble']['acc']:.3f}; "
        f"best k-means {max(m['acc'] for m in row['kmeans'].values()):.3f}"
        + (f"; K {row['k_choice']['k']}" if "k_choice" in row else ""),
        flush=True,
    )
    return row


def _cost(d: dict) -> float:
    """A dataset's rough cost, to start the costliest first (its rows times its views' widths;
    the K range on real data is most of it): the two workers then end close together."""
    width = sum(x.shape[1] for x in d["views"].values())
    return len(d["y"]) * width * (1 if d["kind"] == "planted" else 10)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--no-k", action="store_true", help="skip the choice of K from a range")
    ap.add_argument("--cache", default=str(CACHE))
    ap.add_argument("--json", default="bench/suite.json")
    ap.add_argument("--results", default=None)
    args = ap.parse_args(argv)
    import torch

    t = time.perf_counter()
    only = [o for o in args.only.split(",") if o] or None
    data = suite(Path(args.cache), only)
    built = time.perf_counter() - t
    order = sorted(range(len(data)), key=lambda i: -_cost(data[i]))
    with ProcessPoolExecutor(args.jobs) as pool:
        rows = dict(
            zip(
                order,
                pool.map(
                    run_dataset,
                    [data[i] for i in order],
                    [args.seeds] * len(data),
                    [not args.no_k] * len(data),
                    [args.cache] * len(data),
                ),
            )
        )
    out = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "command": "python bench/suite.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "seeds": args.seeds,
        "k_range": K_RANGE,
        "seconds": round(time.perf_counter() - t, 1),
        "seconds_building_views": round(built, 1),
        "datasets": [rows[i] for i in range(len(data))],
    }
    Path(args.json).write_text(json.dumps(out, indent=1))
    if args.results:
        from suite_rules import section

        write_section(args.results, "suite", section(out))


if __name__ == "__main__":
    main()
