"""One writer per store: an exclusive lock file beside it, held while a store is filled."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from hume.errors import HumeError


class StoreLock:
    """An exclusive lock beside a store, so two ``hume embed`` runs never fill it at once.

    ``flock`` is released by the kernel when the process dies, so a killed run leaves no stale
    lock behind. Use as a context manager, or :meth:`acquire` and :meth:`release`.
    """

    def __init__(self, path: str | os.PathLike):
        self.store = Path(path)
        self.path = self.store.with_name(f".{self.store.name}.lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise :class:`HumeError` at once if another process holds it."""
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            raise HumeError(
                f"another `hume embed` is writing {self.store} right now: wait for it "
                "to finish (or stop it) and run again"
            ) from None
        self._fd = fd

    def release(self) -> None:
        """Drop the lock (nothing happens if it is not held)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                self.path.unlink()
            os.close(self._fd)  # closing drops the flock
            self._fd = None

    def __enter__(self) -> StoreLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
