"""Search maths: hypergradient vs plain autograd, sparsemax vs its definition, orthonormal rows."""

import itertools

import pytest
import torch


pytestmark = pytest.mark.usefixtures("one_thread")

from hume.search.encoder import init_params, orthonormal_rows
from hume.search.inner import inner_loss
from hume.search.sparsemax import sparsemax


def _unrolled_reference(x, xv, ytr, yv, v0, k, steps, lr):
    """Plain autograd through T unrolled GD steps, one (subset, seed) at a time."""
    s_n, _, width = v0.shape
    out = torch.zeros(s_n, width // k, dtype=x.dtype)
    for s, b in itertools.product(range(s_n), range(width // k)):
        cols = slice(b * k, (b + 1) * k)
        v = v0[s, :, cols].clone().requires_grad_(True)
        for _ in range(steps):
            fit = -(ytr[s, :, cols] * torch.log_softmax(x[s] @ v, -1)).sum(-1).mean()
            (g,) = torch.autograd.grad(fit, v, create_graph=True)
            v = v - lr * g
        out[s, b] = -(yv[s, :, cols] * torch.log_softmax(xv[s] @ v, -1)).sum(-1).mean()
    return out


def _problem(seed=0, s=2, n=25, nv=9, d=4, b=2, k=3, soft=True):
    g = torch.Generator().manual_seed(seed)
    kw = dict(dtype=torch.float64, generator=g)
    x = torch.randn(s, n, d + 1, **kw)
    x[..., -1] = 1
    xv = torch.randn(s, nv, d + 1, **kw)
    xv[..., -1] = 1
    lab = sparsemax if not soft else (lambda z: torch.softmax(z, -1))
    ytr = lab(2 * torch.randn(s, n, b, k, **kw)).flatten(-2).requires_grad_(True)
    yv = lab(2 * torch.randn(s, nv, b, k, **kw)).flatten(-2).requires_grad_(True)
    v0 = 0.3 * torch.randn(s, d + 1, b * k, **kw)
    w = torch.randn(s, b, **kw)
    return x, xv, ytr, yv, v0, w


@pytest.mark.parametrize("soft", [True, False])
@pytest.mark.parametrize("keep_probs", [True, False])
def test_hypergradient_matches_unrolled_autograd(soft, keep_probs, monkeypatch):
    import hume.search.inner as inner

    monkeypatch.setattr(inner, "KEEP_PROBS_BYTES", inner.KEEP_PROBS_BYTES if keep_probs else 0)
    x, xv, ytr, yv, v0, w = _problem(soft=soft)
    k, steps, lr = 3, 15, 0.7
    loss = inner_loss(x, xv, ytr, yv, v0, k, steps, lr)
    g_tr, g_val = torch.autograd.grad((loss * w).sum(), (ytr, yv))
    ref = _unrolled_reference(x, xv, ytr, yv, v0, k, steps, lr)
    r_tr, r_val = torch.autograd.grad((ref * w).sum(), (ytr, yv))
    assert torch.allclose(loss, ref, rtol=1e-10)
    assert (g_tr - r_tr).norm() / r_tr.norm() <= 1e-4
    assert (g_val - r_val).norm() / r_val.norm() <= 1e-4
    assert r_tr.norm() > 1e-6  # the labels of the train part really move the held-out loss


def _sparsemax_definition(z):
    """argmin_p ||p − z||² over the simplex, by brute force over supports (small K)."""
    out = torch.empty_like(z)
    for i, row in enumerate(z):
        best = None
        k = row.numel()
        for r in range(1, k + 1):
            for supp in itertools.combinations(range(k), r):
                idx = list(supp)
                tau = (row[idx].sum() - 1) / r
                p = torch.zeros_like(row)
                p[idx] = row[idx] - tau
                if (p[idx] >= 0).all():
                    dist = (p - row).pow(2).sum()
                    if best is None or dist < best[0]:
                        best = (dist, p)
        out[i] = best[1]
    return out


def test_sparsemax_forward_is_the_simplex_projection():
    z = torch.randn(40, 5, dtype=torch.float64, generator=torch.Generator().manual_seed(1)) * 2
    p = sparsemax(z)
    assert torch.allclose(p, _sparsemax_definition(z), atol=1e-12)
    assert torch.allclose(p.sum(-1), torch.ones(40, dtype=torch.float64))
    assert (p == 0).any()  # sparse


def test_sparsemax_backward_matches_finite_differences():
    z = (torch.randn(6, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) * 2)
    z.requires_grad_(True)
    assert torch.autograd.gradcheck(sparsemax, (z,), eps=1e-6, atol=1e-6)


def test_encoder_rows_stay_orthonormal():
    a = init_params(12, 4, [0, 1, 2], random_state=3, dtype=torch.float64).requires_grad_(True)
    opt = torch.optim.Adam([a], lr=0.5)
    target = torch.randn(3, 4, 12, dtype=torch.float64)
    for _ in range(20):
        w = orthonormal_rows(a)
        loss = ((w - target) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        opt.step()
    w = orthonormal_rows(a.detach())
    eye = torch.eye(4, dtype=torch.float64).expand(3, 4, 4)
    assert torch.allclose(w @ w.transpose(1, 2), eye, atol=1e-10)
    assert loss.item() < ((orthonormal_rows(init_params(12, 4, [0, 1, 2], 3, torch.float64))
                           - target) ** 2).sum().item()  # it did move towards the target
