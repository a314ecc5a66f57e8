"""`hume embed`: the command-line layer of the embed stage (the work is in hume.embed.pipeline)."""

from __future__ import annotations

from typing import Annotated

import typer

from hume.commands.common import Device, Root, progress_reporter
from hume.core.names import ALIASES
from hume.embed.backbones import FeatureKind, backbone_patterns, list_backbones
from hume.embed.datasets import dataset_patterns, list_datasets
from hume.embed.embed_settings import EmbedPrecision
from hume.embed.pipeline import embed as run_embed
from hume.store import StoreDtype, StoreFormat


def embed(
    model: Annotated[
        str,
        typer.Option(
            "--model",
            help=f"Backbone: {', '.join(list_backbones())} (aliases "
            f"{', '.join(ALIASES['model'])}), or "
            f"{', '.join(backbone_patterns())}.",
        ),
    ],
    dataset: Annotated[
        str,
        typer.Option(
            "--dataset",
            help=f"Dataset: {', '.join(list_datasets())}, or {', '.join(dataset_patterns())}.",
        ),
    ],
    split: Annotated[
        str | None,
        typer.Option(
            "--split",
            help="train, test or all (stl10 also unlabeled). Default: every split the dataset has.",
            show_default=False,
        ),
    ] = None,
    root: Root = None,
    format: Annotated[
        StoreFormat, typer.Option("--format", help="Store format (hdf5: one process only).")
    ] = StoreFormat.zarr,
    batch_size: Annotated[
        int, typer.Option("--batch-size", min=1, help="Images per forward pass.")
    ] = 256,
    device: Device = "auto",
    precision: Annotated[
        EmbedPrecision,
        typer.Option("--precision", help="Autocast precision on a GPU (the CPU runs fp32)."),
    ] = EmbedPrecision.fp16,
    workers: Annotated[
        int, typer.Option("--workers", min=0, help="DataLoader worker processes.")
    ] = 4,
    data_dir: Annotated[
        str | None,
        typer.Option(
            "--data-dir",
            help="Where datasets are found or downloaded. Default: <root>/data.",
            show_default=False,
        ),
    ] = None,
    weights: Annotated[
        str | None,
        typer.Option(
            "--weights",
            help="Local weights (file or directory) instead of the hub cache.",
            show_default=False,
        ),
    ] = None,
    feature: Annotated[
        FeatureKind,
        typer.Option(
            "--feature",
            help="cls, or cls+mean (CLS concatenated with the mean patch token; "
            "transformers ViTs such as DINOv2).",
        ),
    ] = FeatureKind.cls,
    dtype: Annotated[
        StoreDtype, typer.Option("--dtype", help="Stored dtype.")
    ] = StoreDtype.float16,
    overwrite: Annotated[
        bool,
        typer.Option(
            "--overwrite",
            help="Embed again: replace complete or unfinished stores instead of leaving or "
            "resuming them.",
        ),
    ] = False,
    repair: Annotated[
        bool,
        typer.Option(
            "--repair",
            help="Verify complete stores chunk by chunk and embed exactly the damaged chunks "
            "again (a resume always does this for the chunks already written).",
        ),
    ] = False,
    chunk_rows: Annotated[
        int | None,
        typer.Option(
            "--chunk-rows",
            min=1,
            help="Rows per store chunk (the unit of writing and resuming). "
            "Default: about 1024, a whole number of batches.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Embed a dataset with a pretrained backbone into feature stores (resumable, multi-GPU).

    Run the same command again after an interruption: it continues from the first unfinished chunk.
    On a complete store it does nothing (and says so); --repair re-embeds damaged chunks.

    Several GPUs: torchrun --nproc_per_node=N -m hume embed ...
    """
    run_embed(
        model,
        dataset,
        split=split,
        root=root,
        fmt=format,
        batch_size=batch_size,
        device=device,
        precision=precision,
        workers=workers,
        data_dir=data_dir,
        weights=weights,
        feature=feature,
        dtype=dtype,
        overwrite=overwrite,
        chunk_rows=chunk_rows,
        repair=repair,
        reporter=progress_reporter(),
    )
