"""HUME's preparation and outer loop, and the estimators' shell, against what docs/algorithm.md
states (§2.1 inputs, §2.4 the large-K inner initialisation, §2.6 annealing, §3.1 random streams,
§3.3 memory): each expectation is computed here from the documented rule, on tiny data."""

from __future__ import annotations

import io
from dataclasses import replace

import numpy as np
import pytest
import torch
from helpers import planted_views

from hume.core.errors import HumeError
from hume.search import HUME, TURTLE
from hume.search.estimators.hume_method import hume_outer
from hume.search.estimators.hume_method.hume_config import DEFAULT, LARGE_K, PAPER
from hume.search.optimiser.random_streams import memory_budget

pytestmark = pytest.mark.usefixtures("one_thread")
CPU = torch.device("cpu")


def _tensors(views, dtype=torch.float64):
    return [torch.as_tensor(v, dtype=dtype) for v in views]


def _correlated(n=200, d=5, seed=0):
    """Rows with correlated features of very different scales (a covariance far from I)."""
    rng = np.random.default_rng(seed)
    mix = rng.normal(size=(d, d)) * np.geomspace(0.1, 10, d)
    return rng.normal(size=(n, d)) @ mix + rng.normal(size=d) * 3


def _mix(a: int, b: int) -> int:
    """docs/algorithm.md §3.1's 64-bit mixer, as written there."""
    y = (a * 0x9E3779B97F4A7C15 + b * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) % 2**64
    return (y ^ (y >> 31)) % 2**63


# -- §2.1: inputs --------------------------------------------------------------------------------
def test_phi1_is_centred_then_row_normalised_and_the_paper_only_normalises():
    phi1 = _correlated(d=6, seed=1)
    phi2 = _correlated(seed=2)
    data = hume_outer.prepare(_tensors([phi1, phi2]), DEFAULT, CPU, torch.float64)
    centred = phi1 - phi1.mean(0)
    expected = centred / np.linalg.norm(centred, axis=1, keepdims=True)
    np.testing.assert_allclose(data.phi1.numpy(), expected, atol=1e-12)
    np.testing.assert_allclose(data.phi1_mean.numpy(), phi1.mean(0), atol=1e-12)
    paper = hume_outer.prepare(_tensors([phi1, phi2]), PAPER, CPU, torch.float64)
    expected = phi1 / np.linalg.norm(phi1, axis=1, keepdims=True)
    np.testing.assert_allclose(paper.phi1.numpy(), expected, atol=1e-12)
    assert not paper.phi1_mean.any()
    # the paper's φ2 is raw, with the bias column of ones appended
    np.testing.assert_allclose(paper.phi2[0].numpy(), np.c_[phi2, np.ones(len(phi2))])


def test_zca_whitening_gives_identity_covariance_and_adds_eps_to_every_eigenvalue():
    phi1, phi2 = _correlated(d=6, seed=3), _correlated(seed=4)
    n = len(phi2)
    # ε = 0: the whitened view has exactly the identity covariance
    exact = replace(DEFAULT, whiten_eps=0.0)
    x = hume_outer.prepare(_tensors([phi1, phi2]), exact, CPU, torch.float64).phi2[0].numpy()
    assert np.all(x[:, -1] == 1.0)  # the bias column
    w = x[:, :-1]
    np.testing.assert_allclose(w.mean(0), 0, atol=1e-10)
    np.testing.assert_allclose(w.T @ w / n, np.eye(5), atol=1e-8)
    # ε = 0.01 on the raw view: x ↦ (x − mean) · E (Λ + ε·mean(Λ)·I)^(−1/2) Eᵀ, a symmetric map
    raw = replace(DEFAULT, standardise_phi2=False)
    w = hume_outer.prepare(_tensors([phi1, phi2]), raw, CPU, torch.float64).phi2[0].numpy()[:, :-1]
    centred = phi2 - phi2.mean(0)
    lam, vec = np.linalg.eigh(centred.T @ centred / n)
    zca = vec @ np.diag((lam + 0.01 * lam.mean()) ** -0.5) @ vec.T
    np.testing.assert_allclose(w, centred @ zca, rtol=1e-8, atol=1e-8)
    got = np.linalg.eigvalsh(w.T @ w / n)
    np.testing.assert_allclose(np.sort(got), np.sort(lam / (lam + 0.01 * lam.mean())), atol=1e-8)
    assert got.max() < 1  # ε shrinks every direction a little: not the identity


def test_the_inner_step_is_one_over_the_largest_eigenvalue_unless_given():
    phi1, phi2, phi3 = _correlated(d=6, seed=5), _correlated(seed=6), 0.01 * _correlated(seed=7)
    views = _tensors([phi1, phi2, phi3])
    # 100 power iterations: exact where the top eigenvalue stands apart (raw views), within
    # 1 % where whitening leaves the eigenvalues close together (all near 1)
    cases = ((replace(PAPER, inner_lr=None), 1e-6), (replace(DEFAULT, inner_lr_scale=0.5), 1e-2))
    for cfg, rel in cases:
        data = hume_outer.prepare(views, cfg, CPU, torch.float64)
        for x, lr in zip(data.phi2, data.inner_lr):
            x = x.numpy()  # X̃ = [φ2 as prepared, 1]
            lam_max = np.linalg.eigvalsh(x.T @ x / len(x)).max()
            assert lr == pytest.approx(cfg.inner_lr_scale / lam_max, rel=rel)
    # raw views of very different scales get very different steps
    raw = hume_outer.prepare(views, replace(PAPER, inner_lr=None), CPU, torch.float64)
    assert raw.inner_lr[1] > 100 * raw.inner_lr[0]
    # a given step is used as it is, per view
    given = hume_outer.prepare(views, PAPER, CPU, torch.float64)
    assert given.inner_lr == [1e-3, 1e-3]


# -- §2.6: annealing -----------------------------------------------------------------------------
def _schedule(monkeypatch, cfg, k=3, seeds=(0, 1)):
    """(temperature, learning rate) of every outer iteration of a search with ``cfg``."""
    temps, lrs = [], []

    def fake_loss(data, a, k, cfg, it, random_state, temperature, shared_init=None):
        temps.append(temperature)
        return (a**2).flatten(1).sum(1), torch.zeros(a.shape[0], dtype=a.dtype)

    class Recording(hume_outer.Adam):
        def step(self, grads, lr):
            lrs.append(lr)
            return super().step(grads, lr)

    monkeypatch.setattr(hume_outer, "outer_loss", fake_loss)
    monkeypatch.setattr(hume_outer, "Adam", Recording)
    views, _ = planted_views(30, k, (4, 3), seed=0)
    data = hume_outer.prepare(_tensors(views, torch.float32), cfg, CPU)
    hume_outer.search_group(data, k, cfg, list(seeds))
    return temps, lrs


def test_the_temperature_and_the_rate_are_annealed_at_the_documented_iterations(monkeypatch):
    # default milestones (0.6, 0.85) of 20 iterations: after 12 and 17; factor 0.1 each
    cfg = replace(DEFAULT, iters=20, tau=0.5, outer_lr=0.2)
    temps, lrs = _schedule(monkeypatch, cfg)
    expected = [0.5] * 12 + [0.05] * 5 + [0.005] * 3
    np.testing.assert_allclose(temps, expected, rtol=1e-12)
    np.testing.assert_allclose(lrs, [0.4 * t for t in expected], rtol=1e-12)
    # milestones ≥ 1 are iteration numbers (the paper's); another factor
    cfg = replace(PAPER, iters=9, tau=0.1, outer_lr=1.0, anneal_at=(3, 7), anneal_factor=0.5)
    temps, lrs = _schedule(monkeypatch, cfg)
    np.testing.assert_allclose(temps, [0.1] * 3 + [0.05] * 4 + [0.025] * 2, rtol=1e-12)
    np.testing.assert_allclose(lrs, [1.0] * 3 + [0.5] * 4 + [0.25] * 2, rtol=1e-12)
    # no annealing: constant
    temps, lrs = _schedule(monkeypatch, replace(cfg, anneal=False))
    assert temps == [0.1] * 9 and lrs == [1.0] * 9


def test_the_presets_milestones_are_the_documented_ones():
    assert DEFAULT.milestones() == [90, 128]  # 60 % and 85 % of 150 (docs/algorithm.md §2.6)
    assert PAPER.milestones() == [100, 200]
    assert LARGE_K.milestones() == []


# -- §2.4, §3.1: the large-K inner initialisation -----------------------------------------------
def test_large_k_draws_one_inner_initialisation_per_view_once_from_stream_minus_one(monkeypatch):
    seen = []
    real = hume_outer.outer_loss

    def recording(data, a, k, cfg, it, random_state, temperature, shared_init=None):
        seen.append(None if shared_init is None else [v.clone() for v in shared_init])
        return real(data, a, k, cfg, it, random_state, temperature, shared_init)

    monkeypatch.setattr(hume_outer, "outer_loss", recording)
    k, dims = 3, (4, 5, 2)
    views, _ = planted_views(24, k, dims, seed=1)
    cfg = replace(LARGE_K, iters=3, inner_steps=2, subsets=2)
    data = hume_outer.prepare(_tensors(views, torch.float32), cfg, CPU)
    hume_outer.search_group(data, k, cfg, [0, 1], random_state=7)
    assert len(seen) == 3 and all(s is not None for s in seen)
    # the documented stream: mix(r, 1 000 003 + i) with i = −1, view by view, U(−1/√d2, 1/√d2)
    gen = torch.Generator().manual_seed(_mix(7, 1_000_003 - 1))
    for v, d in enumerate(dims[1:]):
        u = torch.rand((1, d + 1, k), generator=gen, dtype=torch.float32)
        expected = (2 * u - 1) / d**0.5
        for it in range(3):  # the same every iteration
            torch.testing.assert_close(seen[it][v], expected, rtol=0, atol=1e-7)
        assert seen[0][v].abs().max() <= 1 / d**0.5
    # the defaults draw a fresh one per subset and iteration instead
    seen.clear()
    default = replace(DEFAULT, iters=2, inner_steps=2)
    data = hume_outer.prepare(_tensors(views, torch.float32), default, CPU)
    hume_outer.search_group(data, k, default, [0])
    assert seen == [None, None]


# -- §3.3: the memory model ----------------------------------------------------------------------
def test_the_group_size_grows_with_memory_shrinks_with_rows_and_classes_and_is_bounded():
    def size(n, k, budget):
        views, _ = planted_views(n, k, (8, 6), seed=2)
        data = hume_outer.prepare(_tensors(views, torch.float32), DEFAULT, CPU)
        return hume_outer.group_size(data, k, DEFAULT, budget)

    # (the model sets aside a fixed 768 MiB per φ2 view for kept probabilities: budgets in GiB)
    budgets = [2**30, 2**31, 2**32, 2**33, 2**34]
    by_budget = [size(200, 4, b) for b in budgets]
    assert by_budget == sorted(by_budget) and by_budget[-1] > by_budget[0]
    by_rows = [size(n, 4, 2**32) for n in (50, 200, 800)]
    assert by_rows == sorted(by_rows, reverse=True) and by_rows[0] > by_rows[-1]
    by_classes = [size(200, k, 2**32) for k in (2, 4, 8)]
    assert by_classes == sorted(by_classes, reverse=True) and by_classes[0] > by_classes[-1]
    # at least one seed whatever the budget; never more than the budget holds of the seeds'
    # own soft labels (N × K float32 each)
    assert size(200, 4, 1) == 1
    for b, g in zip(budgets, by_budget):
        assert 1 <= g and (g == 1 or g * 200 * 4 * 4 <= b)


def test_the_memory_budget_is_the_given_one_else_70_percent_of_free_gpu_else_4_gib(monkeypatch):
    assert memory_budget(CPU, 12345) == 12345
    assert memory_budget(CPU) == 4 * 2**30
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda device=None: (10 * 2**30, 80 * 2**30))
    assert memory_budget(torch.device("cuda")) == int(10 * 2**30 * 0.7)
    assert memory_budget(torch.device("cuda"), 99) == 99


# -- the estimators' shell: new rows, and a fitted model saved and loaded -------------------------
def _fitted(cls):
    views, _ = planted_views(90, 3, (6, 5), seed=3)
    kw = dict(n_seeds=2, iters=15, device="cpu", ensemble="vote")
    return cls(3, **kw).fit([v[:60] for v in views]), [v[60:] for v in views]


@pytest.mark.parametrize("cls", [HUME, TURTLE])
def test_new_rows_in_the_wrong_views_are_refused(cls):
    model, new = _fitted(cls)
    assert model.predict(new).shape == (30,)
    narrow = [new[0][:, :5], new[1]]  # φ1 with 5 dims where the model was fitted on 6
    with pytest.raises(HumeError) as err:
        model.predict(narrow)
    assert "5" in str(err.value) and "6" in str(err.value)
    with pytest.raises(HumeError):
        model.predict([new[1], new[0]])  # the views swapped: 5 and 6 dims
    with pytest.raises(HumeError):  # a third view the model never saw
        model.predict([*new, new[1]])
    if cls is TURTLE:  # labels through every view: φ1 alone is not enough
        with pytest.raises(HumeError):
            model.predict(new[:1])
    else:  # labels through φ1: φ1 alone will do
        assert model.predict(new[:1]).shape == (30,)


@pytest.mark.parametrize("cls", [HUME, TURTLE])
def test_a_fitted_state_saved_and_loaded_predicts_the_same(cls):
    model, new = _fitted(cls)
    buffer = io.BytesIO()
    torch.save(model.fitted_state(), buffer)
    buffer.seek(0)
    loaded = cls.from_fitted_state(torch.load(buffer, weights_only=True))
    assert loaded is not model and loaded.n_classes == 3 and loaded.n_seeds == 2
    np.testing.assert_array_equal(loaded.predict_seeds(new), model.predict_seeds(new))
    np.testing.assert_array_equal(loaded.predict(new), model.predict(new))
    np.testing.assert_array_equal(loaded.margins(new), model.margins(new))
    # the searched rows get their own labels back (the vote ensemble)
    views, _ = planted_views(90, 3, (6, 5), seed=3)
    np.testing.assert_array_equal(loaded.predict([v[:60] for v in views]), model.labels_)
    # the state is complete: with the preprocessing dropped, the loaded model labels differently
    state = model.fitted_state()
    dropped = {key: (torch.zeros_like(v) if key == "phi1_mean" else v) for key, v in state.items()}
    if cls is HUME:
        shifted = [new[0] + 5.0, new[1]]  # far from the origin: the saved μ1 matters
        again = cls.from_fitted_state(dropped)
        assert not np.array_equal(again.predict_seeds(shifted), loaded.predict_seeds(shifted))
