"""What both search methods share: running seeds in groups with checkpoints, and selecting.

A search method provides ``search(group, state, report, save)``, which runs the seeds of one group
(resuming from ``state`` when given) and returns its result, and ``keep(result, j)``, which takes
what must survive of the group's j-th seed (host tensors). The resume state is
``{"done": {seed: kept}, "current": <state of the group in flight or None>}``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Optional

import numpy as np
import torch

Progress = Callable[[int, int, float, float], None]


def memory_budget(device: torch.device, budget_bytes: Optional[int] = None) -> int:
    """Bytes a batch of seeds may use: ``budget_bytes``, else 70 % of free GPU memory, else 4 GiB."""
    if budget_bytes is not None:
        return budget_bytes
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return int(free * 0.7)
    return 4 << 30


def run_in_groups(n_seeds: int, group_size: int, iters: int,
                  search: Callable[[list[int], Optional[dict], Callable, Callable], Any],
                  keep: Callable[[Any, int], dict], resume_state: Optional[dict] = None,
                  checkpoint: Optional[Callable[[dict], None]] = None,
                  progress: Optional[Progress] = None) -> dict[int, dict]:
    """Run seeds ``0..n_seeds-1`` in groups of ``group_size``; returns ``{seed: kept}``.

    Groups already finished in ``resume_state`` are skipped; the group in flight resumes from its
    saved state, with the group size the run started with. ``progress(done_iters, total_iters, objective, entropy)`` is called as the
    method reports.
    """
    # A resumed run keeps the grouping it started with (the free device memory may differ now),
    # so the group in flight continues from its saved state instead of starting again.
    group_size = int((resume_state or {}).get("group_size", group_size))
    seeds = list(range(n_seeds))
    groups = [seeds[i:i + group_size] for i in range(0, n_seeds, group_size)]
    done: dict[int, dict] = dict((resume_state or {}).get("done", {}))
    current = (resume_state or {}).get("current")
    total = iters * len(groups)
    for gi, group in enumerate(groups):
        if all(s in done for s in group):
            continue
        state = current if current is not None and current.get("seed_ids") == group else None

        def save(st: dict, _done=done) -> None:
            if checkpoint is not None:
                checkpoint({"done": dict(_done), "current": st, "group_size": group_size})

        def report(it: int, stats: torch.Tensor, _gi=gi) -> None:
            if progress is not None:
                obj, ent = stats.tolist()  # the one host copy, every few iterations
                progress(_gi * iters + it, total, obj, ent)

        result = search(group, state, report, save)
        for j, s in enumerate(group):
            done[s] = keep(result, j)
        if checkpoint is not None:
            checkpoint({"done": dict(done), "current": None, "group_size": group_size})
    return done


def select(estimator: Any, views: Sequence[torch.Tensor], k: int, device: torch.device) -> None:
    """Score every seed label-free on ``views``, ensemble, and set the fitted attributes.

    Sets ``scores_`` (n_seeds,), ``labels_`` (N,), ``reference_seed_`` and ``perms_`` (n_seeds, k)
    from ``estimator.seed_labels_`` (n_seeds, N).
    """
    from hume.search.selection import ensemble, label_free_scores

    labelings = torch.as_tensor(estimator.seed_labels_, device=device)
    scores = label_free_scores(list(views), labelings, k, seed=estimator.random_state)
    labels, ref, perms = ensemble(labelings, scores, k)
    estimator.scores_ = scores.double().cpu().numpy()
    estimator.labels_ = labels.cpu().numpy().astype(np.int64)
    estimator.reference_seed_ = int(ref)
    estimator.perms_ = perms.cpu().numpy().astype(np.int64)


class OuterLoop:
    """Bookkeeping of one group's outer loop, the same for every method.

    Keeps the iteration counter, the sum of the objective over the last ``window`` iterations
    (the reported final objective), calls ``on_progress(it, [mean objective, mean entropy])``
    every ``progress_every`` iterations and ``checkpoint(snapshot())`` every
    ``checkpoint_every_s`` seconds; resumes both from ``state``.
    """

    def __init__(self, iters: int, n_seeds: int, device: torch.device, dtype: torch.dtype,
                 state: Optional[dict], on_progress: Optional[Callable] = None,
                 progress_every: int = 10, checkpoint: Optional[Callable[[dict], None]] = None,
                 checkpoint_every_s: float = 60.0):
        import time

        self.iters, self.window = iters, max(1, iters // 20)
        self.it = int(state["iteration"]) if state is not None else 0
        self.obj_sum = torch.zeros(n_seeds, device=device, dtype=dtype)
        if state is not None and "obj_sum" in state:
            self.obj_sum = state["obj_sum"].to(device=device, dtype=dtype)
        self.on_progress, self.progress_every = on_progress, progress_every
        self.checkpoint, self.checkpoint_every_s = checkpoint, checkpoint_every_s
        self._clock = time.monotonic
        self._last_save = self._clock()

    @property
    def running(self) -> bool:
        return self.it < self.iters

    def step_done(self, loss: torch.Tensor, entropy: torch.Tensor,
                  snapshot: Callable[[], dict]) -> None:
        """After one outer step: ``loss`` (n_seeds,), ``entropy`` (n_seeds,) on the device."""
        if self.it >= self.iters - self.window:
            self.obj_sum += loss.detach()
        self.it += 1
        if self.on_progress is not None and (self.it % self.progress_every == 0
                                             or self.it == self.iters):
            self.on_progress(self.it, torch.stack([loss.detach().mean(), entropy.mean()]))
        if self.checkpoint is not None and self._clock() - self._last_save > self.checkpoint_every_s:
            self.checkpoint(snapshot())
            self._last_save = self._clock()

    def interrupted(self, snapshot: Callable[[], dict]) -> None:
        if self.checkpoint is not None:
            self.checkpoint(snapshot())

    @property
    def objective(self) -> torch.Tensor:
        """(n_seeds,) mean objective over the last ``window`` iterations."""
        return self.obj_sum / self.window
