"""What every command shares: option types, comma lists, the error guard, messages and bars."""

from __future__ import annotations

import functools
import logging
import sys
from collections.abc import Callable
from typing import Annotated, Any

import typer

from hume.core.disk_errors import disk_problem
from hume.core.errors import HumeError, Interrupted, flag_text
from hume.core.reporting import LineReporter, Reporter, Task, logger

Root = Annotated[
    str | None,
    typer.Option(
        "--root",
        help="Workspace root (stores and runs). Default: $HUME_ROOT, else ./hume-data.",
        show_default=False,
    ),
]
Device = Annotated[
    str, typer.Option("--device", help="auto (CUDA when available), cpu, cuda or cuda:N.")
]


def split_commas(values: list[str] | None) -> list[str]:
    """Accept both ``--views a,b`` and ``--views a --views b``."""
    out: list[str] = []
    for value in values or []:
        out.extend(part.strip() for part in value.split(",") if part.strip())
    return out


def fail(message: str, code: int = 2) -> None:
    """Print one line to stderr and exit with ``code``."""
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(code)


class _EchoHandler(logging.Handler):
    """The library's messages (``hume`` logger), one line each on the current stderr."""

    def emit(self, record: logging.LogRecord) -> None:
        typer.echo(self.format(record), err=True)


def show_messages() -> None:
    """Print the library's INFO messages on stderr (installed once per process)."""
    if not any(isinstance(h, _EchoHandler) for h in logger.handlers):
        logger.addHandler(_EchoHandler())
        logger.setLevel(logging.INFO)
        logger.propagate = False


def guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Run a command: HumeError → one line and exit 2; Ctrl-C → how to continue and exit 130.

    A full disk or an unwritable place that the library did not name itself is one line too.
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        show_messages()
        try:
            return fn(*args, **kwargs)
        except HumeError as exc:
            fail(" ".join(exc.as_flags().split()))  # one line, whatever it held
        except Interrupted as exc:
            typer.echo(f"interrupted: {exc}", err=True)
            sys.exit(130)
        except KeyboardInterrupt:
            typer.echo("interrupted: run the same command again to continue", err=True)
            sys.exit(130)
        except OSError as exc:
            message = disk_problem(exc, "writing", exc.filename or "its output")
            if message is None:
                raise
            fail(flag_text(message))

    return wrapper


class _RichTask(Task):
    def __init__(self, owner: BarReporter, progress: Any, task_id: Any):
        self.owner, self.progress, self.id = owner, progress, task_id
        self.closed = False

    def advance(self, n: int = 1, **fields: Any) -> None:
        self.progress.update(self.id, advance=n, **_shown(fields))

    def update(self, completed: int | None = None, total: int | None = None, **fields: Any) -> None:
        kw: dict[str, Any] = _shown(fields)
        if completed is not None:
            kw["completed"] = completed
        if total is not None:
            kw["total"] = total
        self.progress.update(self.id, **kw)

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.progress.stop_task(self.id)
            self.owner._closed()

    def __exit__(self, *exc: object) -> None:
        if exc and exc[0] is not None and not self.closed:  # the error line says what happened
            self.progress.update(self.id, visible=False)
        self.close()


def _shown(fields: dict[str, Any]) -> dict[str, Any]:
    """Task fields rendered as one text column: ``objective 0.1234  H 2.301``."""
    if not fields:
        return {}
    text = "  ".join(
        f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in fields.items()
    )
    return {"figures": text}


class BarReporter(Reporter):
    """Progress bars on stderr (rich): description, bar, done/total, rate, figures, times.

    ``transient`` bars vanish when they stop (for checks whose verdict is the one line after).
    """

    def __init__(self, enabled: bool = True, transient: bool = False):
        self.enabled = enabled
        self.transient = transient
        self._progress: Any = None
        self._open = 0

    def _bars(self) -> Any:
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            ProgressColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.text import Text

        class Rate(ProgressColumn):
            def render(self, task: Any) -> Text:
                unit = task.fields.get("unit") or "it"
                speed = task.finished_speed or task.speed
                return Text(
                    f"{speed:,.1f} {unit}/s" if speed else f"– {unit}/s",
                    style="progress.data.speed",
                )

        if self._progress is None:
            self._progress = Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                MofNCompleteColumn(),
                Rate(),
                TextColumn("{task.fields[figures]}"),
                TimeElapsedColumn(),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                disable=not self.enabled,
                transient=self.transient,
            )
            self._progress.start()
        return self._progress

    def task(
        self, description: str, total: int | None = None, unit: str = "", **fields: Any
    ) -> Task:
        progress = self._bars()
        task_id = progress.add_task(
            description, total=total, unit=unit, figures=_shown(fields).get("figures", "")
        )
        self._open += 1
        return _RichTask(self, progress, task_id)

    def _closed(self) -> None:
        """The bars stop (and leave their last state on screen) once every task is closed."""
        self._open -= 1
        if self._open == 0 and self._progress is not None:
            self._progress.stop()
            self._progress = None


#: seconds between two progress lines of one task, at most, where no terminal shows bars
PROGRESS_EVERY = 5.0


def progress_reporter() -> Reporter:
    """Bars where stderr is a terminal; elsewhere (a log, a pipe, a job scheduler) plain lines
    in the bars' words, a line per stage and per K, at most one more every few seconds."""
    if sys.stderr.isatty():
        return BarReporter()
    return LineReporter(lambda line: typer.echo(line, err=True), every=PROGRESS_EVERY)
