"""`hume search`: the command-line layer of the search stage (over hume.search.run_lifecycle)."""

from __future__ import annotations

from typing import Annotated

import typer

from hume.commands.common import BarReporter, Root, split_commas
from hume.commands.search_options import (
    ClassSizesOption,
    KScanOption,
    MethodOption,
    Phi1Option,
    RandomStateOption,
    SeedsOption,
)
from hume.core.devices import MatmulPrecision
from hume.search.methods import Method
from hume.search.vocabulary import ClassSizes, Ensemble, KScan, Phi1, Preset, Setting, SizeTerm

HELP = """Search for the human labeling over the given views (never reads labels).

The first view is φ1 (the task encoder reads it, rows L2-normalised); every further view is a φ2 space where linear classifiers are fitted; with several φ2 views the held-out loss is averaged over them. Seeds are scored by the label-free score (10-fold cross-validated logistic regression predicting the seed's own labeling: on the φ2 views for HUME, on every view for TURTLE) and made one labeling by a consensus of how often they put two rows together (HUME's default, --ensemble cut) or by the papers' majority vote in the best seed's classes (TURTLE's, --ensemble vote).

Not sure of K? --k 5:15 chooses it without labels (every K screened, the promising searched in full; --k-scan).

Default settings (chosen on digits by the label-free score only) differ from the paper: φ2 is standardised and whitened, φ1 centred before normalising, the inner step is 1/λmax of the second-moment matrix of the transformed φ2 (with its bias column), T=20 inner steps, 3 subsets, 150 outer iterations with outer lr 0.2, annealing at 60%/85% of the iterations.

`--preset paper` uses the official settings exactly (T=300, S=20, m=min(N, 10000), lr 1e-3/1e-3, 1000 iterations, anneal after 100 and 200; docs/algorithm.md); `--preset large-k` the official ImageNet-1000 settings.

`--method turtle` runs TURTLE (ICML 2024) instead: every view parametrises the labeling (the softmaxes of one linear encoder per view, averaged) and its inner classifiers are fitted to the detached labeling, a first-order hypergradient that is far cheaper per step than HUME's second-order one.

TURTLE accepts one or more views; its defaults (1000 steps, warm-started inner classifiers, lr 1e-2/1e-2) were chosen on digits by the label-free score, and `--preset paper` gives the official TURTLE settings (6000 steps, cold start, lr 1e-3/1e-3).

`--sweep` first tries a small grid of outer lr / temperature / inner step scale (2 seeds each; the inner step is then always scale/λmax, so --inner-lr is dropped), keeps the one with the best mean label-free score, then runs the search with it. Ctrl-C at any point: continue with `hume search --resume --run NAME`.

Several GPUs or nodes: `torchrun --nproc_per_node=N -m hume search ... --run-name NAME`; the processes share the run's seed groups and the result is the one a single process gives with the same --group-size. Without torchrun (a job array): one `--seed-range A:B` per task, then `hume search --resume --run NAME`.
"""


def search(
    views: Annotated[
        list[str] | None,
        typer.Option(
            "--views",
            help="Required (except with --resume). Views (store model names), comma-separated or repeated; the first is φ1, the rest are φ2 spaces (held-out loss averaged over them).",
        ),
    ] = None,
    dataset: Annotated[
        str | None,
        typer.Option(
            "--dataset", help="Dataset. Default: the one dataset under the root with all views."
        ),
    ] = None,
    k: Annotated[
        str | None,
        typer.Option(
            "--k",
            help="Number of classes K, or a range to choose from without labels: 5:15 (both ends) "
            "or a list 4,8,16 (each K searched as its own run <run>-k07; the chosen one is also "
            "written as <run>). Chosen, among the K whose ensemble uses every class, by the "
            "mean of two agreements (adjusted Rand index): of the consensuses of two random "
            "halves of the seeds, and of the seeds pairwise. Distrust it with few seeds (it "
            "needs 4, better 10) and when neighbouring K score within a few hundredths (see "
            "`hume evaluate`'s table). Default: the dataset's (store attribute num_classes).",
            show_default=False,
        ),
    ] = None,
    k_scan: KScanOption = KScan.fast,
    class_sizes: ClassSizesOption = ClassSizes.uniform,
    phi1: Phi1Option = Phi1.first,
    seeds: SeedsOption = 10,
    setting: Annotated[
        Setting,
        typer.Option(
            "--setting",
            help="inductive (search on train, label test through the encoders) or transductive (search on train ∪ test).",
        ),
    ] = Setting.transductive,
    iters: Annotated[
        int | None, typer.Option("--iters", help="Outer iterations (default 150; paper 1000).")
    ] = None,
    inner_steps: Annotated[
        int | None,
        typer.Option("--inner-steps", help="Inner gradient steps T (default 20; paper 300)."),
    ] = None,
    subsets: Annotated[
        int | None,
        typer.Option("--subsets", help="Subsets S per outer step (default 3; paper 20)."),
    ] = None,
    subset_size: Annotated[
        int | None,
        typer.Option(
            "--subset-size",
            help="Rows m per subset (default min(N, 10000)); TURTLE: rows per step.",
        ),
    ] = None,
    train_fraction: Annotated[
        float | None, typer.Option("--train-fraction", help="Train part of a subset (0.9).")
    ] = None,
    tau: Annotated[
        float | None, typer.Option("--tau", help="Initial sparsemax temperature (0.1).")
    ] = None,
    entropy_weight: Annotated[
        float | None,
        typer.Option("--entropy-weight", help="Weight of the label-entropy term (10)."),
    ] = None,
    size_term: Annotated[
        SizeTerm | None,
        typer.Option(
            "--size-term",
            help="The class-size term --entropy-weight multiplies: entropy (the papers, default) "
            "or log, which keeps every class non-empty and, at small weights, lets sizes be "
            "uneven; with --class-sizes uneven its own weights are tried.",
        ),
    ] = None,
    ensemble: Annotated[
        Ensemble | None,
        typer.Option(
            "--ensemble",
            help="How the seeds become one labeling: cut (HUME's default: normalised cut of how "
            "often the seeds put two rows together; prefers equal sizes), linkage (average "
            "linkage of the same; no size preference; replaces cut with --class-sizes uneven) or "
            "vote (the papers: majority vote in the best seed's classes; TURTLE's default and "
            "--preset paper's).",
            show_default=False,
        ),
    ] = None,
    inner_lr: Annotated[
        float | None,
        typer.Option(
            "--inner-lr",
            help="Inner step size (default: 1/λmax of the transformed φ2; paper 1e-3).",
        ),
    ] = None,
    outer_lr: Annotated[
        float | None,
        typer.Option("--outer-lr", help="Outer Adam learning rate (default 0.2; paper 1e-3)."),
    ] = None,
    no_anneal: Annotated[
        bool,
        typer.Option("--no-anneal", help="Disable learning-rate and temperature annealing (HUME)."),
    ] = False,
    preset: Annotated[
        Preset | None,
        typer.Option(
            "--preset",
            help="paper (the official settings), large-k (official ImageNet-1000 settings, HUME) or default.",
        ),
    ] = None,
    sweep: Annotated[
        bool,
        typer.Option(
            "--sweep",
            help="Try a small grid (outer lr, tau, inner step scale) and keep the best label-free score (overrides those options; HUME).",
        ),
    ] = False,
    method: MethodOption = Method.hume,
    warm_start: Annotated[
        bool | None,
        typer.Option(
            "--warm-start/--cold-start",
            help="TURTLE only: keep the inner classifiers across outer steps (default) or start them afresh each step (paper).",
        ),
    ] = None,
    resume: Annotated[
        bool,
        typer.Option(
            "--resume",
            help="Continue an interrupted run (with --run NAME; default: the newest run).",
        ),
    ] = False,
    device: Annotated[
        str | None,
        typer.Option(
            "--device",
            help="auto, cpu, cuda or cuda:N. Default: auto; with --resume, the run's own.",
            show_default=False,
        ),
    ] = None,
    precision: Annotated[
        MatmulPrecision | None,
        typer.Option(
            "--precision",
            help="Matrix products of the search on a CUDA GPU: fp32 (default, as the official code) or tf32 (TensorFloat-32 tensor cores, Ampere or newer: several times faster, products rounded to a 10-bit mantissa). No effect on the CPU. With --resume: the run's own unless given.",
            show_default=False,
        ),
    ] = None,
    run: Annotated[
        str | None,
        typer.Option(
            "--run",
            "--run-name",
            help="Run name. Default: time-dataset-method. Under torchrun write --run-name (torchrun takes --run for its own --run-path).",
        ),
    ] = None,
    random_state: RandomStateOption = 0,
    single_view: Annotated[
        bool, typer.Option("--single-view", help="Allow one view (used as both φ1 and φ2; HUME).")
    ] = False,
    group_size: Annotated[
        int | None,
        typer.Option(
            "--group-size",
            help="Seeds searched together (batched) in one group, fixed for the run. Default: as many as fit on the device, at most an even share of the seeds per process. The result depends on it, never on the number of processes.",
            show_default=False,
        ),
    ] = None,
    seed_range: Annotated[
        str | None,
        typer.Option(
            "--seed-range",
            help="A:B: search only seeds A … B−1 (whole seed groups) into the run --run NAME, creating it or joining it, and write no selection (one task of a job array). Once every seed is in, `hume search --resume --run NAME` selects and ensembles.",
            show_default=False,
        ),
    ] = None,
    root: Root = None,
) -> None:
    from hume.search.request import SearchRequest
    from hume.search.run_lifecycle import resume_search, run_search
    from hume.search.settings import SearchOptions

    precision_name = precision.value if precision is not None else None
    if resume:
        resume_search(
            root,
            run,
            device=device,
            precision=precision_name,
            reporter=BarReporter(),
            seed_range=seed_range,
        )
        return
    options = SearchOptions(
        iters=iters,
        inner_steps=inner_steps,
        subsets=subsets,
        subset_size=subset_size,
        train_fraction=train_fraction,
        tau=tau,
        entropy_weight=entropy_weight,
        size_term=size_term.value if size_term is not None else None,
        ensemble=ensemble.value if ensemble is not None else None,
        inner_lr=inner_lr,
        outer_lr=outer_lr,
        anneal=False if no_anneal else None,
        warm_start=warm_start,
    )
    from hume.commands.search_options import parse_k

    ks = parse_k(k) if k is not None else None
    request = SearchRequest(
        views=split_commas(views),
        dataset=dataset,
        k=ks[0] if ks is not None and len(ks) == 1 else None,
        seeds=seeds,
        setting=setting.value,
        options=options,
        preset=preset.value if preset is not None else None,
        sweep=sweep,
        method=method.value,
        device=device or "auto",
        precision=precision_name or "fp32",
        run=run,
        root=root,
        random_state=random_state,
        single_view=single_view,
        group_size=group_size,
        seed_range=seed_range,
        class_sizes=class_sizes.value,
    )
    if (ks is not None and len(ks) > 1) or phi1 == Phi1.auto:
        from hume.search.choosing import choose_search

        choose_search(request, ks, phi1_auto=phi1 == Phi1.auto, reporter=BarReporter(), scan=k_scan)
        return
    run_search(request, reporter=BarReporter())


search.__doc__ = HELP
