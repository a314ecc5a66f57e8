"""One process at a time: an exclusive, non-blocking lock file beside what it protects."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from hume.core.errors import HumeError


class ExclusiveLock:
    """An exclusive ``flock`` on the file ``path``; a second holder is refused with ``busy``.

    The kernel releases the lock when its process dies, so a killed process leaves no stale lock
    behind. Use as a context manager, or :meth:`acquire` and :meth:`release`.
    """

    def __init__(self, path: str | os.PathLike, busy: str):
        self.path = Path(path)
        self.busy = busy
        self._fd: int | None = None

    def acquire(self, wait: bool = False) -> None:
        """Take the lock, or raise :class:`HumeError` (``busy``) at once if another process holds
        it; with ``wait``, block until the holder lets go instead."""
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except OSError as exc:
                os.close(fd)
                raise HumeError(self.busy) from exc
            # the holder we waited for unlinks the file as it lets go: a lock on that unlinked
            # file excludes nobody, so take the lock again on the file now at the path
            if _same_file(fd, self.path):
                self._fd = fd
                return
            os.close(fd)

    @property
    def held(self) -> bool:
        """Whether this object holds the lock."""
        return self._fd is not None

    def held_by_another(self) -> bool:
        """Whether another process holds the lock now (takes and drops it when free)."""
        try:
            self.acquire()
        except HumeError:
            return True
        self.release()
        return False

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


def _same_file(fd: int, path: Path) -> bool:
    try:
        here, there = os.fstat(fd), os.stat(path)
    except FileNotFoundError:
        return False
    return (here.st_dev, here.st_ino) == (there.st_dev, there.st_ino)
