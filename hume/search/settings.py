"""From the command line to a method's settings: one typed path for every search method.

``hume search`` collects its setting options into :class:`SearchOptions` (None = not given).
Each method's configuration class (:class:`MethodConfig` subclasses: ``HumeConfig``,
``TurtleConfig``) turns a preset plus those options into its settings with
:meth:`MethodConfig.from_options`, and refuses, naming the flag, an option it does not have.
"""

from __future__ import annotations

import math
from dataclasses import Field, asdict, dataclass, field, fields, replace
from enum import Enum
from typing import Any, ClassVar, TypeVar

from hume.core.errors import HumeError, command, flag_name, python_text, setting
from hume.search.vocabulary import UNEVEN_WEIGHTS, Ensemble, Preset, SizeTerm


def _setting(help: str, *, on: str | None = None, off: str | None = None) -> Any:
    """One setting option's declaration: a field of :class:`SearchOptions` (None: not given)
    whose metadata holds its help (a :func:`~hume.core.errors.setting` in it is another
    setting, spelled as the reader writes it) and, for a switch, its two flags (``off`` alone:
    the command line offers only the flag that turns the setting off)."""
    return field(default=None, metadata={"help": help, "on": on, "off": off})


@dataclass(frozen=True)
class SearchOptions:
    """The setting options of ``hume search`` as given on the command line (None: not given).

    Each setting is declared here once: its name (the flag is the name, ``--subset-size``),
    its type and its help. Each method's settings class (:class:`MethodConfig`) holds the
    settings it takes under the same names, its presets their defaults; the command line
    (hume/commands/search_options.py), the methods' options and the help follow from these."""

    iters: int | None = _setting("Outer iterations (TURTLE: outer steps).")
    inner_steps: int | None = _setting("Inner gradient steps T (TURTLE: inner Adam steps M).")
    subsets: int | None = _setting("Subsets S of rows per outer iteration (HUME).")
    subset_size: int | None = _setting("Rows m per subset (TURTLE: rows per step); at most N.")
    train_fraction: float | None = _setting(
        "The train part of a subset; the rest is held out (HUME)."
    )
    tau: float | None = _setting("Initial sparsemax temperature (HUME).")
    entropy_weight: float | None = _setting("Weight of the class-size term.")
    size_term: SizeTerm | None = _setting(
        f"The class-size term {setting('entropy_weight')} multiplies: entropy (the papers) or "
        "log, which keeps every class non-empty and, at small weights, lets sizes be uneven; "
        f"with {setting('class_sizes', 'uneven')} its own weights are tried."
    )
    ensemble: Ensemble | None = _setting(
        "How the seeds become one labeling: auto (the consensus of the class-size prior, cut or "
        f"with {setting('class_sizes', 'uneven')} linkage, and the vote, and of the two the one "
        "whose labeling linear classifiers learn best on the φ2 views, per run), cut "
        "(normalised cut of how often the seeds put two rows together; prefers equal sizes), "
        "linkage (average linkage of the same; no size preference) or vote (the papers: "
        "majority vote in the best seed's classes)."
    )
    inner_lr: float | None = _setting(
        "Inner step size (HUME's default: 1/λmax of the transformed φ2; TURTLE: inner Adam lr)."
    )
    outer_lr: float | None = _setting("Outer Adam learning rate.")
    anneal: bool | None = _setting(
        "Learning-rate and temperature annealing (HUME).", off="--no-anneal"
    )
    warm_start: bool | None = _setting(
        "Keep the inner classifiers across outer steps, or start them afresh each step (TURTLE).",
        on="--warm-start",
        off="--cold-start",
    )

    def given(self) -> dict[str, Any]:
        """The options that were given, by name (a fixed choice as its plain value)."""
        return {
            k: v.value if isinstance(v, Enum) else v
            for k, v in asdict(self).items()
            if v is not None
        }


#: the setting options' declarations by name (SearchOptions' fields)
SETTINGS: dict[str, Field[Any]] = {f.name: f for f in fields(SearchOptions)}

#: What each setting option is, as the library reads it (derived from :class:`SearchOptions`;
#: the command line spells the settings named in it as flags); defaults: the methods' presets.
SETTING_HELP: dict[str, str] = {
    name: python_text(f.metadata["help"]) for name, f in SETTINGS.items()
}


def flag(option: str, value: Any = None) -> str:
    """The command-line spelling of an option (``anneal=False`` is ``--no-anneal``)."""
    declared = SETTINGS[option].metadata if option in SETTINGS else {}
    if value is False and declared.get("off"):
        return declared["off"]
    return declared.get("on") or flag_name(option)


def switch_flags(option: str) -> tuple[str | None, str | None]:
    """The (on, off) flags of a switch as the command line offers them; (None, None) for an
    option that is not one. A switch declared with ``off`` alone offers only that flag."""
    declared = SETTINGS[option].metadata
    if not declared["off"]:
        return None, None
    return declared["on"], declared["off"]


C = TypeVar("C", bound="MethodConfig")


@dataclass(frozen=True)
class MethodConfig:
    """Base of a method's settings: presets, options, validation, JSON round trip.

    Subclasses set ``METHOD`` (its name) and ``PRESETS`` (after the class), and implement
    :meth:`checks`. A field named like a setting option (:class:`SearchOptions`) is that
    option: ``OPTIONS``, the options a method takes, follows from its fields.
    """

    METHOD: ClassVar[str] = ""
    #: the setting options this method takes, each the field of the same name (derived)
    OPTIONS: ClassVar[tuple[str, ...]] = ()
    PRESETS: ClassVar[dict[str, Any]] = {}

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        own = {name for c in cls.__mro__ for name in vars(c).get("__annotations__", {})}
        cls.OPTIONS = tuple(name for name in SETTINGS if name in own)

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

    def check_rows(self, n: int) -> None:
        """Refuse a ``subset_size`` larger than the N = ``n`` rows searched."""
        size = getattr(self, "subset_size", None)
        if size is not None and size > n:
            raise HumeError(
                f"subset size {size} is larger than the number of rows ({n}): "
                f"pass {setting('subset_size')} ≤ {n}"
            )

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
            named = [setting(f.removeprefix("--").replace("-", "_")) for f in foreign]
            raise HumeError(
                f"{', '.join(named)} do(es) not apply to {setting('method', cls.METHOD)}: "
                f"drop them (see {command('search', setting('help', True))})"
            )
        return cls.resolve(preset, **given)

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
