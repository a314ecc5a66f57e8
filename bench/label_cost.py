"""The cost of `hume label`'s choice of K and φ1 against one search, and whether the fast scan
chooses what the scan before it (`--k-scan screen-all`) chooses.

For each dataset of the development suite (views from bench/.suite-cache, imported with `hume
import` into a temporary workspace; the two views the suite searches, φ1 auto over both), one
after another through the command, each in a subprocess of one thread:

- `hume search --k 2:20 --phi1 auto` (what `hume label` runs on its stores; the fast scan);
- the same with `--k-scan screen-all` (the earlier fast scan: every K and φ1 screened);
- `hume search --k <chosen> --views <chosen order>`: one search with the chosen φ1;
- on digits also `hume search --k 5:15` and `--k 10` with the first view as φ1 (the K-range ratio).

Process CPU time (user + system of the children, `resource.getrusage`) and wall time of each; the
chosen K and φ1 of both scans, and where they differ the criteria of both choices. Results are
kept per dataset in the JSON, so that datasets can be measured in separate runs.

    python bench/label_cost.py --only lfw,digits-5 --json bench/label_cost.json
    python bench/label_cost.py --section-only --results bench/RESULTS.md
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from search_speed import write_section  # noqa: E402

CACHE = Path(__file__).resolve().parent / ".suite-cache"
K_RANGE = "2:20"
#: one thread per command: the CPU time is then the work, not threads spinning on a shared machine
ONE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}


def timed(args: list[str], root: Path, run: str) -> dict:
    """CPU (children's user + system) and wall seconds of ``hume ARGS`` run to completion; read
    back from ``<root>/timings.json`` when that run was timed to its end before (``--work``)."""
    kept = root / "timings.json"
    timings = json.loads(kept.read_text()) if kept.is_file() else {}
    if run in timings and (root / "runs" / run / "config.json").is_file():
        return dict(timings[run])
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t = time.perf_counter()
    subprocess.run(
        [sys.executable, "-m", "hume", *args],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **ONE_THREAD},
    )
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    timings[run] = {"cpu_s": round(cpu, 1), "wall_s": round(time.perf_counter() - t, 1)}
    kept.write_text(json.dumps(timings, indent=1))
    return dict(timings[run])


def choice_of(root: Path, run: str) -> dict:
    """What a choice chose, how many candidates it screened and searched in full, and every
    candidate's criteria (full and screen) by run name."""
    choice = json.loads((root / "runs" / run / "choice.json").read_text())
    rows = {
        c["run"]: {
            "k": c["k"],
            "phi1": c["phi1"],
            "full": c.get("criterion") if c["searched"] == "full" else None,
            "screen": (c.get("screen") or {}).get("criterion"),
        }
        for c in choice["candidates"]
    }
    return {
        "k": choice["k"],
        "phi1": choice["phi1"],
        "full": sum(c["searched"] == "full" for c in choice["candidates"]),
        "screens": sum(1 for c in choice["candidates"] if "screen" in c),
        "candidates": rows,
    }


def measure(
    d: dict,
    seeds: int,
    work: str | None,
    stages: list[str],
    keep,
    range_views: str = "",
    all_views: bool = False,
) -> dict:
    """The commands of one dataset, in the order of ``stages`` (fast, one, range, screen-all);
    ``keep(row)`` is called after each, so that a stage cut short leaves the others."""
    from suite import _import, _search_views

    views = list(d["views"]) if all_views else _search_views(d)
    label = f"{d['name']} ({len(views)} views)" if all_views else d["name"]
    out: dict = {"dataset": label, "n": len(d["y"]), "true_k": d["k"], "views": views}
    with tempfile.TemporaryDirectory() as scratch:
        tmp = (
            str(Path(work) / (d["name"] + ("-all-views" if all_views else ""))) if work else scratch
        )
        root = Path(tmp)
        if not (root / "timings.json").is_file():
            _import(d, root)
        common = ["--dataset", d["name"], "--root", tmp, "--device", "cpu", "--seeds", str(seeds)]
        # HUME needs K ≤ the width of φ1: the planted views have 16 dims
        widest = min(20, *(d["views"][v].shape[1] for v in views))
        out["k_range"] = K_RANGE if widest >= 20 else f"2:{widest}"
        choice = ["search", "--views", ",".join(views), "--k", out["k_range"], "--phi1", "auto"]
        for stage in stages:
            if stage in ("fast", "screen-all"):
                name, run = stage.replace("-", "_"), f"choice-{stage.replace('-', '_')}"
                out[name] = timed([*choice, "--k-scan", stage, "--run", run, *common], root, run)
                out[name].update(choice_of(root, run))
                print(f"{d['name']} {name}: {out[name]['cpu_s']} s CPU, K={out[name]['k']} "
                      f"φ1 {out[name]['phi1']}", flush=True)  # fmt: skip
            elif stage == "one":
                chosen = out["fast"]
                order = [chosen["phi1"], *[v for v in views if v != chosen["phi1"]]]
                run = f"one-{order[0]}-{chosen['k']}"
                one = ["search", "--views", ",".join(order), "--k", str(chosen["k"]), "--run", run]
                out["one"] = timed([*one, *common], root, run)
            elif stage == "range":  # the K range of the step commands, one φ1
                out["range_views"] = range_views or ",".join(views)
                given = ["search", "--views", out["range_views"]]
                out["k10"] = timed([*given, "--k", "10", "--run", "k10", *common], root, "k10")
                out["k5_15"] = timed(
                    [*given, "--k", "5:15", "--run", "k5-15", *common], root, "k5-15"
                )
                out["k5_15"].update(choice_of(root, "k5-15"))
                out["k5_15"]["ratio_cpu"] = round(out["k5_15"]["cpu_s"] / out["k10"]["cpu_s"], 2)
            for name in ("fast", "screen_all"):
                if name in out and "one" in out:
                    out[name]["ratio_cpu"] = round(out[name]["cpu_s"] / out["one"]["cpu_s"], 2)
                    out[name]["ratio_wall"] = round(out[name]["wall_s"] / out["one"]["wall_s"], 2)
            if "fast" in out and "screen_all" in out:
                out["same"] = (out["fast"]["k"], out["fast"]["phi1"]) == (
                    out["screen_all"]["k"],
                    out["screen_all"]["phi1"],
                )
            keep(out)
    return out


def section(out: dict) -> str:
    rows = out["datasets"]
    lines = [
        "## The cost of `hume label`",
        "",
        f"Machine: {out['machine']}. Command: `{out['command']}` ({out['seeds']} seeds; each "
        "command in a subprocess of one thread, one after another on a machine shared with other "
        "jobs, so wall times are long and CPU times are the measure; CPU time is the process's "
        "user + system time). `hume label`'s choice is `hume search --k 2:20 --phi1 auto` on the "
        "stores `hume label` embeds (here the suite's views, imported): the fast scan climbs K "
        "with the first view as φ1 until the criterion has fallen behind, screens the other at "
        "the best K (and around it when it comes close), searches one or two candidates in full "
        "(docs/algorithm.md §10.7). It is compared with one `hume search --k <chosen K>` with the "
        "chosen φ1, and with the scan before this version (`--k-scan screen-all`: every K and "
        "φ1 screened, §10.6). Screens + in full: the candidates screened and searched in full.",
        "",
        "| dataset | N | views | fast: K, φ1 | screens + in full | CPU | wall | × one search (CPU) "
        "| screen-all: K, φ1 | screens + in full | CPU | × one search (CPU) | one search: CPU, "
        "wall | same choice |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        f, s, o = r.get("fast"), r.get("screen_all"), r.get("one")
        if not f:
            continue
        cells = [
            r["dataset"] + (f" (K {r['k_range']})" if r.get("k_range", K_RANGE) != K_RANGE else ""),
            str(r["n"]),
            ",".join(r["views"]),
            f"{f['k']}, {f['phi1']}",
            f"{f['screens']} + {f['full']}",
            f"{f['cpu_s']:.0f} s",
            f"{f['wall_s']:.0f} s",
            f"**{f['ratio_cpu']:.2f}**" if "ratio_cpu" in f else "–",
        ]
        if s:
            cells += [
                f"{s['k']}, {s['phi1']}",
                f"{s['screens']} + {s['full']}",
                f"{s['cpu_s']:.0f} s",
                f"{s['ratio_cpu']:.2f}" if "ratio_cpu" in s else "–",
            ]
        else:
            cells += ["not run", "–", "–", "–"]
        cells.append(f"{o['cpu_s']:.0f} s, {o['wall_s']:.0f} s" if o else "not run")
        cells.append(("yes" if r["same"] else "**no**") if "same" in r else "–")
        lines.append("| " + " | ".join(cells) + " |")
    differ = [r for r in rows if r.get("same") is False]
    lines.append("")
    for r in differ:
        f, s = r["fast"], r["screen_all"]
        both = {**s["candidates"], **{k: v for k, v in f["candidates"].items() if v["full"]}}
        picked = [c for c in both.values() if (c["k"], c["phi1"]) in
                  {(f["k"], f["phi1"]), (s["k"], s["phi1"])}]  # fmt: skip
        shown = "; ".join(
            f"K={c['k']} φ1 {c['phi1']}: full {c['full']}, screen {c['screen']}" for c in picked
        )
        lines.append(f"- {r['dataset']} differs: {shown}.")
    for r in rows:
        if "k5_15" in r:
            lines.append(
                f"- {r['dataset']}, the K range of `hume search` (`--views "
                f"{r.get('range_views', ','.join(r['views']))}`): `--k 5:15` "
                f"{r['k5_15']['cpu_s']:.0f} s CPU against {r['k10']['cpu_s']:.0f} s for `--k 10`: "
                f"**{r['k5_15']['ratio_cpu']:.2f}×** (K={r['k5_15']['k']}, "
                f"{r['k5_15']['screens']} screens, {r['k5_15']['full']} in full)."
            )
    lines += [f"- {note}" for note in out.get("notes", [])]
    return "\n".join(lines)


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--only", default="lfw,digits-5,digits-imbalanced,digits,shapes")
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--cache", default=str(CACHE))
    ap.add_argument("--json", default="bench/label_cost.json")
    ap.add_argument("--results", default=None)
    ap.add_argument(
        "--work", default=None, help="keep the workspaces here; a run timed there is read back"
    )
    ap.add_argument(
        "--stages",
        default="fast,one,screen-all",
        help="what to run per dataset, in order: fast, one, range (--k 5:15 against --k 10), "
        "screen-all",
    )
    ap.add_argument(
        "--range-views", default="", help="views of the range stage (default: the suite's)"
    )
    ap.add_argument(
        "--all-views", action="store_true", help="every view of the dataset (three), not the two"
    )
    ap.add_argument("--section-only", action="store_true", help="the section from --json, no run")
    args = ap.parse_args(argv)
    path = Path(args.json)
    out = json.loads(path.read_text()) if path.is_file() else {"datasets": []}
    if not args.section_only:
        import torch
        from suite_data import suite

        out.update(
            machine=f"{platform.machine()}, {os.cpu_count()} cores (shared), no GPU, torch "
            f"{torch.__version__}",
            seeds=args.seeds,
            command="python bench/label_cost.py",
        )
        only = [n for n in args.only.split(",") if n]

        def keep(row: dict) -> None:
            # stages measured in an earlier run of the same dataset are kept beside these
            earlier = [r for r in out["datasets"] if r["dataset"] == row["dataset"]]
            out["datasets"] = [r for r in out["datasets"] if r["dataset"] != row["dataset"]]
            out["datasets"].append({**(earlier[0] if earlier else {}), **row})
            path.write_text(json.dumps(out, indent=1))

        for d in suite(Path(args.cache), only):
            measure(
                d, args.seeds, args.work, args.stages.split(","), keep, args.range_views,
                args.all_views,
            )  # fmt: skip
    if args.results:
        write_section(args.results, "label_cost", section(out))


if __name__ == "__main__":
    main()
