"""`hume label`: from a folder of images (or any dataset) to its classes in one command.

Embeds the folder with each model (stores that are complete are reused), searches its labeling
with K chosen without labels from a range and each view tried as φ1, and exports the classes
(labels.csv, labels.parquet, a folder per class, the gallery) beside the folder. Every stage
resumes where it stopped; run again once finished, each stage says it has nothing to do.
"""

from __future__ import annotations

import os
from pathlib import Path
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
)
from hume.core.reporting import counted
from hume.search.methods import Method
from hume.search.vocabulary import ClassSizes, KScan, Phi1

#: the backbones the README recommends: a self-supervised φ1 and a language-supervised φ2
DEFAULT_MODELS = "dinov2,clip"
#: the range K is chosen from when --k is not given (docs/algorithm.md §10.6)
DEFAULT_K = "2:20"
#: without a terminal, a progress line at most this often (seconds) besides those of each stage


def dataset_spec(path: str) -> tuple[str, Path | None]:
    """(the dataset to embed, the image folder or None) for what the user named: a folder of
    images, or a dataset name such as ``digits`` or ``imagefolder:PATH``."""
    from hume.core.errors import HumeError
    from hume.core.names import canonical_dataset
    from hume.embed.datasets import list_datasets

    given = Path(path).expanduser()
    if given.is_dir():
        return f"imagefolder:{given.resolve()}", given.resolve()
    if given.exists():
        raise HumeError(f"{path} is a file: give the folder of images (or a dataset name)")
    if path.startswith("imagefolder:"):
        folder = Path(path.split(":", 1)[1]).expanduser()
        if not folder.is_dir():
            raise HumeError(f"no folder {folder}: give an existing folder of images")
        return f"imagefolder:{folder.resolve()}", folder.resolve()
    name = canonical_dataset(path)
    if ":" in name or name in list_datasets():
        return name, None
    raise HumeError(
        f"no folder or dataset {path!r}: give a folder of images, or one of "
        f"{', '.join(list_datasets())}"
    )


def _weights(values: list[str] | None, models: list[str]) -> dict[str, str]:
    """``--weights`` as {model: path}: ``MODEL=PATH`` each, or one PATH for a single model."""
    from hume.core.errors import HumeError
    from hume.core.names import canonical_model

    out: dict[str, str] = {}
    for value in split_commas(values):
        model, sep, where = value.partition("=")
        if not sep:
            if len(models) != 1:
                raise HumeError(
                    f"--weights {value}: with several models write MODEL=PATH (e.g. --weights "
                    f"{models[0]}={value})"
                )
            model, where = models[0], value
        model = canonical_model(model)
        if model not in {canonical_model(m) for m in models}:
            raise HumeError(
                f"--weights {value}: {model!r} is not one of --models {','.join(models)}"
            )
        out[model] = where
    return out


def _out_dir(out: str | None, folder: Path | None, dataset: str) -> Path:
    """Where the classes go: ``--out``, else ``<folder>-by-class`` beside the folder (for a
    named dataset, in the current directory); never inside the folder itself."""
    from hume.core.errors import HumeError

    target = (
        Path(out).expanduser().resolve()
        if out
        else (folder.parent / f"{folder.name}-by-class" if folder else Path(f"{dataset}-by-class"))
    ).resolve()
    if folder is not None and (target == folder or folder in target.parents):
        raise HumeError(
            f"--out {target} lies inside the image folder {folder}: choose a folder outside it "
            "(the classes link to the images; a second run would read them as new images)"
        )
    return target


def _skipped(stores: list[Path]) -> str:
    """What the embedding skipped, from the first view's stores (the image folder's scan)."""
    from hume.store import open_store

    not_images = unreadable = 0
    for path in stores:
        with open_store(path) as st:
            info = (st.attrs.get("dataset_info") or {}).get("skipped") or {}
        not_images += int(info.get("n_not_images", 0))
        unreadable += int(info.get("n_unreadable", 0))
    if not (not_images or unreadable):
        return "no file skipped"
    parts = [counted(not_images, "not an image", "not images")] if not_images else []
    parts += [f"{unreadable} unreadable"] if unreadable else []
    skipped = counted(not_images + unreadable, "file")
    return f"{skipped} skipped ({', '.join(parts)}; named when embedded)"


def label(
    path: Annotated[
        str,
        typer.Argument(
            help="A folder of images (any layout, sub-folders of any depth), or a dataset: "
            "digits, cifar10, imagefolder:PATH, …",
            show_default=False,
        ),
    ],
    models: Annotated[
        list[str] | None,
        typer.Option(
            "--models",
            help="Backbones, comma-separated; the first is tried as φ1 first. Offline, without "
            "weights: --models hog,pixels. Default: dinov2,clip.",
            show_default=False,
        ),
    ] = None,
    k: Annotated[
        str,
        typer.Option(
            "--k",
            help="Number of classes K, or the range (or list) to choose it from without labels: "
            "5:15, 4,8,16.",
        ),
    ] = DEFAULT_K,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            help="Folder to write the classes into. Default: <folder>-by-class beside the folder "
            "(a named dataset: <dataset>-by-class here). Never inside the image folder.",
            show_default=False,
        ),
    ] = None,
    weights: Annotated[
        list[str] | None,
        typer.Option(
            "--weights",
            help="Local weights: MODEL=PATH (a checkpoint file or model folder), repeated or "
            "comma-separated; PATH alone with one model.",
            show_default=False,
        ),
    ] = None,
    seeds: SeedsOption = 10,
    method: MethodOption = Method.hume,
    class_sizes: ClassSizesOption = ClassSizes.uniform,
    phi1: Phi1Option = Phi1.auto,
    k_scan: KScanOption = KScan.fast,
    run: Annotated[
        str | None,
        typer.Option(
            "--run",
            help="Run name. Default: <dataset>-<models>, so that the same command continues it.",
            show_default=False,
        ),
    ] = None,
    device: Annotated[
        str, typer.Option("--device", help="auto (CUDA when available), cpu, cuda or cuda:N.")
    ] = "auto",
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Images per forward pass (hume embed).")
    ] = 256,
    workers: Annotated[
        int, typer.Option("--workers", min=0, help="DataLoader worker processes (hume embed).")
    ] = 4,
    random_state: RandomStateOption = 0,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an earlier export in --out.")
    ] = False,
    corrections: Annotated[
        list[str] | None,
        typer.Option(
            "--corrections",
            help="A review of the classes (the gallery's corrections.json, or a Label Studio "
            "JSON export): a new run keeps every move, confirmation and merge, searches split "
            "classes again and relabels the other images to agree; its classes replace those "
            "in --out. Repeatable: each file applies on top of the ones before.",
            show_default=False,
        ),
    ] = None,
    dry_run: Annotated[
        bool,
        typer.Option(
            "--dry-run",
            help="Say what would be embedded, how many screens and searches the choice of K and "
            "φ1 runs and about how long it takes here (once the images are embedded); do nothing.",
        ),
    ] = False,
    root: Root = None,
) -> None:
    """From a folder of images to its classes: embed, choose K, search, export, in one command.

    Embeds the folder with each model (complete stores are reused), searches its labeling with K
    chosen without labels from --k and each model tried as φ1, then writes labels.csv (and
    labels.parquet), a folder per class and the gallery report.html into --out. With
    --corrections (saved from the gallery), a new run is made from the review and its classes
    are written instead. Interrupted, the same command continues; once finished, it says there
    is nothing to do.
    """
    from hume.commands.search_options import parse_k
    from hume.core.devices import check_device_name
    from hume.core.errors import HumeError, WeightsUnavailable
    from hume.core.names import canonical_model, safe_name
    from hume.embed.datasets import store_dataset_name
    from hume.embed.datasets.imagefolder import IMAGE_SUFFIXES, has_image_files
    from hume.embed.pipeline import embed
    from hume.export.exporter import ExportFormat, default_formats
    from hume.export.rows import run_rows
    from hume.runs import CHOICE, runs_dir
    from hume.search.k_choice.choosing import choose_search

    check_device_name(device)
    spec, folder = dataset_spec(path)
    if corrections:  # the files' shapes before any embedding or search (rows: once searched)
        from hume.export.review import check_file_shapes

        check_file_shapes(corrections)
    names = [canonical_model(m) for m in split_commas(models or [DEFAULT_MODELS])]
    if not names:
        raise HumeError("--models is empty: give one model or more, e.g. --models hog,pixels")
    ks = parse_k(k)
    local = _weights(weights, names)
    dataset = store_dataset_name(spec)
    target = _out_dir(out, folder, dataset)
    if folder is not None and not has_image_files(folder):  # before anything is written
        raise HumeError(
            f"no images in {folder}: it needs image files ({', '.join(IMAGE_SUFFIXES)}) at any "
            "depth"
        )
    if dry_run:
        _dry_run(spec, folder, dataset, names, ks, k, seeds, method, class_sizes, phi1, k_scan, run,
                 device, random_state, root)  # fmt: skip
        return
    bars = progress_reporter()
    steps = 4 if corrections else 3
    views: list[str] = []
    first_stores: list[Path] = []
    for i, model in enumerate(names):
        typer.echo(f"[1/{steps}] embedding {dataset} with {model} ({i + 1} of {len(names)})")
        try:
            stores = embed(
                model,
                spec,
                root=root,
                device=device,
                workers=workers,
                batch_size=batch_size,
                weights=local.get(model),
                reporter=bars,
            )
        except WeightsUnavailable as exc:
            # label names its own --weights
            said = exc.as_flags().split(", or pass --weights")[0]
            raise HumeError(
                f"{said}, or pass --weights {model}=PATH (a checkpoint file or model folder). "
                f"To try hume offline, use training-free views: `hume label {path} --models "
                "hog,pixels`"
            ) from exc
        views.append(stores[0].stem)
        first_stores = first_stores or stores
    auto = phi1 == Phi1.auto and method == Method.hume and len(views) > 1
    name = run or safe_name("run", f"{dataset}-{'-'.join(views)}")
    typer.echo(
        f"[2/{steps}] searching {dataset} over {','.join(views)}: K from {k}"
        + (", each model as φ1" if auto else "")
        + f" (run {name}; labels are not read)"
    )
    request = _request(views, dataset, seeds, method, device, name, root, random_state, class_sizes)
    if not (runs_dir(root) / name / CHOICE).is_file():  # (a choice made says nothing to do)
        typer.echo(f"  {_plan(request, ks, auto, k_scan)}")
    run_dir = choose_search(request, ks, phi1_auto=auto, reporter=bars, scan=k_scan)
    searched = run_dir
    if corrections:
        from hume.refit.refit_run import plan_refit, refit

        plan = plan_refit(_reviewed_run(run_dir, corrections, root), corrections, root)
        typer.echo(f"[3/4] making run {plan.name} from {plan.parent.name} and the review")
        run_dir = refit(plan, root, device, bars)
        for line in plan.review.notes:
            typer.echo(f"  {line}")
        overwrite = overwrite or _ours(target, searched, run_dir, root)
    typer.echo(f"[{steps}/{steps}] writing the classes into {target}")
    formats: list[Any] = [*default_formats(), ExportFormat.folders, ExportFormat.html]
    from hume.commands.export import write_rows
    from hume.runs import finished_config

    config = finished_config(run_dir)
    rows = run_rows(run_dir, root)
    write_rows(rows, target, formats, False, overwrite, run_dir, config.finished)
    chosen = finished_config(searched).choice or {}
    how = f"chosen from {k}" if len(ks) > 1 else "as given"
    if run_dir != searched:
        how += f"; {run_dir.name} made from your review"
    phi = f", φ1 {chosen['phi1']}" if auto and chosen.get("phi1") else ""
    gallery = target / "report.html"
    typer.echo(
        f"done: {rows.n_rows} images in K={len(rows.live_classes())} classes ({how}{phi}); gallery: "
        f"{os.fspath(gallery)}" + (f"; {_skipped(first_stores)}" if folder else "")
    )


def _request(
    views: list[str],
    dataset: str,
    seeds: int,
    method: Method,
    device: str,
    name: str,
    root: str | None,
    random_state: int,
    class_sizes: ClassSizes,
) -> Any:
    from hume.search.search_runs.request import SearchRequest

    return SearchRequest(
        views=views,
        dataset=dataset,
        seeds=seeds,
        method=method.value,
        device=device,
        run=name,
        root=root,
        random_state=random_state,
        class_sizes=class_sizes.value,
        single_view=len(views) == 1 and method == Method.hume,
    )


def _plan(request: Any, ks: list[int], auto: bool, scan: KScan) -> str:
    """The choice's plan and its time here, in one line (a probe of a few iterations)."""
    from hume.search.k_choice.choice_cost import estimate_choice, shown_cost

    return "plan: " + shown_cost(estimate_choice(request, ks, auto, scan))


def _dry_run(
    spec: str,
    folder: Path | None,
    dataset: str,
    names: list[str],
    ks: list[int],
    k: str,
    seeds: int,
    method: Method,
    class_sizes: ClassSizes,
    phi1: Phi1,
    k_scan: KScan,
    run: str | None,
    device: str,
    random_state: int,
    root: str | None,
) -> None:
    """What `hume label` would do, and its cost where the stores exist: nothing is written."""
    from hume.core.names import safe_name
    from hume.embed.datasets.imagefolder import IMAGE_SUFFIXES
    from hume.search.k_choice.choosing import FINALISTS, expected_screens
    from hume.store.paths import features_dir, resolve_root

    if folder is not None:
        n = sum(1 for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES)
        typer.echo(f"{folder}: {n} images")
    have = features_dir(resolve_root(root)) / dataset
    stored = [m for m in names if any(have.glob(f"*/{m}.zarr")) or any(have.glob(f"*/{m}.h5"))]
    for m in names:
        typer.echo(
            f"embed with {m}: " + ("stored (reused when complete)" if m in stored else "to do")
        )
    auto = phi1 == Phi1.auto and method == Method.hume and len(names) > 1
    n_cand = len(ks) * (len(names) if auto else 1)
    if stored == names:
        name = run or safe_name("run", f"{dataset}-{'-'.join(names)}")
        request = _request(names, dataset, seeds, method, device, name, root, random_state,
                           class_sizes)  # fmt: skip
        typer.echo(f"search, K from {k}: {_plan(request, ks, auto, k_scan)}")
        return
    if k_scan is KScan.exhaustive or n_cand <= FINALISTS:
        plan = f"{n_cand} searches in full"
    else:
        planned = expected_screens(len(ks), len(names) if auto else 1)
        planned = n_cand if k_scan is KScan.screen_all else planned
        plan = (
            f"about {planned} screens (at most {n_cand}), then {FINALISTS} searches in full or more"
        )
    typer.echo(
        f"search, K from {k}: {plan}; the time is estimated once the images are embedded (the "
        "same command says it before the search starts)"
    )


def _reviewed_run(searched: Path, corrections: list[str], root: str | None) -> Path:
    """The run a review was made on: the one its first file names (the gallery writes it; a
    run made from an earlier review), else the run the search chose."""
    from hume.core.errors import HumeError
    from hume.export.review import read_corrections_file
    from hume.runs import resolve_run

    data, _ = read_corrections_file(corrections[0])
    named = data.get("run") if isinstance(data, dict) else None
    if not isinstance(named, str) or named == searched.name:
        return searched
    path = resolve_run(root, named)
    if searched.name not in _lineage(path):
        raise HumeError(
            f"{corrections[0]} was made on run {named!r}, which was not made from "
            f"{searched.name}: pass the files of a review of this folder's classes"
        )
    return path


def _lineage(run_dir: Path) -> list[str]:
    """``run_dir``'s name and those of the runs it was made from, nearest first."""
    from hume.runs import load_config

    names, path = [run_dir.name], run_dir
    while True:
        parent = (load_config(path).extra.get("refit") or {}).get("from")
        if not parent or parent in names:
            return names
        names.append(parent)
        path = path.parent / parent


def _ours(target: Path, searched: Path, new: Path, root: str | None) -> bool:
    """Whether ``target`` holds an export of ``searched`` or of a run made from it, other than
    ``new`` (`hume label` replaces its own classes with those of a review)."""
    from hume.core.files import read_json
    from hume.runs import runs_dir

    try:
        run = read_json(target / "export.json").get("run")
    except (OSError, ValueError, AttributeError):
        return False
    path = runs_dir(root) / str(run)
    if not run or run == new.name or not (path / "config.json").is_file():
        return False
    return searched.name in _lineage(path)
