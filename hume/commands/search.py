"""`hume search`: the command-line layer of the search stage (over hume.search.search_runs.run_lifecycle)."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from hume.commands.common import Root, progress_reporter, split_commas
from hume.commands.search_options import (
    ClassSizesOption,
    KScanOption,
    MethodOption,
    Phi1Option,
    RandomStateOption,
    SeedsOption,
    options_from,
    with_setting_options,
)
from hume.core.devices import MatmulPrecision
from hume.search.methods import Method
from hume.search.vocabulary import ClassSizes, KScan, Phi1, Preset, Setting

HELP = """Search for the human labeling over the given views (never reads labels).

The first view is φ1 (the task encoder reads it, rows L2-normalised); every further view is a φ2 space where linear classifiers are fitted; with several φ2 views the held-out loss is averaged over them. Seeds are scored by the label-free score (10-fold cross-validated logistic regression predicting the seed's own labeling: on the φ2 views for HUME, on every view for TURTLE) and made one labeling by a consensus of how often they put two rows together (--ensemble cut) or by the papers' majority vote in the best seed's classes (--ensemble vote); by default (auto) the run makes both and keeps the one linear classifiers learn best.

Reviewed a run's classes? `--from RUN --corrections corrections.json` makes a new run that keeps every move, confirmation and merge of the review, searches the classes it splits again and relabels the other rows to agree (docs/algorithm.md §12).

Not sure of K? --k 5:15 chooses it without labels (every K screened, the promising searched in full; --k-scan).

The default settings differ from the papers' (each option below shows both): they were chosen by the label-free score alone so that the search moves on any feature scale (docs/algorithm.md §2.9). `--preset paper` uses the official settings exactly (docs/algorithm.md §2.8); `--preset large-k` the official ImageNet-1000 settings (HUME).

`--method turtle` runs TURTLE (ICML 2024) instead: every view parametrises the labeling (the softmaxes of one linear encoder per view, averaged) and its inner classifiers are fitted to the detached labeling, a first-order hypergradient far cheaper per step than HUME's second-order one; it accepts one or more views.

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
    from_run: Annotated[
        str | None,
        typer.Option(
            "--from",
            help="A finished run to make a new run from, with the review in --corrections: "
            "every move, confirmation and merge kept, split classes searched again, every "
            "other row relabelled to agree with them (run: <RUN>-fix-<digest>, or --run).",
            show_default=False,
        ),
    ] = None,
    corrections: Annotated[
        list[str] | None,
        typer.Option(
            "--corrections",
            help="With --from: a corrections JSON file (names, merge, moves, confirm, split) or "
            "a Label Studio JSON export of the reviewed tasks. Repeatable: each file applies "
            "on top of the ones before.",
            show_default=False,
        ),
    ] = None,
    root: Root = None,
    **settings: Any,
) -> None:
    from hume.search.search_runs.request import SearchRequest
    from hume.search.search_runs.run_lifecycle import resume_search, run_search

    if from_run is not None or corrections:
        _refit(from_run, corrections, views, dataset, k, resume, run, device, root)
        return
    precision_name = precision.value if precision is not None else None
    if resume:
        resume_search(
            root,
            run,
            device=device,
            precision=precision_name,
            reporter=progress_reporter(),
            seed_range=seed_range,
        )
        return
    options = options_from(settings)
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
        from hume.search.k_choice.choosing import choose_search

        choose_search(
            request, ks, phi1_auto=phi1 == Phi1.auto, reporter=progress_reporter(), scan=k_scan
        )
        return
    run_search(request, reporter=progress_reporter())


search.__doc__ = HELP
with_setting_options(search)


def _refit(
    from_run: str | None,
    corrections: list[str] | None,
    views: list[str] | None,
    dataset: str | None,
    k: str | None,
    resume: bool,
    run: str | None,
    device: str | None,
    root: str | None,
) -> None:
    """``hume search --from RUN --corrections FILE``: a new run from a run and its review."""
    from hume.core.errors import HumeError
    from hume.refit.refit_run import plan_refit, refit
    from hume.runs import resolve_run

    if from_run is None:
        raise HumeError(
            "--corrections needs --from RUN: the run the corrections were made on (e.g. "
            "--from r --corrections corrections.json)"
        )
    given = [name for name, v in (("--views", views), ("--dataset", dataset), ("--k", k)) if v]
    if given or resume:
        raise HumeError(
            f"--from takes the views, dataset and classes of run {from_run}: leave out "
            f"{', '.join(given) or '--resume'} (a stopped refit continues by running the same "
            "command again)"
        )
    plan = plan_refit(resolve_run(root, from_run), list(corrections or []), root, run)
    path = refit(plan, root, device or "auto", progress_reporter())
    for line in plan.review.notes:
        typer.echo(line)
    typer.echo(f"run {path.name}: from {from_run}" + (" (already made)" if plan.done else ""))
