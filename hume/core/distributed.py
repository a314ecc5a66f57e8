"""Several processes on one job (``torchrun --nproc_per_node=N -m hume embed|search ...``).

Where a process sits among the others (:class:`Ranks`, read from torchrun's environment), joining
and leaving the process group, and the few collectives the stages need: a barrier, a value
computed on rank 0 and handed to every rank (:func:`on_main`), a step run on every rank whose
failure on any rank stops every rank (:func:`on_every_rank`), and a check that every rank was
given the same thing (:func:`agree`). Embed: rank 0 creates the store and every rank writes whole
row chunks (hume/embed/pipeline.py). Search: every rank searches whole seed groups into the one
run directory and rank 0 selects and ensembles (hume/search/search_runs/run_execution.py).
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from hume.core.errors import HumeError

T = TypeVar("T")


@dataclass(frozen=True)
class Ranks:
    """Where this process sits among the processes of one job (one process: rank 0 of 1)."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def share(self, items: Sequence[T]) -> list[T]:
        """This rank's items: every ``world_size``-th one, starting at ``rank``."""
        return list(items[self.rank :: self.world_size])


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise HumeError(
            f"environment variable {name}={raw!r} is not an integer "
            "(it is set by torchrun; unset it for a single process)"
        ) from exc


def ranks_from_env() -> Ranks:
    """Read ``RANK``, ``WORLD_SIZE`` and ``LOCAL_RANK`` as torchrun sets them."""
    world = _env_int("WORLD_SIZE", 1)
    rank = _env_int("RANK", 0)
    local = _env_int("LOCAL_RANK", rank)
    if world < 1 or not 0 <= rank < world:
        raise HumeError(
            f"RANK={rank} and WORLD_SIZE={world} do not fit together: "
            "launch several processes with torchrun"
        )
    return Ranks(rank=rank, world_size=world, local_rank=local)


def start(
    ranks: Ranks, device_type: str, backend: str | None = None, timeout: timedelta | None = None
) -> bool:
    """Join the process group (``backend``; default nccl for CUDA, gloo for CPU). Returns True
    if this call joined it (False for one process, or when the caller already had).

    ``timeout`` bounds every collective (torch's default when None): a stage whose ranks may
    wait long for each other at a barrier passes a long one.
    """
    if not ranks.distributed:
        return False
    import torch.distributed as dist

    if dist.is_initialized():
        return False
    if device_type == "cuda":
        import torch

        torch.cuda.set_device(ranks.local_rank)  # "cuda" and nccl collectives mean this GPU
    chosen = backend or ("nccl" if device_type == "cuda" else "gloo")
    if timeout is None:
        dist.init_process_group(backend=chosen)
    else:
        dist.init_process_group(backend=chosen, timeout=timeout)
    return True


def stop(joined: bool) -> None:
    """Leave the process group if :func:`start` joined it."""
    if joined:
        import torch.distributed as dist

        dist.destroy_process_group()


def barrier(ranks: Ranks) -> None:
    """Wait until every rank gets here (nothing to do for one process)."""
    if ranks.distributed:
        import torch.distributed as dist

        dist.barrier()


def on_main(ranks: Ranks, fn: Callable[[], T]) -> T:
    """Run ``fn`` on rank 0 only and hand its (picklable) result to every rank.

    A :class:`HumeError` on rank 0 is raised on every rank with the same message, so the other
    ranks stop instead of waiting forever at the next barrier.
    """
    if not ranks.distributed:
        return fn()
    import torch.distributed as dist

    box: list[Any] = [None]
    failure: BaseException | None = None
    if ranks.is_main:
        try:
            box[0] = ("ok", fn())
        except HumeError as exc:
            box[0], failure = ("error", exc.template), exc  # its settings stay data
        except BaseException as exc:  # a real bug: stop the others too, keep the traceback here
            box[0], failure = ("crash", f"{type(exc).__name__}: {exc}"), exc
    dist.broadcast_object_list(box, src=0)
    kind, value = box[0]
    if failure is not None:
        raise failure
    if kind == "error":
        raise HumeError(str(value))
    if kind == "crash":
        raise RuntimeError(f"rank 0 failed: {value}")
    return value


def main_first(ranks: Ranks, fn: Callable[[], T]) -> T:
    """Run ``fn`` on rank 0 first (e.g. a download), then on the other ranks; each keeps its result."""
    if not ranks.distributed:
        return fn()
    result: list[T] = []
    on_main(ranks, lambda: result.append(fn()))
    if not ranks.is_main:
        result.append(fn())
    return result[0]


def gather(ranks: Ranks, value: T) -> list[T]:
    """Every rank's (picklable) ``value``, in rank order, on every rank."""
    if not ranks.distributed:
        return [value]
    import torch.distributed as dist

    out: list[Any] = [None] * ranks.world_size
    dist.all_gather_object(out, value)
    return out


def on_every_rank(ranks: Ranks, fn: Callable[[], T]) -> T:
    """Run ``fn`` on every rank, then wait for all of them; a failure on any rank is raised on
    every rank (the lowest failing rank's :class:`HumeError`, naming it), so that no rank waits
    forever at the next collective. Each rank keeps its own result."""
    if not ranks.distributed:
        return fn()
    outcome: tuple[str, Any] = ("ok", None)
    failure: BaseException | None = None
    try:
        result = fn()
    except HumeError as exc:
        outcome, failure = ("error", exc.template), exc
    except KeyboardInterrupt as exc:  # the others stop as if interrupted too (state saved)
        outcome, failure = ("interrupted", ""), exc
    except BaseException as exc:  # a bug: the others stop too, the traceback stays here
        outcome, failure = ("crash", f"{type(exc).__name__}: {exc}"), exc
    for rank, (kind, message) in enumerate(gather(ranks, outcome)):
        if kind == "ok":
            continue
        if failure is not None:
            raise failure
        if kind == "error":
            raise HumeError(f"rank {rank}: {message}")
        if kind == "interrupted":
            raise KeyboardInterrupt
        raise RuntimeError(f"rank {rank} failed: {message}")
    return result


def agree(ranks: Ranks, fields: dict[str, Any], what: str) -> None:
    """Refuse, on every rank, ranks that were given different ``fields`` (picklable values by
    name), naming the first field that differs from rank 0's."""
    if not ranks.distributed:
        return
    everyone = gather(ranks, fields)
    for rank, theirs in enumerate(everyone[1:], start=1):
        for key in sorted(set(everyone[0]) | set(theirs), key=str):
            if everyone[0].get(key) != theirs.get(key):
                raise HumeError(
                    f"the ranks disagree on {what}: rank {rank} has {key} "
                    f"{_shown(theirs.get(key))}, rank 0 has {_shown(everyone[0].get(key))}: "
                    "launch every rank with the same command, options and environment"
                )


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
