"""The inner problem and its exact second-order hypergradient, batched over subsets and seeds.

For every subset s and seed b, a linear classifier V (weights + bias, the bias as a column of
ones appended to φ2) is fitted to the soft labels Y_tr by T plain gradient-descent steps on the
soft-target cross-entropy, starting from V0:

    V_{t+1} = V_t − (η/n) Xᵀ (softmax(X V_t) ⊙ s − Y_tr),     s = rowsum(Y_tr) (= 1 for sparsemax)

and the outer loss is the held-out cross-entropy CE(X_val V_T, Y_val). Its gradient with respect
to Y_tr flows through every one of the T steps (the fitted V_T is a function of the labels).

Rather than keeping T autograd graphs alive for every seed and subset, the reverse pass is
written by hand: the forward pass stores only the T iterates V_t (O(T·d·K) per seed and subset),
and the backward pass walks them in reverse, propagating the adjoint Ṽ_t = ∂L/∂V_t:

    U       = X Ṽ_{t+1}
    P_t     = softmax(X V_t)
    ∂L/∂Y  += (η/n) (U − ⟨P_t, U⟩ 1ᵀ)                 (Y enters the step linearly and via s)
    Ṽ_t     = Ṽ_{t+1} − (η/n) Xᵀ [s ⊙ P_t ⊙ (U − ⟨P_t, U⟩ 1ᵀ)]   (softmax Jacobian)

Seeds share each step's subsets (see :mod:`hume.search.algorithm`), so their classifiers are
stacked as column blocks: X (S, n, d+1) @ V (S, d+1, B·K) is one batched matrix product for all
seeds and subsets, and the softmax runs per K-block.
"""

from __future__ import annotations

import torch


def _blocks(z: torch.Tensor, k: int) -> torch.Tensor:
    return z.unflatten(-1, (-1, k))


def _softmax_blocks(z: torch.Tensor, k: int) -> torch.Tensor:
    return torch.softmax(_blocks(z, k), -1).flatten(-2)


def _block_sum(z: torch.Tensor, k: int) -> torch.Tensor:
    """Sum within each K-block, broadcast back over the block: (..., B·K) → (..., B·K)."""
    b = _blocks(z, k)
    return b.sum(-1, keepdim=True).expand_as(b).flatten(-2)


def _gd(x: torch.Tensor, y: torch.Tensor, v0: torch.Tensor, k: int, steps: int, lr: float,
        keep: torch.Tensor | None) -> torch.Tensor:
    step = lr / x.shape[1]
    s = _block_sum(y, k)
    xt = x.transpose(1, 2)
    v = v0.clone()
    for t in range(steps):
        if keep is not None:
            keep[t].copy_(v)
        p = _softmax_blocks(torch.bmm(x, v), k)
        v = torch.baddbmm(v, xt, p * s - y, alpha=-step)
    return v


class InnerLoss(torch.autograd.Function):
    """Held-out cross-entropy after T GD steps, per subset and seed: (S, B).

    Inputs: x_tr (S, n, d+1), x_val (S, n_v, d+1), y_tr (S, n, B·K), y_val (S, n_v, B·K),
    v0 (S, d+1, B·K) initial classifiers, K, T, η. Gradients flow to y_tr and y_val only.
    """

    @staticmethod
    def forward(ctx, x_tr, x_val, y_tr, y_val, v0, k: int, steps: int, lr: float):  # type: ignore[override]
        keep = v0.new_empty((steps, *v0.shape))
        v_t = _gd(x_tr, y_tr, v0, k, steps, lr, keep)
        logp = torch.log_softmax(_blocks(torch.bmm(x_val, v_t), k), -1)
        ce = -(logp * _blocks(y_val, k)).sum(-1).mean(1)  # (S, B)
        ctx.save_for_backward(x_tr, x_val, y_tr, y_val, keep, v_t, logp)
        ctx.k, ctx.steps, ctx.lr = k, steps, lr
        return ce

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        x_tr, x_val, y_tr, y_val, keep, v_t, logp = ctx.saved_tensors
        k, steps, lr = ctx.k, ctx.steps, ctx.lr
        n_val = x_val.shape[1]
        gc = g.unsqueeze(1).unsqueeze(-1)  # (S, 1, B, 1)
        yv = _blocks(y_val, k)
        g_yval = (-logp * gc / n_val).flatten(-2)
        p_val = logp.exp()
        dz = ((p_val * yv.sum(-1, keepdim=True) - yv) * gc / n_val).flatten(-2)
        adj = torch.bmm(x_val.transpose(1, 2), dz)  # Ṽ_T
        step = lr / x_tr.shape[1]
        s = _block_sum(y_tr, k)
        xt = x_tr.transpose(1, 2)
        width = adj.shape[-1]
        g_ytr = torch.zeros_like(y_tr)
        for t in range(steps - 1, -1, -1):
            zu = torch.bmm(x_tr, torch.cat([keep[t], adj], -1))  # X V_t and X Ṽ_{t+1} at once
            p = _softmax_blocks(zu[..., :width], k)
            u = zu[..., width:]
            centred = u - _block_sum(p * u, k)
            g_ytr += centred  # ∂L/∂Y of step t, up to the factor η/n applied once below
            adj = torch.baddbmm(adj, xt, s * p * centred, alpha=-step)
        g_ytr *= step
        return None, None, g_ytr, g_yval, None, None, None, None


def inner_loss(x_tr: torch.Tensor, x_val: torch.Tensor, y_tr: torch.Tensor, y_val: torch.Tensor,
               v0: torch.Tensor, k: int, steps: int, lr: float) -> torch.Tensor:
    """(S, B) held-out cross-entropy of classifiers fitted by T GD steps (see module doc)."""
    return InnerLoss.apply(x_tr, x_val, y_tr, y_val, v0, k, steps, lr)
