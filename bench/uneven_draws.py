"""Class-size modes and ensembles over several draws of seeds, against k-means over as many
draws (issue: when K, the class sizes and the best φ1 are unknown).

One search of 10 seeds is one draw: its ensemble depends on the base seed (``--random-state``),
and on imbalanced data the seeds disagree a lot, so one draw says little. For each dataset this
runs, for base seeds 0 … D−1, what `hume search --k 10` does with each class-size mode (the
uniform prior; `--class-sizes uneven` with the entropy term; with `--size-term log`): the
weight sweep on seeds of its own, then the search with the weight it chose; the seeds of each
search are then ensembled both ways, by the papers' vote and by the mode's consensus (`--ensemble
cut` for the uniform prior, `linkage` for uneven classes). Besides ACC (for the reader only)
every ensemble gets the two label-free signals the default was chosen by: its agreement with the
seeds (mean ARI) and its label-free score. k-means (as `hume evaluate` runs it: 5 starts, on
each view and on the L2-normalised views concatenated) gets the same draws of its seed.

    python bench/uneven_draws.py --results bench/RESULTS.md
    python bench/uneven_draws.py --method turtle --only digits --modes uniform --results bench/RESULTS.md
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
from hume.evaluate.metrics import adjusted_rand_index, cluster_accuracy  # noqa: E402
from hume.search import get_method  # noqa: E402
from hume.search.search_runs.sweep import sweep  # noqa: E402
from hume.search.selection.ensembling import ensemble  # noqa: E402
from hume.search.selection.label_free_score import label_free_scores

#: name → (--class-sizes, --size-term)
MODES = {
    "uniform": ("uniform", "entropy"),
    "uneven": ("uneven", "entropy"),
    "uneven-log": ("uneven", "log"),
}


def search_draw(method: str, views, k: int, seeds: int, random_state: int, mode: str):
    """The fitted model (its ensemble as `hume search --k K --class-sizes ... --size-term ...
    --random-state R` computes it) and the weight used."""
    class_sizes, term = MODES[mode]
    model = get_method(method)(
        k, n_seeds=seeds, device="cpu", random_state=random_state, size_term=term
    )
    weight = model.resolved_config().entropy_weight
    if class_sizes == "uneven":
        cfg, _ = sweep(model, views, grid="class_sizes")
        model.set_params(config=cfg)
        weight = cfg.entropy_weight
    return model.fit(views), weight


def ensembles(
    model, views, k: int, random_state: int, mode: str
) -> dict[str, tuple[np.ndarray, float, float]]:
    """Per ensemble (the vote and the mode's consensus: cut for the uniform prior, linkage for
    uneven classes): labels, agreement with the seeds (mean ARI) and label-free score on φ2
    (HUME) or every view (TURTLE), from the same seeds."""
    seeds = torch.as_tensor(model.seed_labels_)
    phi2 = views[1:] if model.method == "hume" else views
    phi2 = [torch.as_tensor(v, dtype=torch.float32) for v in phi2]
    out = {}
    for kind in ("vote", "cut" if MODES[mode][0] == "uniform" else "linkage"):
        labels = ensemble(seeds, torch.as_tensor(model.scores_), k, kind, random_state)[0].numpy()
        agreement = float(np.mean([adjusted_rand_index(s, labels) for s in model.seed_labels_]))
        score = float(label_free_scores(phi2, torch.as_tensor(labels)[None], k)[0])
        out[kind] = (labels, agreement, score)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--method", default="hume", choices=("hume", "turtle"))
    ap.add_argument("--only", default="digits-imbalanced,digits")
    ap.add_argument("--modes", default=",".join(MODES))
    ap.add_argument("--draws", type=int, default=5)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--json", default=None, help="default: bench/uneven_draws[_turtle].json")
    ap.add_argument("--results", default=None)
    ap.add_argument("--threads", type=int, default=min(2, os.cpu_count() or 1))
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    out = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "method": args.method,
        "modes": args.modes,
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
        for mode in args.modes.split(","):
            rows: dict[str, dict] = {}
            t = time.perf_counter()
            for d in range(args.draws):
                model, weight = search_draw(args.method, views, 10, args.seeds, d, mode)
                for kind, (labels, agreement, score) in ensembles(
                    model, views, 10, d, mode
                ).items():
                    row = rows.setdefault(
                        kind,
                        {
                            "method": f"{args.method.upper()}, {mode}, {kind}",
                            "acc": [],
                            "agreement": [],
                            "score": [],
                            "weights": [],
                        },
                    )
                    row["acc"].append(cluster_accuracy(y, labels))
                    row["agreement"].append(agreement)
                    row["score"].append(score)
                    row["weights"].append(weight)
            for row in rows.values():
                row["seconds"] = round(time.perf_counter() - t, 1)
                entry["rows"].append(row)
                print(
                    f"{name} {row['method']}: {np.round(row['acc'], 3).tolist()} "
                    f"agreement {np.mean(row['agreement']):.3f} score {np.mean(row['score']):.3f} "
                    f"λ {row['weights']}",
                    flush=True,
                )
        out["datasets"].append(entry)
        json_path = (
            args.json or f"bench/uneven_draws{'' if args.method == 'hume' else '_turtle'}.json"
        )
        Path(json_path).write_text(json.dumps(out, indent=1))
    if args.results:
        results_section(out, args.results)


def results_section(out: dict, path: str) -> None:
    method = out["method"]
    lines = [
        f"## Class-size modes and ensembles over several draws of seeds ({method.upper()})",
        "",
        f"Machine: {out['machine']}. Command: `python bench/uneven_draws.py --method {method} "
        f"--only {','.join(e['dataset'] for e in out['datasets'])} "
        + (
            f"--modes {out['modes']} "
            if out.get("modes", ",".join(MODES)) != ",".join(MODES)
            else ""
        )
        + "--results bench/RESULTS.md`. "
        f"`hume search --method {method} --views hog,pixels --k 10` with {out['seeds']} "
        f"seeds and `--random-state` 0 … {out['draws'] - 1} (one draw each), per class-size mode "
        "(the weight chosen by the balanced score in each draw), the same seeds ensembled by the "
        "papers' vote and by the mode's consensus (cut: uniform; linkage: uneven); k-means as "
        f"`hume evaluate` runs it, with seeds 0 … {out['draws'] - 1}. Agreement (mean ARI of the "
        "ensemble with its seeds) and score (label-free) are the signals the default was chosen "
        "by; ACC in %, for the reader only.",
        "",
        "| dataset | method | mean ACC | min | max | draw 0 | agreement | score | weights |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for entry in out["datasets"]:
        for row in entry["rows"]:
            acc = 100 * np.asarray(row["acc"])
            weights = ", ".join(f"{w:g}" for w in row.get("weights", [])) or "–"
            signals = [
                f"{np.mean(row[key]):.3f}" if key in row else "–" for key in ("agreement", "score")
            ]
            lines.append(
                f"| {entry['dataset']} | {row['method']} | {acc.mean():.1f} | {acc.min():.1f} | "
                f"{acc.max():.1f} | {acc[0]:.1f} | {' | '.join(signals)} | {weights} |"
            )
    write_section(
        path, "uneven_draws" + ("" if method == "hume" else f"_{method}"), "\n".join(lines)
    )


if __name__ == "__main__":
    main()
