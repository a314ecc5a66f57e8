"""Sparsemax (Martins & Astudillo, 2016): the Euclidean projection onto the probability simplex.

HUME's task encoder turns logits into labels with ``sparsemax(z / t)``: rows sum to one and many
entries are exactly zero, so labels can be (almost) hard while still carrying a gradient.
"""

from __future__ import annotations

import torch


def _threshold(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """τ(z) and the support size along the last dim: sparsemax(z) = max(z − τ, 0)."""
    zs, _ = torch.sort(z, dim=-1, descending=True)
    k = torch.arange(1, z.shape[-1] + 1, device=z.device, dtype=z.dtype)
    cums = zs.cumsum(-1)
    in_support = (1 + k * zs) > cums
    support = in_support.sum(-1, keepdim=True)  # ≥ 1 always: the largest entry is in
    tau = (cums.gather(-1, support - 1) - 1) / support.to(z.dtype)
    return tau, support


class _Sparsemax(torch.autograd.Function):
    @staticmethod
    def forward(ctx, z: torch.Tensor) -> torch.Tensor:
        tau, _ = _threshold(z)
        p = torch.clamp(z - tau, min=0)
        ctx.save_for_backward(p)
        return p

    @staticmethod
    def backward(ctx, g: torch.Tensor) -> torch.Tensor:
        # Jacobian on the support S: I − 1 1ᵀ/|S|; zero off the support.
        (p,) = ctx.saved_tensors
        s = (p > 0).to(g.dtype)
        mean_g = (g * s).sum(-1, keepdim=True) / s.sum(-1, keepdim=True)
        return s * (g - mean_g)


def sparsemax(z: torch.Tensor) -> torch.Tensor:
    """Sparsemax along the last dimension; same shape as ``z``, rows on the simplex."""
    return _Sparsemax.apply(z)
