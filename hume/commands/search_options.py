"""The options `hume search` shares with `hume label`, declared once."""

from __future__ import annotations

from typing import Annotated

import typer

from hume.core.errors import HumeError
from hume.search.methods import Method
from hume.search.vocabulary import ClassSizes, KScan, Phi1

KScanOption = Annotated[
    KScan,
    typer.Option(
        "--k-scan",
        help="How a K range (or --phi1 auto) is searched: fast (every K first screened with "
        "6 seeds of a fifth of the iterations, then searched in full, best screen first, while "
        "it could still win; docs/algorithm.md §10.6) or exhaustive (every K searched in full: "
        "every candidate a run, every curve).",
    ),
]

ClassSizesOption = Annotated[
    ClassSizes,
    typer.Option(
        "--class-sizes",
        help="uniform: the entropy term pulls the classes to equal sizes (the papers); "
        "uneven: its weight is chosen among 10, 3, 1, 0.3 (2 seeds each) by the balanced "
        "label-free score, so that one large class is not split to make the sizes equal.",
    ),
]

Phi1Option = Annotated[
    Phi1,
    typer.Option(
        "--phi1",
        help="first: the first view is φ1; auto: each view is tried as φ1 (a run per order, "
        "<run>-k10-phi1-<view>), chosen like K, by the same criterion (HUME, two views or "
        "more).",
    ),
]

SeedsOption = Annotated[int, typer.Option("--seeds", help="Seeds to run (batched) and ensemble.")]

MethodOption = Annotated[
    Method,
    typer.Option(
        "--method",
        help="hume (second order, φ1 parametrises the labeling) or turtle (first order, every view does).",
    ),
]

RandomStateOption = Annotated[int, typer.Option("--random-state", help="Base seed of the run.")]


def parse_k(spec: str | int) -> list[int]:
    """``10`` → [10]; ``5:15`` → 5, 6, …, 15 (both ends included); ``4,8,16`` → [4, 8, 16]."""
    text = str(spec).strip()
    try:
        bounds = [int(p) for p in text.split(":", 1)] if ":" in text else None
        listed = [int(p) for p in text.split(",") if p.strip()] if bounds is None else []
    except ValueError:
        raise HumeError(
            f"--k {text!r} is not a number, a range low:high or a list a,b,c: e.g. --k 10, "
            "--k 5:15 or --k 4,8,16"
        ) from None
    if bounds is not None and bounds[1] < bounds[0]:
        raise HumeError(f"--k {text}: the range is reversed; write it low:high, e.g. 5:15")
    values = list(range(bounds[0], bounds[1] + 1)) if bounds is not None else listed
    if not values:
        raise HumeError(f"--k {text!r} names no K: e.g. --k 10, --k 5:15 or --k 4,8,16")
    small = [k for k in values if k < 2]
    if small:
        raise HumeError(f"--k {text}: every K must be at least 2 (got {small[0]})")
    return sorted(set(values))
