"""The search's vocabulary: the fixed choices of its options (Enums, which the command line
lists and checks) and the class-size weights `--class-sizes uneven` tries. Imports nothing of the
search, so that every module of it may use them."""

from __future__ import annotations

from enum import Enum


class Setting(str, Enum):
    """Inductive: search on train, label test through the encoders; transductive: train ∪ test."""

    inductive = "inductive"
    transductive = "transductive"


class ClassSizes(str, Enum):
    """uniform: the entropy term pulls the classes to equal sizes (the papers); uneven: its
    weight is chosen, without labels, by the balanced label-free score."""

    uniform = "uniform"
    uneven = "uneven"


class SizeTerm(str, Enum):
    """The class-size term the entropy weight multiplies (hume.search.optimiser.size_terms): entropy
    (the papers) or log (−KL(uniform ‖ p̄): no class can empty, uneven sizes are tolerated)."""

    entropy = "entropy"
    log = "log"


class Ensemble(str, Enum):
    """How the seeds' labelings become one (docs/algorithm.md §5): vote (the papers: the best
    seed's classes, majority vote), cut (normalised cut of their co-association, equal-size
    prior), linkage (average linkage of it, no size prior; hume.search.selection.consensus), or auto (the
    consensus of the run's class-size prior or the vote, whichever linear classifiers learn
    best, per run)."""

    vote = "vote"
    cut = "cut"
    linkage = "linkage"
    auto = "auto"


class Phi1(str, Enum):
    """first: the first view of --views is φ1; auto: each view is tried as φ1 (HUME)."""

    first = "first"
    auto = "auto"


class KScan(str, Enum):
    """How a K range is searched: fast (K screened upwards until the criterion has fallen
    behind, φ1 compared at the best K, the most promising searched in full),
    screen-all (every candidate screened, the most promising searched in full: the fast scan
    of the earlier versions), or exhaustive (every candidate searched in full)."""

    fast = "fast"
    screen_all = "screen-all"
    exhaustive = "exhaustive"


class Preset(str, Enum):
    """Named settings: the product defaults, the official ones, the official large-K ones."""

    default = "default"
    paper = "paper"
    large_k = "large-k"


#: ``--class-sizes uneven``: the weights of each size term tried (each with a few seeds) before
#: the search, largest first. The entropy's include the uniform prior's 10, so balanced data can
#: keep it; the log term, which no class can escape, needs smaller weights (docs/algorithm.md §10.3).
UNEVEN_WEIGHTS = {"entropy": (10.0, 3.0, 1.0, 0.3), "log": (3.0, 1.0, 0.3, 0.1)}
