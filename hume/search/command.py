"""`hume search`: the command-line layer of the search stage."""

from __future__ import annotations

from typing import Optional

import typer

from hume.cli_common import RootOption
from hume.errors import NotBuiltError


def search(
    views: list[str] = typer.Option(..., "--views", help="Views (store model names), comma-separated or repeated; the first is phi1, the rest are phi2 spaces."),
    dataset: Optional[str] = typer.Option(None, "--dataset", help="Dataset. Default: the one dataset under the root with all views."),
    k: Optional[int] = typer.Option(None, "--k", help="Number of classes. Default: the dataset's."),
    seeds: int = typer.Option(10, "--seeds", min=1, help="Seeds to run and ensemble."),
    setting: str = typer.Option("transductive", "--setting", help="inductive or transductive."),
    iters: Optional[int] = typer.Option(None, "--iters", help="Outer iterations."),
    inner_steps: Optional[int] = typer.Option(None, "--inner-steps", help="Inner gradient steps T."),
    subsets: Optional[int] = typer.Option(None, "--subsets", help="Subsets S per outer step."),
    subset_size: Optional[int] = typer.Option(None, "--subset-size", help="Rows m per subset."),
    train_fraction: Optional[float] = typer.Option(None, "--train-fraction", help="Train part of a subset."),
    tau: Optional[float] = typer.Option(None, "--tau", help="Initial sparsemax temperature."),
    entropy_weight: Optional[float] = typer.Option(None, "--entropy-weight", help="Weight of the label-entropy term."),
    inner_lr: Optional[float] = typer.Option(None, "--inner-lr", help="Inner step size."),
    outer_lr: Optional[float] = typer.Option(None, "--outer-lr", help="Outer Adam learning rate."),
    no_anneal: bool = typer.Option(False, "--no-anneal", help="Disable learning-rate and temperature annealing."),
    preset: Optional[str] = typer.Option(None, "--preset", help="'paper': the official hyperparameters exactly."),
    sweep: bool = typer.Option(False, "--sweep", help="Pick hyperparameters from a small grid by the label-free score."),
    method: str = typer.Option("hume", "--method", help="hume or turtle."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run (--run NAME)."),
    device: str = typer.Option("auto", "--device", help="auto, cpu or cuda."),
    run: Optional[str] = typer.Option(None, "--run", help="Run name. Default: time-dataset-method."),
    root: Optional[str] = RootOption,
) -> None:
    """Search for the human labeling over the given views (never reads labels)."""
    raise NotBuiltError("the search stage is not built yet (see issue: Search stage)")
