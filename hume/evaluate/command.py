"""`hume evaluate`: the command-line layer of the evaluate stage."""

from __future__ import annotations

from typing import Optional

import typer

from hume.cli_common import RootOption
from hume.errors import NotBuiltError


def evaluate(
    run: Optional[str] = typer.Option(None, "--run", help="Run name. Default: the newest run."),
    root: Optional[str] = RootOption,
) -> None:
    """Score a search run against ground truth and baselines; write report and figures."""
    raise NotBuiltError("the evaluate stage is not built yet (see issue: Evaluate stage)")
