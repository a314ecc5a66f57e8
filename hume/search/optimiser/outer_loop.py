"""Bookkeeping of one group's outer loop, the same for every search method."""

from __future__ import annotations

import time
from collections.abc import Callable

import torch


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
        state: dict | None,
        on_progress: Callable | None = None,
        progress_every: int = 10,
        checkpoint: Callable[[dict], None] | None = None,
        checkpoint_every_s: float = 60.0,
    ):
        self.iters, self.window = iters, max(1, iters // 20)
        self.it = int(state["iteration"]) if state is not None else 0
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
