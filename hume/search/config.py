"""Search hyperparameters: the official ones (``paper``, ``large-k``) and the product defaults.

``paper`` is SPEC §2 exactly (the official STL-10/CIFAR settings). The official values were tuned
for unit-norm MoCo φ1 and raw DINOv2/BiT φ2 over 1000 outer iterations; on other feature scales
the inner classifier barely moves in 300 steps of size 1e-3 and the task encoder barely moves in
1000 Adam steps of 1e-3. The ``default`` preset therefore differs from the paper in these points,
each chosen on digits (hog φ1, pixels φ2) by the mean label-free score of the seeds only, never
by accuracy (the scores are in bench/RESULTS.md, "search" section):

- φ2 is standardised per feature and ZCA-whitened (eigenvalue floor 1 % of the mean), so plain
  GD on the inner linear model is well conditioned whatever the backbone (score 0.77 vs 0.77
  standardised only, 0.46 → 0.61 for centring φ1, below);
- the inner step is set from the features: ``inner_lr = None`` means η = inner_lr_scale / λmax,
  λmax the largest eigenvalue of X̃ᵀX̃ / N of the transformed, bias-augmented φ2;
- φ1 is centred before the row L2-normalisation (an encoder without bias can then still place
  its class boundaries anywhere; score 0.61 vs 0.46);
- outer Adam lr 0.2 instead of 1e-3 (score 0.80 vs 0.61 at 0.01, 0.77 at 0.05 / 0.5);
- far fewer inner steps, subsets and outer iterations (T = 20, S = 3, 150 iterations): the
  search of 10 seeds then takes a few minutes on a laptop CPU;
- annealing at 60 % and 85 % of the iterations instead of after iterations 100 and 200.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields, replace
from typing import Any, Optional

from hume.errors import HumeError


@dataclass(frozen=True)
class SearchConfig:
    """Every hyperparameter of one HUME search (names as in SPEC §2 / §5)."""

    iters: int = 150                      # outer iterations
    inner_steps: int = 20                 # T
    subsets: int = 3                      # S per outer iteration
    subset_size: Optional[int] = None     # m; None: min(N, 10 000)
    train_fraction: float = 0.9           # train part of a subset
    tau: float = 0.1                      # initial sparsemax temperature t0
    entropy_weight: float = 10.0
    inner_lr: Optional[float] = None      # None: inner_lr_scale / λmax(φ2)
    inner_lr_scale: float = 1.0
    outer_lr: float = 0.2
    anneal: bool = True
    anneal_at: tuple[float, ...] = (0.6, 0.85)  # < 1: fractions of iters; ≥ 1: iteration numbers
    anneal_factor: float = 0.1            # lr × factor and t × factor at each milestone
    clip_norm: float = 1.0
    shared_inner_init: bool = False       # large-K: one inner initialisation reused everywhere
    standardise_phi2: bool = True
    center_phi1: bool = True              # subtract φ1's mean before the row L2-normalisation
    whiten_phi2: bool = True              # ZCA-whiten φ2 (implies centring); eps below
    whiten_eps: float = 0.01              # eigenvalue floor, relative to the mean eigenvalue

    def milestones(self) -> list[int]:
        """Outer iterations after which lr and t are annealed (empty without annealing)."""
        if not self.anneal:
            return []
        return sorted({int(a) if a >= 1 else int(round(a * self.iters)) for a in self.anneal_at})

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["anneal_at"] = list(self.anneal_at)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "SearchConfig":
        known = {f.name for f in fields(cls)}
        d = {k: v for k, v in d.items() if k in known}
        if "anneal_at" in d:
            d["anneal_at"] = tuple(d["anneal_at"])
        return cls(**d)

    def validate(self) -> "SearchConfig":
        checks = [
            (self.iters >= 1, "iters must be ≥ 1"),
            (self.inner_steps >= 1, "inner steps must be ≥ 1"),
            (self.subsets >= 1, "subsets must be ≥ 1"),
            (self.subset_size is None or self.subset_size >= 2, "subset size must be ≥ 2"),
            (0 < self.train_fraction < 1, "train fraction must be in (0, 1)"),
            (self.tau > 0, "tau must be > 0"),
            (self.entropy_weight >= 0, "entropy weight must be ≥ 0"),
            (self.inner_lr is None or self.inner_lr > 0, "inner lr must be > 0"),
            (self.inner_lr_scale > 0, "inner lr scale must be > 0"),
            (self.outer_lr > 0, "outer lr must be > 0"),
            (self.clip_norm > 0, "clip norm must be > 0"),
        ]
        for ok, msg in checks:
            if not ok:
                raise HumeError(f"bad search setting: {msg}")
        return self


#: SPEC §2, exactly as the official implementation runs it.
PAPER = SearchConfig(iters=1000, inner_steps=300, subsets=20, subset_size=10_000,
                     train_fraction=0.9, tau=0.1, entropy_weight=10.0, inner_lr=1e-3,
                     outer_lr=1e-3, anneal=True, anneal_at=(100, 200), anneal_factor=0.1,
                     clip_norm=1.0, shared_inner_init=False, standardise_phi2=False, whiten_phi2=False,
                     center_phi1=False)

#: The official large-K (ImageNet-1000) variant of SPEC §2.
LARGE_K = replace(PAPER, outer_lr=0.1, inner_lr=0.1, inner_steps=100, subset_size=20_000,
                  train_fraction=0.7, anneal=False, shared_inner_init=True)

DEFAULT = SearchConfig()

PRESETS = {"default": DEFAULT, "paper": PAPER, "large-k": LARGE_K}


def preset(name: Optional[str]) -> SearchConfig:
    """The named preset (``None`` = ``default``)."""
    key = (name or "default").lower()
    if key not in PRESETS:
        raise HumeError(f"unknown preset {name!r}: use one of {', '.join(PRESETS)}")
    return PRESETS[key]


def resolve(name: Optional[str] = None, **overrides: Any) -> SearchConfig:
    """A preset with the non-None ``overrides`` applied, validated."""
    base = preset(name)
    known = {f.name for f in fields(SearchConfig)}
    bad = sorted(set(overrides) - known)
    if bad:
        raise HumeError(f"unknown search settings: {', '.join(bad)}")
    return replace(base, **{k: v for k, v in overrides.items() if v is not None}).validate()
