"""The screen's criterion at every K of a range (issue 32): what the K choice sees, on datasets
where it chose too few classes. Each K is screened as the fast scan screens it (HUME's defaults,
6 seeds, two fifths of the iterations; hume.search.k_choice.screens), every K, no climb. No
label is read: the human K is only named beside the table.

    python bench/k_curve.py --only digits-imbalanced,digits-low-cnn --k 2:14
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from search_speed import write_section  # noqa: E402
from suite import CACHE, _search_views  # noqa: E402
from suite_data import suite  # noqa: E402


def curve(d: dict, ks: range) -> dict[str, dict]:
    """{K: the screen's criterion, its two stabilities and spread} of one dataset, each K
    screened by the fast scan's own :func:`hume.search.k_choice.screens.screen`."""
    import torch

    from hume.search.k_choice.candidates import Planned
    from hume.search.k_choice.screens import SCREEN_SEEDS, screen, screen_config
    from hume.search.methods import get_method, get_method_config
    from hume.search.search_runs.request import SearchRequest

    names = _search_views(d)
    views = [torch.as_tensor(np.asarray(d["views"][v])).float() for v in names]
    cfg = screen_config(get_method_config("hume").preset(None))
    out = {}
    for k in ks:
        start = time.process_time()
        req = SearchRequest(views=names, dataset=d["name"], k=k, device="cpu")
        plan = Planned(run=f"{d['name']}-k{k:02d}", k=k, order=tuple(names), index=0)
        kept = screen(req, get_method("hume"), cfg, plan, views, torch.device("cpu"), SCREEN_SEEDS)
        stability, consensus = kept["stability"], kept["consensus_stability"]
        out[str(k)] = {
            "criterion": round((stability + consensus) / 2, 4),
            "stability": round(stability, 4),
            "consensus_stability": round(consensus, 4),
            "spread": round(kept["spread"], 4),
            "used_classes": sum(size > 0 for size in kept["class_sizes"]),
            "cpu_s": round(time.process_time() - start, 1),
        }
        print(d["name"], k, out[str(k)], flush=True)
    return out


def section(result: dict) -> str:
    lines = [
        "## The screen's criterion at every K (`bench/k_curve.py`)",
        "",
        f"`{result['command']}` (x86_64 CPU, 2 cores, no GPU; HUME's defaults, each K screened"
        " as the fast scan screens it: 6 seeds, two fifths of the iterations). Bold: the highest;"
        " the human K is marked †.",
        "",
    ]
    for name, row in result["rows"].items():
        ks = list(row["curve"])
        best = max(ks, key=lambda k: row["curve"][k]["criterion"])
        cells = []
        for k in ks:
            c = row["curve"][k]
            text = f"{c['criterion']:.3f} ± {c['spread']:.3f}"
            cells.append(f"**{text}**" if k == best else text)
        lines += [
            f"{name} (human K = {row['human_k']}):",
            "",
            "| K | "
            + " | ".join(f"{k}{' †' if int(k) == row['human_k'] else ''}" for k in ks)
            + " |",
            "|---|" + "---|" * len(ks),
            "| criterion | " + " | ".join(cells) + " |",
            "",
        ]
    return "\n".join(lines).rstrip()


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="digits-imbalanced,digits-low-cnn")
    ap.add_argument("--k", default="2:14")
    ap.add_argument("--cache", default=str(CACHE))
    ap.add_argument("--json", default="bench/k_curve.json")
    ap.add_argument("--results", default=None, help="write the section into this RESULTS.md")
    args = ap.parse_args(argv)
    lo, hi = (int(x) for x in args.k.split(":"))
    only = [n for n in args.only.split(",") if n]
    path = Path(args.json)
    result = json.loads(path.read_text()) if path.is_file() else {"rows": {}}
    result["command"] = f"python bench/k_curve.py --only {args.only} --k {args.k}"
    for d in suite(Path(args.cache), only):
        if d["name"] in only:
            result["rows"][d["name"]] = {"human_k": d["k"], "curve": curve(d, range(lo, hi + 1))}
            path.write_text(json.dumps(result, indent=1))
    if args.results:
        write_section(args.results, "k-curve", section(result))


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
