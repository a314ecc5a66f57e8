"""Seeds of a search: their random streams, and running them in groups that fit the device.

A search runs ``n_seeds`` independent searches. Seed ``j`` starts from a generator seeded by
``mix_seed(random_state, j)``; the random numbers of outer iteration ``i`` (subsets, inner
initialisations) come from ``mix_seed(random_state, stream + i)`` and are shared by every seed
of the run (common random numbers). A seed's result therefore depends only on
``(random_state, j)``, never on which group it ran in or how many seeds ran beside it
(docs/algorithm.md §3).

A method provides ``search(group, state, report, save)``, which runs the seeds of one group
(resuming from ``state`` when given) and returns its result, and ``keep(result, j)``, which takes
what must survive of the group's j-th seed (host tensors). The resume state is
``{"done": {seed: kept}, "current": <state of the group in flight or None>, "group_size": B}``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

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


def run_seed_groups(
    n_seeds: int,
    group_size: int,
    iters: int,
    search: Callable[[list[int], dict | None, Callable, Callable], Any],
    keep: Callable[[Any, int], dict],
    resume_state: dict | None = None,
    checkpoint: Callable[[dict], None] | None = None,
    progress: Progress | None = None,
) -> dict[int, dict]:
    """Run seeds ``0..n_seeds-1`` in groups of ``group_size``; returns ``{seed: kept}``.

    Groups already finished in ``resume_state`` are skipped; the group in flight resumes from its
    saved state, with the group size the run started with (the free device memory may differ
    now). ``progress`` is called as the method reports.
    """
    group_size = int((resume_state or {}).get("group_size", group_size))
    seeds = list(range(n_seeds))
    groups = [seeds[i : i + group_size] for i in range(0, n_seeds, group_size)]
    done: dict[int, dict] = dict((resume_state or {}).get("done", {}))
    current = (resume_state or {}).get("current")
    total = iters * len(groups)
    for gi, group in enumerate(groups):
        if all(s in done for s in group):
            continue
        state = current if current is not None and current.get("seed_ids") == group else None

        def save(st: dict, _done: dict = done) -> None:
            if checkpoint is not None:
                checkpoint({"done": dict(_done), "current": st, "group_size": group_size})

        def report(it: int, stats: torch.Tensor, _gi: int = gi) -> None:
            if progress is not None:
                obj, ent = stats.tolist()  # the one host copy, every few iterations
                progress(_gi * iters + it, total, obj, ent)

        result = search(group, state, report, save)
        for j, s in enumerate(group):
            done[s] = keep(result, j)
        if checkpoint is not None:
            checkpoint({"done": dict(done), "current": None, "group_size": group_size})
    return done
