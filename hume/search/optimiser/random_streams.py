"""Seeds of a search: their random streams, and running them in groups that fit the device.

A search runs ``n_seeds`` independent searches. Seed ``j`` starts from a generator seeded by
``mix_seed(random_state, j)``; the random numbers of outer iteration ``i`` (subsets, inner
initialisations) come from ``mix_seed(random_state, stream + i)`` and are shared by every seed
of the run (common random numbers). A seed's result therefore depends only on
``(random_state, j)``, never on which group it ran in or how many seeds ran beside it
(docs/algorithm.md §3).

Seeds run in groups of consecutive seeds (:func:`seed_groups`); a group is the unit of work, of
checkpointing and of sharing seeds between processes, and a run keeps its grouping for good: the
seeds of one group share batched matrix products, whose rounding depends on the batch width.

A method provides ``search(group, state, report, save)``, which runs the seeds of one group
(resuming from ``state`` when given) and returns its result, and ``keep(result, j)``, which takes
what must survive of the group's j-th seed (host tensors). Finished seeds and the states of groups
in flight live in a :class:`Ledger`: :class:`MemoryLedger` for ``fit``'s ``resume_state`` /
``checkpoint`` (``{"done": {seed: kept}, "current": <state of the group in flight or None>,
"group_size": B}``), :class:`hume.search.search_runs.seed_files.SeedFiles` for a run directory.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import torch

#: ``progress(done_iters, total_iters, objective, entropy)``: what a search reports.
Progress = Callable[[int, int, float, float], None]


def mix_seed(a: int, b: int) -> int:
    """A seed for random stream ``b`` of base seed ``a`` (distinct, stable, fits in 63 bits)."""
    x = (a * 0x9E3779B97F4A7C15 + b * 0xBF58476D1CE4E5B9 + 0x94D049BB133111EB) % (1 << 64)
    x ^= x >> 31
    return x % (1 << 63)


def stream_generator(device: torch.device, random_state: int, stream: int) -> torch.Generator:
    """A generator on ``device`` for stream ``stream`` of ``random_state``."""
    return torch.Generator(device=device).manual_seed(mix_seed(random_state, stream))


def memory_budget(device: torch.device, budget_bytes: int | None = None) -> int:
    """Bytes a batch of seeds may use: ``budget_bytes``, else 70 % of free GPU memory, else 4 GiB."""
    if budget_bytes is not None:
        return budget_bytes
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * 0.7)
    return 4 << 30


def seed_groups(seeds: Sequence[int], size: int) -> list[list[int]]:
    """``seeds`` (consecutive) in groups of ``size``, the first starting at ``seeds[0]``."""
    seeds = list(seeds)
    return [seeds[i : i + size] for i in range(0, len(seeds), max(1, int(size)))]


class Ledger(Protocol):
    """Where finished seeds and the states of groups in flight are kept."""

    def finished(self) -> set[int]:
        """The seeds whose results are in."""
        ...

    def result(self, seed: int) -> dict:
        """What ``keep`` took of a finished seed."""
        ...

    def in_flight(self, group: list[int]) -> dict | None:
        """The saved state of ``group`` (None: it starts from its beginning)."""
        ...

    def save_in_flight(self, group: list[int], state: dict) -> None: ...

    def finish_group(self, group: list[int], kept: dict[int, dict]) -> None:
        """Keep the finished seeds of ``group`` and forget its state in flight."""
        ...


class MemoryLedger:
    """A :class:`Ledger` in memory, handing its whole state to ``checkpoint`` at every change
    (``fit``'s ``resume_state`` / ``checkpoint``). One group is in flight at a time."""

    def __init__(
        self,
        state: dict | None = None,
        checkpoint: Callable[[dict], None] | None = None,
        group_size: int = 1,
    ):
        state = state or {}
        #: a resumed search keeps the grouping it started with (the free memory may differ now)
        self.group_size = int(state.get("group_size", group_size))
        self.done: dict[int, dict] = dict(state.get("done", {}))
        self.current: dict | None = state.get("current")
        self.checkpoint = checkpoint

    def finished(self) -> set[int]:
        return set(self.done)

    def result(self, seed: int) -> dict:
        return self.done[seed]

    def in_flight(self, group: list[int]) -> dict | None:
        current = self.current
        return current if current is not None and current.get("seed_ids") == group else None

    def save_in_flight(self, group: list[int], state: dict) -> None:
        self.current = state
        self._save()

    def finish_group(self, group: list[int], kept: dict[int, dict]) -> None:
        self.done.update(kept)
        self.current = None
        self._save()

    def _save(self) -> None:
        if self.checkpoint is not None:
            self.checkpoint(
                {"done": dict(self.done), "current": self.current, "group_size": self.group_size}
            )


def run_seed_groups(
    groups: list[list[int]],
    iters: int,
    search: Callable[[list[int], dict | None, Callable, Callable], Any],
    keep: Callable[[Any, int], dict],
    ledger: Ledger,
    progress: Progress | None = None,
) -> int:
    """Search the ``groups`` whose seeds are not all in ``ledger``, each from its state in
    flight when it has one, keeping every finished group in ``ledger``; the number of groups
    searched. ``progress`` is called as the method reports, over the groups to search."""
    finished = ledger.finished()
    todo = [g for g in groups if not set(g) <= finished]
    total = iters * len(todo)
    for gi, group in enumerate(todo):

        def save(st: dict, _group: list[int] = group) -> None:
            ledger.save_in_flight(_group, st)

        def report(it: int, stats: torch.Tensor, _gi: int = gi) -> None:
            if progress is not None:
                obj, ent = stats.tolist()  # the one host copy, every few iterations
                progress(_gi * iters + it, total, obj, ent)

        result = search(group, ledger.in_flight(group), report, save)
        ledger.finish_group(group, {s: keep(result, j) for j, s in enumerate(group)})
    return len(todo)
