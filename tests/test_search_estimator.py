"""The HUME estimator: planted labeling recovered, determinism, batching, no host copies."""

import numpy as np
import pytest
import torch
from helpers import planted_views
from scipy.optimize import linear_sum_assignment

from hume.core.errors import HumeError
from hume.search import HUME
from hume.search.estimators.hume_method.hume_config import HumeConfig
from hume.search.estimators.hume_method.hume_outer import outer_loss, prepare, search_group

pytestmark = pytest.mark.usefixtures("one_thread")

FAST = dict(iters=40, inner_steps=10, subsets=2, outer_lr=0.05)


def planted(n=240, k=3, seed=0):
    """Two views (8 and 12 dims) in which the same labeling is linearly separable."""
    return planted_views(n, k, (8, 12), 4.0, seed)


def acc(y, p, k):
    c = np.zeros((k, k))
    np.add.at(c, (p, y), 1)
    r, cc = linear_sum_assignment(c, maximize=True)
    return c[r, cc].sum() / len(y)


def test_planted_labeling_is_recovered():
    views, y = planted()
    model = HUME(n_classes=3, n_seeds=3, device="cpu", **FAST).fit(views)
    assert acc(y, model.labels_, 3) >= 0.99
    assert model.seed_labels_.shape == (3, 240)
    assert model.scores_.shape == (3,) and model.objectives_.shape == (3,)
    assert 0 <= model.reference_seed_ < 3
    assert model.encoders_.shape == (3, 3, 8)
    # new rows through φ1 keep the labeling
    assert acc(y[:50], model.predict(views[0][:50]), 3) >= 0.99


def test_same_seed_same_labeling_and_batched_equals_one_by_one():
    views, _ = planted(seed=1)
    kw = dict(device="cpu", dtype=torch.float64, **{**FAST, "iters": 15})
    batched = HUME(n_classes=3, n_seeds=3, group_size=3, **kw).fit(views)
    again = HUME(n_classes=3, n_seeds=3, group_size=3, **kw).fit(views)
    single = HUME(n_classes=3, n_seeds=3, group_size=1, **kw).fit(views)
    np.testing.assert_array_equal(batched.seed_labels_, again.seed_labels_)
    np.testing.assert_array_equal(batched.seed_labels_, single.seed_labels_)
    np.testing.assert_allclose(batched.encoders_, single.encoders_, atol=1e-9)
    np.testing.assert_allclose(batched.objectives_, single.objectives_, rtol=1e-9)
    other = HUME(n_classes=3, n_seeds=3, group_size=3, random_state=7, **kw).fit(views)
    assert not np.allclose(other.encoders_, batched.encoders_)


class _HostTransfers(torch.utils._python_dispatch.TorchDispatchMode):
    """Counts ops that move data to the host or across devices (item(), .cpu(), .to(other))."""

    def __init__(self):
        super().__init__()
        self.count = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        name = func.overloadpacket.__name__
        if name in ("_local_scalar_dense", "item"):
            self.count += 1
        if name in ("_to_copy", "copy_"):
            src = args[1] if name == "copy_" else args[0]
            dst_dev = args[0].device if name == "copy_" else kwargs.get("device", src.device)
            if isinstance(src, torch.Tensor) and torch.device(dst_dev) != src.device:
                self.count += 1
        return func(*args, **kwargs)


def test_outer_loop_makes_no_host_copies():
    views, _ = planted()
    cfg = HumeConfig.resolve(None, **FAST)
    data = prepare([torch.as_tensor(v) for v in views], cfg, torch.device("cpu"))
    with _HostTransfers() as mode:
        search_group(data, 3, cfg, [0, 1], random_state=0)
    assert mode.count == 0
    # the counter does see a host read when there is one
    with _HostTransfers() as mode:
        loss, _ = outer_loss(data, torch.randn(1, 8, 3), 3, cfg, 0, 0, 0.1)
        loss.sum().item()
    assert mode.count == 1


@pytest.mark.parametrize(
    "bad, match",
    [
        (lambda v: [v[0]], "single view"),
        (lambda v: [v[0], v[1][:-1]], "different row counts"),
        (
            lambda v: [v[0], np.where(np.arange(v[1].size).reshape(v[1].shape) == 5, np.nan, v[1])],
            "NaN",
        ),
    ],
)
def test_bad_views_are_refused(bad, match):
    views, _ = planted()
    with pytest.raises(HumeError, match=match):
        HUME(n_classes=3, n_seeds=1, device="cpu", **FAST).fit(bad(views))


def test_bad_k_and_subset_size_are_refused():
    views, _ = planted(n=30)
    with pytest.raises(HumeError, match="at least 2"):
        HUME(n_classes=1, device="cpu").fit(views)
    with pytest.raises(HumeError, match="exceeds"):
        HUME(n_classes=31, device="cpu").fit(views)
    with pytest.raises(HumeError, match="dimension of φ1"):  # φ1 has 8 dims: at most 8 classes
        HUME(n_classes=9, device="cpu").fit(views)
    with pytest.raises(HumeError, match="subset size"):
        HUME(n_classes=3, subset_size=31, device="cpu").fit(views)


def test_preset_subset_size_is_capped_at_n(monkeypatch):
    """docs/algorithm.md §2.3: a preset's m (10 000 under paper) is capped at N, so each
    subset holds all N = 60 rows (and the search takes the shared-rows layout); an explicit
    m below N is used as given (gathered subsets of m rows); one above N is refused."""
    from dataclasses import replace

    from hume.search.estimators.hume_method import hume_outer
    from hume.search.estimators.hume_method.hume_config import PAPER

    drawn, layouts = [], []
    subset_rows = hume_outer._subset_rows

    def recording(gen, n, s, m, device):
        idx = subset_rows(gen, n, s, m, device)
        drawn.append((n, s, m, tuple(idx.shape), all(len(set(r.tolist())) == m for r in idx)))
        return idx

    for name in ("inner_loss", "shared_rows_inner_loss"):
        real = getattr(hume_outer, name)
        monkeypatch.setattr(
            hume_outer, name, lambda *a, _real=real, _name=name: layouts.append(_name) or _real(*a)
        )
    monkeypatch.setattr(hume_outer, "_subset_rows", recording)
    views, _ = planted(n=60)
    cfg = replace(PAPER, inner_steps=3, subsets=2, iters=2)  # m = 10 000 > N = 60: use all rows
    model = HUME(n_classes=3, n_seeds=1, config=cfg, device="cpu").fit(views)
    assert model.seed_labels_.shape == (1, 60)
    assert drawn == [(60, 2, 60, (2, 60), True)] * 2  # two iterations, two subsets of 60 rows
    assert set(layouts) == {"shared_rows_inner_loss"}
    drawn.clear(), layouts.clear()
    HUME(n_classes=3, n_seeds=1, config=replace(cfg, subset_size=40), device="cpu").fit(views)
    assert drawn == [(60, 2, 40, (2, 40), True)] * 2
    assert set(layouts) == {"inner_loss"}
    with pytest.raises(HumeError, match="subset size"):
        HUME(n_classes=3, n_seeds=1, config=replace(cfg, subset_size=61), device="cpu").fit(views)
