"""`hume info`: list the stores and runs under a root, or describe one store or run."""

from __future__ import annotations

from typing import Optional

import typer

from hume.commands.common import Root


def info(
    path: Optional[str] = typer.Argument(None, help="A store (.zarr/.h5) or run directory to describe."),
    root: Root = None,
) -> None:
    """List stores and runs under the root, or describe one store or run."""
    from rich.console import Console

    from hume.info import describe, list_workspace

    console = Console()
    if path:
        describe(path, console)
    else:
        list_workspace(root, console)
