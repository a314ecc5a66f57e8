"""`hume embed`: the command-line layer of the embed stage (the work is in hume.embed.pipeline)."""

from __future__ import annotations

from typing import Optional

import typer

from hume.commands.common import Root


def embed(
    model: str = typer.Option(..., "--model", help="Backbone name, e.g. dinov2, clip, clip-b32, "
                              "open_clip:ARCH/TAG, hf:REPO, pixels, hog."),
    dataset: str = typer.Option(..., "--dataset", help="Dataset name, e.g. cifar10, cifar100, "
                                "cifar100-20, stl10, imagenet, imagefolder:PATH, digits."),
    split: Optional[str] = typer.Option(None, "--split", help="train, test or all. Default: every "
                                        "split the dataset has."),
    root: Root = None,
    format: str = typer.Option("zarr", "--format", help="Store format: zarr or hdf5 (hdf5: one "
                               "process only)."),
    batch_size: int = typer.Option(256, "--batch-size", min=1, help="Images per forward pass."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    precision: str = typer.Option("fp16", "--precision", help="fp32, fp16 or bf16 (autocast on "
                                  "GPU; CPU runs fp32)."),
    workers: int = typer.Option(4, "--workers", min=0, help="DataLoader worker processes."),
    data_dir: Optional[str] = typer.Option(None, "--data-dir", help="Where datasets are found or "
                                           "downloaded. Default: <root>/data.", show_default=False),
    weights: Optional[str] = typer.Option(None, "--weights", help="Local weights (file or "
                                          "directory) instead of the hub cache.", show_default=False),
    feature: str = typer.Option("cls", "--feature", help="cls, or cls+mean (CLS concatenated with "
                                "the mean patch token; DINOv2)."),
    dtype: str = typer.Option("float16", "--dtype", help="Stored dtype: float16 or float32."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace complete or unfinished "
                                   "stores instead of refusing or resuming them."),
    chunk_rows: Optional[int] = typer.Option(None, "--chunk-rows", min=1, help="Rows per store "
                                             "chunk (the unit of writing and resuming). Default: "
                                             "about 1024, a whole number of batches.",
                                             show_default=False),
) -> None:
    """Embed a dataset with a pretrained backbone into feature stores (resumable, multi-GPU).

    Run the same command again after an interruption: it continues from the first unfinished chunk.

    Several GPUs: torchrun --nproc_per_node=N -m hume embed ...
    """
    from hume.embed.pipeline import embed as run_embed

    run_embed(model, dataset, split=split, root=root, fmt=format, batch_size=batch_size,
              device=device, precision=precision, workers=workers, data_dir=data_dir,
              weights=weights, feature=feature, dtype=dtype, overwrite=overwrite,
              chunk_rows=chunk_rows)
