"""The class-size term of HUME's and TURTLE's objectives: what keeps the labeling from collapsing
onto a few classes (docs/algorithm.md §10.3).

Both terms are functions of the mean label p̄ (K,) of a batch of rows, maximised by the uniform
p̄, and enter the loss as ``− weight · term(p̄)``:

- ``entropy`` (the papers): H(p̄) = −Σₖ p̄ₖ log p̄ₖ, i.e. log K − KL(p̄ ‖ uniform). Its pull on a
  class grows only like −log p̄ₖ, so with a weak weight a small class can be given up entirely;
- ``log``: (1/K) Σₖ log p̄ₖ + log K = −KL(uniform ‖ p̄). It falls to −∞ as any class empties, so
  no class vanishes, while between classes of fair size it pulls gently: with a small weight it
  lets the classes be as uneven as the data are.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hume.search.vocabulary import SizeTerm

if TYPE_CHECKING:
    import torch

#: the terms by name (those `--size-term` offers); ``entropy`` is the papers' and the default
SIZE_TERMS = tuple(term.value for term in SizeTerm)


def size_term(p_bar: torch.Tensor, kind: str = "entropy") -> torch.Tensor:
    """The class-size term of mean labels ``p_bar`` (..., K), one value per leading index (...).

    Both are 0 … log K for ``entropy`` and −∞ … 0 for ``log``; their maximum is at the uniform p̄.
    """
    logs = p_bar.clamp_min(1e-12).log()
    if kind == "entropy":
        return -(p_bar * logs).sum(-1)
    if kind == "log":
        return logs.mean(-1) + math.log(p_bar.shape[-1])
    raise ValueError(f"unknown class-size term {kind!r}: use one of {', '.join(SIZE_TERMS)}")
