"""`--class-sizes uneven` over several draws of seeds, against k-means over as many draws
(issue: when K, the class sizes and the best φ1 are unknown).

One search of 10 seeds is one draw: its ensemble depends on the base seed (``--random-state``),
and on imbalanced data the seeds disagree a lot, so one draw says little. For each dataset this
runs, for base seeds 0 … D−1, what `hume search --k 10` does with each class-size mode (the
uniform prior; `--class-sizes uneven` with the entropy term; with `--size-term log`): the
weight sweep on seeds of its own, then the search with the weight it chose. k-means (as `hume
evaluate` runs it: 5 starts, on each view and on the L2-normalised views concatenated) gets the
same draws of its seed. ACC is for the reader only; no choice here reads labels.

    python bench/uneven_draws.py --results bench/RESULTS.md
    python bench/uneven_draws.py --draws 3 --only digits-imbalanced
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

from choose_k import digits  # noqa: E402
from search_speed import write_section  # noqa: E402

from hume.evaluate.baselines import concat_normalised, kmeans_labels  # noqa: E402
from hume.evaluate.metrics import cluster_accuracy  # noqa: E402
from hume.search import HUME  # noqa: E402
from hume.search.sweep import sweep  # noqa: E402

#: (name, --class-sizes, --size-term)
MODES = (
    ("uniform", "uniform", "entropy"),
    ("uneven, entropy term", "uneven", "entropy"),
    ("uneven, log term", "uneven", "log"),
)


def search_draw(views, k: int, seeds: int, random_state: int, class_sizes: str, term: str):
    """The ensemble labels and the weight used, as `hume search --k K --class-sizes ...
    --size-term ... --random-state R` computes them."""
    model = HUME(k, n_seeds=seeds, device="cpu", random_state=random_state, size_term=term)
    weight = model.resolved_config().entropy_weight
    if class_sizes == "uneven":
        cfg, _ = sweep(model, views, grid="class_sizes")
        model.set_params(config=cfg)
        weight = cfg.entropy_weight
    model.fit(views)
    return model.labels_, weight


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="digits-imbalanced,digits")
    ap.add_argument("--draws", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--json", default="bench/uneven_draws.json")
    ap.add_argument("--results", default=None)
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "draws": args.draws,
        "seeds": args.seeds,
        "datasets": [],
    }
    for name in args.only.split(","):
        views, y = digits(imbalanced=name.endswith("imbalanced"))
        entry = {"dataset": name, "n": len(y), "rows": []}
        baselines = {
            "k-means on hog": views[0],
            "k-means on pixels": views[1],
            "k-means on concat(hog,pixels)": concat_normalised(views),
        }
        for label, x in baselines.items():
            accs = [cluster_accuracy(y, kmeans_labels(x, x, 10, seed=d)) for d in range(args.draws)]
            entry["rows"].append({"method": label, "acc": accs})
            print(f"{name} {label}: {np.round(accs, 3).tolist()}", flush=True)
        for label, class_sizes, term in MODES:
            accs, weights, t = [], [], time.perf_counter()
            for d in range(args.draws):
                labels, weight = search_draw(views, 10, args.seeds, d, class_sizes, term)
                accs.append(cluster_accuracy(y, labels))
                weights.append(weight)
            row = {
                "method": f"HUME, {label}",
                "acc": accs,
                "weights": weights,
                "seconds": round(time.perf_counter() - t, 1),
            }
            entry["rows"].append(row)
            print(f"{name} {row['method']}: {np.round(accs, 3).tolist()} λ {weights}", flush=True)
        out["datasets"].append(entry)
        Path(args.json).write_text(json.dumps(out, indent=1))
    if args.results:
        results_section(out, args.results)


def results_section(out: dict, path: str) -> None:
    lines = [
        "## Uneven classes over several draws of seeds",
        "",
        f"Machine: {out['machine']}. Command: `python bench/uneven_draws.py --results "
        f"bench/RESULTS.md`. HUME: `hume search --views hog,pixels --k 10` with {out['seeds']} "
        f"seeds and `--random-state` 0 … {out['draws'] - 1} (one draw each), per class-size mode "
        "(the weight chosen by the balanced score in each draw); k-means as `hume evaluate` runs "
        f"it, with seeds 0 … {out['draws'] - 1}. ACC in %, for the reader only (`hume evaluate` "
        "shows draw 0 of both).",
        "",
        "| dataset | method | mean ACC | min | max | draw 0 | weights chosen |",
        "|---|---|---|---|---|---|---|",
    ]
    for entry in out["datasets"]:
        for row in entry["rows"]:
            acc = 100 * np.asarray(row["acc"])
            weights = ", ".join(f"{w:g}" for w in row.get("weights", [])) or "–"
            lines.append(
                f"| {entry['dataset']} | {row['method']} | {acc.mean():.1f} | {acc.min():.1f} | "
                f"{acc.max():.1f} | {acc[0]:.1f} | {weights} |"
            )
    write_section(path, "uneven_draws", "\n".join(lines))


if __name__ == "__main__":
    main()
