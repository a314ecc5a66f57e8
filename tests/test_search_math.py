"""Search maths: hypergradient vs plain autograd, sparsemax vs its definition, orthonormal rows."""

import itertools

import pytest
import torch

from hume.search.estimators.hume_method.encoder import init_params, orthonormal_rows
from hume.search.estimators.hume_method.inner import inner_loss, shared_rows_inner_loss
from hume.search.estimators.hume_method.sparsemax import sparsemax

pytestmark = pytest.mark.usefixtures("one_thread")


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
    import hume.search.estimators.hume_method.inner as inner

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


def _shared_problem(seed=0, s=3, n=30, n_tr=24, d=4, b=2, k=3):
    g = torch.Generator().manual_seed(seed)
    kw = dict(dtype=torch.float64, generator=g)
    x = torch.randn(n, d + 1, **kw)
    x[:, -1] = 1
    y = torch.softmax(2 * torch.randn(n, b, k, **kw), -1).flatten(-2).requires_grad_(True)
    train = torch.zeros(s, n, dtype=torch.float64)
    for i in range(s):
        train[i, torch.randperm(n, generator=g)[:n_tr]] = 1
    v0 = 0.3 * torch.randn(s, d + 1, b * k, **kw)
    w = torch.randn(s, b, **kw)
    return x, y, train, v0, w


@pytest.mark.parametrize("keep_probs", [True, False])
@pytest.mark.parametrize("chunk", [None, 2])
def test_shared_rows_hypergradient_matches_unrolled_autograd(keep_probs, chunk, monkeypatch):
    """Subsets holding every row, differing in their held-out rows: one X and a mask give the
    loss and gradient of plain autograd through the unrolled steps on each subset's rows."""
    import hume.search.estimators.hume_method.inner as inner

    if not keep_probs:
        monkeypatch.setattr(inner, "KEEP_PROBS_BYTES", 0)
    x, y, train, v0, w = _shared_problem()
    k, steps, lr = 3, 12, 0.7
    tr = [train[i].nonzero().squeeze(1) for i in range(train.shape[0])]
    va = [(1 - train[i]).nonzero().squeeze(1) for i in range(train.shape[0])]
    loss = shared_rows_inner_loss(x, y, train, torch.stack(va), v0, k, steps, lr, chunk)
    (g,) = torch.autograd.grad((loss * w).sum(), y)
    ref = _unrolled_reference(
        torch.stack([x[i] for i in tr]),
        torch.stack([x[i] for i in va]),
        torch.stack([y[i] for i in tr]),
        torch.stack([y[i] for i in va]),
        v0,
        k,
        steps,
        lr,
    )
    (r,) = torch.autograd.grad((ref * w).sum(), y)
    assert torch.allclose(loss, ref, rtol=1e-10)
    assert (g - r).norm() / r.norm() <= 1e-8


def test_kept_probabilities_stay_within_the_budget_over_all_chunks(monkeypatch):
    """Chunks keep their probabilities only while the whole call stays within the budget."""
    import hume.search.estimators.hume_method.inner as inner

    x, y, train, v0, _ = _shared_problem(s=4)
    va = torch.stack([(1 - train[i]).nonzero().squeeze(1) for i in range(4)])
    steps, one_chunk = 5, 5 * 6 * 30 * 8  # T × (1 subset × B·K) × N × float64
    monkeypatch.setattr(inner, "KEEP_PROBS_BYTES", 2 * one_chunk)
    kept = []
    real = inner.FitClassifiers.apply
    monkeypatch.setattr(inner.FitClassifiers, "apply", lambda *a: kept.append(a[-1]) or real(*a))
    shared_rows_inner_loss(x, y, train, va, v0, 3, steps, 0.5, chunk=1)
    assert kept == [True, True, False, False]


def test_search_uses_one_shared_x_when_subsets_hold_every_row(monkeypatch):
    """With m = N the outer loss takes the shared-rows path, and it equals the gathered path
    (same subsets, same initialisations) in value and gradient."""
    from dataclasses import replace

    import hume.search.estimators.hume_method.hume_outer as alg
    from hume.search.estimators.hume_method.hume_config import PAPER

    g = torch.Generator().manual_seed(4)
    views = [
        torch.randn(50, 6, dtype=torch.float64, generator=g),
        torch.randn(50, 5, dtype=torch.float64, generator=g),
    ]
    cfg = replace(PAPER, inner_steps=6, subsets=3, inner_lr=0.5)
    data = alg.prepare(views, cfg, torch.device("cpu"), torch.float64)
    calls = []
    real = alg.shared_rows_inner_loss
    monkeypatch.setattr(
        alg, "shared_rows_inner_loss", lambda *a, **kw: calls.append(1) or real(*a, **kw)
    )
    out = {}
    for shared in (True, False):
        monkeypatch.setattr(alg, "SHARED_ROWS", shared)
        a = init_params(6, 3, [0, 1], 0, torch.float64).requires_grad_(True)
        loss, _ = alg.outer_loss(data, a, 3, cfg, 0, 0, 0.5)
        out[shared] = (loss.detach(), torch.autograd.grad(loss.sum(), a)[0])
    assert len(calls) == 1
    assert torch.allclose(out[True][0], out[False][0], rtol=1e-12)
    assert (out[True][1] - out[False][1]).norm() / out[False][1].norm() <= 1e-10


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
    z = torch.randn(6, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(2)) * 2
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
    assert (
        loss.item()
        < ((orthonormal_rows(init_params(12, 4, [0, 1, 2], 3, torch.float64)) - target) ** 2)
        .sum()
        .item()
    )  # it did move towards the target
