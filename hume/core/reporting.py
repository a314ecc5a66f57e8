"""How the library tells its caller what it is doing, without printing.

- Messages (``wrote …``, ``skip …: already complete``, notes) go to the ``hume`` logger at INFO;
  a library user sees nothing unless they configure logging, the command layer prints them.
- Progress of long work (images embedded, outer iterations, baselines) goes to a
  :class:`Reporter`: functions that run long take ``reporter=`` and open one :class:`Task` per
  bar. The default :data:`SILENT` reporter ignores everything; the command layer passes one
  that draws progress bars.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

logger = logging.getLogger("hume")


class Task:
    """One unit of long work with a known (or unknown) total. Use as a context manager."""

    def advance(self, n: int = 1, **fields: Any) -> None:
        """``n`` more items done; ``fields`` are figures to show beside the bar."""

    def update(self, completed: int | None = None, total: int | None = None, **fields: Any) -> None:
        """Set the absolute progress (and the total, once known)."""

    def close(self) -> None:
        """The work is over (finished or abandoned)."""

    def __enter__(self) -> Task:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class Reporter:
    """Hands out :class:`Task` objects; this base class is silent."""

    def task(
        self, description: str, total: int | None = None, unit: str = "", **fields: Any
    ) -> Task:
        """A task called ``description`` of ``total`` items of ``unit`` (e.g. ``"img"``)."""
        return Task()


#: The reporter of library calls that were given none.
SILENT = Reporter()


class CountedTask(Task):
    """A task that remembers its completed units (the choice hands parts of it to the searches)."""

    def __init__(self, inner: Task, total: int):
        self.inner, self.completed, self.total = inner, 0, total

    def advance(self, n: int = 1, **fields: Any) -> None:
        self.completed += n
        self.inner.advance(n, **fields)

    def update(self, completed: int | None = None, total: int | None = None, **fields: Any) -> None:
        if completed is not None:
            self.completed = completed
        if total is not None:
            self.total = total
        self.inner.update(completed, total, **fields)

    def close(self) -> None:
        self.inner.close()

    def __enter__(self) -> CountedTask:
        return self


class NestedReporter(Reporter):
    """The reporter a candidate's search gets: its own bars as usual, and its progress carried
    into the choice's task (``units`` from ``start``), which then shows the time left."""

    def __init__(self, reporter: Reporter, outer: CountedTask, start: int, units: int):
        self.reporter, self.outer, self.start, self.units = reporter, outer, start, units

    def task(
        self, description: str, total: int | None = None, unit: str = "", **fields: Any
    ) -> Task:
        inner = self.reporter.task(description, total, unit, **fields)
        nested = self

        class Carried(Task):
            def advance(self, n: int = 1, **f: Any) -> None:
                inner.advance(n, **f)

            def update(
                self, completed: int | None = None, total: int | None = None, **f: Any
            ) -> None:
                inner.update(completed, total, **f)
                if description == "search" and completed is not None and total:
                    share = min(1.0, completed / total)
                    nested.outer.update(completed=nested.start + int(share * nested.units))

            def close(self) -> None:
                inner.close()

        return Carried()


class LineReporter(Reporter):
    """Progress as plain lines, for a log, a pipe or a job scheduler where no bar can be drawn:
    the words of the bar (description, done/total, the figures beside it, elapsed, time left).

    A task's line is written when it starts, whenever its ``at`` figure changes (a new stage, a
    K screened or searched) and when it closes; between those, at most one line every ``every``
    seconds over all its tasks. ``write`` receives each line (the command layer prints it)."""

    def __init__(
        self,
        write: Callable[[str], None],
        every: float = 10.0,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.write, self.every, self.clock = write, every, clock
        self.last = -float("inf")

    def task(
        self, description: str, total: int | None = None, unit: str = "", **fields: Any
    ) -> Task:
        return _LineTask(self, description, total, unit, fields)

    def emit(self, line: str) -> None:
        self.last = self.clock()
        self.write(line)


class _LineTask(Task):
    def __init__(
        self,
        owner: LineReporter,
        description: str,
        total: int | None,
        unit: str,
        fields: dict[str, Any],
    ):
        self.owner, self.description, self.total, self.unit = owner, description, total, unit
        self.fields, self.completed, self.closed = dict(fields), 0, False
        self.started = owner.clock()
        self.shown_at: Any = None
        owner.emit(self.line())

    def advance(self, n: int = 1, **fields: Any) -> None:
        self.update(completed=self.completed + n, **fields)

    def update(self, completed: int | None = None, total: int | None = None, **fields: Any) -> None:
        if completed is not None:
            self.completed = completed
        if total is not None:
            self.total = total
        if fields:  # the figures given replace those before, as on the bar
            self.fields = dict(fields)
        moved = "at" in fields and fields["at"] != self.shown_at
        if moved or self.owner.clock() - self.owner.last >= self.owner.every:
            self.shown_at = self.fields.get("at")
            self.owner.emit(self.line())

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self.fields.pop("at", None)
            self.owner.emit(self.line(done=True))

    def __exit__(self, *exc: object) -> None:
        if exc and exc[0] is not None:  # the error line says what happened
            self.closed = True
        self.close()

    def line(self, done: bool = False) -> str:
        """``choosing K among 2:20: 1,200/5,000 seed-it (24%), at screening K=5, 0:01:10
        elapsed, about 0:03:40 left``; the figures in the bar's words."""
        elapsed = self.owner.clock() - self.started
        parts = [f"{self.description}:"]
        if self.total:
            share = min(1.0, self.completed / self.total)
            unit = self.unit or "it"
            parts.append(f"{self.completed:,}/{self.total:,} {unit} ({share:.0%}),")
        figures = ", ".join(
            f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}" for k, v in self.fields.items()
        )
        parts.append(f"{figures}," if figures else "")
        parts.append(f"{_clock(elapsed)} elapsed")
        if done:
            parts.append("(done)")
        elif self.total and self.completed:
            left = elapsed * max(self.total - self.completed, 0) / self.completed
            parts.append(f", about {_clock(left)} left")
        return " ".join(p for p in parts if p).replace(" ,", ",")


def counted(n: int, word: str, plural: str | None = None) -> str:
    """``n`` and ``word`` as a person writes them: ``1 file``, ``2 files`` (``plural``: the word's
    plural where it is not ``word + "s"``)."""
    return f"{n} {word if n == 1 else plural or word + 's'}"


def _clock(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
