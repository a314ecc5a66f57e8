"""The outer loop of one seed group, the same for every search method: its driver
(:class:`GroupSearch`, a method's ``search_group``) and its bookkeeping (:class:`OuterLoop`).
A method supplies only its steps (:class:`GroupSteps`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any, Protocol

import torch

State = dict[str, Any]


class OuterLoop:
    """Iteration counter, final objective, progress reports and checkpoints of one seed group.

    Keeps the sum of the objective over the last ``window`` iterations (the reported final
    objective), calls ``on_progress(it, [mean objective, mean entropy])`` every
    ``progress_every`` iterations and ``checkpoint(snapshot())`` every ``checkpoint_every_s``
    seconds and on an interrupt; resumes from ``state``. Nothing here copies to the host except
    through ``on_progress``'s tensor, which the caller reads.
    """

    def __init__(
        self,
        iters: int,
        n_seeds: int,
        device: torch.device,
        dtype: torch.dtype,
        state: State | None,
        on_progress: Callable | None = None,
        progress_every: int = 10,
        checkpoint: Callable[[dict], None] | None = None,
        checkpoint_every_s: float = 60.0,
    ):
        self.iters, self.window = iters, max(1, iters // 20)
        self.it = start_iteration(state)
        self.obj_sum = torch.zeros(n_seeds, device=device, dtype=dtype)
        if state is not None and "obj_sum" in state:
            self.obj_sum = state["obj_sum"].to(device=device, dtype=dtype)
        self.on_progress, self.progress_every = on_progress, progress_every
        self.checkpoint, self.checkpoint_every_s = checkpoint, checkpoint_every_s
        self._last_save = time.monotonic()

    @property
    def running(self) -> bool:
        return self.it < self.iters

    def step_done(
        self, loss: torch.Tensor, entropy: torch.Tensor, snapshot: Callable[[], dict]
    ) -> None:
        """After one outer step: ``loss`` (n_seeds,), ``entropy`` (n_seeds,) on the device."""
        if self.it >= self.iters - self.window:
            self.obj_sum += loss.detach()
        self.it += 1
        if self.on_progress is not None and (
            self.it % self.progress_every == 0 or self.it == self.iters
        ):
            self.on_progress(self.it, torch.stack([loss.detach().mean(), entropy.mean()]))
        if (
            self.checkpoint is not None
            and time.monotonic() - self._last_save > self.checkpoint_every_s
        ):
            self.checkpoint(snapshot())
            self._last_save = time.monotonic()

    def interrupted(self, snapshot: Callable[[], dict]) -> None:
        if self.checkpoint is not None:
            self.checkpoint(snapshot())

    @property
    def objective(self) -> torch.Tensor:
        """(n_seeds,) mean objective over the last ``window`` iterations."""
        return self.obj_sum / self.window


def start_iteration(state: State | None) -> int:
    """The iteration a group starts at: 0, or where its checkpoint ``state`` stopped."""
    return int(state["iteration"]) if state is not None else 0


class GroupSteps(Protocol):
    """A method's part of one group's outer loop, made by ``steps(data, k, cfg, seed_ids,
    random_state, state)`` (``state``: a checkpoint to continue from, or None)."""

    device: torch.device  # where the loop's running objective lives
    dtype: torch.dtype

    def step(self, it: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Outer step ``it``: the update; returns the per-seed loss and label entropy (B,)."""
        ...

    def state(self) -> State:
        """The method's part of a checkpoint (host copies of parameters and optimiser state)."""
        ...

    def finish(self, objective: torch.Tensor) -> Any:
        """The group's result (a GroupResult) from its final ``objective`` (B,)."""
        ...


class GroupSearch:
    """A method's ``search_group``: runs the outer loop of ``steps`` for a group of seeds.

    ``search_group(data, k, cfg, seed_ids, random_state=0, state=None, on_progress=None,
    progress_every=…, checkpoint=None, checkpoint_every_s=60.0)`` searches the seeds
    ``seed_ids`` together for ``cfg.iters`` outer steps and returns their result. ``state``
    (from a checkpoint) continues a group where it stopped. ``on_progress(it, stats)`` gets a
    device tensor [mean objective, mean label entropy] every ``progress_every`` iterations (the
    only place the caller may copy to the host). ``checkpoint(state)`` is called every
    ``checkpoint_every_s`` seconds and on KeyboardInterrupt, with a host copy of the state: the
    iteration, the seed ids, the running objective and the method's own part.
    """

    def __init__(self, steps: Callable[..., GroupSteps], progress_every: int = 10):
        self.steps, self.progress_every = steps, progress_every

    def __call__(
        self,
        data: Any,
        k: int,
        cfg: Any,
        seed_ids: Sequence[int],
        random_state: int = 0,
        state: State | None = None,
        on_progress: Callable[[int, torch.Tensor], None] | None = None,
        progress_every: int | None = None,
        checkpoint: Callable[[State], None] | None = None,
        checkpoint_every_s: float = 60.0,
    ) -> Any:
        steps = self.steps(data, k, cfg, seed_ids, random_state, state)
        loop = OuterLoop(
            cfg.iters,
            len(seed_ids),
            steps.device,
            steps.dtype,
            state,
            on_progress,
            self.progress_every if progress_every is None else progress_every,
            checkpoint,
            checkpoint_every_s,
        )

        def snapshot() -> State:
            # copies: on the CPU .cpu() would hand out the live tensors the loop keeps updating
            return {
                "iteration": loop.it,
                "seed_ids": list(seed_ids),
                "obj_sum": loop.obj_sum.cpu().clone(),
                **steps.state(),
            }

        try:
            while loop.running:
                loss, entropy = steps.step(loop.it)
                loop.step_done(loss, entropy, snapshot)
        except KeyboardInterrupt:
            loop.interrupted(snapshot)
            raise
        return steps.finish(loop.objective)
