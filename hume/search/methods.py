"""The search methods by name: ``hume search --method NAME`` and :func:`get_method`."""

from __future__ import annotations

import fnmatch
import importlib
from enum import Enum
from typing import TYPE_CHECKING

from hume.core.errors import HumeError

if TYPE_CHECKING:
    from hume.search.seed_search import SeedSearch
    from hume.search.settings import MethodConfig


class Method(str, Enum):
    """HUME (second order, φ1 parametrises the labeling) or TURTLE (first order, every view)."""

    hume = "hume"
    turtle = "turtle"


#: name → (module, estimator class); imported on demand (``hume --help`` skips torch)
_METHODS: dict[str, tuple[str, str]] = {
    "hume": ("hume.search.hume_method.hume_estimator", "HUME"),
    "turtle": ("hume.search.turtle_method.turtle_estimator", "TURTLE"),
}
#: name → (module, settings class): the settings alone, without torch
_CONFIGS: dict[str, tuple[str, str]] = {
    "hume": ("hume.search.hume_method.hume_config", "HumeConfig"),
    "turtle": ("hume.search.turtle_method.turtle_config", "TurtleConfig"),
}


def list_methods(pattern: str = "*") -> list[str]:
    """Method names matching ``pattern`` (fnmatch)."""
    return [name for name in _METHODS if fnmatch.fnmatch(name, pattern)]


def get_method(name: str | Method) -> type[SeedSearch]:
    """The estimator class of method ``name``."""
    key = Method(name).value if isinstance(name, Method) else str(name)
    if key not in _METHODS:
        raise HumeError(f"unknown method {key!r}: use one of {', '.join(_METHODS)}")
    module, cls = _METHODS[key]
    return getattr(importlib.import_module(module), cls)


def get_method_config(name: str | Method) -> type[MethodConfig]:
    """The settings class of method ``name`` (its presets, its options), without importing
    the method itself."""
    key = Method(name).value if isinstance(name, Method) else str(name)
    if key not in _CONFIGS:
        raise HumeError(f"unknown method {key!r}: use one of {', '.join(_CONFIGS)}")
    module, cls = _CONFIGS[key]
    return getattr(importlib.import_module(module), cls)
