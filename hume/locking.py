"""One process at a time: an exclusive, non-blocking lock file beside what it protects."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from hume.errors import HumeError


class ExclusiveLock:
    """An exclusive ``flock`` on the file ``path``; a second holder is refused with ``busy``.

    The kernel releases the lock when its process dies, so a killed process leaves no stale lock
    behind. Use as a context manager, or :meth:`acquire` and :meth:`release`.
    """

    def __init__(self, path: str | os.PathLike, busy: str):
        self.path = Path(path)
        self.busy = busy
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`HumeError` (``busy``) at once if another process holds it."""
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise HumeError(self.busy) from None
        self._fd = fd

    def release(self) -> None:
        """Drop the lock (nothing happens if it is not held)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> ExclusiveLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
