"""TURTLE, the first-order multi-space search (hume/search/estimators/turtle_method.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from helpers import planted_views
from torch import nn

from hume.core.errors import HumeError
from hume.search.estimators.turtle_method import turtle_config as C
from hume.search.estimators.turtle_method import turtle_outer as O
from hume.search.estimators.turtle_method.turtle_estimator import TURTLE
from hume.search.settings import SearchOptions

pytestmark = pytest.mark.usefixtures("one_thread")


def _cluster_acc(pred: np.ndarray, true: np.ndarray) -> float:
    from scipy.optimize import linear_sum_assignment

    k = int(max(pred.max(), true.max())) + 1
    c = np.zeros((k, k))
    np.add.at(c, (pred, true), 1)
    r, cc = linear_sum_assignment(c, maximize=True)
    return c[r, cc].sum() / len(true)


def _planted(n=240, k=3, dims=(6, 5), sep=4.0, seed=0):
    """Views in which a balanced labeling is linearly separable, each at its own scale."""
    return planted_views(n, k, dims, sep, seed, scale_range=(0.5, 3), interleaved=True)


def test_recovers_planted_labeling_and_predicts_new_rows():
    views, y = _planted(n=300)
    train = [v[:240] for v in views]
    # Few steps, so larger step sizes than the 6000-step defaults.
    model = TURTLE(
        3, n_seeds=3, iters=150, outer_lr=1e-2, inner_lr=1e-2, device="cpu", random_state=1
    ).fit(train)
    assert model.labels_.shape == (240,) and model.seed_labels_.shape == (3, 240)
    assert _cluster_acc(model.labels_, y[:240]) >= 0.99
    assert model.scores_.shape == (3,) and model.scores_.min() > 0.9
    assert np.isfinite(model.objectives_).all()
    # New rows are labelled through every view in the ensemble's numbering.
    new = model.predict([v[240:] for v in views])
    assert new.shape == (60,) and new.dtype == np.int64
    assert _cluster_acc(np.concatenate([model.labels_, new]), y) >= 0.99
    assert np.array_equal(model.predict_seeds(train), model.seed_labels_)


def test_single_and_three_views_work():
    views, y = _planted(n=150, dims=(4, 5, 3), sep=6.0, seed=3)
    kw = dict(n_seeds=1, iters=150, outer_lr=1e-2, inner_lr=1e-2, device="cpu")
    one = TURTLE(3, **kw).fit(views[0])
    three = TURTLE(3, **kw).fit(views)
    assert _cluster_acc(one.labels_, y) >= 0.95
    assert _cluster_acc(three.labels_, y) >= 0.95
    assert len(three.encoders_) == 3 and three.encoders_[2]["weight"].shape == (1, 3, 3)


def _official_step(views, enc_init, inner_init, k, cfg):
    """One outer step written the way the official code is (modules, torch.optim.Adam, autograd)."""
    encs = []
    for x, e in zip(views, enc_init):
        lin = nn.Linear(x.shape[1], k).double()
        lin = nn.utils.parametrizations.weight_norm(lin)
        with torch.no_grad():
            lin.parametrizations.weight.original0.copy_(e["g"][0][:, None])
            lin.parametrizations.weight.original1.copy_(e["v"][0])
            lin.bias.copy_(e["b"][0])
        encs.append(lin)
    probs = [F.softmax(lin(x), dim=1) for lin, x in zip(encs, views)]
    labels = sum(probs) / len(probs)
    clfs = []
    for (w0, b0), x in zip(inner_init, views):
        c = nn.Linear(x.shape[1], k).double()
        with torch.no_grad():
            c.weight.copy_(w0.T)
            c.bias.copy_(b0)
        clfs.append(c)
    inner_opt = torch.optim.Adam([p for c in clfs for p in c.parameters()], lr=cfg.inner_lr)
    for _ in range(cfg.inner_steps):
        inner_opt.zero_grad()
        sum(F.cross_entropy(c(x), labels.detach()) for c, x in zip(clfs, views)).backward()
        inner_opt.step()
    pred_error = sum(F.cross_entropy(c(x).detach(), labels) for c, x in zip(clfs, views))
    entr = sum(torch.special.entr(p.mean(0)).sum() for p in probs)
    loss = pred_error - cfg.entropy_weight * entr
    grads = []
    for lin in encs:
        gg, gv, gb = torch.autograd.grad(
            loss,
            [
                lin.parametrizations.weight.original0,
                lin.parametrizations.weight.original1,
                lin.bias,
            ],
            retain_graph=True,
        )
        grads.append({"g": gg[:, 0], "v": gv, "b": gb})
    return float(loss.detach()), grads


def test_hypergradient_equals_autograd_with_detached_inner_solution():
    views, _ = _planted(n=60, k=4, dims=(5, 3), seed=2)
    xs = [torch.tensor(v, dtype=torch.float64) for v in views]
    k = 4
    cfg = C.TurtleConfig(inner_steps=4, inner_lr=0.05)  # large steps: the inner fit matters
    enc = O.init_encoders([5, 3], k, [7], random_state=0, dtype=torch.float64)
    gen = O.step_generator(torch.device("cpu"), 0, 0)
    init = [O._inner_init(gen, x.shape[1], k, torch.device("cpu"), torch.float64) for x in xs]
    ref_loss, ref_grads = _official_step(xs, enc, init, k, cfg)

    params = [{key: t.clone().requires_grad_(True) for key, t in e.items()} for e in enc]
    inner = [O.InnerClassifiers.fresh(w0, b0, 1) for w0, b0 in init]
    loss, entropy = O.outer_loss(xs, params, inner, cfg)
    loss.sum().backward()
    assert abs(float(loss.detach()[0]) - ref_loss) <= 1e-10 * max(1.0, abs(ref_loss))
    for ours, ref in zip(params, ref_grads):
        for key in ("g", "v", "b"):
            got, want = ours[key].grad[0], ref[key]
            assert torch.linalg.norm(got - want) <= 1e-8 * torch.linalg.norm(want), key
    assert torch.isclose(
        entropy[0],
        sum(
            torch.special.entr(
                F.softmax(
                    x @ e["v"][0].T * (e["g"][0] / e["v"][0].norm(dim=1)) + e["b"][0], dim=1
                ).mean(0)
            ).sum()
            for x, e in zip(xs, enc)
        ),
    )


@pytest.mark.parametrize("warm_start", [False, True])
def test_seeds_batched_equal_seeds_one_by_one(warm_start):
    views, _ = _planted(n=120, k=3, seed=4)
    kw = dict(
        n_seeds=3,
        iters=40,
        outer_lr=1e-2,
        subset_size=80,
        device="cpu",
        dtype=torch.float64,
        random_state=5,
        warm_start=warm_start,
    )
    together = TURTLE(3, group_size=3, **kw).fit(views)
    alone = TURTLE(3, group_size=1, **kw).fit(views)
    assert np.array_equal(together.seed_labels_, alone.seed_labels_)
    for a, b in zip(together.encoders_, alone.encoders_):
        assert torch.allclose(a["weight"], b["weight"], atol=1e-10)
    assert np.allclose(together.objectives_, alone.objectives_)
    # Different seeds really are different searches.
    assert not torch.allclose(
        together.encoders_[0]["weight"][0], together.encoders_[0]["weight"][1]
    )


@pytest.mark.parametrize("warm_start", [False, True])
def test_resume_from_a_checkpoint_gives_the_same_result(warm_start):
    views, _ = _planted(n=90, k=3, seed=6)
    kw = dict(
        n_seeds=2,
        iters=30,
        outer_lr=1e-2,
        subset_size=60,
        device="cpu",
        dtype=torch.float64,
        warm_start=warm_start,
    )
    states = []
    full = TURTLE(3, **kw).fit(views, checkpoint=states.append, checkpoint_every_s=0.0)
    mid = next(s for s in states if s["current"] is not None and s["current"]["iteration"] == 12)
    resumed = TURTLE(3, **kw).fit(views, resume_state=mid)
    assert np.array_equal(full.seed_labels_, resumed.seed_labels_)
    assert torch.allclose(full.encoders_[0]["weight"], resumed.encoders_[0]["weight"], atol=1e-12)
    # A finished state skips the search entirely.
    again = TURTLE(3, **kw).fit(views, resume_state=states[-1])
    assert np.array_equal(full.labels_, again.labels_)


def test_progress_reports_objective_and_entropy():
    views, _ = _planted(n=60, k=3, seed=8)
    seen = []
    TURTLE(3, n_seeds=1, iters=40, device="cpu").fit(views, progress=lambda *a: seen.append(a))
    assert seen[-1][:2] == (40, 40)
    assert all(np.isfinite(a[2]) and 0 < a[3] <= 2 * np.log(3) + 1e-6 for a in seen)


@pytest.mark.parametrize(
    "views, k, match",
    [
        (lambda v: v, 1, "at least 2"),
        (lambda v: [x[:5] for x in v], 6, "exceeds"),
        (lambda v: [v[0], v[1][:-1]], 3, "row counts"),
        (
            lambda v: [np.where(np.arange(v[0].size).reshape(v[0].shape) == 7, np.nan, v[0]), v[1]],
            3,
            "NaN",
        ),
    ],
)
def test_bad_input_raises_hume_error(views, k, match):
    base, _ = _planted(n=30, k=3)
    with pytest.raises(HumeError, match=match):
        TURTLE(k, n_seeds=1, iters=2, device="cpu").fit(views(base))


def test_bad_settings_raise_hume_error():
    from sklearn.exceptions import NotFittedError

    views, _ = _planted(n=30, k=3)
    with pytest.raises(HumeError, match="larger than the number of rows"):
        TURTLE(3, iters=2, subset_size=31, device="cpu").fit(views)
    with pytest.raises(HumeError, match="turtle"):
        TURTLE(3, iters=0, device="cpu").fit(views)
    with pytest.raises(TypeError, match="tau"):  # a HUME setting is not a TURTLE parameter
        TURTLE(3, tau=0.1)
    with pytest.raises(NotFittedError):  # scikit-learn's error, a ValueError
        TURTLE(3).predict(views)
    model = TURTLE(3, n_seeds=1, iters=2, device="cpu").fit(views)
    with pytest.raises(HumeError, match="view"):
        model.predict(views[:1])


def test_command_options_map_to_turtle_settings():
    cfg = C.TurtleConfig.from_options(None, SearchOptions(iters=50, subset_size=128, inner_lr=0.02))
    assert (cfg.iters, cfg.subset_size, cfg.inner_lr) == (50, 128, 0.02)
    assert cfg.outer_lr == C.DEFAULT.outer_lr
    assert C.TurtleConfig.from_options("paper", SearchOptions()) == C.PAPER
    assert C.PAPER.iters == 6000 and C.PAPER.inner_steps == 10 and C.PAPER.standardise is False
    with pytest.raises(HumeError, match="tau"):
        C.TurtleConfig.from_options(None, SearchOptions(tau=0.5))
    with pytest.raises(HumeError, match="no_anneal"):  # False is given, not absent
        C.TurtleConfig.from_options(None, SearchOptions(anneal=False))
    with pytest.raises(HumeError, match="preset"):
        C.TurtleConfig.from_options("large-k", SearchOptions())
    assert C.TurtleConfig.from_dict(cfg.to_dict()) == cfg


def test_fit_restores_the_thread_count():
    views, _ = _planted(n=60, k=3, seed=9)
    torch.set_num_threads(2)
    seen = []
    TURTLE(3, n_seeds=1, iters=3, device="cpu").fit(
        views, progress=lambda *a: seen.append(torch.get_num_threads())
    )
    assert seen and set(seen) == {1}  # a small problem runs on one thread
    assert torch.get_num_threads() == 2
