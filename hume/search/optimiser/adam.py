"""Adam for a batch of independent seeds: the one optimiser of both search methods.

The update is torch.optim.Adam's (β = (0.9, 0.999), ε = 1e-8, bias-corrected moments), applied
element by element, so one instance serves tensors that stack many seeds' parameters and each
seed follows exactly the trajectory it would follow alone. The step count lives on the host:
unlike torch.optim.Adam, a step never reads a tensor back from the device.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import torch


class Adam:
    """Adam over ``params`` (tensors updated in place).

    ``state``: a :meth:`state_dict` to continue from (moments moved to each parameter's device
    and dtype); ``step`` is restored from it, or from ``step`` when an older state lacks it.
    """

    def __init__(
        self,
        params: Sequence[torch.Tensor],
        state: dict[str, Any] | None = None,
        betas: tuple[float, float] = (0.9, 0.999),
        eps: float = 1e-8,
        step: int = 0,
    ):
        self.params = list(params)
        self.betas, self.eps = betas, eps
        if state is not None:
            self.m = [s.to(p.device, p.dtype) for s, p in zip(_listed(state["m"]), self.params)]
            self.v = [s.to(p.device, p.dtype) for s, p in zip(_listed(state["v"]), self.params)]
            self.step_count = int(state.get("step", step))
        else:
            self.m = [torch.zeros_like(p) for p in self.params]
            self.v = [torch.zeros_like(p) for p in self.params]
            self.step_count = step

    @torch.no_grad()
    def step(self, grads: Sequence[torch.Tensor], lr: float) -> None:
        """One update of every parameter with its gradient in ``grads``."""
        self.step_count += 1
        b1, b2 = self.betas
        c1 = 1 - b1**self.step_count
        c2 = math.sqrt(1 - b2**self.step_count)
        for p, g, m, v in zip(self.params, grads, self.m, self.v):
            m.mul_(b1).add_(g, alpha=1 - b1)
            v.mul_(b2).addcmul_(g, g, value=1 - b2)
            p.addcdiv_(m, v.sqrt().div_(c2).add_(self.eps), value=-lr / c1)

    def state_dict(self) -> dict[str, Any]:
        """Host copies of the moments and the step count."""
        return {
            "m": [t.cpu().clone() for t in self.m],
            "v": [t.cpu().clone() for t in self.v],
            "step": self.step_count,
        }


def _listed(x: Any) -> list[torch.Tensor]:
    # states written before the moments were lists held one tensor
    return [x] if isinstance(x, torch.Tensor) else list(x)
