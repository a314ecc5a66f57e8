"""The options `hume search` shares with `hume label`, declared once, and the setting options
built from the search's own declaration (hume.search.settings.SearchOptions: name, type, help;
the methods' presets: defaults)."""

from __future__ import annotations

import inspect
import typing
from collections.abc import Callable
from typing import Annotated, Any

import typer

from hume.core.errors import HumeError, flag_text
from hume.search.methods import Method, get_method_config, list_methods
from hume.search.settings import SETTINGS, SearchOptions, flag, switch_flags
from hume.search.vocabulary import ClassSizes, KScan, Phi1

KScanOption = Annotated[
    KScan,
    typer.Option(
        "--k-scan",
        help="How a K range (or --phi1 auto) is searched: fast (K screened upwards with 6 seeds "
        "of two fifths of the iterations until the criterion has fallen behind, φ1 compared at "
        "the best K, then searched in full, best screen first, while it could still win; "
        "docs/algorithm.md §10.6–10.7), screen-all (every K and φ1 screened, as before) or "
        "exhaustive (every K searched in full: every candidate a run, every curve).",
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


#: how a default of None reads, per setting (the methods derive it from the data)
_FROM_DATA = {"subset_size": "min(N, 10 000)", "inner_lr": "1/λmax"}


def _defaults(name: str) -> str:
    """`` Default: HUME 150 (paper 1000); TURTLE 1000 (paper 6000).`` from the presets."""

    def shown(value: Any) -> str:
        if value is None:
            return _FROM_DATA.get(name, "none")
        if isinstance(value, bool):
            return flag(name, value)
        return f"{value:g}" if isinstance(value, float) else str(value)

    parts = []
    for method in list_methods():
        config = get_method_config(method)
        if name not in config.OPTIONS:
            continue
        default = getattr(config.preset("default"), name)
        paper = getattr(config.preset("paper"), name)
        also = f" (paper {shown(paper)})" if paper != default else ""
        parts.append(f"{method.upper()} {shown(default)}{also}")
    return f" Default: {'; '.join(parts)}." if parts else ""


def _setting_parameters() -> list[inspect.Parameter]:
    """The typer parameters of every setting option (SearchOptions' fields)."""
    hints = typing.get_type_hints(SearchOptions)
    out = []
    for name, declared in SETTINGS.items():
        text = flag_text(declared.metadata["help"])
        on, off = switch_flags(name)
        if off is not None and on is None:  # a switch that only turns a default off
            name, default = f"no_{name}", False
            text = f"Disable {text[0].lower()}{text[1:]}"
            kind: Any = Annotated[bool, typer.Option(off, help=text)]
        elif off is not None:
            default = None
            kind = Annotated[
                bool | None,
                typer.Option(f"{on}/{off}", help=text + _defaults(name), show_default=False),
            ]
        else:
            default = None
            kind = Annotated[
                hints[name],
                typer.Option(flag(name), help=text + _defaults(name), show_default=False),
            ]
        out.append(
            inspect.Parameter(
                name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=kind
            )
        )
    return out


def with_setting_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """``command`` (which takes ``**settings``) with every setting option in its signature, for
    typer to build the command line from."""
    signature = inspect.signature(command, eval_str=True)  # typer reads a __signature__ as is
    fixed = [
        p for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    names = [p.name for p in fixed]
    at = names.index("resume") if "resume" in names else len(fixed)  # the settings, then the rest
    settings = [
        p.replace(kind=inspect.Parameter.POSITIONAL_OR_KEYWORD) for p in _setting_parameters()
    ]
    command.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=[*fixed[:at], *settings, *fixed[at:]]
    )
    return command


def options_from(settings: dict[str, Any]) -> SearchOptions:
    """The SearchOptions of the setting options a command received (a switch that only turns a
    default off arrives as ``no_<name>``)."""
    given: dict[str, Any] = {}
    for name in SETTINGS:
        on, off = switch_flags(name)
        if off is not None and on is None:
            given[name] = False if settings.get(f"no_{name}") else None
        else:
            given[name] = settings.get(name)
    return SearchOptions(**given)
