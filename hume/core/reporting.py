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
