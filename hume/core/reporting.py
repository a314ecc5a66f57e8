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
