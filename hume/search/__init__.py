"""Search stage: the labeling searches and their label-free selection (docs/algorithm.md).

Sub-packages, from the bottom up:

- :mod:`hume.search.optimiser`    what both methods' outer loops share (Adam, the loop's
  bookkeeping, random streams, the class-size term);
- :mod:`hume.search.selection`    choosing among labelings without labels (label-free score and
  its spread, vote and consensus, the signals that rank candidates);
- :mod:`hume.search.estimators`   HUME and TURTLE as scikit-learn estimators, and the refit
  around a reviewer's anchors;
- :mod:`hume.search.search_runs`  a search as a run directory (request, create / join / resume,
  seed files, shards, sweeps, the stores it reads);
- :mod:`hume.search.k_choice`     the choice of K and φ1 among candidate searches.

Beside them: :mod:`.vocabulary` (the options' fixed choices), :mod:`.settings` (each method's
settings), :mod:`.methods` (the methods by name), :mod:`.views` (the checks of the views).

Python API: ``HUME(n_classes=10).fit([phi1, phi2])``, ``TURTLE``, ``get_method(name)``; every
error a user can fix is a :class:`HumeError` (a ``ValueError``).
"""

from typing import Any

from hume.core.errors import HumeError

__all__ = [
    "HUME",
    "TURTLE",
    "HumeConfig",
    "TurtleConfig",
    "HumeError",
    "SearchOptions",
    "Method",
    "Preset",
    "get_method",
    "list_methods",
]

#: names this package lends from its modules, imported on first use
_HOMES = {
    "SearchOptions": "settings",
    "Preset": "vocabulary",
    "Method": "methods",
    "get_method": "methods",
    "list_methods": "methods",
}


def __getattr__(name: str) -> Any:
    # lazy: `hume --help` imports this package and should not pay for importing torch
    import importlib

    if name in _HOMES:
        return getattr(importlib.import_module(f"hume.search.{_HOMES[name]}"), name)
    methods = importlib.import_module("hume.search.methods")
    found = methods.by_class_name(name)
    if found is not None:
        return found
    raise AttributeError(f"module 'hume.search' has no attribute {name!r}")
