"""`hume demo`: the whole pipeline offline on scikit-learn's digits."""

from __future__ import annotations

import typer

from hume.commands.common import Root


def demo(
    root: Root = None,
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    seeds: int = typer.Option(10, "--seeds", min=1, help="Search seeds to run and ensemble."),
) -> None:
    """Run the whole pipeline offline on scikit-learn's digits (embed, search, evaluate)."""
    from hume.demo import run_demo

    run_demo(root=root, device=device, seeds=seeds)
