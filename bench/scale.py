"""Scale: wall time and peak memory of every stage of the pipeline as N and K grow.

Planted views (K class centres, each row its centre plus noise in both views, so that the views
agree on a real class structure) of N rows and two views, 1 024 dims (φ1, first: HUME needs
K ≤ d1) and 768 dims, are written to .npy in chunks by a child process, then every stage runs
through the real command, as a subprocess, in a fresh workspace of its own:

- import: `hume import` of each view (true labels as its `--labels`);
- search: `hume search --seeds S --iters I` (default settings otherwise), and within it, from the
  run's ``stages.json`` when the search writes one, the load, the search loop, the label-free
  scoring of the seeds (selection), the consensus/ensemble and the writing;
- evaluate: `hume evaluate` (baselines included unless ``--no-baselines``);
- export: `hume export --format csv,parquet,html` (csv, parquet and the gallery).

Each stage's wall time and peak RSS (ru_maxrss of the command's process, from ``os.wait4``), the
growth factor from one N to the next at the same K, and, for what the budget skips (on the CPU:
N above ``--max-rows-cpu``, K above ``--max-k-cpu``, a stage over ``--timeout`` or the
``--budget-s``), figures extrapolated from the measured per-row costs, marked as such. Last a
projection to ImageNet-1k (N = 1.28 M, K = 1 000, 100 seeds, ``--project-iters`` iterations)
from the per-row, per-seed and per-iteration costs: projected, not measured.

    python bench/scale.py                       # N 10k, 100k, 1.28M x K 10, 100, 1000 (budget)
    python bench/scale.py --acceptance          # K = 100 at N = 10 000 and 100 000; the ratio
    python bench/scale.py --device cuda --n 100000,1280000 --k 1000 --budget-s 480
    python bench/scale.py --n 300,600 --k 3 --dims 16,12 --json /tmp/scale.json   # tiny

Writes ``--json`` (default bench/scale.json, after every configuration) and prints a markdown
section for bench/RESULTS.md. The acceptance measure (issue 26): the whole `hume search` (default
settings, 2 seeds, 5 iterations, K = 100) costs at N = 100 000 at most 3x what it costs at
N = 10 000 on the same machine in one run.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
HUME = [sys.executable, "-m", "hume"]
DATASET, RUN = "scale", "scale"
COMMANDS = ("import", "search", "evaluate", "export")
# stages.json's names (inside `hume search`) as this benchmark names them
PARTS = {
    "load": "search.load",
    "search": "search.loop",
    "score": "search.score",
    "ensemble": "search.ensemble",
    "write": "search.write",
}
SHOWN = ("import", "search", *PARTS.values(), "evaluate", "export")
# stages whose cost grows with K (extrapolation to a K not measured: linear in K)
K_DEPENDENT = {"search.loop", "search.score", "search.ensemble", "evaluate"}
# stages whose cost grows with the seeds (projection), and with the iterations too; the
# ensemble scores two labelings whatever the seeds (its consensus and matching grow little)
PER_SEED = {"search.score"}
# stages that fit the label-free score on a sample of rows: constant in N, each labeling's
# cost ∝ rows · K with rows = min(N, max(SCORE_ROWS, SCORE_ROWS_PER_CLASS · K)) (the defaults)
SAMPLED = {"search.score", "search.ensemble"}
SCORE_ROWS, SCORE_ROWS_PER_CLASS = 10_000, 100
PER_SEED_ITER = {"search.loop"}
IMAGENET = {"N": 1_281_167, "K": 1000, "seeds": 100}


def int_list(text: str) -> list[int]:
    """``10000,1e5,100k,1.28M`` → integers."""
    out = []
    for part in text.split(","):
        part = part.strip().lower()
        scale = {"k": 1_000, "m": 1_000_000}.get(part[-1:], 1)
        out.append(int(round(float(part[:-1] if scale > 1 else part) * scale)))
    return out


# ---------------------------------------------------------------- the planted data (a child)


def generate(out: Path, n: int, k: int, dims: list[int], seed: int, sep: float, dtype: str):
    """v0.npy, v1.npy (rows = sep · centre + unit noise, per view) and y.npy, appended in
    chunks of about 64 MB per view, so that memory does not grow with N."""
    import numpy as np

    def npy(path: Path, shape: tuple, kind):  # an open .npy file, its header written
        fh = open(path, "wb")
        header = {"descr": np.lib.format.dtype_to_descr(np.dtype(kind)), "fortran_order": False}
        np.lib.format.write_array_header_1_0(fh, {**header, "shape": shape})
        return fh

    rng = np.random.default_rng(seed)
    centres = [rng.standard_normal((k, d), dtype=np.float32) * sep for d in dims]
    files = [npy(out / f"v{i}.npy", (n, d), dtype) for i, d in enumerate(dims)]
    labels = npy(out / "y.npy", (n,), np.int64)
    step = max(1, (1 << 24) // max(dims))
    for start in range(0, n, step):
        y = rng.integers(0, k, size=min(n, start + step) - start)
        labels.write(y.astype(np.int64).tobytes())
        for c, fh in zip(centres, files):
            x = c[y] + rng.standard_normal((len(y), c.shape[1]), np.float32)
            fh.write(x.astype(dtype).tobytes())
    for fh in (labels, *files):
        fh.close()


# ---------------------------------------------------------------- running one command


def run_command(cmd: list[str], log: Path, timeout: float) -> dict:
    """Run ``cmd`` (output to ``log``); its wall time and peak RSS (MiB) from os.wait4.

    This process stays small (no numpy, no torch): Linux counts the parent's peak RSS at the
    spawn into the child's ru_maxrss."""
    path = os.pathsep.join(p for p in (str(HERE.parent), os.environ.get("PYTHONPATH")) if p)
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": path}
    with open(log, "ab") as fh:
        fh.write(f"$ {shlex.join(cmd)}\n".encode())
        fh.flush()
        start = time.perf_counter()
        proc = subprocess.Popen(
            cmd, stdout=fh, stderr=subprocess.STDOUT, env=env, start_new_session=True
        )
        timed_out = False
        try:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.perf_counter() - start > timeout and not timed_out:
                    timed_out = True
                    os.killpg(proc.pid, signal.SIGKILL)  # the group this command started
                time.sleep(0.01)
        except BaseException:  # interrupted or terminated: take the command down with us
            os.killpg(proc.pid, signal.SIGKILL)
            os.wait4(proc.pid, 0)
            proc.returncode = -signal.SIGKILL
            raise
        seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    return {
        "seconds": seconds,
        "peak_rss_mb": usage.ru_maxrss / 1024,  # KiB on Linux
        "rc": proc.returncode,
        "timed_out": timed_out,
    }


def _tail(log: Path, n: int = 1500) -> str:
    return log.read_text(errors="replace")[-n:]


# ---------------------------------------------------------------- one configuration


def measure(cfg: dict, args, tmp: Path, deadline: float) -> dict:
    """Generate, import, search, evaluate and export one (N, K); fills ``cfg`` in place."""
    n, k = cfg["N"], cfg["K"]
    work = Path(tempfile.mkdtemp(prefix=f"scale-n{n}-k{k}-", dir=tmp))
    root, log = work / "ws", work / "log.txt"
    stages: list[dict] = []
    cfg.update(status="measured", stages=stages, stages_json=False)

    def left() -> float:
        return min(args.timeout, deadline - time.monotonic())

    def step(name: str, cmd: list[str]) -> dict | None:
        limit = left()
        if limit <= 0:
            cfg.update(status="timed out", reason=f"--budget-s ran out before {name}")
            return None
        r = run_command(cmd, log, limit)
        said = "hume " + shlex.join(cmd[3:]) if cmd[:3] == HUME else "the planted data"
        cfg.setdefault("commands", []).append({"stage": name, "command": said, **r})
        print(f"  N={n} K={k} {name}: {r['seconds']:.1f} s, {r['peak_rss_mb']:.0f} MiB", flush=True)
        if r["timed_out"]:
            cfg.update(status="timed out", reason=f"{name} ran past {limit:.0f} s")
            return None
        if r["rc"] != 0:
            cfg.update(status="failed", reason=f"{name} exited {r['rc']}", log=_tail(log))
            print(f"error: {name} failed:\n{_tail(log)}", file=sys.stderr, flush=True)
            return None
        return r

    try:
        gen = [sys.executable, __file__, "--generate", str(work), "--n", str(n), "--k", str(k)]
        gen += ["--dims", ",".join(map(str, args.dims)), "--separation", str(args.separation)]
        gen += ["--source-dtype", args.source_dtype, "--random-state", str(args.random_state)]
        r = step("generate", gen)
        if r is None:
            return cfg
        cfg["generate_s"] = r["seconds"]
        # import: one command per view, summed (time) and maxed (memory)
        views = [f"view{d}" for d in args.dims]
        if len(set(views)) < len(views):
            views = [f"view{i}-{d}" for i, d in enumerate(args.dims)]
        imported = {"name": "import", "seconds": 0.0, "peak_rss_mb": 0.0, "from": "command"}
        for i, view in enumerate(views):
            cmd = [*HUME, "import", "--dataset", DATASET, "--split", "all", "--model", view]
            cmd += ["--features", str(work / f"v{i}.npy"), "--labels", str(work / "y.npy")]
            cmd += ["--root", str(root), "--format", args.store_format]
            r = step("import", cmd)
            if r is None:
                return cfg
            imported["seconds"] += r["seconds"]
            imported["peak_rss_mb"] = max(imported["peak_rss_mb"], r["peak_rss_mb"])
        for i in range(len(views)):
            (work / f"v{i}.npy").unlink()  # the stores hold the views now
        stages.append(imported)

        cmd = [*HUME, "search", "--views", ",".join(views), "--dataset", DATASET]
        cmd += ["--k", str(k), "--seeds", str(args.seeds), "--iters", str(args.iters)]
        cmd += ["--method", args.method, "--device", args.device, "--run-name", RUN]
        cmd += ["--root", str(root), *shlex.split(args.search_options)]
        r = step("search", cmd)
        if r is None:
            return cfg
        whole = {"name": "search", **_figures(r), "from": "command"}
        stages.append(whole)
        run_dir = root / "runs" / RUN  # the run's directory (docs/data.md §3)
        parts = run_dir / "stages.json"
        if parts.is_file():
            cfg["stages_json"] = True
            for part in json.loads(parts.read_text()).get("stages", []):
                row = {
                    "name": PARTS.get(part["name"], f"search.{part['name']}"),
                    "seconds": float(part["seconds"]),
                    "peak_rss_mb": part.get("peak_rss_mb"),
                    "from": "stages.json",
                }
                if part.get("peak_gpu_mb") is not None:
                    row["peak_gpu_mb"] = part["peak_gpu_mb"]
                stages.append(row)
                # the search resets its high-water mark at every stage (/proc/self/clear_refs),
                # so the kernel's ru_maxrss is the last stage's peak: the whole is their maximum
                if (row["peak_rss_mb"] or 0) > whole["peak_rss_mb"]:
                    whole["peak_rss_mb"] = row["peak_rss_mb"]
                    whole["peak_rss_from"] = "stages.json (the largest of its stages)"
                if row.get("peak_gpu_mb") is not None:
                    whole["peak_gpu_mb"] = max(whole.get("peak_gpu_mb", 0.0), row["peak_gpu_mb"])

        cmd = [*HUME, "evaluate", "--run", RUN, "--root", str(root)]
        cmd += ["--no-baselines"] if args.no_baselines else []
        r = step("evaluate", cmd)
        if r is None:
            return cfg
        stages.append({"name": "evaluate", **_figures(r), "from": "command"})
        try:
            report = json.loads((run_dir / "report.json").read_text())
            cfg["acc"] = report["metrics"]["acc"]
        except (OSError, ValueError, KeyError):
            cfg["acc"] = None

        cmd = [*HUME, "export", "--run", RUN, "--format", ",".join(args.export_formats)]
        cmd += ["--root", str(root)]
        r = step("export", cmd)
        if r is None:
            return cfg
        stages.append({"name": "export", **_figures(r), "from": "command"})
        return cfg
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _figures(r: dict) -> dict:
    return {"seconds": r["seconds"], "peak_rss_mb": r["peak_rss_mb"]}


# ---------------------------------------------------------------- extrapolation


def _stage(cfg: dict, name: str) -> dict | None:
    return next((s for s in cfg.get("stages", []) if s["name"] == name), None)


def _points(configs: list[dict], name: str) -> dict[int, list[tuple[int, float, float | None]]]:
    """{K: [(N, seconds, peak RSS)]} of every measured figure of stage ``name``."""
    out: dict[int, list] = {}
    for c in configs:
        s = _stage(c, name)
        if s is not None and not s.get("extrapolated"):
            out.setdefault(c["K"], []).append((c["N"], s["seconds"], s.get("peak_rss_mb")))
    return {k: sorted(v) for k, v in out.items()}


def _affine(pts: list[tuple[int, float]], n: int) -> tuple[float, str]:
    """Value at ``n``: affine in N through the two largest N measured (a fixed cost plus a
    per-row cost, never negative), proportional to N from a single point."""
    if len(pts) == 1:
        (n1, v1) = pts[0]
        return v1 * n / n1, f"∝ N from N={n1}"
    (n1, v1), (n2, v2) = pts[-2], pts[-1]
    per_row = max(0.0, (v2 - v1) / (n2 - n1))
    fixed = v2 - per_row * n2
    return max(v1 if n >= n1 else 0.0, fixed + per_row * n), f"affine in N through N={n1}, {n2}"


def predict(configs: list[dict], name: str, n: int, k: int, dims: list[int]) -> dict | None:
    """Extrapolated figures of stage ``name`` at (n, k) from the measured ones (None: none).

    Time and memory are affine in N at the nearest K measured (the largest below, else the
    smallest); to another K the K-dependent stages scale linearly in K (the whole search command
    by its K-dependent parts), and their per-row memory by (d1 + d2 + K) / (d1 + d2 + K')."""
    pts = _points(configs, name)
    if not pts:
        return None
    base = k if k in pts else max([b for b in pts if b < k] or [min(pts)])
    seconds, how = _affine([(p[0], p[1]) for p in pts[base]], n)
    if name in SAMPLED:  # bounded in N: the largest N measured, scaled by the sample's rows · K
        largest = max(pts[base])
        seconds = largest[1]

        def rows(n_: int, k_: int) -> int:
            return min(n_, max(SCORE_ROWS, SCORE_ROWS_PER_CLASS * k_))

        factor = rows(n, k) * k / (rows(largest[0], base) * base)
        rss_pts = [(p[0], p[2]) for p in pts[base] if p[2] is not None]
        return {
            "name": name,
            "seconds": seconds * factor,
            "peak_rss_mb": _affine(rss_pts, n)[0] if rss_pts else None,
            "extrapolated": True,
            "basis": f"the score's sample: at N={largest[0]}, K={base} × (rows · K) ratio {factor:g}",
        }
    rss_pts = [(p[0], p[2]) for p in pts[base] if p[2] is not None]
    rss = _affine(rss_pts, n)[0] if rss_pts else None
    how += f" at K={base}"
    if base != k and (name in K_DEPENDENT - SAMPLED or name == "search"):
        factor = k / base
        if name == "search":  # the whole command: only its K-dependent parts scale
            parts = [predict(configs, p, n, base, dims) for p in sorted(K_DEPENDENT) if "." in p]
            known = [p["seconds"] for p in parts if p is not None]
            seconds += (factor - 1) * (sum(known) if known else seconds)
        else:
            seconds *= factor
        how += f", × K/{base} = {factor:g}"
        if rss is not None and len(rss_pts) >= 2:
            (n1, v1), (n2, v2) = rss_pts[-2:]
            per_row = max(0.0, (v2 - v1) / (n2 - n1))
            rss += per_row * n * ((sum(dims) + k) / (sum(dims) + base) - 1)
    return {
        "name": name,
        "seconds": seconds,
        "peak_rss_mb": rss,
        "extrapolated": True,
        "basis": how,
    }


def fill_in(configs: list[dict], dims: list[int]) -> None:
    """Every stage a skipped, failed or timed-out configuration lacks, extrapolated."""
    names = [s for s in SHOWN if _points(configs, s)]
    for c in configs:
        if c["status"] in ("measured", "pending"):
            continue
        c["stages"] = [s for s in c.get("stages", []) if not s.get("extrapolated")]
        have = {s["name"] for s in c["stages"]}
        for name in names:
            if name not in have:
                p = predict(configs, name, c["N"], c["K"], dims)
                if p is not None:
                    c["stages"].append(p)
        c["stages"].sort(key=lambda s: SHOWN.index(s["name"]) if s["name"] in SHOWN else 99)


def total(cfg: dict) -> tuple[float | None, bool]:
    """(seconds of the four commands, whether any is extrapolated)."""
    got = [_stage(cfg, name) for name in COMMANDS]
    if any(s is None for s in got):
        return None, False
    return sum(s["seconds"] for s in got), any(s.get("extrapolated") for s in got)


def growth(configs: list[dict]) -> list[dict]:
    """Time ratio of every stage from one N to the next at the same K."""
    out = []
    for k in sorted({c["K"] for c in configs}):
        row = sorted((c for c in configs if c["K"] == k and c.get("stages")), key=lambda c: c["N"])
        for a, b in zip(row, row[1:]):
            g: dict = {"K": k, "from_N": a["N"], "to_N": b["N"], "extrapolated": False}
            for name in (*SHOWN, "total"):
                if name == "total":
                    (ta, xa), (tb, xb) = total(a), total(b)
                    sa = sb = None
                    if ta and tb:
                        sa, sb = (
                            {"seconds": ta, "extrapolated": xa},
                            {"seconds": tb, "extrapolated": xb},
                        )
                else:
                    sa, sb = _stage(a, name), _stage(b, name)
                if sa and sb and sa["seconds"] > 0:
                    g[name] = sb["seconds"] / sa["seconds"]
                    g["extrapolated"] |= bool(sa.get("extrapolated") or sb.get("extrapolated"))
            out.append(g)
    return out


def project(configs: list[dict], args) -> dict:
    """ImageNet-1k from the per-row, per-seed and per-iteration costs (projected)."""
    n, k, seeds, iters = IMAGENET["N"], IMAGENET["K"], IMAGENET["seeds"], args.project_iters
    s_ratio, i_ratio = seeds / args.seeds, iters / args.iters
    out: dict = {
        "projected": True,
        "N": n,
        "K": k,
        "seeds": seeds,
        "iters": iters,
        "device": args.device_resolved,
        "stages": [],
    }
    base = {}
    for name in SHOWN:
        p = predict(configs, name, n, k, args.dims)
        if p is not None:
            base[name] = p
    parts = [name for name in base if name.startswith("search.")]
    for name, p in base.items():
        if name in PER_SEED_ITER:
            mult, how = (
                s_ratio * i_ratio,
                f"× seeds {seeds}/{args.seeds} × iters {iters}/{args.iters}",
            )
        elif name in PER_SEED:
            mult, how = s_ratio, f"× seeds {seeds}/{args.seeds}"
        elif name == "search" and not parts:
            mult = s_ratio * i_ratio
            how = "no stages.json: the whole command × seeds × iters (an upper bound)"
        else:
            mult, how = 1.0, "per row only"
        row = {
            **p,
            "seconds": p["seconds"] * mult,
            "projected": True,
            "basis": f"{p['basis']}; {how}",
        }
        out["stages"].append(row)
    if parts and "search" in base:  # the whole command: its fixed part plus its scaled parts
        whole = next(s for s in out["stages"] if s["name"] == "search")
        extra = sum(s["seconds"] for s in out["stages"] if s["name"] in parts)
        extra -= sum(base[name]["seconds"] for name in parts)
        whole["seconds"] += extra
        whole["basis"] += "; plus its parts' growth with seeds and iterations"
    got = {s["name"]: s["seconds"] for s in out["stages"]}
    if all(name in got for name in COMMANDS):
        out["total_s"] = sum(got[name] for name in COMMANDS)
    return out


def acceptance(configs: list[dict]) -> dict | None:
    """The issue's measure: `hume search` at N = 100 000 over N = 10 000, K = 100, measured."""
    search = {
        c["N"]: _stage(c, "search")
        for c in configs
        if c["K"] == 100 and c["N"] in (10_000, 100_000)
    }
    a, b = search.get(10_000), search.get(100_000)
    if not a or not b or a.get("extrapolated") or b.get("extrapolated"):
        return None
    ratio = b["seconds"] / a["seconds"]
    return {
        "search_s_10000": a["seconds"],
        "search_s_100000": b["seconds"],
        "ratio": ratio,
        "pass": ratio <= 3.0,
    }


# ---------------------------------------------------------------- the section


def _cell(s: dict | None) -> str:
    if s is None:
        return "–"
    mark = "~" if s.get("extrapolated") else ""
    rss = s.get("peak_rss_mb")
    gpu = s.get("peak_gpu_mb")
    return (
        f"{mark}{s['seconds']:.1f} s"
        + (f" · {mark}{rss:.0f} MiB" if rss is not None else "")
        + (f" · GPU {gpu:.0f} MiB" if gpu is not None else "")
    )


def _hms(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    if seconds < 3 * 86400:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def markdown(out: dict) -> str:
    info, st = out["info"], out["settings"]
    lines = [
        "## Scale: every stage at growing N and K (`bench/scale.py`)",
        "",
        f"Machine: {info['machine']}, {info['cpus']} cores, {info['memory_gb']} GB, "
        f"{'GPU ' + info['cuda'] if info['cuda'] else 'no GPU'}; torch {info['torch']}; "
        f"device {st['device']}; load average at the end {info['load_end']}. "
        f"Command: `{info['command']}`.",
        f"Data: planted, K centres × {st['separation']:g} plus unit noise in each view, views of "
        f"{' and '.join(map(str, st['dims']))} dims (φ1 first), {st['source_dtype']} .npy sources "
        f"imported as {st['store_format']} float16 stores with the true labels. Search: `hume "
        f"search --seeds {st['seeds']} --iters {st['iters']} --method {st['method']}"
        f"{' ' + st['search_options'] if st['search_options'] else ''}`, default settings "
        f"otherwise; evaluate{' without' if st['no_baselines'] else ' with'} baselines; export "
        f"{', '.join(st['export_formats'])}. Each command a process of its own in a fresh "
        "workspace; a cell is its wall time · its peak RSS (ru_maxrss, MiB; for the search the "
        "largest of that and its stages' peaks, the search resetting its high-water mark per "
        "stage) · the GPU's peak allocation where known. The search's parts come from the "
        "run's stages.json"
        + (
            "."
            if any(c.get("stages_json") for c in out["configs"])
            else " (none was written: only the whole command is measured)."
        ),
        "`~`: extrapolated, not measured (from the measured per-row costs: affine in N through "
        "the two largest N at that K; to another K linear in K for the search loop, scoring, "
        "ensemble and evaluate); the reason is in the last column.",
        "",
        "| N | K | import | search (command) | load | loop | score | ensemble | write | "
        "evaluate | export | total | ACC | note |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for c in out["configs"]:
        t, x = total(c)
        tot = "–" if t is None else f"{'~' if x else ''}{t:.1f} s"
        acc = "–" if c.get("acc") is None else f"{c['acc']:.3f}"
        note = "" if c["status"] == "measured" else f"{c['status']}: {c.get('reason', '')}"
        cells = " | ".join(_cell(_stage(c, name)) for name in SHOWN)
        lines.append(f"| {c['N']} | {c['K']} | {cells} | {tot} | {acc} | {note} |")
    if out["growth"]:
        lines += [
            "",
            "Growth (time at this N / time at the previous N, same K):",
            "",
            "| K | N | import | search | loop | score | ensemble | evaluate | export | total |",
            "|---|---|---|---|---|---|---|---|---|---|",
        ]
        for g in out["growth"]:
            names = ("import", "search", "search.loop", "search.score", "search.ensemble")
            cells = [
                "–" if name not in g else f"{'~' if g['extrapolated'] else ''}{g[name]:.2f}×"
                for name in (*names, "evaluate", "export", "total")
            ]
            lines.append(f"| {g['K']} | {g['from_N']} → {g['to_N']} | {' | '.join(cells)} |")
    a = out.get("acceptance")
    if a:
        lines += [
            "",
            f"Acceptance (issue 26): `hume search` at K = 100, {st['seeds']} seeds, "
            f"{st['iters']} iterations: {a['search_s_10000']:.1f} s at N = 10 000, "
            f"{a['search_s_100000']:.1f} s at N = 100 000: **{a['ratio']:.2f}×** "
            f"({'≤' if a['pass'] else '>'} 3: {'pass' if a['pass'] else 'fail'}).",
        ]
    p = out.get("projection")
    if p and p["stages"]:
        parts = "; ".join(f"{s['name']} {_hms(s['seconds'])}" for s in p["stages"])
        peak = max(
            (s for s in p["stages"] if s.get("peak_rss_mb") is not None),
            key=lambda s: s["peak_rss_mb"],
            default=None,
        )
        if peak is not None:
            parts += f"; largest peak RSS {peak['peak_rss_mb'] / 1024:.1f} GiB ({peak['name']})"
        lines += [
            "",
            f"**Projected, not measured** — ImageNet-1k (N = {p['N']}, K = {p['K']}, "
            f"{p['seeds']} seeds, {p['iters']} iterations, on this machine's {p['device']}): "
            + (f"total {_hms(p['total_s'])}; " if "total_s" in p else "")
            + f"{parts}. From the figures at the largest N and K measured: per-row costs "
            "affine in N, the search loop × seeds × iterations, the scoring × seeds; the scoring "
            "and the ensemble bounded in N, × the rows · K of the score's sample (no gain from "
            "batching more seeds counted); memory per row only.",
        ]
    return "\n".join(lines)


# ---------------------------------------------------------------- main


def derive(out: dict, args) -> None:
    """What follows from the measurements: extrapolations, growth, acceptance, projection."""
    fill_in(out["configs"], args.dims)
    out["growth"] = growth(out["configs"])
    out["acceptance"] = acceptance(out["configs"])
    out["projection"] = project(out["configs"], args)


def machine_info() -> dict:
    """What the child processes will see: torch, the GPU, pyarrow and the store backends
    (asked in a child, so that this process stays small)."""
    code = (
        "import json, importlib.util as u, torch\n"
        "cuda = torch.cuda.get_device_name(0) if torch.cuda.is_available() else None\n"
        "print(json.dumps({'torch': torch.__version__, 'cuda': cuda,\n"
        "  'pyarrow': u.find_spec('pyarrow') is not None,\n"
        "  'zarr': u.find_spec('zarr') is not None, 'h5py': u.find_spec('h5py') is not None}))"
    )
    got = json.loads(subprocess.check_output([sys.executable, "-c", code], text=True))
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 1e9
    return {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "cpus": os.cpu_count(),
        "memory_gb": round(mem),
        "python": platform.python_version(),
        **got,
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--n", type=int_list, default="10000,100000,1280000", help="rows")
    ap.add_argument("--k", type=int_list, default="10,100,1000", help="classes")
    ap.add_argument("--dims", type=int_list, default="1024,768", help="view widths, φ1 first")
    ap.add_argument("--seeds", type=int, default=2)
    ap.add_argument("--iters", type=int, default=5)
    ap.add_argument("--method", default="hume", choices=("hume", "turtle"))
    ap.add_argument("--device", default="auto", help="auto, cpu or cuda (hume search's)")
    ap.add_argument("--search-options", default="", help="more `hume search` options, quoted")
    ap.add_argument("--no-baselines", action="store_true", help="hume evaluate --no-baselines")
    ap.add_argument(
        "--acceptance",
        action="store_true",
        help="only the issue's pair: K = 100 at N = 10 000 and 100 000; prints the ratio",
    )
    ap.add_argument("--max-rows-cpu", type=int, default=100_000, help="larger N: extrapolated")
    ap.add_argument("--max-k-cpu", type=int, default=100, help="larger K: extrapolated")
    ap.add_argument("--budget-s", type=float, default=3600.0, help="wall time for everything")
    ap.add_argument("--timeout", type=float, default=3600.0, help="per command, seconds")
    ap.add_argument("--project-iters", type=int, default=150, help="of the ImageNet projection")
    ap.add_argument("--separation", type=float, default=1.0, help="centre scale (noise 1)")
    ap.add_argument("--source-dtype", default="float32", choices=("float32", "float16"))
    ap.add_argument("--store-format", default="auto", choices=("auto", "zarr", "hdf5"))
    ap.add_argument("--random-state", type=int, default=0)
    ap.add_argument("--tmp", default=None, help="where the workspaces go (default: system temp)")
    ap.add_argument("--json", default=str(HERE / "scale.json"))
    ap.add_argument(
        "--section-only",
        action="store_true",
        help="no run: derive again from --json (extrapolations, growth, projection) and print",
    )
    ap.add_argument("--generate", default=None, help=argparse.SUPPRESS)  # the data's child
    args = ap.parse_args(argv)
    if args.section_only:
        out = json.loads(Path(args.json).read_text())
        st = out["settings"]
        args.dims, args.seeds, args.iters = st["dims"], st["seeds"], st["iters"]
        args.device_resolved = st["device"]
        derive(out, args)
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")
        print(markdown(out))
        return 0
    if args.generate:
        (n,), (k,) = args.n, args.k
        generate(
            Path(args.generate),
            n,
            k,
            args.dims,
            args.random_state,
            args.separation,
            args.source_dtype,
        )
        return 0
    if args.acceptance:
        args.n, args.k = [10_000, 100_000], [100]

    def terminated(signum, frame):  # `timeout`, kill: end the running command too
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminated)

    info = machine_info()
    args.device_resolved = args.device
    if args.device == "auto":
        args.device_resolved = "cuda" if info["cuda"] else "cpu"
    on_cpu = not args.device_resolved.startswith("cuda")
    if args.store_format == "auto":
        args.store_format = "zarr" if info["zarr"] or not info["h5py"] else "hdf5"
    args.export_formats = ["csv", *(["parquet"] if info["pyarrow"] else []), "html"]
    command = "python bench/scale.py " + shlex.join(sys.argv[1:] if argv is None else argv)
    out: dict = {
        "info": {**info, "command": command.strip(), "date": datetime.now().isoformat()},
        "settings": {
            "seeds": args.seeds,
            "iters": args.iters,
            "method": args.method,
            "device": args.device_resolved,
            "search_options": args.search_options,
            "no_baselines": args.no_baselines,
            "dims": args.dims,
            "separation": args.separation,
            "source_dtype": args.source_dtype,
            "store_format": args.store_format,
            "export_formats": args.export_formats,
            "budget_s": args.budget_s,
            "timeout_s": args.timeout,
            "max_rows_cpu": args.max_rows_cpu if on_cpu else None,
            "max_k_cpu": args.max_k_cpu if on_cpu else None,
        },
        "units": "seconds: wall clock; peak_rss_mb: ru_maxrss of the command's process, MiB",
        "configs": [],
    }
    configs = out["configs"]
    for k in sorted(args.k):
        for n in sorted(args.n):
            configs.append({"N": n, "K": k, "dims": args.dims, "status": "pending"})
    tmp = Path(args.tmp or tempfile.gettempdir())
    tmp.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    deadline = started + args.budget_s

    def save() -> None:
        derive(out, args)
        out["info"]["load_end"] = ", ".join(f"{x:.1f}" for x in os.getloadavg())
        out["info"]["this_process_peak_rss_mb"] = (
            resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        )  # a floor under every child's figure (see run_command)
        Path(args.json).write_text(json.dumps(out, indent=1) + "\n")

    failed_k: set[int] = set()
    for cfg in configs:
        n, k = cfg["N"], cfg["K"]
        reason = None
        if k > args.dims[0] and args.method == "hume":
            reason = f"HUME needs K ≤ d1 = {args.dims[0]}"
        elif k > n:
            reason = "K > N"
        elif on_cpu and n > args.max_rows_cpu:
            reason = f"N over --max-rows-cpu {args.max_rows_cpu} on the CPU"
        elif on_cpu and k > args.max_k_cpu:
            reason = f"K over --max-k-cpu {args.max_k_cpu} on the CPU"
        elif k in failed_k:
            reason = "a smaller N at this K did not finish"
        elif time.monotonic() >= deadline:
            reason = "--budget-s spent"
        if reason:
            cfg.update(status="skipped", reason=reason)
            print(f"skip N={n} K={k}: {reason} (extrapolated)", flush=True)
        else:
            print(f"N={n} K={k}:", flush=True)
            measure(cfg, args, tmp, deadline)
            if cfg["status"] != "measured":
                failed_k.add(k)
                print(f"  {cfg['status']}: {cfg.get('reason')}", flush=True)
        save()
    save()
    print()
    print(markdown(out))
    a = out["acceptance"]
    if a:
        print(
            f"\nacceptance: hume search N=100000 / N=10000 at K=100: {a['ratio']:.2f}x "
            f"({'pass' if a['pass'] else 'FAIL'}: at most 3x)"
        )
    print(f"wrote {args.json}")
    return 1 if any(c["status"] == "failed" for c in configs) else 0


if __name__ == "__main__":
    sys.exit(main())
