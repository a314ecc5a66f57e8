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
stacked as blocks: Vᵀ (S, B·K, d+1) @ Xᵀ (S, d+1, n) is one batched matrix product for all
seeds and subsets, and the softmax runs per K-block.
"""

from __future__ import annotations

import torch


def _blocks(z: torch.Tensor, k: int) -> torch.Tensor:
    """(..., B·K) → (..., B, K) view."""
    return z.unflatten(-1, (-1, k))


def _classes_first(z: torch.Tensor, k: int) -> torch.Tensor:
    """(S, B·K, n) → (S, B, K, n) view: classes on dim 2, rows contiguous."""
    return z.unflatten(1, (-1, k))


def _softmax_(z: torch.Tensor, dim: int) -> torch.Tensor:
    """Softmax over ``dim``, in place (three vectorised passes; torch.softmax over a short,
    strided class dimension is several times slower on the CPU)."""
    z.sub_(z.amax(dim, keepdim=True)).exp_()
    return z.div_(z.sum(dim, keepdim=True))


# Layout: inside the loops every (rows × classes) tensor is held classes-first, (S, B·K, n),
# and classifiers as Vᵀ (S, B·K, d+1). Then Zᵀ = Vᵀ Xᵀ and the gradient Gᵀ X are matrix products
# with the long row dimension innermost, about three times faster on the CPU than X V with only
# B·K output columns.


#: The forward pass also keeps the probabilities P_t (saving one matrix product and a softmax
#: per backward step) when they take at most this many bytes; otherwise they are recomputed.
KEEP_PROBS_BYTES = 768 << 20


def _gd(x: torch.Tensor, xt: torch.Tensor, yt: torch.Tensor, v0t: torch.Tensor, k: int,
        steps: int, lr: float, keep: torch.Tensor | None,
        keep_p: torch.Tensor | None = None) -> torch.Tensor:
    step = lr / x.shape[1]
    y4 = _classes_first(yt, k)
    s4 = y4.sum(2, keepdim=True)
    vt = v0t.clone()
    for t in range(steps):
        if keep is not None:
            keep[t].copy_(vt)
        p4 = _softmax_(_classes_first(torch.bmm(vt, xt), k), 2)
        if keep_p is not None:
            keep_p[t].copy_(p4)
        vt = torch.baddbmm(vt, p4.mul_(s4).sub_(y4).flatten(1, 2), x, alpha=-step)
    return vt


class InnerLoss(torch.autograd.Function):
    """Held-out cross-entropy after T GD steps, per subset and seed: (S, B).

    Inputs: x_tr (S, n, d+1), x_val (S, n_v, d+1), y_tr (S, n, B·K), y_val (S, n_v, B·K),
    v0 (S, d+1, B·K) initial classifiers, K, T, η. Gradients flow to y_tr and y_val only.
    """

    @staticmethod
    def forward(ctx, x_tr, x_val, y_tr, y_val, v0, k: int, steps: int, lr: float):  # type: ignore[override]
        xt = x_tr.transpose(1, 2).contiguous()
        yt = y_tr.transpose(1, 2).contiguous()
        v0t = v0.transpose(1, 2).contiguous()
        keep = v0t.new_empty((steps, *v0t.shape))
        keep_p = None
        if steps * yt.numel() * yt.element_size() <= KEEP_PROBS_BYTES:
            keep_p = yt.new_empty((steps, *_classes_first(yt, k).shape))
        vt = _gd(x_tr, xt, yt, v0t, k, steps, lr, keep, keep_p)
        logp = torch.log_softmax(_blocks(torch.bmm(x_val, vt.transpose(1, 2)), k), -1)
        ce = -(logp * _blocks(y_val, k)).sum(-1).mean(1)  # (S, B)
        ctx.keep_p = keep_p  # not an input or output: plain attribute
        ctx.save_for_backward(x_tr, xt, x_val, yt, y_val, keep, logp)
        ctx.k, ctx.steps, ctx.lr = k, steps, lr
        return ce

    @staticmethod
    def backward(ctx, g):  # type: ignore[override]
        x_tr, xt, x_val, yt, y_val, keep, logp = ctx.saved_tensors
        k, steps, lr = ctx.k, ctx.steps, ctx.lr
        n_val = x_val.shape[1]
        gc = g.unsqueeze(1).unsqueeze(-1)  # (S, 1, B, 1)
        yv = _blocks(y_val, k)
        g_yval = (-logp * gc / n_val).flatten(-2)
        dz = ((logp.exp() * yv.sum(-1, keepdim=True) - yv) * gc / n_val).flatten(-2)
        adj = torch.bmm(dz.transpose(1, 2), x_val)  # Ṽ_Tᵀ (S, B·K, d+1)
        step = lr / x_tr.shape[1]
        s4 = _classes_first(yt, k).sum(2, keepdim=True)
        g_yt = torch.zeros_like(yt)
        g4 = _classes_first(g_yt, k)
        for t in range(steps - 1, -1, -1):
            if ctx.keep_p is not None:
                p4 = ctx.keep_p[t]
            else:
                p4 = _softmax_(_classes_first(torch.bmm(keep[t], xt), k), 2)  # P_t, recomputed
            u4 = _classes_first(torch.bmm(adj, xt), k)                    # U = X Ṽ_{t+1}
            centred = u4.sub_((p4 * u4).sum(2, keepdim=True))
            g4 += centred  # ∂L/∂Y of step t, up to the factor η/n applied once below
            adj = torch.baddbmm(adj, (p4 * s4).mul_(centred).flatten(1, 2), x_tr, alpha=-step)
        ctx.keep_p = None
        g_ytr = g_yt.transpose(1, 2).mul(step)
        return None, None, g_ytr, g_yval, None, None, None, None


def inner_loss(x_tr: torch.Tensor, x_val: torch.Tensor, y_tr: torch.Tensor, y_val: torch.Tensor,
               v0: torch.Tensor, k: int, steps: int, lr: float) -> torch.Tensor:
    """(S, B) held-out cross-entropy of classifiers fitted by T GD steps (see module doc)."""
    return InnerLoss.apply(x_tr, x_val, y_tr, y_val, v0, k, steps, lr)
