"""The cost of choosing K from a range, and whether the fast scan chooses what the exhaustive
scan chooses (`hume search --k A:B --k-scan fast|exhaustive`).

Two parts, in one run:

- **cost**, through the command on scikit-learn's digits (hog φ1, pixels φ2, default seeds, stores
  embedded once in a temporary root), one command after another on a quiet machine: `hume search
  --k 10`, then `--k 5:15` with the fast scan and with the exhaustive one; wall times and their
  ratios to the single K;
- **agreement**, on every problem of the benchmark set (planted mixtures in two views, balanced
  and with classes in ratio 10:1 searched with `--class-sizes uneven`, K ∈ {3, 5, 8, 12}, each
  from K − 3 to K + 3; digits and its imbalanced subsample, from 5 to 15; digits also from 2 to
  20, the range `hume label` uses by default): the views imported with `hume import`, both scans
  run by the library's `choose_search` (what the command calls), the chosen K of each, how many
  candidates the fast scan searched in full, the times; ACC for the reader only.

    python bench/k_scan.py --results bench/RESULTS.md            # everything
    python bench/k_scan.py --only digits --jobs 1                # one family, one process
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
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from choose_k import digits, planted  # noqa: E402
from search_speed import write_section  # noqa: E402

QUIET = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}


def cost(seeds: int) -> dict:
    """Wall times of `hume search` on digits: one K, and 5:15 fast and exhaustive."""
    hume = [sys.executable, "-m", "hume"]
    with tempfile.TemporaryDirectory() as tmp:
        common = ["--dataset", "digits", "--root", tmp, "--device", "cpu"]
        for model in ("hog", "pixels"):
            subprocess.run([*hume, "embed", "--model", model, *common], check=True, **QUIET)
        out: dict = {"seeds": seeds}
        for run, k, scan in (
            ("one", "10", "fast"),
            ("fast", "5:15", "fast"),
            ("ex", "5:15", "exhaustive"),
        ):
            t = time.perf_counter()
            subprocess.run(
                [*hume, "search", "--views", "hog,pixels", "--k", k, "--seeds", str(seeds)]
                + ["--k-scan", scan, "--run", run, *common],
                check=True,
                **QUIET,
            )
            out[f"{run}_wall_s"] = round(time.perf_counter() - t, 1)
            if run != "one":
                choice = json.loads(Path(tmp, "runs", run, "choice.json").read_text())
                out[f"{run}_k"] = choice["k"]
                out[f"{run}_full"] = sum(c["searched"] == "full" for c in choice["candidates"])
        out["fast_ratio"] = round(out["fast_wall_s"] / out["one_wall_s"], 2)
        out["ex_ratio"] = round(out["ex_wall_s"] / out["one_wall_s"], 2)
    return out


def problems(only: list[str]) -> list[tuple[str, list, np.ndarray, int, list[int], bool]]:
    """(name, views, labels, true K, K range, uneven) of every problem of the set."""
    out = []
    for family in only:
        if family.startswith("planted"):
            uneven = family.endswith("imbalanced")
            for true_k in (3, 5, 8, 12):
                views, y = planted(true_k, ratio=10.0 if uneven else 1.0, seed=true_k)
                ks = list(range(max(2, true_k - 3), true_k + 4))
                out.append((f"{family} K={true_k}", views, y, true_k, ks, uneven))
        elif family == "digits-2-20":
            views, y = digits()
            out.append(("digits, K from 2 to 20", views, y, 10, list(range(2, 21)), False))
        else:
            uneven = family.endswith("imbalanced")
            views, y = digits(imbalanced=uneven)
            out.append((family, views, y, 10, list(range(5, 16)), uneven))
    return out


def agreement(problem: tuple, seeds: int) -> dict:
    """Both scans of one problem (views imported into a temporary root), their choices."""
    import torch

    torch.set_num_threads(1)
    from hume.evaluate.metrics import cluster_accuracy
    from hume.search.k_choice.choosing import choose_search
    from hume.search.search_runs.request import SearchRequest
    from hume.store.importing import import_features

    name, views, y, true_k, ks, uneven = problem
    row: dict = {"problem": name, "true_k": true_k, "ks": f"{ks[0]}:{ks[-1]}", "uneven": uneven}
    with tempfile.TemporaryDirectory() as tmp:
        for i, v in enumerate(views):
            np.save(Path(tmp, f"v{i}.npy"), v.astype(np.float32))
            import_features("p", "all", f"v{i}", Path(tmp, f"v{i}.npy"), root=tmp)
        for scan in ("exhaustive", "fast"):
            req = SearchRequest(
                views=["v0", "v1"],
                dataset="p",
                seeds=seeds,
                device="cpu",
                run=scan,
                root=tmp,
                class_sizes="uneven" if uneven else "uniform",
            )
            t = time.perf_counter()
            run_dir = choose_search(req, ks, scan=scan)
            choice = json.loads((run_dir / "choice.json").read_text())
            with np.load(run_dir / "ensemble.npz") as ens:
                acc = cluster_accuracy(y, ens["labels"])
            row[scan] = {
                "k": choice["k"],
                "seconds": round(time.perf_counter() - t, 1),
                "full": sum(c["searched"] == "full" for c in choice["candidates"]),
                "acc": round(float(acc), 4),
            }
    row["same"] = row["fast"]["k"] == row["exhaustive"]["k"]
    print(
        f"{name}: exhaustive K={row['exhaustive']['k']} ({row['exhaustive']['seconds']:.0f} s), "
        f"fast K={row['fast']['k']} ({row['fast']['seconds']:.0f} s, {row['fast']['full']} in "
        f"full){'' if row['same'] else '  DIFFERENT'}",
        flush=True,
    )
    return row


def section(out: dict) -> str:
    from hume.search.k_choice.screens import SCREEN_SEEDS, SCREEN_SHARE

    c = out.get("cost")
    lines = [
        "## Choosing K from a range: the fast scan against the exhaustive one",
        "",
        f"Machine: {out['machine']}. Command: `{out['command']}`. The fast scan (`--k-scan fast`, "
        f"the default) screens every K with {SCREEN_SEEDS} seeds of {SCREEN_SHARE:.0%} of the "
        "iterations (no label-free "
        "scores; with `--class-sizes uneven` every weight, the best kept), then searches in "
        "full, best screen first, at least two candidates that use all their K classes and "
        "then every candidate whose screen criterion, raised by the largest rise from screen to "
        "full criterion seen so far plus 0.02 (0.1 with `--class-sizes uneven`), reaches the "
        "best full criterion; K is chosen among those by the criterion, as the exhaustive scan "
        "(`--k-scan exhaustive`: every K searched in full) chooses among all "
        "(docs/algorithm.md §10.6).",
        "",
    ]
    if c:
        lines += [
            f"Cost, through the command, digits (hog, pixels), {c['seeds']} seeds, one command "
            "after another:",
            "",
            "| command | wall time | × one `--k 10` | K chosen | searched in full |",
            "|---|---|---|---|---|",
            f"| `hume search --k 10` | {c['one_wall_s']:.0f} s | 1 | 10 | 1 |",
            f"| `hume search --k 5:15` (fast) | {c['fast_wall_s']:.0f} s | **{c['fast_ratio']:.2f}** "
            f"| {c['fast_k']} | {c['fast_full']} of 11 |",
            f"| `hume search --k 5:15 --k-scan exhaustive` | {c['ex_wall_s']:.0f} s | "
            f"{c['ex_ratio']:.2f} | {c['ex_k']} | 11 of 11 |",
            "",
        ]
    rows = out["problems"]
    same = sum(r["same"] for r in rows)
    lines += [
        f"Agreement on the benchmark set ({out['seeds']} seeds; the library's `choose_search`, "
        f"one process per problem, one thread each): the fast scan chose the exhaustive scan's "
        f"K on **{same} of {len(rows)}** problems.",
        "",
        "| problem | K range | true K | K, exhaustive | K, fast | searched in full (fast) | "
        "time, exhaustive | time, fast | ACC at the chosen K (not used) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        n = int(r["ks"].split(":")[1]) - int(r["ks"].split(":")[0]) + 1
        lines.append(
            f"| {r['problem']}{' (`--class-sizes uneven`)' if r['uneven'] else ''} | {r['ks']} | "
            f"{r['true_k']} | {r['exhaustive']['k']} | {r['fast']['k']}"
            f"{'' if r['same'] else ' (differs)'} | {r['fast']['full']} of {n} | "
            f"{r['exhaustive']['seconds']:.0f} s | {r['fast']['seconds']:.0f} s | "
            f"{r['fast']['acc']:.3f} |"
        )
    lines += [
        "",
        "The views of each problem are imported with `hume import` (float16 stores, as by "
        "default), so that both scans search exactly what the command would. Where the chosen K "
        "is not the planted one (the 10:1 mixtures of 3 and 12 classes: 2 and 10), both scans "
        "chose it alike: it is the criterion's choice on these stores, not the scan's "
        "(`bench/choose_k.py`, which searches the same mixtures from float32 arrays, found 3 "
        "and 12). With `--class-sizes uneven` the fast scan saves less (8 of 11 K searched in "
        "full on imbalanced digits): the full runs choose their own weight, which makes the "
        "screens a looser guide, and the wider margin keeps their choice.",
    ]
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument(
        "--only", default="planted,planted-imbalanced,digits,digits-imbalanced,digits-2-20"
    )
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--jobs", type=int, default=min(2, os.cpu_count() or 1))
    ap.add_argument("--no-cost", action="store_true", help="skip the timing of the command")
    ap.add_argument("--json", default="bench/k_scan.json")
    ap.add_argument("--results", default=None)
    ap.add_argument(
        "--section-only", action="store_true", help="rewrite the section from --json, no run"
    )
    args = ap.parse_args(argv)
    if args.section_only:
        write_section(args.results, "k_scan", section(json.loads(Path(args.json).read_text())))
        return
    import torch

    out = {
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, torch {torch.__version__}",
        "seeds": args.seeds,
        "command": "python bench/k_scan.py " + " ".join(sys.argv[1:] if argv is None else argv),
        "cost": None if args.no_cost else cost(args.seeds),
        "problems": [],
    }
    if out["cost"]:
        print(f"cost: {out['cost']}", flush=True)
    todo = problems([f for f in args.only.split(",") if f])
    # the longest first, so that the processes finish together; the table keeps the set's order
    order = sorted(range(len(todo)), key=lambda i: -len(todo[i][4]) * (2 if todo[i][5] else 1))
    with ProcessPoolExecutor(args.jobs) as pool:
        done = dict(
            zip(order, pool.map(agreement, [todo[i] for i in order], [args.seeds] * len(todo)))
        )
    out["problems"] = [done[i] for i in range(len(todo))]
    Path(args.json).write_text(json.dumps(out, indent=1))
    if args.results:
        write_section(args.results, "k_scan", section(out))


if __name__ == "__main__":
    main()
