"""Search stage: HUME's bilevel labeling search and label-free selection.

Python API: :class:`hume.search.HUME` (scikit-learn style; ``fit(views)`` on arrays or tensors),
its settings :class:`hume.search.SearchConfig` and presets ``default``, ``paper`` (SPEC §2
exactly) and ``large-k``. The ``hume search`` command is a thin layer over the estimator.
"""

from typing import Any

__all__ = ["DEFAULT", "HUME", "LARGE_K", "PAPER", "SearchConfig", "TURTLE"]

_HOMES = {"DEFAULT": "config", "LARGE_K": "config", "PAPER": "config", "SearchConfig": "config",
          "HUME": "estimator", "TURTLE": "turtle"}


def __getattr__(name: str) -> Any:
    # lazy: `hume --help` imports this package and should not pay for importing torch
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f"hume.search.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'hume.search' has no attribute {name!r}")
