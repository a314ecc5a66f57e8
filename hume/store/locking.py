"""One writer per store: an exclusive lock file beside it, held while a store is filled."""

from __future__ import annotations

import os
from pathlib import Path

from hume.core.locks import ExclusiveLock


class StoreLock(ExclusiveLock):
    """The lock ``.<name>.lock`` beside a store, so two runs never fill it at once."""

    def __init__(self, path: str | os.PathLike):
        self.store = Path(path)
        super().__init__(
            self.store.with_name(f".{self.store.name}.lock"),
            f"another `hume embed` is writing {self.store} right now (or a `hume import` or a "
            "repair of it): wait for it to finish (or stop it) and run again",
        )
