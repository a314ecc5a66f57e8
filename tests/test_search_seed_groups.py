"""What both search methods share: seed groups, seed streams, Adam, the estimator shell."""

import numpy as np
import pytest
import torch
from sklearn.base import clone

from hume.search.optimiser.adam import Adam
from hume.search.optimiser.random_streams import (
    MemoryLedger,
    mix_seed,
    run_seed_groups,
    seed_groups,
)


def _runner(calls):
    def search(group, state, report, save):
        calls.append((list(group), state))
        save({"seed_ids": list(group), "iteration": 1})
        return [10 * s for s in group]

    return search


def _keep(result, j):
    return {"value": result[j]}


def test_groups_and_checkpoints():
    calls, saved = [], []
    ledger = MemoryLedger(checkpoint=saved.append, group_size=2)
    groups = seed_groups(range(5), ledger.group_size)
    assert run_seed_groups(groups, 10, _runner(calls), _keep, ledger) == 3
    assert [g for g, _ in calls] == [[0, 1], [2, 3], [4]]
    assert {s: ledger.result(s)["value"] for s in ledger.finished()} == {
        0: 0,
        1: 10,
        2: 20,
        3: 30,
        4: 40,
    }
    assert all(st["group_size"] == 2 for st in saved)
    assert saved[-1]["current"] is None and len(saved[-1]["done"]) == 5


def test_resume_keeps_the_grouping_it_started_with():
    in_flight = {"seed_ids": [2, 3], "iteration": 5}
    state = {"done": {0: {"value": 0}, 1: {"value": 10}}, "current": in_flight, "group_size": 2}
    calls = []
    # the device now fits all four seeds at once: the saved grouping still wins
    ledger = MemoryLedger(state, group_size=4)
    groups = seed_groups(range(4), ledger.group_size)
    assert run_seed_groups(groups, 10, _runner(calls), _keep, ledger) == 1
    assert calls == [([2, 3], in_flight)]
    assert sorted(ledger.finished()) == [0, 1, 2, 3]


def test_seed_groups_start_at_the_first_seed():
    assert seed_groups(range(4, 11), 3) == [[4, 5, 6], [7, 8, 9], [10]]
    assert seed_groups(range(3), 5) == [[0, 1, 2]]


def test_seed_streams_are_distinct_and_stable():
    seeds = {mix_seed(0, j) for j in range(1000)} | {mix_seed(1, j) for j in range(1000)}
    assert len(seeds) == 2000 and all(0 <= s < 2**63 for s in seeds)
    assert mix_seed(3, 7) == mix_seed(3, 7) != mix_seed(7, 3)


def test_adam_is_torch_adam_and_resumes_exactly():
    """The one Adam equals torch.optim.Adam step for step, per element, and a state_dict taken
    half way continues to the same parameters."""
    g = torch.Generator().manual_seed(0)
    grads = [torch.randn(3, 4, dtype=torch.float64, generator=g) for _ in range(10)]
    ref = torch.zeros(3, 4, dtype=torch.float64, requires_grad=True)
    opt = torch.optim.Adam([ref], lr=0.1)
    ours = torch.zeros(3, 4, dtype=torch.float64)
    adam = Adam([ours])
    for i, grad in enumerate(grads):
        ref.grad = grad.clone()
        opt.step()
        adam.step([grad], 0.1)
        if i == 4:
            half = (ours.clone(), adam.state_dict())
    assert torch.allclose(ours, ref.detach(), rtol=0, atol=1e-15)
    again = half[0]
    adam2 = Adam([again], half[1])
    for grad in grads[5:]:
        adam2.step([grad], 0.1)
    assert torch.equal(again, ours)


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("method", ["hume", "turtle"])
def test_both_methods_share_the_estimator_shell(method):
    """scikit-learn's contract (get_params / clone / repr / fit_predict / NotFittedError), and
    fit's validation: the shell both methods inherit."""
    from sklearn.exceptions import NotFittedError

    from hume.core.errors import HumeError
    from hume.search import get_method

    cls = get_method(method)
    rng = np.random.default_rng(0)
    y = np.repeat(np.arange(3), 30)
    views = [rng.normal(size=(3, d))[y] * 4 + rng.normal(size=(90, d)) for d in (5, 4)]
    model = cls(3, n_seeds=2, iters=20, device="cpu", ensemble="vote")  # predict = labels_
    assert clone(model).get_params() == model.get_params()
    assert repr(model).startswith(cls.__name__ + "(")
    with pytest.raises(NotFittedError):
        model.predict(views)
    labels = model.fit_predict(views)
    assert labels.shape == (90,) and model.seed_labels_.shape == (2, 90)
    assert np.array_equal(model.predict(views), labels)
    assert isinstance(HumeError("x"), ValueError)
    with pytest.raises(ValueError, match="at least 2"):
        cls(1, device="cpu").fit(views)
    with pytest.raises(ValueError, match="n_seeds"):
        cls(3, n_seeds=0, device="cpu").fit(views)
    # explicit settings override a config object instead of being ignored
    cfg = cls.config_class.preset("default")
    assert cls(3, config=cfg, iters=7).resolved_config().iters == 7
