"""A full disk or a place that cannot be written, as one line: what, where, how much is needed.

The steps that write (embed, import, search) wrap their writing in :func:`disk_errors`, which
turns the operating system's ENOSPC/EDQUOT (full) and EROFS/EACCES/EPERM (not writable) into a
:class:`~hume.core.errors.HumeError` that says what was being written, where, how much more space is
needed when the caller can tell, and how to continue (the steps leave their work resumable).
"""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from hume.core.errors import HumeError, setting

_FULL = {errno.ENOSPC: "no space is left", errno.EDQUOT: "the disk quota is exceeded"}
_DENIED = {
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "permission denied",
    errno.ENOTDIR: "a part of that path is a file, not a folder",
}


def size_text(n: float) -> str:
    """``n`` bytes, readably: ``512 B``, ``1.5 MiB``."""
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def _errno_of(exc: BaseException, where: str | os.PathLike) -> int | None:
    """The errno of ``exc`` when it is about writing ``where``: a full disk or a read-only file
    system always are; a refused permission or a file in the way only when the file it names is
    ``where``, inside it or one of its folders (reading an input can be refused too)."""
    code = getattr(exc, "errno", None)
    if isinstance(exc, OSError) and code in _FULL or code == errno.EROFS:
        return int(code)
    if isinstance(exc, OSError) and code in _DENIED:
        named = getattr(exc, "filename", None)
        target = str(Path(where).absolute())
        name = str(Path(named).absolute()) if named else target
        ours = target.startswith(name.rstrip("/") + "/") or name.startswith(target)
        return int(code) if ours else None
    text = str(exc)  # HDF5 (through h5py) names the errno only in its message
    for known in (*_FULL, errno.EROFS):
        if f"errno = {known}," in text or os.strerror(known) in text:
            return known
    return None


def free_space(where: str | os.PathLike) -> int | None:
    """Free bytes on the file system of ``where`` (or of its nearest existing parent)."""
    path = Path(where).absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def disk_problem(
    exc: BaseException,
    what: str,
    where: str | os.PathLike,
    needed: int | None = None,
    then: str = "run the same command again",
) -> str | None:
    """The one-line message for ``exc`` when it is a full disk or an unwritable place, else None.

    ``what`` is the work (``"embedding into"``), ``where`` its target, ``needed`` the bytes it
    still has to write when known, ``then`` how to continue.
    """
    code = _errno_of(exc, where)
    if code in _FULL:
        free = free_space(where)
        amount = f"about {size_text(needed)} more is needed, " if needed else ""
        left = f"{size_text(free)} free there" if free is not None else "the free space unknown"
        return f"{_FULL[code]} on the disk while {what} {where} ({amount}{left}): free space and {then}"
    if code in _DENIED:
        target = getattr(exc, "filename", None) or where
        return (
            f"cannot write {target} while {what} {where}: {_DENIED[code]}; choose a writable "
            f"place ({setting('root')}) or make it writable, then {then}"
        )
    return None


@contextmanager
def disk_errors(
    what: str,
    where: str | os.PathLike,
    needed: Callable[[], int | None] | None = None,
    then: str = "run the same command again",
) -> Iterator[None]:
    """Raise a full disk or an unwritable place inside the block as one :class:`HumeError`."""
    try:
        yield
    except HumeError:
        raise
    except Exception as exc:
        amount = None
        if needed is not None and _errno_of(exc, where) in _FULL:
            try:
                amount = needed()
            except Exception:  # noqa: BLE001 - the estimate is a courtesy
                amount = None
        message = disk_problem(exc, what, where, amount, then)
        if message is None:
            raise
        raise HumeError(message) from exc
