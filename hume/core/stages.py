"""Wall time and peak memory of the named stages of one process (a search's ``stages.json``).

A caller makes a :class:`StageClock` and activates it (``with clock.active():``, or decorates
itself with :func:`clocked`); library code marks its stages with ``with stage("score"):``, which records nothing when no clock is active.
Peak resident memory is per stage where Linux lets the process reset its high-water mark
(``/proc/self/clear_refs``), else the peak so far; the GPU's peak allocation is per stage. A reset
also lowers what the OS reports for the whole process (``wait4``, ``time -v``), so the clock keeps
the process's peak itself (:meth:`StageClock.as_dict`).
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

_ACTIVE: list[StageClock] = []


def _reset_peak(clock: StageClock) -> None:
    clock.process_peak_mb = max(clock.process_peak_mb, _peaks()["peak_rss_mb"])
    with contextlib.suppress(OSError):
        Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM to the current RSS
    import torch

    if torch.cuda.is_available() and torch.cuda.is_initialized():
        torch.cuda.reset_peak_memory_stats()


def _peaks() -> dict[str, float]:
    out: dict[str, float] = {}
    with contextlib.suppress(OSError):
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                out["peak_rss_mb"] = round(int(line.split()[1]) / 1024, 1)
    if "peak_rss_mb" not in out:
        import resource

        out["peak_rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    import torch

    if torch.cuda.is_available() and torch.cuda.is_initialized():
        out["peak_gpu_mb"] = round(torch.cuda.max_memory_allocated() / 2**20, 1)
    return out


class StageClock:
    """The stages timed while this clock was active, in order: ``{"name", "seconds",
    "peak_rss_mb"[, "peak_gpu_mb"]}`` each."""

    def __init__(self) -> None:
        self.stages: list[dict[str, Any]] = []
        self.process_peak_mb = 0.0

    @contextlib.contextmanager
    def active(self) -> Iterator[StageClock]:
        _ACTIVE.append(self)
        try:
            yield self
        finally:
            _ACTIVE.remove(self)

    def as_dict(self) -> dict[str, Any]:
        """The stages, and ``peak_rss_mb``: the process's peak resident memory so far."""
        stages = [s["peak_rss_mb"] for s in self.stages]
        peak = max([self.process_peak_mb, _peaks()["peak_rss_mb"], *stages])
        return {"stages": list(self.stages), "peak_rss_mb": peak}


F = TypeVar("F", bound=Callable[..., Any])


def clocked(func: F) -> F:
    """``func`` with a fresh :class:`StageClock` active while it runs."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with StageClock().active():
            return func(*args, **kwargs)

    return wrapper  # type: ignore[return-value]


def current() -> StageClock | None:
    """The active clock, if any."""
    return _ACTIVE[-1] if _ACTIVE else None


@contextlib.contextmanager
def stage(name: str) -> Iterator[None]:
    """Time the block as stage ``name`` of the active clock (nothing without one)."""
    if not _ACTIVE:
        yield
        return
    clock = _ACTIVE[-1]
    _reset_peak(clock)
    start = time.perf_counter()
    try:
        yield
    finally:
        seconds = round(time.perf_counter() - start, 3)
        clock.stages.append({"name": name, "seconds": seconds, **_peaks()})
