"""`hume import`: embeddings a user already has (.npy) into a feature store."""

from __future__ import annotations

from typing import Annotated

import typer

from hume.commands.common import Root
from hume.store import StoreDtype, StoreFormat


def import_(
    dataset: Annotated[str, typer.Option("--dataset", help="Dataset name the features belong to.")],
    split: Annotated[str, typer.Option("--split", help="train, test or all.")],
    model: Annotated[
        str, typer.Option("--model", help="Name of the view (becomes the store name).")
    ],
    features: Annotated[str, typer.Option("--features", help="N x D features as a .npy file.")],
    labels: Annotated[
        str | None,
        typer.Option(
            "--labels", help="N integer labels as .npy (−1 = unknown).", show_default=False
        ),
    ] = None,
    root: Root = None,
    format: Annotated[
        StoreFormat, typer.Option("--format", help="Store format.")
    ] = StoreFormat.zarr,
    dtype: Annotated[
        StoreDtype, typer.Option("--dtype", help="Stored dtype.")
    ] = StoreDtype.float16,
    overwrite: Annotated[
        bool, typer.Option("--overwrite", help="Replace an existing store.")
    ] = False,
) -> None:
    """Import embeddings you already have (.npy) as a feature store.

    Importing the same content again does nothing (and says so); an interrupted import resumes.
    """
    from hume.store.importing import import_features

    path = import_features(
        dataset,
        split,
        model,
        features,
        labels,
        root=root,
        fmt=format,
        dtype=dtype,
        overwrite=overwrite,
    )
    if path is not None:  # else the library said there was nothing to do
        typer.echo(f"wrote {path}")
