"""From the command line to a method's settings: one typed path for every search method.

``hume search`` collects its setting options into :class:`SearchOptions` (None = not given).
Each method's configuration class (:class:`MethodConfig` subclasses: ``HumeConfig``,
``TurtleConfig``) turns a preset plus those options into its settings with
:meth:`MethodConfig.from_options`, and refuses, naming the flag, an option it does not have.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace
from enum import Enum
from typing import Any, ClassVar, TypeVar

from hume.core.errors import HumeError
from hume.search.vocabulary import UNEVEN_WEIGHTS, Ensemble, Preset, SizeTerm


@dataclass(frozen=True)
class SearchOptions:
    """The setting options of ``hume search`` as given on the command line (None: not given).

    Each field is declared here once, with its type; :data:`SETTING_HELP` says what it is, the
    methods' presets give its defaults, and the command line is built from the three
    (hume/commands/search_options.py)."""

    iters: int | None = None
    inner_steps: int | None = None
    subsets: int | None = None
    subset_size: int | None = None
    train_fraction: float | None = None
    tau: float | None = None
    entropy_weight: float | None = None
    size_term: SizeTerm | None = None
    ensemble: Ensemble | None = None
    inner_lr: float | None = None
    outer_lr: float | None = None
    anneal: bool | None = None
    warm_start: bool | None = None

    def given(self) -> dict[str, Any]:
        """The options that were given, by name (a fixed choice as its plain value)."""
        return {
            k: v.value if isinstance(v, Enum) else v
            for k, v in asdict(self).items()
            if v is not None
        }


#: What each setting option is (its defaults come from the methods' presets).
SETTING_HELP: dict[str, str] = {
    "iters": "Outer iterations (TURTLE: outer steps).",
    "inner_steps": "Inner gradient steps T (TURTLE: inner Adam steps M).",
    "subsets": "Subsets S of rows per outer iteration (HUME).",
    "subset_size": "Rows m per subset (TURTLE: rows per step); at most N.",
    "train_fraction": "The train part of a subset; the rest is held out (HUME).",
    "tau": "Initial sparsemax temperature (HUME).",
    "entropy_weight": "Weight of the class-size term.",
    "size_term": "The class-size term --entropy-weight multiplies: entropy (the papers) or log, "
    "which keeps every class non-empty and, at small weights, lets sizes be uneven; with "
    "--class-sizes uneven its own weights are tried.",
    "ensemble": "How the seeds become one labeling: auto (the consensus of the class-size prior, "
    "cut or with --class-sizes uneven linkage, and the vote, and of the two the one whose "
    "labeling linear classifiers learn best on the φ2 views, per run), cut (normalised cut of "
    "how often the seeds put two rows together; prefers equal sizes), linkage (average linkage "
    "of the same; no size preference) or vote (the papers: majority vote in the best seed's "
    "classes).",
    "inner_lr": "Inner step size (HUME's default: 1/λmax of the transformed φ2; TURTLE: inner "
    "Adam lr).",
    "outer_lr": "Outer Adam learning rate.",
    "anneal": "Disable learning-rate and temperature annealing (HUME).",
    "warm_start": "Keep the inner classifiers across outer steps, or start them afresh each "
    "step (TURTLE).",
}


def flag(option: str, value: Any = None) -> str:
    """The command-line spelling of an option (``anneal=False`` is ``--no-anneal``)."""
    if option == "anneal":
        return "--no-anneal" if value is False else "--anneal"
    if option == "warm_start":
        return "--warm-start" if value else "--cold-start"
    return "--" + option.replace("_", "-")


C = TypeVar("C", bound="MethodConfig")


@dataclass(frozen=True)
class MethodConfig:
    """Base of a method's settings: presets, options, validation, JSON round trip.

    Subclasses set ``METHOD`` (its name), ``OPTIONS`` (``SearchOptions`` field → own field) and
    ``PRESETS`` (after the class), and implement :meth:`checks`.
    """

    METHOD: ClassVar[str] = ""
    OPTIONS: ClassVar[dict[str, str]] = {}
    PRESETS: ClassVar[dict[str, Any]] = {}

    #: the label-free score fits on a sample of max(score_rows, score_rows_per_class · K) rows
    #: (None: every row, as the papers), the seeds' with score_iters L-BFGS iterations
    #: (docs/algorithm.md §5.8)
    score_rows: int | None = 10_000
    score_rows_per_class: int = 100
    score_iters: int = 25

    def score_sample(self, n: int, k: int) -> int | None:
        """Rows the label-free score of N = ``n`` rows and K = ``k`` classes fits on (None: all)."""
        if self.score_rows is None:
            return None
        rows = max(self.score_rows, self.score_rows_per_class * k)
        return None if rows >= n else rows

    def checks(self) -> list[tuple[bool, str]]:
        """(condition, message) pairs; every condition must hold."""
        return []

    def common_checks(self) -> list[tuple[bool, str]]:
        """The checks of the settings every method has (the class-size term, the ensemble)."""
        terms = [t.value for t in SizeTerm]
        ensembles = [e.value for e in Ensemble]
        return [
            (self.entropy_weight >= 0, "entropy weight must be ≥ 0"),  # type: ignore[attr-defined]
            (
                self.size_term in terms,  # type: ignore[attr-defined]
                f"size term must be one of {', '.join(terms)}",
            ),
            (self.ensemble in ensembles, f"ensemble must be one of {', '.join(ensembles)}"),  # type: ignore[attr-defined]
            (
                getattr(self, "auto_consensus", "cut") in (Ensemble.cut, Ensemble.linkage),
                "auto consensus must be cut or linkage",
            ),
            (self.score_rows is None or self.score_rows >= 100, "score rows must be ≥ 100"),
            (self.score_rows_per_class >= 1, "score rows per class must be ≥ 1"),
            (self.score_iters >= 1, "score iterations must be ≥ 1"),
        ]

    def validate(self: C) -> C:
        for name, value in asdict(self).items():
            if isinstance(value, float) and not math.isfinite(value):
                raise HumeError(f"bad {self.METHOD} setting: {name} must be a finite number")
        for ok, msg in self.common_checks() + self.checks():
            if not ok:
                raise HumeError(f"bad {self.METHOD} setting: {msg}")
        return self

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls: type[C], d: dict[str, Any]) -> C:
        """The settings a run recorded (keys this class does not know are ignored)."""
        known = {f.name: f for f in fields(cls)}
        values: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v for k, v in d.items() if k in known
        }
        return cls(**values)

    def sweep_points(self) -> list[tuple[dict[str, Any], Any]]:
        """``--sweep``: (settings, config) of every grid point (none: the method has no grid)."""
        return []

    def class_size_points(self) -> list[tuple[dict[str, Any], Any]]:
        """``--class-sizes uneven``: (settings, config) of every weight of this config's size
        term tried, largest first (hume.search.vocabulary.UNEVEN_WEIGHTS). The cut consensus,
        which prefers equal sizes, gives way to the linkage, also in what ``auto`` weighs against
        the vote (docs/algorithm.md §5.4, §5.6)."""
        term = getattr(self, "size_term", "entropy")
        ensemble = getattr(self, "ensemble", "vote")
        settings: dict[str, Any] = {
            "size_term": term,
            "ensemble": "linkage" if ensemble == "cut" else ensemble,
        }
        if ensemble == "auto":
            settings["auto_consensus"] = "linkage"
        return [
            ({**settings, "entropy_weight": w}, replace(self, entropy_weight=w, **settings))  # type: ignore[call-arg]
            for w in UNEVEN_WEIGHTS[term]
        ]

    @classmethod
    def preset(cls: type[C], name: str | None = None) -> C:
        """The named preset (None: ``default``)."""
        key = Preset(name).value if isinstance(name, Preset) else (name or "default").lower()
        if key not in cls.PRESETS:
            raise HumeError(
                f"unknown {cls.METHOD} preset {str(name)!r}: use one of {', '.join(cls.PRESETS)}"
            )
        return cls.PRESETS[key]

    @classmethod
    def from_options(
        cls: type[C], preset: str | None = None, options: SearchOptions | None = None
    ) -> C:
        """The preset with the given command-line options applied; refuses foreign options."""
        given = (options or SearchOptions()).given()
        foreign = sorted(flag(k, v) for k, v in given.items() if k not in cls.OPTIONS)
        if foreign:
            raise HumeError(
                f"{', '.join(foreign)} do(es) not apply to --method {cls.METHOD}: "
                "drop them (see `hume search --help`)"
            )
        return cls.resolve(preset, **{cls.OPTIONS[k]: v for k, v in given.items()})

    @classmethod
    def resolve(
        cls: type[C], preset: str | None = None, base: C | None = None, **settings: Any
    ) -> C:
        """``base`` (or the named preset) with the non-None ``settings`` applied, validated."""
        if base is not None and preset is not None:
            raise HumeError("give a preset or a config, not both")
        known = {f.name for f in fields(cls)}
        bad = sorted(set(settings) - known)
        if bad:
            raise HumeError(f"settings that {cls.METHOD} does not have: {', '.join(bad)}")
        start = base if base is not None else cls.preset(preset)
        return replace(start, **{k: v for k, v in settings.items() if v is not None}).validate()
