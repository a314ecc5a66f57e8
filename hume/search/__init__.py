"""Search stage: HUME's bilevel labeling search and label-free selection.

Python API: :class:`hume.search.HUME` (scikit-learn style; ``fit(views)`` on arrays or tensors),
its settings :class:`hume.search.SearchConfig` and presets ``default``, ``paper`` (SPEC §2
exactly) and ``large-k``. The ``hume search`` command is a thin layer over the estimator.
"""

from hume.search.config import DEFAULT, LARGE_K, PAPER, SearchConfig
from hume.search.estimator import HUME

__all__ = ["DEFAULT", "HUME", "LARGE_K", "PAPER", "SearchConfig"]
