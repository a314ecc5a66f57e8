"""K chosen from 2:20 with its margin over the runner-up (issue 32): on the development suite's
datasets of 10 classes or more and on generated mixtures of known K, the chosen K, the
runner-up's K, the margin of the criterion and its spread, whether the run calls it a tie, and
whether the human K is within ±1 (of the chosen K; or of either, for a tie). The human labels and
K are read by this script alone.

    python bench/k_margins.py --json bench/k_margins.json --results bench/RESULTS.md
    python bench/k_margins.py --only planted-k12 --json /tmp/k.json
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from search_speed import write_section  # noqa: E402
from suite import CACHE, K_RANGE, _import, _metrics, _search_views  # noqa: E402
from suite_data import planted, suite  # noqa: E402

#: the suite's datasets of 10 classes or more
SUITE = ("digits", "digits-imbalanced", "digits-low-cnn", "fortunes")
#: generated mixtures of known K (balanced; 100 rows per class)
GENERATED = {f"planted-k{k}": k for k in (12, 15, 20)}


def datasets(cache: Path, only: list[str] | None) -> list[dict]:
    names = only or [*SUITE, *GENERATED]
    out = [d for d in suite(cache, [n for n in names if n in SUITE]) if d["name"] in names]
    for name, k in GENERATED.items():
        if name in names:
            out.append(planted(name, k, 1.0, False, seed=k, n=100 * k))
    return out


def k_row(d: dict, root: Path, seeds: int, uneven: bool = False) -> dict:
    from hume.commands.search_options import parse_k
    from hume.search.k_choice.choosing import choose_search
    from hume.search.search_runs.request import SearchRequest

    t = time.perf_counter()
    req = SearchRequest(
        views=_search_views(d), dataset=d["name"], seeds=seeds, device="cpu",
        run=f"{d['name']}-kmargin{'-uneven' if uneven else ''}", root=str(root),
        class_sizes="uneven" if uneven else "uniform",
    )  # fmt: skip
    run_dir = choose_search(req, parse_k(K_RANGE))
    choice = json.loads((run_dir / "choice.json").read_text())
    with np.load(run_dir / "ensemble.npz") as z:
        labels = z["labels"]
    other = choice.get("runner_up", {})
    ks = [choice["k"], other.get("k", choice["k"])] if choice.get("tie") else [choice["k"]]
    return {
        "dataset": d["name"] + (" (--class-sizes uneven)" if uneven else ""),
        "human_k": d["k"],
        "k": choice["k"],
        "runner_up": other.get("k"),
        "margin": choice.get("margin"),
        "margin_spread": choice.get("margin_spread"),
        "tie": choice.get("tie"),
        "within_1": abs(choice["k"] - d["k"]) <= 1,
        "within_1_either": any(abs(k - d["k"]) <= 1 for k in ks),
        "seconds": round(time.perf_counter() - t, 1),
        **_metrics(d["y"], labels),
    }


def section(out: dict) -> str:
    rows = out["rows"]
    lines = [
        "## K with its margin over the runner-up (`bench/k_margins.py`)",
        "",
        f"Machine: {out['machine']}. Command: `{out['command']}` ({out['seconds']:.0f} s; HUME's "
        f"defaults, {out['seeds']} seeds, K from {K_RANGE}, the default scan). A margin within "
        'its spread is a tie, said as "K is a or b: see both" (docs/algorithm.md §10.9).',
        "",
        "| dataset | human K | chosen K | runner-up | margin | spread | tie | within ±1 | ACC | seconds |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        margin = "–" if r["margin"] is None else f"{r['margin']:.3f}"
        spread = "–" if r["margin_spread"] is None else f"{r['margin_spread']:.3f}"
        lines.append(
            f"| {r['dataset']} | {r['human_k']} | {r['k']} | {r['runner_up'] or '–'} | {margin} | "
            f"{spread} | {'yes' if r['tie'] else 'no'} | {'yes' if r['within_1'] else '**no**'} | "
            f"{r['acc']:.3f} | {r['seconds']:.0f} |"
        )
    within = sum(r["within_1"] for r in rows)
    lines += [
        "",
        f"Within ±1 of the human K: {within} of {len(rows)} (of the chosen K).",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--uneven", action="store_true", help="search with --class-sizes uneven")
    ap.add_argument("--cache", default=str(CACHE))
    ap.add_argument("--json", default="bench/k_margins.json")
    ap.add_argument("--results", default=None)
    args = ap.parse_args(argv)
    import torch

    root = Path(args.cache) / "ws"
    # rows of datasets measured in earlier runs (same seeds) are kept, so datasets can be
    # measured one run at a time
    path = Path(args.json)
    earlier = json.loads(path.read_text()) if path.exists() else {}
    kept = (
        {r["dataset"]: r for r in earlier.get("rows", [])}
        if earlier.get("seeds") == args.seeds
        else {}
    )
    for d in datasets(Path(args.cache), [o for o in args.only.split(",") if o] or None):
        _import(d, root)
        row = k_row(d, root, args.seeds, args.uneven)
        kept[row["dataset"]] = row
        print(json.dumps(row), flush=True)
        rows = list(kept.values())
        out = {
            "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
            "command": "python bench/k_margins.py "
            + " ".join(sys.argv[1:] if argv is None else argv),
            "seeds": args.seeds,
            "seconds": round(sum(r["seconds"] for r in rows), 1),
            "rows": rows,
        }
        path.write_text(json.dumps(out, indent=1))
    text = section(out)
    print(text)
    if args.results:
        write_section(Path(args.results), "k-margins", text)


if __name__ == "__main__":
    main()
