"""The seed-group runner both search methods share: grouping, skipping and resuming."""

from hume.search.seed_groups import run_in_groups


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
    done = run_in_groups(5, 2, 10, _runner(calls), _keep, checkpoint=saved.append)
    assert [g for g, _ in calls] == [[0, 1], [2, 3], [4]]
    assert {s: d["value"] for s, d in done.items()} == {0: 0, 1: 10, 2: 20, 3: 30, 4: 40}
    assert all(st["group_size"] == 2 for st in saved)
    assert saved[-1]["current"] is None and len(saved[-1]["done"]) == 5


def test_resume_keeps_the_grouping_it_started_with():
    in_flight = {"seed_ids": [2, 3], "iteration": 5}
    state = {"done": {0: {"value": 0}, 1: {"value": 10}}, "current": in_flight, "group_size": 2}
    calls = []
    # the device now fits all four seeds at once: the saved grouping still wins
    done = run_in_groups(4, 4, 10, _runner(calls), _keep, resume_state=state)
    assert calls == [([2, 3], in_flight)]
    assert sorted(done) == [0, 1, 2, 3]
