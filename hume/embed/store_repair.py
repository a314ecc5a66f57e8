"""Repairing a damaged store from where it came from (`hume verify --repair`).

An embedded store records the `hume embed` options that made it (``embed_options``): its damaged
chunks are embedded again with them (``embed(..., repair=True)``). An imported store records its
source array: its damaged chunks are copied again from it, each checked against the checksum the
store recorded (:func:`hume.store.importing.repair_import`).
"""

from __future__ import annotations

import os
from pathlib import Path

from hume.core.errors import HumeError, setting
from hume.core.reporting import SILENT, Reporter
from hume.store import open_store
from hume.store.importing import repair_import

#: The ``embed`` parameters an ``embed_options`` attribute may hold.
_EMBED_PARAMS = (
    "model",
    "dataset",
    "split",
    "batch_size",
    "precision",
    "data_dir",
    "weights",
    "feature",
    "dtype",
    "chunk_rows",
)


def repair_store(path: str | os.PathLike, reporter: Reporter = SILENT) -> bool:
    """Compute exactly the damaged chunks (and labels, paths) of the store at ``path`` again;
    False when it was intact."""
    from hume.embed.embed_settings import OPTIONS_ATTR
    from hume.embed.pipeline import embed

    path = Path(path)
    with open_store(path, allow_incomplete=True) as store:
        attrs, fmt = store.attrs, store.format
    if attrs.get("weights") == "imported":
        return repair_import(path, reporter)
    options = attrs.get(OPTIONS_ATTR)
    if not isinstance(options, dict):
        raise HumeError(
            f"the store {path} does not record the `hume embed` options that made it (it "
            f"predates them): run that `hume embed` command again with {setting('repair', True)}"
        )
    features = path.parent.parent.parent  # <root>/features/<dataset>/<split>/<store>
    if features.name != "features":
        raise HumeError(
            f"the store {path} is not inside a workspace (<root>/features/<dataset>/<split>/): "
            f"run the `hume embed` command that made it again with {setting('repair', True)}"
        )
    kwargs = {key: options[key] for key in _EMBED_PARAMS if key in options}
    return bool(embed(**kwargs, fmt=fmt, root=features.parent, repair=True, reporter=reporter))
