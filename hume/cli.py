"""The `hume` command: embed, import, search, evaluate, info, demo (SPEC §5)."""

from __future__ import annotations

from typing import Optional

import typer

from hume.cli_common import RootOption, guarded
from hume.embed.command import embed
from hume.evaluate.command import evaluate
from hume.search.command import search

app = typer.Typer(
    help="Infer the human labeling of a dataset without labels (HUME).\n\n"
         "Pipeline: `hume embed` features into stores, `hume search` a labeling over views, "
         "`hume evaluate` it against ground truth. `hume demo` runs all three offline.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _main() -> None:
    """Infer the human labeling of a dataset without labels (HUME)."""


app.command("embed")(guarded(embed))
app.command("search")(guarded(search))
app.command("evaluate")(guarded(evaluate))


@app.command("import")
@guarded
def import_(
    dataset: str = typer.Option(..., "--dataset", help="Dataset name the features belong to."),
    split: str = typer.Option(..., "--split", help="train, test or all."),
    model: str = typer.Option(..., "--model", help="Name of the view (becomes the store name)."),
    features: str = typer.Option(..., "--features", help="N x D features as a .npy file."),
    labels: Optional[str] = typer.Option(None, "--labels", help="N integer labels as .npy (−1 = unknown)."),
    root: Optional[str] = RootOption,
    format: str = typer.Option("zarr", "--format", help="Store format: zarr or hdf5."),
    dtype: str = typer.Option("float16", "--dtype", help="Stored dtype: float16 or float32."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing store."),
) -> None:
    """Import embeddings you already have (.npy) as a feature store."""
    from hume.store.importing import import_features

    path = import_features(dataset, split, model, features, labels, root=root, fmt=format,
                           dtype=dtype, overwrite=overwrite)
    typer.echo(f"wrote {path}")


@app.command("info")
@guarded
def info(
    path: Optional[str] = typer.Argument(None, help="A store (.zarr/.h5) or run directory to describe."),
    root: Optional[str] = RootOption,
) -> None:
    """List stores and runs under the root, or describe one store or run."""
    from rich.console import Console

    from hume.info import describe, list_workspace

    console = Console()
    if path:
        describe(path, console)
    else:
        list_workspace(root, console)


@app.command("demo")
@guarded
def demo(
    root: Optional[str] = RootOption,
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    seeds: int = typer.Option(10, "--seeds", min=1, help="Search seeds to run and ensemble."),
) -> None:
    """Run the whole pipeline offline on scikit-learn's digits (embed, search, evaluate)."""
    from hume.demo import run_demo

    run_demo(root=root, device=device, seeds=seeds)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
