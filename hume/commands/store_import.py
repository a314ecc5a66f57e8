"""`hume import`: embeddings a user already has (.npy, .parquet) into a feature store."""

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
    features: Annotated[
        str,
        typer.Option(
            "--features",
            help="N x D features: a .npy file, or a .parquet file with a column of vectors (and, "
            "optionally, a column of each row's image file, as clip-retrieval writes).",
        ),
    ],
    paths: Annotated[
        str | None,
        typer.Option(
            "--paths",
            help="A text file naming each row's image, one path a line in the rows' order, so "
            "that export, the folder tree and the gallery can name and show every image.",
            show_default=False,
        ),
    ] = None,
    image_root: Annotated[
        str | None,
        typer.Option(
            "--image-root",
            help="The folder relative image paths start from. Default: the current directory.",
            show_default=False,
        ),
    ] = None,
    vector_column: Annotated[
        str | None,
        typer.Option(
            "--vector-column",
            help="parquet: the column of vectors. Default: the first of embedding, embeddings, "
            "vector, features, feature, emb.",
            show_default=False,
        ),
    ] = None,
    path_column: Annotated[
        str | None,
        typer.Option(
            "--path-column",
            help="parquet: the column of image paths. Default: the first of path, image_path, "
            "filepath, file_path, filename, file, image (none: no paths).",
            show_default=False,
        ),
    ] = None,
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
    """Import embeddings you already have (.npy, or .parquet) as a feature store.

    With the images' files (--paths, or a parquet path column) the store names each row's file
    as `hume embed` does; another view of the same dataset and split must list the same files in
    the same order. Importing the same content again does nothing (and says so); an interrupted
    import resumes.
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
        paths=paths,
        image_root=image_root,
        vector_column=vector_column,
        path_column=path_column,
    )
    if path is not None:  # else the library said there was nothing to do
        typer.echo(f"wrote {path}")
