"""TURTLE's settings: the official ones (``paper``, the official code's exactly: raw features,
cold start, both learning rates 1e-3, 6000 steps) and the product defaults (warm start, both
learning rates 1e-2, 1000 steps), chosen by the label-free score alone (the measurements:
docs/algorithm.md §4.4). ``standardise=True`` (per-feature standardisation of every view) is
available for badly scaled features.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from hume.search.settings import MethodConfig


@dataclass(frozen=True)
class TurtleConfig(MethodConfig):
    """Every hyperparameter of one TURTLE search (docs/algorithm.md §4). A field named like a
    setting option (hume.search.settings.SearchOptions) is that option; TURTLE has no subsets,
    temperature or annealing."""

    METHOD: ClassVar[str] = "turtle"
    iters: int = 1000  # outer steps
    inner_steps: int = 10  # M
    subset_size: int | None = None  # rows per step; None: min(N, 10 000)
    entropy_weight: float = 10.0  # γ
    size_term: str = "entropy"  # the class-size term γ weighs (size_terms.py)
    ensemble: str = "auto"  # docs/algorithm.md §5.6
    auto_consensus: str = "cut"  # what auto weighs against the vote; linkage for uneven sizes
    inner_lr: float = 1e-2  # inner Adam lr
    outer_lr: float = 1e-2  # task-encoder Adam lr
    warm_start: bool = True  # keep inner classifiers across steps
    standardise: bool = False  # per-feature standardisation of every view

    def checks(self) -> list[tuple[bool, str]]:
        return [
            (self.iters >= 1, "iters must be ≥ 1"),
            (self.inner_steps >= 1, "inner steps must be ≥ 1"),
            (self.subset_size is None or self.subset_size >= 2, "subset size must be ≥ 2"),
            (self.inner_lr > 0, "inner lr must be > 0"),
            (self.outer_lr > 0, "outer lr must be > 0"),
        ]

    def rows_per_step(self, n: int) -> int:
        """Rows per outer step for N = ``n`` rows."""
        return min(n, self.subset_size or 10_000)


#: The official TURTLE settings (the official run script's defaults), raw features.
PAPER = TurtleConfig(
    iters=6000,
    inner_lr=1e-3,
    outer_lr=1e-3,
    warm_start=False,
    standardise=False,
    ensemble="vote",
    score_rows=None,
    score_iters=100,
)
DEFAULT = TurtleConfig()

TurtleConfig.PRESETS = {"default": DEFAULT, "paper": PAPER}
