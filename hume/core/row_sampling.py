"""The one seeded sample of rows: which ``size`` of ``n`` rows a bounded computation works on.

Every sample of rows in hume is drawn here, by :func:`sample_rows`, from a seed and a named
stream (:data:`STREAMS`): the k-means and linear-probe baselines, the label-free score, the
stabilities of the choice signals, and the cut's and the linkage's consensus. Each stream keeps
the draw it has always made, so that a seed picks the same rows as in earlier versions: the
stream says whether numpy's or torch's generator draws (both on the CPU: the same rows on every
device) and how the seed is turned into that generator's seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch


@dataclass(frozen=True)
class Stream:
    """How a stream draws: ``numpy`` (``default_rng(seed).choice`` without replacement; with
    ``keyed_by_n`` the generator is seeded by ``[seed, n]``) or ``torch`` (the first rows of
    ``torch.randperm`` from a generator seeded by ``seed + offset``)."""

    library: str
    offset: int = 0
    keyed_by_n: bool = False


#: The streams by name: what each sample is for.
STREAMS: dict[str, Stream] = {
    # the rows k-means and the linear probe fit on (hume.evaluate.baselines)
    "baselines": Stream("numpy"),
    # the rows the seeds' stabilities are measured on (hume.search.selection.choice_signals)
    "signals": Stream("numpy", keyed_by_n=True),
    # the rows the label-free score fits on, apart from the folds drawn from the same seed
    # (hume.search.selection.label_free_score)
    "label_free_score": Stream("torch", offset=7919),
    # the rows the cut's k-means fits on (hume.search.selection.consensus)
    "cut": Stream("torch"),
    # the rows the linkage clusters (hume.search.selection.consensus)
    "linkage": Stream("torch"),
}


def sample_rows(n: int, size: int | None, seed: int, stream: str) -> np.ndarray | None:
    """Sorted indices (``size``,) of a uniform sample without replacement of ``n`` rows, drawn
    from ``seed`` in the named ``stream``; None when every row fits (``size`` None or ≥ ``n``)."""
    if size is None or n <= size:
        return None
    how = STREAMS[stream]
    if how.library == "numpy":
        key: int | list[int] = [int(seed), n] if how.keyed_by_n else int(seed)
        return np.sort(np.random.default_rng(key).choice(n, size=size, replace=False))
    gen = torch.Generator().manual_seed(int(seed) + how.offset)
    return torch.randperm(n, generator=gen)[:size].sort().values.numpy()
