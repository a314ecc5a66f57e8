"""Search speed: hume's batched search vs a reference structured like the official HUME code.

The reference (``official_style_step``) follows the official implementation's structure: one
seed per process, a Python loop over the S subsets, subsets drawn on the host with NumPy and
copied to the device, PyTorch's orthogonal parametrisation and a fresh ``nn.Linear`` per subset,
and autograd through the T unrolled inner steps (``create_graph=True``). The project's search
(``hume.search.estimators.hume_method.hume_outer``) batches subsets and seeds, draws subsets on the device and writes
the inner reverse pass by hand. Both run the same hyperparameters on identical data.

Usage:
    python bench/search_speed.py                      # CPU: N=2000, d1=d2=64, K=10, T=300, S=20
    python bench/search_speed.py --device cuda        # GPU: CIFAR-10-sized and ImageNet-sized
    python bench/search_speed.py --quick              # tiny smoke run (tests)
    python bench/search_speed.py --ranks 1,2          # `hume search` with 1 process, 2 ranks

Reports seconds per outer iteration per seed (1 seed; 10 seeds batched) and the ratios. With
``--ranks``, instead: the whole `hume search` command (start-up, views loaded, search, selection,
run written) on one problem, as one process and under ``torchrun --nproc_per_node=R`` for each R,
in seconds per seed and as the ratio to one process; the runs must be identical.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from datetime import datetime

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from hume.core.devices import matmul_precision
from hume.search.estimators.hume_method.hume_config import LARGE_K, PAPER
from hume.search.estimators.hume_method.hume_outer import prepare, search_group
from hume.search.estimators.hume_method.sparsemax import sparsemax


def make_data(n: int, d1: int, d2: int, k: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Two views with a shared cluster structure (the search has something to find)."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, size=n)
    x1 = rng.normal(size=(k, d1))[y] * 2 + rng.normal(size=(n, d1))
    x2 = rng.normal(size=(k, d2))[y] * 2 + rng.normal(size=(n, d2))
    return x1.astype(np.float32), x2.astype(np.float32)


def digits_views() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's digits as the issue's official run saw them: φ1 = pixels, φ2 = HOG,
    embedded by hume's own ``pixels`` and ``hog`` models into a temporary workspace."""
    import tempfile

    from hume.embed.pipeline import embed
    from hume.search.search_runs.view_loading import load_view

    with tempfile.TemporaryDirectory(prefix="hume-bench-digits-") as root:
        views = []
        for model in ("pixels", "hog"):
            (path,) = embed(
                model,
                "digits",
                root=root,
                device="cpu",
                precision="fp32",
                workers=0,
                dtype="float32",
            )
            views.append(load_view(path).numpy())
    return views[0], views[1]


class OfficialStyle:
    """One seed, structured like the official code (see the module docstring)."""

    def __init__(self, phi1: np.ndarray, phi2: np.ndarray, k: int, cfg, device: str, seed: int = 0):
        torch.manual_seed(seed)
        self.rng = np.random.default_rng(seed)
        self.phi1 = phi1 / np.linalg.norm(phi1, axis=1, keepdims=True)  # host arrays, as official
        self.phi2 = phi2
        self.k, self.cfg, self.device = k, cfg, device
        enc = nn.Linear(phi1.shape[1], k, bias=False)
        self.encoder = nn.utils.parametrizations.orthogonal(enc).to(device)
        self.opt = torch.optim.Adam(self.encoder.parameters(), lr=cfg.outer_lr)
        self.t = cfg.tau

    def fit(self, x2: torch.Tensor, y: torch.Tensor, n_tr: int) -> torch.Tensor:
        """Held-out CE after T GD steps from a fresh default Linear, differentiable in y."""
        cfg = self.cfg
        inner = nn.Linear(x2.shape[1], self.k).to(self.device)  # fresh default init
        w, b = inner.weight, inner.bias
        for _ in range(cfg.inner_steps):  # autograd through the unrolled steps
            fit = -(y[:n_tr] * F.log_softmax(x2[:n_tr] @ w.T + b, -1)).sum(-1).mean()
            gw, gb = torch.autograd.grad(fit, (w, b), create_graph=True)
            w, b = w - cfg.inner_lr * gw, b - cfg.inner_lr * gb
        return -(y[n_tr:] * F.log_softmax(x2[n_tr:] @ w.T + b, -1)).sum(-1).mean()

    def step(self) -> float:
        cfg, n = self.cfg, self.phi1.shape[0]
        m = cfg.subset_rows(n)
        n_tr = int(cfg.train_fraction * m)
        self.opt.zero_grad()
        total = 0.0
        for _ in range(cfg.subsets):  # Python loop over subsets
            idx = self.rng.permutation(n)[:m]  # host sampling, then copy to the device
            x1 = torch.from_numpy(self.phi1[idx]).to(self.device)
            x2 = torch.from_numpy(self.phi2[idx]).to(self.device)
            y = sparsemax(self.encoder(x1) / self.t)
            ce = self.fit(x2, y, n_tr)
            p = y.mean(0)
            loss = (
                ce + cfg.entropy_weight * (p * torch.log(p.clamp_min(1e-12))).sum()
            ) / cfg.subsets
            loss.backward()
            total += float(loss.detach())
        nn.utils.clip_grad_norm_(self.encoder.parameters(), cfg.clip_norm)
        self.opt.step()
        return total


class Learn2LearnStyle(OfficialStyle):
    """The inner fit through learn2learn's MAML, as the official code runs it: one MAML wrapper
    whose Linear is re-initialised per subset, ``clone()``, then ``adapt()`` T times
    (second order), and F.cross_entropy with probability targets."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        try:
            import learn2learn as l2l
            import learn2learn.algorithms  # noqa: F401
        except ImportError as exc:
            raise SystemExit(
                "error: --learn2learn needs the learn2learn package (pip install "
                "learn2learn; its release does not compile on Python 3.11, where its pure-Python "
                f"learn2learn.algorithms and learn2learn.utils must be put on PYTHONPATH): {exc}"
            ) from None
        self.maml = l2l.algorithms.MAML(
            nn.Linear(self.phi2.shape[1], self.k).to(self.device), lr=self.cfg.inner_lr
        )

    def fit(self, x2: torch.Tensor, y: torch.Tensor, n_tr: int) -> torch.Tensor:
        self.maml.module.reset_parameters()
        learner = self.maml.clone()
        for _ in range(self.cfg.inner_steps):
            learner.adapt(F.cross_entropy(learner(x2[:n_tr]), y[:n_tr]))
        return F.cross_entropy(learner(x2[n_tr:]), y[n_tr:])


REFERENCES = {"plain": OfficialStyle, "learn2learn": Learn2LearnStyle}


def time_reference(phi1, phi2, k, cfg, device, iters: int, kind: str = "plain") -> float:
    ref = REFERENCES[kind](phi1, phi2, k, cfg, device)
    ref.step()  # warm-up
    _sync(device)
    t = time.perf_counter()
    for _ in range(iters):
        ref.step()
    _sync(device)
    return (time.perf_counter() - t) / iters


def time_hume(
    phi1, phi2, k, cfg, device, n_seeds: int, iters: int, tf32: bool = False
) -> tuple[float, int]:
    """(seconds per outer iteration per seed, seeds timed) for ``n_seeds`` batched (capped at
    what fits). ``tf32``: TensorFloat-32 matrix products on a CUDA GPU."""
    from hume.search.estimators.hume_method.hume_outer import group_size

    data = prepare([torch.from_numpy(phi1), torch.from_numpy(phi2)], cfg, torch.device(device))
    fits = group_size(data, k, cfg)
    if n_seeds > fits:
        print(
            f"note: {n_seeds} seeds do not fit in one batch on {device}; timing {fits}",
            file=sys.stderr,
        )
        n_seeds = fits
    with matmul_precision(device, "tf32" if tf32 else "fp32"):  # as `hume search --precision`
        search_group(data, k, replace(cfg, iters=1), list(range(n_seeds)))  # warm-up
        _sync(device)
        t = time.perf_counter()
        search_group(data, k, replace(cfg, iters=iters), list(range(n_seeds)))
        _sync(device)
    return (time.perf_counter() - t) / iters / n_seeds, n_seeds


def time_turtle(phi1, phi2, k, device, n_seeds: int, iters: int) -> float:
    """Seconds per outer step per seed of TURTLE's search loop (hume.search.estimators.turtle_method.turtle_outer, default
    settings; selection not included)."""
    from hume.search.estimators.turtle_method import turtle_outer as turtle
    from hume.search.estimators.turtle_method.turtle_config import TurtleConfig

    dev = torch.device(device)
    views = [torch.from_numpy(v).to(dev) for v in (phi1, phi2)]
    views = [(v - v.mean(0)) / v.std(0).clamp_min(1e-12) for v in views]
    seeds = list(range(n_seeds))
    turtle.search_group(views, k, TurtleConfig.resolve(None, iters=1), seeds)  # warm-up
    _sync(device)
    t = time.perf_counter()
    turtle.search_group(views, k, TurtleConfig.resolve(None, iters=iters), seeds)
    _sync(device)
    return (time.perf_counter() - t) / iters / n_seeds


def _ranks_workspace(root: str, n: int, d1: int, d2: int, k: int) -> None:
    """The two views of :func:`make_data` as stores ``a`` (φ1) and ``b`` of dataset ``bench``."""
    from hume.store.importing import import_features

    for name, x in zip("ab", make_data(n, d1, d2, k)):
        path = os.path.join(root, f"{name}.npy")
        np.save(path, x)
        import_features("bench", "all", name, path, root=root, dtype="float32")


def _torchrun() -> list[str]:
    here = os.path.join(os.path.dirname(sys.executable), "torchrun")
    return [here] if os.path.exists(here) else [sys.executable, "-m", "torch.distributed.run"]


def time_ranks(
    ranks: list[int], device: str, n: int, d1: int, d2: int, k: int, seeds: int, options: list[str]
) -> list[dict]:
    """Seconds per seed of the whole `hume search` command with each number of ranks (1: a
    plain process), each rank count's run compared with one process's, seed for seed."""
    out = []
    with tempfile.TemporaryDirectory(prefix="hume-bench-ranks-") as root:
        _ranks_workspace(root, n, d1, d2, k)
        search = ["-m", "hume", "search", "--views", "a,b", "--dataset", "bench", "--k", str(k)]
        search += ["--seeds", str(seeds), "--device", device, "--root", root, *options]
        for r in ranks:
            name = f"ranks{r}"
            if r == 1:
                cmd = [sys.executable, *search, "--run-name", name]
            else:
                with socket.socket() as s:
                    s.bind(("127.0.0.1", 0))
                    port = s.getsockname()[1]
                launch = [f"--nproc_per_node={r}", f"--master_port={port}"]
                cmd = [*_torchrun(), *launch, *search, "--run-name", name]
            started = time.perf_counter()
            proc = subprocess.run(cmd, capture_output=True, text=True)
            wall = time.perf_counter() - started
            if proc.returncode != 0:
                raise SystemExit(f"error: {' '.join(cmd)} failed:\n{proc.stderr[-3000:]}")
            run = os.path.join(root, "runs", name)
            config = json.load(open(os.path.join(run, "config.json")))
            # from the run's configuration to its end: the search, selection and writing,
            # without the start-up (interpreters, torch, the process group) and loading
            span = [datetime.fromisoformat(config[key]) for key in ("created", "finished")]
            searched = (span[1] - span[0]).total_seconds()
            labels = np.load(os.path.join(run, "seeds.npz"))["labels"]
            first = np.load(os.path.join(root, "runs", "ranks1", "seeds.npz"))["labels"]
            out.append(
                {
                    "ranks": r,
                    "device": device,
                    "N": n,
                    "d1": d1,
                    "d2": d2,
                    "K": k,
                    "seeds": seeds,
                    "group_size": config["group_size"],
                    "wall_s": wall,
                    "s_per_seed": wall / seeds,
                    "ratio_to_1": out[0]["wall_s"] / wall if out else 1.0,
                    "search_s": searched,
                    "search_s_per_seed": searched / seeds,
                    "search_ratio_to_1": out[0]["search_s"] / searched if out else 1.0,
                    "same_labels_as_1": bool(np.array_equal(labels, first)),
                }
            )
            print(json.dumps(out[-1]), flush=True)
    return out


def ranks_markdown(info: dict, rows: list[dict], args) -> str:
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    r0 = rows[0]
    lines = [
        f"## Search over ranks ({args.device}): `hume search` as 1 process and under torchrun",
        "",
        f"Machine: {info['machine']}, {os.cpu_count()} cores, "
        f"{'GPU ' + info['cuda'] if info['cuda'] else 'no GPU'}; torch {info['torch']}; load "
        f"average at the end {load}. {args.note}".rstrip(),
        f"Command: `python bench/search_speed.py --ranks {args.ranks} --device {args.device} "
        f"--seeds {args.seeds}{' --quick' if args.quick else ''}`. Problem: N = {r0['N']}, "
        f"d1 = {r0['d1']}, d2 = {r0['d2']}, K = {r0['K']}, {r0['seeds']} seeds, default "
        "settings. Wall: the whole command (interpreters and torch started, process group "
        "joined, views loaded, search, selection, run written); search: from the run's "
        "`created` to its `finished` time (search, selection and writing only). Each rank "
        "count uses its default grouping (one process: as many seeds per group as fit; R "
        "ranks: at most ⌈seeds / R⌉); one process uses torch's threads, each rank one thread "
        "(torchrun's OMP_NUM_THREADS=1).",
        "",
        "| ranks | seeds per group | wall (s) | wall s/seed | ratio | search (s) | search s/seed "
        "| ratio | labels as 1 process |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        same = "yes" if r["same_labels_as_1"] else "no (other grouping)"
        lines.append(
            f"| {r['ranks']} | {r['group_size']} | {r['wall_s']:.1f} | {r['s_per_seed']:.2f} | "
            f"{r['ratio_to_1']:.2f}× | {r['search_s']:.1f} | {r['search_s_per_seed']:.2f} | "
            f"{r['search_ratio_to_1']:.2f}× | {same} |"
        )
    return "\n".join(lines)


def _sync(device: str) -> None:
    if str(device).startswith("cuda"):
        torch.cuda.synchronize()


def run_config(
    name,
    n,
    d1,
    d2,
    k,
    cfg,
    device,
    ref_iters,
    hume_iters,
    seeds_batch,
    learn2learn: bool = False,
    tf32: bool = False,
    views=None,
):
    phi1, phi2 = make_data(n, d1, d2, k) if views is None else views
    n, d1, d2 = phi1.shape[0], phi1.shape[1], phi2.shape[1]
    out = {
        "name": name,
        "N": n,
        "d1": d1,
        "d2": d2,
        "K": k,
        "T": cfg.inner_steps,
        "S": cfg.subsets,
        "m": cfg.subset_rows(n),
        "device": device,
        "outer_iters": cfg.iters,
    }
    out["reference_s_per_iter_seed"] = time_reference(phi1, phi2, k, cfg, device, ref_iters)
    if learn2learn:
        out["learn2learn_reference_s_per_iter_seed"] = time_reference(
            phi1, phi2, k, cfg, device, ref_iters, "learn2learn"
        )
    for tag, flag in [("", False)] + ([("_tf32", True)] if tf32 else []):
        one, _ = time_hume(phi1, phi2, k, cfg, device, 1, hume_iters, flag)
        batched, nb = time_hume(phi1, phi2, k, cfg, device, seeds_batch, hume_iters, flag)
        out[f"hume_1seed{tag}_s_per_iter_seed"] = one
        out[f"hume_batched{tag}_s_per_iter_seed"] = batched
        out["seeds_batched"] = nb
        out[f"speedup_1seed{tag}"] = out["reference_s_per_iter_seed"] / one
        out[f"speedup_batched{tag}"] = out["reference_s_per_iter_seed"] / batched
        # Projected full ensemble: 100 seeds × the configured outer iterations.
        out[f"projected_100_seed_hours{tag}"] = batched * cfg.iters * 100 / 3600
    for ts in (1, 10):
        out[f"turtle_{ts}seed_s_per_step_seed"] = time_turtle(phi1, phi2, k, device, ts, hume_iters)
    return out


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--ref-iters", type=int, default=2)
    ap.add_argument("--iters", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=10)
    ap.add_argument("--quick", action="store_true", help="tiny problem, for a smoke test")
    ap.add_argument("--json", default=None, help="also write the results as JSON here")
    ap.add_argument(
        "--results",
        default=None,
        help="write/replace this benchmark's section of a markdown file (bench/RESULTS.md)",
    )
    ap.add_argument("--note", default="", help="free text about the machine for the section")
    ap.add_argument(
        "--learn2learn",
        action="store_true",
        help="also time the reference with learn2learn's MAML clone/adapt (as the "
        "official code), beside the plain-autograd one",
    )
    ap.add_argument(
        "--tf32",
        action="store_true",
        help="also time hume with TensorFloat-32 matrix products, as `hume search "
        "--precision tf32` (CUDA only; the reference stays fp32 as the official code)",
    )
    ap.add_argument(
        "--digits",
        action="store_true",
        help="also time the real digits views (pixels φ1, HOG φ2), as in the official "
        "run the issue quotes",
    )
    ap.add_argument(
        "--ranks",
        default=None,
        help="instead: time `hume search` as one process and under torchrun with these numbers "
        "of ranks, e.g. 1,2 (seconds per seed; 1 is always measured first)",
    )
    args = ap.parse_args(argv)
    info = {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    results: list[dict] = []
    if args.ranks:
        counts = sorted({1, *(int(r) for r in args.ranks.split(","))})
        if args.quick:
            problem = (200, 8, 8, 3, ["--iters", "10", "--inner-steps", "3"])
        elif args.device.startswith("cuda"):
            problem = (50_000, 768, 1536, 10, [])  # CIFAR-10-sized, default settings
        else:
            problem = (2000, 64, 64, 10, [])
        n, d1, d2, k, options = problem
        rows = time_ranks(counts, args.device, n, d1, d2, k, args.seeds, options)
        save(args, info, rows, f"search_ranks:{args.device}", ranks_markdown(info, rows, args))
        return

    def record(result: dict) -> None:
        """Keep a problem's result, and write everything so far (a later timeout loses no row)."""
        results.append(result)
        print(json.dumps(result, indent=2), flush=True)
        body = markdown(info, results, args)
        save(args, info, results, f"search_speed:{args.device}", body)

    common = dict(learn2learn=args.learn2learn, tf32=args.tf32)
    if args.quick:
        cfg = replace(PAPER, inner_steps=5, subsets=2)
        record(run_config("quick", 200, 8, 8, 3, cfg, args.device, 1, 1, 2, **common))
    elif args.device.startswith("cuda"):
        record(
            run_config(
                "cifar10-sized",
                50_000,
                768,
                1536,
                10,
                PAPER,
                args.device,
                args.ref_iters,
                args.iters,
                args.seeds,
                **common,
            )
        )
        # One large-K iteration is ~0.4 PFLOP per seed: one timed iteration, two seeds batched.
        # φ1 2 048 wide (the paper's MoCo ResNet-50): HUME's encoder needs K ≤ d1.
        record(
            run_config(
                "imagenet-sized (large-K)",
                100_000,
                2048,
                1536,
                1000,
                LARGE_K,
                args.device,
                1,
                1,
                min(args.seeds, 2),
                **common,
            )
        )
    else:
        record(
            run_config(
                "cpu N=2000 d=64 K=10",
                2000,
                64,
                64,
                10,
                PAPER,
                args.device,
                args.ref_iters,
                args.iters,
                args.seeds,
                **common,
            )
        )
    if args.digits:
        record(
            run_config(
                "digits, pixels φ1, hog φ2",
                0,
                0,
                0,
                10,
                PAPER,
                args.device,
                args.ref_iters,
                args.iters,
                args.seeds,
                **common,
                views=digits_views(),
            )
        )


def _tf32_sentence(r: dict) -> str:
    return (
        f"With TF32 matrix products (`--tf32`, as `hume search --precision tf32`; the reference "
        f"stays fp32) on {r['name']}: hume {r['hume_1seed_tf32_s_per_iter_seed']:.3f} s/iter with "
        f"1 seed ({r['speedup_1seed_tf32']:.1f}×), {r['hume_batched_tf32_s_per_iter_seed']:.3f} "
        f"s/iter/seed batched ({r['speedup_batched_tf32']:.1f}×); projected 100 seeds × "
        f"{r['outer_iters']} iterations: {r['projected_100_seed_hours_tf32']:.2f} h."
    )


def _learn2learn_sentence(r: dict) -> str:
    ref = r["learn2learn_reference_s_per_iter_seed"]
    return (
        f"learn2learn reference (`--learn2learn`: the inner fit through learn2learn's MAML "
        f"clone/adapt and F.cross_entropy, as the official code) on {r['name']}: {ref:.3f} s per "
        f"outer iteration (plain reference {r['reference_s_per_iter_seed']:.3f}); hume's speed-up "
        f"against it: {ref / r['hume_1seed_s_per_iter_seed']:.1f}× (1 seed), "
        f"{ref / r['hume_batched_s_per_iter_seed']:.1f}× (batched)."
    )


def _turtle_sentence(r: dict) -> str:
    return (
        f"TURTLE (hume.search.estimators.turtle_method.turtle_outer search loop, its default settings) on {r['name']}: "
        f"{r['turtle_1seed_s_per_step_seed']:.3f} s per outer step with 1 seed, "
        f"{r.get('turtle_10seed_s_per_step_seed', float('nan')):.3f} s per step per seed with "
        "10 seeds batched."
    )


def markdown(info: dict, results: list[dict], args) -> str:
    import os

    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    lines = [
        f"## Search speed ({args.device}): hume's batched search vs an official-structured reference",
        "",
        f"Machine: {info['machine']}, {os.cpu_count()} cores, "
        f"{'GPU ' + info['cuda'] if info['cuda'] else 'no GPU'}; torch {info['torch']}, "
        f"{info['threads']} thread(s); load average at the end {load}. {args.note}".rstrip(),
        f"Command: `python bench/search_speed.py --device {args.device} --ref-iters "
        f"{args.ref_iters} --iters {args.iters} --seeds {args.seeds}"
        f"{' --learn2learn' if args.learn2learn else ''}{' --tf32' if args.tf32 else ''}"
        f"{' --digits' if args.digits else ''}`"
        + (
            " (large-K: 1 timed iteration, 2 seeds batched)."
            if args.device.startswith("cuda")
            else "."
        ),
        "Reference: one seed, Python loop over subsets, NumPy sampling on the host, copy per "
        "subset, torch orthogonal parametrisation, autograd through the unrolled inner steps. "
        "hume: subsets and seeds batched, device sampling, hand-written inner reverse pass. "
        "Same data, same hyperparameters (official: T, S, m as listed).",
        "",
        "| problem | T | S | m | reference s/iter/seed | hume 1 seed | hume batched s/iter/seed | "
        "speed-up 1 seed | speed-up batched | projected 100 seeds × iters (h) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        lines.append(
            f"| {r['name']} (N={r['N']}, d1={r['d1']}, d2={r['d2']}, K={r['K']}) | {r['T']} | "
            f"{r['S']} | {r['m']} | {r['reference_s_per_iter_seed']:.3f} | "
            f"{r['hume_1seed_s_per_iter_seed']:.3f} | {r['hume_batched_s_per_iter_seed']:.3f} "
            f"({r['seeds_batched']}) | {r['speedup_1seed']:.1f}× | {r['speedup_batched']:.1f}× | "
            f"{r['projected_100_seed_hours']:.2f} |"
        )
    for key, sentence in (
        ("hume_1seed_tf32_s_per_iter_seed", _tf32_sentence),
        ("learn2learn_reference_s_per_iter_seed", _learn2learn_sentence),
        ("turtle_1seed_s_per_step_seed", _turtle_sentence),
    ):
        lines += [part for r in results if key in r for part in ("", sentence(r))]
    return "\n".join(lines)


def save(args, info: dict, rows: list[dict], key: str, body: str) -> None:
    """The results so far into ``--json`` and this benchmark's section of ``--results``."""
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"info": info, "results": rows}, fh, indent=2)
    if args.results:
        write_section(args.results, key, body)


def write_section(path: str, key: str, body: str) -> None:
    """Replace the text between this benchmark's markers (append the section if absent)."""
    import os

    start, end = f"<!-- {key}:start -->", f"<!-- {key}:end -->"
    text = open(path).read() if os.path.exists(path) else "# Benchmark results\n"
    block = f"{start}\n{body}\n{end}"
    if start in text and end in text:
        text = text[: text.index(start)] + block + text[text.index(end) + len(end) :]
    else:
        text = text.rstrip("\n") + "\n\n" + block + "\n"
    with open(path, "w") as fh:
        fh.write(text)


if __name__ == "__main__":
    sys.exit(main())
