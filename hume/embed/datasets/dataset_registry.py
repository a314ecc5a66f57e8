"""The dataset registry: names and name prefixes -> openers; :func:`get_dataset` opens a split.

A family module registers each dataset with :func:`register_dataset` (its name and splits) or a
whole family with :func:`register_dataset_prefix` (``imagefolder:PATH``, whose splits and store
name depend on what follows the prefix).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from hume.core.errors import HumeError
from hume.embed.datasets.dataset_split import DatasetSplit
from hume.embed.name_registry import Match, Registry


class Opener(Protocol):
    """Opens ``split`` (already checked) of the dataset; ``spec`` is the registered name, or what
    follows the prefix (the path of ``imagefolder:PATH``)."""

    def __call__(
        self, spec: str, split: str, data_dir: Path, *, download: bool
    ) -> DatasetSplit: ...


@dataclass(frozen=True)
class DatasetEntry:
    open: Opener
    splits: Callable[[str], tuple[list[str], list[str]]]  # spec -> (default splits, every split)
    store_name: Callable[[str], str]  # spec -> the name of the dataset's stores


_DATASETS: Registry[DatasetEntry] = Registry("dataset")


def register_dataset(
    name: str,
    *,
    default_splits: Iterable[str] = ("train", "test"),
    splits: Iterable[str] | None = None,
) -> Callable[[Opener], Opener]:
    """Decorator: ``open`` opens dataset ``name`` (lower case). ``default_splits`` are embedded
    when no split is asked for; ``splits`` (default: the same) are all that may be asked for."""
    defaults = list(default_splits)
    every = list(splits or defaults)

    def decorate(open_: Opener) -> Opener:
        entry = DatasetEntry(open_, lambda spec: (list(defaults), list(every)), lambda spec: name)
        _DATASETS.add(name, entry)
        return open_

    return decorate


def register_dataset_prefix(
    prefix: str,
    *,
    pattern: str,
    example: str,
    splits: Callable[[str], list[str]],
    store_name: Callable[[str], str],
) -> Callable[[Opener], Opener]:
    """Decorator: ``open`` opens every dataset named ``prefix<spec>``; ``splits(spec)`` are its
    splits (all of them embedded by default), ``store_name(spec)`` names its stores."""

    def decorate(open_: Opener) -> Opener:
        entry = DatasetEntry(open_, lambda spec: (splits(spec), splits(spec)), store_name)
        _DATASETS.add_prefix(prefix, entry, pattern=pattern, example=example)
        return open_

    return decorate


def list_datasets(pattern: str = "*") -> list[str]:
    """Registered dataset names matching the shell-style ``pattern``, sorted (aliases and
    ``imagefolder:PATH`` are not listed; see :func:`dataset_patterns`)."""
    return _DATASETS.names(pattern)


def dataset_patterns() -> list[str]:
    """How prefixed dataset names are written: ``imagefolder:PATH``."""
    return _DATASETS.patterns()


def _lookup(name: str) -> Match[DatasetEntry]:
    return _DATASETS.lookup(name)


def dataset_splits(name: str) -> list[str]:
    """Splits embedded when none is given: ``train``/``test``, or ``all`` where there is no split."""
    found = _lookup(name)
    return found.entry.splits(found.spec)[0]


def split_choices(name: str) -> list[str]:
    """Every split :func:`get_dataset` accepts for ``name`` (the defaults plus e.g. ``unlabeled``)."""
    found = _lookup(name)
    return found.entry.splits(found.spec)[1]


def requested_splits(name: str, split: str | None = None) -> list[str]:
    """``[split]`` once it is checked, or every default split of ``name`` when ``split`` is None."""
    return dataset_splits(name) if split is None else [_checked(_lookup(name), split)]


def _checked(found: Match[DatasetEntry], split: str) -> str:
    choices = found.entry.splits(found.spec)[1]
    if split not in choices:
        raise HumeError(
            f"dataset {found.name} has no split {split!r}: use one of {', '.join(choices)}"
        )
    return split


def store_dataset_name(name: str) -> str:
    """Name of the dataset's stores: aliases resolved (``CIFAR20`` -> ``cifar100-20``),
    ``imagefolder:/x/my pets`` -> ``my-pets``."""
    found = _lookup(name)
    return found.entry.store_name(found.spec)


def get_dataset(
    name: str, split: str, data_dir: str | os.PathLike, *, download: bool = True
) -> DatasetSplit:
    """Open ``split`` of dataset ``name``; torchvision datasets are downloaded into ``data_dir``.

    Raises :class:`HumeError` for unknown names and splits and for files that are missing and
    cannot be downloaded (the message says which files go where).
    """
    found = _lookup(name)
    return found.entry.open(
        found.spec, _checked(found, split), Path(data_dir).expanduser(), download=download
    )
