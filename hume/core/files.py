"""Writing files so that readers never see half of one: every file a run or report holds."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

PARTIAL = ".partial-"  # in the name of every temporary file of an atomic write


@contextmanager
def atomic_write(path: str | os.PathLike, suffix: str = ".tmp") -> Iterator[str]:
    """Yield a temporary path beside ``path``; on success it replaces ``path`` in one step.

    Readers never see a half-written file, and an error leaves no temporary file behind. The
    file gets the usual permissions (0666 less the umask), not mkstemp's private 0600.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}{PARTIAL}", suffix=suffix)
    os.close(fd)
    try:
        yield tmp
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def remove_partial_writes(folder: str | os.PathLike) -> None:
    """Remove the temporary files of atomic writes in ``folder`` that a killed process left.

    Only for a caller that owns the folder (holds its lock): another process may be writing.
    """
    for tmp in Path(folder).glob(f".*{PARTIAL}*"):
        tmp.unlink(missing_ok=True)


def write_json(path: str | os.PathLike, obj: Any) -> None:
    """Write ``obj`` as indented JSON, atomically."""
    with atomic_write(path) as tmp, open(tmp, "w") as fh:
        json.dump(obj, fh, indent=2, sort_keys=False, default=str)
        fh.write("\n")


def read_json(path: str | os.PathLike) -> Any:
    with open(path) as fh:
        return json.load(fh)


def write_text(path: str | os.PathLike, text: str) -> None:
    """Write ``text`` (UTF-8), atomically."""
    with atomic_write(path) as tmp:
        Path(tmp).write_text(text, encoding="utf-8")


def save_npz(path: str | os.PathLike, arrays: dict[str, Any], compressed: bool = False) -> None:
    """Write the named NumPy ``arrays`` to ``path`` (.npz), atomically."""
    import numpy as np

    with atomic_write(path, suffix=".npz") as tmp:  # np.savez appends .npz to other names
        (np.savez_compressed if compressed else np.savez)(tmp, **arrays)


class _KeptWriteErrors:
    """A binary file that keeps the OSError of a failed write: torch.save turns it into a bare
    RuntimeError, and the caller needs the errno (a full disk) to say what happened."""

    def __init__(self, fh: Any):
        self.fh = fh
        self.error: OSError | None = None

    def write(self, data: Any) -> int:
        try:
            return self.fh.write(data)
        except OSError as exc:
            self.error = exc
            raise

    def flush(self) -> None:
        self.fh.flush()


def save_torch(obj: Any, path: str | os.PathLike) -> None:
    """``torch.save`` to ``path``, atomically; a failed write raises its OSError."""
    import torch

    with atomic_write(path) as tmp, open(tmp, "wb") as fh:
        out = _KeptWriteErrors(fh)
        try:
            torch.save(obj, out)
        except RuntimeError:
            if out.error is not None:  # the write's own error, not torch's wrapper of it
                raise out.error from None
            raise
