"""`hume embed`: the command-line layer of the embed stage."""

from __future__ import annotations

from typing import Optional

import typer

from hume.cli_common import RootOption
from hume.errors import NotBuiltError


def embed(
    model: str = typer.Option(..., "--model", help="Backbone name, e.g. dinov2, clip, pixels, hog."),
    dataset: str = typer.Option(..., "--dataset", help="Dataset name, e.g. cifar10, stl10, imagenet, digits."),
    split: Optional[str] = typer.Option(None, "--split", help="train, test or all. Default: every split the dataset has."),
    root: Optional[str] = RootOption,
    format: str = typer.Option("zarr", "--format", help="Store format: zarr or hdf5."),
    batch_size: int = typer.Option(256, "--batch-size", min=1, help="Images per forward pass."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    precision: str = typer.Option("fp16", "--precision", help="fp32, fp16 or bf16 (autocast on GPU)."),
    workers: int = typer.Option(4, "--workers", min=0, help="DataLoader worker processes."),
) -> None:
    """Embed a dataset with a pretrained backbone into a feature store (resumable)."""
    raise NotBuiltError("the embed stage is not built yet (see issue: Embed stage)")
