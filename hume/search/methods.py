"""The search methods by name: ``hume search --method NAME`` and :func:`get_method`."""

from __future__ import annotations

import fnmatch
import importlib
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING

from hume.core.errors import HumeError

if TYPE_CHECKING:
    from hume.search.estimators.estimator_base import SeedSearch
    from hume.search.settings import MethodConfig


class Method(str, Enum):
    """HUME (second order, φ1 parametrises the labeling) or TURTLE (first order, every view)."""

    hume = "hume"
    turtle = "turtle"


@dataclass(frozen=True)
class _Entry:
    """Where a method lives: its estimator and its settings (the settings import no torch)."""

    module: str
    estimator: str
    config_module: str
    config: str


#: the one registry of search methods, by name; imported on demand (``hume --help`` skips torch)
_METHODS: dict[str, _Entry] = {
    "hume": _Entry(
        "hume.search.estimators.hume_method.hume_estimator", "HUME",
        "hume.search.estimators.hume_method.hume_config", "HumeConfig",
    ),
    "turtle": _Entry(
        "hume.search.estimators.turtle_method.turtle_estimator", "TURTLE",
        "hume.search.estimators.turtle_method.turtle_config", "TurtleConfig",
    ),
}  # fmt: skip


def list_methods(pattern: str = "*") -> list[str]:
    """Method names matching ``pattern`` (fnmatch)."""
    return [name for name in _METHODS if fnmatch.fnmatch(name, pattern)]


def get_method(name: str | Method) -> type[SeedSearch]:
    """The estimator class of method ``name``."""
    entry = _entry(name)
    return getattr(importlib.import_module(entry.module), entry.estimator)


def get_method_config(name: str | Method) -> type[MethodConfig]:
    """The settings class of method ``name`` (its presets, its options), without importing
    the method itself."""
    entry = _entry(name)
    return getattr(importlib.import_module(entry.config_module), entry.config)


def by_class_name(name: str) -> type | None:
    """The estimator or settings class called ``name`` (``"HUME"``, ``"TurtleConfig"``), or None."""
    for entry in _METHODS.values():
        if name == entry.estimator:
            return getattr(importlib.import_module(entry.module), name)
        if name == entry.config:
            return getattr(importlib.import_module(entry.config_module), name)
    return None


def _entry(name: str | Method) -> _Entry:
    key = Method(name).value if isinstance(name, Method) else str(name)
    if key not in _METHODS:
        raise HumeError(f"unknown method {key!r}: use one of {', '.join(_METHODS)}")
    return _METHODS[key]
