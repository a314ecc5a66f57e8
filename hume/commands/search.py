"""`hume search`: the command-line layer of the search stage (a thin layer over :class:`HUME`).

Defaults differ from the paper where that makes the search work across feature scales; see
:mod:`hume.search.config` (``--preset paper`` restores SPEC §2 exactly).
"""

from __future__ import annotations

from typing import Optional

import typer

from hume.commands.common import Root

HELP = """Search for the human labeling over the given views (never reads labels).

The first view is φ1 (the task encoder reads it, rows L2-normalised); every further view is a φ2 space where linear classifiers are fitted; with several φ2 views the held-out loss is averaged over them. Seeds are ranked by the label-free score (10-fold CV logistic regression on φ2) and ensembled by Hungarian matching to the best seed and majority vote.

Default settings (chosen on digits by the label-free score only) differ from the paper: φ2 is standardised and whitened, φ1 centred before normalising, the inner step is 1/λmax of φ2's covariance, T=20 inner steps, 3 subsets, 150 outer iterations with outer lr 0.2, annealing at 60%/85% of the iterations.

`--preset paper` uses SPEC §2 exactly (T=300, S=20, m=10000, lr 1e-3/1e-3, 1000 iterations, anneal after 100 and 200); `--preset large-k` the official ImageNet-1000 settings.

`--method turtle` runs TURTLE (ICML 2024) instead: every view parametrises the labeling (the softmaxes of one linear encoder per view, averaged) and its inner classifiers are fitted to the detached labeling, a first-order hypergradient that is far cheaper per step than HUME's second-order one.

TURTLE accepts one or more views; its defaults (1000 steps, warm-started inner classifiers, lr 1e-2/1e-2) were chosen on digits by the label-free score, and `--preset paper` gives the official TURTLE settings (6000 steps, cold start, lr 1e-3/1e-3).

`--sweep` first tries a small grid of outer lr / temperature / inner step scale (2 seeds each), keeps the one with the best mean label-free score, then runs the search with it.
"""


def search(
    views: Optional[list[str]] = typer.Option(None, "--views", help="Required (except with --resume). Views (store model names), comma-separated or repeated; the first is φ1, the rest are φ2 spaces (held-out loss averaged over them)."),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="Dataset. Default: the one dataset under the root with all views."),
    k: Optional[int] = typer.Option(None, "--k", help="Number of classes. Default: the dataset's (store attribute num_classes)."),
    seeds: int = typer.Option(10, "--seeds", help="Seeds to run (batched) and ensemble."),
    setting: str = typer.Option("transductive", "--setting", help="inductive (search on train, label test through φ1) or transductive (search on train ∪ test)."),
    iters: Optional[int] = typer.Option(None, "--iters", help="Outer iterations (default 150; paper 1000)."),
    inner_steps: Optional[int] = typer.Option(None, "--inner-steps", help="Inner gradient steps T (default 20; paper 300)."),
    subsets: Optional[int] = typer.Option(None, "--subsets", help="Subsets S per outer step (default 3; paper 20)."),
    subset_size: Optional[int] = typer.Option(None, "--subset-size", help="Rows m per subset (default min(N, 10000))."),
    train_fraction: Optional[float] = typer.Option(None, "--train-fraction", help="Train part of a subset (0.9)."),
    tau: Optional[float] = typer.Option(None, "--tau", help="Initial sparsemax temperature (0.1)."),
    entropy_weight: Optional[float] = typer.Option(None, "--entropy-weight", help="Weight of the label-entropy term (10)."),
    inner_lr: Optional[float] = typer.Option(None, "--inner-lr", help="Inner step size (default: 1/λmax of standardised φ2; paper 1e-3)."),
    outer_lr: Optional[float] = typer.Option(None, "--outer-lr", help="Outer Adam learning rate (default 0.2; paper 1e-3)."),
    no_anneal: bool = typer.Option(False, "--no-anneal", help="Disable learning-rate and temperature annealing."),
    preset: Optional[str] = typer.Option(None, "--preset", help="'paper' (SPEC §2 exactly), 'large-k' (official ImageNet-1000 settings) or 'default'."),
    sweep: bool = typer.Option(False, "--sweep", help="Try a small grid (outer lr, tau, inner step scale) and keep the best label-free score (overrides those options)."),
    method: str = typer.Option("hume", "--method", help="hume (second order, φ1 parametrises the labeling) or turtle (first order, every view does)."),
    warm_start: Optional[bool] = typer.Option(None, "--warm-start/--cold-start", help="TURTLE only: keep the inner classifiers across outer steps (default) or start them afresh each step (paper)."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run (with --run NAME; default: the newest run)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    precision: Optional[str] = typer.Option(None, "--precision", help="Matrix products of the search on a CUDA GPU: fp32 (default, as the official code) or tf32 (TensorFloat-32 tensor cores, Ampere or newer: several times faster, products rounded to a 10-bit mantissa). No effect on the CPU. With --resume: the run's own unless given."),
    run: Optional[str] = typer.Option(None, "--run", help="Run name. Default: time-dataset-method."),
    random_state: int = typer.Option(0, "--random-state", help="Base seed of the run."),
    single_view: bool = typer.Option(False, "--single-view", help="Allow one view (used as both φ1 and φ2)."),
    root: Root = None,
) -> None:
    from hume.commands.common import split_commas
    from hume.search.run import SearchRequest, execute

    request = SearchRequest(
        views=split_commas(views), dataset=dataset, k=k, seeds=seeds, setting=setting,
        overrides=dict(iters=iters, inner_steps=inner_steps, subsets=subsets,
                       subset_size=subset_size, train_fraction=train_fraction, tau=tau,
                       entropy_weight=entropy_weight, inner_lr=inner_lr, outer_lr=outer_lr,
                       anneal=False if no_anneal else None,
                       **({} if warm_start is None else {"warm_start": warm_start})),
        preset=preset, sweep=sweep, method=method, device=device, precision=precision, run=run,
        root=root,
        random_state=random_state, single_view=single_view)
    execute(request, resume=resume)


search.__doc__ = HELP
