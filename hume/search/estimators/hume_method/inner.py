"""The inner problem and its exact second-order hypergradient, batched over subsets and seeds
(docs/algorithm.md §2.4–§2.5).

For every subset s and seed b, a linear classifier V (weights + bias, the bias as a column of
ones appended to φ2) is fitted to the soft labels Y of the subset's train rows by T plain
gradient-descent steps on the soft-target cross-entropy, from V0:

    V_{t+1} = V_t − (η/n) Xᵀ (softmax(X V_t) ⊙ s − Y),     s = rowsum(Y) (= 1 for sparsemax)

The outer loss is the held-out cross-entropy CE(X_val V_T, Y_val); its gradient with respect to
Y flows through all T steps. :class:`FitClassifiers` writes that reverse pass by hand, keeping
only the iterates V_t (docs/algorithm.md §2.5 gives its equations). The rows come in two layouts
(§2.3): *gathered*, X (S, n, d+1), a copy of each subset's train rows, the products batched over
subsets; or *shared*, when every subset holds all N rows, one X (N, d+1) with a 0/1 mask (S, N)
of each subset's train rows, every step one matrix product over all subsets and seeds.
"""

from __future__ import annotations

import torch

#: The forward pass also keeps the probabilities P_t (saving their recomputation in the backward
#: pass: one product and a softmax per step) when they take at most this many bytes. On the CPU
#: that was faster too (bench/RESULTS.md, "Two constants of HUME's CPU search").
KEEP_PROBS_BYTES = 768 << 20


def _xv(xt: torch.Tensor, vt: torch.Tensor, out: torch.Tensor) -> torch.Tensor:
    """Logits, classes first: Vᵀ (S, R, d+1) @ Xᵀ → ``out`` (S, R, n)."""
    if xt.dim() == 2:
        torch.mm(vt.flatten(0, 1), xt, out=out.flatten(0, 1))
        return out
    return torch.bmm(vt, xt, out=out)


def _rx(r: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    """R (S, R, n) @ X → (S, R, d+1)."""
    if x.dim() == 2:
        return torch.mm(r.flatten(0, 1), x).view(r.shape[0], r.shape[1], x.shape[1])
    return torch.bmm(r, x)


def _step(vt: torch.Tensor, r: torch.Tensor, x: torch.Tensor, alpha: float) -> torch.Tensor:
    """Vᵀ + alpha · R X, batched like :func:`_rx`."""
    if x.dim() == 2:
        return torch.addmm(vt.flatten(0, 1), r.flatten(0, 1), x, alpha=alpha).view(vt.shape)
    return torch.baddbmm(vt, r, x, alpha=alpha)


class FitClassifiers(torch.autograd.Function):
    """V_T after T GD steps for every (subset, seed); gradients flow to the labels only.

    Inputs: x (S, n, d+1) gathered or (N, d+1) shared; y (S, n, B·K) or (N, B·K); train mask
    (S, N) 0/1 for the shared layout, else None; v0 (S, d+1, B·K); K; T; η; n_fit (rows per
    fit: n, or the mask's count of ones); keep: store the probabilities P_t (T·S·B·K·n values)
    instead of recomputing them (see :func:`probs_bytes`). Output: V_Tᵀ (S, B·K, d+1).
    """

    @staticmethod
    def forward(
        ctx,
        x,
        y,
        train,
        v0,
        k: int,
        steps: int,
        lr: float,
        n_fit: int,
        keep_p_too: bool,
    ):
        s_n, width = v0.shape[0], v0.shape[2]
        n = x.shape[-2]
        xt = x.transpose(-1, -2).contiguous()
        if train is None:
            y4 = y.transpose(1, 2).contiguous().view(s_n, width // k, k, n)  # classes first
            fit = torch.ones((), dtype=y.dtype, device=y.device)
        else:
            y4 = y.T.contiguous().view(1, width // k, k, n)
            fit = train.view(s_n, 1, 1, n)
        shape = (s_n, width // k, k, n)
        sm = y4.sum(2, keepdim=True) * fit  # rowsum(Y) on train rows, else 0
        step = lr / n_fit
        ym = y4 if train is None else (y4 * fit)
        ytx = _rx(ym.flatten(1, 2), x).mul_(step)  # η/n · Yᵀ X, the same every step
        vt = v0.transpose(1, 2).contiguous()  # Vᵀ (S, B·K, d+1)
        keep = vt.new_empty((steps, *vt.shape))
        keep_p: list[torch.Tensor] | None = [] if keep_p_too else None
        z = vt.new_empty((s_n, width, n))
        for t in range(steps):
            keep[t].copy_(vt)
            p4 = torch.softmax(_xv(xt, vt, z).view(shape), 2)
            if keep_p is not None:
                keep_p.append(p4)
            torch.mul(p4, sm, out=z.view(shape))  # P ⊙ s on train rows, 0 elsewhere
            vt = _step(vt, z, x, -step).add_(ytx)
        ctx.keep_p = keep_p  # not an input or output: plain attribute
        ctx.save_for_backward(x, xt, sm, fit, keep)
        ctx.shape, ctx.step, ctx.shared = shape, step, train is not None
        return vt

    @staticmethod
    def backward(ctx, adj):
        x, xt, sm, fit, keep = ctx.saved_tensors
        shape, step, keep_p = ctx.shape, ctx.step, ctx.keep_p
        s_n, b, k, n = shape
        adj = adj.contiguous()
        adj_sum = torch.zeros_like(adj)  # Σ_t Ṽ_{t+1}
        pu_sum = adj.new_zeros((s_n, b, 1, n))  # Σ_t ⟨P_t, U_t⟩ per row
        vv = adj.new_empty((2, *adj.shape))  # [V_tᵀ; Ṽ_{t+1}ᵀ]
        both = adj.new_empty((2, s_n, b * k, n))  # [X V_tᵀ; U = X Ṽ_{t+1}ᵀ], classes first
        for t in range(keep.shape[0] - 1, -1, -1):
            adj_sum += adj
            if keep_p is not None:
                p4 = keep_p[t]
                _xv(xt, adj, both[1])
            else:  # P_t recomputed, in the same product as U where X is shared
                vv[0] = keep[t]
                vv[1] = adj
                if xt.dim() == 2:
                    torch.mm(vv.view(-1, vv.shape[-1]), xt, out=both.view(-1, n))
                else:
                    _xv(xt, vv[0], both[0])
                    _xv(xt, vv[1], both[1])
                p4 = torch.softmax(both[0].view(shape), 2)
            u4 = both[1].view(shape)
            pu = torch.mul(p4, u4, out=u4)
            c = pu.sum(2, keepdim=True)  # ⟨P_t, U⟩
            pu_sum += c
            w = torch.addcmul(pu, p4, c, value=-1, out=u4).mul_(sm)  # s ⊙ J_softmax(P_t) U
            adj = _step(adj, w.view(s_n, b * k, n), x, -step)
        ctx.keep_p = None
        # ∂L/∂Y of the train rows: η/n Σ_t (U_t − ⟨P_t, U_t⟩), from the two sums.
        g = _xv(xt, adj_sum, both[0]).view(shape).sub_(pu_sum).mul_(step)
        if ctx.shared:
            g_y = g.mul_(fit).sum(0).view(b * k, n).T
        else:
            g_y = g.view(s_n, b * k, n).transpose(1, 2)
        return None, g_y, None, None, None, None, None, None, None


def probs_bytes(steps: int, rows: int, n: int, item: int = 4) -> int:
    """Bytes of T steps of (rows × n) probabilities, as :class:`FitClassifiers` keeps them."""
    return steps * rows * n * item


def inner_loss(
    x_tr: torch.Tensor,
    x_val: torch.Tensor,
    y_tr: torch.Tensor,
    y_val: torch.Tensor,
    v0: torch.Tensor,
    k: int,
    steps: int,
    lr: float,
) -> torch.Tensor:
    """(S, B) held-out cross-entropy of classifiers fitted by T GD steps (gathered rows):
    x_tr (S, n, d+1), x_val (S, n_v, d+1), y_tr (S, n, B·K), y_val (S, n_v, B·K), v0 (S, d+1, B·K)."""
    s_n, n, width = y_tr.shape
    keep = probs_bytes(steps, s_n * width, n, y_tr.element_size()) <= KEEP_PROBS_BYTES
    vt = FitClassifiers.apply(x_tr, y_tr, None, v0, k, steps, lr, n, keep)
    logp = torch.log_softmax(torch.bmm(x_val, vt.transpose(1, 2)).unflatten(-1, (-1, k)), -1)
    return -(logp * y_val.unflatten(-1, (-1, k))).sum(-1).mean(1)


def shared_rows_inner_loss(
    x: torch.Tensor,
    y: torch.Tensor,
    train: torch.Tensor,
    held_out: torch.Tensor,
    v0: torch.Tensor,
    k: int,
    steps: int,
    lr: float,
    chunk: int | None = None,
) -> torch.Tensor:
    """(S, B) held-out cross-entropy when every subset holds all N rows (shared layout):
    x (N, d+1), y (N, B·K), train (S, N) 0/1 marking each subset's fit rows, held_out (S, n_v)
    indices of the others, v0 (S, d+1, B·K).

    ``chunk`` subsets are fitted at a time (all at once when None); the problems of different
    subsets are independent, so this only bounds the working set (the CPU's caches). Chunks keep
    their probabilities while the whole call stays within ``KEEP_PROBS_BYTES``."""
    s_n, n = train.shape
    n_tr = n - held_out.shape[1]
    chunk = s_n if chunk is None else max(1, chunk)
    budget = KEEP_PROBS_BYTES
    parts = []
    for i in range(0, s_n, chunk):
        mask = train[i : i + chunk]
        need = probs_bytes(steps, mask.shape[0] * y.shape[1], n, y.element_size())
        keep = need <= budget
        budget -= need if keep else 0
        vt = FitClassifiers.apply(x, y, mask, v0[i : i + chunk], k, steps, lr, n_tr, keep)
        idx = held_out[i : i + chunk]
        logp = torch.log_softmax(torch.bmm(x[idx], vt.transpose(1, 2)).unflatten(-1, (-1, k)), -1)
        parts.append(-(logp * y[idx].unflatten(-1, (-1, k))).sum(-1).mean(1))
    return torch.cat(parts)
