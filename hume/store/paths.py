"""Where things live in a workspace (docs/data.md §1, §2.1)."""

from __future__ import annotations

import os
from enum import StrEnum
from pathlib import Path

from hume.core.errors import HumeError
from hume.core.fixed_choices import choose
from hume.core.locks import ExclusiveLock
from hume.core.names import check_name


class StoreFormat(StrEnum):
    """A store's backend: Zarr v3 (several writers of disjoint chunks) or HDF5 (one writer)."""

    zarr = "zarr"
    hdf5 = "hdf5"


#: Store format -> file suffix.
FORMATS: dict[StoreFormat, str] = {StoreFormat.zarr: ".zarr", StoreFormat.hdf5: ".h5"}
DEFAULT_ROOT = "./hume-data"


def resolve_root(root: str | os.PathLike | None = None) -> Path:
    """``--root`` if given, else ``$HUME_ROOT``, else ``./hume-data``."""
    if root is None or str(root) == "":
        root = os.environ.get("HUME_ROOT") or DEFAULT_ROOT
    return Path(root).expanduser()


def check_format(fmt: StoreFormat | str) -> StoreFormat:
    """``fmt`` as a :class:`StoreFormat`; anything else raises naming the formats."""
    return choose(StoreFormat, fmt, "store format")


def format_of(path: str | os.PathLike) -> StoreFormat:
    """The backend of a store path, from its suffix."""
    suffix = Path(path).suffix
    for fmt, ext in FORMATS.items():
        if suffix == ext:
            return fmt
    raise HumeError(
        f"{path} is not a feature store: a store path ends in " + " or ".join(FORMATS.values())
    )


def features_dir(root: Path) -> Path:
    return Path(root) / "features"


def store_path(
    root: str | os.PathLike | None,
    dataset: str,
    split: str,
    model: str,
    fmt: StoreFormat | str = StoreFormat.zarr,
) -> Path:
    """``<root>/features/<dataset>/<split>/<model>.zarr`` (or ``.h5``)."""
    fmt = check_format(fmt)
    for kind, name in (("dataset", dataset), ("split", split), ("model", model)):
        check_name(kind, name)
    return features_dir(resolve_root(root)) / dataset / split / f"{model}{FORMATS[fmt]}"


def store_lock(path: str | os.PathLike) -> ExclusiveLock:
    """The lock ``.<name>.lock`` beside the store at ``path``, held while one process fills it."""
    store = Path(path)
    return ExclusiveLock(
        store.with_name(f".{store.name}.lock"),
        f"another `hume embed` is writing {store} right now (or a `hume import` or a repair of "
        "it): wait for it to finish (or stop it) and run again",
    )
