"""HUME's settings: the official ones exactly (``paper``, ``large-k``; docs/algorithm.md §2.8)
and the product defaults, which differ from them in the points docs/algorithm.md §2.9 lists, each
chosen by the label-free score alone (the scores: bench/RESULTS.md)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import ClassVar

from hume.search.settings import MethodConfig


@dataclass(frozen=True)
class HumeConfig(MethodConfig):
    """Every hyperparameter of one HUME search (docs/algorithm.md §2). A field named like a
    setting option (hume.search.settings.SearchOptions) is that option (docs/cli.md)."""

    METHOD: ClassVar[str] = "hume"
    iters: int = 150  # outer iterations
    inner_steps: int = 20  # T
    subsets: int = 3  # S per outer iteration
    subset_size: int | None = None  # m (≤ N); None: min(N, max_subset_size)
    max_subset_size: int = 10_000  # the presets' m: at most this many rows, at most N
    train_fraction: float = 0.9  # train part of a subset
    tau: float = 0.1  # initial sparsemax temperature t0
    entropy_weight: float = 10.0
    size_term: str = "entropy"  # the class-size term weighted by entropy_weight (size_terms.py)
    ensemble: str = "auto"  # auto, cut, linkage or vote (the papers'); docs/algorithm.md §5.4, §5.6
    auto_consensus: str = "cut"  # what auto weighs against the vote; linkage for uneven sizes
    inner_lr: float | None = None  # None: inner_lr_scale / λmax(φ2)
    inner_lr_scale: float = 1.0
    outer_lr: float = 0.2
    anneal: bool = True
    anneal_at: tuple[float, ...] = (0.6, 0.85)  # < 1: fractions of iters; ≥ 1: iteration numbers
    anneal_factor: float = 0.1  # lr × factor and t × factor at each milestone
    clip_norm: float = 1.0
    shared_inner_init: bool = False  # large-K: one inner initialisation reused everywhere
    standardise_phi2: bool = True
    center_phi1: bool = True  # subtract φ1's mean before the row L2-normalisation
    whiten_phi2: bool = True  # ZCA-whiten φ2 (implies centring); eps below
    whiten_eps: float = 0.01  # added to every eigenvalue, times the mean eigenvalue

    def milestones(self) -> list[int]:
        """Outer iterations after which lr and t are annealed (empty without annealing)."""
        if not self.anneal:
            return []
        return sorted({int(a) if a >= 1 else int(round(a * self.iters)) for a in self.anneal_at})

    def checks(self) -> list[tuple[bool, str]]:
        return [
            (self.iters >= 1, "iters must be ≥ 1"),
            (self.inner_steps >= 1, "inner steps must be ≥ 1"),
            (self.subsets >= 1, "subsets must be ≥ 1"),
            (self.subset_size is None or self.subset_size >= 2, "subset size must be ≥ 2"),
            (self.max_subset_size >= 2, "max subset size must be ≥ 2"),
            (0 < self.train_fraction < 1, "train fraction must be in (0, 1)"),
            (self.tau > 0, "tau must be > 0"),
            (self.inner_lr is None or self.inner_lr > 0, "inner lr must be > 0"),
            (self.inner_lr_scale > 0, "inner lr scale must be > 0"),
            (self.outer_lr > 0, "outer lr must be > 0"),
            (self.clip_norm > 0, "clip norm must be > 0"),
        ]

    def subset_rows(self, n: int) -> int:
        """m: rows per subset for N = ``n`` rows."""
        return self.subset_size if self.subset_size is not None else min(n, self.max_subset_size)

    def sweep_points(self) -> list[tuple[dict[str, float], HumeConfig]]:
        """``--sweep``: (settings, config) of every grid point, on top of these settings."""
        out = []
        for point in SWEEP_GRID:
            settings = {"inner_lr_scale": self.inner_lr_scale, **point}
            out.append((settings, replace(self, inner_lr=None, **settings)))  # type: ignore[arg-type]
        return out


#: ``--sweep`` grid: settings tried on top of the preset (each scored by the mean label-free
#: score of a few seeds); the best replaces the preset's values for the real search.
SWEEP_GRID: tuple[dict[str, float], ...] = (
    {"outer_lr": 0.05, "tau": 0.1},
    {"outer_lr": 0.2, "tau": 0.1},
    {"outer_lr": 0.2, "tau": 0.5},
    {"outer_lr": 0.5, "tau": 0.5},
    {"outer_lr": 0.5, "tau": 0.5, "inner_lr_scale": 3.0},
)

#: The official implementation's settings, exactly (docs/algorithm.md §2.8).
PAPER = HumeConfig(
    iters=1000,
    inner_steps=300,
    subsets=20,
    max_subset_size=10_000,
    train_fraction=0.9,
    tau=0.1,
    entropy_weight=10.0,
    inner_lr=1e-3,
    outer_lr=1e-3,
    anneal=True,
    anneal_at=(100, 200),
    anneal_factor=0.1,
    clip_norm=1.0,
    shared_inner_init=False,
    standardise_phi2=False,
    whiten_phi2=False,
    center_phi1=False,
    ensemble="vote",
    score_rows=None,
    score_iters=100,
)

#: The official large-K (ImageNet-1000) variant.
LARGE_K = replace(
    PAPER,
    outer_lr=0.1,
    inner_lr=0.1,
    inner_steps=100,
    max_subset_size=20_000,
    train_fraction=0.7,
    anneal=False,
    shared_inner_init=True,
)

DEFAULT = HumeConfig()

HumeConfig.PRESETS = {"default": DEFAULT, "paper": PAPER, "large-k": LARGE_K}
