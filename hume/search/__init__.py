"""Search stage: the labeling searches and their label-free selection (docs/algorithm.md).

- :mod:`hume.search.seed_search`       :class:`SeedSearch`, the estimator shell both methods share
  (fit/predict, seed groups, threads, precision, selection and ensemble);
- :mod:`hume.search.hume_method`       HUME: settings, task encoder, inner fit, outer loop, estimator;
- :mod:`hume.search.turtle_method`     TURTLE: settings, outer loop, estimator;
- :mod:`hume.search.seeds`      seed streams and seed groups; :mod:`hume.search.outer_loop` the
  loop's bookkeeping; :mod:`hume.search.adam` the optimiser; :mod:`hume.search.views` checks;
- :mod:`hume.search.label_free_score`  label-free scores, Hungarian matching, majority vote, the ensemble;
- :mod:`hume.search.consensus`  the consensus of the seeds' co-association (cut, linkage);
- :mod:`hume.search.settings`    command-line options → a method's settings;
- :mod:`hume.search.view_loading`     which stores a search reads, loaded as tensors (never labels);
- :mod:`hume.search.run_lifecycle`   a search request → a run directory (new run, resume, sweep).

Python API: ``HUME(n_classes=10).fit([phi1, phi2])``, ``TURTLE``, ``get_method(name)``.
"""

from typing import Any

__all__ = [
    "HUME",
    "TURTLE",
    "HumeConfig",
    "TurtleConfig",
    "SearchOptions",
    "Method",
    "Preset",
    "get_method",
    "list_methods",
]

_HOMES = {
    "HUME": "hume_method.hume_estimator",
    "TURTLE": "turtle_method.turtle_estimator",
    "HumeConfig": "hume_method.hume_config",
    "TurtleConfig": "turtle_method.turtle_config",
    "SearchOptions": "settings",
    "Preset": "vocabulary",
    "Method": "methods",
    "get_method": "methods",
    "list_methods": "methods",
}


def __getattr__(name: str) -> Any:
    # lazy: `hume --help` imports this package and should not pay for importing torch
    if name in _HOMES:
        import importlib

        return getattr(importlib.import_module(f"hume.search.{_HOMES[name]}"), name)
    raise AttributeError(f"module 'hume.search' has no attribute {name!r}")
