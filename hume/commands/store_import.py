"""`hume import`: embeddings a user already has (.npy) into a feature store."""

from __future__ import annotations

from typing import Optional

import typer

from hume.commands.common import Root


def import_(
    dataset: str = typer.Option(..., "--dataset", help="Dataset name the features belong to."),
    split: str = typer.Option(..., "--split", help="train, test or all."),
    model: str = typer.Option(..., "--model", help="Name of the view (becomes the store name)."),
    features: str = typer.Option(..., "--features", help="N x D features as a .npy file."),
    labels: Optional[str] = typer.Option(None, "--labels", help="N integer labels as .npy (−1 = unknown)."),
    root: Root = None,
    format: str = typer.Option("zarr", "--format", help="Store format: zarr or hdf5."),
    dtype: str = typer.Option("float16", "--dtype", help="Stored dtype: float16 or float32."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing store."),
) -> None:
    """Import embeddings you already have (.npy) as a feature store."""
    from hume.store.importing import import_features

    path = import_features(dataset, split, model, features, labels, root=root, fmt=format,
                           dtype=dtype, overwrite=overwrite)
    typer.echo(f"wrote {path}")
