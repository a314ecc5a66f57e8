"""The task encoder: τθ(x) = sparsemax(W φ1(x) / t) with W (K × d1) of orthonormal rows.

Many seeds are held in one tensor. The free parameter of seed b is ``A[b]`` (d1 × K); its
orthonormal rows come from the thin QR factorisation, ``W[b] = Qᵀ`` with the signs fixed so
that diag(R) > 0 (a smooth, unique map from full-rank A to the Stiefel manifold). The official
code uses PyTorch's orthogonal parametrisation (Householder); both keep W exactly orthonormal,
and the labeling is ``argmax W φ1`` either way.
"""

from __future__ import annotations

import torch

from hume.search.estimators.hume_method.sparsemax import sparsemax
from hume.search.optimiser.random_streams import mix_seed


def orthonormal_rows(a: torch.Tensor) -> torch.Tensor:
    """(B, d1, K) free parameters → (B, K, d1) matrices whose rows are orthonormal."""
    q, r = torch.linalg.qr(a, mode="reduced")
    sign = torch.sign(torch.diagonal(r, dim1=-2, dim2=-1))
    sign = torch.where(sign == 0, torch.ones_like(sign), sign)
    return (q * sign.unsqueeze(-2)).transpose(-1, -2)


def init_params(
    d1: int, k: int, seed_ids: list[int], random_state: int, dtype: torch.dtype = torch.float32
) -> torch.Tensor:
    """Initial free parameters (B, d1, K): Gaussian, one CPU generator per seed id, so a seed
    starts from the same W whatever group it is run in."""
    out = torch.empty((len(seed_ids), d1, k), dtype=torch.float64)
    for i, seed in enumerate(seed_ids):
        g = torch.Generator().manual_seed(mix_seed(random_state, seed))
        out[i] = torch.randn((d1, k), generator=g, dtype=torch.float64)
    return out.to(dtype)


def logits(phi1: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """(N, d1) rows × (B, K, d1) encoders → (N, B, K) logits W φ1."""
    b, k, d1 = w.shape
    return (phi1 @ w.reshape(b * k, d1).T).reshape(-1, b, k)


def soft_labels(phi1: torch.Tensor, w: torch.Tensor, temperature: float) -> torch.Tensor:
    """(N, B, K) labels sparsemax(W φ1 / t) of every row for every seed."""
    return sparsemax(logits(phi1, w) / temperature)


def hard_labels(phi1: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """(B, N) labeling argmax W φ1 of every seed."""
    return logits(phi1, w).argmax(-1).T.contiguous()
