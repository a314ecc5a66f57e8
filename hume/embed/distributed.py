"""Several processes on one embed job (``torchrun --nproc_per_node=N -m hume embed ...``).

Rank 0 creates the store; every rank then takes whole row chunks, round-robin among the missing
ones, and writes them itself (Zarr is safe for concurrent writers of disjoint whole chunks);
rank 0 marks the store complete once every rank has passed the final barrier. No
``DistributedSampler``: it pads the last batch with duplicated samples and strides rows across
ranks, which would break "row i of the store is sample i of the dataset".
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from hume.errors import HumeError

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
    except ValueError:
        raise HumeError(
            f"environment variable {name}={raw!r} is not an integer "
            "(it is set by torchrun; unset it for a single process)"
        ) from None


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


def start(ranks: Ranks, device_type: str) -> bool:
    """Join the process group (nccl for CUDA, gloo for CPU). Returns True if this call joined it."""
    if not ranks.distributed:
        return False
    import torch.distributed as dist

    if dist.is_initialized():
        return False
    if device_type == "cuda":
        import torch

        torch.cuda.set_device(ranks.local_rank)  # nccl collectives use the current device
    dist.init_process_group(backend="nccl" if device_type == "cuda" else "gloo")
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
            box[0], failure = ("error", str(exc)), exc
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
