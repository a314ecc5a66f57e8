"""Pieces every command shares: option types, comma lists, and the error guard."""

from __future__ import annotations

import functools
import sys
from typing import Any, Callable, Optional

import typer

from hume.errors import HumeError

RootOption = typer.Option(
    None, "--root", help="Workspace root (stores and runs). Default: $HUME_ROOT, else ./hume-data.",
    show_default=False,
)


def split_commas(values: Optional[list[str]]) -> list[str]:
    """Accept both ``--views a,b`` and ``--views a --views b``."""
    out: list[str] = []
    for value in values or []:
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return out


def fail(message: str, code: int = 2) -> None:
    """Print one line to stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Turn :class:`HumeError` (bad input) into a one-line message and exit code 2."""

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return fn(*args, **kwargs)
        except HumeError as exc:
            message = " ".join(str(exc).split())  # one line, whatever the message held
            fail(message)
        except KeyboardInterrupt:
            typer.echo("interrupted: run the same command again to continue", err=True)
            sys.exit(130)

    return wrapper
